package parser

import (
	"encoding/binary"
	"math"
	"strconv"
)

// This file reads msgpack items the way notepack.io 2.2 (the library under
// socket.io-msgpack-parser) understands them. Besides the standard types,
// notepack gives these extension forms a meaning of their own:
//
//	d4 00 xx          fixext 1, type 0: JavaScript undefined
//	d7 00 <int64 ms>  fixext 8, type 0: a Date
//	c7/c8/c9 .. 00    ext 8/16/32, type 0: an ArrayBuffer (binary)
//	any other ext     the array [type, Buffer]

// maxDepth bounds the nesting of arrays and maps in any value this package
// reads or writes, so that its recursion cannot exhaust the stack; cyclic
// values to encode meet it too. Limits.MaxDepth bounds decoded packets
// further.
const maxDepth = 10000

// mpKind classifies a msgpack item.
type mpKind uint8

const (
	mpNil       mpKind = iota
	mpUndefined        // d4 00 xx
	mpBool
	mpInt   // a signed integer code, or a fixint: value in i
	mpUint  // an unsigned integer code: value in u
	mpFloat // ca or cb: value in f
	mpStr
	mpBin // bin 8/16/32, or ext 8/16/32 of type 0 (binFromExt set)
	mpArray
	mpMap
	mpDate // d7 00: milliseconds since the epoch in i
	mpExt  // any other extension: type in ext
)

// mpHead is the header of one msgpack item.
type mpHead struct {
	kind       mpKind
	b          bool
	i          int64
	u          uint64
	f          float64
	ext        int8
	binFromExt bool
	n          int // payload bytes (str, bin, ext) or element count (array) or pair count (map)
	body       int // offset of the payload or of the first element
}

// readHead reads the item header at b[i]. It checks that a str, bin or ext
// payload fits in b; it does not look at array or map elements. It returns
// a reason when the bytes are not a valid item.
func readHead(b []byte, i int) (mpHead, string) {
	var h mpHead
	if i >= len(b) {
		return h, "truncated msgpack"
	}
	c := b[i]
	i++
	switch {
	case c <= 0x7f:
		h.kind, h.i, h.body = mpInt, int64(c), i
		return h, ""
	case c <= 0x8f:
		h.kind, h.n, h.body = mpMap, int(c&0x0f), i
		return h, ""
	case c <= 0x9f:
		h.kind, h.n, h.body = mpArray, int(c&0x0f), i
		return h, ""
	case c <= 0xbf:
		h.kind = mpStr
		return payload(h, b, i, uint64(c&0x1f))
	case c >= 0xe0:
		h.kind, h.i, h.body = mpInt, int64(int8(c)), i
		return h, ""
	}
	switch c {
	case 0xc0:
		h.kind, h.body = mpNil, i
		return h, ""
	case 0xc2, 0xc3:
		h.kind, h.b, h.body = mpBool, c == 0xc3, i
		return h, ""
	case 0xc4, 0xc5, 0xc6:
		n, j, ok := readLen(b, i, 1<<(c-0xc4))
		if !ok {
			return h, "truncated msgpack"
		}
		h.kind = mpBin
		return payload(h, b, j, n)
	case 0xc7, 0xc8, 0xc9:
		n, j, ok := readLen(b, i, 1<<(c-0xc7))
		if !ok || j >= len(b) {
			return h, "truncated msgpack"
		}
		h.ext = int8(b[j])
		if h.ext == 0 {
			h.kind, h.binFromExt = mpBin, true
		} else {
			h.kind = mpExt
		}
		return payload(h, b, j+1, n)
	case 0xca:
		if len(b)-i < 4 {
			return h, "truncated msgpack"
		}
		h.kind, h.f, h.body = mpFloat, float64(math.Float32frombits(binary.BigEndian.Uint32(b[i:]))), i+4
		return h, ""
	case 0xcb:
		if len(b)-i < 8 {
			return h, "truncated msgpack"
		}
		h.kind, h.f, h.body = mpFloat, math.Float64frombits(binary.BigEndian.Uint64(b[i:])), i+8
		return h, ""
	case 0xcc, 0xcd, 0xce, 0xcf:
		v, j, ok := readLen(b, i, 1<<(c-0xcc))
		if !ok {
			return h, "truncated msgpack"
		}
		h.kind, h.u, h.body = mpUint, v, j
		return h, ""
	case 0xd0, 0xd1, 0xd2, 0xd3:
		size := 1 << (c - 0xd0)
		v, j, ok := readLen(b, i, size)
		if !ok {
			return h, "truncated msgpack"
		}
		shift := 64 - 8*size
		h.kind, h.i, h.body = mpInt, int64(v<<shift)>>shift, j
		return h, ""
	case 0xd4, 0xd5, 0xd6, 0xd7, 0xd8:
		size := 1 << (c - 0xd4)
		if len(b)-i < 1+size {
			return h, "truncated msgpack"
		}
		h.ext, h.n, h.body = int8(b[i]), size, i+1
		switch {
		case h.ext == 0 && size == 1:
			h.kind = mpUndefined
		case h.ext == 0 && size == 8:
			h.kind, h.i = mpDate, int64(binary.BigEndian.Uint64(b[i+1:]))
		default:
			h.kind = mpExt
		}
		return h, ""
	case 0xd9, 0xda, 0xdb:
		n, j, ok := readLen(b, i, 1<<(c-0xd9))
		if !ok {
			return h, "truncated msgpack"
		}
		h.kind = mpStr
		return payload(h, b, j, n)
	case 0xdc, 0xdd:
		n, j, ok := readLen(b, i, 2<<(c-0xdc))
		if !ok {
			return h, "truncated msgpack"
		}
		if n > uint64(len(b)-j) {
			return h, "truncated msgpack" // every element takes at least one byte
		}
		h.kind, h.n, h.body = mpArray, int(n), j
		return h, ""
	case 0xde, 0xdf:
		n, j, ok := readLen(b, i, 2<<(c-0xde))
		if !ok {
			return h, "truncated msgpack"
		}
		if n > uint64(len(b)-j)/2 {
			return h, "truncated msgpack" // every pair takes at least two bytes
		}
		h.kind, h.n, h.body = mpMap, int(n), j
		return h, ""
	}
	return h, "unknown msgpack code 0x" + strconv.FormatUint(uint64(c), 16)
}

// readLen reads a big-endian unsigned integer of size bytes at b[i].
func readLen(b []byte, i, size int) (uint64, int, bool) {
	if len(b)-i < size {
		return 0, i, false
	}
	var v uint64
	for _, c := range b[i : i+size] {
		v = v<<8 | uint64(c)
	}
	return v, i + size, true
}

// payload records a payload of n bytes at b[i] in h after checking that it
// fits.
func payload(h mpHead, b []byte, i int, n uint64) (mpHead, string) {
	if n > uint64(len(b)-i) {
		return h, "truncated msgpack"
	}
	h.n, h.body = int(n), i
	return h, ""
}

// end returns the offset just past an item without elements.
func (h *mpHead) end() int {
	switch h.kind {
	case mpStr, mpBin, mpExt, mpDate, mpUndefined:
		return h.body + h.n
	}
	return h.body
}

// isKey reports whether an item of this kind may be a map key. JavaScript
// turns keys into strings; this codec accepts the scalar kinds whose string
// form is unambiguous.
func (h *mpHead) isKey() bool {
	switch h.kind {
	case mpNil, mpUndefined, mpBool, mpInt, mpUint, mpFloat, mpStr:
		return true
	}
	return false
}

// mpScan validates msgpack items within limits, counting the array
// elements and map entries it meets.
type mpScan struct {
	lim   *Limits
	elems int // array elements and map entries met so far
}

// skipItem validates the item at b[i], elements included, and returns the
// offset just past it. An array or map item is at nesting level depth
// (1 for the data of a packet).
func (s *mpScan) skipItem(b []byte, i, depth int) (int, string) {
	h, reason := readHead(b, i)
	if reason != "" {
		return 0, reason
	}
	return s.skipBody(b, &h, depth)
}

// skipBody validates the elements of the item whose header is h. It counts
// them, and checks the count, before looking at any.
func (s *mpScan) skipBody(b []byte, h *mpHead, depth int) (int, string) {
	switch h.kind {
	case mpArray, mpMap:
	default:
		return h.end(), ""
	}
	if depth > s.lim.MaxDepth {
		return 0, s.lim.tooDeep()
	}
	if h.n > s.lim.MaxElements-s.elems {
		return 0, s.lim.tooManyElements()
	}
	s.elems += h.n
	pos := h.body
	var reason string
	for k := 0; k < h.n; k++ {
		if h.kind == mpMap {
			kh, r := readHead(b, pos)
			if r != "" {
				return 0, r
			}
			if !kh.isKey() {
				return 0, "msgpack map key is not a string, number, boolean or nil"
			}
			pos = kh.end()
		}
		if pos, reason = s.skipItem(b, pos, depth+1); reason != "" {
			return 0, reason
		}
	}
	return pos, ""
}

// skipValid returns the offset just past the item at b[i], which has been
// validated.
func skipValid(b []byte, i int) int {
	lim := unlimited()
	s := mpScan{lim: &lim}
	end, _ := s.skipItem(b, i, 1)
	return end
}

// integral returns the value of a number item that JavaScript's
// Number.isInteger accepts and that fits in a uint64, as socket.io needs for
// packet types and ack ids. neg reports a negative integer.
func (h *mpHead) integral() (v uint64, neg, ok bool) {
	switch h.kind {
	case mpInt:
		if h.i < 0 {
			return 0, true, true
		}
		return uint64(h.i), false, true
	case mpUint:
		return h.u, false, true
	case mpFloat:
		f := h.f
		if math.IsNaN(f) || math.IsInf(f, 0) || f != math.Trunc(f) {
			return 0, false, false
		}
		if f < 0 {
			return 0, true, true
		}
		if f >= 18446744073709551616.0 {
			return 0, false, false
		}
		return uint64(f), false, true
	}
	return 0, false, false
}

// appendKeyString appends the property name JavaScript makes of the key item
// at b[h], which isKey accepted.
func appendKeyString(dst []byte, b []byte, h *mpHead) []byte {
	switch h.kind {
	case mpNil:
		return append(dst, "null"...)
	case mpUndefined:
		return append(dst, "undefined"...)
	case mpBool:
		return strconv.AppendBool(dst, h.b)
	case mpInt:
		return strconv.AppendInt(dst, h.i, 10)
	case mpUint:
		return strconv.AppendUint(dst, h.u, 10)
	case mpFloat:
		return appendJSNumber(dst, h.f, 64)
	}
	return append(dst, b[h.body:h.body+h.n]...)
}
