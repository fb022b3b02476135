package proxymatrix

import (
	"flag"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	toxiproxy "github.com/Shopify/toxiproxy/v2/client"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// table collects every run, for PROXYMATRIX_REPORT.
var table Table

// duration is how long each run exchanges numbered messages: a few
// seconds in the test suite, PROXYMATRIX_DURATION for the README's table.
var duration = 3 * time.Second

// defaultParallel is how many runs go at once unless -parallel says
// otherwise: a run spends its time waiting on its exchange's ticks, links
// and timeouts, not computing, so the 2-core machine runs six at once.
const defaultParallel = "6"

func TestMain(m *testing.M) {
	flag.Parse()
	explicit := false
	flag.Visit(func(f *flag.Flag) { explicit = explicit || f.Name == "test.parallel" })
	if !explicit {
		flag.Set("test.parallel", defaultParallel)
	}
	if d, err := time.ParseDuration(os.Getenv("PROXYMATRIX_DURATION")); err == nil && d > 0 {
		duration = d
	}
	code := m.Run()
	if path := os.Getenv("PROXYMATRIX_REPORT"); path != "" {
		if err := table.WriteFile(path, duration); err != nil {
			fmt.Fprintln(os.Stderr, err)
			code = 1
		}
	}
	os.Exit(code)
}

// Short heartbeats keep the suite fast; the cells that are about the
// heartbeat set their own.
const (
	pingInterval   = 2 * time.Second
	pingTimeout    = 2 * time.Second
	upgradeTimeout = time.Second
)

// servers starts the matrix app on Ferry or on Node socket.io.
var servers = []struct {
	name  string
	start func(testing.TB, ServerConfig) *App
}{
	{"ferry", StartFerry},
	{"node", StartNode},
}

// clientRunner runs one kind of client.
type clientRunner struct {
	name string
	run  func(testing.TB, string, ClientConfig) Result
}

var (
	nodeClient = clientRunner{"node", RunNodeClient}
	goClient   = clientRunner{"go", RunGoClient}
	chromium   = clientRunner{"chromium", RunChromium}
)

// run is one measured run of a cell.
type run struct {
	cell   string
	client clientRunner
	label  string // the client column: client name and variant
	app    *App
	cfg    ClientConfig
	url    string
	note   string
	// after, if set, runs once the client is done, and returns the note.
	after func() string
}

// measure runs the client, logs and records the result, and returns it.
func (r *run) measure(t *testing.T) Result {
	t.Helper()
	res := r.client.run(t, r.url, r.cfg)
	if r.after != nil {
		r.note = r.after()
	}
	t.Logf("%s | %s | %s: %s (transports %v, errors %v)", r.cell, r.label, r.app.Kind, Summary(res), res.Transports, res.Errors)
	table.Add(Row{Cell: r.cell, Server: r.app.Kind, Client: r.label, Result: res, Note: r.note})
	return res
}

// whole asserts that a run came out whole: connected at the end on the
// transport wanted, never reconnected, and no message lost or duplicated
// either way.
func whole(t *testing.T, res Result, transport string) {
	t.Helper()
	require.NotNil(t, res.Report, "no report: errors %v, disconnects %v", res.Errors, res.Reasons)
	assert.True(t, res.Connected, "disconnected at the end")
	assert.Equal(t, transport, res.Transport, "transports taken: %v", res.Transports)
	assert.Zero(t, res.Reconnects(), "disconnects: %v", res.Reasons)
	upLost, upDup, _ := res.Up()
	downLost, downDup, _ := res.DownCounts()
	assert.Zero(t, upLost, "client-to-server messages lost")
	assert.Zero(t, upDup, "client-to-server messages duplicated")
	assert.Zero(t, downLost, "server-to-client messages lost")
	assert.Zero(t, downDup, "server-to-client messages duplicated")
	assert.Positive(t, res.UpSent)
	assert.Positive(t, res.Report.Down)
}

// noDuplicates asserts that a run that may have lost its connection
// delivered nothing twice, reported every disconnection with a reason, and
// ended connected.
func noDuplicates(t *testing.T, res Result) {
	t.Helper()
	require.NotNil(t, res.Report, "no report: errors %v, disconnects %v", res.Errors, res.Reasons)
	assert.True(t, res.Connected, "disconnected at the end")
	_, upDup, _ := res.Up()
	_, downDup, _ := res.DownCounts()
	assert.Zero(t, upDup, "client-to-server messages duplicated")
	assert.Zero(t, downDup, "server-to-client messages duplicated")
	assert.Equal(t, res.Reconnects(), len(res.Reasons), "each reconnection follows a disconnection with a reason: %v", res.Reasons)
	for _, r := range res.Reasons {
		_, reason, _ := strings.Cut(r, " ")
		assert.NotEmpty(t, reason)
	}
}

// A corporate forward proxy (squid) carries long-polling but not the
// WebSocket upgrade: the clients, configured to use it, connect and stay
// on long-polling, and no message is lost.
func TestCorporateProxy(t *testing.T) {
	t.Parallel()
	for _, srv := range servers {
		for _, c := range []clientRunner{nodeClient, goClient, chromium} {
			t.Run(srv.name+"/"+c.name, func(t *testing.T) {
				t.Parallel()
				app := srv.start(t, ServerConfig{PingInterval: pingInterval, PingTimeout: pingTimeout, UpgradeTimeout: upgradeTimeout})
				proxy := StartSquid(t)
				r := &run{cell: "corporate forward proxy (squid)", client: c, label: c.name, app: app,
					url: app.URL(), cfg: ClientConfig{Proxy: proxy, Duration: duration}}
				res := r.measure(t)
				if srv.name == "ferry" {
					whole(t, res, "polling")
				}
			})
		}
	}
}

// A load balancer whose server timeout (2 s here, HAProxy's timeout
// server) is shorter than the long-poll hold (PingInterval, 5 s here) cuts
// every idle GET. With MaxPollHold below it, Ferry answers the GET first
// and the client stays connected; without it, Ferry says so in its log.
func TestLoadBalancerTimeout(t *testing.T) {
	t.Parallel()
	const cut, interval = 2 * time.Second, 5 * time.Second
	polling := []string{"polling"}
	for _, srv := range servers {
		for _, c := range []clientRunner{nodeClient, goClient, chromium} {
			t.Run(srv.name+"/"+c.name, func(t *testing.T) {
				t.Parallel()
				cfg := ServerConfig{PingInterval: interval, PingTimeout: pingTimeout}
				note := ""
				if srv.name == "ferry" {
					cfg.MaxPollHold = cut * 3 / 4
					note = "MaxPollHold 1.5 s"
				}
				app := srv.start(t, cfg)
				lb := StartHAProxy(t, app.Addr, HAProxyTimeouts{Server: cut})
				// The client first stays silent for longer than a hold: only
				// idle GETs are held, and cut.
				r := &run{cell: "load balancer, request timeout 2 s < hold 5 s (HAProxy)", client: c, label: c.name + " (polling)",
					app: app, url: lb, cfg: ClientConfig{Transports: polling, Duration: duration, IdleFirst: interval + cut}, note: note}
				res := r.measure(t)
				if srv.name == "ferry" {
					whole(t, res, "polling")
				}
			})
		}
	}
	// Without MaxPollHold, each held GET is cut and the session with it;
	// Ferry reports the cuts in one log line that names the option.
	t.Run("ferry/node/no-hold", func(t *testing.T) {
		t.Parallel()
		app := StartFerry(t, ServerConfig{PingInterval: interval, PingTimeout: pingTimeout})
		lb := StartHAProxy(t, app.Addr, HAProxyTimeouts{Server: cut})
		r := &run{cell: "load balancer, request timeout 2 s < hold 5 s (HAProxy)", client: nodeClient, label: "node (polling), no MaxPollHold",
			app: app, url: lb, cfg: ClientConfig{Transports: polling, Duration: duration, IdleFirst: 4 * cut},
			note: "the cut is reported in the log, naming MaxPollHold"}
		res := r.measure(t)
		noDuplicates(t, res)
		assert.GreaterOrEqual(t, res.Reconnects(), 3, "every held GET is cut")
		logs := app.Logs()
		assert.Contains(t, logs, "long-polling GETs are being cut by an intermediary")
		assert.Contains(t, logs, "set MaxPollHold below it")
		assert.Equal(t, 1, strings.Count(logs, "being cut"), "one line, rate-limited: %s", logs)
	})
}

// A proxy that answers the WebSocket upgrade with 101 and then carries
// nothing: the probe never completes; the upgrade is given up within
// UpgradeTimeout and the session carries on over long-polling, whole.
func TestBlackHoledUpgrade(t *testing.T) {
	t.Parallel()
	for _, srv := range servers {
		for _, c := range []clientRunner{nodeClient, goClient, chromium} {
			t.Run(srv.name+"/"+c.name, func(t *testing.T) {
				t.Parallel()
				app := srv.start(t, ServerConfig{PingInterval: pingInterval, PingTimeout: pingTimeout, UpgradeTimeout: upgradeTimeout})
				proxy, swallowed := StartBlackHoleProxy(t, app.Addr)
				r := &run{cell: "upgrade answered 101, then nothing carried", client: c, label: c.name, app: app,
					url: proxy, cfg: ClientConfig{Duration: max(duration, 2*upgradeTimeout)}}
				res := r.measure(t)
				assert.Positive(t, swallowed(), "the client tried the upgrade")
				if srv.name == "ferry" {
					whole(t, res, "polling")
				}
			})
		}
	}
}

// A proxy or NAT that drops connections idle for 3 s (HAProxy's timeout
// client and timeout tunnel; 20 s in the issue, scaled down). With
// pingInterval below it, the heartbeat keeps the connection up; above it,
// the connection is dropped and the client reconnects.
//
// With connection state recovery on, a drop costs nothing the server sent:
// a NAT forgets the flow while the server's numbers are flowing to the
// client (see flowForgotten), and the client comes back recovered with
// every number, once, in order.
func TestIdleDrop(t *testing.T) {
	t.Parallel()
	const idle = 3 * time.Second
	for _, srv := range servers {
		for _, c := range []clientRunner{nodeClient, goClient} {
			t.Run(srv.name+"/"+c.name+"/heartbeat-below-idle", func(t *testing.T) {
				t.Parallel()
				res := idleDrop(t, srv.start, c, idle, time.Second, "pingInterval 1 s")
				if srv.name == "ferry" {
					whole(t, res, "websocket")
				}
			})
			t.Run(srv.name+"/"+c.name+"/heartbeat-above-idle", func(t *testing.T) {
				t.Parallel()
				res := idleDrop(t, srv.start, c, idle, 5*time.Second, "pingInterval 5 s")
				if srv.name == "ferry" {
					noDuplicates(t, res)
					assert.Positive(t, res.Reconnects(), "the idle connection was dropped")
				}
			})
			for _, tr := range []string{"polling", "websocket"} {
				t.Run(srv.name+"/"+c.name+"/recovery/"+tr, func(t *testing.T) {
					t.Parallel()
					res := flowForgotten(t, srv.start, c, tr)
					if srv.name == "ferry" {
						recoveredWhole(t, res, tr)
					}
				})
			}
		}
	}
}

// idleDrop runs one client through an HAProxy that drops connections idle
// for idle, against a server pinging every interval, and records it.
func idleDrop(t *testing.T, start func(testing.TB, ServerConfig) *App, c clientRunner, idle, interval time.Duration, variant string) Result {
	t.Helper()
	app := start(t, ServerConfig{PingInterval: interval, PingTimeout: pingTimeout, UpgradeTimeout: upgradeTimeout})
	lb := StartHAProxy(t, app.Addr, HAProxyTimeouts{Client: idle, Tunnel: idle, Server: time.Minute})
	// The client first stays silent, so that only the heartbeat crosses
	// the connection: numbered messages would keep it busy.
	r := &run{cell: "idle connections dropped after 3 s (HAProxy)", client: c, label: c.name + ", " + variant,
		app: app, url: lb, cfg: ClientConfig{Duration: duration, IdleFirst: 2 * idle}}
	return r.measure(t)
}

// flowForgotten runs one client on one transport through a NAT (StartNAT)
// to a server with connection state recovery on, pinging every second
// with a pingTimeout of a second. A third of the way into the exchange,
// while numbers flow both ways, the NAT forgets the client's open flows:
// neither end is told, the heartbeat finds out within pingInterval +
// pingTimeout, and the client reconnects on a new flow. It records the run
// with the bytes the server sent into the forgotten flows, and fails t if
// the NAT forgot no flow or the server sent nothing into them.
func flowForgotten(t *testing.T, start func(testing.TB, ServerConfig) *App, c clientRunner, transport string) Result {
	t.Helper()
	app := start(t, ServerConfig{PingInterval: time.Second, PingTimeout: time.Second, UpgradeTimeout: upgradeTimeout, Recovery: true})
	nat, url := StartNAT(t, app.Addr)
	exchange := max(duration, 4*time.Second)
	forgot := make(chan int, 1) // how many flows the NAT forgot
	go func() {
		select {
		case <-app.Exchanging():
		case <-t.Context().Done():
			return
		}
		select {
		case <-time.After(exchange / 3):
		case <-t.Context().Done():
			return
		}
		// A client that opens a connection per request (socket.io-client
		// in Node, over polling) may have none open for a moment.
		retry := time.NewTicker(5 * time.Millisecond)
		defer retry.Stop()
		for {
			if n := nat.Forget(); n > 0 {
				forgot <- n
				return
			}
			select {
			case <-retry.C:
			case <-t.Context().Done():
				return
			}
		}
	}()
	r := &run{cell: "idle connections dropped, recovery on: a NAT forgets the flow while the server sends (pingInterval 1 s, pingTimeout 1 s)",
		client: c, label: c.name + " (" + transport + ")", app: app, url: url,
		cfg: ClientConfig{Transports: []string{transport}, Duration: exchange},
		after: func() string {
			select {
			case <-forgot:
			default:
				t.Error("the exchange ended before the NAT forgot the flows")
			}
			assert.Positive(t, nat.Dropped(), "the server sent into the forgotten flows")
			return fmt.Sprintf("%d B from the server went into the forgotten flows", nat.Dropped())
		}}
	return r.measure(t)
}

// recoveredWhole asserts that a run whose connection was lost came back
// recovered every time, on the transport wanted, with every
// server-to-client number once and in order, and no client-to-server
// number twice. What the client sent into a dead connection is not
// replayed: recovery covers the server's events only.
func recoveredWhole(t *testing.T, res Result, transport string) {
	t.Helper()
	require.NotNil(t, res.Report, "no report: errors %v, disconnects %v", res.Errors, res.Reasons)
	assert.True(t, res.Connected, "disconnected at the end")
	assert.Equal(t, transport, res.Transport, "transports taken: %v", res.Transports)
	assert.Positive(t, res.Reconnects(), "the lost connection was noticed")
	assert.Equal(t, res.Reconnects(), res.Recovered, "every reconnection recovered: disconnects %v", res.Reasons)
	want := make([]int, res.Report.Down)
	for i := range want {
		want[i] = i
	}
	assert.Equal(t, want, res.Down, "every server-to-client number, once, in order")
	_, upDup, _ := res.Up()
	assert.Zero(t, upDup, "client-to-server messages duplicated")
	assert.Positive(t, res.UpSent)
}

// A buffering reverse proxy (nginx with proxy_buffering and
// proxy_request_buffering on, its defaults): both transports work.
func TestBufferingProxy(t *testing.T) {
	t.Parallel()
	for _, srv := range servers {
		for _, c := range []clientRunner{nodeClient, goClient, chromium} {
			for _, tr := range [][]string{{"polling"}, {"websocket"}, {"polling", "websocket"}} {
				name := strings.Join(tr, "+")
				t.Run(srv.name+"/"+c.name+"/"+name, func(t *testing.T) {
					t.Parallel()
					app := srv.start(t, ServerConfig{PingInterval: pingInterval, PingTimeout: pingTimeout, UpgradeTimeout: upgradeTimeout})
					proxy := StartNginx(t, app.Addr, NginxConfig{Buffering: true, ForwardUpgrades: true})
					r := &run{cell: "buffering reverse proxy (nginx defaults)", client: c, label: c.name + " (" + name + ")",
						app: app, url: proxy, cfg: ClientConfig{Transports: tr, Duration: duration}}
					res := r.measure(t)
					if srv.name == "ferry" {
						whole(t, res, tr[len(tr)-1])
					}
				})
			}
		}
	}
}

// An nginx upstream left at proxy_http_version 1.0: no keep-alive, no
// WebSocket. Long-polling works.
func TestHTTP10Upstream(t *testing.T) {
	t.Parallel()
	for _, srv := range servers {
		for _, c := range []clientRunner{nodeClient, goClient, chromium} {
			t.Run(srv.name+"/"+c.name, func(t *testing.T) {
				t.Parallel()
				app := srv.start(t, ServerConfig{PingInterval: pingInterval, PingTimeout: pingTimeout, UpgradeTimeout: upgradeTimeout})
				proxy := StartNginx(t, app.Addr, NginxConfig{HTTP10: true})
				r := &run{cell: "HTTP/1.0 upstream, no keep-alive (nginx default)", client: c, label: c.name, app: app,
					url: proxy, cfg: ClientConfig{Duration: duration}}
				res := r.measure(t)
				if srv.name == "ferry" {
					whole(t, res, "polling")
				}
			})
		}
	}
}

// A proxy that refuses long-polling and lets WebSockets through: the
// official client's tryAllTransports (4.8) falls back to the WebSocket.
func TestTryAllTransports(t *testing.T) {
	t.Parallel()
	for _, srv := range servers {
		for _, c := range []clientRunner{nodeClient, chromium} {
			t.Run(srv.name+"/"+c.name, func(t *testing.T) {
				t.Parallel()
				app := srv.start(t, ServerConfig{PingInterval: pingInterval, PingTimeout: pingTimeout, UpgradeTimeout: upgradeTimeout})
				proxy := StartNginx(t, app.Addr, NginxConfig{ForwardUpgrades: true, RefusePolling: true})
				r := &run{cell: "polling refused, WebSocket allowed (tryAllTransports)", client: c, label: c.name, app: app,
					url: proxy, cfg: ClientConfig{TryAll: true, Duration: duration}}
				res := r.measure(t)
				if srv.name == "ferry" {
					whole(t, res, "websocket")
				}
			})
		}
	}
}

// A slow mobile link (toxiproxy: 300 ms latency and 50 KB/s each way): a
// 1 MB message each way takes over 20 s, ten times pingInterval+pingTimeout
// here; the heartbeat must not starve behind it.
//
// The runs spend their time waiting on the throttled link, not computing,
// so they all run at once, whatever the test's -parallel.
func TestSlowLink(t *testing.T) {
	t.Parallel()
	const big = 1 << 20
	var wg sync.WaitGroup
	defer wg.Wait()
	for _, srv := range servers {
		for _, c := range []clientRunner{goClient, nodeClient} {
			for _, tr := range [][]string{{"websocket"}, {"polling"}} {
				wg.Go(func() {
					t.Run(srv.name+"/"+c.name+"/"+tr[0], func(t *testing.T) {
						app := srv.start(t, ServerConfig{PingInterval: time.Second, PingTimeout: time.Second, MaxPayload: 3e6})
						x := StartToxiproxy(t)
						p, url := x.Proxy("mobile", app.Addr)
						for _, stream := range []string{"downstream", "upstream"} {
							_, err := p.AddToxic("latency-"+stream, "latency", stream, 1, toxiproxy.Attributes{"latency": 150})
							require.NoError(t, err)
							_, err = p.AddToxic("bandwidth-"+stream, "bandwidth", stream, 1, toxiproxy.Attributes{"rate": 50})
							require.NoError(t, err)
						}
						r := &run{cell: "slow mobile link: 300 ms RTT, 50 KB/s, 1 MB each way (toxiproxy)", client: c,
							label: c.name + " (" + tr[0] + ")", app: app, url: url,
							cfg:  ClientConfig{Transports: tr, Duration: duration, Big: big, BigWait: 90 * time.Second},
							note: "pingInterval 1 s, pingTimeout 1 s"}
						res := r.measure(t)
						if srv.name == "ferry" && c.name == "go" {
							whole(t, res, tr[0])
							assert.NotNil(t, res.BigBackMs, "the 1 MB message came back")
						}
					})
				})
			}
		}
	}
}

// Connections reset by the network (toxiproxy reset_peer for a moment, in
// the middle of the upgrade and of long-polls) and a POST cut mid-body
// (limit_data): the session survives or ends with a reason and the client
// reconnects; nothing is delivered twice.
func TestResets(t *testing.T) {
	t.Parallel()
	for _, srv := range servers {
		for _, c := range []clientRunner{nodeClient, goClient} {
			t.Run(srv.name+"/"+c.name+"/reset-peer", func(t *testing.T) {
				t.Parallel()
				app := srv.start(t, ServerConfig{PingInterval: pingInterval, PingTimeout: pingTimeout, UpgradeTimeout: upgradeTimeout})
				x := StartToxiproxy(t)
				p, url := x.Proxy("resets", app.Addr)
				// Every connection opened in the first 1.5 s is reset 300 ms
				// after it opened: the handshake's keep-alive connection,
				// the first long-polls, the upgrade's WebSocket.
				_, err := p.AddToxic("reset", "reset_peer", "upstream", 1, toxiproxy.Attributes{"timeout": 300})
				require.NoError(t, err)
				time.AfterFunc(1500*time.Millisecond, func() { p.RemoveToxic("reset") })
				r := &run{cell: "connections reset 300 ms after opening, for 1.5 s: handshake, upgrade, polls (toxiproxy reset_peer)", client: c, label: c.name,
					app: app, url: url, cfg: ClientConfig{Duration: max(duration, 4*time.Second)}}
				res := r.measure(t)
				if srv.name == "ferry" {
					noDuplicates(t, res)
				}
			})
			t.Run(srv.name+"/"+c.name+"/reset-mid-session", func(t *testing.T) {
				t.Parallel()
				app := srv.start(t, ServerConfig{PingInterval: pingInterval, PingTimeout: pingTimeout, UpgradeTimeout: upgradeTimeout})
				x := StartToxiproxy(t)
				p, url := x.Proxy("resets", app.Addr)
				// Once the exchange runs (on a WebSocket, after the
				// upgrade), connections are reset as data crosses them,
				// for half a second.
				reset := time.AfterFunc(time.Second, func() {
					if _, err := p.AddToxic("reset", "reset_peer", "upstream", 1, toxiproxy.Attributes{"timeout": 0}); err == nil {
						time.AfterFunc(500*time.Millisecond, func() { p.RemoveToxic("reset") })
					}
				})
				defer reset.Stop()
				r := &run{cell: "connections reset mid-session, for 0.5 s (toxiproxy reset_peer)", client: c, label: c.name,
					app: app, url: url, cfg: ClientConfig{Duration: max(duration, 4*time.Second)}}
				res := r.measure(t)
				if srv.name == "ferry" {
					noDuplicates(t, res)
					assert.Positive(t, res.Reconnects(), "the reset ended the connection")
				}
			})
			t.Run(srv.name+"/"+c.name+"/limit-data", func(t *testing.T) {
				t.Parallel()
				app := srv.start(t, ServerConfig{PingInterval: pingInterval, PingTimeout: pingTimeout, MaxPayload: 3e6})
				x := StartToxiproxy(t)
				p, url := x.Proxy("cut", app.Addr)
				// Each connection is closed once 64 KB went upstream on it,
				// for 2 s: the 256 KB message's POST is cut mid-body.
				_, err := p.AddToxic("cut", "limit_data", "upstream", 1, toxiproxy.Attributes{"bytes": 64 << 10})
				require.NoError(t, err)
				time.AfterFunc(2*time.Second, func() { p.RemoveToxic("cut") })
				r := &run{cell: "POST cut mid-body (toxiproxy limit_data)", client: c, label: c.name + " (polling)",
					app: app, url: url, cfg: ClientConfig{Transports: []string{"polling"}, Duration: max(duration, 4*time.Second),
						Big: 256 << 10, BigWait: 5 * time.Second}}
				res := r.measure(t)
				if srv.name == "ferry" {
					noDuplicates(t, res)
				}
			})
		}
	}
}
