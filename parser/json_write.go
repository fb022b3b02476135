package parser

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Encode implements Codec. It returns one text Frame, followed by one binary
// Frame per attachment when the arguments hold binary data.
func (c *jsonCodec) Encode(p *Packet) ([]Frame, error) {
	cp, err := checkPacket(nameJSON, p)
	if err != nil {
		return nil, err
	}
	if strings.IndexByte(cp.nsp, ',') >= 0 {
		return nil, encodeError(nameJSON, "namespace must not contain a comma", nil)
	}
	e := jsonEncoder{c: c}
	b := make([]byte, 0, jsonSizeHint(p))
	b = append(b, '0'+byte(cp.typ))
	if cp.nsp != "/" {
		b = append(append(b, cp.nsp...), ',')
	}
	if p.HasID {
		b = strconv.AppendUint(b, p.ID, 10)
	}
	switch cp.typ {
	case Connect, ConnectError:
		if p.Payload == nil {
			break
		}
		off := len(b)
		if b, err = e.appendValue(b, p.Payload, 1); err != nil {
			return nil, encodeError(nameJSON, "cannot encode payload", err)
		}
		if len(e.atts) > 0 {
			return nil, encodeError(nameJSON, cp.typ.String()+" payload holds binary data: only EVENT and ACK carry attachments", nil)
		}
		if cp.typ == Connect && b[off] != '{' {
			return nil, encodeError(nameJSON, "CONNECT payload must encode to an object", nil)
		}
		if cp.typ == ConnectError && b[off] != '{' && b[off] != '"' {
			return nil, encodeError(nameJSON, "CONNECT_ERROR payload must encode to an object or a string", nil)
		}
	case Event, Ack:
		b = append(b, '[')
		for k, a := range p.Args {
			if k > 0 {
				b = append(b, ',')
			}
			if b, err = e.appendValue(b, a, 1); err != nil {
				return nil, encodeError(nameJSON, "cannot encode argument", err)
			}
		}
		b = append(b, ']')
	}
	if len(e.atts) == 0 {
		return []Frame{{Data: b}}, nil
	}
	if len(e.atts) > maxAttachments {
		return nil, encodeError(nameJSON, "more than 10 binary attachments: socket.io-parser refuses them", nil)
	}
	// A BINARY_EVENT or BINARY_ACK: type 5 or 6, then "<n>-".
	b[0] += byte(BinaryEvent - Event)
	b = slices.Insert(b, 1, append(strconv.AppendInt(nil, int64(len(e.atts)), 10), '-')...)
	frames := make([]Frame, 0, 1+len(e.atts))
	frames = append(frames, Frame{Data: b})
	for _, a := range e.atts {
		frames = append(frames, Frame{Data: a, Binary: true})
	}
	return frames, nil
}

// jsonSizeHint returns a capacity for the text of p: its header, and its
// arguments where their size is known in advance (strings and this codec's
// Raw values), so that relaying a long argument does not grow the buffer.
func jsonSizeHint(p *Packet) int {
	n := 24 + len(p.Namespace) // type, namespace, comma, id, brackets
	for _, a := range p.Args {
		switch x := a.(type) {
		case string:
			n += len(x) + 3 // quotes and a comma; escapes may need more
		case *jsonRaw:
			if x != nil {
				n += int(x.end-x.off) + 1
			}
		default:
			n += 16
		}
	}
	return n
}

// jsonEncoder writes the JSON of one packet, or of one value, and collects
// the attachments of a packet.
type jsonEncoder struct {
	c      *jsonCodec // for its cache of types; nil without a codec
	binary binaryForm
	atts   [][]byte
}

// binaryForm is how a jsonEncoder writes binary data.
type binaryForm uint8

const (
	// binaryAttachment writes a placeholder, as socket.io-parser does, and
	// keeps the bytes as the packet's next attachment.
	binaryAttachment binaryForm = iota
	// binaryBase64 writes a base64 string, as encoding/json writes a
	// []byte.
	binaryBase64
	// binaryBuffer writes {"type":"Buffer","data":[1,2,3]}, as
	// JSON.stringify writes a Node Buffer.
	binaryBuffer
)

// appendBinary appends data in the encoder's binary form. An attachment
// keeps data: the caller passes bytes that nothing modifies.
func (e *jsonEncoder) appendBinary(b, data []byte) []byte {
	switch e.binary {
	case binaryBase64:
		b = append(b, '"')
		b = base64.StdEncoding.AppendEncode(b, data)
		return append(b, '"')
	case binaryBuffer:
		b = append(b, `{"type":"Buffer","data":[`...)
		for k, c := range data {
			if k > 0 {
				b = append(b, ',')
			}
			b = strconv.AppendUint(b, uint64(c), 10)
		}
		return append(b, "]}"...)
	}
	return e.appendPlaceholder(b, data)
}

// appendValue appends v as JSON.stringify would write the equivalent
// JavaScript value, with each []byte replaced by a placeholder. The common
// dynamic types are written directly; anything else goes through
// encoding/json (see appendFallback).
func (e *jsonEncoder) appendValue(b []byte, v any, depth int) ([]byte, error) {
	if depth > maxDepth {
		return nil, errTooDeep
	}
	var err error
	switch x := v.(type) {
	case nil:
		return append(b, "null"...), nil
	case bool:
		return strconv.AppendBool(b, x), nil
	case string:
		return appendJSONString(b, x), nil
	case int:
		return strconv.AppendInt(b, int64(x), 10), nil
	case int8:
		return strconv.AppendInt(b, int64(x), 10), nil
	case int16:
		return strconv.AppendInt(b, int64(x), 10), nil
	case int32:
		return strconv.AppendInt(b, int64(x), 10), nil
	case int64:
		return strconv.AppendInt(b, x, 10), nil
	case uint:
		return strconv.AppendUint(b, uint64(x), 10), nil
	case uint8:
		return strconv.AppendUint(b, uint64(x), 10), nil
	case uint16:
		return strconv.AppendUint(b, uint64(x), 10), nil
	case uint32:
		return strconv.AppendUint(b, uint64(x), 10), nil
	case uint64:
		return strconv.AppendUint(b, x, 10), nil
	case float32:
		return appendJSONFloat(b, float64(x), 32), nil
	case float64:
		return appendJSONFloat(b, x, 64), nil
	case time.Time:
		return appendJSONDate(b, x), nil
	case *time.Time:
		if x == nil {
			return append(b, "null"...), nil
		}
		return appendJSONDate(b, *x), nil
	case []byte:
		if x == nil {
			return append(b, "null"...), nil
		}
		if e.binary == binaryAttachment {
			x = bytes.Clone(x)
		}
		return e.appendBinary(b, x), nil
	case []any:
		if x == nil {
			return append(b, "null"...), nil
		}
		b = append(b, '[')
		for k, el := range x {
			if k > 0 {
				b = append(b, ',')
			}
			if b, err = e.appendValue(b, el, depth+1); err != nil {
				return nil, err
			}
		}
		return append(b, ']'), nil
	case map[string]any:
		if x == nil {
			return append(b, "null"...), nil
		}
		b = append(b, '{')
		for k, key := range sortedKeys(x) {
			if k > 0 {
				b = append(b, ',')
			}
			b = append(appendJSONString(b, key), ':')
			if b, err = e.appendValue(b, x[key], depth+1); err != nil {
				return nil, err
			}
		}
		return append(b, '}'), nil
	case *jsonRaw:
		if x == nil {
			return append(b, "null"...), nil
		}
		atts := x.atts()
		if atts == nil {
			return append(b, x.text()...), nil
		}
		b, _ = jsonRewrite(b, x.text(), 0, len(atts), 1, func(dst []byte, k int) []byte {
			return e.appendBinary(dst, atts[k]) // decoder-owned, never modified
		})
		return b, nil
	case Raw:
		var decoded any
		if err := x.Decode(&decoded); err != nil {
			return nil, err
		}
		return e.appendValue(b, decoded, depth+1)
	}
	return e.appendFallback(b, v)
}

// appendPlaceholder records data as the next attachment and appends its
// placeholder, keys in the order socket.io-parser writes them.
func (e *jsonEncoder) appendPlaceholder(b, data []byte) []byte {
	b = append(b, `{"_placeholder":true,"num":`...)
	b = strconv.AppendInt(b, int64(len(e.atts)), 10)
	e.atts = append(e.atts, data)
	return append(b, '}')
}

// appendJSONFloat appends f as JSON.stringify does: null for NaN and the
// infinities, JavaScript's number formatting otherwise.
func appendJSONFloat(b []byte, f float64, bits int) []byte {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return append(b, "null"...)
	}
	return appendJSNumber(b, f, bits)
}

// maxJSDateMillis is the distance from the epoch, in milliseconds, beyond
// which JavaScript has no valid Date (ECMA-262 TimeClip).
const maxJSDateMillis = 8.64e15

// appendJSONDate appends t as JSON.stringify writes the JavaScript Date of
// the same millisecond (time.Time.UnixMilli, as the msgpack codec writes
// it): an ISO string in UTC with three fraction digits and a "Z", such as
// "2026-12-07T06:00:00.123Z". Years 0 to 9999 take four digits; the others
// a sign and six digits, as in "+275760-09-13T00:00:00.000Z". A time beyond
// JavaScript's range of ±8.64e15 ms, which a JavaScript Date cannot hold,
// is written as null, as JSON.stringify writes an invalid Date.
func appendJSONDate(b []byte, t time.Time) []byte {
	const maxSeconds = maxJSDateMillis / 1000
	if s := t.Unix(); s < -maxSeconds-1 || s > maxSeconds {
		return append(b, "null"...) // also keeps UnixMilli from overflowing
	}
	ms := t.UnixMilli()
	if ms < -maxJSDateMillis || ms > maxJSDateMillis {
		return append(b, "null"...)
	}
	u := time.UnixMilli(ms).UTC()
	b = append(b, '"')
	switch year := u.Year(); {
	case year >= 0 && year <= 9999:
		b = appendDigits(b, year, 4)
	case year < 0:
		b = appendDigits(append(b, '-'), -year, 6)
	default:
		b = appendDigits(append(b, '+'), year, 6)
	}
	b = appendDigits(append(b, '-'), int(u.Month()), 2)
	b = appendDigits(append(b, '-'), u.Day(), 2)
	b = appendDigits(append(b, 'T'), u.Hour(), 2)
	b = appendDigits(append(b, ':'), u.Minute(), 2)
	b = appendDigits(append(b, ':'), u.Second(), 2)
	b = appendDigits(append(b, '.'), u.Nanosecond()/1e6, 3)
	return append(b, 'Z', '"')
}

// appendDigits appends the non-negative n in decimal, zero-padded to width.
func appendDigits(b []byte, n, width int) []byte {
	var buf [20]byte
	i := len(buf)
	for n > 0 || i > len(buf)-width {
		i--
		buf[i] = byte('0' + n%10)
		n /= 10
	}
	return append(b, buf[i:]...)
}

const hexDigits = "0123456789abcdef"

// appendJSONString appends s quoted as JSON.stringify quotes a string: only
// '"', '\\' and control characters are escaped, using the short forms \b,
// \f, \n, \r, \t where they exist. Invalid UTF-8 becomes U+FFFD.
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		// Skip eight plain ASCII bytes at a time.
		for len(s)-i >= 8 {
			if w := stringLanes(s, i); jsonSpecialBytes(w)|w&lanes80 != 0 {
				break
			}
			i += 8
		}
		if i >= len(s) {
			break
		}
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, "\ufffd"...)
			i++
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// stringLanes returns s[i:i+8] as a little-endian uint64.
func stringLanes(s string, i int) uint64 {
	s = s[i : i+8]
	return uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
		uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56
}

// marshalJSON is json.Marshal without HTML escaping, closer to what
// JSON.stringify writes.
func marshalJSON(v any) ([]byte, error) {
	return appendMarshalJSON(nil, v)
}

// appendMarshalJSON appends what marshalJSON returns to b.
func appendMarshalJSON(b []byte, v any) ([]byte, error) {
	w := appendWriter{b: b}
	enc := json.NewEncoder(&w)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(w.b, []byte{'\n'}), nil
}

// appendWriter is an io.Writer appending to b.
type appendWriter struct{ b []byte }

func (w *appendWriter) Write(p []byte) (int, error) {
	w.b = append(w.b, p...)
	return len(p), nil
}
