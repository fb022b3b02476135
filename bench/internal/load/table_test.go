package load

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func line(t *testing.T, server, scenario string, kv ...any) string {
	r := Result{Server: server, Scenario: scenario}
	for i := 0; i < len(kv); i += 2 {
		r.add(kv[i].(string), kv[i+1])
	}
	b, err := json.Marshal(r)
	require.NoError(t, err)
	return string(b)
}

func TestTableRatiosAndTargets(t *testing.T) {
	lines := []string{
		line(t, "ferry", "echo", "window", 1, "msgs_per_s", 900.0, "msgs_per_server_cpu_s", 3000.0, "server_cpu_s_per_100k_msgs", 1.0),
		line(t, "node", "echo", "window", 1, "msgs_per_s", 300.0, "msgs_per_server_cpu_s", 1000.0, "server_cpu_s_per_100k_msgs", 2.0),
		line(t, "raw", "echo", "window", 1, "msgs_per_s", 1000.0, "msgs_per_server_cpu_s", 6000.0),
		line(t, "ferry", "echo", "window", 8, "msgs_per_server_cpu_s", 7000.0),
		line(t, "ferry", "echo-json", "window", 1, "server_cpu_s_per_100k_msgs", 1.2),
		line(t, "node", "echo-json", "window", 1, "server_cpu_s_per_100k_msgs", 1.9),
		line(t, "ferry", "idle", "n", 10000, "rss_per_conn_bytes", 10.0*1024),
		line(t, "ferry", "fanout", "clients", 10000, "deliveries_per_s", 100.0, "p99_ms", 50.0),
		line(t, "node", "fanout", "clients", 10000, "deliveries_per_s", 50.0, "p99_ms", 40.0),
		line(t, "node", "polling", "error", "boom"),
	}
	var out bytes.Buffer
	require.NoError(t, Table(strings.NewReader(strings.Join(lines, "\n")), &out))
	text := out.String()

	rowOf := func(label string) string {
		for l := range strings.Lines(text) {
			if strings.HasPrefix(strings.TrimSpace(l), label) {
				return l
			}
		}
		t.Fatalf("no row %q in\n%s", label, text)
		return ""
	}
	assert.Contains(t, rowOf("echo: msgs per server CPU s"), fmt.Sprintf("%.2f×", 3000.0/1000))
	assert.Contains(t, rowOf("echo: msgs per server CPU s"), fmt.Sprintf("%.2f×", 3000.0/6000))
	assert.Contains(t, rowOf("echo 8 in flight: msgs per server CPU s"), "7000")
	assert.Contains(t, rowOf("idle 10k: server RSS KiB/conn"), "10.0")
	assert.Contains(t, rowOf("polling: msgs/s"), "error")
	assert.Contains(t, rowOf("echo JSON: server CPU s/100k msgs"), "1.9")
	assert.Contains(t, rowOf("echo: server CPU per msg, JSON/msgpack"), "1.2")
	assert.Contains(t, rowOf("echo: server CPU per msg, JSON/msgpack"), "0.95")

	assert.Contains(t, text, "target MET    echo msgs per server CPU s ≥ 3× Node")
	assert.Contains(t, text, "target MISSED echo msgs per server CPU s within 1.5× of raw: raw/ferry 2.00×")
	assert.Contains(t, text, "target MISSED fanout to 10000 sockets deliveries/s ≥ 4× Node: 2.00×")
	assert.Contains(t, text, "target MISSED fanout p99 lower than Node")
	assert.Contains(t, text, "target MISSED echo JSON server CPU per msg within 1.15× of msgpack: ferry 1.20× (node 0.95×)")
	assert.Contains(t, text, "target MET    idle WebSocket ≤ 12 KiB")
	assert.Contains(t, text, "target n/a    polling echo")
	assert.Contains(t, text, "error: node polling: boom")
}

func TestTableRejectsBadLines(t *testing.T) {
	err := Table(strings.NewReader("{not json"), &bytes.Buffer{})
	require.ErrorContains(t, err, "bad result line")
}
