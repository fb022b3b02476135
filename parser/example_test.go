package parser_test

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/ferryio/ferry/parser"
)

func ExampleMsgpack() {
	codec := parser.Msgpack()
	frames, err := codec.Encode(&parser.Packet{Type: parser.Event, Args: []any{"hi", 1}})
	if err != nil {
		panic(err)
	}
	fmt.Printf("%d frame, binary=%v: % x\n", len(frames), frames[0].Binary, frames[0].Data)

	// The client's EVENT carries an "options" key, which is ignored.
	client := []byte("\x84\xa4type\x02\xa4data\x92\xa2hi\x01\xa7options\x81\xa8compress\xc3\xa3nsp\xa1/")
	m, err := codec.NewDecoder().Decode(client, true)
	if err != nil {
		panic(err)
	}
	var n int
	if err := m.Args[0].Decode(&n); err != nil {
		panic(err)
	}
	fmt.Println(m.Type, m.Namespace, m.Event, n)
	// Output:
	// 1 frame, binary=true: 83 a4 74 79 70 65 02 a4 64 61 74 61 92 a2 68 69 01 a3 6e 73 70 a1 2f
	// EVENT / hi 1
}

func ExampleJSON() {
	codec := parser.JSON()
	frames, err := codec.Encode(&parser.Packet{
		Type:      parser.Ack,
		Namespace: "/admin",
		ID:        7,
		HasID:     true,
		Args:      []any{"done", []byte{1, 2, 3}},
	})
	if err != nil {
		panic(err)
	}
	for _, f := range frames {
		if f.Binary {
			fmt.Printf("binary % x\n", f.Data)
		} else {
			fmt.Printf("text   %s\n", f.Data)
		}
	}

	// The decoder holds the packet until its attachment has arrived.
	d := codec.NewDecoder()
	for _, f := range frames {
		m, err := d.Decode(f.Data, f.Binary)
		if err != nil {
			panic(err)
		}
		if m == nil {
			fmt.Println("waiting for attachments")
			continue
		}
		var data []byte
		if err := m.Args[1].Decode(&data); err != nil {
			panic(err)
		}
		fmt.Println(m.Type, m.Namespace, m.ID, data)
	}
	// Output:
	// text   61-/admin,7["done",{"_placeholder":true,"num":0}]
	// binary 01 02 03
	// waiting for attachments
	// ACK /admin 7 [1 2 3]
}

func ExampleRaw() {
	type upload struct {
		Name string `json:"name"`
		Data []byte `json:"data"`
	}
	m, err := parser.JSON().NewDecoder().Decode([]byte(`2["upload",{"name":"a.txt","data":"aGk="},{"size":2}]`), false)
	if err != nil {
		panic(err)
	}
	var u upload
	if err := m.Args[0].Decode(&u); err != nil {
		panic(err)
	}
	var meta any
	if err := m.Args[1].Decode(&meta); err != nil {
		panic(err)
	}
	fmt.Printf("%s %q %#v\n", u.Name, u.Data, meta)
	// Output:
	// a.txt "hi" map[string]interface {}{"size":2}
}

func ExamplePacketError() {
	_, err := parser.JSON().NewDecoder().Decode([]byte(`2["disconnect"]`), false)
	var pe *parser.PacketError
	fmt.Println(errors.Is(err, parser.ErrInvalidPacket), errors.As(err, &pe))
	fmt.Println(pe.Codec, pe.Op+":", pe.Reason)
	// Output:
	// true true
	// json decode: invalid payload: reserved event name "disconnect"
}

func ExampleIsReserved() {
	fmt.Println(parser.IsReserved("disconnect"), parser.IsReserved("chat"))
	// Output: true false
}

func ExampleLimits() {
	// A 200,000-byte EVENT of 100,000 arguments, beyond the default
	// MaxArgs: refused before it is copied.
	packet := `2["e"` + strings.Repeat(",0", 100_000) + `]`
	_, err := parser.JSON().NewDecoder().Decode([]byte(packet), false)
	fmt.Println(err)

	// A decoder for a server that expects long argument lists.
	d := parser.JSON().NewLimitedDecoder(parser.Limits{MaxArgs: 200_000})
	m, err := d.Decode([]byte(packet), false)
	if err != nil {
		panic(err)
	}
	fmt.Println(len(m.Args))
	// Output:
	// parser: json decode: limit exceeded: more than 10000 arguments (Limits.MaxArgs)
	// 100000
}

func ExampleMarshalMsgpack() {
	b, err := parser.MarshalMsgpack(map[string]any{"at": time.UnixMilli(1700000000123), "file": []byte{1, 2, 3}})
	if err != nil {
		panic(err)
	}
	fmt.Printf("% x\n", b)
	// Output: 82 a2 61 74 d7 00 00 00 01 8b cf e5 68 7b a4 66 69 6c 65 c4 03 01 02 03
}

func ExampleMarshalJSON() {
	b, err := parser.MarshalJSON(map[string]any{"at": time.UnixMilli(1700000000123), "file": []byte{1, 2, 3}})
	if err != nil {
		panic(err)
	}
	fmt.Println(string(b))
	// Output: {"at":"2023-11-14T22:13:20.123Z","file":{"type":"Buffer","data":[1,2,3]}}
}

func ExampleMsgpackRaw() {
	// An argument as a Node server with notepack.io 3 publishes it on
	// Redis: {at: new Date(1700000000123)}, the Date as a msgpack
	// timestamp.
	published := []byte("\x81\xa2at\xd7\xff\x1d\x53\x53\x00\x65\x53\xf1\x00")
	arg, err := parser.MsgpackRaw(published, parser.Limits{})
	if err != nil {
		panic(err)
	}
	var v struct {
		At time.Time `json:"at"`
	}
	if err := arg.Decode(&v); err != nil {
		panic(err)
	}
	fmt.Println(v.At.UTC())

	// Relayed to the clients as Node relays it.
	for _, c := range []parser.Codec{parser.Msgpack(), parser.JSON()} {
		frames, err := c.Encode(&parser.Packet{Type: parser.Event, Args: []any{"news", arg}})
		if err != nil {
			panic(err)
		}
		fmt.Printf("%s: %q\n", c.Name(), frames[0].Data)
	}
	// Output:
	// 2023-11-14 22:13:20.123 +0000 UTC
	// msgpack: "\x83\xa4type\x02\xa4data\x92\xa4news\x81\xa2at\xd7\x00\x00\x00\x01\x8b\xcf\xe5h{\xa3nsp\xa1/"
	// json: "2[\"news\",{\"at\":\"2023-11-14T22:13:20.123Z\"}]"
}

func ExampleJSONRaw() {
	// An argument as a Node server publishes it in JSON: a Buffer is an
	// object there, as JSON.parse leaves it.
	arg, err := parser.JSONRaw([]byte(`{"file":{"type":"Buffer","data":[1,2]},"n":1}`), parser.Limits{})
	if err != nil {
		panic(err)
	}
	var v map[string]any
	if err := arg.Decode(&v); err != nil {
		panic(err)
	}
	fmt.Println(v["n"], v["file"])
	// Output: 1 map[data:[1 2] type:Buffer]
}
