package parser

import (
	"encoding/json"
	"math"
	"strings"
	"testing"
)

// jsonBenchTexts are the data of EVENT packets: the benchmark's echo, a
// long string, and a small object.
var jsonBenchTexts = []struct{ name, text string }{
	{"echo32", `["echo","` + strings.Repeat("x", 32) + `"]`},
	{"string1k", `["echo","` + strings.Repeat("x", 1024) + `"]`},
	{"object", `["message",{"user":"ann","text":"hello \"world\"","ts":1700000000123,"tags":["a","b"],"ok":true,"n":null}]`},
}

// BenchmarkJSONCheck validates and counts an EVENT's data in one pass,
// against encoding/json's Valid, which the decoder used before along with a
// separate counting pass.
func BenchmarkJSONCheck(b *testing.B) {
	lim := Limits{}.withDefaults()
	for _, bt := range jsonBenchTexts {
		text := []byte(bt.text)
		b.Run(bt.name+"/jsonCheck", func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(text)))
			for b.Loop() {
				c := jsonCheck{lim: &lim, maxTop: math.MaxInt}
				if c.run(text) != "" {
					b.Fatal("refused")
				}
			}
		})
		b.Run(bt.name+"/json.Valid", func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(text)))
			for b.Loop() {
				if !json.Valid(text) {
					b.Fatal("refused")
				}
			}
		})
	}
}

// BenchmarkAppendJSONString quotes strings as JSON.stringify does.
func BenchmarkAppendJSONString(b *testing.B) {
	for _, bs := range []struct{ name, s string }{
		{"ascii32", strings.Repeat("x", 32)},
		{"ascii1k", strings.Repeat("x", 1024)},
		{"escaped", strings.Repeat("line \"one\"\n", 8)},
		{"unicode", strings.Repeat("ünïcödé ", 8)},
	} {
		b.Run(bs.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(bs.s)))
			buf := make([]byte, 0, 4*len(bs.s)+2)
			for b.Loop() {
				buf = appendJSONString(buf[:0], bs.s)
			}
		})
	}
}
