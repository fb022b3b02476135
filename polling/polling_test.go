package polling

import (
	"bytes"
	"compress/flate"
	"compress/gzip"
	"errors"
	"io"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ferryio/ferry/transport"
	"github.com/ferryio/ferry/transport/transporttest"
)

func TestConformance(t *testing.T) {
	transporttest.Run(t, makeTransport)
}

// makeTransport serves a polling transport bound to s on 127.0.0.1, and
// returns it with a peer that speaks GET and POST to it.
func makeTransport(t *testing.T, s transport.Session) (transport.Transport, transporttest.Peer) {
	tr := New(NewConfig(&Options{Logger: slog.New(slog.DiscardHandler)}), s)
	var p *transporttest.PollingPeer
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.Arrived(r)
		tr.ServeHTTP(w, r)
	}))
	p = transporttest.NewPollingPeer("http://" + srv.Listener.Addr().String())
	srv.Start()
	t.Cleanup(srv.Close)
	return tr, p
}

// fakeSession is a transport.Session that hands out a fixed queue once.
type fakeSession struct {
	mu    sync.Mutex
	queue []transport.Packet
}

func (s *fakeSession) Take(transport.Transport) ([]transport.Packet, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	pkts := s.queue
	s.queue = nil
	return pkts, false
}

func (s *fakeSession) Deliver(transport.Transport, transport.Packet) error { return nil }
func (s *fakeSession) TransportClosed(transport.Transport, error)          {}

// get serves one GET with the given Accept-Encoding for a transport whose
// session has pkts queued.
func get(t *testing.T, cfg *Config, acceptEncoding string, pkts ...transport.Packet) *httptest.ResponseRecorder {
	t.Helper()
	tr := New(cfg, &fakeSession{queue: pkts})
	defer tr.Close()
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	if acceptEncoding != "" {
		req.Header.Set("Accept-Encoding", acceptEncoding)
	}
	w := httptest.NewRecorder()
	tr.ServeHTTP(w, req)
	require.Equal(t, http.StatusOK, w.Code)
	return w
}

func TestResponseHeaders(t *testing.T) {
	cfg := NewConfig(nil)
	w := get(t, cfg, "", transport.TextPacket("hé"), transport.BinaryPacket([]byte{1}))
	assert.Equal(t, "4hé\x1ebAQ==", w.Body.String())
	assert.Equal(t, "text/plain; charset=UTF-8", w.Header().Get("Content-Type"))
	assert.Equal(t, "no-store", w.Header().Get("Cache-Control"))
	assert.Equal(t, strconv.Itoa(w.Body.Len()), w.Header().Get("Content-Length"))
	assert.Empty(t, w.Header().Get("Content-Encoding"))
}

func TestCompression(t *testing.T) {
	cfg := NewConfig(&Options{CompressionThreshold: 1024})
	big := transport.TextPacket(strings.Repeat("compress me ", 100)) // 1201 bytes encoded
	atThreshold := transport.TextPacket(strings.Repeat("x", 1023))   // 1024 bytes encoded
	small := transport.TextPacket(strings.Repeat("y", 1022))         // 1023 bytes encoded

	for _, tc := range []struct {
		name, accept, coding string
		pkt                  transport.Packet
	}{
		{"gzip", "gzip, deflate, br", "gzip", big},
		{"deflate only", "deflate", "deflate", big},
		{"gzip refused with q=0", "gzip;q=0, deflate", "deflate", big},
		{"at the threshold", "gzip", "gzip", atThreshold},
		{"below the threshold", "gzip", "", small},
		{"no Accept-Encoding", "", "", big},
		{"unsupported coding", "br, identity", "", big},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := get(t, cfg, tc.accept, tc.pkt)
			assert.Equal(t, tc.coding, w.Header().Get("Content-Encoding"))
			assert.Equal(t, strconv.Itoa(w.Body.Len()), w.Header().Get("Content-Length"))
			body := w.Body.Bytes()
			switch tc.coding {
			case "gzip":
				zr, err := gzip.NewReader(bytes.NewReader(body))
				require.NoError(t, err)
				body, err = io.ReadAll(zr)
				require.NoError(t, err)
			case "deflate":
				var err error
				body, err = io.ReadAll(flate.NewReader(bytes.NewReader(body)))
				require.NoError(t, err)
			}
			if tc.coding != "" {
				assert.Less(t, w.Body.Len(), len(body), "compression made it larger")
				assert.Contains(t, w.Header().Values("Vary"), "Accept-Encoding")
			}
			assert.Equal(t, string(transport.EncodePacket(tc.pkt)), string(body))
		})
	}

	// The pooled writers are reused without mixing bodies.
	for i := range 5 {
		p := transport.TextPacket(strings.Repeat(strconv.Itoa(i), 2000))
		w := get(t, cfg, "gzip", p)
		zr, err := gzip.NewReader(w.Body)
		require.NoError(t, err)
		body, err := io.ReadAll(zr)
		require.NoError(t, err)
		assert.Equal(t, string(transport.EncodePacket(p)), string(body))
	}

	// A response made only of packets marked NoCompress is not
	// compressed; one with any other packet is.
	noCompress := func(p transport.Packet) transport.Packet { p.NoCompress = true; return p }
	assert.Empty(t, get(t, cfg, "gzip", noCompress(big)).Header().Get("Content-Encoding"))
	assert.Empty(t, get(t, cfg, "gzip", noCompress(big), noCompress(small)).Header().Get("Content-Encoding"))
	assert.Equal(t, "gzip", get(t, cfg, "gzip", noCompress(big), transport.TextPacket("x")).Header().Get("Content-Encoding"))

	// A negative threshold disables compression.
	off := NewConfig(&Options{CompressionThreshold: -1})
	assert.Empty(t, get(t, off, "gzip", big).Header().Get("Content-Encoding"))
}

func TestAcceptedCoding(t *testing.T) {
	for header, want := range map[string]string{
		"":                          "",
		"gzip":                      "gzip",
		"GZIP":                      "gzip",
		"deflate":                   "deflate",
		"deflate, gzip":             "gzip",
		"gzip;q=0":                  "",
		"gzip; q=0, deflate":        "deflate",
		"gzip;q=0.0, deflate;q=0":   "",
		"gzip;q=0.5":                "gzip",
		"deflate;q=1.0, gzip;q=0":   "deflate",
		"br, zstd":                  "",
		" gzip ,identity":           "gzip",
		"identity;q=1, *;q=0":       "",
		"x-gzip":                    "",
		"deflate;q=0.001, br;q=0.9": "deflate",
	} {
		assert.Equal(t, want, acceptedCoding(header), "Accept-Encoding: %q", header)
	}
}

func TestNewConfigDefaults(t *testing.T) {
	c := NewConfig(nil)
	assert.Equal(t, int64(1e6), c.maxBody)
	assert.Equal(t, 1024, c.compressionThreshold)
	assert.Equal(t, 10*time.Second, c.writeTimeout)
	assert.NotNil(t, c.logger)
	opts := &Options{MaxHTTPBufferSize: 10, CompressionThreshold: 20, WriteTimeout: time.Second}
	c = NewConfig(opts)
	assert.Equal(t, int64(10), c.maxBody)
	assert.Equal(t, 20, c.compressionThreshold)
	assert.Equal(t, time.Second, c.writeTimeout)
	assert.Nil(t, opts.Logger, "NewConfig modified its options")
}

func TestWriteError(t *testing.T) {
	for code, body := range map[transport.ErrorCode]string{
		transport.CodeUnknownTransport:   `{"code":0,"message":"Transport unknown"}`,
		transport.CodeUnknownSID:         `{"code":1,"message":"Session ID unknown"}`,
		transport.CodeBadHandshakeMethod: `{"code":2,"message":"Bad handshake method"}`,
		transport.CodeBadRequest:         `{"code":3,"message":"Bad request"}`,
		transport.CodeForbidden:          `{"code":4,"message":"Forbidden"}`,
		transport.CodeUnsupportedVersion: `{"code":5,"message":"Unsupported protocol version"}`,
	} {
		w := httptest.NewRecorder()
		w.Header().Set("Content-Encoding", "gzip")
		WriteError(w, http.StatusBadRequest, code)
		assert.Equal(t, http.StatusBadRequest, w.Code)
		assert.Equal(t, "application/json", w.Header().Get("Content-Type"))
		assert.Empty(t, w.Header().Get("Content-Encoding"))
		assert.Equal(t, body, w.Body.String())
	}
}

// recordingSession records what a transport delivers and why it ended.
type recordingSession struct {
	fakeSession
	delivered []transport.Packet // guarded by fakeSession.mu
	closed    chan error         // TransportClosed's reason
}

func newRecordingSession() *recordingSession {
	return &recordingSession{closed: make(chan error, 1)}
}

func (s *recordingSession) Deliver(_ transport.Transport, p transport.Packet) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.delivered = append(s.delivered, p)
	return nil
}

func (s *recordingSession) TransportClosed(_ transport.Transport, err error) { s.closed <- err }

// post serves one POST to a fresh transport and returns the response and
// the reason the transport ended, if it did.
func post(t *testing.T, cfg *Config, contentType, body string) (*httptest.ResponseRecorder, *recordingSession, error) {
	t.Helper()
	s := newRecordingSession()
	tr := New(cfg, s)
	req := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(body))
	req.Header.Set("Content-Type", contentType)
	w := httptest.NewRecorder()
	tr.ServeHTTP(w, req)
	select {
	case err := <-s.closed:
		return w, s, err
	default:
	}
	tr.Close()
	require.NoError(t, <-s.closed)
	return w, s, nil
}

func TestPOST(t *testing.T) {
	cfg := NewConfig(&Options{MaxHTTPBufferSize: 16})
	w, s, err := post(t, cfg, "text/plain;charset=UTF-8", "4a\x1ebAQID")
	require.NoError(t, err)
	assert.Equal(t, http.StatusOK, w.Code)
	assert.Equal(t, "ok", w.Body.String())
	assert.Equal(t, "text/html", w.Header().Get("Content-Type"))
	assert.Equal(t, []transport.Packet{transport.TextPacket("a"), transport.BinaryPacket([]byte{1, 2, 3})}, s.delivered)

	w, _, err = post(t, cfg, "text/plain", strings.Repeat("4", 17))
	assert.Equal(t, http.StatusRequestEntityTooLarge, w.Code)
	require.ErrorIs(t, err, ErrPayloadTooLarge)

	w, s, err = post(t, cfg, "application/octet-stream", "4a")
	assert.Equal(t, http.StatusBadRequest, w.Code)
	require.ErrorIs(t, err, ErrBinaryBody)
	assert.Empty(t, s.delivered)

	w, s, err = post(t, cfg, "text/plain", "4a\x1e4b\x1e")
	assert.Equal(t, http.StatusBadRequest, w.Code)
	require.ErrorIs(t, err, transport.ErrInvalidPacket)
	assert.Equal(t, []transport.Packet{transport.TextPacket("a"), transport.TextPacket("b")}, s.delivered)

	var de *transport.DecodeError
	require.True(t, errors.As(err, &de))
	assert.Equal(t, 6, de.Offset)
}

// A GET whose client stops reading fails once WriteTimeout has passed, and
// the transport ends with that error; the handler does not stay behind.
func TestWriteTimeout(t *testing.T) {
	const timeout = 200 * time.Millisecond
	cfg := NewConfig(&Options{WriteTimeout: timeout, CompressionThreshold: -1, Logger: slog.New(slog.DiscardHandler)})
	s := newRecordingSession()
	// 16 MiB: more than the socket buffers of both ends hold.
	big := transport.TextPacket(strings.Repeat("x", 1<<20))
	for range 16 {
		s.queue = append(s.queue, big)
	}
	tr := New(cfg, s)
	returned := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer close(returned)
		tr.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	conn, err := net.Dial("tcp", srv.Listener.Addr().String())
	require.NoError(t, err)
	t.Cleanup(func() { conn.Close() }) // before srv.Close, which waits for the handler
	require.NoError(t, conn.(*net.TCPConn).SetReadBuffer(4<<10))
	start := time.Now()
	_, err = io.WriteString(conn, "GET / HTTP/1.1\r\nHost: ferry\r\n\r\n")
	require.NoError(t, err)

	select {
	case err := <-s.closed:
		require.ErrorIs(t, err, os.ErrDeadlineExceeded)
	case <-time.After(transporttest.Timeout):
		t.Fatal("the GET is still writing to a client that does not read")
	}
	elapsed := time.Since(start)
	assert.GreaterOrEqual(t, elapsed, timeout)
	assert.Less(t, elapsed, timeout+2*time.Second, "encoding comes before the deadline starts; allow for it")
	select {
	case <-returned:
	case <-time.After(transporttest.Timeout):
		t.Fatal("the handler did not return")
	}
	<-tr.Done()
}

func TestOctetStreamAsParseMediaType(t *testing.T) {
	// isOctetStream finds application/octet-stream where
	// mime.ParseMediaType does, parameters and case aside.
	for _, ct := range []string{
		"", "application/octet-stream", "Application/Octet-Stream", " application/octet-stream ; charset=x",
		"application/octet-stream;;", "application/octet-stream; a", "application/octet-streamx",
		"text/plain;charset=UTF-8", "application/octet-stream/x", "application /octet-stream",
	} {
		mt, _, _ := mime.ParseMediaType(ct)
		assert.Equal(t, mt == "application/octet-stream", isOctetStream(ct), "Content-Type %q", ct)
	}
}

func TestPOSTBodyShorterThanItsLength(t *testing.T) {
	// A body that ends before its Content-Length is a bad request, and
	// nothing of it is delivered.
	cfg := NewConfig(&Options{MaxHTTPBufferSize: 16})
	s := newRecordingSession()
	tr := New(cfg, s)
	req := httptest.NewRequest(http.MethodPost, "/", strings.NewReader("4a"))
	req.ContentLength = 5
	w := httptest.NewRecorder()
	tr.ServeHTTP(w, req)
	assert.Equal(t, http.StatusBadRequest, w.Code)
	require.ErrorIs(t, <-s.closed, io.ErrUnexpectedEOF)
	assert.Empty(t, s.delivered)
}
