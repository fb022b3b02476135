package parser

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"reflect"
	"strconv"
)

// maxAttachments is socket.io-parser's default maxAttachments: a binary
// packet announcing more is rejected, and Encode refuses to produce one.
const maxAttachments = 10

// jsonDecoder decodes one connection's messages for the JSON codec. A
// BINARY_EVENT or BINARY_ACK is held until its attachments have arrived.
type jsonDecoder struct {
	err     error
	pending *Message   // the binary packet awaiting attachments, or nil
	raws    []*jsonRaw // its arguments, which receive the attachments
	want    int        // number of attachments announced
	atts    [][]byte   // attachments received so far
}

// Decode implements Decoder.
func (d *jsonDecoder) Decode(data []byte, binary bool) (*Message, error) {
	if d.err != nil {
		return nil, decodeError(nameJSON, "decoder already failed", d.err)
	}
	m, err := d.decode(data, binary)
	if err != nil {
		d.err = err
		d.pending, d.raws, d.atts = nil, nil, nil
		return nil, err
	}
	return m, nil
}

func (d *jsonDecoder) decode(data []byte, binary bool) (*Message, error) {
	if binary {
		if d.pending == nil {
			return nil, decodeError(nameJSON, "binary message while no attachment is expected", nil)
		}
		d.atts = append(d.atts, bytes.Clone(data))
		if len(d.atts) < d.want {
			return nil, nil
		}
		m, raws, atts := d.pending, d.raws, d.atts
		d.pending, d.raws, d.atts, d.want = nil, nil, nil, 0
		for _, r := range raws {
			end, found, ok := checkPlaceholders(r.b, 0, len(atts), 1)
			if !ok || end != len(r.b) {
				return nil, decodeError(nameJSON, "illegal attachments: placeholder num out of range", nil)
			}
			r.atts, r.ph = atts, found
		}
		return m, nil
	}
	if d.pending != nil {
		return nil, decodeError(nameJSON, fmt.Sprintf("text message while %d binary attachments are expected", d.want-len(d.atts)), nil)
	}
	m, raws, n, reason := decodeJSONText(data)
	if reason != "" {
		return nil, decodeError(nameJSON, reason, nil)
	}
	if n > 0 {
		d.pending, d.raws, d.want = m, raws, n
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
// It returns the message, the Raws of its arguments, and the number of
// attachments to wait for. Digits are plain decimal; the namespace runs to
// the first comma or the end of the message.
func decodeJSONText(data []byte) (*Message, []*jsonRaw, int, string) {
	s := bytes.Clone(data) // Raw values keep pointing into s
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
	m := &Message{Type: typ, Namespace: "/"}
	switch typ {
	case BinaryEvent:
		m.Type = Event
	case BinaryAck:
		m.Type = Ack
	}
	if i < len(s) && s[i] == '/' {
		if j := bytes.IndexByte(s[i:], ','); j >= 0 {
			m.Namespace, i = string(s[i:i+j]), i+j+1
		} else {
			m.Namespace, i = string(s[i:]), len(s)
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
		m.ID, m.HasID = id, true
	}
	rest := s[i:]
	if len(rest) == 0 {
		if m.Type == Connect || m.Type == Disconnect {
			return m, nil, 0, ""
		}
		return nil, nil, 0, "invalid payload: " + typ.String() + " needs data"
	}
	if !json.Valid(rest) {
		return nil, nil, 0, "invalid payload: not JSON"
	}
	v := trimSpaceJSON(rest)
	switch m.Type {
	case Connect:
		if v[0] != '{' {
			return nil, nil, 0, "invalid payload: CONNECT data must be an object"
		}
		m.Payload = &jsonRaw{b: v}
	case Disconnect:
		return nil, nil, 0, "invalid payload: DISCONNECT carries no data"
	case ConnectError:
		if v[0] != '{' && v[0] != '"' {
			return nil, nil, 0, "invalid payload: CONNECT_ERROR data must be an object or a string"
		}
		m.Payload = &jsonRaw{b: v}
	case Event, Ack:
		if v[0] != '[' {
			return nil, nil, 0, "invalid payload: " + typ.String() + " data must be an array"
		}
		raws, reason := m.setJSONArgs(v)
		if reason != "" {
			return nil, nil, 0, reason
		}
		return m, raws, n, ""
	}
	return m, nil, n, ""
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// setJSONArgs fills m.Event and m.Args from the data array v.
func (m *Message) setJSONArgs(v []byte) ([]*jsonRaw, string) {
	var spans [][2]int
	it := jsonIter{b: v}
	for it.next() {
		end := jsonSkip(v, it.i)
		spans = append(spans, [2]int{it.i, end})
		it.i = end
	}
	if m.Type == Event {
		if len(spans) == 0 {
			return nil, "invalid payload: EVENT data is empty"
		}
		name := v[spans[0][0]:spans[0][1]]
		switch c := name[0]; {
		case c == '"':
			m.Event = jsonString(name)
			if IsReserved(m.Event) {
				return nil, "invalid payload: reserved event name " + strconv.Quote(m.Event)
			}
		case c == '-' || isDigit(c):
			f, _ := strconv.ParseFloat(string(name), 64) // ±Inf for huge literals, as in JavaScript
			m.Event = numericEventName(f)
		default:
			return nil, "invalid payload: event name must be a string or a number"
		}
		spans = spans[1:]
	}
	if len(spans) == 0 {
		return nil, ""
	}
	raws := make([]jsonRaw, len(spans))
	ptrs := make([]*jsonRaw, len(spans))
	m.Args = make([]Raw, len(spans))
	for k, sp := range spans {
		raws[k].b = v[sp[0]:sp[1]]
		ptrs[k] = &raws[k]
		m.Args[k] = &raws[k]
	}
	return ptrs, ""
}

// jsonRaw is one JSON value of a decoded packet, in the text the peer sent.
// In a binary packet it keeps the attachments its placeholders refer to.
type jsonRaw struct {
	b    []byte
	atts [][]byte // the packet's attachments, nil for a packet without
	ph   bool     // b holds placeholders
}

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
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Pointer || rv.IsNil() {
		return errDecodeTarget
	}
	err := json.Unmarshal(r.typedForm(), v)
	if r.ph {
		r.restoreBinary(rv)
	}
	return err
}

// tree decodes the value into Go's dynamic types.
func (r *jsonRaw) tree() (any, error) {
	var atts [][]byte
	if r.ph {
		atts = r.atts
	}
	x, _, ok := jsonValue(r.b, 0, atts, 1)
	if !ok {
		return nil, fmt.Errorf("parser: json value: %w", ErrInvalidPacket)
	}
	return x, nil
}

// typedForm returns the value with each placeholder replaced by its
// attachment as a base64 string.
func (r *jsonRaw) typedForm() []byte {
	if !r.ph {
		return r.b
	}
	out, _ := jsonRewrite(make([]byte, 0, len(r.b)), r.b, 0, len(r.atts), 1, func(dst []byte, k int) []byte {
		dst = append(dst, '"')
		dst = base64.StdEncoding.AppendEncode(dst, r.atts[k])
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
