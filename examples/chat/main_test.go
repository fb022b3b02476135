package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptrace"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

// runMainEnv makes the test binary run the chat's main instead of the
// tests, so that a test can run the program as a process of its own.
const runMainEnv = "FERRY_CHAT_RUN_MAIN"

func TestMain(m *testing.M) {
	if os.Getenv(runMainEnv) == "1" {
		main()
		os.Exit(0)
	}
	goleak.VerifyTestMain(m)
}

// TestInterruptStopsCleanly runs the chat as a process, as `scripts/chat`
// does, and interrupts it as a terminal's Ctrl-C would: it shuts down
// gracefully, says that it stopped, and exits 0.
func TestInterruptStopsCleanly(t *testing.T) {
	cmd := exec.Command(os.Args[0], "-addr", "127.0.0.1:0")
	cmd.Env = append(os.Environ(), runMainEnv+"=1")
	stderr, err := cmd.StderrPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { _ = cmd.Process.Kill() }) // a no-op once it exited

	lines := make(chan string, 64)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	var log []string
	url := ""
	deadline := time.After(30 * time.Second)
	for url == "" {
		select {
		case line, ok := <-lines:
			require.True(t, ok, "the chat exited before listening:\n%s", strings.Join(log, "\n"))
			log = append(log, line)
			if _, u, found := strings.Cut(line, "url="); found && strings.Contains(line, "chat listening") {
				url = u
			}
		case <-deadline:
			t.Fatalf("the chat did not start listening:\n%s", strings.Join(log, "\n"))
		}
	}
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{}}
	resp, err := client.Get(url)
	require.NoError(t, err)
	resp.Body.Close()
	client.CloseIdleConnections()
	require.Equal(t, http.StatusOK, resp.StatusCode)

	require.NoError(t, cmd.Process.Signal(os.Interrupt))
	for line := range lines {
		log = append(log, line)
	}
	require.NoError(t, cmd.Wait(), "exit status after SIGINT:\n%s", strings.Join(log, "\n"))
	out := strings.Join(log, "\n")
	assert.Contains(t, out, `msg="shutting down"`)
	assert.Contains(t, log[len(log)-1], `msg="chat stopped"`, "the last line says it stopped:\n%s", out)
	assert.NotContains(t, out, "level=ERROR")
}

// TestServeShutsDownGracefully checks the order of the shutdown: a
// long-poll parked on the server is answered (the Ferry server closes its
// session) instead of holding http.Server.Shutdown until its timeout.
func TestServeShutsDownGracefully(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	served := make(chan error, 1)
	go func() { served <- serve(ctx, ln, slog.New(slog.DiscardHandler)) }()
	base := "http://" + ln.Addr().String()
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{}}
	defer client.CloseIdleConnections()

	resp, err := client.Get(base + "/")
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)

	// Engine.IO handshake over long-polling: "0" then the open JSON.
	resp, err = client.Get(base + "/socket.io/?EIO=4&transport=polling")
	require.NoError(t, err)
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(string(body), "0"), "handshake: %q", body)
	var open struct{ SID string }
	require.NoError(t, json.Unmarshal(body[1:], &open))
	require.NotEmpty(t, open.SID)

	// A GET with nothing to receive parks on the server.
	sent := make(chan struct{})
	type pollResult struct {
		status int
		body   string
		err    error
	}
	polled := make(chan pollResult, 1)
	go func() {
		trace := &httptrace.ClientTrace{WroteRequest: func(httptrace.WroteRequestInfo) { close(sent) }}
		req, err := http.NewRequestWithContext(httptrace.WithClientTrace(context.Background(), trace),
			http.MethodGet, base+"/socket.io/?EIO=4&transport=polling&sid="+open.SID, nil)
		if err != nil {
			polled <- pollResult{err: err}
			return
		}
		resp, err := client.Do(req)
		if err != nil {
			polled <- pollResult{err: err}
			return
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		polled <- pollResult{status: resp.StatusCode, body: string(b), err: err}
	}()
	<-sent

	start := time.Now()
	cancel()
	select {
	case err := <-served:
		require.NoError(t, err)
	case <-time.After(shutdownTimeout):
		t.Fatal("serve did not return after its context was cancelled")
	}
	assert.Less(t, time.Since(start), shutdownTimeout/2, "shutdown waited for the parked long-poll")
	r := <-polled
	require.NoError(t, r.err)
	assert.Equal(t, http.StatusOK, r.status)
	assert.Equal(t, "1", r.body, "the parked poll gets Engine.IO's close packet")

	_, err = client.Get(base + "/")
	assert.Error(t, err, "the listener is closed after shutdown")
}
