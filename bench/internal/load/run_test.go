package load

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// tinyParams sizes every scenario so that all of them run in seconds, and
// spreads connections over several loopback source addresses (3 per
// address) so that that path is exercised too.
func tinyParams() Params {
	return Params{
		ConnectN:           12,
		ConnectConcurrency: 4,
		IdleN:              []int{8},
		Settle:             50 * time.Millisecond,
		EchoClients:        3,
		EchoWindows:        []int{1, 3},
		PollClients:        2,
		Warmup:             100 * time.Millisecond,
		Duration:           300 * time.Millisecond,
		Payload:            16,
		FanoutN:            6,
		FanoutM:            3,
		PacedN:             5,
		PacedRates:         []int{50, 200},
		Timeout:            20 * time.Second,
		SourcePerAddr:      3,
	}
}

// buildServer compiles one of bench/cmd's servers into dir.
func buildServer(t *testing.T, dir, name string) string {
	t.Helper()
	goTool, err := exec.LookPath("go")
	require.NoError(t, err, "the go command is needed to build the servers")
	out := filepath.Join(dir, name)
	cmd := exec.Command(goTool, "build", "-o", out, "github.com/ferryio/ferry/bench/cmd/"+name)
	b, err := cmd.CombinedOutput()
	require.NoError(t, err, "go build %s: %s", name, b)
	return out
}

// runLines runs scenarios against s and returns the JSON lines decoded.
func runLines(t *testing.T, s Server, scenarios []string) []map[string]any {
	t.Helper()
	var out bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	err := Run(ctx, s, scenarios, tinyParams(), &out)
	var recs []map[string]any
	sc := bufio.NewScanner(&out)
	for sc.Scan() {
		var rec map[string]any
		require.NoError(t, json.Unmarshal(sc.Bytes(), &rec), "line %q", sc.Text())
		assert.Nil(t, rec["error"], "scenario %v failed", rec["scenario"])
		recs = append(recs, rec)
	}
	require.NoError(t, err)
	return recs
}

// positive asserts that rec holds a number above zero under each key.
func positive(t *testing.T, rec map[string]any, keys ...string) {
	t.Helper()
	for _, k := range keys {
		v, ok := rec[k].(float64)
		if assert.True(t, ok, "%v %v has no %q: %v", rec["server"], rec["scenario"], k, rec) {
			assert.Positive(t, v, "%v %v %s", rec["server"], rec["scenario"], k)
		}
	}
}

func TestScenariosAgainstFerry(t *testing.T) {
	bin := buildServer(t, t.TempDir(), "ferryserver")
	p := tinyParams()
	recs := runLines(t, Server{Name: "ferry", Command: []string{bin}}, Scenarios())

	var got []string
	for _, rec := range recs {
		assert.Equal(t, "ferry", rec["server"])
		got = append(got, rec["scenario"].(string))
	}
	require.Equal(t, []string{"connect", "connect", "connect", "idle", "echo", "echo", "echo-json", "echo-json", "fanout", "paced", "paced", "polling"}, got)

	assert.Equal(t, "websocket", recs[0]["mode"])
	assert.Equal(t, "upgrade", recs[1]["mode"])
	assert.Equal(t, "polling", recs[2]["mode"])
	for _, rec := range recs[:3] {
		assert.EqualValues(t, p.ConnectN, rec["n"])
		positive(t, rec, "conns_per_s", "p50_ms", "p99_ms")
		assert.Contains(t, rec, "server_cpu_s_per_100k_conns")
	}
	recs = recs[1:]
	idle := recs[2]
	assert.EqualValues(t, p.IdleN[0], idle["n"])
	positive(t, idle, "rss_before_bytes", "rss_after_bytes", "conns_per_s")
	assert.Contains(t, idle, "rss_per_conn_bytes")
	assert.Contains(t, idle, "rss_per_conn_after_gc_bytes")
	// Every Ferry connection has at least its read goroutine.
	positive(t, idle, "goroutines_per_conn")

	for i, echo := range recs[3:7] {
		assert.EqualValues(t, p.EchoWindows[i%2], echo["window"])
		positive(t, echo, "msgs", "msgs_per_s", "p50_us", "p99_us")
		assert.GreaterOrEqual(t, echo["p99_us"], echo["p50_us"])
		assert.Contains(t, echo, "server_cpu_s_per_100k_msgs")
	}
	// The echo-json variants speak the JSON parser to a server started
	// with it: the acks could not be read otherwise.
	for _, rec := range recs {
		want := "msgpack"
		if rec["scenario"] == "echo-json" {
			want = "json"
		}
		assert.Equal(t, want, rec["parser"], "%v", rec["scenario"])
	}

	fanout := recs[7]
	assert.EqualValues(t, p.FanoutN*p.FanoutM, fanout["deliveries"], "every client gets every message")
	positive(t, fanout, "deliveries_per_s", "p99_ms")

	checkPaced(t, p, recs[8:10])
	positive(t, recs[10], "msgs", "msgs_per_s", "p99_us")
}

// checkPaced checks the paced-fanout variants' records: every client got
// every message due in the measured window, and the latencies are in order.
func checkPaced(t *testing.T, p Params, recs []map[string]any) {
	t.Helper()
	require.Len(t, recs, len(p.PacedRates))
	for i, rec := range recs {
		rate := p.PacedRates[i]
		assert.EqualValues(t, rate, rec["rate_per_s"])
		interval := time.Second / time.Duration(rate)
		measured := int((p.Warmup+p.Duration)/interval) - int((p.Warmup+interval-1)/interval)
		assert.EqualValues(t, p.PacedN*measured, rec["deliveries"], "every client gets every message due in the window")
		assert.EqualValues(t, p.PacedN*rate, rec["offered_per_s"])
		positive(t, rec, "deliveries_per_s", "p50_ms", "p99_ms", "max_ms")
		assert.GreaterOrEqual(t, rec["p99_ms"], rec["p50_ms"])
		assert.GreaterOrEqual(t, rec["max_ms"], rec["p99_ms"])
		positive(t, rec, "first_p50_ms", "first_p99_ms")
		assert.Contains(t, rec, "spread_p99_ms")
		assert.GreaterOrEqual(t, rec["max_ms"], rec["first_p99_ms"])
	}
}

// TestEchoJSONAgainstNode runs the JSON echo against the Node server, when
// node and its packages are installed (bench/run installs them).
func TestEchoJSONAgainstNode(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node is not installed")
	}
	script, err := filepath.Abs("../../node/server.mjs")
	require.NoError(t, err)
	if _, err := os.Stat(filepath.Join(filepath.Dir(script), "node_modules", "socket.io")); err != nil {
		t.Skip("bench/node has no node_modules: run npm ci there")
	}
	recs := runLines(t, Server{Name: "node", Command: []string{node, script}}, []string{"echo", "echo-json"})
	require.Len(t, recs, 4)
	for i, rec := range recs {
		assert.Equal(t, []string{"msgpack", "json"}[i/2], rec["parser"])
		positive(t, rec, "msgs", "msgs_per_s")
	}
}

func TestScenariosAgainstRaw(t *testing.T) {
	bin := buildServer(t, t.TempDir(), "rawserver")
	p := tinyParams()
	recs := runLines(t, Server{Name: "raw", Protocol: Raw, Command: []string{bin}}, Scenarios())

	var got []string
	for _, rec := range recs {
		got = append(got, rec["scenario"].(string))
	}
	// The raw server has no Engine.IO, so no upgrade and no polling
	// scenario; its connect over polling is three bare requests.
	require.Equal(t, []string{"connect", "connect", "idle", "echo", "echo", "fanout", "paced", "paced"}, got)
	assert.Equal(t, "websocket", recs[0]["mode"])
	assert.Equal(t, "polling", recs[1]["mode"])
	positive(t, recs[0], "conns_per_s")
	positive(t, recs[1], "conns_per_s")
	positive(t, recs[3], "msgs", "msgs_per_s")
	positive(t, recs[4], "msgs", "msgs_per_s")
	assert.EqualValues(t, p.FanoutN*p.FanoutM, recs[5]["deliveries"])
	checkPaced(t, p, recs[6:8])
}

func TestServerThatPrintsNoPort(t *testing.T) {
	var out bytes.Buffer
	p := tinyParams()
	err := Run(context.Background(), Server{Name: "false", Command: []string{"false"}}, []string{"fanout"}, p, &out)
	require.ErrorIs(t, err, ErrScenarioFailed)
	var rec map[string]any
	require.NoError(t, json.Unmarshal(out.Bytes(), &rec))
	assert.Equal(t, "fanout", rec["scenario"])
	assert.Contains(t, rec["error"], "exited before printing its port")
}

func TestUnknownScenario(t *testing.T) {
	err := Run(context.Background(), Server{Name: "x", Command: []string{"true"}}, []string{"nope"}, tinyParams(), &bytes.Buffer{})
	require.ErrorContains(t, err, `unknown scenario "nope"`)
}
