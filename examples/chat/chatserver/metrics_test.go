package chatserver_test

import (
	"context"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ferryio/ferry/client"
)

// scrapeMetrics fetches the chat's /metrics in the text format and returns
// the value of each Ferry series, keyed name{label="value",...}.
func scrapeMetrics(t *testing.T, url string) map[string]float64 {
	t.Helper()
	resp, err := http.Get(url + "/metrics")
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(resp.Body)
	require.NoError(t, err)
	out := make(map[string]float64)
	for name, f := range families {
		if !strings.HasPrefix(name, "ferry_") {
			continue
		}
		for _, m := range f.GetMetric() {
			var labels []string
			for _, l := range m.GetLabel() {
				labels = append(labels, l.GetName()+"="+strconv.Quote(l.GetValue()))
			}
			slices.Sort(labels)
			key := name
			if len(labels) > 0 {
				key += "{" + strings.Join(labels, ",") + "}"
			}
			out[key] = m.GetCounter().GetValue() + m.GetGauge().GetValue()
		}
	}
	return out
}

// chatter is a Go client in the chat, with the chat messages it received.
type chatter struct {
	c        *client.Client
	s        *client.Socket
	messages chan *client.Event
}

func joinChat(t *testing.T, url, nick string, transports ...string) *chatter {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := client.Dial(ctx, url, &client.Options{Transports: transports, DisableReconnection: true})
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	ch := &chatter{c: c, s: c.Socket("/", nil), messages: make(chan *client.Event, 16)}
	ch.s.On("message", func(e *client.Event) { ch.messages <- e })
	require.NoError(t, ch.s.Connect(ctx))
	reply, err := ch.s.EmitWithAck(ctx, "join", map[string]string{"nick": nick, "room": "general"})
	require.NoError(t, err)
	var joined map[string]any
	require.NoError(t, reply.Decode(&joined))
	require.Equal(t, nick, joined["nick"], "join reply: %v", joined)
	return ch
}

// TestMetrics scrapes the chat's /metrics while Go clients chat over each
// transport, and checks that Ferry's numbers move as they should.
func TestMetrics(t *testing.T) {
	t.Parallel()
	url := start(t)
	before := scrapeMetrics(t, url)
	require.Contains(t, before, `ferry_connections{transport="websocket"}`)

	alice := joinChat(t, url, "alice", "polling")
	bob := joinChat(t, url, "bob", "websocket")
	carol := joinChat(t, url, "carol", "polling", "websocket")
	require.Eventually(t, func() bool { return carol.c.Transport() == "websocket" }, 10*time.Second, time.Millisecond)
	var now map[string]float64
	require.Eventually(t, func() bool {
		now = scrapeMetrics(t, url)
		return now[`ferry_upgrades_total{cause="",result="succeeded"}`] == 1
	}, 10*time.Second, 5*time.Millisecond)
	assert.Equal(t, 1.0, now[`ferry_connections{transport="polling"}`])
	assert.Equal(t, 2.0, now[`ferry_connections{transport="websocket"}`])
	assert.Equal(t, 2.0, now[`ferry_connections_opened_total{transport="polling"}`])
	assert.Equal(t, 1.0, now[`ferry_connections_opened_total{transport="websocket"}`])
	assert.Equal(t, 3.0, now[`ferry_sockets`])
	assert.GreaterOrEqual(t, now[`ferry_broadcasts_total`], 3.0, "each join is announced to the room")

	// A page of another site is refused.
	prev := scrapeMetrics(t, url)
	req, err := http.NewRequest(http.MethodGet, url+"/socket.io/?EIO=4&transport=polling", nil)
	require.NoError(t, err)
	req.Header.Set("Origin", "https://evil.example")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusForbidden, resp.StatusCode)

	// bob's message reaches alice (long-polling) and carol (WebSocket), and
	// bob gets the ack: one packet in, three out, one broadcast.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err = bob.s.EmitWithAck(ctx, "message", map[string]string{"text": "hello, metrics"})
	require.NoError(t, err)
	for _, c := range []*chatter{alice, carol} {
		select {
		case <-c.messages:
		case <-ctx.Done():
			t.Fatal("the message did not arrive")
		}
	}
	now = scrapeMetrics(t, url)
	moved := func(key string) float64 { return now[key] - prev[key] }
	assert.Equal(t, 1.0, moved(`ferry_requests_refused_total{cause="origin not allowed"}`))
	assert.Equal(t, 1.0, moved(`ferry_broadcasts_total`))
	assert.Equal(t, 1.0, moved(`ferry_packets_total{direction="in",transport="websocket"}`))
	assert.Equal(t, 0.0, moved(`ferry_packets_total{direction="in",transport="polling"}`))
	assert.Equal(t, 2.0, moved(`ferry_packets_total{direction="out",transport="websocket"}`))
	assert.Equal(t, 1.0, moved(`ferry_packets_total{direction="out",transport="polling"}`))
	assert.Greater(t, moved(`ferry_bytes_total{direction="in",transport="websocket"}`), float64(len("hello, metrics")))
	assert.Greater(t, moved(`ferry_bytes_total{direction="out",transport="polling"}`), float64(len("hello, metrics")))

	// bob leaves: his socket disconnects and his connection closes.
	require.NoError(t, bob.c.Close())
	require.Eventually(t, func() bool {
		now = scrapeMetrics(t, url)
		return now[`ferry_connections{transport="websocket"}`] == 1
	}, 10*time.Second, 5*time.Millisecond)
	assert.Equal(t, 2.0, now[`ferry_sockets`])
	assert.Equal(t, 1.0, now[`ferry_disconnects_total{reason="client namespace disconnect"}`])
	assert.Equal(t, 1.0, now[`ferry_connections{transport="polling"}`])
}
