package parser_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/ferryio/ferry/parser"
)

type chatMessage struct {
	User string `json:"user"`
	Text string `json:"text"`
	TS   int64  `json:"ts"`
}

var benchPackets = []struct {
	name   string
	packet *parser.Packet
}{
	{"event", &parser.Packet{Type: parser.Event, Namespace: "/chat", Args: []any{
		"message", "hello world", 42, map[string]any{"user": "ann", "ts": 1700000000123, "tags": []any{"a", "b"}}}}},
	{"binary", &parser.Packet{Type: parser.Event, Args: []any{
		"upload", "file.bin", bytes.Repeat([]byte{7}, 1024), map[string]any{"part": bytes.Repeat([]byte{1}, 256)}}}},
	{"struct", &parser.Packet{Type: parser.Event, Namespace: "/chat", Args: []any{
		"message", chatMessage{User: "ann", Text: "hello world", TS: 1700000000123}}}},
}

func BenchmarkEncode(b *testing.B) {
	for _, name := range []string{"msgpack", "json"} {
		c := codecs[name]
		for _, bp := range benchPackets {
			b.Run(name+"/"+bp.name, func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					if _, err := c.Encode(bp.packet); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// BenchmarkDecode decodes a packet and then each of its arguments into *any.
func BenchmarkDecode(b *testing.B) {
	for _, name := range []string{"msgpack", "json"} {
		c := codecs[name]
		for _, bp := range benchPackets {
			frames, err := c.Encode(bp.packet)
			if err != nil {
				b.Fatal(err)
			}
			var size int
			for _, f := range frames {
				size += len(f.Data)
			}
			b.Run(name+"/"+bp.name, func(b *testing.B) {
				b.ReportAllocs()
				b.SetBytes(int64(size))
				for b.Loop() {
					d := c.NewDecoder()
					var m *parser.Message
					for _, f := range frames {
						if m, err = d.Decode(f.Data, f.Binary); err != nil {
							b.Fatal(err)
						}
					}
					for _, a := range m.Args {
						var v any
						if err := a.Decode(&v); err != nil {
							b.Fatal(err)
						}
					}
				}
			})
		}
	}
}

// echoPayloads are arguments of an echo event: the benchmark's 32-byte
// string (bench/, scenario echo), a longer one, a string that needs
// escaping, and a small object.
var echoPayloads = []struct {
	name string
	arg  any
}{
	{"string32", strings.Repeat("x", 32)},
	{"string1k", strings.Repeat("x", 1024)},
	{"escaped", "line one\nline \"two\"\tand ünïcödé"},
	{"object", map[string]any{"user": "ann", "text": "hello world", "ts": 1700000000123}},
}

// echoFrame returns the only message of an EVENT "echo" with ack id 1
// carrying arg, as a client sends it.
func echoFrame(b *testing.B, c parser.Codec, arg any) parser.Frame {
	b.Helper()
	frames, err := c.Encode(&parser.Packet{Type: parser.Event, Namespace: "/", ID: 1, HasID: true, Args: []any{"echo", arg}})
	if err != nil || len(frames) != 1 {
		b.Fatalf("encoding the echo event: %v, %d frames", err, len(frames))
	}
	return frames[0]
}

// BenchmarkEcho is the parser's work for one round trip of the benchmark's
// echo scenario: one connection's decoder reads the event, and the ack
// relays its argument (a Raw) back.
func BenchmarkEcho(b *testing.B) {
	for _, name := range []string{"msgpack", "json"} {
		c := codecs[name]
		for _, ep := range echoPayloads {
			f := echoFrame(b, c, ep.arg)
			b.Run(name+"/"+ep.name, func(b *testing.B) {
				b.ReportAllocs()
				d := c.NewDecoder()
				for b.Loop() {
					m, err := d.Decode(f.Data, f.Binary)
					if err != nil {
						b.Fatal(err)
					}
					if _, err := c.Encode(&parser.Packet{Type: parser.Ack, ID: m.ID, HasID: true, Args: []any{m.Args[0]}}); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// BenchmarkEchoTyped is BenchmarkEcho with a handler that decodes the
// argument into its own type (Args.Decode) and acks that value: a string
// (decoded without encoding/json by the JSON codec) or a struct (through
// encoding/json both ways).
func BenchmarkEchoTyped(b *testing.B) {
	for _, name := range []string{"msgpack", "json"} {
		c := codecs[name]
		b.Run(name+"/string", func(b *testing.B) {
			f := echoFrame(b, c, strings.Repeat("x", 32))
			b.ReportAllocs()
			d := c.NewDecoder()
			for b.Loop() {
				m, err := d.Decode(f.Data, f.Binary)
				if err != nil {
					b.Fatal(err)
				}
				var s string
				if err := parser.Args(m.Args).Decode(&s); err != nil {
					b.Fatal(err)
				}
				if _, err := c.Encode(&parser.Packet{Type: parser.Ack, ID: m.ID, HasID: true, Args: []any{s}}); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(name+"/struct", func(b *testing.B) {
			f := echoFrame(b, c, chatMessage{User: "ann", Text: "hello world", TS: 1700000000123})
			b.ReportAllocs()
			d := c.NewDecoder()
			for b.Loop() {
				m, err := d.Decode(f.Data, f.Binary)
				if err != nil {
					b.Fatal(err)
				}
				var cm chatMessage
				if err := parser.Args(m.Args).Decode(&cm); err != nil {
					b.Fatal(err)
				}
				if _, err := c.Encode(&parser.Packet{Type: parser.Ack, ID: m.ID, HasID: true, Args: []any{cm}}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
