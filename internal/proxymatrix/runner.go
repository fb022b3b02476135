package proxymatrix

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	gorilla "github.com/gorilla/websocket"

	"github.com/ferryio/ferry/client"
	"github.com/ferryio/ferry/internal/nodetest"
)

// ClientConfig is what a client does in one cell.
type ClientConfig struct {
	// Transports is the client's transports option. Default polling, then
	// websocket.
	Transports []string
	// TryAll sets socket.io-client's tryAllTransports (JavaScript clients).
	TryAll bool
	// Proxy is an HTTP forward proxy's URL, or "".
	Proxy string
	// Duration is how long numbered messages are sent.
	Duration time.Duration
	// Big, if not 0, is the size of one binary message sent at the start,
	// which the server sends back.
	Big int
	// IdleFirst is how long the client stays silent after connecting,
	// before the exchange; the server starts its numbers with the first
	// one it receives, so only the heartbeat crosses the connection.
	IdleFirst time.Duration
	// BigWait bounds the wait for the big message to come back after the
	// exchange. Default 2 minutes.
	BigWait time.Duration
}

// bigWait returns cfg.BigWait or its default.
func (cfg ClientConfig) bigWait() time.Duration {
	if cfg.BigWait > 0 {
		return cfg.BigWait
	}
	return 2 * time.Minute
}

// Report is the server's side of a client's exchange.
type Report struct {
	// Up lists the numbers the server received, in order.
	Up []int `json:"up"`
	// Down is how many numbers the server emitted.
	Down int `json:"down"`
}

// Result is what a client saw in one cell.
type Result struct {
	Transport    string   `json:"transport"`    // the transport it ended on
	Connected    bool     `json:"connected"`    // whether it was connected at the end
	FirstEventMs *int     `json:"firstEventMs"` // from start to the first event
	Connects     int      `json:"connects"`
	Recovered    int      `json:"recovered"`  // connections that restored the previous one (socket.recovered)
	Reasons      []string `json:"reasons"`    // disconnections: "<ms>ms <reason>"
	Transports   []string `json:"transports"` // transports taken: "<ms>ms <name>"
	Down         []int    `json:"down"`       // "down" numbers received, in order
	UpSent       int      `json:"upSent"`
	BigBackMs    *int     `json:"bigBackMs"` // when the big message came back
	Report       *Report  `json:"report"`
	Errors       []string `json:"errors"`
}

// Reconnects returns how many times the client connected again.
func (r *Result) Reconnects() int { return max(r.Connects-1, 0) }

// lostDup counts the numbers of 0..sent-1 missing from got, and those got
// more than once.
func lostDup(sent int, got []int) (lost, dup int) {
	seen := make(map[int]bool, len(got))
	for _, n := range got {
		if seen[n] {
			dup++
		}
		seen[n] = true
	}
	for n := range sent {
		if !seen[n] {
			lost++
		}
	}
	return lost, dup
}

// Reordered counts the server-to-client numbers that arrived after a
// higher one.
func (r *Result) Reordered() int {
	n, high := 0, -1
	for _, d := range r.Down {
		if d < high {
			n++
		}
		high = max(high, d)
	}
	return n
}

// Up returns the client-to-server numbers lost and duplicated; ok is false
// without a report.
func (r *Result) Up() (lost, dup int, ok bool) {
	if r.Report == nil {
		return 0, 0, false
	}
	lost, dup = lostDup(r.UpSent, r.Report.Up)
	return lost, dup, true
}

// DownCounts returns the server-to-client numbers lost and duplicated; ok
// is false without a report.
func (r *Result) DownCounts() (lost, dup int, ok bool) {
	if r.Report == nil {
		return 0, 0, false
	}
	lost, dup = lostDup(r.Report.Down, r.Down)
	return lost, dup, true
}

// clientTimeout bounds a client run beyond its exchange.
func clientTimeout(cfg ClientConfig) time.Duration {
	d := cfg.IdleFirst + cfg.Duration + 90*time.Second
	if cfg.Big > 0 {
		d += cfg.bigWait()
	}
	return d
}

// nodeEnv returns the environment matrix-client.mjs and matrix-browser.mjs
// read.
func nodeEnv(cfg ClientConfig) []string {
	env := []string{"DURATION_MS=" + strconv.FormatInt(cfg.Duration.Milliseconds(), 10),
		"TICK_MS=" + strconv.FormatInt(Tick.Milliseconds(), 10)}
	if len(cfg.Transports) > 0 {
		env = append(env, "TRANSPORTS="+strings.Join(cfg.Transports, ","))
	}
	if cfg.TryAll {
		env = append(env, "TRY_ALL=1")
	}
	if cfg.IdleFirst > 0 {
		env = append(env, "IDLE_FIRST_MS="+strconv.FormatInt(cfg.IdleFirst.Milliseconds(), 10))
	}
	if cfg.Proxy != "" {
		env = append(env, "PROXY="+cfg.Proxy)
	}
	if cfg.Big > 0 {
		env = append(env, "BIG="+strconv.Itoa(cfg.Big), "BIG_WAIT_MS="+strconv.FormatInt(cfg.bigWait().Milliseconds(), 10))
	}
	return env
}

func decodeResult(t testing.TB, who, out string) Result {
	t.Helper()
	var r Result
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &r); err != nil {
		t.Fatalf("proxymatrix: %s printed no result: %v\n%s", who, err, out)
	}
	return r
}

// RunNodeClient runs the official socket.io-client 4.8 (matrix-client.mjs)
// against baseURL.
func RunNodeClient(t testing.TB, baseURL string, cfg ClientConfig) Result {
	t.Helper()
	out := nodetest.Run(t, clientTimeout(cfg), "matrix-client.mjs", nil, append(nodeEnv(cfg), "URL="+baseURL)...)
	return decodeResult(t, "matrix-client.mjs", out)
}

// RunChromium runs headless Chromium (matrix-browser.mjs) on the app's
// page at baseURL.
func RunChromium(t testing.TB, baseURL string, cfg ClientConfig) Result {
	t.Helper()
	if _, err := os.Stat("/usr/bin/chromium"); err != nil && os.Getenv("CHROMIUM_PATH") == "" {
		t.Fatalf("Chromium is not installed: run `make deps`")
	}
	out := nodetest.Run(t, clientTimeout(cfg), "matrix-browser.mjs", nil, append(nodeEnv(cfg), "PAGE="+baseURL+"/matrix/")...)
	return decodeResult(t, "matrix-browser.mjs", out)
}

// goResult is a Result being filled by the Go client's handlers.
type goResult struct {
	mu    sync.Mutex
	r     Result
	start time.Time
}

func (g *goResult) ms() int { return int(time.Since(g.start).Milliseconds()) }

// RunGoClient runs Ferry's Go client against baseURL, as matrix-client.mjs
// runs the official one.
func RunGoClient(t testing.TB, baseURL string, cfg ClientConfig) Result {
	t.Helper()
	opts := &client.Options{
		Transports:           cfg.Transports,
		ReconnectionDelay:    200 * time.Millisecond,
		ReconnectionDelayMax: time.Second,
		Timeout:              10 * time.Second,
		Logger:               slog.New(slog.DiscardHandler),
	}
	var hc *http.Client
	if cfg.Proxy != "" {
		u, err := url.Parse(cfg.Proxy)
		if err != nil {
			t.Fatal(err)
		}
		hc = &http.Client{Transport: &http.Transport{Proxy: http.ProxyURL(u)}}
		opts.Dialer = &gorilla.Dialer{Proxy: http.ProxyURL(u), HandshakeTimeout: 10 * time.Second}
	} else {
		hc = &http.Client{Transport: &http.Transport{}}
	}
	defer hc.CloseIdleConnections()
	opts.HTTPClient = hc
	g := &goResult{start: time.Now()}
	ctx, cancel := context.WithTimeout(context.Background(), clientTimeout(cfg))
	defer cancel()
	// Dial makes one attempt, and reconnection takes over only once it
	// succeeded: an application retries it, as this does for 10 s, as
	// socket.io-client's reconnection does for the first connection.
	var c *client.Client
	for deadline := time.Now().Add(10 * time.Second); ; {
		var err error
		c, err = client.Dial(ctx, baseURL, opts)
		if err == nil {
			break
		}
		if len(g.r.Errors) < 5 {
			g.r.Errors = append(g.r.Errors, "dial: "+err.Error())
		}
		if time.Now().After(deadline) {
			return g.r
		}
		select {
		case <-time.After(200 * time.Millisecond):
		case <-ctx.Done():
			return g.r
		}
	}
	defer c.Close()
	s := c.Socket("/", &client.SocketOptions{Auth: map[string]string{"id": fmt.Sprintf("go-%d", time.Now().UnixNano())}})
	connected := make(chan struct{}, 1)
	bigBack := make(chan struct{}, 1)
	s.OnConnect(func() {
		g.mu.Lock()
		g.r.Connects++
		if s.Recovered() {
			g.r.Recovered++
		}
		g.r.Transports = append(g.r.Transports, fmt.Sprintf("%dms %s", g.ms(), c.Transport()))
		g.mu.Unlock()
		select {
		case connected <- struct{}{}:
		default:
		}
	})
	s.OnDisconnect(func(reason client.DisconnectReason) {
		g.mu.Lock()
		g.r.Reasons = append(g.r.Reasons, fmt.Sprintf("%dms %s", g.ms(), reason))
		g.mu.Unlock()
	})
	s.On("welcome", func(*client.Event) {
		g.mu.Lock()
		if g.r.FirstEventMs == nil {
			n := g.ms()
			g.r.FirstEventMs = &n
		}
		g.mu.Unlock()
	})
	s.On("down", func(e *client.Event) {
		var n int
		if e.Decode(&n) == nil {
			g.mu.Lock()
			g.r.Down = append(g.r.Down, n)
			g.mu.Unlock()
		}
	})
	// "end" follows the report's ack: the Go client hands acks over as
	// they arrive, events through its dispatch goroutine, so "down"
	// numbers before the ack may not be handled yet when the ack is.
	ended := make(chan struct{}, 1)
	s.On("end", func(*client.Event) {
		select {
		case ended <- struct{}{}:
		default:
		}
	})
	s.On("big-back", func(e *client.Event) {
		var b []byte
		if e.Decode(&b) == nil && len(b) == cfg.Big {
			g.mu.Lock()
			if g.r.BigBackMs == nil {
				n := g.ms()
				g.r.BigBackMs = &n
			}
			g.mu.Unlock()
			select {
			case bigBack <- struct{}{}:
			default:
			}
		}
	})
	if err := s.Connect(ctx); err != nil {
		g.mu.Lock()
		g.r.Errors = append(g.r.Errors, "connect: "+err.Error())
		g.mu.Unlock()
	}
	select {
	case <-connected:
	case <-ctx.Done():
	}
	if cfg.IdleFirst > 0 {
		select {
		case <-time.After(cfg.IdleFirst):
		case <-ctx.Done():
		}
	}
	if cfg.Big > 0 {
		s.Emit("big", make([]byte, cfg.Big))
	}
	tick := time.NewTicker(Tick)
	end := time.After(cfg.Duration)
	sent := 0
send:
	for {
		select {
		case <-tick.C:
			if s.Emit("up", sent) == nil {
				sent++
			}
		case <-end:
			break send
		}
	}
	tick.Stop()
	if cfg.Big > 0 {
		select {
		case <-bigBack:
		case <-time.After(cfg.bigWait()):
		case <-ctx.Done():
		}
	}
	rctx, rcancel := context.WithTimeout(ctx, 30*time.Second)
	defer rcancel()
	args, err := s.EmitWithAck(rctx, "report")
	if err == nil {
		select {
		case <-ended:
		case <-rctx.Done():
			err = fmt.Errorf("no end event after the report: %w", rctx.Err())
		}
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	g.r.UpSent = sent
	if err != nil {
		g.r.Errors = append(g.r.Errors, "report: "+err.Error())
	} else {
		var rep Report
		if err := args.Decode(&rep); err != nil {
			g.r.Errors = append(g.r.Errors, "report: "+err.Error())
		} else {
			g.r.Report = &rep
		}
	}
	g.r.Transport = c.Transport()
	g.r.Connected = s.Connected()
	return g.r
}
