package parser

import (
	"encoding/json"
	"math"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// jsonCheckCases are texts on the edges of the JSON grammar, for the
// comparison of jsonCheck with encoding/json's Valid.
var jsonCheckCases = []string{
	"", "[", "]", "[]", "[]]", "[[]", "{}", "{", "}", "[}", "{]", "[{}]", `[{"a":[]}]`,
	"[1,]", "[,1]", "[1,,2]", "[1 2]", "[1,2]", " [ 1 , 2 ] ", "[\t1\r\n]",
	`{"a":1,}`, `{"a" 1}`, `{"a":}`, `{1:2}`, `{"a":1 "b":2}`, `{"a":1,"b":2}`, `{"a" : { "b" : [ ] } }`,
	"0", "01", "-", "-0", "-01", "1.", ".1", "1.5", "1e", "1e+", "1e+5", "1E-5", "1e05", "-1.5e-7",
	"+1", "0x1", "1.e5", "NaN", "Infinity", "00", "2.", "123456789012345678901234567890",
	"true", "false", "null", "tru", "nul", "fals", "truee", "true false", "nullnull", "[true,false,null]",
	`""`, `"a"`, `"\u12"`, `"\u123g"`, `"\u12AF"`, `"\uD834\uDD1E"`, `"\x"`, `"\/"`, `"\'"`,
	"\"a\tb\"", "\"\x7f\"", "\"\xff\xfe\"", "\"\x00\"", "\"\x1f\"", "\"\\\"", `"\\"`, `"\""`, `"a`, `"`,
	`["a\"b",1]`, `["\\",2]`,
	// Specials at every position around the eight-byte steps.
	`"` + strings.Repeat("x", 7) + `"`, `"` + strings.Repeat("x", 8) + `"`, `"` + strings.Repeat("x", 15) + `\n"`,
	`"` + strings.Repeat("x", 16) + "\x01" + `"`, `"` + strings.Repeat("é", 9) + `"`,
	`"` + strings.Repeat("x", 9) + `\u00e9` + strings.Repeat("y", 9) + `"`,
	`"` + strings.Repeat("x", 9) + `\` + `"`, `"` + strings.Repeat("x", 17),
}

// jsonCheckWalk counts the elements of the valid JSON value at b[i] at
// every depth, and returns the elements of the outermost array or object
// and their extents, as jsonIter and jsonSkip find them.
func jsonCheckWalk(b []byte, i int) (elems int, spans []jsonSpan) {
	i = jsonSkipSpace(b, i)
	if i >= len(b) || (b[i] != '[' && b[i] != '{') {
		return 0, nil
	}
	it := jsonIter{b: b, i: i}
	for it.next() {
		elems++
		vs := it.i
		if b[i] == '{' {
			_, _, vs = it.member()
		}
		end := jsonSkip(b, vs)
		spans = append(spans, jsonSpan{vs, end})
		inner, _ := jsonCheckWalk(b, vs)
		elems += inner
		it.i = end
	}
	return elems, spans
}

// checkAgainstValid runs jsonCheck on text without limits that matter and
// compares its verdict, counts and extents with encoding/json's Valid and
// the walkers of json_scan.go.
func checkAgainstValid(t *testing.T, text []byte) {
	v := trimSpaceJSON(text)
	if len(v) == 0 {
		return // refused before a jsonCheck runs
	}
	lim := unlimited()
	c := jsonCheck{lim: &lim, maxTop: math.MaxInt}
	reason := c.run(v)
	if reason == lim.tooDeep() {
		assert.False(t, json.Valid(v), "%q: refused as too deep", v)
		return
	}
	require.Equal(t, json.Valid(v), reason == "", "%q: jsonCheck says %q", v, reason)
	if reason != "" {
		require.Equal(t, notJSON, reason, "%q", v)
		return
	}
	elems, spans := jsonCheckWalk(v, 0)
	assert.Equal(t, elems, c.elems, "%q: elements", v)
	assert.Equal(t, len(spans), c.top, "%q: outermost elements", v)
	if v[0] == '[' {
		assert.Equal(t, spans[:min(len(spans), jsonSpanCap)], append([]jsonSpan(nil), c.spans[:min(c.top, jsonSpanCap)]...), "%q: extents", v)
	}
}

func TestJSONCheckAgreesWithValid(t *testing.T) {
	t.Parallel()
	for _, s := range jsonCheckCases {
		checkAgainstValid(t, []byte(s))
		checkAgainstValid(t, []byte("["+s+"]"))
		checkAgainstValid(t, []byte(`[0,{"k":`+s+`},`+s+`]`))
	}
	// Arguments beyond the extents noted.
	many := "[" + strings.Repeat(`"a",[1,{"b":2}],`, jsonSpanCap) + "3]"
	checkAgainstValid(t, []byte(many))
}

// FuzzJSONCheck compares jsonCheck with encoding/json's Valid and the
// walkers of json_scan.go on any text.
func FuzzJSONCheck(f *testing.F) {
	for _, s := range jsonCheckCases {
		f.Add([]byte(s))
		f.Add([]byte(`[0,{"k":` + s + `},` + s + `]`))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		checkAgainstValid(t, data)
	})
}

// The first problem in the text decides the reason, a limit or invalid
// JSON.
func TestJSONCheckReasons(t *testing.T) {
	t.Parallel()
	lim := Limits{MaxArgs: 2, MaxElements: 5, MaxDepth: 2}.withDefaults()
	for _, tt := range []struct {
		text, reason string
	}{
		{`[1,2,3]`, ""},
		{`[1,2,3,4]`, lim.tooManyArgs()},
		{`[1,2,3,4,x]`, lim.tooManyArgs()},
		{`[1,2,x,4]`, notJSON},
		{`[[1,2],[3,4]]`, lim.tooManyElements()},
		{`[[1],[2]]`, ""},
		{`[[[]]]`, lim.tooDeep()},
		{`[x,[[]]]`, notJSON},
		{`[[]]x`, notJSON},
	} {
		c := jsonCheck{lim: &lim, maxTop: lim.MaxArgs + 1}
		assert.Equal(t, tt.reason, c.run([]byte(tt.text)), "%s", tt.text)
	}
}

// appendJSONStringReference quotes s one rune at a time as JSON.stringify
// does, invalid UTF-8 becoming U+FFFD.
func appendJSONStringReference(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch r {
		case '"', '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case '\b':
			b.WriteString(`\b`)
		case '\f':
			b.WriteString(`\f`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		default:
			if r < 0x20 {
				b.WriteString(`\u00`)
				b.WriteByte(hexDigits[r>>4])
				b.WriteByte(hexDigits[r&0xf])
			} else {
				b.WriteRune(r)
			}
		}
	}
	b.WriteByte('"')
	return b.String()
}

// Every kind of byte that is not plain ASCII, at every offset around the
// eight-byte steps of appendJSONString.
func TestAppendJSONStringAtEveryOffset(t *testing.T) {
	t.Parallel()
	for _, special := range []string{`"`, `\`, "\x00", "\x1f", "\n", "\x7f", "é", "\xff", "\xe2\x82", "€", "\U0001F600"} {
		for pre := range 18 {
			for post := range 10 {
				s := strings.Repeat("a", pre) + special + strings.Repeat("b", post)
				require.Equal(t, appendJSONStringReference(s), string(appendJSONString(nil, s)), "%q", s)
			}
		}
	}
}

func FuzzAppendJSONString(f *testing.F) {
	f.Add("plain ascii text, long enough")
	f.Add("tab\there, quote\" and é and \xff")
	f.Fuzz(func(t *testing.T, s string) {
		require.Equal(t, appendJSONStringReference(s), string(appendJSONString(nil, s)))
	})
}
