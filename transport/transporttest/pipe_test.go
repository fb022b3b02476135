package transporttest_test

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"slices"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ferryio/ferry/transport"
	"github.com/ferryio/ferry/transport/transporttest"
)

// pipeTransport is an in-memory reference Transport: payloads travel over
// unbuffered channels to and from a pipePeer. It follows the package's
// contract, so Run passing on it shows the suite asks nothing impossible;
// with a bug switched on, Run must fail (see TestRunCatchesBugs).
type pipeTransport struct {
	s   transport.Session
	bug string // "" for the correct transport, else one of the bugs below

	wake     chan struct{} // signal: Wake was called (capacity 1)
	quit     chan struct{} // closed when the transport starts ending
	done     chan struct{} // closed after TransportClosed returned
	gone     chan struct{} // closed by the peer's Close
	toPeer   chan []byte   // payloads written by the transport
	fromPeer chan post     // payloads sent by the peer

	endOnce  sync.Once
	reason   error // written once, before quit is closed
	goneOnce sync.Once
	loops    sync.WaitGroup // the read and write loops
	closes   sync.Mutex
	nClose   int // guarded by closes
}

// post is one payload from the peer and the channel its answer goes to.
type post struct {
	body  []byte
	reply chan error // capacity 1
}

var (
	errPeerGone = errors.New("pipe: peer went away")
	errEnded    = errors.New("pipe: transport ended")
	errRefused  = errors.New("pipe: session refused the packets")
)

func newPipe(s transport.Session, bug string) (*pipeTransport, *pipePeer) {
	t := &pipeTransport{
		s:        s,
		bug:      bug,
		wake:     make(chan struct{}, 1),
		quit:     make(chan struct{}),
		done:     make(chan struct{}),
		gone:     make(chan struct{}),
		toPeer:   make(chan []byte),
		fromPeer: make(chan post),
	}
	t.loops.Add(2)
	go t.writeLoop()
	go t.readLoop()
	go func() {
		t.loops.Wait()
		if t.reason != nil || t.bug != "silent-close" {
			t.s.TransportClosed(t, t.reason)
		}
		close(t.done)
	}()
	return t, &pipePeer{t: t}
}

func (t *pipeTransport) Name() string { return "pipe" }

func (t *pipeTransport) Wake() {
	select {
	case t.wake <- struct{}{}:
	default:
	}
}

func (t *pipeTransport) Close() error {
	t.end(nil)
	t.closes.Lock()
	defer t.closes.Unlock()
	t.nClose++
	if t.bug == "close-error" && t.nClose > 1 {
		return errEnded
	}
	return nil
}

func (t *pipeTransport) Done() <-chan struct{} { return t.done }

// end starts ending the transport; the first reason wins.
func (t *pipeTransport) end(reason error) {
	t.endOnce.Do(func() {
		t.reason = reason
		close(t.quit)
	})
}

func (t *pipeTransport) writeLoop() {
	defer t.loops.Done()
	for {
		pkts, last := t.s.Take(t)
		if len(pkts) > 0 {
			if t.bug == "reorder-write" && len(pkts) > 1 {
				pkts = slices.Clone(pkts)
				pkts[0], pkts[1] = pkts[1], pkts[0]
			}
			select {
			case t.toPeer <- transport.EncodePayload(pkts):
			case <-t.quit:
				return
			case <-t.gone:
				t.end(errPeerGone)
				return
			}
			if last {
				t.end(nil)
				return
			}
			continue
		}
		select {
		case <-t.wake:
		case <-t.quit:
			return
		case <-t.gone:
			t.end(errPeerGone)
			return
		}
	}
}

func (t *pipeTransport) readLoop() {
	defer t.loops.Done()
	refused := false
	for {
		select {
		case req := <-t.fromPeer:
			pkts, decodeErr := transport.DecodePayload(req.body)
			if t.bug == "reorder-deliver" {
				slices.Reverse(pkts)
			}
			var unexpected error
			for _, p := range pkts {
				if refused && t.bug != "deliver-after-refusal" {
					break
				}
				if err := t.s.Deliver(t, p); err != nil {
					refused = true
					if errors.Is(err, transport.ErrUnexpectedPacket) && t.bug != "ignore-unexpected" {
						unexpected = err
					}
				}
			}
			switch {
			case unexpected != nil:
				req.reply <- errRefused
				t.end(unexpected)
				return
			case refused:
				req.reply <- errRefused
			case decodeErr != nil:
				req.reply <- decodeErr
				t.end(decodeErr)
				return
			default:
				req.reply <- nil
			}
		case <-t.quit:
			return
		case <-t.gone:
			t.end(errPeerGone)
			return
		}
	}
}

// pipePeer is the client end of a pipeTransport.
type pipePeer struct{ t *pipeTransport }

func (p *pipePeer) Send(ctx context.Context, pkts ...transport.Packet) error {
	req := post{body: transport.EncodePayload(pkts), reply: make(chan error, 1)}
	select {
	case p.t.fromPeer <- req:
	case <-p.t.quit:
		return errEnded
	case <-p.t.gone:
		return errPeerGone
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case err := <-req.reply:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (p *pipePeer) Receive(ctx context.Context) ([]transport.Packet, error) {
	select {
	case body := <-p.t.toPeer:
		return transport.DecodePayload(body)
	case <-p.t.quit:
		return nil, errEnded
	case <-p.t.gone:
		return nil, errPeerGone
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (p *pipePeer) Close() error {
	p.t.goneOnce.Do(func() { close(p.t.gone) })
	return nil
}

func makePipe(bug string) transporttest.MakeTransport {
	return func(t *testing.T, s transport.Session) (transport.Transport, transporttest.Peer) {
		return newPipe(s, bug)
	}
}

func TestRunPipe(t *testing.T) {
	transporttest.Run(t, makePipe(""))
}

// TestRunBrokenPipe runs the suite on a pipe with the bug named by
// TRANSPORTTEST_PIPE_BUG; TestRunCatchesBugs runs it in a child process and
// expects it to fail.
func TestRunBrokenPipe(t *testing.T) {
	bug := os.Getenv("TRANSPORTTEST_PIPE_BUG")
	if bug == "" {
		t.Skip("run by TestRunCatchesBugs")
	}
	transporttest.Run(t, makePipe(bug))
}

func TestRunCatchesBugs(t *testing.T) {
	if testing.Short() {
		t.Skip("starts child test processes")
	}
	bugs := []struct {
		bug     string
		failing string // a subtest that must fail
	}{
		{"reorder-write", "--- FAIL: TestRunBrokenPipe/ServerToClient"},
		{"reorder-deliver", "--- FAIL: TestRunBrokenPipe/ClientToServer"},
		{"silent-close", "--- FAIL: TestRunBrokenPipe/Close"},
		{"close-error", "--- FAIL: TestRunBrokenPipe/Close"},
		{"deliver-after-refusal", "--- FAIL: TestRunBrokenPipe/DeliverRejected"},
		{"ignore-unexpected", "--- FAIL: TestRunBrokenPipe/DeliverUnexpected"},
	}
	for _, b := range bugs {
		t.Run(b.bug, func(t *testing.T) {
			t.Parallel()
			cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^TestRunBrokenPipe$", "-test.v")
			cmd.Env = append(os.Environ(), "TRANSPORTTEST_PIPE_BUG="+b.bug)
			out, err := cmd.CombinedOutput()
			var exit *exec.ExitError
			require.ErrorAs(t, err, &exit, "the suite passed a transport with bug %q:\n%s", b.bug, out)
			assert.Contains(t, string(out), b.failing)
		})
	}
}
