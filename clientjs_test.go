package ferry_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ferryio/ferry"
	"github.com/ferryio/ferry/parser"
)

// newClientJSServer serves the contract of client-js/test/e2e.test.ts: "echo"
// acks its argument; "ask" puts the question to the client and acks its
// answer.
func newClientJSServer(t *testing.T, codec parser.Codec) string {
	srv := ferry.NewServer(&ferry.Options{Parser: codec})
	srv.OnConnection(func(s *ferry.Socket) {
		s.On("echo", func(e *ferry.Event) {
			if len(e.Args) > 0 {
				e.Ack(e.Args[0])
			}
		})
		s.On("ask", func(e *ferry.Event) {
			var question string
			if e.Decode(&question) != nil {
				return
			}
			// Wait for the client's answer off the read goroutine, then
			// answer the original event with it.
			go func() {
				reply, err := s.Timeout(5*time.Second).EmitWithAck(context.Background(), "question", question)
				var answer string
				if err == nil && reply.Decode(&answer) == nil {
					e.Ack(answer)
				}
			}()
		})
	})
	ts := httptest.NewServer(srv)
	t.Cleanup(func() { ts.Close(); srv.Close() })
	return ts.URL
}

// TestClientJSEndToEnd runs the bundled JavaScript client's end-to-end
// suite against Ferry servers, one per parser.
func TestClientJSEndToEnd(t *testing.T) {
	dir := filepath.Join("client-js")
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "socket.io-client")); err != nil {
		t.Fatalf("client-js dependencies are missing: run make deps (%v)", err)
	}
	for _, args := range [][]string{{"npm", "run", "--silent", "build"}, {"node", "scripts/build-tests.mjs"}} {
		cmd := exec.Command(args[0], args[1:]...)
		cmd.Dir = dir
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, "%v: %s", args, out)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", "--test", "dist-test/test/e2e.test.js")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(),
		"FERRY_URL="+newClientJSServer(t, parser.Msgpack()),
		"FERRY_JSON_URL="+newClientJSServer(t, parser.JSON()))
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	require.NoError(t, cmd.Run(), out.String())
	require.Contains(t, out.String(), "# fail 0")
	require.NotContains(t, out.String(), "# pass 0")
}

// TestServesClientBundle checks that the Server serves the bundled client
// under its path, and that Options.DisableClient turns it off.
func TestServesClientBundle(t *testing.T) {
	for _, disabled := range []bool{false, true} {
		srv := ferry.NewServer(&ferry.Options{DisableClient: disabled})
		ts := httptest.NewServer(srv)
		res, err := http.Get(ts.URL + "/socket.io/ferry.min.js")
		require.NoError(t, err)
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if disabled {
			require.NotEqual(t, http.StatusOK, res.StatusCode)
		} else {
			require.Equal(t, http.StatusOK, res.StatusCode)
			require.Equal(t, "application/javascript; charset=utf-8", res.Header.Get("Content-Type"))
			require.NotEmpty(t, res.Header.Get("ETag"))
			require.Contains(t, string(body), "ferry")

			req, _ := http.NewRequest(http.MethodGet, ts.URL+"/socket.io/ferry.min.js", nil)
			req.Header.Set("If-None-Match", res.Header.Get("ETag"))
			res2, err := http.DefaultClient.Do(req)
			require.NoError(t, err)
			res2.Body.Close()
			require.Equal(t, http.StatusNotModified, res2.StatusCode)
		}
		ts.Close()
		srv.Close()
	}
}
