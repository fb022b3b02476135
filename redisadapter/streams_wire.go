package redisadapter

import (
	"encoding/base64"
	"errors"
	"strconv"
	"strings"
	"unicode/utf16"
)

// This file writes and reads what the Redis Streams adapter
// (@socket.io/redis-streams-adapter 0.3) puts on Redis: stream entries
// (string fields uid, nsp, type and data), pub/sub messages and sessions,
// the last two in the msgpack of @msgpack/msgpack.

// streamName returns the stream of namespace nsp: name itself with one
// stream, else "{name}-{i}" with i the namespace's hashCode modulo count,
// as Node computes it: Java's String.hashCode over UTF-16 code units,
// wrapped to 32 bits, and a remainder that keeps the hash's sign, so that
// some namespaces map to a negative i.
func streamName(name string, count int, nsp string) string {
	if count <= 1 {
		return name
	}
	return name + "-" + strconv.Itoa(int(hashCode(nsp)%int32(count)))
}

// hashCode is JavaScript's `h = (h * 31 + charCodeAt(i)) | 0` over the
// UTF-16 code units of s.
func hashCode(s string) int32 {
	var h int32
	for _, u := range utf16.Encode([]rune(s)) {
		h = h*31 + int32(u) // wraps, as | 0 does
	}
	return h
}

// encodeMsgpackJS writes v as @msgpack/msgpack writes the equivalent
// object: as notepack.io does (encodeMsgpack), except that a key whose
// value is undefined (nil here) is written with nil rather than left out.
func encodeMsgpackJS(v any) ([]byte, error) { return encodeMsgpack(keepUndefined(v)) }

// keepUndefined returns v with the nil values of its objects made explicit
// nulls.
func keepUndefined(v any) any {
	switch v := v.(type) {
	case obj:
		out := make(obj, len(v))
		for i, e := range v {
			if e.v == nil {
				out[i] = kv{e.k, null{}}
			} else {
				out[i] = kv{e.k, keepUndefined(e.v)}
			}
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = keepUndefined(e)
		}
		return out
	}
	return v
}

// mayCarryBinary reports whether a message of type typ may hold binary
// data, which then travels in msgpack: the types ClusterAdapter checks.
func mayCarryBinary(typ int) bool {
	switch typ {
	case msgBroadcast, msgFetchSocketsResp, msgServerSideEmit, msgServerSideEmitResp, msgBroadcastAck:
		return true
	}
	return false
}

// entryData writes the data field of a stream entry: JSON, or, for a
// message that may carry binary data and does (unless plaintext), the
// base64 of its msgpack.
func entryData(typ int, data obj, plaintext bool) (string, error) {
	if !plaintext && mayCarryBinary(typ) {
		b, err := encodeMsgpackJS(data)
		if err != nil {
			return "", err
		}
		if hasBinary(b) {
			return base64.StdEncoding.EncodeToString(b), nil
		}
	}
	b, err := encodeJSON(data)
	return string(b), err
}

// entry is a stream entry as read.
type entry struct {
	id, uid, nsp string
	typ          int
	data         string // as written: JSON, or base64 msgpack
}

// readEntry reads the fields of a stream entry; ok is false for one
// without a namespace, which Node skips too.
func readEntry(id string, values map[string]any) (e entry, ok bool) {
	str := func(k string) string {
		s, _ := values[k].(string)
		return s
	}
	e = entry{id: id, uid: str("uid"), nsp: str("nsp"), data: str("data")}
	if e.nsp == "" {
		return e, false
	}
	typ, err := strconv.Atoi(str("type"))
	if err != nil {
		typ = 0 // not a message type: ignored
	}
	e.typ = typ
	return e, true
}

// fields decodes an entry's data into the message's fields, with the
// sender's uid in data[""], as cluster.decode leaves it.
func (e entry) fields() (map[string]node, error) {
	data := map[string]node{}
	if e.data != "" {
		var raw []byte
		if strings.HasPrefix(e.data, "{") {
			raw = []byte(e.data)
		} else {
			b, err := base64.StdEncoding.DecodeString(e.data)
			if err != nil {
				return nil, err
			}
			if len(b) > 0 && b[0] == '{' {
				return nil, errors.New("redisadapter: base64 data holding JSON")
			}
			raw = b
		}
		n, err := decodeMessage(raw)
		if err != nil {
			return nil, err
		}
		if data, err = n.Map(); err != nil {
			return nil, err
		}
	}
	data[""] = jsonNode(mustJSONString(e.uid))
	return data, nil
}

// streamID is a stream entry id, "<ms>-<seq>".
type streamID struct{ ms, seq uint64 }

// parseStreamID parses an entry id, as the offsets Node accepts:
// digits, a dash, digits.
func parseStreamID(s string) (streamID, bool) {
	ms, seq, ok := strings.Cut(s, "-")
	if !ok || !allDigits(ms) || !allDigits(seq) {
		return streamID{}, false
	}
	a, err1 := strconv.ParseUint(ms, 10, 64)
	b, err2 := strconv.ParseUint(seq, 10, 64)
	return streamID{a, b}, err1 == nil && err2 == nil
}

func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func (id streamID) less(o streamID) bool {
	return id.ms < o.ms || id.ms == o.ms && id.seq < o.seq
}

func (id streamID) String() string {
	return strconv.FormatUint(id.ms, 10) + "-" + strconv.FormatUint(id.seq, 10)
}

// next returns the id just after id, the start of an exclusive range on
// Redis before 6.2.
func (id streamID) next() streamID {
	if id.seq == ^uint64(0) {
		return streamID{id.ms + 1, 0}
	}
	return streamID{id.ms, id.seq + 1}
}

// idLess reports whether entry id a comes before b; ids that do not parse
// come first.
func idLess(a, b string) bool {
	x, _ := parseStreamID(a)
	y, _ := parseStreamID(b)
	return x.less(y)
}
