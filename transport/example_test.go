package transport_test

import (
	"errors"
	"fmt"

	"github.com/ferryio/ferry/transport"
)

// A long-polling body: packets joined by the 0x1E record separator, binary
// messages as "b"+base64.
func ExampleEncodePayload() {
	body := transport.EncodePayload([]transport.Packet{
		transport.TextPacket("hello"),
		transport.BinaryPacket([]byte{1, 2, 3, 4}),
		transport.TextPacket("€"),
	})
	fmt.Printf("%q\n", body)
	fmt.Println("Content-Length:", len(body))
	// Output:
	// "4hello\x1ebAQIDBA==\x1e4€"
	// Content-Length: 21
}

func ExampleDecodePayload() {
	pkts, err := transport.DecodePayload([]byte("bAQIDBA==\x1e4hello\x1e6\x1e1"))
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, p := range pkts {
		if p.Binary {
			fmt.Printf("%v % x\n", p.Type, p.Data)
		} else {
			fmt.Printf("%v %q\n", p.Type, p.Data)
		}
	}
	// Output:
	// message 01 02 03 04
	// message "hello"
	// noop ""
	// close ""
}

// Packets ahead of a malformed record are returned with the error, so that
// they can still be delivered.
func ExampleDecodePayload_malformed() {
	pkts, err := transport.DecodePayload([]byte("4a\x1e4b\x1e9c"))
	fmt.Println(len(pkts), "packets before the error")
	fmt.Println(errors.Is(err, transport.ErrInvalidPacket))
	var de *transport.DecodeError
	if errors.As(err, &de) {
		fmt.Println("bad record at byte", de.Offset)
	}
	// Output:
	// 2 packets before the error
	// true
	// bad record at byte 6
}

func ExampleDecodePacket() {
	for _, wire := range []string{"2probe", "4hello", "bAQIDBA==", "x"} {
		p, err := transport.DecodePacket([]byte(wire))
		if err != nil {
			fmt.Println(wire, "->", err)
			continue
		}
		fmt.Printf("%s -> %v binary=%t data=%q\n", wire, p.Type, p.Binary, p.Data)
	}
	// Output:
	// 2probe -> ping binary=false data="probe"
	// 4hello -> message binary=false data="hello"
	// bAQIDBA== -> message binary=true data="\x01\x02\x03\x04"
	// x -> transport: invalid packet at byte 0: unknown packet type 'x'
}

// A WebSocket frame: binary frames hold a binary message's raw bytes, text
// frames hold one packet's text form.
func ExampleDecodeFrame() {
	p, _ := transport.DecodeFrame([]byte{1, 2, 3}, true)
	fmt.Println(p)
	p, _ = transport.DecodeFrame([]byte("3probe"), false)
	fmt.Println(p, string(p.Data))
	// Output:
	// message(binary, 3 bytes)
	// pong(5 bytes) probe
}

func ExampleEncodePacket() {
	fmt.Printf("%s\n", transport.EncodePacket(transport.Packet{Type: transport.Pong, Data: []byte("probe")}))
	fmt.Printf("%s\n", transport.EncodePacket(transport.BinaryPacket([]byte{1, 2, 3, 4})))
	// Output:
	// 3probe
	// bAQIDBA==
}
