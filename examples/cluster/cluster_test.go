package main

import (
	"bytes"
	"context"
	"encoding/json"
	"image/png"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ferryio/ferry/client"
	"github.com/ferryio/ferry/internal/nodetest"
)

// chromiumPath is Debian's Chromium, installed by `make deps`. The tests
// never download a browser.
const chromiumPath = "/usr/bin/chromium"

// artifactsDir is where screenshots go: $FERRY_ARTIFACTS, or artifacts/ at
// the repository root (ignored by git).
func artifactsDir(t *testing.T) string {
	t.Helper()
	if dir := os.Getenv("FERRY_ARTIFACTS"); dir != "" {
		return dir
	}
	dir, err := filepath.Abs(filepath.Join("..", "..", "artifacts"))
	require.NoError(t, err)
	return dir
}

// browserPage is a page of testdata/browser.mjs.
type browserPage struct {
	Name      string `json:"name"`
	URL       string `json:"url"`
	Transport string `json:"transport"` // the badge's final transport
	server    string // the chat server it is on, host:port
}

// TestBrowsers runs the cluster and five chat pages in headless Chromium
// (testdata/browser.mjs): alice, bob and carol each on a server of their
// own, opened at its port (alice upgrading to WebSocket, bob on
// long-polling only, carol on WebSocket only), and dave (long-polling) and
// erin (upgrading) through nginx, which spreads their requests over the
// servers. Each sends a message, twice: every page shows every message
// exactly once. Each page's member list shows the members on the server
// holding its connection. Ctrl-C then stops every process and the command
// exits 0.
func TestBrowsers(t *testing.T) {
	if _, err := os.Stat(chromiumPath); err != nil {
		t.Fatalf("Chromium is not installed at %s: run make deps (%v)", chromiumPath, err)
	}
	nodetest.Require(t)
	r := startCluster(t)
	require.Len(t, r.servers, 3)
	requireRoundRobin(t, r)

	at := func(i int) string { return "http://" + r.servers[i].addr + "/" }
	proxy := "http://" + r.nginx.addr + "/"
	pages := []browserPage{
		{Name: "alice", URL: at(0), Transport: "websocket", server: r.servers[0].addr},
		{Name: "bob", URL: at(1) + "?transport=polling", Transport: "polling", server: r.servers[1].addr},
		{Name: "carol", URL: at(2) + "?transport=websocket", Transport: "websocket", server: r.servers[2].addr},
		// Through nginx, a page's connection is on whichever server got
		// its handshake: found below from the member lists.
		{Name: "dave", URL: proxy + "?transport=polling", Transport: "polling"},
		{Name: "erin", URL: proxy, Transport: "websocket"},
	}
	dir := artifactsDir(t)
	config, err := json.Marshal(map[string]any{"pages": pages, "artifacts": dir})
	require.NoError(t, err)
	out := runNode(t, 2*time.Minute, filepath.Join("testdata", "browser.mjs"), string(config))

	var summary struct {
		Pages map[string]struct {
			Transport string
			People    []string
			Messages  map[string]int
		}
		Screenshots []string
	}
	require.NoError(t, json.Unmarshal([]byte(out), &summary), out)
	want := map[string]int{}
	for _, round := range []string{"hello", "bye"} {
		for _, p := range pages {
			want[round+" from "+p.Name] = 1
		}
	}
	people := make(map[string][]string)
	for _, p := range pages {
		got, ok := summary.Pages[p.Name]
		require.True(t, ok, "no summary for %s", p.Name)
		assert.Equal(t, want, got.Messages, "%s's messages, with how many times each shows", p.Name)
		assert.Equal(t, p.Transport, got.Transport, "%s's transport", p.Name)
		people[p.Name] = got.People
	}
	placed := placePages(r, pages, people)
	require.NotNil(t, placed, "no placement of the pages through nginx on the servers gives these member lists: %v", people)
	for _, p := range placed {
		var mates []string
		for _, q := range placed {
			if q.server == p.server {
				mates = append(mates, q.Name)
			}
		}
		slices.Sort(mates)
		assert.Equal(t, mates, people[p.Name], "%s's member list: the members on %s", p.Name, p.server)
	}
	require.Len(t, summary.Screenshots, len(pages))
	for _, name := range summary.Screenshots {
		f, err := os.Open(filepath.Join(dir, name))
		require.NoError(t, err)
		_, err = png.DecodeConfig(f)
		f.Close()
		require.NoError(t, err, name)
	}

	assert.Equal(t, 0, r.interrupt(t), "exit status after Ctrl-C")
	assert.Contains(t, r.stderr.String(), "cluster stopped")
	r.requireAllGone(t)
}

// placePages returns pages with each page that went through nginx (no
// server given) put on a chat server, the first placement under which
// every page's member list is the members on its server, or nil if there
// is none. A member list shows the members of its own server only.
func placePages(r *running, pages []browserPage, people map[string][]string) []browserPage {
	var free []int
	for i, p := range pages {
		if p.server == "" {
			free = append(free, i)
		}
	}
	placed := slices.Clone(pages)
	var try func(k int) bool
	try = func(k int) bool {
		if k == len(free) {
			for _, p := range placed {
				var mates []string
				for _, q := range placed {
					if q.server == p.server {
						mates = append(mates, q.Name)
					}
				}
				slices.Sort(mates)
				if !slices.Equal(mates, people[p.Name]) {
					return false
				}
			}
			return true
		}
		for _, srv := range r.servers {
			placed[free[k]].server = srv.addr
			if try(k + 1) {
				return true
			}
		}
		return false
	}
	if !try(0) {
		return nil
	}
	return placed
}

// requireRoundRobin opens a long-polling session through nginx and sends
// it requests, each on a new connection: nginx spreads them over the chat
// servers, and every one is served all the same, relayed to the server
// holding the session by the others.
func requireRoundRobin(t *testing.T, r *running) {
	t.Helper()
	hc := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: within}
	base := "http://" + r.nginx.addr + "/socket.io/?EIO=4&transport=polling"
	do := func(method, url, body string) (string, string) {
		req, err := http.NewRequestWithContext(withTimeout(t), method, url, strings.NewReader(body))
		require.NoError(t, err)
		resp, err := hc.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, resp.StatusCode, "%s %s: %s", method, url, b)
		return resp.Header.Get(upstreamHeader), string(b)
	}
	upstream, open := do(http.MethodGet, base, "")
	_, ok := r.server(upstream)
	require.True(t, ok, "nginx named upstream %q, not a chat server", upstream)
	var handshake struct {
		SID string `json:"sid"`
	}
	require.True(t, strings.HasPrefix(open, "0"), "handshake answered %q", open)
	require.NoError(t, json.Unmarshal([]byte(open[1:]), &handshake))
	session := base + "&sid=" + handshake.SID
	seen := map[string]bool{upstream: true}
	for range 2 * len(r.servers) {
		got, body := do(http.MethodPost, session, "6") // a noop packet
		_, ok := r.server(got)
		require.True(t, ok, "nginx named upstream %q, not a chat server", got)
		seen[got] = true
		assert.Equal(t, "ok", body)
	}
	assert.Len(t, seen, len(r.servers), "the session's requests reached every server")
	do(http.MethodPost, session, "1") // close the session
}

// runNode runs node script args, with playwright-core from
// internal/nodetest/node, and fails t with the output if it fails or
// outlives timeout. It returns the script's stdout.
func runNode(t *testing.T, timeout time.Duration, script string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", append([]string{script}, args...)...)
	cmd.Env = append(os.Environ(), "NODETEST_DIR="+nodetest.Dir(), "CHROMIUM_PATH="+chromiumPath)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("node %s did not finish within %v\nstdout:\n%s\nstderr:\n%s", script, timeout, stdout.String(), stderr.String())
	}
	if err != nil {
		t.Fatalf("node %s failed: %v\nstdout:\n%s\nstderr:\n%s", script, err, stdout.String(), stderr.String())
	}
	return stdout.String()
}

// chatter is a Go client in the chat's room #general.
type chatter struct {
	sock     *client.Socket
	messages chan string // the texts of the messages it receives
}

// joinChat connects a Go client to the chat server at addr over WebSocket
// and joins #general as nick.
func joinChat(t *testing.T, addr, nick string) *chatter {
	t.Helper()
	c, err := client.Dial(withTimeout(t), "http://"+addr, &client.Options{Transports: []string{"websocket"}, DisableReconnection: true})
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	ch := &chatter{sock: c.Socket("/", nil), messages: make(chan string, 256)}
	ch.sock.On("message", func(e *client.Event) {
		var m struct {
			Text string `json:"text"`
		}
		if len(e.Args) > 0 && e.Args[0].Decode(&m) == nil {
			ch.messages <- m.Text
		}
	})
	require.NoError(t, ch.sock.Connect(withTimeout(t)))
	reply, err := ch.sock.EmitWithAck(withTimeout(t), "join", map[string]string{"nick": nick, "room": "general"})
	require.NoError(t, err)
	var joined struct {
		Room  string `json:"room"`
		Error string `json:"error"`
	}
	require.NoError(t, reply[0].Decode(&joined))
	require.Empty(t, joined.Error)
	require.Equal(t, "general", joined.Room)
	return ch
}

// send sends a chat message and waits for the server's ack.
func (c *chatter) send(t *testing.T, text string) {
	t.Helper()
	reply, err := c.sock.EmitWithAck(withTimeout(t), "message", map[string]string{"text": text})
	require.NoError(t, err)
	var ack struct {
		ID    int64  `json:"id"`
		Error string `json:"error"`
	}
	require.NoError(t, reply[0].Decode(&ack))
	require.Empty(t, ack.Error, "message %q refused", text)
	require.NotZero(t, ack.ID, "message %q not accepted", text)
}

// next returns the next message text c receives.
func (c *chatter) next(t *testing.T) string {
	t.Helper()
	select {
	case text := <-c.messages:
		return text
	case <-time.After(within):
		t.Fatalf("no message within %v", within)
		return ""
	}
}

// until returns the texts c receives up to and including last, leaving
// out the first message's resends ("are you there?").
func (c *chatter) until(t *testing.T, last string) []string {
	t.Helper()
	var got []string
	for {
		text := c.next(t)
		if text == "are you there?" {
			continue
		}
		got = append(got, text)
		if text == last {
			return got
		}
	}
}

// TestMessagesCrossServers runs two chat servers on each Redis adapter
// with a Go client on each: messages go both ways, each once, and Ctrl-C
// stops the cluster cleanly.
func TestMessagesCrossServers(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"classic", nil},
		{"sharded", []string{"-sharded"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := startCluster(t, append([]string{"-servers", "2"}, tc.args...)...)
			require.Len(t, r.servers, 2)
			ann := joinChat(t, r.servers[0].addr, "ann")
			ben := joinChat(t, r.servers[1].addr, "ben")

			// With the sharded adapter a server subscribes to a room's
			// channel once the room appears on it, a moment after ben's
			// join: until then ann's messages do not reach ben's server.
			// Send until one arrives.
			first := ""
			require.Eventually(t, func() bool {
				ann.send(t, "are you there?")
				select {
				case first = <-ben.messages:
					return true
				case <-time.After(50 * time.Millisecond):
					return false
				}
			}, within, time.Millisecond, "no message from server-1 reached server-2")
			assert.Equal(t, "are you there?", first)

			// Each server publishes in order, so a duplicate would arrive
			// before the "end" sent after it.
			ann.send(t, "one")
			ann.send(t, "two")
			ann.send(t, "end")
			ben.send(t, "three")
			ben.send(t, "end")
			assert.Equal(t, []string{"one", "two", "end"}, ben.until(t, "end"), "ben received, in order")
			assert.Equal(t, []string{"three", "end"}, ann.until(t, "end"), "ann received, in order")

			assert.Equal(t, 0, r.interrupt(t), "exit status after Ctrl-C")
			r.requireAllGone(t)
		})
	}
}

// TestChildExitStopsCluster kills a chat server: the command stops the
// others, nginx and Redis, and exits 1, naming the server.
func TestChildExitStopsCluster(t *testing.T) {
	r := startCluster(t, "-servers", "2")
	require.NoError(t, syscall.Kill(r.servers[1].pid, syscall.SIGKILL))
	assert.Equal(t, 1, r.wait(t), "exit status")
	assert.Contains(t, r.stderr.String(), "server-2 exited")
	r.requireAllGone(t)
}

// TestSupervisorKilled kills the command itself (SIGKILL, so it cannot
// stop anything): every process it started, nginx's worker included, must
// still end by itself.
func TestSupervisorKilled(t *testing.T) {
	r := startCluster(t, "-servers", "2")
	require.NoError(t, r.cmd.Process.Kill())
	r.wait(t)
	require.Eventually(t, func() bool {
		for _, e := range r.all() {
			if groupAlive(e.pid) {
				return false
			}
		}
		return true
	}, within, 10*time.Millisecond, "processes of the cluster outlived it")
	r.requireAllGone(t)
}
