package ferry_test

import (
	"bufio"
	"context"
	"errors"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ferryio/ferry"
	"github.com/ferryio/ferry/internal/nodetest"
	"github.com/ferryio/ferry/parser"
)

// newAPIServer serves the app of internal/nodetest/node/api-suite.mjs (see
// its header): Once, a removal function, packet middleware with an OnError
// handler, callback acks from a handler, counts and the Server's
// shortcuts. api-refserver.mjs is the same app on socket.io.
func newAPIServer(t *testing.T, codec parser.Codec) string {
	srv := ferry.NewServer(&ferry.Options{Parser: codec, Logger: quiet})
	srv.Of("/admin")
	errNotAllowed := errors.New("not allowed")
	srv.OnConnection(func(s *ferry.Socket) {
		s.On("marker", func(*ferry.Event) { s.Emit("marker") })
		s.Once("hello-once", func(*ferry.Event) { s.Emit("hi-once") })

		offCount := s.On("count", func(*ferry.Event) { s.Emit("counted") })
		s.On("stop-counting", func(e *ferry.Event) {
			offCount()
			e.Ack()
		})

		s.OnAny(func(e *ferry.Event) {
			if e.Name == "forbidden" {
				s.Emit("seen-by-any", e.Name)
			}
		})
		s.Use(func(e *ferry.Event) error {
			switch e.Name {
			case "forbidden":
				return errors.New("unauthorized event")
			case "ask-forbidden":
				e.Ack(map[string]string{"error": "not allowed"})
				return errNotAllowed
			}
			return nil
		})
		// socket.io sends nothing to the client for a refused event; an
		// application that wants it told does so from its error handler.
		s.OnError(func(s *ferry.Socket, err error) { s.Emit("error", err.Error()) })
		s.On("forbidden", func(*ferry.Event) { s.Emit("should-not-run") })
		s.On("ask-forbidden", func(e *ferry.Event) { e.Ack("should-not-run") })

		s.On("order", func(e *ferry.Event) {
			var item string
			e.Decode(&item)
			s.Timeout(2*time.Second).EmitWithAckFunc(context.Background(), "confirm", []any{item}, func(reply ferry.Args, err error) {
				if err != nil {
					e.Ack("error: " + err.Error())
					return
				}
				var answer string
				reply.Decode(&answer)
				e.Ack(item + ": " + answer)
			})
		})
		s.On("order-unanswered", func(e *ferry.Event) {
			s.Timeout(100*time.Millisecond).EmitWithAckFunc(context.Background(), "ignored", nil, func(_ ferry.Args, err error) {
				if errors.Is(err, context.DeadlineExceeded) {
					e.Ack("timed out")
					return
				}
				e.Ack("answered")
			})
		})

		s.On("join", func(e *ferry.Event) {
			var room string
			e.Decode(&room)
			s.Join(room)
			e.Ack()
		})
		s.On("counts", func(e *ferry.Event) {
			ctx := context.Background()
			sockets, _ := srv.SocketCount(ctx)
			admin, _ := srv.Of("/admin").SocketCount(ctx)
			red, _ := srv.In("red").SocketCount(ctx)
			e.Ack(map[string]int{"conns": srv.ConnCount(), "sockets": sockets, "admin": admin, "red": red})
		})
		s.On("server-ops", func(e *ferry.Event) {
			ctx := context.Background()
			srv.SocketsJoin(ctx, "everyone")
			srv.In("everyone").Emit("to-everyone", 1)
			fetched, _ := srv.FetchSockets(ctx)
			srv.Timeout(2*time.Second).EmitWithAckFunc(ctx, "poll", nil, func(acks []ferry.Args, err error) {
				e.Ack(map[string]int{"fetched": len(fetched), "acks": len(acks)})
			})
		})
		s.On("disconnect-all", func(*ferry.Event) { srv.DisconnectSockets(context.Background(), false) })
	})
	ts := httptest.NewServer(srv)
	t.Cleanup(func() {
		ts.Close()
		srv.Close()
	})
	return ts.URL
}

// TestAPISuite runs api-suite.mjs, with the official client, against Ferry:
// Once, removing a handler, packet middleware, callback acks from a
// handler, counts and the Server's shortcuts, for each parser and
// transport set-up.
func TestAPISuite(t *testing.T) {
	nodetest.Require(t)
	for _, codec := range []parser.Codec{parser.Msgpack(), parser.JSON()} {
		for _, transports := range []string{"polling", "websocket", "polling,websocket"} {
			t.Run(codec.Name()+"/"+transports, func(t *testing.T) {
				t.Parallel()
				url := newAPIServer(t, codec)
				out := nodetest.Run(t, 60*time.Second, "api-suite.mjs", []string{url, codec.Name(), transports})
				require.Contains(t, out, "all checks passed")
			})
		}
	}
}

// TestAPISuiteReference runs api-suite.mjs against the same app on
// socket.io 4.8 (api-refserver.mjs): what the suite expects of Ferry is
// what socket.io does.
func TestAPISuiteReference(t *testing.T) {
	nodetest.Require(t)
	for _, codec := range []string{"msgpack", "json"} {
		t.Run(codec, func(t *testing.T) {
			t.Parallel()
			url := startAPIRefServer(t, codec)
			out := nodetest.Run(t, 60*time.Second, "api-suite.mjs", []string{url, codec, "polling,websocket"})
			require.Contains(t, out, "all checks passed")
		})
	}
}

// startAPIRefServer starts api-refserver.mjs with the named parser and
// returns its URL; it is killed when t ends. Its output goes to files, so
// no goroutine outlives the test.
func startAPIRefServer(t *testing.T, codec string) string {
	t.Helper()
	stderr, err := os.CreateTemp(t.TempDir(), "api-refserver-*.log")
	require.NoError(t, err)
	t.Cleanup(func() { stderr.Close() })
	r, w, err := os.Pipe()
	require.NoError(t, err)
	defer r.Close()
	cmd := exec.Command("node", filepath.Join(nodetest.Dir(), "api-refserver.mjs"))
	cmd.Dir = nodetest.Dir()
	cmd.Env = append(os.Environ(), "PARSER="+codec)
	cmd.Stdout, cmd.Stderr = w, stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	err = cmd.Start()
	w.Close()
	require.NoError(t, err)
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	require.NoError(t, r.SetReadDeadline(time.Now().Add(within)))
	line, err := bufio.NewReader(r).ReadString('\n')
	if err != nil {
		log, _ := os.ReadFile(stderr.Name())
		t.Fatalf("api-refserver.mjs did not report its port: %v\n%s", err, log)
	}
	port, err := strconv.Atoi(strings.TrimSpace(line))
	require.NoError(t, err, "api-refserver.mjs printed %q", line)
	return "http://127.0.0.1:" + strconv.Itoa(port)
}
