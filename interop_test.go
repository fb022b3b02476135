package ferry_test

import (
	"context"
	"errors"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ferryio/ferry"
	"github.com/ferryio/ferry/internal/nodetest"
	"github.com/ferryio/ferry/parser"
)

// interopApp is the server side of internal/nodetest/node/socketio-suite.mjs:
// each event the script sends exercises one feature, and the script
// asserts on what comes back. Failures seen on the Go side are recorded in
// problems.
type interopApp struct {
	mu       sync.Mutex
	problems []string
	reasons  []string // disconnect reasons seen, in order
}

func (a *interopApp) fail(format string, args ...any) {
	a.mu.Lock()
	a.problems = append(a.problems, format)
	a.mu.Unlock()
}

func newInteropServer(t *testing.T, codec parser.Codec) (*httptest.Server, *interopApp) {
	app := &interopApp{}
	srv := ferry.NewServer(&ferry.Options{
		Parser:       codec,
		PingInterval: 200 * time.Millisecond,
		PingTimeout:  400 * time.Millisecond,
	})
	auth := func(s *ferry.Socket) error {
		var a struct {
			Token string `json:"token"`
		}
		if err := s.Handshake().DecodeAuth(&a); err != nil {
			return err
		}
		if a.Token == "bad" {
			return &ferry.ConnectError{Message: "not authorized", Data: map[string]any{"reason": "demo"}}
		}
		return nil
	}
	setup := func(s *ferry.Socket) {
		var a map[string]any
		s.Handshake().DecodeAuth(&a)
		s.Emit("hello", 1, "two", map[string]any{"a": []any{true, nil}}, a)
		s.On("echo", func(e *ferry.Event) {
			args := make([]any, len(e.Args))
			for i, r := range e.Args {
				args[i] = r // relayed without re-encoding
			}
			s.Emit("echo", args...)
		})
		s.On("echo-decoded", func(e *ferry.Event) {
			args := make([]any, len(e.Args))
			for i := range e.Args {
				if err := e.Args[i].Decode(&args[i]); err != nil {
					app.fail("decode echo-decoded arg")
				}
			}
			s.Emit("echo-decoded", args...)
		})
		s.On("ack-me", func(e *ferry.Event) {
			args := make([]any, len(e.Args))
			for i, r := range e.Args {
				args[i] = r
			}
			if err := e.Ack(args...); err != nil {
				app.fail("ack-me: " + err.Error())
			}
			if err := e.Ack("again"); !errors.Is(err, ferry.ErrAlreadyAcked) {
				app.fail("second ack was not refused")
			}
		})
		s.On("server-ack", func(e *ferry.Event) {
			go func() { // never wait for an ack on the read goroutine
				reply, err := s.Timeout(5*time.Second).EmitWithAck(context.Background(), "question", 42)
				if err != nil {
					app.fail("server-ack: " + err.Error())
					return
				}
				var n int
				if err := reply.Decode(&n); err != nil {
					app.fail("server-ack decode: " + err.Error())
				}
				s.Emit("answer", n)
			}()
		})
		ferry.HandleAck(s, "join", func(s *ferry.Socket, room string) (string, error) {
			s.Join(room)
			return room, nil
		})
		ferry.Handle(s, "to-room", func(s *ferry.Socket, m struct {
			Room string `json:"room"`
			Text string `json:"text"`
		}) error {
			return s.To(m.Room).Emit("room-message", m.Text)
		})
		ferry.Handle(s, "all-except", func(s *ferry.Socket, room string) error {
			return s.Namespace().Except(room).Emit("except-message", room)
		})
		s.On("disconnect-me", func(e *ferry.Event) { s.Disconnect(false) })
		s.On("close-transport", func(e *ferry.Event) { s.Conn().Close() })
		s.OnDisconnect(func(s *ferry.Socket, r ferry.DisconnectReason) {
			app.mu.Lock()
			app.reasons = append(app.reasons, r.String())
			app.mu.Unlock()
		})
	}
	srv.Use(auth)
	srv.OnConnection(setup)
	admin := srv.Of("/admin")
	admin.Use(auth)
	admin.OnConnection(setup)
	dyn := srv.OfRegexp(regexp.MustCompile(`^/dyn-\d+$`))
	dyn.OnConnection(func(s *ferry.Socket) { s.Emit("dynamic", s.Namespace().Name()) })

	ts := httptest.NewServer(srv)
	t.Cleanup(func() {
		ts.Close()
		srv.Close()
	})
	return ts, app
}

func TestInteropSocketIOClient(t *testing.T) {
	nodetest.Require(t)
	codecs := []parser.Codec{parser.Msgpack(), parser.JSON()}
	for _, codec := range codecs {
		for _, transports := range []string{"polling", "websocket", "polling,websocket"} {
			t.Run(codec.Name()+"/"+transports, func(t *testing.T) {
				t.Parallel()
				ts, app := newInteropServer(t, codec)
				out := nodetest.Run(t, 60*time.Second, "socketio-suite.mjs", []string{ts.URL, codec.Name(), transports})
				require.Contains(t, out, "all checks passed")
				app.mu.Lock()
				defer app.mu.Unlock()
				require.Empty(t, app.problems)
				reasons := strings.Join(app.reasons, ",")
				require.Contains(t, reasons, "server namespace disconnect")
				require.Contains(t, reasons, "client namespace disconnect")
				require.Contains(t, reasons, "forced close")
			})
		}
	}
}
