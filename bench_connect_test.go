package ferry_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/ferryio/ferry"
	"github.com/ferryio/ferry/parser"
	"github.com/ferryio/ferry/transport"
)

// BenchmarkPollingConnect measures what a long-polling connect costs the
// server's own code, as socket.io-client makes it: the handshake GET
// (answered with the open packet), the CONNECT to "/" by POST, and the GET
// that collects the CONNECT reply. The requests are served by
// Server.ServeHTTP directly, built by hand and answered into a reused
// connectRecorder, so that neither net/http's per-request cost (reading, parsing
// and writing on a connection; bench/'s connect scenario measures the
// whole, and a bare net/http handler for reference) nor the benchmark's
// own is counted. One operation is one connect; every 1,000 the sessions
// are closed, off the clock.
func BenchmarkPollingConnect(b *testing.B) {
	srv := ferry.NewServer(&ferry.Options{PingInterval: time.Hour, PingTimeout: time.Hour, Logger: quiet})
	b.Cleanup(func() { srv.Close() })
	frames, err := parser.Msgpack().Encode(&parser.Packet{Type: parser.Connect, Namespace: "/"})
	if err != nil {
		b.Fatal(err)
	}
	connect := transport.EncodePayload([]transport.Packet{transport.BinaryPacket(frames[0].Data)})
	const query = "EIO=4&transport=polling"
	request := func(method, query string, body []byte) *http.Request {
		r := &http.Request{
			Method: method, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
			URL:        &url.URL{Path: "/socket.io/", RawQuery: query},
			RequestURI: "/socket.io/?" + query,
			Host:       "example.com",
			Header:     http.Header{},
			RemoteAddr: "192.0.2.1:1234",
			Body:       http.NoBody,
		}
		if body != nil {
			r.Header["Content-Type"] = []string{"text/plain;charset=UTF-8"}
			r.ContentLength = int64(len(body))
			r.Body = io.NopCloser(bytes.NewReader(body))
		}
		return r.WithContext(context.Background())
	}
	w := &connectRecorder{header: http.Header{}}
	serve := func(r *http.Request) []byte {
		w.reset()
		srv.ServeHTTP(w, r)
		if w.code != http.StatusOK {
			b.Fatalf("%s %s: %d %q", r.Method, r.URL, w.code, w.body.Bytes())
		}
		return w.body.Bytes()
	}
	handshake := request(http.MethodGet, query, nil)
	ctx := context.Background()
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		open := serve(handshake)
		if len(open) == 0 || open[0] != '0' {
			b.Fatalf("handshake answered %q", open)
		}
		withSID := query + "&sid=" + openSID(b, open[1:])
		if body := serve(request(http.MethodPost, withSID, connect)); string(body) != "ok" {
			b.Fatalf("POST answered %q", body)
		}
		if reply := serve(request(http.MethodGet, withSID, nil)); len(reply) == 0 || reply[0] != 'b' {
			b.Fatalf("GET answered %q, want the CONNECT reply", reply)
		}
		if i%1000 == 999 {
			b.StopTimer()
			if err := srv.Of("/").DisconnectSockets(ctx, true); err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
		}
	}
}

// connectRecorder is a reusable http.ResponseWriter that keeps the status and
// body of the last response.
type connectRecorder struct {
	header http.Header
	code   int
	body   bytes.Buffer
}

func (w *connectRecorder) reset() {
	clear(w.header)
	w.code = 0
	w.body.Reset()
}

func (w *connectRecorder) Header() http.Header { return w.header }

func (w *connectRecorder) WriteHeader(code int) {
	if w.code == 0 {
		w.code = code
	}
}

// SetWriteDeadline accepts the deadline that the transports set on every
// response (see http.ResponseController), as net/http's writer does.
func (w *connectRecorder) SetWriteDeadline(time.Time) error { return nil }

// Flush does nothing: the body is kept whole.
func (w *connectRecorder) Flush() {}

func (w *connectRecorder) Write(p []byte) (int, error) {
	w.WriteHeader(http.StatusOK)
	return w.body.Write(p)
}
