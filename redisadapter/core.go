package redisadapter

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/ferryio/ferry"
	"github.com/ferryio/ferry/parser"
)

// core is what the classic, sharded and Streams adapters share: this server's
// sockets (the embedded MemoryAdapter), the hub, and the requests waiting
// for other servers' answers.
type core struct {
	*ferry.MemoryAdapter
	f    *Factory
	h    *hub
	nsp  *ferry.Namespace
	name string
	uid  string

	mu       sync.Mutex
	requests map[string]*request // guarded by mu: by request id
	closed   bool                // guarded by mu
}

func newCore(f *Factory, h *hub, nsp *ferry.Namespace, uid string) core {
	return core{
		MemoryAdapter: ferry.NewMemoryAdapter(nsp),
		f:             f,
		h:             h,
		nsp:           nsp,
		name:          nsp.Name(),
		uid:           uid,
		requests:      make(map[string]*request),
	}
}

// request is a request to the other servers waiting for their answers.
type request struct {
	mu       sync.Mutex
	expected int           // guarded by mu: answers (servers) expected
	got      int           // guarded by mu: answers received
	finished bool          // guarded by mu: done is closed
	done     chan struct{} // closed once every answer came, or the request ended

	sockets []*ferry.RemoteSocket // guarded by mu: FetchSockets
	rooms   map[string]struct{}   // guarded by mu: Rooms

	acks    *ferry.AckCollector // BroadcastWithAck, ServerSideEmit
	ack     bool                // an acknowledged broadcast
	clients int                 // guarded by mu: clients the servers reached
	acked   int                 // guarded by mu: acks received
	timer   *time.Timer
}

// register records a request expecting answers from expected servers.
func (c *core) register(id string, r *request) error {
	r.done = make(chan struct{})
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return ErrClosed
	}
	c.requests[id] = r
	return nil
}

func (c *core) lookup(id string) *request {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.requests[id]
}

func (c *core) forget(id string) *request {
	c.mu.Lock()
	defer c.mu.Unlock()
	r := c.requests[id]
	delete(c.requests, id)
	return r
}

// answered counts one answer to r, and ends it once all came. The caller
// holds r.mu.
func (r *request) answeredLocked() {
	r.got++
	r.checkLocked()
}

func (r *request) checkLocked() {
	if r.finished || r.got < r.expected || (r.ack && r.acked < r.clients) {
		return
	}
	r.finished = true
	close(r.done)
}

// timeoutFor returns how long a request may wait: the adapter's requests
// timeout, or less if ctx ends sooner.
func (c *core) timeoutFor(ctx context.Context) time.Duration {
	d := c.f.timeout
	if dl, ok := ctx.Deadline(); ok {
		if left := time.Until(dl); left < d {
			d = max(left, 0)
		}
	}
	return d
}

// wait waits for the answers to request id until they all came, the
// requests timeout passes, or ctx ends, and forgets the request. Unless
// all came, it returns an error saying how many did, which wraps
// context.DeadlineExceeded at the requests timeout, or ctx's error.
func (c *core) wait(ctx context.Context, id string, r *request, published <-chan error, what string) error {
	defer c.forget(id)
	timer := time.NewTimer(c.f.timeout)
	defer timer.Stop()
	for {
		select {
		case <-r.done:
			return nil
		case err := <-published:
			if err != nil {
				return fmt.Errorf("redisadapter: %s: %w", what, err)
			}
			published = nil
			continue
		case <-timer.C:
			r.mu.Lock()
			got, want := r.got, r.expected
			r.mu.Unlock()
			return fmt.Errorf("redisadapter: %s: timeout reached: only %d responses received out of %d: %w",
				what, got, want, context.DeadlineExceeded)
		case <-ctx.Done():
			return fmt.Errorf("redisadapter: %s: %w", what, ctx.Err())
		}
	}
}

// publishResult returns a done callback for a publish and the channel
// that receives its outcome.
func publishResult() (func(error), <-chan error) {
	ch := make(chan error, 1)
	return func(err error) { ch <- err }, ch
}

// awaitPublish waits for a publish's outcome, until ctx ends.
func awaitPublish(ctx context.Context, ch <-chan error, what string) error {
	select {
	case err := <-ch:
		return wrapErr(what, err)
	case <-ctx.Done():
		return wrapErr(what, ctx.Err())
	}
}

// startAck records an acknowledged broadcast sent to servers other servers:
// their counts and acks go to acks, and what is still missing after the
// context's deadline (or the requests timeout, without one) is completed
// as reaching nobody and acks lost, so that the caller returns.
func (c *core) startAck(ctx context.Context, id string, servers int, acks *ferry.AckCollector) (*request, error) {
	r := &request{expected: servers, acks: acks, ack: true}
	if err := c.register(id, r); err != nil {
		return nil, err
	}
	acks.ExpectParts(servers)
	r.mu.Lock()
	r.timer = time.AfterFunc(c.timeoutFor(ctx), func() { c.endAck(id) })
	r.mu.Unlock()
	return r, nil
}

// ackTimeout returns the flags.timeout to announce for an acknowledged
// broadcast, in milliseconds.
func (c *core) ackTimeout(ctx context.Context) int64 {
	return int64(math.Ceil(float64(c.timeoutFor(ctx)) / float64(time.Millisecond)))
}

// endAck ends the acknowledged broadcast id: the servers not heard from
// reached nobody, and the acks still awaited are lost.
func (c *core) endAck(id string) {
	r := c.forget(id)
	if r == nil {
		return
	}
	r.mu.Lock()
	if r.timer != nil {
		r.timer.Stop()
	}
	unheard := r.expected - r.got
	missing := r.clients - r.acked
	r.got, r.acked = r.expected, r.clients
	r.checkLocked()
	r.mu.Unlock()
	for range unheard {
		r.acks.Reached(0)
	}
	for range missing {
		r.acks.Lost()
	}
}

// ackCount records a server's client count for acknowledged broadcast
// id.
func (c *core) ackCount(id string, n int) {
	r := c.lookup(id)
	if r == nil || !r.ack {
		return
	}
	r.mu.Lock()
	if r.finished {
		r.mu.Unlock()
		return
	}
	r.clients += max(n, 0)
	r.acks.Reached(max(n, 0))
	r.answeredLocked()
	done := r.finished
	r.mu.Unlock()
	if done {
		c.endAck(id)
	}
}

// ackArg records a client's ack for acknowledged broadcast id.
func (c *core) ackArg(id string, args ferry.Args) {
	r := c.lookup(id)
	if r == nil || !r.ack {
		return
	}
	r.mu.Lock()
	if r.finished {
		r.mu.Unlock()
		return
	}
	r.acked++
	r.acks.Ack(args)
	r.checkLocked()
	done := r.finished
	r.mu.Unlock()
	if done {
		c.endAck(id)
	}
}

// serverSideAck records a server's answer to server-side emit id.
func (c *core) serverSideAck(id string, args ferry.Args) {
	r := c.lookup(id)
	if r == nil || r.acks == nil || r.ack {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.finished {
		return
	}
	r.acks.Reached(1)
	r.acks.Ack(args)
	r.answeredLocked()
}

// endServerSide completes server-side emit r: each server that did not
// answer is one ack lost.
func endServerSide(r *request) {
	r.mu.Lock()
	missing := r.expected - r.got
	r.got = r.expected
	r.checkLocked()
	r.mu.Unlock()
	for range missing {
		r.acks.Reached(1)
		r.acks.Lost()
	}
}

// fetched records a server's sockets for FetchSockets request id.
func (c *core) fetched(id string, socks []node) {
	r := c.lookup(id)
	if r == nil || r.acks != nil || r.rooms != nil {
		return
	}
	var out []*ferry.RemoteSocket
	for _, s := range socks {
		rs, err := c.decodeSocket(s)
		if err != nil {
			c.logDrop("socket", err)
			continue
		}
		out = append(out, rs)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.finished {
		return
	}
	r.sockets = append(r.sockets, out...)
	r.answeredLocked()
}

// roomsOf records a server's rooms for Rooms request id.
func (c *core) roomsOf(id string, rooms []string) {
	r := c.lookup(id)
	if r == nil || r.rooms == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.finished {
		return
	}
	for _, room := range rooms {
		r.rooms[room] = struct{}{}
	}
	r.answeredLocked()
}

// closeRequests ends every request still waiting: the adapter is closing.
func (c *core) closeRequests() {
	c.mu.Lock()
	c.closed = true
	reqs := c.requests
	c.requests = make(map[string]*request)
	c.mu.Unlock()
	for id, r := range reqs {
		if r.ack {
			c.mu.Lock()
			c.requests[id] = r
			c.mu.Unlock()
			c.endAck(id)
			continue
		}
		r.mu.Lock()
		if !r.finished {
			r.finished = true
			close(r.done)
		}
		r.mu.Unlock()
	}
}

// localOnly reports whether an operation stays on this server.
func localOnly(opts ferry.BroadcastOptions) bool { return opts.Local }

// ackReceiver relays this server's part of another server's acknowledged
// broadcast: the count, then each first ack argument.
type ackReceiver struct {
	count func(n int)
	ack   func(arg any)
}

func (r *ackReceiver) Reached(n int) { r.count(n) }

func (r *ackReceiver) Ack(args ferry.Args) {
	if len(args) > 0 {
		r.ack(value{args[0]})
		return
	}
	r.ack(nil)
}

func (r *ackReceiver) Lost() {}

// broadcastPacket decodes the packet of a broadcast received from another
// server: a map whose data holds the event's name, then its arguments. It
// returns the map too, for the fields a protocol adds.
func broadcastPacket(n node) (*ferry.EncodedPacket, map[string]node, error) {
	if n == nil {
		return nil, nil, errors.New("no packet")
	}
	packet, err := n.Map()
	if err != nil {
		return nil, nil, err
	}
	if packet["data"] == nil {
		return nil, nil, errors.New("packet without data")
	}
	pkt, err := eventPacket(packet["data"])
	return pkt, packet, err
}

// eventPacket returns the packet of a broadcast received from another
// server: data holds the event's name, then its arguments.
func eventPacket(data node) (*ferry.EncodedPacket, error) {
	elems, err := data.Array()
	if err != nil {
		return nil, err
	}
	if len(elems) == 0 {
		return nil, errors.New("redisadapter: event without a name")
	}
	args := make([]any, len(elems))
	for i, e := range elems {
		raw, err := e.Raw()
		if err != nil {
			return nil, err
		}
		args[i] = raw
	}
	// The name is passed as a Go value, which every codec accepts.
	var name any
	if err := args[0].(parser.Raw).Decode(&name); err != nil {
		return nil, err
	}
	switch name.(type) {
	case string, int64, uint64, float64:
		args[0] = name
	default:
		return nil, errors.New("redisadapter: event name is neither a string nor a number")
	}
	return &ferry.EncodedPacket{Packet: parser.Packet{Type: parser.Event, Args: args}}, nil
}

// rawArgs returns the elements of an array as Args.
func rawArgs(n node) (ferry.Args, error) {
	elems, err := n.Array()
	if err != nil {
		return nil, err
	}
	out := make(ferry.Args, len(elems))
	for i, e := range elems {
		if out[i], err = e.Raw(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// argsOf returns a packet's arguments, its event name first, as the []any
// a message carries.
func argsOf(pkt *ferry.EncodedPacket) []any {
	out := make([]any, len(pkt.Packet.Args))
	for i, a := range pkt.Packet.Args {
		out[i] = value{a}
	}
	return out
}

// values wraps application values for a message.
func values(args []any) []any {
	out := make([]any, len(args))
	for i, a := range args {
		out[i] = value{a}
	}
	return out
}

// decodeOptions reads {rooms, except, flags}; flags are read only for
// volatile.
func decodeOptions(n node) (ferry.BroadcastOptions, int64, error) {
	var opts ferry.BroadcastOptions
	if n == nil || isNull(n) {
		return opts, 0, nil
	}
	m, err := n.Map()
	if err != nil {
		return opts, 0, err
	}
	if opts.Rooms, err = stringsOf(m["rooms"]); err != nil {
		return opts, 0, err
	}
	if opts.Except, err = stringsOf(m["except"]); err != nil {
		return opts, 0, err
	}
	var timeout int64
	if fl := m["flags"]; fl != nil && !isNull(fl) {
		flags, err := fl.Map()
		if err != nil {
			return opts, 0, err
		}
		if v := flags["volatile"]; v != nil {
			opts.Volatile = v.Bool()
		}
		if c := flags["compress"]; c != nil && !isNull(c) {
			opts.NoCompress = !c.Bool()
		}
		if t := flags["timeout"]; t != nil {
			timeout, _ = t.Int()
		}
	}
	return opts, timeout, nil
}

// encodeOptions writes opts as {rooms, except} and, with flags, their
// flags too.
func encodeOptions(opts ferry.BroadcastOptions, flags obj) obj {
	o := obj{{"rooms", stringList(opts.Rooms)}, {"except", stringList(opts.Except)}}
	if flags != nil {
		o = append(o, kv{"flags", flags})
	}
	return o
}

// broadcastFlags returns the flags of a broadcast, as socket.io sets them.
func broadcastFlags(opts ferry.BroadcastOptions) obj {
	flags := obj{}
	if opts.Volatile {
		flags = append(flags, kv{"volatile", true})
	}
	if opts.NoCompress {
		flags = append(flags, kv{"compress", false})
	}
	return flags
}

// encodeSocket describes a socket of this server as socket.io does in
// fetchSockets' answers.
func encodeSocket(s *ferry.RemoteSocket) obj {
	hs := s.Handshake
	if hs == nil {
		hs = &ferry.Handshake{}
	}
	headers := obj{}
	keys := make(map[string][]string, len(hs.Header)+1)
	for k, v := range hs.Header {
		keys[strings.ToLower(k)] = v
	}
	if hs.Host != "" {
		keys["host"] = []string{hs.Host}
	}
	for _, k := range sortedKeys(keys) {
		v := keys[k]
		if k == "set-cookie" {
			headers = append(headers, kv{k, stringList(v)})
		} else {
			headers = append(headers, kv{k, strings.Join(v, ", ")})
		}
	}
	query := obj{}
	for _, k := range sortedKeys(hs.Query) {
		v := hs.Query[k]
		if len(v) == 1 {
			query = append(query, kv{k, v[0]})
		} else {
			query = append(query, kv{k, stringList(v)})
		}
	}
	var auth any = obj{}
	if hs.Auth != nil {
		auth = value{hs.Auth}
	}
	handshake := obj{
		{"headers", headers},
		{"time", jsDateString(hs.Time)},
		{"address", hs.Address},
		{"xdomain", hs.Header.Get("Origin") != ""},
		{"secure", hs.Secure},
		{"issued", hs.Time.UnixMilli()},
		{"url", hs.URL},
		{"query", query},
		{"auth", auth},
	}
	var data any
	if s.Data != nil {
		data = value{s.Data}
	}
	return obj{{"id", s.ID}, {"handshake", handshake}, {"rooms", stringList(s.Rooms)}, {"data", data}}
}

// jsDateString writes t as JavaScript's Date.prototype.toString does, in
// UTC.
func jsDateString(t time.Time) string {
	return t.UTC().Format("Mon Jan 02 2006 15:04:05") + " GMT+0000 (Coordinated Universal Time)"
}

// decodeSocket reads a socket another server described.
func (c *core) decodeSocket(n node) (*ferry.RemoteSocket, error) {
	m, err := n.Map()
	if err != nil {
		return nil, err
	}
	id, err := m["id"].Str()
	if m["id"] == nil || err != nil {
		return nil, errors.New("redisadapter: socket without an id")
	}
	rooms, err := stringsOf(m["rooms"])
	if err != nil {
		return nil, err
	}
	var data any
	if d := m["data"]; d != nil {
		raw, err := d.Raw()
		if err != nil {
			return nil, err
		}
		if err := raw.Decode(&data); err != nil {
			return nil, err
		}
	}
	hs := &ferry.Handshake{Header: http.Header{}, Query: url.Values{}}
	if h := m["handshake"]; h != nil && !isNull(h) {
		if err := decodeHandshake(h, hs); err != nil {
			return nil, err
		}
	}
	return ferry.NewRemoteSocket(c.nsp, id, hs, rooms, data), nil
}

func decodeHandshake(n node, hs *ferry.Handshake) error {
	m, err := n.Map()
	if err != nil {
		return err
	}
	strs := func(v node) []string {
		if s, err := v.Str(); err == nil {
			return []string{s}
		}
		list, _ := stringsOf(v)
		return list
	}
	if h := m["headers"]; h != nil && !isNull(h) {
		headers, err := h.Map()
		if err != nil {
			return err
		}
		for k, v := range headers {
			if strings.EqualFold(k, "host") {
				hs.Host, _ = v.Str()
				continue
			}
			for _, s := range strs(v) {
				hs.Header.Add(k, s)
			}
		}
	}
	if q := m["query"]; q != nil && !isNull(q) {
		query, err := q.Map()
		if err != nil {
			return err
		}
		for k, v := range query {
			hs.Query[k] = strs(v)
		}
	}
	if v := m["address"]; v != nil {
		hs.Address, _ = v.Str()
	}
	if v := m["url"]; v != nil {
		hs.URL, _ = v.Str()
	}
	if v := m["secure"]; v != nil {
		hs.Secure = v.Bool()
	}
	if v := m["issued"]; v != nil {
		if ms, err := v.Int(); err == nil {
			hs.Time = time.UnixMilli(ms)
		}
	}
	if v := m["auth"]; v != nil && !isNull(v) {
		if hs.Auth, err = v.Raw(); err != nil {
			return err
		}
	}
	return nil
}

// receiveServerSideEmit hands the arguments of another server's
// serverSideEmit, carried in data (the wire's field field), to the
// namespace. If the emitter wants acks (id is set), respond sends it the
// first argument of this server's reply, as both protocols carry it.
func (c *core) receiveServerSideEmit(data node, field, id string, respond func(first any)) {
	if data == nil {
		c.logDrop("serverSideEmit", errors.New("no "+field))
		return
	}
	args, err := rawArgs(data)
	if err != nil {
		c.logDrop("serverSideEmit", err)
		return
	}
	var ack func([]any)
	if id != "" {
		ack = func(reply []any) {
			var first any
			if len(reply) > 0 {
				first = value{reply[0]}
			}
			respond(first)
		}
	}
	if err := c.nsp.ReceiveServerSideEmit(args, ack); err != nil {
		c.logDrop("serverSideEmit", err)
	}
}

// logDrop counts a message that could not be decoded, and logs it (at
// most one line a second).
func (c *core) logDrop(what string, err error) {
	c.f.stats.undecodable.Add(1)
	if ok, skipped := c.f.dropLog.allow(); ok {
		c.f.logger.Warn("redisadapter: ignoring a message", "namespace", c.name, "what", what, "err", err, "held_back", skipped)
	}
}

// durationMS converts milliseconds to a Duration.
func durationMS(ms int64) time.Duration { return time.Duration(ms) * time.Millisecond }
