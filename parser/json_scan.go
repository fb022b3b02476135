package parser

import (
	"encoding/json"
	"math"
	"strconv"
	"unicode/utf8"
)

// This file walks JSON text that jsonCheck has accepted. The functions
// never index out of range, whatever the input, but only give meaningful
// answers for valid JSON.

func jsonSkipSpace(b []byte, i int) int {
	for i < len(b) && isJSONSpace(b[i]) {
		i++
	}
	return i
}

// jsonSkip returns the offset just past the value starting at b[i].
func jsonSkip(b []byte, i int) int {
	if i >= len(b) {
		return len(b)
	}
	switch b[i] {
	case '"':
		return jsonSkipString(b, i)
	case '{', '[':
		depth := 0
		for i < len(b) {
			switch b[i] {
			case '"':
				i = jsonSkipString(b, i)
				continue
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return i + 1
				}
			}
			i++
		}
		return len(b)
	}
	for i < len(b) {
		switch c := b[i]; {
		case c == ',' || c == ']' || c == '}' || isJSONSpace(c):
			return i
		}
		i++
	}
	return i
}

// jsonSkipString returns the offset just past the string starting at b[i].
func jsonSkipString(b []byte, i int) int {
	for i++; ; {
		if i = jsonPlainRun(b, i); i >= len(b) {
			return len(b)
		}
		switch b[i] {
		case '\\':
			i += 2
		case '"':
			return i + 1
		default: // a control character, which valid JSON does not hold
			i++
		}
	}
}

// jsonIter steps through the elements of an array or the members of an
// object.
type jsonIter struct {
	b       []byte
	i       int // start of the current element or member; set to its end before calling next again
	started bool
}

// next moves to the next element or member and reports whether there is
// one. For an object, i is then at the member's key: use member.
func (it *jsonIter) next() bool {
	b := it.b
	i := jsonSkipSpace(b, it.i)
	if !it.started {
		it.started = true
		i = jsonSkipSpace(b, i+1)
	} else if i < len(b) && b[i] == ',' {
		i = jsonSkipSpace(b, i+1)
	}
	if i >= len(b) || b[i] == ']' || b[i] == '}' {
		it.i = min(i+1, len(b))
		return false
	}
	it.i = i
	return true
}

// member returns the span of the current member's key (quotes included)
// and the start of its value. The caller sets i to the value's end.
func (it *jsonIter) member() (ks, ke, vs int) {
	ks = it.i
	ke = jsonSkipString(it.b, ks)
	vs = jsonSkipSpace(it.b, ke)
	if vs < len(it.b) && it.b[vs] == ':' {
		vs = jsonSkipSpace(it.b, vs+1)
	}
	return ks, ke, vs
}

// jsonString decodes the string literal raw, quotes included. Like
// encoding/json, it turns invalid UTF-8 into U+FFFD.
func jsonString(raw []byte) string {
	if len(raw) < 2 {
		return ""
	}
	inner := raw[1 : len(raw)-1]
	plain := utf8.Valid(inner)
	for _, c := range inner {
		if c == '\\' {
			plain = false
			break
		}
	}
	if plain {
		return string(inner)
	}
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return ""
	}
	return s
}

// jsonKeyIs reports whether the key literal raw (quotes included) decodes
// to name.
func jsonKeyIs(raw []byte, name string) bool {
	if len(raw) == len(name)+2 && string(raw[1:len(raw)-1]) == name {
		return true
	}
	for _, c := range raw {
		if c == '\\' {
			return jsonString(raw) == name
		}
	}
	return false
}

// placeholderProbe looks at the members of an object, one by one, as
// socket.io-parser does when it puts attachments back: the object is a
// placeholder when its "_placeholder" member is true (the last duplicate
// counts, as in JSON.parse), and its "num" member must then be an integer
// index into the attachments.
type placeholderProbe struct {
	is    bool
	num   float64
	numOK bool
}

// member records one member: the key literal b[ks:ke] (quotes included) and
// the value b[vs:ve].
func (p *placeholderProbe) member(b []byte, ks, ke, vs, ve int) {
	switch {
	case jsonKeyIs(b[ks:ke], "_placeholder"):
		p.is = string(b[vs:ve]) == "true"
	case jsonKeyIs(b[ks:ke], "num"):
		p.numOK = false
		if vs < ve && (b[vs] == '-' || (b[vs] >= '0' && b[vs] <= '9')) {
			f, err := strconv.ParseFloat(string(b[vs:ve]), 64)
			p.num, p.numOK = f, err == nil && f == math.Trunc(f)
		}
	}
}

// index returns the attachment index, or false when num is not an integer
// in [0, n).
func (p *placeholderProbe) index(n int) (int, bool) {
	if !p.numOK || p.num < 0 || p.num >= float64(n) {
		return 0, false
	}
	return int(p.num), true
}

// checkPlaceholders walks the value at b[i] and reports whether it holds
// placeholders; ok is false when one has a num outside [0, n). It returns
// the offset just past the value.
func checkPlaceholders(b []byte, i, n, depth int) (end int, found, ok bool) {
	i = jsonSkipSpace(b, i)
	if i >= len(b) || depth > maxDepth {
		return len(b), false, false
	}
	switch b[i] {
	case '[':
		ok = true
		it := jsonIter{b: b, i: i}
		for it.next() {
			var f, o bool
			it.i, f, o = checkPlaceholders(b, it.i, n, depth+1)
			found, ok = found || f, ok && o
		}
		return it.i, found, ok
	case '{':
		ok = true
		var probe placeholderProbe
		it := jsonIter{b: b, i: i}
		for it.next() {
			ks, ke, vs := it.member()
			var f, o bool
			it.i, f, o = checkPlaceholders(b, vs, n, depth+1)
			found, ok = found || f, ok && o
			probe.member(b, ks, ke, vs, it.i)
		}
		if probe.is {
			// socket.io-parser replaces the whole object without looking inside.
			_, ok = probe.index(n)
			return it.i, true, ok
		}
		return it.i, found, ok
	}
	return jsonSkip(b, i), false, true
}

// jsonValue decodes the value at b[i] into nil, bool, int64 (for integer
// literals that fit; uint64 for larger ones up to math.MaxUint64), float64,
// string, []any or map[string]any. When atts is not nil, placeholders are
// replaced by copies of their attachments. It returns the offset just past
// the value.
func jsonValue(b []byte, i int, atts [][]byte, depth int) (any, int, bool) {
	i = jsonSkipSpace(b, i)
	if i >= len(b) || depth > maxDepth {
		return nil, len(b), false
	}
	switch b[i] {
	case 'n':
		return nil, jsonSkip(b, i), true
	case 't':
		return true, jsonSkip(b, i), true
	case 'f':
		return false, jsonSkip(b, i), true
	case '"':
		end := jsonSkipString(b, i)
		return jsonString(b[i:end]), end, true
	case '[':
		arr := []any{}
		it := jsonIter{b: b, i: i}
		for it.next() {
			v, end, ok := jsonValue(b, it.i, atts, depth+1)
			if !ok {
				return nil, len(b), false
			}
			arr = append(arr, v)
			it.i = end
		}
		return arr, it.i, true
	case '{':
		m := map[string]any{}
		var probe placeholderProbe
		failed := false
		it := jsonIter{b: b, i: i}
		for it.next() {
			ks, ke, vs := it.member()
			v, end, ok := jsonValue(b, vs, atts, depth+1)
			if !ok {
				// Fatal unless this object turns out to be a placeholder,
				// whose members socket.io-parser never looks at.
				failed, end = true, jsonSkip(b, jsonSkipSpace(b, vs))
			}
			m[jsonString(b[ks:ke])] = v
			it.i = end
			probe.member(b, ks, ke, vs, end)
		}
		if atts != nil && probe.is {
			k, ok := probe.index(len(atts))
			if !ok {
				return nil, len(b), false
			}
			return append([]byte{}, atts[k]...), it.i, true
		}
		if failed {
			return nil, len(b), false
		}
		return m, it.i, true
	}
	end := jsonSkip(b, i)
	return jsonNumber(b[i:end]), end, true
}

// jsonNumber converts a number literal: integer literals become int64, or
// uint64 when they only fit that; everything else becomes float64 (±Inf
// for literals beyond its range, as JSON.parse does).
func jsonNumber(lit []byte) any {
	integer := true
	for _, c := range lit {
		if c == '.' || c == 'e' || c == 'E' {
			integer = false
			break
		}
	}
	s := string(lit)
	if integer {
		if v, err := strconv.ParseInt(s, 10, 64); err == nil {
			return v
		}
		if v, err := strconv.ParseUint(s, 10, 64); err == nil {
			return v
		}
	}
	f, _ := strconv.ParseFloat(s, 64)
	return f
}

// jsonRewrite copies the value at b[i] to dst, replacing each placeholder
// with whatever repl appends for its attachment index (n attachments).
// Whitespace outside strings is dropped. It returns the offset just past
// the value.
func jsonRewrite(dst, b []byte, i, n, depth int, repl func(dst []byte, k int) []byte) ([]byte, int) {
	i = jsonSkipSpace(b, i)
	if i >= len(b) || depth > maxDepth {
		return append(dst, "null"...), len(b)
	}
	switch b[i] {
	case '[':
		dst = append(dst, '[')
		it := jsonIter{b: b, i: i}
		for first := true; it.next(); first = false {
			if !first {
				dst = append(dst, ',')
			}
			dst, it.i = jsonRewrite(dst, b, it.i, n, depth+1, repl)
		}
		return append(dst, ']'), it.i
	case '{':
		start := len(dst)
		dst = append(dst, '{')
		var probe placeholderProbe
		it := jsonIter{b: b, i: i}
		for first := true; it.next(); first = false {
			if !first {
				dst = append(dst, ',')
			}
			ks, ke, vs := it.member()
			dst = append(append(dst, b[ks:ke]...), ':')
			dst, it.i = jsonRewrite(dst, b, vs, n, depth+1, repl)
			probe.member(b, ks, ke, vs, it.i)
		}
		if probe.is {
			dst = dst[:start]
			if k, ok := probe.index(n); ok {
				return repl(dst, k), it.i
			}
			return append(dst, "null"...), it.i
		}
		return append(dst, '}'), it.i
	}
	end := jsonSkip(b, i)
	return append(dst, b[i:end]...), end
}
