package parser

import (
	"math"
	"reflect"
	"strconv"
)

// reservedEvents are the names socket.io-parser refuses as event names
// because they have a meaning of their own on one side or the other.
var reservedEvents = [...]string{
	"connect",        // client side
	"connect_error",  // client side
	"disconnect",     // both sides
	"disconnecting",  // server side
	"newListener",    // Node's EventEmitter
	"removeListener", // Node's EventEmitter
}

// IsReserved reports whether event is one of the names Socket.IO keeps for
// itself: connect, connect_error, disconnect, disconnecting, newListener and
// removeListener. Encode refuses them, and the JSON decoder rejects an Event
// that carries one. The msgpack decoder, like socket.io-msgpack-parser, lets
// them through, so a server must not dispatch them to application handlers.
func IsReserved(event string) bool {
	for _, r := range reservedEvents {
		if event == r {
			return true
		}
	}
	return false
}

// appendJSNumber appends f the way JavaScript's Number.prototype.toString
// and JSON.stringify write it: shortest round-trip digits, exponent form
// below 1e-6 and from 1e21 on, and "0" for negative zero. bits is 32 or 64.
// NaN and infinities are written as JavaScript names them; JSON callers
// must write null instead.
func appendJSNumber(b []byte, f float64, bits int) []byte {
	switch {
	case math.IsNaN(f):
		return append(b, "NaN"...)
	case math.IsInf(f, 1):
		return append(b, "Infinity"...)
	case math.IsInf(f, -1):
		return append(b, "-Infinity"...)
	case f == 0:
		return append(b, '0')
	}
	abs := math.Abs(f)
	format := byte('f')
	if bits == 32 {
		if a := float32(abs); a < 1e-6 || a >= 1e21 {
			format = 'e'
		}
	} else if abs < 1e-6 || abs >= 1e21 {
		format = 'e'
	}
	b = strconv.AppendFloat(b, f, format, -1, bits)
	if format == 'e' {
		// Go writes at least two exponent digits ("1e-07"); JavaScript
		// writes as many as needed ("1e-7").
		if n := len(b); n >= 4 && b[n-4] == 'e' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b
}

// checkedPacket is a Packet that passed the checks every codec applies
// before encoding.
type checkedPacket struct {
	typ Type   // Connect to ConnectError: BinaryEvent and BinaryAck become Event and Ack
	nsp string // never empty
}

// checkPacket applies the Socket.IO rules that do not depend on the wire
// format. Payload shapes that depend on how a value encodes (an object, a
// string) are checked by the codecs on their output.
func checkPacket(codec string, p *Packet) (checkedPacket, error) {
	if p == nil {
		return checkedPacket{}, encodeError(codec, "nil packet", nil)
	}
	c := checkedPacket{typ: p.Type, nsp: p.Namespace}
	switch p.Type {
	case BinaryEvent:
		c.typ = Event
	case BinaryAck:
		c.typ = Ack
	}
	if c.nsp == "" {
		c.nsp = "/"
	}
	if c.nsp[0] != '/' {
		return c, encodeError(codec, "namespace must start with /", nil)
	}
	fail := func(reason string) (checkedPacket, error) { return c, encodeError(codec, reason, nil) }
	switch c.typ {
	case Connect, Disconnect, ConnectError:
		if len(p.Args) > 0 {
			return fail(c.typ.String() + " packet has Args")
		}
		if p.HasID {
			return fail(c.typ.String() + " packet has an ack id")
		}
		if c.typ == Disconnect && p.Payload != nil {
			return fail("DISCONNECT packet has a Payload")
		}
		if c.typ == ConnectError && p.Payload == nil {
			return fail("CONNECT_ERROR packet needs a Payload")
		}
	case Event, Ack:
		if p.Payload != nil {
			return fail(c.typ.String() + " packet has a Payload")
		}
		if c.typ == Ack && !p.HasID {
			return fail("ACK packet needs an ack id")
		}
		if c.typ == Event {
			if len(p.Args) == 0 {
				return fail("EVENT packet needs an event name")
			}
			if reason := checkEventName(p.Args[0]); reason != "" {
				return fail(reason)
			}
		}
	default:
		return fail("unknown packet type " + p.Type.String())
	}
	return c, nil
}

// checkEventName says what is wrong with v as an event name, or "" if it is
// a non-reserved string or a finite number.
func checkEventName(v any) string {
	if r, ok := v.(Raw); ok {
		var decoded any
		if err := r.Decode(&decoded); err != nil {
			return "event name does not decode"
		}
		v = decoded
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.String:
		if IsReserved(rv.String()) {
			return "event name " + strconv.Quote(rv.String()) + " is reserved"
		}
		return ""
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return ""
	case reflect.Float32, reflect.Float64:
		if f := rv.Float(); math.IsNaN(f) || math.IsInf(f, 0) {
			return "event name is not a finite number"
		}
		return ""
	}
	return "event name must be a string or a number"
}

// numericEventName formats a number found in the name slot of an Event as
// JavaScript would turn it into a listener key.
func numericEventName(f float64) string {
	return string(appendJSNumber(nil, f, 64))
}

// trimSpaceJSON removes JSON whitespace from both ends of b.
func trimSpaceJSON(b []byte) []byte {
	start, end := 0, len(b)
	for start < end && isJSONSpace(b[start]) {
		start++
	}
	for end > start && isJSONSpace(b[end-1]) {
		end--
	}
	return b[start:end]
}

func isJSONSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\n' }
