package parser

import (
	"encoding/binary"
	"math/bits"
)

// This file validates JSON text in one pass: it accepts exactly what
// encoding/json's Valid accepts, counts what Limits bound as it goes, and
// notes where the elements of the outermost array start and end, so that
// a decoded packet's arguments are found without walking the text again.

// jsonSpanCap is how many elements of the outermost array a jsonCheck
// notes: enough for the arguments of most events. Packets with more are
// walked again to find them.
const jsonSpanCap = 8

// jsonSpan is the extent of one value in a text.
type jsonSpan struct{ start, end int }

// jsonCheck validates one JSON text within lim.
type jsonCheck struct {
	lim *Limits
	// maxTop is the most elements the outermost array or object may
	// have; beyond it the text is refused with the reason for too many
	// arguments.
	maxTop int
	// top is the number of elements (or members) of the outermost array
	// (or object), elems the number at every depth.
	top, elems int
	// spans holds the extents of the first elements of an outermost
	// array, min(top, jsonSpanCap) of them.
	spans [jsonSpanCap]jsonSpan
}

// notJSON is the reason for a text that is not valid JSON.
const notJSON = "invalid payload: not JSON"

// run checks b, which must not start or end with whitespace, and returns
// the reason it is refused, or "". The first problem in the text decides
// the reason: invalid JSON, or a limit exceeded (nesting deeper than
// MaxDepth, more than MaxElements elements, more than maxTop elements in
// the outermost container).
func (c *jsonCheck) run(b []byte) string {
	var buf [64]byte
	stack := buf[:0] // the opening bracket of each container around i
	n := len(b)
	i := 0
	start := 0 // where the current element of the outermost container starts
	for {
		// A value starts at b[i], after optional whitespace.
		i = jsonSkipSpace(b, i)
		if i >= n {
			return notJSON
		}
		if len(stack) == 1 {
			start = i
		}
		switch ch := b[i]; ch {
		case '[', '{':
			if len(stack) >= c.lim.MaxDepth {
				return c.lim.tooDeep()
			}
			stack = append(stack, ch)
			i = jsonSkipSpace(b, i+1)
			if i < n && b[i] == ch+2 { // ']' and '}' follow '[' and '{' by two
				stack = stack[:len(stack)-1]
				i++
				break
			}
			if reason := c.element(len(stack)); reason != "" {
				return reason
			}
			if ch == '{' {
				if i = jsonCheckKey(b, i); i < 0 {
					return notJSON
				}
			}
			continue
		case '"':
			i = jsonCheckString(b, i)
		case 't':
			i = jsonCheckLiteral(b, i, "true")
		case 'f':
			i = jsonCheckLiteral(b, i, "false")
		case 'n':
			i = jsonCheckLiteral(b, i, "null")
		default:
			i = jsonCheckNumber(b, i)
		}
		if i < 0 {
			return notJSON
		}
		// After a value: close containers until the next element starts.
	after:
		for {
			if len(stack) == 1 && stack[0] == '[' && c.top <= jsonSpanCap {
				c.spans[c.top-1] = jsonSpan{start, i}
			}
			i = jsonSkipSpace(b, i)
			if len(stack) == 0 {
				if i != n {
					return notJSON
				}
				return ""
			}
			if i >= n {
				return notJSON
			}
			open := stack[len(stack)-1]
			switch b[i] {
			case ',':
				if reason := c.element(len(stack)); reason != "" {
					return reason
				}
				i++
				if open == '{' {
					if i = jsonCheckKey(b, jsonSkipSpace(b, i)); i < 0 {
						return notJSON
					}
				}
				break after
			case open + 2:
				stack = stack[:len(stack)-1]
				i++
			default:
				return notJSON
			}
		}
	}
}

// element counts one more element in a container at depth.
func (c *jsonCheck) element(depth int) string {
	c.elems++
	if depth == 1 {
		c.top++
	}
	if c.elems > c.lim.MaxElements {
		return c.lim.tooManyElements()
	}
	if c.top > c.maxTop {
		return c.lim.tooManyArgs()
	}
	return ""
}

// jsonCheckKey checks the member key starting at b[i] and the colon after
// it, and returns the offset just past the colon, or -1.
func jsonCheckKey(b []byte, i int) int {
	if i >= len(b) || b[i] != '"' {
		return -1
	}
	if i = jsonCheckString(b, i); i < 0 {
		return -1
	}
	i = jsonSkipSpace(b, i)
	if i >= len(b) || b[i] != ':' {
		return -1
	}
	return i + 1
}

// jsonCheckLiteral returns the offset just past lit at b[i], or -1.
func jsonCheckLiteral(b []byte, i int, lit string) int {
	if len(b)-i < len(lit) || string(b[i:i+len(lit)]) != lit {
		return -1
	}
	return i + len(lit)
}

// jsonCheckNumber returns the offset just past the number starting at
// b[i], or -1: an optional minus, 0 or digits not starting with 0, an
// optional fraction, an optional exponent.
func jsonCheckNumber(b []byte, i int) int {
	n := len(b)
	if b[i] == '-' {
		i++
	}
	switch {
	case i < n && b[i] == '0':
		i++
	case i < n && b[i] >= '1' && b[i] <= '9':
		i = jsonDigits(b, i+1)
	default:
		return -1
	}
	if i < n && b[i] == '.' {
		if i++; i >= n || !isDigit(b[i]) {
			return -1
		}
		i = jsonDigits(b, i)
	}
	if i < n && (b[i] == 'e' || b[i] == 'E') {
		if i++; i < n && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if i >= n || !isDigit(b[i]) {
			return -1
		}
		i = jsonDigits(b, i)
	}
	return i
}

// jsonDigits returns the offset of the first byte from b[i] on that is not
// a decimal digit.
func jsonDigits(b []byte, i int) int {
	for i < len(b) && isDigit(b[i]) {
		i++
	}
	return i
}

// jsonCheckString returns the offset just past the string literal starting
// at b[i] (a '"'), or -1. As in encoding/json, control characters must be
// escaped, escapes must be one of \" \\ \/ \b \f \n \r \t \uXXXX, and other
// bytes, invalid UTF-8 included, are accepted.
func jsonCheckString(b []byte, i int) int {
	n := len(b)
	i++
	for {
		i = jsonPlainRun(b, i)
		if i >= n {
			return -1
		}
		switch c := b[i]; {
		case c == '"':
			return i + 1
		case c == '\\':
			if i+1 >= n {
				return -1
			}
			switch b[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if n-i < 6 || !isHex(b[i+2]) || !isHex(b[i+3]) || !isHex(b[i+4]) || !isHex(b[i+5]) {
					return -1
				}
				i += 6
			default:
				return -1
			}
		default: // a control character
			return -1
		}
	}
}

func isHex(c byte) bool {
	return isDigit(c) || (c|0x20 >= 'a' && c|0x20 <= 'f')
}

// Bytes repeated in every lane of a uint64, for the tests of jsonPlainRun.
const (
	lanes01 = 0x0101010101010101
	lanes80 = 0x8080808080808080
)

// jsonPlainRun returns the offset of the first byte from b[i] on that ends
// a run of plain string content: a '"', a '\\' or a control character (or
// len(b)). It tests eight bytes at a time.
func jsonPlainRun(b []byte, i int) int {
	for ; len(b)-i >= 8; i += 8 {
		if m := jsonSpecialBytes(binary.LittleEndian.Uint64(b[i:])); m != 0 {
			return i + bits.TrailingZeros64(m)/8
		}
	}
	for ; i < len(b); i++ {
		if c := b[i]; c == '"' || c == '\\' || c < 0x20 {
			return i
		}
	}
	return i
}

// jsonSpecialBytes returns a mask with the high bit set in the lanes of w
// (eight bytes, little-endian) that hold '"', '\\' or a byte below 0x20,
// and possibly in higher lanes too: the lowest set bit marks the first
// such byte exactly.
func jsonSpecialBytes(w uint64) uint64 {
	quote := w ^ (lanes01 * '"')
	backslash := w ^ (lanes01 * '\\')
	// A lane is zero in x when (x - 1) borrows into its high bit while x's
	// own high bit is clear; a lane of w is below 0x20 likewise for
	// w - 0x20. Borrows only run upward, so the lowest flagged lane is
	// right.
	zeroQuote := (quote - lanes01) &^ quote
	zeroBackslash := (backslash - lanes01) &^ backslash
	control := (w - lanes01*0x20) &^ w
	return (zeroQuote | zeroBackslash | control) & lanes80
}
