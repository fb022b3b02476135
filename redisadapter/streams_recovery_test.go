package redisadapter_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ferryio/ferry/client"
	"github.com/ferryio/ferry/parser"
	"github.com/ferryio/ferry/redisadapter"
)

// recoveryCluster is two Ferry servers (a and b) and a Node server (c) on
// the Streams adapter, all with connection state recovery and the same
// parser (a client keeps its parser when it comes back elsewhere), and the
// peer whose official clients lose their connection to one server and come
// back to another.
type recoveryCluster struct {
	r      *redisServer
	rdb    *redis.Client
	a, b   *ferryServer
	peer   *nodePeer
	urls   map[string]string // server name -> URL
	parser string            // "json" or "msgpack"
}

func newRecoveryCluster(t *testing.T, r *redisServer, msgpack bool, factory func() *redisadapter.Factory) *recoveryCluster {
	t.Helper()
	return newRecoveryClusterOf(t, r, msgpack, factory(), factory())
}

// newRecoveryClusterOf starts the Ferry servers on the adapters of fa and
// fb.
func newRecoveryClusterOf(t *testing.T, r *redisServer, msgpack bool, fa, fb *redisadapter.Factory) *recoveryCluster {
	t.Helper()
	c := &recoveryCluster{r: r, rdb: r.Client(t), parser: "json"}
	codec := parser.JSON()
	if msgpack {
		c.parser, codec = "msgpack", parser.Msgpack()
	}
	c.a = streamsServer(t, fa, codec, true)
	c.b = streamsServer(t, fb, codec, true)
	c.peer = startPeerEnv(t, r, []string{"MODE=streams", "NODE_PARSER=" + c.parser,
		"RECOVERY_MS=" + strconv.Itoa(int(recoveryWindow.Milliseconds()))})
	c.urls = map[string]string{"a": c.a.URL, "b": c.b.URL, "c": fmt.Sprintf("http://127.0.0.1:%d", c.peer.Port)}
	waitServers(t, c.a, "/", 3)
	waitServers(t, c.b, "/", 3)
	return c
}

// ferryOf returns Ferry server name, or nil for Node's.
func (c *recoveryCluster) ferryOf(server string) *ferryServer {
	switch server {
	case "a":
		return c.a
	case "b":
		return c.b
	}
	return nil
}

// emit broadcasts event with arg from server to rooms (none: everyone),
// except the rooms in except; Ferry's emits return once written.
func (c *recoveryCluster) emit(t *testing.T, server string, rooms, except []string, event, arg string) {
	t.Helper()
	if s := c.ferryOf(server); s != nil {
		require.NoError(t, s.Of("/").To(rooms...).Except(except...).Emit(event, arg))
		return
	}
	reply := c.peer.do("emit", map[string]any{"to": rooms, "except": except, "event": event, "args": []any{arg}})
	require.Nil(t, reply["error"])
}

// join makes socket sid of server join room.
func (c *recoveryCluster) join(t *testing.T, server, sid, room string) {
	t.Helper()
	if s := c.ferryOf(server); s != nil {
		sock := s.Of("/").Socket(sid)
		require.NotNil(t, sock)
		sock.Join(room)
		return
	}
	require.Nil(t, c.peer.do("join", map[string]any{"sid": sid, "rooms": []string{room}})["error"])
}

// gone waits until server has no socket sid.
func (c *recoveryCluster) gone(t *testing.T, server, sid string) {
	t.Helper()
	require.Eventually(t, func() bool {
		if s := c.ferryOf(server); s != nil {
			return s.Of("/").Socket(sid) == nil
		}
		var rooms []string
		decodeField(t, c.peer.do("localRooms", map[string]any{"sid": sid}), "rooms", &rooms)
		return rooms == nil
	}, within, 5*time.Millisecond, "server %s kept socket %s", server, sid)
}

// opened is what the peer says of a client that connected.
type opened struct {
	ID        string `json:"sid"`
	PID       string `json:"pid"`
	Recovered bool   `json:"recovered"`
	Error     string `json:"error"`
}

func (c *recoveryCluster) open(t *testing.T, name, server string, transports []string) opened {
	t.Helper()
	c.peer.track(name)
	fields := map[string]any{"client": name, "url": c.urls[server], "parser": c.parser}
	if transports != nil {
		fields["transports"] = transports
	}
	var o opened
	raw, err := json.Marshal(c.peer.do("open", fields))
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(raw, &o))
	require.Empty(t, o.Error)
	require.NotEmpty(t, o.PID, "recovery is on: the CONNECT reply has a pid")
	return o
}

// kill closes the client's connection; it returns the offset the client
// will send (nil when none).
func (c *recoveryCluster) kill(t *testing.T, name string) *string {
	t.Helper()
	reply := c.peer.do("kill", map[string]any{"client": name})
	var offset *string
	decodeField(t, reply, "offset", &offset)
	return offset
}

func (c *recoveryCluster) reconnect(t *testing.T, name, server string) opened {
	t.Helper()
	var o opened
	raw, err := json.Marshal(c.peer.do("reconnect", map[string]any{"client": name, "url": c.urls[server]}))
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(raw, &o))
	require.Empty(t, o.Error)
	return o
}

// waitSession waits until the session of pid is kept in Redis.
func (c *recoveryCluster) waitSession(t *testing.T, pid string) {
	t.Helper()
	require.Eventually(t, func() bool {
		return c.rdb.Exists(bounded(t), "sio:session:"+pid).Val() == 1
	}, within, 5*time.Millisecond, "session %s never kept", pid)
}

// received is an event a client got: its name, first argument and offset
// (its last argument, when a string).
type received struct{ event, arg, offset string }

func (c *recoveryCluster) next(t *testing.T, name string) received {
	t.Helper()
	e := c.peer.event(name)
	return received{e.Event, e.str(0), e.str(len(e.Args) - 1)}
}

// replayable lists the stream entries after offset that a socket in rooms
// missed, as a server replays them: broadcasts of "/" that select rooms,
// without the volatile ones unless withVolatile (as Node replays them).
func (c *recoveryCluster) replayable(t *testing.T, offset string, rooms []string, withVolatile bool) []received {
	t.Helper()
	msgs, err := c.rdb.XRange(bounded(t), "socket.io", "("+offset, "+").Result()
	require.NoError(t, err)
	var out []received
	for _, m := range msgs {
		if m.Values["nsp"] != "/" || m.Values["type"] != "3" {
			continue
		}
		var data struct {
			Packet struct {
				Data []any `json:"data"`
			} `json:"packet"`
			RequestID *string `json:"requestId"`
			Opts      struct {
				Rooms  []string       `json:"rooms"`
				Except []string       `json:"except"`
				Flags  map[string]any `json:"flags"`
			} `json:"opts"`
		}
		require.NoError(t, json.Unmarshal([]byte(m.Values["data"].(string)), &data), "entry %s", m.ID)
		if data.RequestID != nil || (!withVolatile && data.Opts.Flags["volatile"] != nil) {
			continue
		}
		if !selectsRooms(data.Opts.Rooms, data.Opts.Except, rooms) {
			continue
		}
		arg, _ := data.Packet.Data[1].(string)
		out = append(out, received{data.Packet.Data[0].(string), arg, m.ID})
	}
	return out
}

func selectsRooms(to, except, rooms []string) bool {
	has := func(list []string, r string) bool {
		for _, x := range list {
			if x == r {
				return true
			}
		}
		return false
	}
	for _, r := range rooms {
		if has(except, r) {
			return false
		}
	}
	if len(to) == 0 {
		return true
	}
	for _, r := range rooms {
		if has(to, r) {
			return true
		}
	}
	return false
}

// waitEntries waits until the stream holds, after offset, an entry of
// event with each of args.
func (c *recoveryCluster) waitEntries(t *testing.T, offset, event string, args []string) {
	t.Helper()
	require.Eventually(t, func() bool {
		msgs, err := c.rdb.XRange(bounded(t), "socket.io", "("+offset, "+").Result()
		if err != nil {
			return false
		}
		seen := map[string]bool{}
		for _, m := range msgs {
			data, _ := m.Values["data"].(string)
			for _, a := range args {
				if strings.Contains(data, `"data":["`+event+`","`+a+`"`) {
					seen[a] = true
				}
			}
		}
		return len(seen) == len(args)
	}, within, 5*time.Millisecond, "the stream never held every %s", event)
}

// TestStreamsRecoveryAcrossServers has an official client lose its
// connection to one server while events are broadcast to its rooms from
// every server, and come back to another (Ferry or Node): it recovers
// there, with its id, and gets every event it missed once, in the stream's
// order, before the live ones.
func TestStreamsRecoveryAcrossServers(t *testing.T) {
	r := startRedis(t)
	factory := func() *redisadapter.Factory { return redisadapter.NewStreams(r.Client(t), nil) }
	t.Run("json", func(t *testing.T) {
		testRecoveryAcrossServers(t, newRecoveryCluster(t, r, false, factory), []recoveryCase{
			{"a", "b", nil},                   // Ferry to Ferry
			{"a", "c", nil},                   // Ferry to Node
			{"c", "b", nil},                   // Node to Ferry
			{"b", "a", []string{"websocket"}}, // Ferry to Ferry, WebSocket only
			{"a", "a", []string{"polling"}},   // the same Ferry server, polling only
		})
	})
	t.Run("msgpack", func(t *testing.T) {
		testRecoveryAcrossServers(t, newRecoveryCluster(t, r, true, factory), []recoveryCase{
			{"b", "c", nil},
			{"c", "a", nil},
		})
	})
}

// recoveryCase is a client that loses its connection to server from and
// comes back to server to, over transports (nil: polling, then WebSocket).
type recoveryCase struct {
	from, to   string
	transports []string
}

func testRecoveryAcrossServers(t *testing.T, c *recoveryCluster, cases []recoveryCase) {
	for i, tc := range cases {
		t.Run(tc.from+"-to-"+tc.to, func(t *testing.T) {
			name := fmt.Sprintf("client%d", i)
			first := c.open(t, name, tc.from, tc.transports)
			sid := first.ID
			c.join(t, tc.from, sid, "r1")

			// Some events before: the client's offset is the last one's.
			for _, s := range []string{"a", "b", "c"} {
				c.emit(t, s, []string{"r1"}, nil, "pre", s)
			}
			var last received
			for range 3 {
				last = c.next(t, name)
				require.Equal(t, "pre", last.event)
			}
			offset := c.kill(t, name)
			require.NotNil(t, offset)
			require.Equal(t, last.offset, *offset)
			c.gone(t, tc.from, sid)
			c.waitSession(t, first.PID)

			// Missed: to its room and to it, from every server, some at
			// once; and some that are not for it.
			var wg sync.WaitGroup
			for _, s := range []string{"a", "b"} {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for k := range 5 {
						c.emit(t, s, []string{"r1"}, nil, "missed", fmt.Sprintf("%s-burst-%d", s, k))
					}
				}()
			}
			c.emit(t, "c", []string{"r1"}, nil, "missed", "c-room")
			c.emit(t, "b", []string{sid}, nil, "missed", "b-direct")
			c.emit(t, "c", []string{sid}, nil, "missed", "c-direct")
			c.emit(t, "a", nil, nil, "missed", "a-all")
			c.emit(t, "a", []string{"other"}, nil, "missed", "a-other")
			c.emit(t, "b", nil, []string{"r1"}, "missed", "b-except")
			require.NoError(t, c.a.Of("/").Volatile().To("r1").Emit("missed", "a-volatile"))
			wg.Wait()
			c.waitEntries(t, *offset, "missed", []string{"c-room", "c-direct"})

			want := c.replayable(t, *offset, []string{sid, "r1"}, tc.to == "c")
			var names []string
			for _, w := range want {
				names = append(names, w.arg)
			}
			require.Subset(t, names, []string{"a-burst-0", "a-burst-4", "b-burst-0", "b-burst-4", "c-room", "b-direct", "c-direct", "a-all"})
			require.NotContains(t, names, "a-other")
			require.NotContains(t, names, "b-except")

			again := c.reconnect(t, name, tc.to)
			require.True(t, again.Recovered, "socket.recovered")
			require.Equal(t, sid, again.ID)
			require.Equal(t, first.PID, again.PID)
			for _, w := range want {
				require.Equal(t, w, c.next(t, name))
			}
			if s := c.ferryOf(tc.to); s != nil {
				sock := s.Of("/").Socket(sid)
				require.NotNil(t, sock)
				require.True(t, sock.Recovered())
			}

			// Live again, in its room on the new server, nothing replayed
			// twice.
			c.emit(t, tc.from, []string{"r1"}, nil, "live", "after")
			got := c.next(t, name)
			require.Equal(t, "live", got.event)
			require.Equal(t, "after", got.arg)
			require.True(t, idAfter(got.offset, want[len(want)-1].offset), "offset %s after %s", got.offset, want[len(want)-1].offset)
			c.peer.do("close", map[string]any{"client": name})
		})
	}
}

// idAfter reports whether stream id a comes after b.
func idAfter(a, b string) bool {
	am, as, _ := strings.Cut(a, "-")
	bm, bs, _ := strings.Cut(b, "-")
	x, _ := strconv.ParseUint(am, 10, 64)
	y, _ := strconv.ParseUint(bm, 10, 64)
	if x != y {
		return x > y
	}
	p, _ := strconv.ParseUint(as, 10, 64)
	q, _ := strconv.ParseUint(bs, 10, 64)
	return p > q
}

// head returns the id of the stream's newest entry ("0-0" if none).
func (c *recoveryCluster) head(t *testing.T) string {
	t.Helper()
	msgs, err := c.rdb.XRevRangeN(bounded(t), "socket.io", "+", "-", 1).Result()
	require.NoError(t, err)
	if len(msgs) == 0 {
		return "0-0"
	}
	return msgs[0].ID
}

// missAndRecover broadcasts to room r1 from every server while the client
// is away, brings it back to server to, and checks that it recovered
// socket sid with every entry after since that it missed, once, in order.
func (c *recoveryCluster) missAndRecover(t *testing.T, name, sid, pid, since, to string) {
	t.Helper()
	for _, s := range []string{"a", "b", "c"} {
		c.emit(t, s, []string{"r1"}, nil, "missed", s)
	}
	c.waitEntries(t, since, "missed", []string{"a", "b", "c"})
	want := c.replayable(t, since, []string{sid, "r1"}, false)
	require.GreaterOrEqual(t, len(want), 3)
	again := c.reconnect(t, name, to)
	require.True(t, again.Recovered, "socket.recovered")
	require.Equal(t, sid, again.ID)
	require.Equal(t, pid, again.PID)
	for _, w := range want {
		require.Equal(t, w, c.next(t, name))
	}
	c.emit(t, to, []string{"r1"}, nil, "live", "after")
	require.Equal(t, "live", c.next(t, name).event)
}

// TestStreamsRecoveryBeyondNode checks what Ferry servers recover that Node
// servers do not: a client that got no event (and so sends no offset), and
// one whose last event ended in a string that is no offset (which
// socket.io-client sends as its offset).
func TestStreamsRecoveryBeyondNode(t *testing.T) {
	r := startRedis(t)
	c := newRecoveryCluster(t, r, false, func() *redisadapter.Factory { return redisadapter.NewStreams(r.Client(t), nil) })

	t.Run("no-offset", func(t *testing.T) {
		since := c.head(t)
		first := c.open(t, "quiet", "a", nil)
		c.join(t, "a", first.ID, "r1")
		require.Nil(t, c.kill(t, "quiet"), "no event, no offset")
		c.gone(t, "a", first.ID)
		c.waitSession(t, first.PID)
		c.missAndRecover(t, "quiet", first.ID, first.PID, since, "b")
	})

	t.Run("alias", func(t *testing.T) {
		first := c.open(t, "aliased", "a", nil)
		c.join(t, "a", first.ID, "r1")
		c.emit(t, "b", []string{"r1"}, nil, "pre", "b")
		pre := c.next(t, "aliased")
		require.Equal(t, "pre", pre.event)
		// Volatile: no offset, and a last argument the client takes for
		// one.
		require.NoError(t, c.a.Of("/").Socket(first.ID).Volatile().Emit("v", "not-an-offset"))
		require.Equal(t, received{"v", "not-an-offset", "not-an-offset"}, c.next(t, "aliased"))
		offset := c.kill(t, "aliased")
		require.NotNil(t, offset)
		require.Equal(t, "not-an-offset", *offset)
		c.gone(t, "a", first.ID)
		c.waitSession(t, first.PID)
		c.missAndRecover(t, "aliased", first.ID, first.PID, pre.offset, "b")
	})
}

// sessionHook holds the SETs of sessions until hold is closed (on the old
// server's client), or closes missed after the first restore that found no
// session (on the new server's client).
type sessionHook struct {
	hold   chan struct{}
	missed chan struct{}
	once   sync.Once
}

func (h *sessionHook) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h *sessionHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		if args := cmd.Args(); h.hold != nil && cmd.Name() == "set" && len(args) > 1 &&
			strings.HasPrefix(fmt.Sprint(args[1]), "sio:session:") {
			<-h.hold
		}
		return next(ctx, cmd)
	}
}

func (h *sessionHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		err := next(ctx, cmds)
		for _, cmd := range cmds {
			if h.missed != nil && cmd.Name() == "get" && errors.Is(cmd.Err(), redis.Nil) {
				h.once.Do(func() { close(h.missed) })
			}
		}
		return err
	}
}

// TestStreamsRecoveryFastReconnect has a client come back to another server
// before its old server kept its session (socket.io-redis-streams-adapter
// issue #26): the new server waits RestoreWait for it. Without the wait,
// the same reconnect does not recover.
func TestStreamsRecoveryFastReconnect(t *testing.T) {
	r := startRedis(t)
	for _, wait := range []time.Duration{0, -1} {
		t.Run(fmt.Sprintf("wait-%v", wait), func(t *testing.T) {
			old := &sessionHook{hold: make(chan struct{})}
			var release sync.Once
			unhold := func() { release.Do(func() { close(old.hold) }) }
			t.Cleanup(unhold)
			fresh := &sessionHook{missed: make(chan struct{})}
			ca, cb := r.Client(t), r.Client(t)
			ca.AddHook(old)
			cb.AddHook(fresh)
			opts := &redisadapter.StreamsOptions{StreamName: "fast", RestoreWait: wait}
			c := newRecoveryClusterOf(t, r, false, redisadapter.NewStreams(ca, opts), redisadapter.NewStreams(cb, opts))
			first := c.open(t, "fast", "a", nil)
			c.emit(t, "a", []string{first.ID}, nil, "pre", "a")
			require.Equal(t, "pre", c.next(t, "fast").event)
			require.NotNil(t, c.kill(t, "fast"))
			// The old server keeps the session once the new one looked.
			go func() {
				select {
				case <-fresh.missed:
					unhold()
				case <-time.After(within):
				}
			}()
			again := c.reconnect(t, "fast", "b")
			if wait < 0 {
				require.False(t, again.Recovered)
				require.NotEqual(t, first.ID, again.ID)
				return
			}
			require.True(t, again.Recovered)
			require.Equal(t, first.ID, again.ID)
		})
	}
}

// TestStreamsLiveOrder broadcasts from two servers at once to a client of
// one of them: it gets every event once, in the stream's order (its
// offsets increase), its own server's included.
func TestStreamsLiveOrder(t *testing.T) {
	r := startRedis(t)
	factory := func() *redisadapter.Factory {
		return redisadapter.NewStreams(r.Client(t), &redisadapter.StreamsOptions{StreamName: "order"})
	}
	a := streamsServer(t, factory(), nil, true)
	b := streamsServer(t, factory(), nil, true)
	waitServers(t, a, "/", 2)
	sock := goClient(t, a, "/")
	got := make(chan [2]string, 256)
	sock.On("n", func(e *client.Event) {
		var arg, offset string
		_ = e.Args[0].Decode(&arg)
		_ = e.Args[len(e.Args)-1].Decode(&offset)
		got <- [2]string{arg, offset}
	})
	const each = 50
	var wg sync.WaitGroup
	for _, s := range []*ferryServer{a, b} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				assert.NoError(t, s.Emit("n", fmt.Sprintf("%p-%d", s, i)))
			}
		}()
	}
	wg.Wait()
	seen := map[string]bool{}
	prev := ""
	for range 2 * each {
		e := recv(t, got)
		require.False(t, seen[e[0]], "%s twice", e[0])
		seen[e[0]] = true
		if prev != "" {
			require.True(t, idAfter(e[1], prev), "offset %s after %s", e[1], prev)
		}
		prev = e[1]
	}
	msgs, err := r.Client(t).XRange(bounded(t), "order", "-", "+").Result()
	require.NoError(t, err)
	require.Equal(t, msgs[len(msgs)-1].ID, prev, "the last event is the stream's last entry")
}
