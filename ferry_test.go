package ferry_test

import (
	"context"
	"log/slog"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ferryio/ferry"
	"github.com/ferryio/ferry/client"
	"github.com/ferryio/ferry/parser"
)

// The root package's tests drive a ferry.Server on an httptest server
// (127.0.0.1, an OS-picked port) with the Go client, once per way of
// connecting (see run). Tests that must misbehave on the wire use the bare
// Engine.IO client of rawclient_test.go instead.

// within bounds every wait in these tests: nothing legitimate takes that
// long on a loaded machine, so reaching it means a lost message.
const within = 10 * time.Second

// mode is one way a test's clients connect: a transport set-up and a
// parser, the same on both ends.
type mode struct {
	name       string   // "polling", "websocket" or "upgrade"
	transports []string // the client's Options.Transports
	codec      parser.Codec
}

var transportModes = []struct {
	name       string
	transports []string
}{
	{"polling", []string{"polling"}},
	{"websocket", []string{"websocket"}},
	{"upgrade", []string{"polling", "websocket"}},
}

// run runs f as three parallel subtests: "polling" (the client polls
// only), "websocket" (WebSocket only) and "upgrade" (polling, then an
// upgrade to WebSocket), all with the default msgpack parser.
func run(t *testing.T, f func(t *testing.T, m mode)) {
	for _, tm := range transportModes {
		m := mode{name: tm.name, transports: tm.transports, codec: parser.Msgpack()}
		t.Run(tm.name, func(t *testing.T) {
			t.Parallel()
			f(t, m)
		})
	}
}

// runParsers is run under both parsers, as subtests "msgpack/polling" to
// "json/upgrade": for tests where the encoding of values matters.
func runParsers(t *testing.T, f func(t *testing.T, m mode)) {
	for _, codec := range []parser.Codec{parser.Msgpack(), parser.JSON()} {
		t.Run(codec.Name(), func(t *testing.T) {
			t.Parallel()
			for _, tm := range transportModes {
				m := mode{name: tm.name, transports: tm.transports, codec: codec}
				t.Run(tm.name, func(t *testing.T) {
					t.Parallel()
					f(t, m)
				})
			}
		})
	}
}

// upgrades reports whether the mode's clients upgrade to WebSocket.
func (m mode) upgrades() bool { return m.name == "upgrade" }

// quiet is a logger for servers and clients under test: failures are
// asserted on, not logged.
var quiet = slog.New(slog.DiscardHandler)

// testServer is a ferry.Server listening on 127.0.0.1.
type testServer struct {
	*ferry.Server
	URL  string
	mode mode
}

// serve starts a server configured by opts (which may be nil) with the
// mode's parser. Register handlers on it before connecting clients. It is
// closed when t ends, after the clients.
func (m mode) serve(t testing.TB, opts *ferry.Options) *testServer {
	t.Helper()
	var o ferry.Options
	if opts != nil {
		o = *opts
	}
	o.Parser = m.codec
	if o.Logger == nil {
		o.Logger = quiet
	}
	srv := ferry.NewServer(&o)
	hs := httptest.NewServer(srv)
	// Cleanups run last-in first-out: the Server first, which releases
	// held long-polls, then the listener, which waits for requests.
	t.Cleanup(hs.Close)
	t.Cleanup(func() { srv.Close() })
	return &testServer{Server: srv, URL: hs.URL, mode: m}
}

// clientOptions returns client options for the mode: no reconnection
// unless a test asks for it, so that what a test sees is what happened.
func (ts *testServer) clientOptions() *client.Options {
	return &client.Options{
		Transports:           ts.mode.transports,
		Parser:               ts.mode.codec,
		DisableReconnection:  true,
		ReconnectionDelay:    10 * time.Millisecond,
		ReconnectionDelayMax: 50 * time.Millisecond,
		Timeout:              within,
		Logger:               quiet,
	}
}

// dial opens a client connection, closed when t ends. opts defaults to
// clientOptions.
func (ts *testServer) dial(t testing.TB, opts *client.Options) *client.Client {
	t.Helper()
	if opts == nil {
		opts = ts.clientOptions()
	}
	c, err := client.Dial(bounded(t), ts.URL, opts)
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	return c
}

// connect dials a new client and joins namespace with auth (which may be
// nil). Handlers registered with on run before the CONNECT goes out, so
// they see the events the server's connection handlers emit.
func (ts *testServer) connect(t testing.TB, namespace string, auth any, on ...func(*client.Socket)) *client.Socket {
	t.Helper()
	s := ts.dial(t, nil).Socket(namespace, &client.SocketOptions{Auth: auth})
	for _, f := range on {
		f(s)
	}
	require.NoError(t, s.Connect(bounded(t)))
	return s
}

// socket returns the server's side of the client socket cs.
func (ts *testServer) socket(t testing.TB, cs *client.Socket) *ferry.Socket {
	t.Helper()
	s := ts.Of(cs.Namespace()).Socket(cs.ID())
	require.NotNil(t, s, "no server socket %q in %s", cs.ID(), cs.Namespace())
	return s
}

// upgraded waits, in upgrade mode, until the server socket s has moved to
// WebSocket, for tests whose outcome depends on the transport in use.
func (m mode) upgraded(t testing.TB, s *ferry.Socket) {
	t.Helper()
	if m.upgrades() {
		require.Eventually(t, func() bool { return s.Transport() == "websocket" }, within, time.Millisecond)
	}
}

// bounded returns a context that ends after within, or when t ends.
func bounded(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), within)
	t.Cleanup(cancel)
	return ctx
}

// events returns a channel receiving every event named name on s.
// Register it before the events can arrive.
func events(s *client.Socket, name string) <-chan *client.Event {
	ch := make(chan *client.Event, 4096)
	s.On(name, func(e *client.Event) { ch <- e })
	return ch
}

// recv receives from ch, failing t if nothing comes within the bound.
func recv[T any](t testing.TB, ch <-chan T) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(within):
		t.Fatalf("timed out waiting for a %T", *new(T))
		panic("unreachable")
	}
}

// arg decodes argument i of a client event into a T.
func arg[T any](t testing.TB, e *client.Event, i int) T {
	t.Helper()
	var v T
	require.Greater(t, len(e.Args), i, "event %q has too few arguments", e.Name)
	require.NoError(t, e.Args[i].Decode(&v))
	return v
}

// decodeRaw decodes one encoded value into a T.
func decodeRaw[T any](t testing.TB, r parser.Raw) T {
	t.Helper()
	var v T
	require.NoError(t, r.Decode(&v))
	return v
}

// reasons records disconnect reasons reported by the server.
type reasons chan string

// watch records s's disconnect reason.
func (r reasons) watch(s *ferry.Socket) {
	s.OnDisconnect(func(_ *ferry.Socket, why ferry.DisconnectReason) { r <- why.String() })
}

// middleware watches each socket as it joins, before its client is told it
// is connected: unlike a connection handler's watch, none can disconnect
// unwatched.
func (r reasons) middleware(s *ferry.Socket) error {
	r.watch(s)
	return nil
}

// clientReasons returns a channel receiving the client socket's disconnect
// reasons.
func clientReasons(s *client.Socket) <-chan client.DisconnectReason {
	ch := make(chan client.DisconnectReason, 8)
	s.OnDisconnect(func(r client.DisconnectReason) { ch <- r })
	return ch
}

// sockets returns a channel receiving every socket that joins nsp.
func sockets(nsp *ferry.Namespace) <-chan *ferry.Socket {
	ch := make(chan *ferry.Socket, 1024)
	nsp.OnConnection(func(s *ferry.Socket) { ch <- s })
	return ch
}

// defaultCodec is the server's default parser.
func defaultCodec() parser.Codec { return parser.Msgpack() }
