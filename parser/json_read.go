package parser

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"strconv"
)

// maxAttachments is socket.io-parser's default maxAttachments: a binary
// packet announcing more is rejected, and Encode refuses to produce one.
const maxAttachments = 10

// jsonDecoder decodes one connection's messages for the JSON codec. A
// BINARY_EVENT or BINARY_ACK is held until its attachments have arrived.
type jsonDecoder struct {
	lim     Limits // defaults applied
	err     error
	pending *Message    // the binary packet awaiting attachments, or nil
	pkt     *jsonPacket // its data, which receives the attachments
	want    int         // number of attachments announced
	atts    [][]byte    // attachments received so far
}

// Decode implements Decoder.
func (d *jsonDecoder) Decode(data []byte, binary bool) (*Message, error) {
	if d.err != nil {
		return nil, decodeError(nameJSON, "decoder already failed", d.err)
	}
	m, err := d.decode(data, binary)
	if err != nil {
		d.err = err
		d.pending, d.pkt, d.atts = nil, nil, nil
		return nil, err
	}
	return m, nil
}

func (d *jsonDecoder) decode(data []byte, binary bool) (*Message, error) {
	if tooLong(data) {
		return nil, decodeError(nameJSON, "message of 4 GiB or more", nil)
	}
	if binary {
		if d.pending == nil {
			return nil, decodeError(nameJSON, "binary message while no attachment is expected", nil)
		}
		d.atts = append(d.atts, bytes.Clone(data))
		if len(d.atts) < d.want {
			return nil, nil
		}
		m, pkt, atts := d.pending, d.pkt, d.atts
		d.pending, d.pkt, d.atts, d.want = nil, nil, nil, 0
		end, _, ok := checkPlaceholders(pkt.text, 0, len(atts), 1)
		if !ok || end != len(pkt.text) {
			return nil, decodeError(nameJSON, "illegal attachments: placeholder num out of range", nil)
		}
		pkt.atts = atts
		return m, nil
	}
	if d.pending != nil {
		return nil, decodeError(nameJSON, fmt.Sprintf("text message while %d binary attachments are expected", d.want-len(d.atts)), nil)
	}
	m, pkt, n, reason := decodeJSONText(data, &d.lim)
	if reason != "" {
		return nil, decodeError(nameJSON, reason, nil)
	}
	if n > 0 {
		d.pending, d.pkt, d.want = m, pkt, n
		d.atts = make([][]byte, 0, n)
		return nil, nil
	}
	return m, nil
}

// decodeJSONText parses and validates one text message as socket.io-parser
// does:
//
//	<type>[<attachments>-][<nsp>,][<id>][<JSON>]
//
// It returns the message, its data, and the number of attachments to wait
// for. Digits are plain decimal; the namespace runs to the first comma or
// the end of the message. The whole message is validated, within lim,
// before anything is copied from it.
func decodeJSONText(s []byte, lim *Limits) (*Message, *jsonPacket, int, string) {
	if len(s) == 0 {
		return nil, nil, 0, "empty message"
	}
	if s[0] < '0' || s[0] > '6' {
		return nil, nil, 0, "unknown packet type"
	}
	typ := Type(s[0] - '0')
	i := 1
	n := 0
	if typ == BinaryEvent || typ == BinaryAck {
		start := i
		for i < len(s) && isDigit(s[i]) {
			if n = n*10 + int(s[i]-'0'); n > maxAttachments {
				return nil, nil, 0, "too many attachments"
			}
			i++
		}
		if i == start || i == len(s) || s[i] != '-' || n < 1 {
			return nil, nil, 0, "illegal attachments"
		}
		i++
	}
	hdr := Message{Type: typ, Namespace: "/"}
	switch typ {
	case BinaryEvent:
		hdr.Type = Event
	case BinaryAck:
		hdr.Type = Ack
	}
	var nsp []byte // the namespace, when the message names one
	if i < len(s) && s[i] == '/' {
		if j := bytes.IndexByte(s[i:], ','); j >= 0 {
			nsp, i = s[i:i+j], i+j+1
		} else {
			nsp, i = s[i:], len(s)
		}
	}
	if i < len(s) && isDigit(s[i]) {
		start := i
		for i < len(s) && isDigit(s[i]) {
			i++
		}
		id, err := strconv.ParseUint(string(s[start:i]), 10, 64)
		if err != nil {
			return nil, nil, 0, "invalid packet id"
		}
		hdr.ID, hdr.HasID = id, true
	}
	rest := s[i:]
	if len(rest) == 0 {
		if hdr.Type == Connect || hdr.Type == Disconnect {
			m := new(Message)
			*m = hdr
			if nsp != nil {
				m.Namespace = string(nsp)
			}
			return m, nil, 0, ""
		}
		return nil, nil, 0, "invalid payload: " + typ.String() + " needs data"
	}
	v := trimSpaceJSON(rest)
	if len(v) == 0 {
		return nil, nil, 0, "invalid payload: not JSON"
	}
	switch hdr.Type {
	case Connect:
		if v[0] != '{' {
			return nil, nil, 0, "invalid payload: CONNECT data must be an object"
		}
	case Disconnect:
		return nil, nil, 0, "invalid payload: DISCONNECT carries no data"
	case ConnectError:
		if v[0] != '{' && v[0] != '"' {
			return nil, nil, 0, "invalid payload: CONNECT_ERROR data must be an object or a string"
		}
	case Event, Ack:
		if v[0] != '[' {
			return nil, nil, 0, "invalid payload: " + typ.String() + " data must be an array"
		}
	}
	hasArgs := hdr.Type == Event || hdr.Type == Ack
	check := jsonCheck{lim: lim, maxTop: math.MaxInt}
	if hasArgs {
		check.maxTop = lim.MaxArgs + 1 // an EVENT's name and arguments
	}
	if reason := check.run(v); reason != "" {
		return nil, nil, 0, reason
	}
	args := check.top
	if hdr.Type == Event {
		args--
	}
	if hasArgs && args > lim.MaxArgs {
		return nil, nil, 0, lim.tooManyArgs()
	}

	// Valid: keep a copy of the data, which the Raw values point into,
	// with the Message and, for a few arguments, their Raw values.
	nargs := 0 // an EVENT without a name has -1 arguments, which setJSONArgs refuses
	if hasArgs {
		nargs = max(args, 0)
	}
	var m *Message
	var pkt *jsonPacket
	var raws []jsonRaw
	var argv []Raw
	if nargs <= jsonInlineArgs {
		jm := &jsonMessage{m: hdr}
		m, pkt = &jm.m, &jm.pkt
		raws, argv = jm.raws[:nargs:nargs], jm.args[:nargs:nargs]
		if len(v) <= len(jm.text) {
			pkt.text = jm.text[:len(v):len(v)]
			copy(pkt.text, v)
		}
	} else {
		m, pkt = new(Message), &jsonPacket{}
		*m = hdr
		raws, argv = make([]jsonRaw, nargs), make([]Raw, nargs)
	}
	if pkt.text == nil {
		pkt.text = bytes.Clone(v)
	}
	if nsp != nil {
		m.Namespace = string(nsp)
	}
	switch m.Type {
	case Connect, ConnectError:
		m.Payload = pkt.raw(0, len(pkt.text))
	case Event, Ack:
		if reason := m.setJSONArgs(pkt, &check, raws, argv); reason != "" {
			return nil, nil, 0, reason
		}
	}
	return m, pkt, n, ""
}

// jsonInlineArgs is how many arguments a decoded packet holds in the same
// allocation as its Message (see jsonMessage).
const jsonInlineArgs = 2

// jsonMessage is a decoded packet of at most jsonInlineArgs arguments, and
// of data up to 64 bytes long, in one allocation: the Message, the data
// its Raw values share, and those Raw values.
type jsonMessage struct {
	m    Message
	pkt  jsonPacket
	raws [jsonInlineArgs]jsonRaw
	args [jsonInlineArgs]Raw
	text [64]byte
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// setJSONArgs fills m.Event and m.Args from the data array that pkt holds,
// which check validated. raws and argv have room for the arguments.
func (m *Message) setJSONArgs(pkt *jsonPacket, check *jsonCheck, raws []jsonRaw, argv []Raw) string {
	v := pkt.text
	count := check.top
	spans := check.spans[:min(count, jsonSpanCap)]
	if count > jsonSpanCap {
		spans = nil // find them again below
	}
	it := jsonIter{b: v}
	// next returns the extent of the next element of the array.
	next := func() (start, end int) {
		if len(spans) > 0 {
			s := spans[0]
			spans = spans[1:]
			return s.start, s.end
		}
		it.next()
		start, end = it.i, jsonSkip(v, it.i)
		it.i = end
		return start, end
	}
	if m.Type == Event {
		if count == 0 {
			return "invalid payload: EVENT data is empty"
		}
		start, end := next()
		name := v[start:end]
		switch c := name[0]; {
		case c == '"':
			m.Event = jsonString(name)
			if IsReserved(m.Event) {
				return "invalid payload: reserved event name " + strconv.Quote(m.Event)
			}
		case c == '-' || isDigit(c):
			f, _ := strconv.ParseFloat(string(name), 64) // ±Inf for huge literals, as in JavaScript
			m.Event = numericEventName(f)
		default:
			return "invalid payload: event name must be a string or a number"
		}
		count--
	}
	if count == 0 {
		return ""
	}
	for k := range raws {
		start, end := next()
		raws[k] = jsonRaw{pkt: pkt, off: uint32(start), end: uint32(end)}
		argv[k] = &raws[k]
	}
	m.Args = argv
	return ""
}

// jsonPacket holds the data of a decoded packet, or one value, and the
// attachments of a binary packet, which its Raw values share.
type jsonPacket struct {
	text []byte
	atts [][]byte // nil for a packet without attachments
}

// raw returns the Raw of the value at text[start:end].
func (p *jsonPacket) raw(start, end int) *jsonRaw {
	return &jsonRaw{pkt: p, off: uint32(start), end: uint32(end)}
}

// jsonRaw is one JSON value of a decoded packet, in the text the peer sent.
// The 32-bit offsets keep a packet's Raw values small: each argument costs
// a Message 16 bytes here and 16 in Message.Args.
type jsonRaw struct {
	pkt      *jsonPacket
	off, end uint32
}

// newJSONRaw returns the Raw of the value text, with the attachments of
// its placeholders (nil when it has none).
func newJSONRaw(text []byte, atts [][]byte) *jsonRaw {
	return (&jsonPacket{text: text, atts: atts}).raw(0, len(text))
}

// text returns the value's text, placeholders included.
func (r *jsonRaw) text() []byte { return r.pkt.text[r.off:r.end] }

// atts returns the attachments of the value's packet, or nil when it has
// none. A value of a binary packet may hold placeholders.
func (r *jsonRaw) atts() [][]byte { return r.pkt.atts }

// Decode implements Raw. Targets *any, *[]any and *map[string]any get
// int64 for integer literals (uint64 beyond math.MaxInt64), float64 for the
// other numbers, and []byte for attachments. Any other target goes through
// encoding/json, with each attachment given as a base64 string, which
// encoding/json decodes into a []byte field (and numbers in interface
// fields are float64); an interface value that received an attachment's
// string then gets its bytes (see json_targets.go).
func (r *jsonRaw) Decode(v any) error {
	if r == nil {
		return errNilRaw
	}
	switch t := v.(type) {
	case *any:
		if t == nil {
			return errDecodeTarget
		}
		x, err := r.tree()
		if err != nil {
			return err
		}
		*t = x
		return nil
	case *[]any:
		if t == nil {
			return errDecodeTarget
		}
		x, err := r.tree()
		if err != nil {
			return err
		}
		switch x := x.(type) {
		case nil:
			*t = nil
		case []any:
			*t = x
		default:
			return &json.UnmarshalTypeError{Value: jsonKind(x), Type: reflect.TypeFor[[]any]()}
		}
		return nil
	case *map[string]any:
		if t == nil {
			return errDecodeTarget
		}
		x, err := r.tree()
		if err != nil {
			return err
		}
		switch x := x.(type) {
		case nil:
			*t = nil
		case map[string]any:
			*t = x
		default:
			return &json.UnmarshalTypeError{Value: jsonKind(x), Type: reflect.TypeFor[map[string]any]()}
		}
		return nil
	}
	if r.decodeScalar(v) {
		return nil
	}
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Pointer || rv.IsNil() {
		return errDecodeTarget
	}
	err := json.Unmarshal(r.typedForm(), v)
	if r.atts() != nil {
		r.restoreBinary(rv)
	}
	return err
}

// decodeScalar decodes the value into v when v is a non-nil *string,
// *bool, *float64, *int or *int64 and the value is null or one that
// encoding/json would store there without error, exactly as it would:
// null leaves the target alone, and numbers are parsed by the same strconv
// calls. It reports whether it did; otherwise encoding/json decides.
func (r *jsonRaw) decodeScalar(v any) bool {
	t := r.text()
	if len(t) == 0 {
		return false
	}
	if t[0] == 'n' { // null
		switch x := v.(type) {
		case *string, *bool, *float64, *int, *int64:
			return x != nil
		}
		return false
	}
	switch x := v.(type) {
	case *string:
		if x == nil || t[0] != '"' {
			return false
		}
		*x = jsonString(t)
		return true
	case *bool:
		if x == nil || (t[0] != 't' && t[0] != 'f') {
			return false
		}
		*x = t[0] == 't'
		return true
	case *float64:
		if x == nil || (t[0] != '-' && !isDigit(t[0])) {
			return false
		}
		f, err := strconv.ParseFloat(string(t), 64)
		if err != nil {
			return false
		}
		*x = f
		return true
	case *int:
		if x == nil {
			return false
		}
		n, err := strconv.ParseInt(string(t), 10, strconv.IntSize)
		if err != nil {
			return false
		}
		*x = int(n)
		return true
	case *int64:
		if x == nil {
			return false
		}
		n, err := strconv.ParseInt(string(t), 10, 64)
		if err != nil {
			return false
		}
		*x = n
		return true
	}
	return false
}

// tree decodes the value into Go's dynamic types.
func (r *jsonRaw) tree() (any, error) {
	x, _, ok := jsonValue(r.text(), 0, r.atts(), 1)
	if !ok {
		return nil, fmt.Errorf("parser: json value: %w", ErrInvalidPacket)
	}
	return x, nil
}

// typedForm returns the value with each placeholder replaced by its
// attachment as a base64 string.
func (r *jsonRaw) typedForm() []byte {
	atts := r.atts()
	if atts == nil {
		return r.text()
	}
	b := r.text()
	out, _ := jsonRewrite(make([]byte, 0, len(b)), b, 0, len(atts), 1, func(dst []byte, k int) []byte {
		dst = append(dst, '"')
		dst = base64.StdEncoding.AppendEncode(dst, atts[k])
		return append(dst, '"')
	})
	return out
}

// MarshalJSON returns the value's text, attachments written as base64
// strings, so that encoding/json can embed a Raw found inside a struct.
func (r *jsonRaw) MarshalJSON() ([]byte, error) {
	if r == nil {
		return []byte("null"), nil
	}
	return r.typedForm(), nil
}

// MarshalMsgpack returns the value in msgpack, attachments as bin, so that
// the msgpack library can embed a Raw found inside a struct.
func (r *jsonRaw) MarshalMsgpack() ([]byte, error) {
	if r == nil {
		return []byte{0xc0}, nil
	}
	x, err := r.tree()
	if err != nil {
		return nil, err
	}
	return appendMsgpack(nil, x, 1)
}

// MarshalJSON returns the value in JSON, binary as base64 strings and
// Dates as JSON.stringify writes them, so that encoding/json can embed a
// Raw found inside a struct.
func (r *msgpackRaw) MarshalJSON() ([]byte, error) {
	var x any
	if err := r.Decode(&x); err != nil {
		return nil, err
	}
	e := jsonEncoder{binary: binaryBase64}
	return e.appendValue(nil, x, 1)
}

// jsonKind names the JSON kind of a decoded value for error messages.
func jsonKind(x any) string {
	switch x.(type) {
	case bool:
		return "bool"
	case string:
		return "string"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	case []byte:
		return "binary"
	}
	return "number"
}
