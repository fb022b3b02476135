package parser

import (
	"bytes"
	"encoding"
	"encoding/binary"
	"errors"
	"math"
	"reflect"
	"slices"
	"strconv"
	"time"

	"github.com/vmihailenco/msgpack/v5"
)

// Encode implements Codec. It returns one binary Frame holding a msgpack map
// whose keys come in the order Node's socket.io server writes them:
//
//	CONNECT        type, data (only when Payload is set), nsp
//	DISCONNECT     type, nsp
//	EVENT          type, data, id (only when HasID), nsp
//	ACK            id, type, data, nsp
//	CONNECT_ERROR  type, data, nsp
//
// An absent field is left out, never written as nil.
func (msgpackCodec) Encode(p *Packet) ([]Frame, error) {
	c, err := checkPacket(nameMsgpack, p)
	if err != nil {
		return nil, err
	}
	b := make([]byte, 0, 64)
	switch c.typ {
	case Connect:
		n := byte(2)
		if p.Payload != nil {
			n = 3
		}
		b = append(b, 0x80|n)
		b = appendKeyType(b, Connect)
		if p.Payload != nil {
			if b, err = appendMsgpackPayload(b, p.Payload, false); err != nil {
				return nil, err
			}
		}
	case Disconnect:
		b = append(b, 0x82)
		b = appendKeyType(b, Disconnect)
	case Event:
		if p.HasID {
			b = append(b, 0x84)
		} else {
			b = append(b, 0x83)
		}
		b = appendKeyType(b, Event)
		if b, err = appendMsgpackArgs(b, p.Args); err != nil {
			return nil, err
		}
		if p.HasID {
			b = appendKeyID(b, p.ID)
		}
	case Ack:
		b = append(b, 0x84)
		b = appendKeyID(b, p.ID)
		b = appendKeyType(b, Ack)
		if b, err = appendMsgpackArgs(b, p.Args); err != nil {
			return nil, err
		}
	case ConnectError:
		b = append(b, 0x83)
		b = appendKeyType(b, ConnectError)
		if b, err = appendMsgpackPayload(b, p.Payload, true); err != nil {
			return nil, err
		}
	}
	b = append(b, 0xa3, 'n', 's', 'p')
	b = appendMsgpackString(b, c.nsp)
	return []Frame{{Data: b, Binary: true}}, nil
}

func appendKeyType(b []byte, t Type) []byte {
	return append(b, 0xa4, 't', 'y', 'p', 'e', byte(t))
}

func appendKeyID(b []byte, id uint64) []byte {
	return appendJSUint(append(b, 0xa2, 'i', 'd'), id)
}

// appendMsgpackArgs appends the data key and the array of args.
func appendMsgpackArgs(b []byte, args []any) ([]byte, error) {
	b = append(b, 0xa4, 'd', 'a', 't', 'a')
	b = appendArrayHeader(b, len(args))
	var err error
	for _, a := range args {
		if b, err = appendMsgpack(b, a, 1); err != nil {
			return nil, encodeError(nameMsgpack, "cannot encode argument", err)
		}
	}
	return b, nil
}

// appendMsgpackPayload appends the data key and v, which must encode to a
// map, or, when orString is set, to a map or a string.
func appendMsgpackPayload(b []byte, v any, orString bool) ([]byte, error) {
	b = append(b, 0xa4, 'd', 'a', 't', 'a')
	off := len(b)
	b, err := appendMsgpack(b, v, 1)
	if err != nil {
		return nil, encodeError(nameMsgpack, "cannot encode payload", err)
	}
	h, _ := readHead(b, off)
	if h.kind == mpMap || (orString && h.kind == mpStr) {
		return b, nil
	}
	if orString {
		return nil, encodeError(nameMsgpack, "CONNECT_ERROR payload must encode to a map or a string", nil)
	}
	return nil, encodeError(nameMsgpack, "CONNECT payload must encode to a map", nil)
}

// errTooDeep is returned for values nested deeper than maxDepth, which
// includes cyclic ones.
var errTooDeep = errors.New("value nested too deeply or cyclic")

// appendMsgpack appends v as notepack.io would write the equivalent
// JavaScript value. The common dynamic types are written directly; structs
// and types with their own msgpack or text/binary marshalling go through
// the msgpack library (json tags apply when there is no msgpack tag), and
// the result is rewritten into notepack.io's forms.
func appendMsgpack(b []byte, v any, depth int) ([]byte, error) {
	if depth > maxDepth {
		return nil, errTooDeep
	}
	var err error
	switch x := v.(type) {
	case nil:
		return append(b, 0xc0), nil
	case bool:
		return appendMsgpackBool(b, x), nil
	case string:
		return appendMsgpackString(b, x), nil
	case int:
		return appendJSInt(b, int64(x)), nil
	case int8:
		return appendJSInt(b, int64(x)), nil
	case int16:
		return appendJSInt(b, int64(x)), nil
	case int32:
		return appendJSInt(b, int64(x)), nil
	case int64:
		return appendJSInt(b, x), nil
	case uint:
		return appendJSUint(b, uint64(x)), nil
	case uint8:
		return appendJSUint(b, uint64(x)), nil
	case uint16:
		return appendJSUint(b, uint64(x)), nil
	case uint32:
		return appendJSUint(b, uint64(x)), nil
	case uint64:
		return appendJSUint(b, x), nil
	case float32:
		return appendJSFloat(b, float64(x)), nil
	case float64:
		return appendJSFloat(b, x), nil
	case []byte:
		if x == nil {
			return append(b, 0xc0), nil
		}
		return append(appendBinHeader(b, len(x)), x...), nil
	case []any:
		if x == nil {
			return append(b, 0xc0), nil
		}
		b = appendArrayHeader(b, len(x))
		for _, e := range x {
			if b, err = appendMsgpack(b, e, depth+1); err != nil {
				return nil, err
			}
		}
		return b, nil
	case map[string]any:
		if x == nil {
			return append(b, 0xc0), nil
		}
		b = appendMapHeader(b, len(x))
		for _, k := range sortedKeys(x) {
			b = appendMsgpackString(b, k)
			if b, err = appendMsgpack(b, x[k], depth+1); err != nil {
				return nil, err
			}
		}
		return b, nil
	case time.Time:
		return appendDate(b, x.UnixMilli()), nil
	case *msgpackRaw:
		if x == nil {
			return append(b, 0xc0), nil
		}
		return append(b, x.bytes()...), nil
	case Raw:
		var decoded any
		if err := x.Decode(&decoded); err != nil {
			return nil, err
		}
		return appendMsgpack(b, decoded, depth+1)
	}
	return appendMsgpackReflect(b, v, depth)
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

var (
	customEncoderType   = reflect.TypeFor[msgpack.CustomEncoder]()
	marshalerType       = reflect.TypeFor[msgpack.Marshaler]()
	binaryMarshalerType = reflect.TypeFor[encoding.BinaryMarshaler]()
	textMarshalerType   = reflect.TypeFor[encoding.TextMarshaler]()
)

// appendMsgpackReflect handles named basic types, typed slices and maps,
// and pointers itself, so that map keys come out sorted; everything else
// goes to the msgpack library.
func appendMsgpackReflect(b []byte, v any, depth int) ([]byte, error) {
	rv := reflect.ValueOf(v)
	t := rv.Type()
	if t.Implements(customEncoderType) || t.Implements(marshalerType) ||
		t.Implements(binaryMarshalerType) || t.Implements(textMarshalerType) {
		return appendMsgpackLibrary(b, v)
	}
	var err error
	switch rv.Kind() {
	case reflect.Pointer:
		if rv.IsNil() {
			return append(b, 0xc0), nil
		}
		return appendMsgpack(b, rv.Elem().Interface(), depth+1)
	case reflect.Bool:
		return appendMsgpackBool(b, rv.Bool()), nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return appendJSInt(b, rv.Int()), nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return appendJSUint(b, rv.Uint()), nil
	case reflect.Float32, reflect.Float64:
		return appendJSFloat(b, rv.Float()), nil
	case reflect.String:
		return appendMsgpackString(b, rv.String()), nil
	case reflect.Slice:
		if rv.IsNil() {
			return append(b, 0xc0), nil
		}
		if t.Elem().Kind() == reflect.Uint8 {
			return append(appendBinHeader(b, rv.Len()), rv.Bytes()...), nil
		}
		fallthrough
	case reflect.Array:
		b = appendArrayHeader(b, rv.Len())
		for k := 0; k < rv.Len(); k++ {
			if b, err = appendMsgpack(b, rv.Index(k).Interface(), depth+1); err != nil {
				return nil, err
			}
		}
		return b, nil
	case reflect.Map:
		if rv.IsNil() {
			return append(b, 0xc0), nil
		}
		keys := make(map[string]reflect.Value, rv.Len())
		iter := rv.MapRange()
		for iter.Next() {
			k := iter.Key()
			switch k.Kind() {
			case reflect.String:
				keys[k.String()] = iter.Value()
			case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
				keys[strconv.FormatInt(k.Int(), 10)] = iter.Value()
			case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
				keys[strconv.FormatUint(k.Uint(), 10)] = iter.Value()
			default:
				return appendMsgpackLibrary(b, v)
			}
		}
		b = appendMapHeader(b, len(keys))
		for _, k := range sortedKeys(keys) {
			b = appendMsgpackString(b, k)
			if b, err = appendMsgpack(b, keys[k].Interface(), depth+1); err != nil {
				return nil, err
			}
		}
		return b, nil
	}
	return appendMsgpackLibrary(b, v)
}

// appendMsgpackLibrary encodes v with the msgpack library, then rewrites the
// result into notepack.io's forms (appendJSForm).
func appendMsgpackLibrary(b []byte, v any) ([]byte, error) {
	if err := checkNesting(reflect.ValueOf(v), 0); err != nil {
		return nil, err // the msgpack library would recurse until the stack overflows
	}
	var buf bytes.Buffer
	enc := msgpack.GetEncoder()
	enc.Reset(&buf)
	enc.SetCustomStructTag("json")
	enc.UseCompactInts(true)
	enc.SetSortMapKeys(true)
	err := enc.Encode(v)
	enc.Reset(nil)
	msgpack.PutEncoder(enc)
	if err != nil {
		return nil, err
	}
	out := buf.Bytes()
	lim := unlimited()
	scan := mpScan{lim: &lim}
	end, reason := scan.skipItem(out, 0, 1)
	if reason == "" && end != len(out) {
		reason = "trailing bytes"
	}
	if reason != "" {
		return nil, errors.New("msgpack library output: " + reason)
	}
	b, _, reason = appendJSForm(b, out, 0)
	if reason != "" {
		return nil, errors.New("msgpack library output: " + reason)
	}
	return b, nil
}

// appendJSForm appends the item at b[i] as notepack.io would write the value
// JavaScript decodes from it: integers and integral floats in the smallest
// integer form, other floats as float64, minimal headers, msgpack timestamps
// as Dates, and map keys as strings. Other extension items are copied.
func appendJSForm(dst, b []byte, i int) ([]byte, int, string) {
	h, reason := readHead(b, i)
	if reason != "" {
		return nil, 0, reason
	}
	end := h.end()
	switch h.kind {
	case mpNil:
		return append(dst, 0xc0), end, ""
	case mpBool:
		return appendMsgpackBool(dst, h.b), end, ""
	case mpInt:
		return appendJSInt(dst, h.i), end, ""
	case mpUint:
		return appendJSUint(dst, h.u), end, ""
	case mpFloat:
		return appendJSFloat(dst, h.f), end, ""
	case mpStr:
		return append(appendStrHeader(dst, h.n), b[h.body:end]...), end, ""
	case mpBin:
		if h.binFromExt {
			return append(dst, b[i:end]...), end, ""
		}
		return append(appendBinHeader(dst, h.n), b[h.body:end]...), end, ""
	case mpExt:
		if ms, ok := timestampMillis(h.ext, b[h.body:end]); ok {
			return appendDate(dst, ms), end, ""
		}
		return append(dst, b[i:end]...), end, ""
	case mpUndefined, mpDate:
		return append(dst, b[i:end]...), end, ""
	case mpArray:
		dst = appendArrayHeader(dst, h.n)
	case mpMap:
		dst = appendMapHeader(dst, h.n)
	}
	pos := h.body
	for k := 0; k < h.n; k++ {
		if h.kind == mpMap {
			kh, reason := readHead(b, pos)
			if reason != "" {
				return nil, 0, reason
			}
			if kh.kind == mpStr {
				dst = append(appendStrHeader(dst, kh.n), b[kh.body:kh.end()]...)
			} else {
				key := appendKeyString(nil, b, &kh)
				dst = append(appendStrHeader(dst, len(key)), key...)
			}
			pos = kh.end()
		}
		if dst, pos, reason = appendJSForm(dst, b, pos); reason != "" {
			return nil, 0, reason
		}
	}
	return dst, pos, ""
}

// timestampMillis decodes a msgpack timestamp extension (type -1) into
// milliseconds since the epoch.
func timestampMillis(ext int8, p []byte) (int64, bool) {
	if ext != -1 {
		return 0, false
	}
	var sec int64
	var nsec uint32
	switch len(p) {
	case 4:
		sec = int64(binary.BigEndian.Uint32(p))
	case 8:
		v := binary.BigEndian.Uint64(p)
		nsec, sec = uint32(v>>34), int64(v&(1<<34-1))
	case 12:
		nsec, sec = binary.BigEndian.Uint32(p), int64(binary.BigEndian.Uint64(p[4:]))
	default:
		return 0, false
	}
	return time.Unix(sec, int64(nsec)).UnixMilli(), true
}

func appendMsgpackBool(b []byte, v bool) []byte {
	if v {
		return append(b, 0xc3)
	}
	return append(b, 0xc2)
}

func appendMsgpackString(b []byte, s string) []byte {
	return append(appendStrHeader(b, len(s)), s...)
}

// appendDate appends a JavaScript Date as notepack.io writes it: fixext 8 of
// type 0 holding the milliseconds as a big-endian int64.
func appendDate(b []byte, ms int64) []byte {
	return binary.BigEndian.AppendUint64(append(b, 0xd7, 0x00), uint64(ms))
}

// appendJSInt appends v in the smallest msgpack integer form, choosing the
// unsigned forms for non-negative values as notepack.io does.
func appendJSInt(b []byte, v int64) []byte {
	switch {
	case v >= 0:
		return appendJSUint(b, uint64(v))
	case v >= -32:
		return append(b, byte(v))
	case v >= math.MinInt8:
		return append(b, 0xd0, byte(v))
	case v >= math.MinInt16:
		return binary.BigEndian.AppendUint16(append(b, 0xd1), uint16(v))
	case v >= math.MinInt32:
		return binary.BigEndian.AppendUint32(append(b, 0xd2), uint32(v))
	}
	return binary.BigEndian.AppendUint64(append(b, 0xd3), uint64(v))
}

// appendJSUint appends v in the smallest unsigned msgpack integer form.
func appendJSUint(b []byte, v uint64) []byte {
	switch {
	case v < 0x80:
		return append(b, byte(v))
	case v <= math.MaxUint8:
		return append(b, 0xcc, byte(v))
	case v <= math.MaxUint16:
		return binary.BigEndian.AppendUint16(append(b, 0xcd), uint16(v))
	case v <= math.MaxUint32:
		return binary.BigEndian.AppendUint32(append(b, 0xce), uint32(v))
	}
	return binary.BigEndian.AppendUint64(append(b, 0xcf), v)
}

// appendJSFloat appends f as notepack.io writes a JavaScript number: as an
// integer when it has no fractional part (and fits 64 bits), otherwise as a
// float64. NaN is written in JavaScript's canonical bit pattern.
func appendJSFloat(b []byte, f float64) []byte {
	switch {
	case math.IsNaN(f):
		return binary.BigEndian.AppendUint64(append(b, 0xcb), 0x7ff8000000000000)
	case f != math.Trunc(f) || math.IsInf(f, 0):
	case f >= math.MinInt64 && f < math.MaxInt64:
		return appendJSInt(b, int64(f))
	case f >= 0 && f < math.MaxUint64:
		return appendJSUint(b, uint64(f))
	}
	return binary.BigEndian.AppendUint64(append(b, 0xcb), math.Float64bits(f))
}

func appendStrHeader(b []byte, n int) []byte {
	switch {
	case n < 32:
		return append(b, 0xa0|byte(n))
	case n <= math.MaxUint8:
		return append(b, 0xd9, byte(n))
	case n <= math.MaxUint16:
		return binary.BigEndian.AppendUint16(append(b, 0xda), uint16(n))
	}
	return binary.BigEndian.AppendUint32(append(b, 0xdb), uint32(n))
}

func appendBinHeader(b []byte, n int) []byte {
	switch {
	case n <= math.MaxUint8:
		return append(b, 0xc4, byte(n))
	case n <= math.MaxUint16:
		return binary.BigEndian.AppendUint16(append(b, 0xc5), uint16(n))
	}
	return binary.BigEndian.AppendUint32(append(b, 0xc6), uint32(n))
}

func appendArrayHeader(b []byte, n int) []byte {
	switch {
	case n < 16:
		return append(b, 0x90|byte(n))
	case n <= math.MaxUint16:
		return binary.BigEndian.AppendUint16(append(b, 0xdc), uint16(n))
	}
	return binary.BigEndian.AppendUint32(append(b, 0xdd), uint32(n))
}

func appendMapHeader(b []byte, n int) []byte {
	switch {
	case n < 16:
		return append(b, 0x80|byte(n))
	case n <= math.MaxUint16:
		return binary.BigEndian.AppendUint16(append(b, 0xde), uint16(n))
	}
	return binary.BigEndian.AppendUint32(append(b, 0xdf), uint32(n))
}

// checkNesting walks what the msgpack library will encode of v and returns
// errTooDeep when it nests deeper than maxDepth, which is how a cyclic value
// shows. Like the library, it skips unexported fields and fields tagged
// "-", and does not look inside types that encode themselves.
func checkNesting(v reflect.Value, depth int) error {
	if depth > maxDepth {
		return errTooDeep
	}
	if !v.IsValid() {
		return nil
	}
	t := v.Type()
	if t.Implements(customEncoderType) || t.Implements(marshalerType) ||
		t.Implements(binaryMarshalerType) || t.Implements(textMarshalerType) {
		return nil
	}
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return nil
		}
		return checkNesting(v.Elem(), depth+1)
	case reflect.Slice, reflect.Array:
		switch t.Elem().Kind() {
		case reflect.Pointer, reflect.Interface, reflect.Struct, reflect.Slice, reflect.Array, reflect.Map:
			for k := 0; k < v.Len(); k++ {
				if err := checkNesting(v.Index(k), depth+1); err != nil {
					return err
				}
			}
		}
	case reflect.Map:
		iter := v.MapRange()
		for iter.Next() {
			if err := checkNesting(iter.Value(), depth+1); err != nil {
				return err
			}
		}
	case reflect.Struct:
		for k := 0; k < t.NumField(); k++ {
			f := t.Field(k)
			if !f.IsExported() && !f.Anonymous {
				continue
			}
			tag := f.Tag.Get("msgpack")
			if tag == "" {
				tag = f.Tag.Get("json")
			}
			if tag == "-" {
				continue
			}
			if err := checkNesting(v.Field(k), depth+1); err != nil {
				return err
			}
		}
	}
	return nil
}
