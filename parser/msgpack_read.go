package parser

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"reflect"
	"strconv"

	"github.com/vmihailenco/msgpack/v5"
)

// msgpackDecoder decodes one connection's binary messages. It keeps no
// packet state, only whether an earlier message failed.
type msgpackDecoder struct {
	lim Limits // defaults applied
	err error
}

// Decode implements Decoder.
func (d *msgpackDecoder) Decode(data []byte, binary bool) (*Message, error) {
	if d.err != nil {
		return nil, decodeError(nameMsgpack, "decoder already failed", d.err)
	}
	m, err := decodeMsgpack(data, binary, &d.lim)
	if err != nil {
		d.err = err
		return nil, err
	}
	return m, nil
}

// span is a byte range of an item in a decoded message.
type span struct {
	start, end int
	set        bool
}

// decodeMsgpack decodes and validates one packet as socket.io-msgpack-parser
// does: a map with a type of 0 to 4, a string nsp, a data whose shape fits
// the type, and an optional non-negative integer id. Keys may come in any
// order, unknown keys are ignored, and undefined counts as absent. The
// whole message is validated, within lim, before anything is copied from
// it.
func decodeMsgpack(data []byte, isBinary bool, lim *Limits) (*Message, error) {
	fail := func(reason string) (*Message, error) { return nil, decodeError(nameMsgpack, reason, nil) }
	if !isBinary {
		return fail("text message: the msgpack codec carries packets in binary messages")
	}
	if tooLong(data) {
		return fail("message of 4 GiB or more")
	}
	b := data
	top, reason := readHead(b, 0)
	if reason != "" {
		return fail(reason)
	}
	if top.kind != mpMap {
		return fail("packet is not a msgpack map")
	}
	scan := mpScan{lim: lim}
	var typ, nsp, dat, id span
	pos := top.body
	for k := 0; k < top.n; k++ {
		kh, reason := readHead(b, pos)
		if reason != "" {
			return fail(reason)
		}
		if !kh.isKey() {
			return fail("msgpack map key is not a string, number, boolean or nil")
		}
		valStart := kh.end()
		isData := kh.kind == mpStr && string(b[kh.body:kh.body+kh.n]) == "data"
		if isData {
			// An EVENT's data holds its name and arguments: refuse a long
			// array before walking it.
			if h, _ := readHead(b, valStart); h.kind == mpArray && h.n-1 > lim.MaxArgs {
				return fail(lim.tooManyArgs())
			}
		}
		valEnd, reason := scan.skipItem(b, valStart, 1)
		if reason != "" {
			return fail(reason)
		}
		if kh.kind == mpStr {
			s := span{valStart, valEnd, true}
			switch string(b[kh.body : kh.body+kh.n]) {
			case "type":
				typ = s
			case "nsp":
				nsp = s
			case "data":
				dat = s
			case "id":
				id = s
			}
		}
		pos = valEnd
	}
	if pos != len(b) {
		return fail("trailing bytes after the packet")
	}

	m := &Message{}
	th, ok := present(b, typ)
	if !ok {
		return fail("invalid packet type")
	}
	t, neg, ok := th.integral()
	if !ok || neg || t > uint64(ConnectError) {
		return fail("invalid packet type")
	}
	m.Type = Type(t)

	nh, ok := present(b, nsp)
	if !ok || nh.kind != mpStr {
		return fail("invalid namespace")
	}
	m.Namespace = string(b[nh.body : nh.body+nh.n])

	if ih, ok := present(b, id); ok {
		v, neg, ok := ih.integral()
		if !ok || neg {
			return fail("invalid packet id")
		}
		m.ID, m.HasID = v, true
	}

	dh, hasData := present(b, dat)
	switch m.Type {
	case Connect:
		if hasData && dh.kind != mpMap {
			return fail("invalid payload: CONNECT data must be a map")
		}
	case Disconnect:
		if hasData {
			return fail("invalid payload: DISCONNECT carries no data")
		}
	case ConnectError:
		if !hasData || (dh.kind != mpMap && dh.kind != mpStr) {
			return fail("invalid payload: CONNECT_ERROR data must be a map or a string")
		}
	case Event, Ack:
		if !hasData || dh.kind != mpArray {
			return fail("invalid payload: " + m.Type.String() + " data must be an array")
		}
		args := dh.n
		if m.Type == Event {
			args--
		}
		if args > lim.MaxArgs {
			return fail(lim.tooManyArgs())
		}
	}
	if !hasData {
		return m, nil
	}

	// Valid: keep a copy of the data, which the Raw values point into.
	buf := &packetBytes{b: bytes.Clone(b[dat.start:dat.end])}
	switch m.Type {
	case Connect, ConnectError:
		m.Payload = buf.raw(0, len(buf.b))
	case Event, Ack:
		if reason := m.setMsgpackArgs(buf); reason != "" {
			return fail(reason)
		}
	}
	return m, nil
}

// present returns the header of the item at s, or false when the key was
// missing or its value is undefined.
func present(b []byte, s span) (mpHead, bool) {
	if !s.set {
		return mpHead{}, false
	}
	h, reason := readHead(b, s.start)
	if reason != "" || h.kind == mpUndefined {
		return h, false
	}
	return h, true
}

// setMsgpackArgs fills m.Event and m.Args from the data array that buf
// holds, which has been validated.
func (m *Message) setMsgpackArgs(buf *packetBytes) string {
	b := buf.b
	h, _ := readHead(b, 0)
	n, pos := h.n, h.body
	if m.Type == Event {
		if n == 0 {
			return "invalid payload: EVENT data is empty"
		}
		eh, _ := readHead(b, pos) // validated
		switch eh.kind {
		case mpStr:
			m.Event = string(b[eh.body : eh.body+eh.n])
		case mpInt:
			m.Event = strconv.FormatInt(eh.i, 10)
		case mpUint:
			m.Event = strconv.FormatUint(eh.u, 10)
		case mpFloat:
			m.Event = numericEventName(eh.f)
		default:
			return "invalid payload: event name must be a string or a number"
		}
		pos = eh.end()
		n--
	}
	if n == 0 {
		return ""
	}
	raws := make([]msgpackRaw, n)
	m.Args = make([]Raw, n)
	for k := range raws {
		end := skipValid(b, pos)
		raws[k] = msgpackRaw{buf: buf, off: uint32(pos), end: uint32(end)}
		m.Args[k] = &raws[k]
		pos = end
	}
	return ""
}

// packetBytes holds the bytes of a decoded packet's data, or of one value,
// which its Raw values share.
type packetBytes struct {
	b []byte
}

// raw returns the Raw of the item at b[start:end].
func (p *packetBytes) raw(start, end int) *msgpackRaw {
	return &msgpackRaw{buf: p, off: uint32(start), end: uint32(end)}
}

// msgpackRaw is one msgpack-encoded value of a decoded packet, in the bytes
// the peer sent. Encoding it with the msgpack codec copies those bytes. The
// 32-bit offsets keep a packet's Raw values small: each argument costs a
// Message 16 bytes here and 16 in Message.Args.
type msgpackRaw struct {
	buf      *packetBytes
	off, end uint32
}

// bytes returns the value's encoding.
func (r *msgpackRaw) bytes() []byte { return r.buf.b[r.off:r.end] }

// Decode implements Raw. The value is first rewritten into the forms the
// msgpack library understands (see goForm), then decoded with json struct
// tags as the fallback for msgpack tags.
func (r *msgpackRaw) Decode(v any) error {
	if rv := reflect.ValueOf(v); rv.Kind() != reflect.Pointer || rv.IsNil() {
		return errDecodeTarget
	}
	if r == nil {
		return errNilRaw
	}
	b := r.bytes()
	gb, _, reason := appendGoForm(make([]byte, 0, len(b)+16), b, 0)
	if reason != "" {
		return errors.New("parser: msgpack value: " + reason)
	}
	dec := msgpack.GetDecoder()
	dec.Reset(bytes.NewReader(gb))
	dec.SetCustomStructTag("json")
	err := dec.Decode(v)
	dec.Reset(nil)
	msgpack.PutDecoder(dec)
	return err
}

// MarshalMsgpack returns the value's bytes, so that a Raw placed inside a
// struct is relayed unchanged by the msgpack library.
func (r *msgpackRaw) MarshalMsgpack() ([]byte, error) {
	if r == nil {
		return []byte{0xc0}, nil
	}
	return r.bytes(), nil
}

// errNilRaw is returned by Decode on a nil Raw pointer.
var errNilRaw = errors.New("parser: Decode on a nil Raw")

// errDecodeTarget is returned by Raw.Decode for a target that is not a
// non-nil pointer.
var errDecodeTarget = errors.New("parser: Raw.Decode needs a non-nil pointer")

// appendGoForm appends the item at b[i] rewritten for the msgpack library:
// every integer as int64 (uint64 above math.MaxInt64), every float as
// float64, undefined as nil, type-0 ext binary as bin, a Date as a msgpack
// timestamp, any other ext as the array [type, bin] that notepack.io makes of
// it, and map keys as strings. It returns the offset just past the item,
// which must have been validated.
func appendGoForm(dst, b []byte, i int) ([]byte, int, string) {
	h, reason := readHead(b, i)
	if reason != "" {
		return nil, 0, reason
	}
	end := h.end()
	switch h.kind {
	case mpNil, mpUndefined:
		return append(dst, 0xc0), end, ""
	case mpBool:
		if h.b {
			return append(dst, 0xc3), end, ""
		}
		return append(dst, 0xc2), end, ""
	case mpInt:
		return binary.BigEndian.AppendUint64(append(dst, 0xd3), uint64(h.i)), end, ""
	case mpUint:
		if h.u > math.MaxInt64 {
			return binary.BigEndian.AppendUint64(append(dst, 0xcf), h.u), end, ""
		}
		return binary.BigEndian.AppendUint64(append(dst, 0xd3), h.u), end, ""
	case mpFloat:
		return binary.BigEndian.AppendUint64(append(dst, 0xcb), math.Float64bits(h.f)), end, ""
	case mpStr:
		return append(dst, b[i:end]...), end, ""
	case mpBin:
		dst = appendBinHeader(dst, h.n)
		return append(dst, b[h.body:end]...), end, ""
	case mpDate:
		sec, ms := h.i/1000, h.i%1000
		if ms < 0 {
			sec, ms = sec-1, ms+1000
		}
		dst = append(dst, 0xc7, 12, 0xff)
		dst = binary.BigEndian.AppendUint32(dst, uint32(ms*1e6))
		return binary.BigEndian.AppendUint64(dst, uint64(sec)), end, ""
	case mpExt:
		dst = append(dst, 0x92, 0xd3)
		dst = binary.BigEndian.AppendUint64(dst, uint64(int64(h.ext)))
		dst = appendBinHeader(dst, h.n)
		return append(dst, b[h.body:end]...), end, ""
	}
	// An array or a map: the header is kept, the elements rewritten.
	dst = append(dst, b[i:h.body]...)
	pos := h.body
	for k := 0; k < h.n; k++ {
		if h.kind == mpMap {
			kh, reason := readHead(b, pos)
			if reason != "" {
				return nil, 0, reason
			}
			if kh.kind == mpStr {
				dst = append(dst, b[pos:kh.end()]...)
			} else {
				key := appendKeyString(nil, b, &kh)
				dst = appendStrHeader(dst, len(key))
				dst = append(dst, key...)
			}
			pos = kh.end()
		}
		if dst, pos, reason = appendGoForm(dst, b, pos); reason != "" {
			return nil, 0, reason
		}
	}
	return dst, pos, ""
}
