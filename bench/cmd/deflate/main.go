// Command deflate measures WebSocket compression (permessage-deflate) on
// the benchmark's echo: clients send "echo" events carrying a 4 KiB
// JSON-like string, one in flight each, and wait for the ack, which
// carries it back. Each server runs with compression off, then on, as a
// fresh process, and the command reports per message (one event and its
// ack): the server's CPU time and the bytes on the wire each way.
//
//	go build -o bin/ ./cmd/... && taskset -c 0 bin/deflate -pin 1   # from bench/
//
// The clients are gorilla/websocket clients that offer permessage-deflate
// (with no context takeover, which is all gorilla/websocket speaks), as
// browsers offer it; a server with compression off declines. Bytes on the
// wire are what the clients' connections read and wrote after the
// handshake, WebSocket framing included, TCP/IP headers not. It prints one
// JSON line per variant, then a table.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"text/tabwriter"
	"time"

	gorilla "github.com/gorilla/websocket"

	"github.com/ferryio/ferry/bench/internal/procstat"
	"github.com/ferryio/ferry/parser"
)

func main() {
	cfg := config{}
	flag.StringVar(&cfg.ferry, "ferry", "bin/ferryserver", "command starting the Ferry server (split on spaces); empty skips it")
	flag.StringVar(&cfg.node, "node", "node node/server.mjs", "command starting the Node server (split on spaces); empty skips it")
	flag.StringVar(&cfg.pin, "pin", "", "run the servers under taskset -c with this CPU list")
	flag.IntVar(&cfg.clients, "clients", 50, "clients, one event in flight each")
	flag.IntVar(&cfg.payload, "payload", 4096, "size of the JSON-like string each event carries, bytes")
	flag.DurationVar(&cfg.warmup, "warmup", time.Second, "unmeasured warm-up")
	flag.DurationVar(&cfg.duration, "duration", 5*time.Second, "measured time")
	flag.Parse()
	if err := run(context.Background(), cfg, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "deflate:", err)
		os.Exit(1)
	}
}

// config is what main's flags set.
type config struct {
	ferry, node, pin string
	clients, payload int
	warmup, duration time.Duration
}

// variant is one server process and how it compresses.
type variant struct {
	Server  string `json:"server"`
	Deflate string `json:"deflate"` // "off", or the compression used
	command []string
}

// variants returns the variants to run: each server with compression off,
// then on (Ferry also at zlib's default level, which the ws package uses,
// for a like-for-like ratio).
func (c config) variants() []variant {
	var vs []variant
	if c.ferry != "" {
		f := strings.Fields(c.ferry)
		vs = append(vs,
			variant{"ferry", "off", f},
			variant{"ferry", "on, level 1", append(slices.Clone(f), "-deflate")},
			variant{"ferry", "on, level 6", append(slices.Clone(f), "-deflate", "-deflate-level", "6")})
	}
	if c.node != "" {
		n := strings.Fields(c.node)
		vs = append(vs,
			variant{"node", "off", n},
			variant{"node", "on, level 6", append(slices.Clone(n), "-deflate")})
	}
	return vs
}

// result is one variant's figures.
type result struct {
	variant
	Negotiated    bool    `json:"negotiated"`
	PayloadBytes  int     `json:"payload_bytes"`
	Msgs          int64   `json:"msgs"`
	MsgsPerSec    float64 `json:"msgs_per_s"`
	ServerCPUUs   float64 `json:"server_cpu_us_per_msg"`
	DownBytes     float64 `json:"bytes_per_msg_server_to_client"`
	UpBytes       float64 `json:"bytes_per_msg_client_to_server"`
	ServerCPUUtil float64 `json:"server_cpu_util"`
	P50us         float64 `json:"p50_us"`
	P99us         float64 `json:"p99_us"`
}

func run(ctx context.Context, cfg config, out io.Writer) error {
	payload := jsonLike(cfg.payload)
	var results []result
	for _, v := range cfg.variants() {
		r, err := measure(ctx, cfg, v, payload)
		if err != nil {
			return fmt.Errorf("%s, deflate %s: %w", v.Server, v.Deflate, err)
		}
		line, err := json.Marshal(r)
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "%s\n", line)
		results = append(results, r)
	}
	return table(out, results)
}

// table prints the results side by side.
func table(out io.Writer, rs []result) error {
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "server\tdeflate\tmsgs/s\tserver CPU µs/msg\tbytes/msg server→client\tbytes/msg client→server\tp50 µs\tp99 µs\t")
	for _, r := range rs {
		fmt.Fprintf(tw, "%s\t%s\t%.0f\t%.1f\t%.0f\t%.0f\t%.0f\t%.0f\t\n",
			r.Server, r.Deflate, r.MsgsPerSec, r.ServerCPUUs, r.DownBytes, r.UpBytes, r.P50us, r.P99us)
	}
	return tw.Flush()
}

// jsonLike returns n bytes of JSON records, as an application would send:
// repeated keys, numbers, short words and an 8-hex-digit token per record
// (from a fixed seed, so that every run sends the same text).
func jsonLike(n int) string {
	rng := rand.New(rand.NewPCG(1, 2))
	words := []string{"alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel"}
	var b strings.Builder
	b.WriteByte('[')
	for i := 0; b.Len() < n; i++ {
		fmt.Fprintf(&b, `{"id":%d,"user":"user-%d","ts":%d,"token":"%08x","text":"%s %s %s","tags":["%s","%s"],"ok":%t},`,
			1000+i, rng.IntN(50), 1733580000000+rng.Int64N(1e6), rng.Uint32(),
			words[rng.IntN(8)], words[rng.IntN(8)], words[rng.IntN(8)], words[rng.IntN(8)], words[rng.IntN(8)], i%3 == 0)
	}
	return b.String()[:n]
}

// counter counts the bytes a set of connections read and wrote.
type counter struct{ read, written atomic.Int64 }

// countingConn is a net.Conn whose traffic a counter sees.
type countingConn struct {
	net.Conn
	c *counter
}

func (c *countingConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.c.read.Add(int64(n))
	return n, err
}

func (c *countingConn) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	c.c.written.Add(int64(n))
	return n, err
}

// variantTimeout bounds each variant, server start included.
const variantTimeout = 90 * time.Second

// measure runs one variant: it starts the server, connects the clients,
// and runs the echo.
func measure(ctx context.Context, cfg config, v variant, payload string) (result, error) {
	r := result{variant: v, PayloadBytes: len(payload)}
	ctx, cancel := context.WithTimeout(ctx, variantTimeout)
	defer cancel()
	proc, addr, err := start(ctx, v.command, cfg.pin)
	if err != nil {
		return r, err
	}
	defer proc.stop()

	codec := parser.Msgpack()
	connect, err := encode(codec, &parser.Packet{Type: parser.Connect, Namespace: "/"})
	if err != nil {
		return r, err
	}
	event, err := encode(codec, &parser.Packet{Type: parser.Event, Namespace: "/", ID: 1, HasID: true, Args: []any{"echo", payload}})
	if err != nil {
		return r, err
	}
	var wire counter
	d := gorilla.Dialer{
		HandshakeTimeout:  10 * time.Second,
		EnableCompression: true,
		NetDialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			return &countingConn{Conn: c, c: &wire}, nil
		},
	}
	url := "ws://" + addr + "/socket.io/?EIO=4&transport=websocket"
	conns := make([]*gorilla.Conn, cfg.clients)
	defer func() {
		for _, c := range conns {
			if c != nil {
				c.Close()
			}
		}
	}()
	for i := range conns {
		c, resp, err := d.DialContext(ctx, url, nil)
		if err != nil {
			return r, err
		}
		conns[i] = c
		r.Negotiated = strings.HasPrefix(resp.Header.Get("Sec-WebSocket-Extensions"), "permessage-deflate")
		if err := join(c, connect); err != nil {
			return r, err
		}
	}
	if want := v.Deflate != "off"; r.Negotiated != want {
		return r, fmt.Errorf("permessage-deflate negotiated: %v, want %v", r.Negotiated, want)
	}

	from := time.Now().Add(cfg.warmup)
	to := from.Add(cfg.duration)
	lats := make([][]time.Duration, len(conns))
	errs := make([]error, len(conns))
	// Round trips completed, read with the byte and CPU counters, so that
	// the figures per message divide what was counted in one window.
	var echoed atomic.Int64
	var wg sync.WaitGroup
	for i, c := range conns {
		wg.Go(func() { lats[i], errs[i] = echo(c, event, len(payload), from, to, &echoed) })
	}
	wait := func(until time.Time) error {
		select {
		case <-time.After(time.Until(until)):
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	if err := wait(from); err != nil {
		return r, err
	}
	cpu0, err := procstat.CPU(proc.cmd.Process.Pid)
	if err != nil {
		return r, err
	}
	read0, written0, echoed0, t0 := wire.read.Load(), wire.written.Load(), echoed.Load(), time.Now()
	if err := wait(to); err != nil {
		return r, err
	}
	cpu1, err := procstat.CPU(proc.cmd.Process.Pid)
	if err != nil {
		return r, err
	}
	read1, written1, echoed1, t1 := wire.read.Load(), wire.written.Load(), echoed.Load(), time.Now()
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return r, err
	}
	var all []time.Duration
	for _, l := range lats {
		all = append(all, l...)
	}
	n := echoed1 - echoed0
	if n == 0 || len(all) == 0 {
		return r, errors.New("no message was echoed in the measured window")
	}
	slices.Sort(all)
	r.Msgs = n
	elapsed := t1.Sub(t0).Seconds()
	r.MsgsPerSec = float64(n) / elapsed
	r.ServerCPUUs = float64((cpu1 - cpu0).Microseconds()) / float64(n)
	r.ServerCPUUtil = (cpu1 - cpu0).Seconds() / elapsed
	r.DownBytes = float64(read1-read0) / float64(n)
	r.UpBytes = float64(written1-written0) / float64(n)
	r.P50us = float64(all[len(all)/2].Microseconds())
	r.P99us = float64(all[len(all)*99/100].Microseconds())
	return r, nil
}

// encode returns p as its single binary message.
func encode(codec parser.Codec, p *parser.Packet) ([]byte, error) {
	frames, err := codec.Encode(p)
	if err != nil {
		return nil, err
	}
	if len(frames) != 1 || !frames[0].Binary {
		return nil, fmt.Errorf("%v encodes to %d messages", p.Type, len(frames))
	}
	return frames[0].Data, nil
}

// join reads the Engine.IO open packet, joins "/" and reads the reply.
func join(c *gorilla.Conn, connect []byte) error {
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	defer c.SetReadDeadline(time.Time{})
	if _, open, err := c.ReadMessage(); err != nil || len(open) == 0 || open[0] != '0' {
		return fmt.Errorf("open packet: %q, %v", open, err)
	}
	if err := c.WriteMessage(gorilla.BinaryMessage, connect); err != nil {
		return err
	}
	mt, _, err := c.ReadMessage()
	if err == nil && mt != gorilla.BinaryMessage {
		err = errors.New("the CONNECT reply is not a msgpack message")
	}
	return err
}

// echo sends event and reads its ack, one at a time, until to, counting
// each round trip in echoed, and returns the round-trip times of those sent
// from from on. An ack shorter than the payload it carries back means a
// wrong reply.
func echo(c *gorilla.Conn, event []byte, payload int, from, to time.Time, echoed *atomic.Int64) ([]time.Duration, error) {
	var lats []time.Duration
	c.SetReadDeadline(to.Add(10 * time.Second))
	for {
		t0 := time.Now()
		if !t0.Before(to) {
			return lats, nil
		}
		if err := c.WriteMessage(gorilla.BinaryMessage, event); err != nil {
			return nil, err
		}
		for {
			mt, data, err := c.ReadMessage()
			if err != nil {
				return nil, err
			}
			if mt == gorilla.TextMessage {
				if string(data) == "2" { // an Engine.IO ping
					if err := c.WriteMessage(gorilla.TextMessage, []byte("3")); err != nil {
						return nil, err
					}
				}
				continue
			}
			if len(data) < payload {
				return nil, fmt.Errorf("a %d-byte reply to a %d-byte echo", len(data), payload)
			}
			break
		}
		echoed.Add(1)
		if !t0.Before(from) {
			lats = append(lats, time.Since(t0))
		}
	}
}

// process is a running server.
type process struct {
	cmd    *exec.Cmd
	exited chan struct{}
}

// start runs command (under taskset -c pin if pin is set) and waits for
// the port it prints on its first line.
func start(ctx context.Context, command []string, pin string) (*process, string, error) {
	if pin != "" {
		command = append([]string{"taskset", "-c", pin}, command...)
	}
	cmd := exec.Command(command[0], command[1:]...)
	cmd.Stderr = os.Stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, "", err
	}
	if err := cmd.Start(); err != nil {
		return nil, "", err
	}
	p := &process{cmd: cmd, exited: make(chan struct{})}
	line := make(chan string, 1)
	go func() {
		s := bufio.NewScanner(stdout)
		if s.Scan() {
			line <- s.Text()
		}
		io.Copy(io.Discard, stdout)
		cmd.Wait()
		close(p.exited)
	}()
	select {
	case l := <-line:
		port, err := strconv.Atoi(l)
		if err != nil || port <= 0 || port > 65535 {
			p.stop()
			return nil, "", fmt.Errorf("%s printed %q, not a port", command[0], l)
		}
		return p, net.JoinHostPort("127.0.0.1", l), nil
	case <-p.exited:
		return nil, "", fmt.Errorf("%s exited before printing its port", strings.Join(command, " "))
	case <-ctx.Done():
		p.stop()
		return nil, "", ctx.Err()
	}
}

// stop sends SIGTERM, and SIGKILL if the process has not exited 5 s later.
func (p *process) stop() {
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
	case <-time.After(5 * time.Second):
		p.cmd.Process.Kill()
		<-p.exited
	}
}
