package transporttest_test

import (
	"fmt"

	"github.com/ferryio/ferry/transport"
	"github.com/ferryio/ferry/transport/transporttest"
)

// A transport's-eye view of the Session: what it takes to write, and what
// it delivers after reading.
func ExampleSession() {
	s := transporttest.NewSession()
	tr := newStub() // any transport.Transport
	s.Bind(tr)      // tr is now the writer, and is woken

	s.Push(transport.TextPacket("hello"))
	s.PushLast(transport.Packet{Type: transport.Close})
	pkts, last := s.Take(tr)
	fmt.Println(pkts, last)

	_ = s.Deliver(tr, transport.Packet{Type: transport.Pong})
	s.TransportClosed(tr, nil)
	reason, closed := s.ClosedReason(tr)
	fmt.Println(s.Delivered(), closed, reason)
	fmt.Println("violations:", s.Err())
	// Output:
	// [message(5 bytes) close(0 bytes)] true
	// [pong(0 bytes)] true <nil>
	// violations: <nil>
}
