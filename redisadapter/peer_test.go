package redisadapter_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// nodeDir is the folder of the Node scripts and their node_modules.
func nodeDir() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "internal", "node")
}

func requireNode(t testing.TB) {
	t.Helper()
	if _, err := exec.LookPath("node"); err != nil {
		t.Fatalf("node is not installed: run `make deps` (%v)", err)
	}
	if _, err := os.Stat(filepath.Join(nodeDir(), "node_modules", "@socket.io", "redis-adapter")); err != nil {
		t.Fatalf("npm packages for the Redis interop tests are missing: run `make deps` (%v)", err)
	}
}

// peerEvent is an event an official client received, or a server-side
// event the Node server received.
type peerEvent struct {
	Event string            `json:"event"`
	Args  []json.RawMessage `json:"args"`
}

// str returns argument i as a string ("" when it is none).
func (e peerEvent) str(i int) string {
	var s string
	if i < len(e.Args) {
		_ = json.Unmarshal(e.Args[i], &s)
	}
	return s
}

// nodePeer is peer.mjs running: a Node socket.io server on the Redis
// adapter, with official clients on it and on Ferry servers.
type nodePeer struct {
	t       testing.TB
	cmd     *exec.Cmd
	stdin   io.WriteCloser
	Port    int
	Clients map[string]string // client name -> socket id

	mu      sync.Mutex
	nextID  int
	replies map[int]chan map[string]json.RawMessage // guarded by mu
	// events and gone are written under mu, by the test's goroutine only
	// (see track), which reads them without it.
	events map[string]chan peerEvent // by client name; "sse" for server-side events
	gone   map[string]chan string    // disconnect reasons by client name
	stderr strings.Builder           // guarded by mu
}

// ferryTarget is a Ferry server the peer connects an official client to.
type ferryTarget struct {
	Name   string `json:"name"`
	URL    string `json:"url"`
	Parser string `json:"parser"`
}

// startPeer starts peer.mjs and waits until its clients are connected.
func startPeer(t testing.TB, r *redisServer, mode, subscription, nodeParser string, targets ...ferryTarget) *nodePeer {
	t.Helper()
	return startPeerEnv(t, r, []string{"MODE=" + mode, "SUBSCRIPTION=" + subscription, "NODE_PARSER=" + nodeParser}, targets...)
}

// startPeerEnv starts peer.mjs with env (see the script for its
// variables) and waits until its clients are connected.
func startPeerEnv(t testing.TB, r *redisServer, env []string, targets ...ferryTarget) *nodePeer {
	t.Helper()
	requireNode(t)
	ferryJSON, err := json.Marshal(targets)
	require.NoError(t, err)
	cmd := exec.Command("node", filepath.Join(nodeDir(), "peer.mjs"))
	cmd.Dir = nodeDir()
	cmd.Env = append(os.Environ(), "REDIS_URL=redis://"+r.Addr(), "FERRY="+string(ferryJSON))
	cmd.Env = append(cmd.Env, env...)
	p := &nodePeer{
		t: t, cmd: cmd,
		replies: make(map[int]chan map[string]json.RawMessage),
		events:  map[string]chan peerEvent{"node": make(chan peerEvent, 256), "sse": make(chan peerEvent, 256)},
		gone:    map[string]chan string{"node": make(chan string, 4)},
	}
	for _, tg := range targets {
		p.events[tg.Name] = make(chan peerEvent, 256)
		p.gone[tg.Name] = make(chan string, 4)
	}
	p.stdin, err = cmd.StdinPipe()
	require.NoError(t, err)
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	stderr, err := cmd.StderrPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	go func() {
		b, _ := io.ReadAll(stderr)
		p.mu.Lock()
		p.stderr.Write(b)
		p.mu.Unlock()
	}()
	ready := make(chan map[string]json.RawMessage, 1)
	readerDone := make(chan struct{})
	go func() {
		defer close(readerDone)
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 1<<20), 16<<20)
		for sc.Scan() {
			var msg map[string]json.RawMessage
			if json.Unmarshal(sc.Bytes(), &msg) != nil {
				continue
			}
			var typ, client string
			_ = json.Unmarshal(msg["type"], &typ)
			_ = json.Unmarshal(msg["client"], &client)
			switch typ {
			case "ready":
				ready <- msg
			case "reply":
				var id int
				_ = json.Unmarshal(msg["id"], &id)
				p.mu.Lock()
				ch := p.replies[id]
				delete(p.replies, id)
				p.mu.Unlock()
				if ch != nil {
					ch <- msg
				}
			case "event", "sse":
				var e peerEvent
				_ = json.Unmarshal(sc.Bytes(), &e)
				if typ == "sse" {
					client = "sse"
				}
				p.mu.Lock()
				ch := p.events[client]
				p.mu.Unlock()
				if ch != nil {
					ch <- e
				}
			case "disconnect":
				var reason string
				_ = json.Unmarshal(msg["reason"], &reason)
				p.mu.Lock()
				ch := p.gone[client]
				p.mu.Unlock()
				if ch != nil {
					ch <- reason
				}
			}
		}
	}()
	t.Cleanup(func() {
		_ = p.stdin.Close()
		exited := make(chan struct{})
		go func() { _ = cmd.Wait(); close(exited) }()
		select {
		case <-exited:
		case <-time.After(5 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
		<-readerDone
	})
	select {
	case msg := <-ready:
		require.NoError(t, json.Unmarshal(msg["port"], &p.Port))
		require.NoError(t, json.Unmarshal(msg["clients"], &p.Clients))
	case <-readerDone:
		t.Fatalf("peer.mjs exited before it was ready:\n%s", p.stderrText())
	case <-time.After(within):
		t.Fatalf("peer.mjs not ready within %v:\n%s", within, p.stderrText())
	}
	return p
}

// track makes the peer report the events and disconnects of client name,
// one the test is about to open.
func (p *nodePeer) track(name string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.events[name] = make(chan peerEvent, 256)
	p.gone[name] = make(chan string, 4)
}

func (p *nodePeer) stderrText() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stderr.String()
}

// do runs a command and returns its reply's fields; a reply with "error"
// fails the test unless allowErr.
func (p *nodePeer) do(op string, fields map[string]any) map[string]json.RawMessage {
	p.t.Helper()
	p.mu.Lock()
	p.nextID++
	id := p.nextID
	ch := make(chan map[string]json.RawMessage, 1)
	p.replies[id] = ch
	p.mu.Unlock()
	cmd := map[string]any{"id": id, "op": op}
	for k, v := range fields {
		cmd[k] = v
	}
	b, err := json.Marshal(cmd)
	require.NoError(p.t, err)
	_, err = p.stdin.Write(append(b, '\n'))
	require.NoError(p.t, err)
	select {
	case reply := <-ch:
		return reply
	case <-time.After(within):
		p.t.Fatalf("peer.mjs did not answer %s within %v:\n%s", op, within, p.stderrText())
		return nil
	}
}

// event waits for the next event of client.
func (p *nodePeer) event(client string) peerEvent {
	p.t.Helper()
	select {
	case e := <-p.events[client]:
		return e
	case <-time.After(within):
		p.t.Fatalf("client %s received nothing within %v", client, within)
		return peerEvent{}
	}
}

// nextStr waits for the next event of client and returns its name and
// first argument, "name:arg".
func (p *nodePeer) nextStr(client string) string {
	p.t.Helper()
	e := p.event(client)
	return fmt.Sprintf("%s:%s", e.Event, e.str(0))
}

// decodeField decodes a reply field into v.
func decodeField(t testing.TB, reply map[string]json.RawMessage, key string, v any) {
	t.Helper()
	raw, ok := reply[key]
	require.True(t, ok, "reply has no %q: %s", key, reply["error"])
	require.NoError(t, json.Unmarshal(raw, v))
}
