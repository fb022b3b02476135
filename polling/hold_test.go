package polling

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ferryio/ferry/transport"
)

// serveGET runs one GET on tr in the background and returns its recorder,
// a function that cancels the request (the client's side going away), and
// a channel closed when the handler returns.
func serveGET(tr *Transport) (*httptest.ResponseRecorder, context.CancelFunc, chan struct{}) {
	ctx, cancel := context.WithCancel(context.Background())
	req := httptest.NewRequestWithContext(ctx, http.MethodGet, "/", nil)
	w := httptest.NewRecorder()
	done := make(chan struct{})
	go func() {
		defer close(done)
		tr.ServeHTTP(w, req)
	}()
	return w, cancel, done
}

// A GET held for MaxPollHold with nothing to send is answered with a noop,
// and the transport carries on: the next GET gets what is queued.
func TestMaxPollHoldAnswersNoop(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const hold = 8 * time.Second
		s := newRecordingSession()
		tr := New(NewConfig(&Options{MaxPollHold: hold, Logger: slog.New(slog.DiscardHandler)}), s)
		start := time.Now()
		w, cancel, done := serveGET(tr)
		defer cancel()
		synctest.Wait()
		require.True(t, tr.Parked(), "the GET parks while there is nothing to send")
		time.Sleep(hold - time.Millisecond)
		synctest.Wait()
		require.True(t, tr.Parked(), "the GET is held until MaxPollHold has passed")
		<-done
		assert.Equal(t, hold, time.Since(start))
		assert.Equal(t, http.StatusOK, w.Code)
		assert.Equal(t, "6", w.Body.String(), "a noop packet")
		select {
		case err := <-s.closed:
			t.Fatalf("the transport ended (%v); a noop answer must not end it", err)
		default:
		}

		s.fakeSession.mu.Lock()
		s.queue = []transport.Packet{transport.TextPacket("next")}
		s.fakeSession.mu.Unlock()
		w, cancel2, done := serveGET(tr)
		defer cancel2()
		<-done
		assert.Equal(t, "4next", w.Body.String())
		tr.Close()
		require.NoError(t, <-s.closed)
	})
}

// Without MaxPollHold a GET is held for as long as nothing comes: no noop.
func TestNoMaxPollHoldByDefault(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newRecordingSession()
		tr := New(NewConfig(&Options{Logger: slog.New(slog.DiscardHandler)}), s)
		w, cancel, done := serveGET(tr)
		defer cancel()
		time.Sleep(time.Hour)
		synctest.Wait()
		require.True(t, tr.Parked())
		tr.Close()
		<-done
		assert.Equal(t, "1", w.Body.String(), "released by Close with a close packet")
		require.NoError(t, <-s.closed)
	})
}

// syncBuffer is a bytes.Buffer safe for a logger and a test to share.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// GETs cut by the client's side at one age under the ping interval, in
// three sessions in a row (each cut ends its session), are reported in one
// log line naming MaxPollHold; not again for ten minutes.
func TestCutGETsAreReported(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var log syncBuffer
		cfg := NewConfig(&Options{PingInterval: 25 * time.Second, Logger: slog.New(slog.NewTextHandler(&log, nil))})
		cutAt := func(age time.Duration) {
			s := newRecordingSession()
			tr := New(cfg, s)
			_, cancel, done := serveGET(tr)
			time.Sleep(age)
			cancel()
			<-done
			require.ErrorIs(t, <-s.closed, ErrGetAborted)
		}
		cutAt(10 * time.Second)
		cutAt(10*time.Second + 300*time.Millisecond)
		assert.Empty(t, log.String(), "two cuts are not yet a pattern")
		cutAt(10 * time.Second)
		out := log.String()
		assert.Equal(t, 1, strings.Count(out, "\n"), out)
		assert.Contains(t, out, "level=WARN")
		assert.Contains(t, out, "set MaxPollHold below it")
		assert.Contains(t, out, "cut_after=10s")
		assert.Contains(t, out, "ping_interval=25s")
		assert.Contains(t, out, "suggested_max_poll_hold=8s")

		for range 3 {
			cutAt(10 * time.Second)
		}
		assert.Equal(t, 1, strings.Count(log.String(), "\n"), "rate-limited")
		time.Sleep(cutReportInterval)
		for range 3 {
			cutAt(10 * time.Second)
		}
		assert.Equal(t, 2, strings.Count(log.String(), "\n"), "reported again after the interval")
	})
}

// Clients that go away at different ages, or GETs cut only once held for
// the ping interval, are not reported.
func TestScatteredCutsAreNotReported(t *testing.T) {
	var log syncBuffer
	d := cutDetector{logger: slog.New(slog.NewTextHandler(&log, nil)), pingInterval: 25 * time.Second, now: time.Now}
	for _, age := range []time.Duration{3 * time.Second, 12 * time.Second, 7 * time.Second, 20 * time.Second, 14 * time.Second} {
		assert.False(t, d.cut(age), "cut at %v", age)
	}
	for range 4 {
		assert.False(t, d.cut(25*time.Second), "a GET held for the whole ping interval was not cut early")
	}
	for range 4 {
		assert.False(t, d.cut(7*time.Millisecond), "clients that went away together, a moment after their GETs")
	}
	quiet := cutDetector{logger: slog.New(slog.NewTextHandler(&log, nil)), now: time.Now}
	for range 4 {
		assert.False(t, quiet.cut(10*time.Second), "no ping interval given: no reports")
	}
	assert.Empty(t, log.String())
}

// A POST body arriving slowly records progress before the POST is done.
func TestPOSTRecordsProgress(t *testing.T) {
	s := newRecordingSession()
	tr := New(NewConfig(&Options{Logger: slog.New(slog.DiscardHandler)}), s)
	require.True(t, tr.LastProgress().IsZero())
	pr, pw := io.Pipe()
	req := httptest.NewRequest(http.MethodPost, "/", pr)
	req.Header.Set("Content-Type", "text/plain")
	w := httptest.NewRecorder()
	done := make(chan struct{})
	go func() {
		defer close(done)
		tr.ServeHTTP(w, req)
	}()
	_, err := io.WriteString(pw, "4first half")
	require.NoError(t, err)
	require.Eventually(t, func() bool { return !tr.LastProgress().IsZero() }, time.Second, time.Millisecond,
		"bytes of the body arrived: progress, before the POST is complete")
	first := tr.LastProgress()
	select {
	case <-done:
		t.Fatal("the POST finished before its body did")
	default:
	}
	_, err = io.WriteString(pw, ", second half")
	require.NoError(t, err)
	require.NoError(t, pw.Close())
	<-done
	assert.Equal(t, "ok", w.Body.String())
	assert.False(t, tr.LastProgress().Before(first))
	s.fakeSession.mu.Lock()
	assert.Equal(t, []transport.Packet{transport.TextPacket("first half, second half")}, s.delivered)
	s.fakeSession.mu.Unlock()
	tr.Close()
	require.NoError(t, <-s.closed)
}

// chunkRecorder counts the writes and flushes of a response.
type chunkRecorder struct {
	*httptest.ResponseRecorder
	tr       *Transport
	progress []time.Time // LastProgress at each Write
}

func (c *chunkRecorder) Write(p []byte) (int, error) {
	c.progress = append(c.progress, c.tr.LastProgress())
	return c.ResponseRecorder.Write(p)
}

// A large GET response goes out in chunks, each recording progress once the
// client has taken it.
func TestGETWritesInChunks(t *testing.T) {
	s := &fakeSession{queue: []transport.Packet{transport.TextPacket(strings.Repeat("x", 3*writeChunk))}}
	tr := New(NewConfig(&Options{CompressionThreshold: -1, Logger: slog.New(slog.DiscardHandler)}), s)
	defer tr.Close()
	w := &chunkRecorder{ResponseRecorder: httptest.NewRecorder(), tr: tr}
	tr.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/", nil))
	assert.Equal(t, 1+3*writeChunk, w.Body.Len())
	require.Len(t, w.progress, 4, "3 full chunks and the rest")
	assert.True(t, w.progress[0].IsZero(), "nothing moved before the first chunk")
	for i := 1; i < len(w.progress); i++ {
		assert.False(t, w.progress[i].IsZero(), "chunk %d recorded progress", i)
	}
	assert.False(t, tr.LastProgress().IsZero())
}

// A large GET response that the connection took at once (as a socket
// buffer or a buffering proxy does) is taken to be still on its way to
// the client until its next GET, for at most WriteTimeout per 32 KiB: the
// heartbeat does not close a client that is receiving it.
func TestLargeResponseDrainsUntilNextGET(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const timeout = 2 * time.Second
		s := newRecordingSession()
		s.fakeSession.queue = []transport.Packet{transport.TextPacket(strings.Repeat("x", 4*writeChunk))}
		tr := New(NewConfig(&Options{WriteTimeout: timeout, CompressionThreshold: -1, Logger: slog.New(slog.DiscardHandler)}), s)
		w, cancel, done := serveGET(tr)
		defer cancel()
		<-done
		require.Equal(t, 1+4*writeChunk, w.Body.Len())
		written := time.Now()

		// 4 chunks: up to 4 WriteTimeouts for the client to take them.
		time.Sleep(4*timeout - time.Nanosecond)
		assert.Equal(t, time.Now(), tr.LastProgress(), "still taking the response")
		time.Sleep(time.Nanosecond)
		assert.Equal(t, written, tr.LastProgress(), "the bound passed: the last real progress")

		// The client's next GET ends the presumption at once.
		s.fakeSession.mu.Lock()
		s.fakeSession.queue = []transport.Packet{transport.TextPacket(strings.Repeat("y", 4*writeChunk))}
		s.fakeSession.mu.Unlock()
		_, cancel2, done := serveGET(tr)
		defer cancel2()
		<-done
		time.Sleep(time.Second)
		assert.Equal(t, time.Now(), tr.LastProgress())
		_, cancel3, done3 := serveGET(tr)
		defer cancel3()
		synctest.Wait()
		assert.Equal(t, time.Now().Add(-time.Second), tr.LastProgress(), "back with a GET: real progress only")
		tr.Close()
		<-done3
		require.NoError(t, <-s.closed)
	})
}
