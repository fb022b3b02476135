package polling

import (
	"compress/flate"
	"compress/gzip"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ferryio/ferry/internal/lifecycle"
	"github.com/ferryio/ferry/transport"
)

// Errors that close a session, passed to transport.Session.TransportClosed.
var (
	// ErrOverlappingGet reports a second GET while one was parked.
	ErrOverlappingGet = errors.New("polling: overlapping GET request")
	// ErrOverlappingPost reports a second POST while one was in flight.
	ErrOverlappingPost = errors.New("polling: overlapping POST request")
	// ErrPayloadTooLarge reports a POST body over the size limit.
	ErrPayloadTooLarge = errors.New("polling: POST body exceeds the maximum payload size")
	// ErrBinaryBody reports a POST with Content-Type application/octet-stream,
	// which Engine.IO v4 does not allow.
	ErrBinaryBody = errors.New("polling: binary POST bodies are not allowed in Engine.IO v4")
	// ErrGetAborted reports that the client went away while a GET was parked.
	ErrGetAborted = errors.New("polling: client aborted a pending GET")
)

// ErrGetReleased, as the cause of the context of a GET served with Poll,
// answers the GET at once without ending the transport: a server relaying
// GETs for another releases them so when it closes.
var ErrGetReleased = errors.New("polling: pending GET released")

// Config holds the settings shared by the polling transports of one
// engine. Build it once with NewConfig; it is safe for concurrent use.
type Config struct {
	maxBody              int64
	compressionThreshold int
	writeTimeout         time.Duration
	maxPollHold          time.Duration
	logger               *slog.Logger
	cuts                 cutDetector
	gzipPool             sync.Pool
	flatePool            sync.Pool
}

// Options configures NewConfig.
type Options struct {
	// MaxHTTPBufferSize is the largest POST body accepted, in bytes.
	// Default 1e6, as socket.io's maxHttpBufferSize.
	MaxHTTPBufferSize int64
	// CompressionThreshold is the smallest GET response body, in bytes,
	// that is gzip- or deflate-compressed when the client accepts it.
	// Default 1024, as socket.io's httpCompression.threshold. Negative
	// disables compression.
	CompressionThreshold int
	// WriteTimeout bounds the writing of each response, a GET's payload
	// 32 KiB at a time, a POST's answer. A client that stops reading fails
	// its GET when it passes, and the transport ends with an error wrapping
	// os.ErrDeadlineExceeded. Default 10s, as the WebSocket transport's.
	// socket.io sets no such bound. It needs a ResponseWriter that
	// supports http.ResponseController.SetWriteDeadline, as net/http's own
	// do for HTTP/1 and HTTP/2; with one that does not, responses are
	// written without a bound.
	WriteTimeout time.Duration
	// MaxPollHold caps how long a GET is held waiting for packets: when it
	// passes, the GET is answered with a noop packet and the client polls
	// again. Set it below the request timeout of any proxy or load
	// balancer between the clients and the server. Default 0: no cap, a
	// GET is held until there is something to send, at the latest the
	// next ping, as in socket.io.
	MaxPollHold time.Duration
	// PingInterval is the session's ping interval, the longest a GET is
	// held without MaxPollHold. GETs that the client's side ends, again
	// and again, at one age shorter than it are reported in one log line,
	// at most every 10 minutes, naming MaxPollHold. Default 0: no reports.
	PingInterval time.Duration
	// Logger receives transport-level diagnostics. Default slog.Default().
	Logger *slog.Logger
}

// NewConfig returns a Config for opts, which may be nil.
func NewConfig(opts *Options) *Config {
	var o Options
	if opts != nil {
		o = *opts
	}
	if o.MaxHTTPBufferSize <= 0 {
		o.MaxHTTPBufferSize = 1e6
	}
	if o.CompressionThreshold == 0 {
		o.CompressionThreshold = 1024
	}
	if o.WriteTimeout <= 0 {
		o.WriteTimeout = 10 * time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.MaxPollHold < 0 {
		o.MaxPollHold = 0
	}
	return &Config{
		maxBody:              o.MaxHTTPBufferSize,
		compressionThreshold: o.CompressionThreshold,
		writeTimeout:         o.WriteTimeout,
		maxPollHold:          o.MaxPollHold,
		logger:               o.Logger,
		cuts: cutDetector{
			logger:       o.Logger,
			pingInterval: o.PingInterval,
			hold:         o.MaxPollHold,
			now:          time.Now,
		},
	}
}

// Transport is a long-polling transport for one session. Create it with
// New and route the session's HTTP requests to ServeHTTP.
//
// It ends once, on Close, after writing a last batch, or when the client
// breaks a rule or goes away. It then tells the session with
// TransportClosed, as soon as no request of its is inside a Session call
// (a parked GET answers first), and closes Done.
type Transport struct {
	cfg  *Config
	sess transport.Session

	wake chan struct{} // signal: packets are queued (capacity 1)
	stop chan struct{} // closed when the transport ends: releases a parked GET
	done chan struct{} // closed after TransportClosed returned

	mu      sync.Mutex
	parked  bool // guarded by mu: a GET is waiting
	posting bool // guarded by mu: a POST is in flight
	// answering is guarded by mu: closed once the payload a GET is
	// answered with has been written (or, relayed, is known to have
	// been), or nil when no answer is in flight.
	answering chan struct{}
	// idleSince is guarded by mu: when the last GET was answered (at
	// first, when the transport was created), or zero while a GET is in
	// progress.
	idleSince time.Time
	// life is guarded by mu. Its users are the GET and POST handlers that
	// may call the session; its reason is nil for Close or a last batch.
	life lifecycle.Tracker
	// progress is when bytes of a POST body last arrived or bytes of a GET
	// response were last taken by the client, in Unix nanoseconds.
	progress atomic.Int64
	// drainUntil, in Unix nanoseconds, bounds how long the client may
	// still be taking the last large GET response after the connection
	// took it (a socket buffer or a buffering proxy can take it all at
	// once): WriteTimeout per 32 KiB, as for a write that waits. Zero once
	// the client is back with its next GET.
	drainUntil atomic.Int64
}

// New returns a polling transport bound to sess.
func New(cfg *Config, sess transport.Session) *Transport {
	return &Transport{
		cfg:       cfg,
		sess:      sess,
		wake:      make(chan struct{}, 1),
		stop:      make(chan struct{}),
		done:      make(chan struct{}),
		idleSince: time.Now(),
	}
}

// Name returns "polling".
func (t *Transport) Name() string { return transport.NamePolling }

// Wake signals a parked GET that packets are queued. It never blocks.
func (t *Transport) Wake() {
	select {
	case t.wake <- struct{}{}:
	default:
	}
}

// Done is closed once the transport has ended and the session has been
// told.
func (t *Transport) Done() <-chan struct{} { return t.done }

// Parked reports whether a GET is waiting for packets: whether packets
// queued now will be written without waiting for the client's next request.
func (t *Transport) Parked() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.parked
}

// IdleSince returns when the client's last GET was answered, or when the
// transport was created if none was yet: the client has not polled since.
// It returns the zero time while a GET is in progress, parked or being
// answered.
func (t *Transport) IdleSince() time.Time {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.idleSince
}

// LastProgress returns when bytes last moved between the client and this
// transport: a chunk of a POST body read, or a chunk of a GET response
// written. It is the zero time if none has. After a large GET response,
// which the connection may take long before the client has it, the client
// is taken to be receiving it (LastProgress is now) until its next GET, for
// at most WriteTimeout per 32 KiB. A client whose large POST is
// still arriving, or which is still taking a large GET response, is alive
// even if its pong is late: it is queued behind those bytes.
func (t *Transport) LastProgress() time.Time {
	if d := t.drainUntil.Load(); d != 0 {
		if now := time.Now(); now.UnixNano() < d {
			return now
		}
	}
	if n := t.progress.Load(); n != 0 {
		return time.Unix(0, n)
	}
	return time.Time{}
}

// moved records that bytes moved now.
func (t *Transport) moved() { t.progress.Store(time.Now().UnixNano()) }

// Close ends the transport. A parked GET is answered with the batch of one
// last Take if it returns packets, or with a close packet otherwise; later
// requests get a close packet (GET) or an error (POST). TransportClosed(nil)
// follows once no request is inside a Session call, which may be before
// Close returns. Close never blocks on the client.
func (t *Transport) Close() error {
	t.end(nil)
	return nil
}

// end ends the transport for reason, once.
func (t *Transport) end(reason error) {
	t.mu.Lock()
	first, report := t.life.EndLocked(reason)
	if first {
		close(t.stop)
	}
	t.mu.Unlock()
	if report {
		t.report(reason)
	}
}

// enterLocked registers a request handler that may call the session; it
// reports false once the transport has ended.
func (t *Transport) enterLocked() bool { return t.life.EnterLocked() }

// leave unregisters a request handler; the last one out after the end
// tells the session.
func (t *Transport) leave() {
	t.mu.Lock()
	report, reason := t.life.LeaveLocked()
	t.mu.Unlock()
	if report {
		t.report(reason)
	}
}

// report tells the session why the transport ended, then closes Done.
func (t *Transport) report(reason error) {
	t.sess.TransportClosed(t, reason)
	close(t.done)
}

// endReason returns why the transport ended; ok is false while it has not.
func (t *Transport) endReason() (reason error, ok bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.life.EndedLocked()
}

// ServeHTTP handles one long-polling request for the session: GET receives,
// POST sends. Other methods get 400.
func (t *Transport) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodGet:
		t.poll(w, r)
	case http.MethodPost:
		t.post(w, r)
	default:
		t.cfg.writeError(w, http.StatusBadRequest, transport.CodeBadRequest)
	}
}

// WriteError writes an Engine.IO error response: status, and the JSON body
// for code.
func WriteError(w http.ResponseWriter, status int, code transport.ErrorCode) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Del("Content-Encoding")
	w.WriteHeader(status)
	w.Write(code.AppendJSON(nil))
}

// startWrite bounds the response about to be written to w by WriteTimeout
// from now. net/http clears the deadline once the response is done.
func (c *Config) startWrite(w http.ResponseWriter) {
	err := http.NewResponseController(w).SetWriteDeadline(time.Now().Add(c.writeTimeout))
	if errors.Is(err, http.ErrNotSupported) {
		c.logger.Debug("polling: response written without a write deadline", "err", err)
	}
}

// flush writes out what net/http still buffers of a response, so that a
// client that stops reading fails the write here, whatever the size of the
// body, rather than in net/http after the handler returned, where no one
// hears of it.
func (c *Config) flush(w http.ResponseWriter) error {
	err := http.NewResponseController(w).Flush()
	if errors.Is(err, http.ErrNotSupported) {
		return nil
	}
	return err
}

// writeError is WriteError within WriteTimeout.
func (c *Config) writeError(w http.ResponseWriter, status int, code transport.ErrorCode) {
	c.startWrite(w)
	WriteError(w, status, code)
}

// compressor returns a pooled compressing writer over w for the given
// content coding ("gzip" or "deflate"), and a function returning it.
func (c *Config) compressor(coding string, w io.Writer) (io.WriteCloser, func()) {
	switch coding {
	case "gzip":
		zw, _ := c.gzipPool.Get().(*gzip.Writer)
		if zw == nil {
			zw, _ = gzip.NewWriterLevel(w, gzip.DefaultCompression)
		} else {
			zw.Reset(w)
		}
		return zw, func() { c.gzipPool.Put(zw) }
	default:
		fw, _ := c.flatePool.Get().(*flate.Writer)
		if fw == nil {
			fw, _ = flate.NewWriter(w, flate.DefaultCompression)
		} else {
			fw.Reset(w)
		}
		return fw, func() { c.flatePool.Put(fw) }
	}
}
