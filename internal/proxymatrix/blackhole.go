package proxymatrix

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"testing"
)

// StartBlackHoleProxy starts a reverse proxy for upstream
// ("127.0.0.1:port") that passes plain HTTP requests on, and answers
// WebSocket upgrades with the upstream's 101, then carries nothing: what
// either side sends is read and dropped, and both connections are held
// open until the test ends. It is the proxy that lets the handshake
// through and then buffers or filters every frame. It returns the proxy's
// base URL and a function that reports how many upgrades it swallowed.
func StartBlackHoleProxy(t testing.TB, upstream string) (string, func() int) {
	t.Helper()
	target := &url.URL{Scheme: "http", Host: upstream}
	rp := httputil.NewSingleHostReverseProxy(target)
	var (
		mu       sync.Mutex
		held     []net.Conn
		swallows int
	)
	hold := func(conns ...net.Conn) {
		mu.Lock()
		held = append(held, conns...)
		mu.Unlock()
		for _, c := range conns {
			go io.Copy(io.Discard, c)
		}
	}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.EqualFold(r.Header.Get("Upgrade"), "websocket") {
			rp.ServeHTTP(w, r)
			return
		}
		up, err := net.Dial("tcp", upstream)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		if err := r.Write(up); err != nil {
			up.Close()
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		res, err := http.ReadResponse(bufio.NewReader(up), r)
		if err != nil {
			up.Close()
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		client, brw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			up.Close()
			return
		}
		res.Write(brw)
		brw.Flush()
		if res.StatusCode == http.StatusSwitchingProtocols {
			mu.Lock()
			swallows++
			mu.Unlock()
		}
		hold(client, up)
	})
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("proxymatrix: %v", err)
	}
	srv := &http.Server{Handler: h}
	go srv.Serve(l)
	t.Cleanup(func() {
		srv.Close()
		mu.Lock()
		for _, c := range held {
			c.Close()
		}
		mu.Unlock()
	})
	return "http://" + l.Addr().String(), func() int {
		mu.Lock()
		defer mu.Unlock()
		return swallows
	}
}
