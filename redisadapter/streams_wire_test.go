package redisadapter_test

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/ferryio/ferry/client"
	"github.com/ferryio/ferry/parser"
	"github.com/ferryio/ferry/redisadapter"
)

// rawEntry is a stream entry with its fields in the order they were
// written.
type rawEntry struct {
	id     string
	fields [][2]string
}

func (e rawEntry) get(k string) string {
	for _, f := range e.fields {
		if f[0] == k {
			return f[1]
		}
	}
	return ""
}

// nextEntry waits for the first entry of stream after id.
func nextEntry(t *testing.T, rdb *redis.Client, stream, after string) rawEntry {
	t.Helper()
	var out rawEntry
	require.Eventually(t, func() bool {
		res, err := rdb.Do(bounded(t), "xrange", stream, "("+after, "+", "count", 1).Slice()
		if err != nil || len(res) == 0 {
			return false
		}
		e := res[0].([]any)
		out = rawEntry{id: e[0].(string)}
		kv := e[1].([]any)
		for i := 0; i+1 < len(kv); i += 2 {
			out.fields = append(out.fields, [2]string{kv[i].(string), kv[i+1].(string)})
		}
		return true
	}, within, 2*time.Millisecond, "no entry after %s", after)
	return out
}

// hexAfter returns the 16 characters after key's msgpack string and a
// str header of 16 (b0), or JSON's `"key":"`.
func hexAfter(t *testing.T, b []byte, key string) []byte {
	t.Helper()
	mp := append(append([]byte{0xa0 | byte(len(key))}, key...), 0xb0)
	if i := bytes.Index(b, mp); i >= 0 {
		return b[i+len(mp) : i+len(mp)+16]
	}
	js := []byte(`"` + key + `":"`)
	i := bytes.Index(b, js)
	require.GreaterOrEqual(t, i, 0, "no %s in %q", key, b)
	return b[i+len(js) : i+len(js)+16]
}

// TestStreamsWireMatchesNode compares, byte for byte, what Ferry and Node
// write for the same operations: stream entries (fields, their order, JSON
// and base64 msgpack data), sessions, and pub/sub requests (uids, request
// ids and socket ids aside).
func TestStreamsWireMatchesNode(t *testing.T) {
	r := startRedis(t)
	rdb := r.Client(t)
	ctx := bounded(t)
	a := streamsServer(t, redisadapter.NewStreams(r.Client(t), nil), parser.JSON(), true)
	peer := startPeerEnv(t, r, []string{"MODE=streams", "NODE_PARSER=json",
		"RECOVERY_MS=" + strconv.Itoa(int(recoveryWindow.Milliseconds()))})
	waitServers(t, a, "/", 2)
	gc, err := client.Dial(ctx, a.URL, &client.Options{Transports: []string{"websocket"}, DisableReconnection: true, Parser: parser.JSON()})
	require.NoError(t, err)
	t.Cleanup(func() { _ = gc.Close() })
	goSock := gc.Socket("/", nil)
	require.NoError(t, goSock.Connect(ctx))
	nodeSid := peer.Clients["node"]

	head := func() string {
		msgs, err := rdb.XRevRangeN(ctx, "socket.io", "+", "-", 1).Result()
		require.NoError(t, err)
		if len(msgs) == 0 {
			return "0-0"
		}
		return msgs[0].ID
	}
	steps := []struct {
		name string
		node map[string]any
		op   string
		goes func() error
	}{
		{"binary", map[string]any{"to": []string{"room1"}, "event": "hello", "args": nodeWireArgs}, "emit",
			func() error { return a.To("room1").Emit("hello", wireArgs...) }},
		{"json", map[string]any{"to": []string{"room1"}, "event": "hello", "args": []any{"world", map[string]any{"$date": 1700000000123}}}, "emit",
			func() error { return a.To("room1").Emit("hello", "world", time.UnixMilli(1700000000123)) }},
		{"volatile", map[string]any{"to": []string{"room1"}, "except": []string{"x"}, "volatile": true, "event": "hello", "args": []any{1.5}}, "emit",
			func() error { return a.Of("/").Volatile().To("room1").Except("x").Emit("hello", 1.5) }},
		{"socket-emit", map[string]any{"sid": nodeSid, "event": "hello", "args": []any{"world", 2}}, "socketEmit",
			func() error { return a.Of("/").Socket(goSock.ID()).Emit("hello", "world", 2) }},
		{"join", map[string]any{"to": []string{"room1"}, "except": []string{"x"}, "rooms": []string{"r2", "r3"}}, "socketsJoin",
			func() error { return a.Of("/").In("room1").Except("x").SocketsJoin(ctx, "r2", "r3") }},
		{"leave", map[string]any{"to": []string{"room1"}, "rooms": []string{"r2"}}, "socketsLeave",
			func() error { return a.Of("/").In("room1").SocketsLeave(ctx, "r2") }},
		{"disconnect", map[string]any{"to": []string{"nobody"}, "close": true}, "disconnectSockets",
			func() error { return a.Of("/").In("nobody").DisconnectSockets(ctx, true) }},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			before := head()
			require.Nil(t, peer.do(s.op, s.node)["error"])
			fromNode := nextEntry(t, rdb, "socket.io", before)
			require.NoError(t, s.goes())
			fromFerry := nextEntry(t, rdb, "socket.io", fromNode.id)
			require.Len(t, fromNode.fields, 4)
			require.Len(t, fromFerry.fields, 4)
			for i, k := range []string{"uid", "nsp", "type", "data"} {
				require.Equal(t, k, fromNode.fields[i][0])
				require.Equal(t, k, fromFerry.fields[i][0])
			}
			require.NotEqual(t, fromNode.get("uid"), fromFerry.get("uid"))
			require.Len(t, fromFerry.get("uid"), 16)
			require.Equal(t, fromNode.get("nsp"), fromFerry.get("nsp"))
			require.Equal(t, fromNode.get("type"), fromFerry.get("type"))
			nodeData, ferryData := fromNode.get("data"), fromFerry.get("data")
			if s.name == "binary" {
				require.NotEqual(t, byte('{'), ferryData[0], "binary data in base64 msgpack")
				nb, err := base64.StdEncoding.DecodeString(nodeData)
				require.NoError(t, err)
				fb, err := base64.StdEncoding.DecodeString(ferryData)
				require.NoError(t, err)
				require.Equal(t, nb, fb, "node % x\nferry % x", nb, fb)
				return
			}
			nodeData = strings.ReplaceAll(nodeData, nodeSid, goSock.ID())
			require.Equal(t, nodeData, ferryData)
		})
	}

	t.Run("session", func(t *testing.T) {
		// The same socket state, on each server: data, room1, no event.
		keep := func(name, url string, setup func(sid string)) (string, string, []byte) {
			peer.track(name)
			reply := peer.do("open", map[string]any{"client": name, "url": url})
			var sid, pid string
			decodeField(t, reply, "sid", &sid)
			decodeField(t, reply, "pid", &pid)
			setup(sid)
			peer.do("kill", map[string]any{"client": name})
			key := "sio:session:" + pid
			require.Eventually(t, func() bool { return rdb.Exists(ctx, key).Val() == 1 }, within, 2*time.Millisecond)
			raw, err := base64.StdEncoding.DecodeString(rdb.Get(ctx, key).Val())
			require.NoError(t, err)
			ttl := rdb.PTTL(ctx, key).Val()
			require.Greater(t, ttl, recoveryWindow-10*time.Second)
			require.LessOrEqual(t, ttl, recoveryWindow)
			return sid, pid, raw
		}
		nodeSid, nodePid, fromNode := keep("kept-node", fmt.Sprintf("http://127.0.0.1:%d", peer.Port), func(sid string) {
			require.Nil(t, peer.do("join", map[string]any{"sid": sid, "rooms": []string{"room1"}})["error"])
		})
		sid, pid, fromFerry := keep("kept-ferry", a.URL, func(sid string) {
			sock := a.Of("/").Socket(sid)
			require.NotNil(t, sock)
			sock.SetData(map[string]any{"lang": "node", "n": 1}) // as peer.mjs sets it
			sock.Join("room1")
		})
		fromNode = bytes.ReplaceAll(bytes.ReplaceAll(fromNode, []byte(nodeSid), []byte(sid)), []byte(nodePid), []byte(pid))
		// Node's four fields, then Ferry's own.
		require.Equal(t, byte(0x84), fromNode[0])
		require.Equal(t, byte(0x85), fromFerry[0])
		require.Equal(t, fromNode[1:], fromFerry[1:len(fromNode)], "node % x\nferry % x", fromNode, fromFerry)
		require.True(t, bytes.HasPrefix(fromFerry[len(fromNode):], append([]byte{0xa5}, "ferry"...)))
	})

	t.Run("pubsub", func(t *testing.T) {
		// A pattern: it does not count as a server.
		msgs := capture(t, r, "socket.io#/#*", false)
		same := func(fromNode, fromFerry []byte) {
			t.Helper()
			for _, k := range []string{"uid", "requestId"} {
				if bytes.Contains(fromFerry, []byte(k)) {
					fromNode = bytes.ReplaceAll(fromNode, hexAfter(t, fromNode, k), hexAfter(t, fromFerry, k))
				}
			}
			require.Equal(t, fromNode, fromFerry, "node % x\nferry % x", fromNode, fromFerry)
		}

		// fetchSockets: each request, then the other's answer.
		decodeField(t, peer.do("fetch", map[string]any{"to": []string{"room1"}}), "sockets", new([]any))
		nodeReq, ferryResp := recv(t, msgs), recv(t, msgs)
		_, err := a.Of("/").In("room1").FetchSockets(ctx)
		require.NoError(t, err)
		ferryReq, nodeResp := recv(t, msgs), recv(t, msgs)
		same(nodeReq, ferryReq)
		same(nodeResp, ferryResp)

		// A server-side event without ack.
		peer.do("serverSideEmit", map[string]any{"event": "noop", "args": []any{1, "two"}})
		fromNode := recv(t, msgs)
		require.NoError(t, a.Of("/").ServerSideEmit(ctx, "noop", 1, "two"))
		same(fromNode, recv(t, msgs))
	})
}
