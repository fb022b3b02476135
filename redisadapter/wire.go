package redisadapter

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"

	"github.com/ferryio/ferry/parser"
)

// This file writes and reads the messages that travel on Redis, in the two
// forms Node's packages use: JSON (JSON.stringify) and msgpack
// (notepack.io 3). Messages are built as ordered objects, so that keys come
// in the order Node writes them; leaves that carry application values
// (event arguments, ack arguments, socket data, auth) go through the parser
// package, which writes them as Node's encoders do.

// obj is an object whose keys keep their order.
type obj []kv

type kv struct {
	k string
	v any
}

// value wraps an application value (an event argument, an ack, socket
// data): anything parser.Packet.Args accepts, a parser.Raw included.
type value struct{ v any }

// wireLimits bounds what a message from Redis may decode into: the
// parser's defaults.
var wireLimits = parser.Limits{}

// encodeJSON writes v as JSON.stringify writes the equivalent object.
func encodeJSON(v any) ([]byte, error) { return appendJSON(nil, v) }

func appendJSON(b []byte, v any) ([]byte, error) {
	switch v := v.(type) {
	case obj:
		b = append(b, '{')
		first := true
		for _, e := range v {
			if e.v == nil {
				continue // JSON.stringify leaves out undefined
			}
			if !first {
				b = append(b, ',')
			}
			first = false
			k, err := parser.MarshalJSON(e.k)
			if err != nil {
				return nil, err
			}
			b = append(b, k...)
			b = append(b, ':')
			if b, err = appendJSON(b, e.v); err != nil {
				return nil, err
			}
		}
		return append(b, '}'), nil
	case []any:
		b = append(b, '[')
		for i, e := range v {
			if i > 0 {
				b = append(b, ',')
			}
			var err error
			if b, err = appendJSON(b, e); err != nil {
				return nil, err
			}
		}
		return append(b, ']'), nil
	case value:
		out, err := parser.MarshalJSON(v.v)
		if err != nil {
			return nil, err
		}
		return append(b, out...), nil
	case null:
		return append(b, "null"...), nil
	default:
		out, err := parser.MarshalJSON(v)
		if err != nil {
			return nil, err
		}
		return append(b, out...), nil
	}
}

// null is an explicit null, where nil means "leave the key out".
type null struct{}

// encodeMsgpack writes v as notepack.io 3 writes the equivalent object.
func encodeMsgpack(v any) ([]byte, error) { return appendMsgpack(nil, v) }

func appendMsgpack(b []byte, v any) ([]byte, error) {
	switch v := v.(type) {
	case obj:
		n := 0
		for _, e := range v {
			if e.v != nil {
				n++
			}
		}
		b = appendMapHeader(b, n)
		for _, e := range v {
			if e.v == nil {
				continue // notepack leaves out undefined
			}
			b = appendStr(b, e.k)
			var err error
			if b, err = appendMsgpack(b, e.v); err != nil {
				return nil, err
			}
		}
		return b, nil
	case []any:
		b = appendArrayHeader(b, len(v))
		for _, e := range v {
			var err error
			if b, err = appendMsgpack(b, e); err != nil {
				return nil, err
			}
		}
		return b, nil
	case value:
		return appendLeaf(b, v.v)
	case null:
		return append(b, 0xc0), nil
	default:
		return appendLeaf(b, v)
	}
}

// appendLeaf writes an application value: the parser writes it as
// notepack.io 2 does, and its Dates are rewritten as notepack.io 3 writes
// them (the msgpack timestamp extension).
func appendLeaf(b []byte, v any) ([]byte, error) {
	out, err := parser.MarshalMsgpack(v)
	if err != nil {
		return nil, err
	}
	b, end, err := transcode(b, out, 0, 0)
	if err != nil {
		return nil, err
	}
	if end != len(out) {
		return nil, errors.New("redisadapter: trailing bytes in an encoded value")
	}
	return b, nil
}

func appendMapHeader(b []byte, n int) []byte {
	switch {
	case n < 16:
		return append(b, 0x80|byte(n))
	case n <= math.MaxUint16:
		return binary.BigEndian.AppendUint16(append(b, 0xde), uint16(n))
	default:
		return binary.BigEndian.AppendUint32(append(b, 0xdf), uint32(n))
	}
}

func appendArrayHeader(b []byte, n int) []byte {
	switch {
	case n < 16:
		return append(b, 0x90|byte(n))
	case n <= math.MaxUint16:
		return binary.BigEndian.AppendUint16(append(b, 0xdc), uint16(n))
	default:
		return binary.BigEndian.AppendUint32(append(b, 0xdd), uint32(n))
	}
}

func appendStr(b []byte, s string) []byte {
	n := len(s)
	switch {
	case n < 32:
		b = append(b, 0xa0|byte(n))
	case n <= math.MaxUint8:
		b = append(b, 0xd9, byte(n))
	case n <= math.MaxUint16:
		b = binary.BigEndian.AppendUint16(append(b, 0xda), uint16(n))
	default:
		b = binary.BigEndian.AppendUint32(append(b, 0xdb), uint32(n))
	}
	return append(b, s...)
}

const maxDepth = 1000

var errTruncated = errors.New("redisadapter: truncated msgpack value")

// transcode copies the msgpack value at src[i:] to b, rewriting the
// notepack.io 2 forms that notepack.io 3 no longer writes: a Date (fixext 8
// of type 0, milliseconds) becomes a msgpack timestamp, and undefined
// (fixext 1 of type 0) becomes nil. It returns the end of the value in src.
func transcode(b, src []byte, i, depth int) ([]byte, int, error) {
	if depth > maxDepth {
		return nil, 0, errors.New("redisadapter: msgpack value nested too deep")
	}
	if i >= len(src) {
		return nil, 0, errTruncated
	}
	c := src[i]
	switch {
	case c == 0xd7 && i+1 < len(src) && src[i+1] == 0x00:
		if i+10 > len(src) {
			return nil, 0, errTruncated
		}
		ms := int64(binary.BigEndian.Uint64(src[i+2:]))
		return appendTimestamp(b, ms), i + 10, nil
	case c == 0xd4 && i+1 < len(src) && src[i+1] == 0x00:
		if i+3 > len(src) {
			return nil, 0, errTruncated
		}
		return append(b, 0xc0), i + 3, nil
	}
	n, hdr, kind := header(src, i)
	if kind == kindBad {
		return nil, 0, fmt.Errorf("redisadapter: bad msgpack byte %#x", c)
	}
	switch kind {
	case kindArray, kindMap:
		if i+hdr > len(src) {
			return nil, 0, errTruncated
		}
		b = append(b, src[i:i+hdr]...)
		j := i + hdr
		items := n
		if kind == kindMap {
			items = 2 * n
		}
		for range items {
			var err error
			if b, j, err = transcode(b, src, j, depth+1); err != nil {
				return nil, 0, err
			}
		}
		return b, j, nil
	default:
		end := i + hdr + n
		if end > len(src) || end < i {
			return nil, 0, errTruncated
		}
		return append(b, src[i:end]...), end, nil
	}
}

// appendTimestamp writes a Date of ms milliseconds as notepack.io 3 does:
// timestamp 32 for whole seconds, timestamp 64, or timestamp 96.
func appendTimestamp(b []byte, ms int64) []byte {
	s := ms / 1000
	rem := ms - s*1000
	if rem < 0 { // floor, as Math.floor
		s--
		rem += 1000
	}
	ns := uint64(rem) * 1e6
	switch {
	case s >= 0 && s <= 0x3ffffffff && ns == 0 && s <= math.MaxUint32:
		b = append(b, 0xd6, 0xff)
		return binary.BigEndian.AppendUint32(b, uint32(s))
	case s >= 0 && s <= 0x3ffffffff:
		b = append(b, 0xd7, 0xff)
		return binary.BigEndian.AppendUint64(b, ns<<34|uint64(s))
	default:
		b = append(b, 0xc7, 12, 0xff)
		b = binary.BigEndian.AppendUint32(b, uint32(ns))
		return binary.BigEndian.AppendUint64(b, uint64(s))
	}
}

type kind int

const (
	kindBad kind = iota
	kindScalar
	kindStr
	kindBin
	kindExt
	kindArray
	kindMap
)

// header reads the header of the msgpack value at b[i]: for strings, bin
// and extensions n is the payload size (an extension's type byte counted
// in hdr); for arrays and maps the number of elements or pairs; for
// scalars, the size of the value after the first byte.
func header(b []byte, i int) (n, hdr int, k kind) {
	c := b[i]
	need := func(size int) bool { return i+1+size <= len(b) }
	uintAt := func(size int) int {
		switch size {
		case 1:
			return int(b[i+1])
		case 2:
			return int(binary.BigEndian.Uint16(b[i+1:]))
		default:
			return int(binary.BigEndian.Uint32(b[i+1:]))
		}
	}
	switch {
	case c <= 0x7f || c >= 0xe0 || c == 0xc0 || c == 0xc2 || c == 0xc3:
		return 0, 1, kindScalar
	case c&0xf0 == 0x80:
		return int(c & 0x0f), 1, kindMap
	case c&0xf0 == 0x90:
		return int(c & 0x0f), 1, kindArray
	case c&0xe0 == 0xa0:
		return int(c & 0x1f), 1, kindStr
	}
	switch c {
	case 0xcc, 0xd0:
		return 1, 1, kindScalar
	case 0xcd, 0xd1:
		return 2, 1, kindScalar
	case 0xca, 0xce, 0xd2:
		return 4, 1, kindScalar
	case 0xcb, 0xcf, 0xd3:
		return 8, 1, kindScalar
	case 0xd4, 0xd5, 0xd6, 0xd7, 0xd8:
		return 1 << (c - 0xd4), 2, kindExt
	case 0xc4, 0xc5, 0xc6, 0xd9, 0xda, 0xdb:
		k, first := kindBin, byte(0xc4)
		if c >= 0xd9 {
			k, first = kindStr, 0xd9
		}
		size := 1 << (c - first) // 1, 2 or 4 bytes of length
		if !need(size) {
			return 0, 0, kindBad
		}
		return uintAt(size), 1 + size, k
	case 0xc7, 0xc8, 0xc9:
		size := 1 << (c - 0xc7)
		if !need(size + 1) {
			return 0, 0, kindBad
		}
		return uintAt(size), 2 + size, kindExt
	case 0xdc, 0xdd:
		size := 2 << (c - 0xdc)
		if !need(size) {
			return 0, 0, kindBad
		}
		return uintAt(size), 1 + size, kindArray
	case 0xde, 0xdf:
		size := 2 << (c - 0xde)
		if !need(size) {
			return 0, 0, kindBad
		}
		return uintAt(size), 1 + size, kindMap
	}
	return 0, 0, kindBad
}

// hasBinary reports whether a msgpack value holds binary data (bin, or an
// extension other than a Date), as socket.io-adapter's hasBinary decides
// whether a cluster message must travel as msgpack.
func hasBinary(src []byte) bool {
	found := false
	var walk func(i, depth int) int
	walk = func(i, depth int) int {
		if i >= len(src) || depth > maxDepth {
			return -1
		}
		if src[i] == 0xd7 && i+1 < len(src) && (src[i+1] == 0x00 || src[i+1] == 0xff) {
			return i + 10 // a Date
		}
		n, hdr, k := header(src, i)
		switch k {
		case kindBad:
			return -1
		case kindBin:
			found = true
		case kindExt:
			if i+hdr > len(src) {
				return -1
			}
			if t := src[i+hdr-1]; int8(t) != -1 && !(t == 0 && n == 1) {
				found = true
			}
		case kindArray, kindMap:
			j := i + hdr
			items := n
			if k == kindMap {
				items *= 2
			}
			for range items {
				if j = walk(j, depth+1); j < 0 {
					return -1
				}
			}
			return j
		}
		return i + hdr + n
	}
	walk(0, 0)
	return found
}

// node is one value of a received message, JSON or msgpack, decoded
// lazily: a message's fields are read with the accessors, and application
// values are kept encoded, as a parser.Raw.
type node interface {
	// Map returns the object's fields; an error if it is no object.
	Map() (map[string]node, error)
	// Array returns the array's elements; an error if it is no array.
	Array() ([]node, error)
	// Str returns the string; an error if it is no string.
	Str() (string, error)
	// Int returns the number as an integer; an error if it is none.
	Int() (int64, error)
	// Bool returns the boolean; false for anything else.
	Bool() bool
	// Raw returns the value as a parser.Raw.
	Raw() (parser.Raw, error)
}

// decodeMessage reads a message: JSON if it starts with '{' (as Node's
// adapters decide), msgpack otherwise.
func decodeMessage(b []byte) (node, error) {
	if len(b) > 0 && b[0] == '{' {
		if !json.Valid(b) {
			return nil, errors.New("redisadapter: invalid JSON message")
		}
		return jsonNode(b), nil
	}
	end, err := skip(b, 0, 0)
	if err != nil {
		return nil, err
	}
	if end != len(b) {
		return nil, errors.New("redisadapter: trailing bytes after a msgpack message")
	}
	return mpNode(b), nil
}

type jsonNode json.RawMessage

func (n jsonNode) Map() (map[string]node, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(n, &m); err != nil {
		return nil, err
	}
	if m == nil {
		return nil, errors.New("redisadapter: not an object")
	}
	out := make(map[string]node, len(m))
	for k, v := range m {
		out[k] = jsonNode(v)
	}
	return out, nil
}

func (n jsonNode) Array() ([]node, error) {
	var a []json.RawMessage
	if err := json.Unmarshal(n, &a); err != nil {
		return nil, err
	}
	out := make([]node, len(a))
	for i, v := range a {
		out[i] = jsonNode(v)
	}
	return out, nil
}

func (n jsonNode) Str() (string, error) {
	var s string
	err := json.Unmarshal(n, &s)
	return s, err
}

func (n jsonNode) Int() (int64, error) {
	var f float64
	if err := json.Unmarshal(n, &f); err != nil {
		return 0, err
	}
	if f != math.Trunc(f) || math.Abs(f) > 1<<53 {
		return 0, fmt.Errorf("redisadapter: %v is not an integer", f)
	}
	return int64(f), nil
}

func (n jsonNode) Bool() bool {
	var v bool
	return json.Unmarshal(n, &v) == nil && v
}

func (n jsonNode) Raw() (parser.Raw, error) { return parser.JSONRaw(n, wireLimits) }

type mpNode []byte

func (n mpNode) Map() (map[string]node, error) {
	count, hdr, k := header(n, 0)
	if k != kindMap {
		return nil, errors.New("redisadapter: not a msgpack map")
	}
	out := make(map[string]node, count)
	j := hdr
	for range count {
		key := mpNode(n[j:])
		kend, err := skip(n, j, 1)
		if err != nil {
			return nil, err
		}
		var name string
		if s, err := key.Str(); err == nil {
			name = s
		} else if i, err := key.Int(); err == nil {
			name = strconv.FormatInt(i, 10)
		} else {
			return nil, errors.New("redisadapter: msgpack map key is no string")
		}
		vend, err := skip(n, kend, 1)
		if err != nil {
			return nil, err
		}
		out[name] = n[kend:vend]
		j = vend
	}
	return out, nil
}

func (n mpNode) Array() ([]node, error) {
	count, hdr, k := header(n, 0)
	if k != kindArray {
		return nil, errors.New("redisadapter: not a msgpack array")
	}
	out := make([]node, 0, count)
	j := hdr
	for range count {
		end, err := skip(n, j, 1)
		if err != nil {
			return nil, err
		}
		out = append(out, n[j:end])
		j = end
	}
	return out, nil
}

func (n mpNode) Str() (string, error) {
	size, hdr, k := header(n, 0)
	if k != kindStr || hdr+size > len(n) {
		return "", errors.New("redisadapter: not a msgpack string")
	}
	return string(n[hdr : hdr+size]), nil
}

func (n mpNode) Int() (int64, error) {
	if len(n) == 0 {
		return 0, errTruncated
	}
	c := n[0]
	switch {
	case c <= 0x7f:
		return int64(c), nil
	case c >= 0xe0:
		return int64(int8(c)), nil
	}
	size, _, k := header(n, 0)
	if k != kindScalar || 1+size > len(n) {
		return 0, errors.New("redisadapter: not a msgpack number")
	}
	p := n[1:]
	switch c {
	case 0xcc:
		return int64(p[0]), nil
	case 0xcd:
		return int64(binary.BigEndian.Uint16(p)), nil
	case 0xce:
		return int64(binary.BigEndian.Uint32(p)), nil
	case 0xcf:
		u := binary.BigEndian.Uint64(p)
		if u > math.MaxInt64 {
			return 0, errors.New("redisadapter: integer out of range")
		}
		return int64(u), nil
	case 0xd0:
		return int64(int8(p[0])), nil
	case 0xd1:
		return int64(int16(binary.BigEndian.Uint16(p))), nil
	case 0xd2:
		return int64(int32(binary.BigEndian.Uint32(p))), nil
	case 0xd3:
		return int64(binary.BigEndian.Uint64(p)), nil
	case 0xca, 0xcb:
		var f float64
		if c == 0xca {
			f = float64(math.Float32frombits(binary.BigEndian.Uint32(p)))
		} else {
			f = math.Float64frombits(binary.BigEndian.Uint64(p))
		}
		if f != math.Trunc(f) || math.Abs(f) > 1<<53 {
			return 0, fmt.Errorf("redisadapter: %v is not an integer", f)
		}
		return int64(f), nil
	}
	return 0, errors.New("redisadapter: not a msgpack number")
}

func (n mpNode) Bool() bool { return len(n) == 1 && n[0] == 0xc3 }

func (n mpNode) Raw() (parser.Raw, error) { return parser.MsgpackRaw(n, wireLimits) }

// skip returns the end of the msgpack value at b[i].
func skip(b []byte, i, depth int) (int, error) {
	if depth > maxDepth {
		return 0, errors.New("redisadapter: msgpack value nested too deep")
	}
	if i >= len(b) {
		return 0, errTruncated
	}
	n, hdr, k := header(b, i)
	switch k {
	case kindBad:
		return 0, fmt.Errorf("redisadapter: bad msgpack byte %#x", b[i])
	case kindArray, kindMap:
		items := n
		if k == kindMap {
			items *= 2
		}
		j := i + hdr
		for range items {
			var err error
			if j, err = skip(b, j, depth+1); err != nil {
				return 0, err
			}
		}
		return j, nil
	}
	end := i + hdr + n
	if end > len(b) || end < i {
		return 0, errTruncated
	}
	return end, nil
}

// stringsOf reads an array of strings (numbers are taken as their
// decimal text, as JavaScript rooms may be numbers); a missing or null
// value is empty.
func stringsOf(n node) ([]string, error) {
	if n == nil || isNull(n) {
		return nil, nil
	}
	elems, err := n.Array()
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(elems))
	for _, e := range elems {
		s, err := e.Str()
		if err != nil {
			// A numeric room, as JavaScript allows.
			i, ierr := e.Int()
			if ierr != nil {
				return nil, err
			}
			s = strconv.FormatInt(i, 10)
		}
		out = append(out, s)
	}
	return out, nil
}

// isNull reports whether n is null (or, in msgpack, undefined).
func isNull(n node) bool {
	switch n := n.(type) {
	case jsonNode:
		return string(n) == "null"
	case mpNode:
		return len(n) == 1 && n[0] == 0xc0 || len(n) == 3 && n[0] == 0xd4 && n[1] == 0
	}
	return true
}

// stringList returns rooms as the []any a message carries, never nil.
func stringList(rooms []string) []any {
	out := make([]any, len(rooms))
	for i, r := range rooms {
		out[i] = r
	}
	return out
}

// sortedKeys returns m's keys, sorted.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
