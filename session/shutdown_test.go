package session

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ferryio/ferry/transport"
)

// Engine.Shutdown and long-polling clients between two GETs, on a fake
// clock: requests are served in memory (httptest recorders), so that the
// whole engine runs inside a synctest bubble.

// memEngine is an engine served in memory.
type memEngine struct{ *Engine }

func newMemEngine(opts *Options) memEngine {
	o := *opts
	o.Logger = slog.New(slog.DiscardHandler)
	return memEngine{NewEngine(&o)}
}

// serve runs one request to completion and returns the status and body.
func (e memEngine) serve(method, query, body string) (int, string) {
	req := httptest.NewRequest(method, "/socket.io/?"+query, strings.NewReader(body))
	if method == http.MethodPost {
		req.Header.Set("Content-Type", "text/plain;charset=UTF-8")
	}
	w := httptest.NewRecorder()
	e.ServeHTTP(w, req)
	return w.Code, w.Body.String()
}

// handshake opens a long-polling session and returns it.
func (e memEngine) handshake(t *testing.T) *Session {
	t.Helper()
	status, body := e.serve(http.MethodGet, "EIO=4&transport=polling", "")
	require.Equal(t, http.StatusOK, status, body)
	var open struct{ SID string }
	require.NoError(t, json.Unmarshal([]byte(strings.TrimPrefix(body, "0")), &open))
	s := e.Session(open.SID)
	require.NotNil(t, s)
	return s
}

// poll sends one GET for s and returns its body.
func (e memEngine) poll(t *testing.T, s *Session) string {
	t.Helper()
	status, body := e.serve(http.MethodGet, "EIO=4&transport=polling&sid="+s.ID(), "")
	require.Equal(t, http.StatusOK, status, body)
	return body
}

// shutdown starts Shutdown and returns a channel receiving its result.
func (e memEngine) shutdown() <-chan error {
	done := make(chan error, 1)
	go func() { done <- e.Shutdown(context.Background()) }()
	return done
}

// The Engine.IO defaults: the grace must not depend on PingTimeout.
var memOpts = &Options{}

func TestShutdownPollingClientBetweenPolls(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		// The client's next GET, sent within the grace after its last
		// one was answered, collects the final packets.
		e := newMemEngine(memOpts)
		s := e.handshake(t)
		require.NoError(t, s.Send(transport.TextPacket("a")))
		time.Sleep(shutdownPollGrace / 2)
		done := e.shutdown()
		synctest.Wait()
		require.Empty(t, done, "Shutdown did not wait for the next GET")
		assert.Equal(t, 1, e.Count())

		time.Sleep(shutdownPollGrace/2 - time.Nanosecond)
		start := time.Now()
		assert.Equal(t, "4a\x1e1", e.poll(t, s))
		require.NoError(t, <-done)
		assert.Zero(t, time.Since(start), "Shutdown waited after the last GET")
		assert.Equal(t, ReasonServerShuttingDown, Reason(s.Err()))
		assert.Equal(t, 0, e.Count())
	})
}

func TestShutdownPollingClientGone(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		// No GET within the grace: the session ends then, its queue
		// dropped.
		e := newMemEngine(memOpts)
		s := e.handshake(t)
		answered := time.Now()
		require.NoError(t, s.Send(transport.TextPacket("a")))
		time.Sleep(shutdownPollGrace / 2)
		done := e.shutdown()
		require.NoError(t, <-done)
		assert.Equal(t, shutdownPollGrace, time.Since(answered))
		assert.Equal(t, ReasonServerShuttingDown, Reason(s.Err()))
		assert.Equal(t, 0, e.Count())
		status, body := e.serve(http.MethodGet, "EIO=4&transport=polling&sid="+s.ID(), "")
		assert.Equal(t, http.StatusBadRequest, status)
		assert.Equal(t, `{"code":1,"message":"Session ID unknown"}`, body)
	})
}

func TestShutdownPollingClientStopped(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		// A client that has not polled for longer than the grace (its
		// session either open or already closing, waiting for a GET):
		// Shutdown does not wait at all.
		e := newMemEngine(memOpts)
		open := e.handshake(t)
		closing := e.handshake(t)
		require.NoError(t, open.Send(transport.TextPacket("a")))
		require.NoError(t, closing.Send(transport.TextPacket("b")))
		require.NoError(t, closing.Close())
		time.Sleep(shutdownPollGrace)
		start := time.Now()
		require.NoError(t, <-e.shutdown())
		assert.Zero(t, time.Since(start))
		assert.Equal(t, ReasonServerShuttingDown, Reason(open.Err()))
		assert.Equal(t, ReasonForcedClose, Reason(closing.Err()))
		assert.Equal(t, 0, e.Count())
	})
}

func TestShutdownPollingClientParked(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		// A parked GET is answered at once, however long ago the client
		// polled before it (here, longer than the grace, within the
		// heartbeat's first PingInterval).
		e := newMemEngine(memOpts)
		s := e.handshake(t)
		time.Sleep(10 * time.Second)
		got := make(chan string, 1)
		go func() {
			_, body := e.serve(http.MethodGet, "EIO=4&transport=polling&sid="+s.ID(), "")
			got <- body
		}()
		synctest.Wait() // parked
		start := time.Now()
		require.NoError(t, <-e.shutdown())
		assert.Equal(t, "1", <-got)
		assert.Zero(t, time.Since(start))
		assert.Equal(t, ReasonServerShuttingDown, Reason(s.Err()))
	})
}
