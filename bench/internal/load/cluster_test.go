package load

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// runClusterLine runs the cluster scenario at tiny size against s and
// returns its JSON line decoded.
func runClusterLine(t *testing.T, s ClusterServer) map[string]any {
	t.Helper()
	var out bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	err := RunCluster(ctx, s, tinyParams(), &out)
	var rec map[string]any
	require.NoError(t, json.Unmarshal(out.Bytes(), &rec), "line %q", out.String())
	require.NoError(t, err, "%v", rec["error"])
	return rec
}

// checkCluster checks a cluster result: every client of both servers got
// every message, and the measurements are there.
func checkCluster(t *testing.T, rec map[string]any, server string) {
	t.Helper()
	p := tinyParams()
	assert.Equal(t, server, rec["server"])
	assert.Equal(t, ClusterScenario, rec["scenario"])
	assert.EqualValues(t, p.FanoutN, rec["clients"])
	assert.EqualValues(t, (p.FanoutN+1)/2, rec["clients_a"])
	assert.EqualValues(t, p.FanoutN/2, rec["clients_b"])
	assert.EqualValues(t, p.FanoutN*p.FanoutM, rec["deliveries"], "every client of both servers gets every message")
	positive(t, rec, "deliveries_per_s", "p50_ms", "p99_ms", "p99_ms_a", "p99_ms_b")
	positive(t, rec, "server_a_writes_per_delivery", "server_b_writes_per_delivery")
	for _, k := range []string{"server_a_cpu_s", "server_b_cpu_s", "redis_cpu_s", "other_cpu_util", "load_cpu_util"} {
		assert.Contains(t, rec, k)
	}
	assert.EqualValues(t, 1, rec["attempts"])
}

func TestClusterAgainstFerry(t *testing.T) {
	bin := buildServer(t, t.TempDir(), "ferrycluster")
	rec := runClusterLine(t, ClusterServer{Name: "ferry", Command: []string{bin, "-redis", "{redis}"}})
	checkCluster(t, rec, "ferry")
}

// TestClusterAgainstNode runs the Node pair (bench/node/clusterserver.mjs),
// when bench/node's packages include the Redis adapter (scripts/deps).
func TestClusterAgainstNode(t *testing.T) {
	if _, err := exec.LookPath("node"); err != nil {
		t.Fatalf("node is not installed: run make deps (%v)", err)
	}
	dir, err := filepath.Abs(filepath.Join("..", "..", "node"))
	require.NoError(t, err)
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "@socket.io", "redis-adapter")); err != nil {
		t.Fatalf("bench/node's packages lack @socket.io/redis-adapter: run scripts/deps (%v)", err)
	}
	rec := runClusterLine(t, ClusterServer{Name: "node", Command: []string{"node", "clusterserver.mjs", "{redis}"}, Dir: dir})
	checkCluster(t, rec, "node")
}

func TestClusterServerThatPrintsNoPort(t *testing.T) {
	var out bytes.Buffer
	err := RunCluster(context.Background(), ClusterServer{Name: "false", Command: []string{"false"}}, tinyParams(), &out)
	require.ErrorIs(t, err, ErrScenarioFailed)
	var rec map[string]any
	require.NoError(t, json.Unmarshal(out.Bytes(), &rec))
	assert.Equal(t, ClusterScenario, rec["scenario"])
	assert.Contains(t, rec["error"], "exited before printing its port")
}

func TestClusterTable(t *testing.T) {
	lines := []string{
		line(t, "ferry", ClusterScenario, "clients", 10000, "messages", 20, "deliveries_per_s", 300.0, "p99_ms", 50.0, "deliveries_per_server_cpu_s", 4000.0),
		line(t, "node", ClusterScenario, "clients", 10000, "messages", 20, "deliveries_per_s", 100.0, "p99_ms", 80.0, "deliveries_per_server_cpu_s", 1000.0),
		line(t, "ferry", "fanout", "deliveries_per_s", 1.0), // another scenario: ignored
	}
	var out bytes.Buffer
	require.NoError(t, ClusterTable(strings.NewReader(strings.Join(lines, "\n")), &out))
	text := out.String()
	assert.Contains(t, text, "cluster fanout: 10000 clients on two servers, 20 messages")
	assert.Regexp(t, `deliveries/s\s+300.0\s+100.0\s+3.00×`, text)
	assert.Regexp(t, `deliveries per server CPU s \(a \+ b\)\s+4000\s+1000\s+4.00×`, text)
	assert.Contains(t, text, "target MET    cluster fanout deliveries per server CPU s ≥ 3× Node: 4.00× (ferry 4000, node 1000)")

	out.Reset()
	lines[1] = line(t, "node", ClusterScenario, "deliveries_per_server_cpu_s", 2000.0)
	lines = append(lines, line(t, "node", ClusterScenario, "error", "boom")) // the last line wins
	require.NoError(t, ClusterTable(strings.NewReader(strings.Join(lines, "\n")), &out))
	assert.Contains(t, out.String(), "target n/a    cluster fanout")
	assert.Contains(t, out.String(), "error: node cluster-fanout: boom")
}
