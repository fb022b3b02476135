package parser

import (
	"fmt"
	"math"
)

// Limits bounds what one inbound packet may decode into. A Decoder counts
// while it validates a message, before it builds anything for the
// message's arguments, and refuses a packet beyond a limit with a
// *PacketError whose Reason names the limit; the connection must then
// close with reason "parse error", as for any malformed packet. [MsgpackRaw]
// and [JSONRaw] apply the limits to the one value they wrap.
//
// A zero (or negative) field takes its default. The defaults are far above
// what Socket.IO applications send, and keep what Ferry holds for a packet
// within a few times its size:
//
//   - Each argument costs a decoded Message 32 bytes besides its encoding,
//     however short that is: a 1 MB msgpack EVENT of 990,000 nil arguments
//     would be held as 33 MB. MaxArgs (default 10,000) caps this at 320 KB.
//     Events carry a handful of arguments; a long list travels as one array
//     argument, since JavaScript itself cannot pass many more arguments to
//     emit (Node's V8 refuses a call with more than about 120,000).
//   - Elements cost nothing until the application decodes an argument, and
//     then at least 16 bytes each in a []any or map[string]any. Within the
//     default MaxHTTPBufferSize of 1e6 bytes a packet cannot exceed the
//     default MaxElements of 1,000,000 (each element takes a byte or more
//     in msgpack, two in JSON): it bounds packets where a larger message
//     size is allowed.
//   - Decoding recurses once per level of nesting: a value 10,000 deep
//     takes about 8 MB of goroutine stack to decode, 1,000 deep under 1 MB.
//     Node's own encoders fail at about 3,400 (notepack.io) or 4,100
//     (JSON.stringify) levels; real data nests a few levels. The default
//     MaxDepth is 1,000.
type Limits struct {
	// MaxArgs is the most arguments an EVENT (after its name) or an ACK
	// may carry. Default 10,000.
	MaxArgs int
	// MaxElements is the most array elements and map entries (a key and
	// its value count once) a packet may hold, counted at every depth, an
	// EVENT's name and arguments included. Default 1,000,000.
	MaxElements int
	// MaxDepth is the deepest nesting of arrays and maps in a packet's
	// data, the data's own array or map counting as one: an EVENT
	// argument [[1]] nests 3 deep. Default 1,000; values above 10,000,
	// the most encoding/json accepts, are taken as 10,000.
	MaxDepth int
}

// The default limits; see Limits.
const (
	defaultMaxArgs     = 10_000
	defaultMaxElements = 1_000_000
	defaultMaxDepth    = 1_000
)

// withDefaults returns l with its defaults applied.
func (l Limits) withDefaults() Limits {
	if l.MaxArgs <= 0 {
		l.MaxArgs = defaultMaxArgs
	}
	if l.MaxElements <= 0 {
		l.MaxElements = defaultMaxElements
	}
	if l.MaxDepth <= 0 {
		l.MaxDepth = defaultMaxDepth
	}
	l.MaxDepth = min(l.MaxDepth, maxDepth)
	return l
}

// unlimited returns limits that check only what every value must meet: the
// nesting that the recursive readers and writers of this package can take.
func unlimited() Limits {
	return Limits{MaxArgs: math.MaxInt, MaxElements: math.MaxInt, MaxDepth: maxDepth}
}

// tooLong reports whether a message is beyond the largest a Decoder takes,
// 4 GiB less a byte: Raw values locate themselves in it with 32-bit
// offsets.
func tooLong(b []byte) bool { return uint64(len(b)) > math.MaxUint32 }

// Reasons for a packet beyond the limits.

func (l *Limits) tooManyArgs() string {
	return fmt.Sprintf("limit exceeded: more than %d arguments (Limits.MaxArgs)", l.MaxArgs)
}

func (l *Limits) tooManyElements() string {
	return fmt.Sprintf("limit exceeded: more than %d array elements and map entries (Limits.MaxElements)", l.MaxElements)
}

func (l *Limits) tooDeep() string {
	return fmt.Sprintf("limit exceeded: arrays and maps nested more than %d deep (Limits.MaxDepth)", l.MaxDepth)
}
