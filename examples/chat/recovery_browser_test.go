package main

import (
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ferryio/ferry/examples/chat/chatserver"
	"github.com/ferryio/ferry/internal/nodetest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// cutProxy forwards TCP connections to a target address until it is cut:
// cutting closes every connection it carries and makes it close new ones
// at once, as a network outage would, until it is restored.
type cutProxy struct {
	ln     net.Listener
	target string
	wg     sync.WaitGroup

	mu    sync.Mutex
	cut   bool                  // guarded by mu
	conns map[net.Conn]struct{} // guarded by mu: both ends of every forwarded connection
	cuts  int                   // guarded by mu: connections closed by a cut or refused during one
}

// newCutProxy listens on 127.0.0.1 and forwards to target; it is closed
// when t ends.
func newCutProxy(t *testing.T, target string) *cutProxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	p := &cutProxy{ln: ln, target: target, conns: make(map[net.Conn]struct{})}
	p.wg.Add(1)
	go p.accept()
	t.Cleanup(p.close)
	return p
}

func (p *cutProxy) url() string { return "http://" + p.ln.Addr().String() }

func (p *cutProxy) accept() {
	defer p.wg.Done()
	for {
		in, err := p.ln.Accept()
		if err != nil {
			return // closed
		}
		p.mu.Lock()
		if p.cut {
			p.cuts++
			p.mu.Unlock()
			in.Close()
			continue
		}
		p.mu.Unlock()
		out, err := net.DialTimeout("tcp", p.target, 5*time.Second)
		if err != nil {
			in.Close()
			continue
		}
		p.mu.Lock()
		if p.cut {
			p.cuts++
			p.mu.Unlock()
			in.Close()
			out.Close()
			continue
		}
		p.conns[in], p.conns[out] = struct{}{}, struct{}{}
		p.mu.Unlock()
		p.wg.Add(2)
		go p.pipe(out, in)
		go p.pipe(in, out)
	}
}

// pipe copies from src to dst until either fails, then closes both.
func (p *cutProxy) pipe(dst, src net.Conn) {
	defer p.wg.Done()
	_, _ = io.Copy(dst, src)
	p.mu.Lock()
	delete(p.conns, src)
	delete(p.conns, dst)
	p.mu.Unlock()
	src.Close()
	dst.Close()
}

// setCut cuts the proxy (on) or restores it.
func (p *cutProxy) setCut(on bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cut = on
	if on {
		for c := range p.conns {
			c.Close()
			p.cuts++
		}
	}
}

// cutCount returns how many connections cuts closed or refused.
func (p *cutProxy) cutCount() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.cuts
}

func (p *cutProxy) close() {
	p.ln.Close()
	p.setCut(true)
	p.wg.Wait()
}

// TestBrowserRecovery runs the chat page in headless Chromium
// (internal/nodetest/node/chat-recovery.mjs): two pages, alice on
// long-polling only and bob upgraded to WebSocket, each behind a TCP proxy
// of its own. The proxies are cut (they drop the pages' connections and
// refuse new ones) for 5 s while two other clients post numbered messages,
// more than the room's history holds. Once the proxies are restored, each
// page shows that it recovered its session, and every message exactly
// once, in order.
//
// alice's proxy is cut first, and bob's once the server has seen alice go:
// a long-poll answered at the moment its connection drops (with bob's
// departure, say) would be lost without the server knowing, and it would
// take the server a ping timeout to notice that alice is gone.
func TestBrowserRecovery(t *testing.T) {
	if _, err := os.Stat(chromiumPath); err != nil {
		t.Fatalf("Chromium is not installed at %s: run make deps (%v)", chromiumPath, err)
	}
	app := chatserver.New(slog.New(slog.DiscardHandler))
	srv := httptest.NewServer(app)
	defer srv.Close()
	defer app.Close() // first: answers parked long-polls
	proxies := map[string]*cutProxy{
		"alice": newCutProxy(t, srv.Listener.Addr().String()),
		"bob":   newCutProxy(t, srv.Listener.Addr().String()),
	}

	// The script cuts and restores the proxies through this control
	// server: GET /cut/<page> and /restore/<page>.
	control := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		action, page, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
		p := proxies[page]
		if p == nil || (action != "cut" && action != "restore") {
			http.NotFound(w, r)
			return
		}
		p.setCut(action == "cut")
		w.WriteHeader(http.StatusNoContent)
	}))
	defer control.Close()

	out := nodetest.Run(t, 120*time.Second, "chat-recovery.mjs",
		[]string{proxies["alice"].url(), proxies["bob"].url(), srv.URL, control.URL, artifactsDir(t)}, "CHROMIUM_PATH="+chromiumPath)
	var summary struct {
		Posted int
		CutMs  int
		Pages  []struct {
			Name, Transport, Session string
			Messages                 int
		}
		Screenshot string
	}
	require.NoError(t, json.Unmarshal([]byte(out), &summary), out)
	assert.Greater(t, summary.Posted, 50, "more messages than the room's history keeps")
	assert.GreaterOrEqual(t, summary.CutMs, 5000, "the outage lasted 5 s")
	require.Len(t, summary.Pages, 2)
	transports := map[string]bool{}
	for _, p := range summary.Pages {
		assert.Equal(t, "recovered", p.Session, p.Name)
		assert.Equal(t, summary.Posted+3, p.Messages, "%s: 2 before, the missed ones, 1 after", p.Name)
		transports[p.Transport] = true
	}
	assert.Equal(t, map[string]bool{"polling": true, "websocket": true}, transports)
	for name, p := range proxies {
		assert.Positive(t, p.cutCount(), "%s: the cut closed connections", name)
	}
	t.Logf("screenshot: %s", summary.Screenshot)
}
