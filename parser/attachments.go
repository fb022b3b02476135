package parser

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"math/rand/v2"
	"reflect"
	"strconv"
	"strings"
	"time"
)

// This file finds binary data and times inside values that the JSON codec
// hands to encoding/json (structs, typed slices and maps, pointers), so that
// binary travels as attachments, as socket.io-parser sends Buffers found
// anywhere in the arguments, and times are written as JSON.stringify writes
// a Date.
//
// encoding/json decides the field names, omitempty and the order of keys,
// and it would write a []byte as a base64 string and a time.Time in RFC 3339
// with nanoseconds and a zone offset. So the value is copied with every
// []byte and time.Time it would write replaced by a unique marker; the copy
// is marshalled, and each marker in the output is swapped for what it
// stands for: a placeholder whose bytes become the next attachment, or the
// JavaScript form of the time. Numbering follows the output, which is the
// depth-first order socket.io-parser uses.
//
// Binary and times are found in exported struct fields (embedded structs
// included), slice and array elements, map values, pointers and interfaces.
// They are not found inside types with their own MarshalJSON or
// MarshalText (a struct embedding time.Time is one), nor in exported fields
// of unexported embedded structs, which encoding/json still writes its own
// way.

var (
	jsonMarshalerType = reflect.TypeFor[json.Marshaler]()
	jsonRawType       = reflect.TypeFor[*jsonRaw]()
	msgpackRawType    = reflect.TypeFor[*msgpackRaw]()
	timeType          = reflect.TypeFor[time.Time]()
)

// appendFallback appends v marshalled by encoding/json, with its binary
// data and times written as the encoder writes them.
func (e *jsonEncoder) appendFallback(b []byte, v any) ([]byte, error) {
	rv := reflect.ValueOf(v)
	if e.c.holdsMarkable(rv.Type()) {
		m := marker{c: e.c, binary: e.binary}
		cp, changed, err := m.copyValue(rv, 0)
		if err != nil {
			return nil, err
		}
		if changed {
			out, err := marshalJSON(cp.Interface())
			if err != nil {
				return nil, err
			}
			return e.appendMarked(b, out, &m), nil
		}
	}
	return appendMarshalJSON(b, v)
}

// appendMarked appends out with every marker replaced by what it stands
// for.
func (e *jsonEncoder) appendMarked(b, out []byte, m *marker) []byte {
	if len(m.dates) > 0 {
		out = m.replaceDates(out)
	}
	if m.prefix == "" {
		return append(b, out...)
	}
	pat := []byte(`"` + m.prefix)
	pos := 0
	for {
		k := bytes.Index(out[pos:], pat)
		if k < 0 {
			break
		}
		at := pos + k
		tail := out[at+len(pat):]
		var idx [3]byte
		if len(tail) >= 5 && tail[4] == '"' {
			if n, err := base64.StdEncoding.Decode(idx[:], tail[:4]); err == nil && n == 3 {
				if i := int(idx[0])<<16 | int(idx[1])<<8 | int(idx[2]); i < len(m.bufs) {
					b = append(b, out[pos:at]...)
					b = e.appendBinary(b, m.bufs[i])
					pos = at + len(pat) + 5
					continue
				}
			}
		}
		b = append(b, out[pos:at+1]...)
		pos = at + 1
	}
	return append(b, out[pos:]...)
}

// marker replaces binary data and times in a copy of a value with markers.
//
// A binary marker is a random 9-byte nonce shared by one call, then a
// 3-byte index. In base64 it is 16 characters, the first 12 of them the
// same for the whole call.
//
// A time marker is the time dateBase+i seconds after the epoch, plus
// dateNanos nanoseconds, for index i: encoding/json writes it in UTC with
// nine fraction digits (dateNanos never ends in 0), which are the same for
// the whole call, as are most of the date.
type marker struct {
	c      *jsonCodec // the encoder's codec, or nil
	binary binaryForm // the encoder's
	nonce  [9]byte
	prefix string   // base64 of nonce, set by the first mark
	bufs   [][]byte // the binary data, copied, by index

	dateBase  int64       // seconds after the epoch, below 1<<37 (year 6325)
	dateNanos int64       // in [1, 1e9), not a multiple of 10
	dates     []time.Time // the times, by index
}

// maxMarks bounds the binary values, and the times, of one call.
const maxMarks = 1 << 24

var errTooManyBinaries = errors.New("too many binary values")

var errTooManyTimes = errors.New("too many time values")

func (m *marker) mark(p []byte) ([]byte, error) {
	if m.prefix == "" {
		for k := range m.nonce {
			m.nonce[k] = byte(rand.Uint32())
		}
		m.prefix = base64.StdEncoding.EncodeToString(m.nonce[:])
	}
	i := len(m.bufs)
	if i >= maxMarks {
		return nil, errTooManyBinaries
	}
	m.bufs = append(m.bufs, bytes.Clone(p))
	return append(m.nonce[:len(m.nonce):len(m.nonce)], byte(i>>16), byte(i>>8), byte(i)), nil
}

// markDate returns the marker time standing for t.
func (m *marker) markDate(t time.Time) (time.Time, error) {
	if m.dateNanos == 0 {
		m.dateBase = rand.Int64N(1 << 37)
		m.dateNanos = rand.Int64N(1e8)*10 + 1 + rand.Int64N(9)
	}
	i := len(m.dates)
	if i >= maxMarks {
		return time.Time{}, errTooManyTimes
	}
	m.dates = append(m.dates, t)
	return time.Unix(m.dateBase+int64(i), m.dateNanos).UTC(), nil
}

// replaceDates returns out with each time marker, as encoding/json writes
// it ("2006-01-02T15:04:05.123456789Z", quotes included), replaced by the
// time it stands for as JSON.stringify writes a Date.
func (m *marker) replaceDates(out []byte) []byte {
	// The fraction and the closing quote, then the 20 characters before it.
	tail := []byte("." + strconv.FormatInt(1e9+m.dateNanos, 10)[1:] + `Z"`)
	const head = len(`"2006-01-02T15:04:05`)
	dst := make([]byte, 0, len(out))
	pos := 0
	for {
		k := bytes.Index(out[pos:], tail)
		if k < 0 {
			break
		}
		at := pos + k
		if at-head >= pos && out[at-head] == '"' {
			if t, err := time.Parse("2006-01-02T15:04:05", string(out[at-head+1:at])); err == nil {
				if i := t.Unix() - m.dateBase; i >= 0 && i < int64(len(m.dates)) {
					dst = append(dst, out[pos:at-head]...)
					dst = appendJSONDate(dst, m.dates[i])
					pos = at + len(tail)
					continue
				}
			}
		}
		dst = append(dst, out[pos:at+1]...)
		pos = at + 1
	}
	return append(dst, out[pos:]...)
}

// copyValue returns v, or a copy of it with binary data replaced by markers
// and changed set.
func (m *marker) copyValue(v reflect.Value, depth int) (reflect.Value, bool, error) {
	if depth > maxDepth {
		return v, false, errTooDeep
	}
	if !v.IsValid() || !v.CanInterface() {
		return v, false, nil
	}
	t := v.Type()
	switch t {
	case jsonRawType, msgpackRawType:
		return m.copyRaw(v)
	case timeType:
		mk, err := m.markDate(v.Interface().(time.Time))
		if err != nil {
			return v, false, err
		}
		return reflect.ValueOf(mk), true, nil
	}
	if v.Kind() != reflect.Pointer && isJSONMarshaler(t) {
		return v, false, nil // a pointer is looked at through its element
	}
	switch v.Kind() {
	case reflect.Interface, reflect.Pointer:
		if v.IsNil() {
			return v, false, nil
		}
		ev, changed, err := m.copyValue(v.Elem(), depth+1)
		if err != nil || !changed {
			return v, false, err
		}
		if v.Kind() == reflect.Interface {
			if !ev.Type().AssignableTo(t) {
				return v, false, nil
			}
			nv := reflect.New(t).Elem()
			nv.Set(ev)
			return nv, true, nil
		}
		if ev.Type() != t.Elem() {
			return v, false, nil
		}
		p := reflect.New(t.Elem())
		p.Elem().Set(ev)
		return p, true, nil
	case reflect.Slice:
		if v.IsNil() {
			return v, false, nil
		}
		if isByteSlice(t) {
			if m.binary == binaryBase64 {
				return v, false, nil
			}
			mk, err := m.mark(v.Bytes())
			if err != nil {
				return v, false, err
			}
			nv := reflect.MakeSlice(t, len(mk), len(mk))
			reflect.Copy(nv, reflect.ValueOf(string(mk)))
			return nv, true, nil
		}
		return m.copyElems(v, depth, func() reflect.Value {
			nv := reflect.MakeSlice(t, v.Len(), v.Len())
			reflect.Copy(nv, v)
			return nv
		})
	case reflect.Array:
		return m.copyElems(v, depth, func() reflect.Value {
			nv := reflect.New(t).Elem()
			nv.Set(v)
			return nv
		})
	case reflect.Map:
		if v.IsNil() || !m.c.holdsMarkable(t.Elem()) {
			return v, false, nil
		}
		var changedKeys, changedVals []reflect.Value
		iter := v.MapRange()
		for iter.Next() {
			ev, changed, err := m.copyValue(iter.Value(), depth+1)
			if err != nil {
				return v, false, err
			}
			if changed {
				changedKeys = append(changedKeys, iter.Key())
				changedVals = append(changedVals, ev)
			}
		}
		if len(changedKeys) == 0 {
			return v, false, nil
		}
		nv := reflect.MakeMapWithSize(t, v.Len())
		iter = v.MapRange()
		for iter.Next() {
			nv.SetMapIndex(iter.Key(), iter.Value())
		}
		for k := range changedKeys {
			nv.SetMapIndex(changedKeys[k], changedVals[k])
		}
		return nv, true, nil
	case reflect.Struct:
		return m.copyStruct(v, depth)
	}
	return v, false, nil
}

// copyElems copies the elements of a slice or array, creating the copy with
// fresh only when an element changes.
func (m *marker) copyElems(v reflect.Value, depth int, fresh func() reflect.Value) (reflect.Value, bool, error) {
	if !m.c.holdsMarkable(v.Type().Elem()) {
		return v, false, nil
	}
	var nv reflect.Value
	for k := 0; k < v.Len(); k++ {
		ev, changed, err := m.copyValue(v.Index(k), depth+1)
		if err != nil {
			return v, false, err
		}
		if !changed {
			continue
		}
		if !nv.IsValid() {
			nv = fresh()
		}
		nv.Index(k).Set(ev)
	}
	if !nv.IsValid() {
		return v, false, nil
	}
	return nv, true, nil
}

// copyStruct copies the fields encoding/json writes. A []byte field tagged
// omitempty and empty is left alone, since encoding/json omits it.
func (m *marker) copyStruct(v reflect.Value, depth int) (reflect.Value, bool, error) {
	t := v.Type()
	var nv reflect.Value
	for k := 0; k < t.NumField(); k++ {
		f := t.Field(k)
		if !f.IsExported() && !f.Anonymous {
			continue
		}
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		fv := v.Field(k)
		if isByteSlice(f.Type) && fv.Len() == 0 && hasOption(tag, "omitempty") {
			continue
		}
		if hasOption(tag, "omitzero") && isZeroField(fv) {
			continue // encoding/json leaves it out; a marker would not be zero
		}
		ev, changed, err := m.copyValue(fv, depth+1)
		if err != nil {
			return v, false, err
		}
		if !changed {
			continue
		}
		if !nv.IsValid() {
			nv = reflect.New(t).Elem()
			nv.Set(v)
		}
		if dst := nv.Field(k); dst.CanSet() && ev.Type().AssignableTo(dst.Type()) {
			dst.Set(ev)
		}
	}
	if !nv.IsValid() {
		return v, false, nil
	}
	return nv, true, nil
}

// copyRaw turns a Raw of either codec into a *jsonRaw whose text has
// markers where its binary data was. Without binary, a Raw from this codec
// is left to its MarshalJSON, and a msgpack one is written out once.
func (m *marker) copyRaw(v reflect.Value) (reflect.Value, bool, error) {
	if v.IsNil() || m.binary == binaryBase64 {
		return v, false, nil // the Raw's own MarshalJSON writes it
	}
	jr, ok := v.Interface().(*jsonRaw)
	if !ok {
		var x any
		if err := v.Interface().(Raw).Decode(&x); err != nil {
			return v, false, err
		}
		sub := jsonEncoder{c: m.c}
		b, err := sub.appendValue(nil, x, 1)
		if err != nil {
			return v, false, err
		}
		jr = newJSONRaw(b, sub.atts)
		if sub.atts == nil {
			return reflect.ValueOf(jr), true, nil
		}
	}
	atts := jr.atts()
	if atts == nil {
		return v, false, nil
	}
	var err error
	out, _ := jsonRewrite(nil, jr.text(), 0, len(atts), 1, func(dst []byte, k int) []byte {
		mk, e := m.mark(atts[k])
		if e != nil {
			err = e
			return append(dst, "null"...)
		}
		dst = append(dst, '"')
		dst = base64.StdEncoding.AppendEncode(dst, mk)
		return append(dst, '"')
	})
	if err != nil {
		return v, false, err
	}
	return reflect.ValueOf(newJSONRaw(out, nil)), true, nil
}

// isZeroField reports whether encoding/json sees the field value v as zero
// for its omitzero option: by the value's IsZero method when it has one,
// and otherwise by reflect's.
func isZeroField(v reflect.Value) bool {
	if v.CanInterface() {
		if z, ok := v.Interface().(interface{ IsZero() bool }); ok {
			if v.Kind() == reflect.Pointer && v.IsNil() {
				return true
			}
			return z.IsZero()
		}
	}
	return v.IsZero()
}

// hasOption reports whether a json struct tag lists option.
func hasOption(tag, option string) bool {
	_, opts, _ := strings.Cut(tag, ",")
	for opts != "" {
		var o string
		o, opts, _ = strings.Cut(opts, ",")
		if o == option {
			return true
		}
	}
	return false
}

// isJSONMarshaler reports whether encoding/json may hand values of t to
// their own MarshalJSON or MarshalText.
func isJSONMarshaler(t reflect.Type) bool {
	if t.Implements(jsonMarshalerType) || t.Implements(textMarshalerType) {
		return true
	}
	if t.Kind() != reflect.Pointer && t.Kind() != reflect.Interface {
		p := reflect.PointerTo(t)
		return p.Implements(jsonMarshalerType) || p.Implements(textMarshalerType)
	}
	return false
}

// isByteSlice reports whether encoding/json writes t as a base64 string.
func isByteSlice(t reflect.Type) bool {
	return t.Kind() == reflect.Slice && t.Elem().Kind() == reflect.Uint8 && !isJSONMarshaler(t.Elem())
}

// holdsMarkable reports whether values of type t may hold binary data or
// times that encoding/json would write, remembering the answer per type
// in c. A nil c remembers nothing.
func (c *jsonCodec) holdsMarkable(t reflect.Type) bool {
	if c == nil {
		return holdsMarkableType(t, map[reflect.Type]bool{})
	}
	if v, ok := c.markableTypes.Load(t); ok {
		return v.(bool)
	}
	r := holdsMarkableType(t, map[reflect.Type]bool{})
	c.markableTypes.Store(t, r)
	return r
}

func holdsMarkableType(t reflect.Type, seen map[reflect.Type]bool) bool {
	if t == jsonRawType || t == msgpackRawType || t == timeType {
		return true
	}
	if seen[t] || (t.Kind() != reflect.Pointer && isJSONMarshaler(t)) {
		return false
	}
	seen[t] = true
	switch t.Kind() {
	case reflect.Interface:
		return true
	case reflect.Slice:
		return isByteSlice(t) || holdsMarkableType(t.Elem(), seen)
	case reflect.Pointer, reflect.Array, reflect.Map:
		return holdsMarkableType(t.Elem(), seen)
	case reflect.Struct:
		for k := 0; k < t.NumField(); k++ {
			if f := t.Field(k); (f.IsExported() || f.Anonymous) && holdsMarkableType(f.Type, seen) {
				return true
			}
		}
	}
	return false
}
