package polling

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ferryio/ferry/transport"
)

// recordingResponder records the answers it is given, as a server
// relaying a request for another would send them on.
type recordingResponder struct {
	payloads chan []transport.Packet
	errs     chan [2]int
	oks      chan struct{}
	fail     error // returned by Payload
}

func newRecordingResponder() *recordingResponder {
	return &recordingResponder{payloads: make(chan []transport.Packet, 4), errs: make(chan [2]int, 4), oks: make(chan struct{}, 4)}
}

func (r *recordingResponder) Payload(pkts []transport.Packet) error {
	r.payloads <- pkts
	return r.fail
}
func (r *recordingResponder) OK() { r.oks <- struct{}{} }
func (r *recordingResponder) Error(status int, code transport.ErrorCode) {
	r.errs <- [2]int{status, int(code)}
}

func quietConfig() *Config { return NewConfig(&Options{Logger: slog.New(slog.DiscardHandler)}) }

// A GET whose context ends with ErrGetReleased is answered at once, with a
// noop, and the transport carries on; one whose context ends otherwise
// ends the transport as a vanished client does.
func TestPollReleased(t *testing.T) {
	s := newRecordingSession()
	tr := New(quietConfig(), s)
	res := newRecordingResponder()
	ctx, cancel := context.WithCancelCause(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		tr.Poll(ctx, res)
	}()
	require.Eventually(t, tr.Parked, time.Second, time.Millisecond)
	cancel(ErrGetReleased)
	<-done
	assert.Equal(t, noopPayload, <-res.payloads)
	assert.False(t, tr.Parked())
	select {
	case err := <-s.closed:
		t.Fatalf("the transport ended: %v", err)
	default:
	}

	ctx, cancel = context.WithCancelCause(context.Background())
	done = make(chan struct{})
	go func() {
		defer close(done)
		tr.Poll(ctx, res)
	}()
	require.Eventually(t, tr.Parked, time.Second, time.Millisecond)
	cancel(errors.New("client gone"))
	<-done
	require.ErrorIs(t, <-s.closed, ErrGetAborted)
}

// A payload the responder fails to deliver ends the transport with its
// error, as a failed write does.
func TestPollResponderFails(t *testing.T) {
	s := newRecordingSession()
	s.queue = []transport.Packet{transport.TextPacket("x")}
	tr := New(quietConfig(), s)
	res := newRecordingResponder()
	res.fail = errors.New("relay gone")
	tr.Poll(context.Background(), res)
	assert.Equal(t, []transport.Packet{transport.TextPacket("x")}, <-res.payloads)
	require.ErrorIs(t, <-s.closed, res.fail)
}

// Post answers through its responder as ServeHTTP does for a POST it
// reads: delivered packets and "ok", or the error of the read.
func TestPostThroughResponder(t *testing.T) {
	s := newRecordingSession()
	tr := New(quietConfig(), s)
	res := newRecordingResponder()
	tr.Post([]byte("4a\x1e4b"), nil, res)
	<-res.oks
	assert.Equal(t, []transport.Packet{transport.TextPacket("a"), transport.TextPacket("b")}, s.delivered)

	tr.Post(nil, ErrPayloadTooLarge, res)
	assert.Equal(t, [2]int{http.StatusRequestEntityTooLarge, int(transport.CodeBadRequest)}, <-res.errs)
	require.ErrorIs(t, <-s.closed, ErrPayloadTooLarge)
	tr.Post([]byte("4c"), nil, res)
	assert.Equal(t, [2]int{http.StatusBadRequest, int(transport.CodeUnknownSID)}, <-res.errs, "after the end")
}

// ReadPost applies the rules of a POST body: no binary bodies, at most
// MaxHTTPBufferSize bytes.
func TestReadPost(t *testing.T) {
	cfg := NewConfig(&Options{MaxHTTPBufferSize: 4, Logger: slog.New(slog.DiscardHandler)})
	read := func(contentType, body string) ([]byte, error) {
		req := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(body))
		req.Header.Set("Content-Type", contentType)
		return cfg.ReadPost(httptest.NewRecorder(), req)
	}
	b, err := read("text/plain;charset=UTF-8", "4abc")
	require.NoError(t, err)
	assert.Equal(t, "4abc", string(b))
	_, err = read("text/plain", "4abcd")
	require.ErrorIs(t, err, ErrPayloadTooLarge)
	_, err = read("application/octet-stream", "4")
	require.ErrorIs(t, err, ErrBinaryBody)
}

// blockingResponder's Payload waits for release, then fails or not.
type blockingResponder struct {
	*recordingResponder
	release chan error
}

func (b *blockingResponder) Payload(pkts []transport.Packet) error {
	b.payloads <- pkts
	return <-b.release
}

// A GET that comes while the answer to the previous one is still on its
// way takes nothing until that answer's fate is known: once it failed,
// the transport has ended and the GET gets a close packet, not what
// followed the lost answer.
func TestPollWaitsForThePreviousAnswer(t *testing.T) {
	for _, fail := range []bool{false, true} {
		s := newRecordingSession()
		s.queue = []transport.Packet{transport.TextPacket("x")}
		tr := New(quietConfig(), s)
		first := &blockingResponder{newRecordingResponder(), make(chan error)}
		go tr.Poll(context.Background(), first)
		assert.Equal(t, []transport.Packet{transport.TextPacket("x")}, <-first.payloads)

		s.fakeSession.mu.Lock()
		s.queue = []transport.Packet{transport.TextPacket("y")}
		s.fakeSession.mu.Unlock()
		second := newRecordingResponder()
		done := make(chan struct{})
		go func() {
			defer close(done)
			tr.Poll(context.Background(), second)
		}()
		require.Eventually(t, tr.Parked, time.Second, time.Millisecond)
		tr.Wake()
		select {
		case p := <-second.payloads:
			t.Fatalf("the second GET was answered (%v) before the first answer's fate was known", p)
		case <-time.After(50 * time.Millisecond):
		}
		if fail {
			first.release <- errors.New("relay gone")
			<-done
			assert.Equal(t, closePayload, <-second.payloads)
			require.Error(t, <-s.closed)
		} else {
			first.release <- nil
			<-done
			assert.Equal(t, []transport.Packet{transport.TextPacket("y")}, <-second.payloads)
			tr.Close()
			require.NoError(t, <-s.closed)
		}
	}
}
