package parser_test

import (
	"bytes"
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
