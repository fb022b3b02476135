package client_test

import (
	"context"
	"crypto/rand"
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ferryio/ferry/client"
	"github.com/ferryio/ferry/parser"
)

// mode is one combination of parser and transports a test runs under.
type mode struct {
	parser     string   // "msgpack" or "json"
	transports []string // client.Options.Transports
}

var transportModes = []struct {
	name       string
	transports []string
}{
	{"polling", []string{"polling"}},
	{"websocket", []string{"websocket"}},
	{"upgrade", []string{"polling", "websocket"}},
}

func codecFor(name string) parser.Codec {
	if name == "json" {
		return parser.JSON()
	}
	return parser.Msgpack()
}

// run runs f as parallel subtests for each parser and each of polling,
// websocket, and polling then upgrade.
func run(t *testing.T, f func(t *testing.T, m mode)) {
	for _, p := range []string{"msgpack", "json"} {
		for _, tm := range transportModes {
			m := mode{parser: p, transports: tm.transports}
			t.Run(p+"/"+tm.name, func(t *testing.T) {
				t.Parallel()
				f(t, m)
			})
		}
	}
}

// upgrades reports whether the mode upgrades from polling to WebSocket.
func (m mode) upgrades() bool { return len(m.transports) == 2 }

func (m mode) server(t testing.TB) string {
	return refServer(t, serverConfig{parser: m.parser})
}

// options returns client options for m with fast reconnection.
func (m mode) options() *client.Options {
	return &client.Options{
		Transports:           m.transports,
		Parser:               codecFor(m.parser),
		ReconnectionDelay:    10 * time.Millisecond,
		ReconnectionDelayMax: 50 * time.Millisecond,
		Timeout:              5 * time.Second,
		Logger:               slog.New(slog.DiscardHandler),
	}
}

// dial connects to url and closes the client when t ends.
func dial(t testing.TB, url string, opts *client.Options) *client.Client {
	t.Helper()
	c, err := client.Dial(testCtx(t), url, opts)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, c.Close()) })
	return c
}

// connect joins namespace with auth and fails t on error.
func connect(t testing.TB, c *client.Client, namespace string, auth any) *client.Socket {
	t.Helper()
	s := c.Socket(namespace, &client.SocketOptions{Auth: auth})
	require.NoError(t, s.Connect(testCtx(t)))
	return s
}

// testCtx returns a context that bounds one step of a test.
func testCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// collect returns a channel receiving every event named name on s.
func collect(s *client.Socket, name string) <-chan *client.Event {
	ch := make(chan *client.Event, 4096)
	s.On(name, func(e *client.Event) { ch <- e })
	return ch
}

// next receives from ch or fails t after a few seconds.
func next[T any](t testing.TB, ch <-chan T) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(10 * time.Second):
		t.Fatalf("timed out waiting for %T", *new(T))
		panic("unreachable")
	}
}

// decode decodes a raw value into a T.
func decode[T any](t testing.TB, r parser.Raw) T {
	t.Helper()
	var v T
	require.NoError(t, r.Decode(&v))
	return v
}

// ack emits event with args on s, waits for the acknowledgement and returns
// its arguments.
func ack(t testing.TB, s *client.Socket, event string, args ...any) parser.Args {
	t.Helper()
	res, err := s.EmitWithAck(testCtx(t), event, args...)
	require.NoError(t, err)
	return res
}

// token returns a unique auth token.
func token() string { return "tok-" + rand.Text() }
