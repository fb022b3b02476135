package ferry

import (
	"sync"
	"time"

	"github.com/ferryio/ferry/parser"
	"github.com/ferryio/ferry/transport"
)

// A client whose parser is not the server's cannot be understood, nor can
// it understand the server: left alone, its first message closes the
// connection as malformed, and the official client, seeing only the
// connection drop, reconnects forever. Its first message is telling,
// though: socket.io-parser (JSON) sends a text message starting with the
// packet type's digit, socket.io-msgpack-parser a binary one. Such a
// client is answered in its own format with a CONNECT_ERROR naming the
// server's parser, which the official client reports as connect_error and
// does not retry.

// mismatchWarningInterval is the least time between two warnings about
// clients using another parser; those in between are counted in the next.
const mismatchWarningInterval = time.Minute

// mismatchMessage returns the CONNECT_ERROR message for a client whose
// parser is not server's: which parser the server uses, and the client
// option that selects it.
func mismatchMessage(server parser.Codec) string {
	if server.Name() == "json" {
		return `parser mismatch: the server uses socket.io's default JSON parser; remove the client's "parser" option`
	}
	return `parser mismatch: the server uses socket.io-msgpack-parser; set the client's "parser" option to it (import parser from "socket.io-msgpack-parser")`
}

// otherCodec returns the parser the client that sent p, a message the
// server's parser refused, would be using: JSON for a text message starting
// with a digit to a msgpack server, msgpack for a binary message to a JSON
// server. It returns nil when p points to neither.
func otherCodec(server parser.Codec, p transport.Packet) parser.Codec {
	switch server.Name() {
	case "msgpack":
		if !p.Binary && len(p.Data) > 0 && p.Data[0] >= '0' && p.Data[0] <= '9' {
			return parser.JSON()
		}
	case "json":
		if p.Binary {
			return parser.Msgpack()
		}
	}
	return nil
}

// decodeConnect decodes p with codec, and returns it if it is a CONNECT.
func decodeConnect(codec parser.Codec, p transport.Packet) *parser.Message {
	msg, err := codec.NewLimitedDecoder(parser.Limits{}).Decode(p.Data, p.Binary)
	if err != nil || msg == nil || msg.Type != parser.Connect {
		return nil
	}
	return msg
}

// onMismatch handles the connection's first message, which the server's
// parser refused. If it is a CONNECT in the other parser's format, the
// client is answered in that format (see refuseForeign), the server logs a
// warning (rate-limited), and the connection keeps to that format from now
// on (see onForeignMessage). It reports whether p was such a CONNECT.
func (c *Conn) onMismatch(p transport.Packet) bool {
	codec := otherCodec(c.server.codec, p)
	if codec == nil {
		return false
	}
	msg := decodeConnect(codec, p)
	if msg == nil {
		return false
	}
	c.foreign = codec
	if ok, held := c.server.mismatchWarnings.allow(time.Now()); ok {
		c.server.logger.Warn("refusing a client that uses another parser: set the same parser on both ends",
			"server_parser", c.server.codec.Name(), "client_parser", codec.Name(),
			"remote", c.RemoteAddr(), "sid", c.sess.ID(), "suppressed", held)
	}
	c.refuseForeign(msg)
	return true
}

// onForeignMessage handles a message from a client known to use another
// parser: a CONNECT (to another namespace) is refused as the first was;
// anything else closes the connection as malformed.
func (c *Conn) onForeignMessage(p transport.Packet) {
	msg := decodeConnect(c.foreign, p)
	if msg == nil {
		c.server.logger.Debug("closing connection: client uses another parser", "sid", c.sess.ID(), "client_parser", c.foreign.Name())
		c.close(ReasonParseError)
		return
	}
	c.refuseForeign(msg)
}

// refuseForeign answers the CONNECT msg, from a client using the parser
// c.foreign, with a CONNECT_ERROR in that parser's format.
func (c *Conn) refuseForeign(msg *parser.Message) {
	c.sendWith(c.foreign, connectError(msg.Namespace, mismatchMessage(c.server.codec), nil), false)
}

// rateLimit lets one event pass per interval, and counts those it holds
// back in between.
type rateLimit struct {
	every time.Duration

	mu   sync.Mutex
	next time.Time // guarded by mu: when the next event may pass
	held int       // guarded by mu: events held back since the last that passed
}

// allow reports whether an event at now passes and, if it does, how many
// were held back since the last that passed.
func (r *rateLimit) allow(now time.Time) (pass bool, held int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if now.Before(r.next) {
		r.held++
		return false, 0
	}
	held, r.held = r.held, 0
	r.next = now.Add(r.every)
	return true, held
}
