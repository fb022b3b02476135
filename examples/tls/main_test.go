package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ferryio/ferry/internal/nodetest"
	"github.com/ferryio/ferry/parser"
	"github.com/gorilla/websocket"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// server is the example serving over TLS on 127.0.0.1 with a certificate
// the test made.
type server struct {
	url    string          // https://127.0.0.1:port
	cert   tls.Certificate // self-signed for 127.0.0.1
	caFile string          // the certificate, PEM
	pool   *x509.CertPool  // trusting it
}

// start runs serve with a fresh self-signed certificate until the test
// ends; serve must then return nil.
func start(t *testing.T, deflate bool) *server {
	t.Helper()
	cert, err := selfSigned([]string{"127.0.0.1"}, time.Hour)
	require.NoError(t, err)
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	require.NoError(t, os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Leaf.Raw}), 0o600))
	pool := x509.NewCertPool()
	pool.AddCert(cert.Leaf)

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- serve(ctx, ln, cert, deflate, slog.New(slog.DiscardHandler)) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-served:
			assert.NoError(t, err)
		case <-time.After(shutdownTimeout + 5*time.Second):
			t.Error("serve did not return after its context was cancelled")
		}
	})
	return &server{url: "https://" + ln.Addr().String(), cert: cert, caFile: caFile, pool: pool}
}

// client returns an HTTP client trusting the server's certificate, which
// speaks HTTP/2 when h2, and HTTP/1.1 otherwise.
func (s *server) client(t *testing.T, h2 bool) *http.Client {
	t.Helper()
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: s.pool}, ForceAttemptHTTP2: h2}
	if !h2 {
		tr.TLSClientConfig.NextProtos = []string{"http/1.1"}
	}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 10 * time.Second}
}

func TestSelfSigned(t *testing.T) {
	cert, err := selfSigned([]string{"localhost", "127.0.0.1", "::1"}, time.Hour)
	require.NoError(t, err)
	leaf := cert.Leaf
	assert.Equal(t, []string{"localhost"}, leaf.DNSNames)
	require.Len(t, leaf.IPAddresses, 2)
	assert.True(t, leaf.IPAddresses[0].Equal(net.ParseIP("127.0.0.1")))
	assert.True(t, leaf.IPAddresses[1].Equal(net.ParseIP("::1")))
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	for _, host := range []string{"localhost", "127.0.0.1", "::1"} {
		_, err := leaf.Verify(x509.VerifyOptions{DNSName: host, Roots: pool})
		assert.NoError(t, err, host)
	}
	_, err = leaf.Verify(x509.VerifyOptions{DNSName: "example.com", Roots: pool})
	assert.Error(t, err)

	_, err = loadOrMake("cert.pem", "")
	assert.ErrorContains(t, err, "-cert and -key go together")
}

// TestOfficialClient: socket.io-client in Node, trusting the test's
// certificate, long-polls over https://, upgrades to wss:// with
// permessage-deflate and echoes 256 KiB; one that does not trust it is
// refused.
func TestOfficialClient(t *testing.T) {
	t.Parallel()
	s := start(t, true)
	out := nodetest.Run(t, 30*time.Second, "tls-client.mjs", []string{s.url, s.caFile})
	var got struct{ Poll, WS, Extensions string }
	require.NoError(t, json.Unmarshal([]byte(out), &got), out)
	assert.Equal(t, s.url+"/socket.io/", got.Poll)
	assert.Equal(t, "wss"+strings.TrimPrefix(s.url, "https")+"/socket.io/", got.WS)
	assert.Contains(t, got.Extensions, "permessage-deflate")
}

// TestBrowser: the page in headless Chromium (certificate errors ignored)
// comes over https, long-polls over HTTP/2, upgrades to wss:// with
// permessage-deflate, and echoes 256 KiB.
func TestBrowser(t *testing.T) {
	t.Parallel()
	const chromium = "/usr/bin/chromium"
	if _, err := os.Stat(chromium); err != nil {
		t.Fatalf("Chromium is not installed at %s: run make deps (%v)", chromium, err)
	}
	dir := os.Getenv("FERRY_ARTIFACTS")
	if dir == "" {
		var err error
		dir, err = filepath.Abs(filepath.Join("..", "..", "artifacts"))
		require.NoError(t, err)
	}
	s := start(t, true)
	out := nodetest.Run(t, 60*time.Second, "tls-browser.mjs", []string{s.url, dir}, "CHROMIUM_PATH="+chromium)
	var got struct {
		PollProtocol string
		WS           string
		Extensions   string
		Result       struct{ State, Transport, Secure string }
	}
	require.NoError(t, json.Unmarshal([]byte(out), &got), out)
	assert.Equal(t, "h2", got.PollProtocol)
	assert.Equal(t, "wss"+strings.TrimPrefix(s.url, "https")+"/socket.io/", got.WS)
	assert.Contains(t, got.Extensions, "permessage-deflate")
	assert.Equal(t, "ok", got.Result.State)
	assert.Equal(t, "websocket", got.Result.Transport)
}

// TestHTTP2LongPolling: a Go client speaking HTTP/2 opens a session with
// long-polling (every request on one HTTP/2 connection), joins, and gets
// an event from a parked long-poll; then upgrades the session to wss://,
// which is an HTTP/1.1 request on a connection of its own.
func TestHTTP2LongPolling(t *testing.T) {
	t.Parallel()
	s := start(t, true)
	hc := s.client(t, true)
	base := s.url + "/socket.io/?EIO=4&transport=polling"
	do := func(method, url, body string) string {
		t.Helper()
		req, err := http.NewRequest(method, url, strings.NewReader(body))
		require.NoError(t, err)
		resp, err := hc.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, resp.StatusCode, string(b))
		assert.Equal(t, "HTTP/2.0", resp.Proto, "%s %s", method, url)
		return string(b)
	}
	open := do(http.MethodGet, base, "")
	require.True(t, strings.HasPrefix(open, "0{"), open)
	var hs struct {
		SID      string   `json:"sid"`
		Upgrades []string `json:"upgrades"`
	}
	require.NoError(t, json.Unmarshal([]byte(open[1:]), &hs))
	assert.Equal(t, []string{"websocket"}, hs.Upgrades)
	sess := base + "&sid=" + hs.SID

	// The example uses Ferry's default parser, msgpack: its packets are
	// binary, "b" and base64 on long-polling.
	codec := parser.Msgpack()
	dec := codec.NewDecoder()
	encode := func(p *parser.Packet) []byte {
		t.Helper()
		frames, err := codec.Encode(p)
		require.NoError(t, err)
		require.Len(t, frames, 1)
		require.True(t, frames[0].Binary)
		return frames[0].Data
	}
	decode := func(data []byte) *parser.Message {
		t.Helper()
		m, err := dec.Decode(data, true)
		require.NoError(t, err)
		require.NotNil(t, m)
		return m
	}

	// A GET parked while the POST that joins is answered: two requests at
	// once on the one HTTP/2 connection.
	parked := make(chan string, 1)
	go func() { parked <- do(http.MethodGet, sess, "") }()
	connect := "b" + base64.StdEncoding.EncodeToString(encode(&parser.Packet{Type: parser.Connect, Namespace: "/"}))
	assert.Equal(t, "ok", do(http.MethodPost, sess, connect))
	var got string
	select {
	case got = <-parked:
	case <-time.After(10 * time.Second):
		t.Fatal("the parked GET was not answered")
	}
	require.True(t, strings.HasPrefix(got, "b"), "%q", got)
	data, err := base64.StdEncoding.DecodeString(got[1:])
	require.NoError(t, err)
	assert.Equal(t, parser.Connect, decode(data).Type, "the CONNECT reply")

	// The upgrade: HTTP/1.1 over TLS (gorilla's dialer asks for it by ALPN).
	d := websocket.Dialer{TLSClientConfig: &tls.Config{RootCAs: s.pool}, HandshakeTimeout: 10 * time.Second, EnableCompression: true}
	wsURL := "wss" + strings.TrimPrefix(s.url, "https") + "/socket.io/?EIO=4&transport=websocket&sid=" + hs.SID
	ws, resp, err := d.Dial(wsURL, nil)
	require.NoError(t, err)
	defer ws.Close()
	assert.Equal(t, "HTTP/1.1", resp.Proto)
	assert.Contains(t, resp.Header.Get("Sec-WebSocket-Extensions"), "permessage-deflate")
	ws.SetReadDeadline(time.Now().Add(10 * time.Second))
	require.NoError(t, ws.WriteMessage(websocket.TextMessage, []byte("2probe")))
	_, probe, err := ws.ReadMessage()
	require.NoError(t, err)
	require.Equal(t, "3probe", string(probe))
	require.NoError(t, ws.WriteMessage(websocket.TextMessage, []byte("5")))
	// The session is on WebSocket now: an echo of 64 KiB is answered
	// there, its reply compressed.
	rows := make([]row, 1200)
	for i := range rows {
		rows[i] = row{ID: i, User: "user", Text: "the quick brown fox", Tags: []string{"a", "b"}, OK: i%2 == 0}
	}
	event := &parser.Packet{Type: parser.Event, Namespace: "/", ID: 1, HasID: true, Args: []any{"echo", echo{Rows: rows}}}
	require.NoError(t, ws.WriteMessage(websocket.BinaryMessage, encode(event)))
	for {
		mt, msg, err := ws.ReadMessage()
		require.NoError(t, err)
		if mt == websocket.TextMessage {
			continue // a noop that released the last long-poll, or a ping
		}
		m := decode(msg)
		require.Equal(t, parser.Ack, m.Type)
		require.Equal(t, uint64(1), m.ID)
		var r reply
		require.NoError(t, parser.Args(m.Args).Decode(&r))
		assert.Equal(t, rows, r.Rows)
		assert.Equal(t, "websocket", r.Transport)
		assert.True(t, r.Secure)
		break
	}
}

// TestHTTP1LongPolling: clients that do not offer HTTP/2 long-poll over
// HTTP/1.1 on the same port.
func TestHTTP1LongPolling(t *testing.T) {
	t.Parallel()
	s := start(t, false)
	resp, err := s.client(t, false).Get(s.url + "/socket.io/?EIO=4&transport=polling")
	require.NoError(t, err)
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.NoError(t, err)
	assert.Equal(t, "HTTP/1.1", resp.Proto)
	assert.True(t, strings.HasPrefix(string(body), "0{"), "%s", body)
}

// TestPlainHTTPRefused: a plain-HTTP request on the TLS port gets
// net/http's 400 answer, not the page.
func TestPlainHTTPRefused(t *testing.T) {
	t.Parallel()
	s := start(t, false)
	resp, err := http.Get("http" + strings.TrimPrefix(s.url, "https") + "/")
	require.NoError(t, err)
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.NoError(t, err)
	http.DefaultClient.CloseIdleConnections()
	assert.Equal(t, http.StatusBadRequest, resp.StatusCode)
	assert.Contains(t, string(body), "HTTPS")
}
