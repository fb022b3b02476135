package redisadapter

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/ferryio/ferry"
)

// A session is kept as Node's adapter keeps it: SET {prefix}{pid}
// base64(msgpack({sid, pid, rooms, data})) PX maxDisconnectionDuration.
// Ferry adds, last, a "ferry" field that Node ignores: {connectOffset,
// aliases}, for the clients that send no offset or one that is no offset
// (see ferry.SessionState).

// PersistSession implements ferry.RecoveryAdapter: it queues the SET, in
// order with this server's writes, and returns at once; a failure is
// logged and counted as a publish error.
func (a *streams) PersistSession(_ context.Context, s *ferry.SessionState) error {
	if a.rec == nil {
		return nil
	}
	b, err := encodeSession(s)
	if err != nil {
		return wrapErr("persisting a session", err)
	}
	key := a.opts.SessionKeyPrefix + s.PID
	value := base64.StdEncoding.EncodeToString(b)
	px := strconv.FormatInt(a.rec.MaxDisconnectionDuration.Milliseconds(), 10)
	a.h.write(key, func(ctx context.Context) error {
		return a.f.client.Do(ctx, "set", key, value, "px", px).Err()
	}, nil)
	return nil
}

// encodeSession writes s as Node's adapter writes a session, the socket's
// own room first, as in socket.io, and a missing Data as socket.io's
// default, an empty object.
func encodeSession(s *ferry.SessionState) ([]byte, error) {
	rooms := []any{s.SID}
	for _, r := range s.Rooms {
		if r != s.SID {
			rooms = append(rooms, r)
		}
	}
	var data any = obj{}
	if s.Data != nil {
		data = value{s.Data}
	}
	o := obj{{"sid", s.SID}, {"pid", s.PID}, {"rooms", rooms}, {"data", data}}
	var extra obj
	if s.ConnectOffset != "" {
		extra = append(extra, kv{"connectOffset", s.ConnectOffset})
	}
	if len(s.Aliases) > 0 {
		aliases := obj{}
		for _, k := range sortedKeys(s.Aliases) {
			aliases = append(aliases, kv{k, s.Aliases[k]})
		}
		extra = append(extra, kv{"aliases", aliases})
	}
	if extra != nil {
		o = append(o, kv{"ferry", extra})
	}
	return encodeMsgpackJS(o)
}

// decodeSession reads a session Node or Ferry kept.
func decodeSession(b []byte) (*ferry.SessionState, error) {
	n, err := decodeMessage(b)
	if err != nil {
		return nil, err
	}
	m, err := n.Map()
	if err != nil {
		return nil, err
	}
	s := &ferry.SessionState{}
	if m["sid"] == nil || m["pid"] == nil {
		return nil, errors.New("redisadapter: session without sid or pid")
	}
	if s.SID, err = m["sid"].Str(); err != nil {
		return nil, err
	}
	if s.PID, err = m["pid"].Str(); err != nil {
		return nil, err
	}
	if s.Rooms, err = stringsOf(m["rooms"]); err != nil {
		return nil, err
	}
	if d := m["data"]; d != nil && !isNull(d) {
		raw, err := d.Raw()
		if err != nil {
			return nil, err
		}
		if err := raw.Decode(&s.Data); err != nil {
			return nil, err
		}
	}
	if x := m["ferry"]; x != nil && !isNull(x) {
		extra, err := x.Map()
		if err != nil {
			return nil, err
		}
		if v := extra["connectOffset"]; v != nil {
			s.ConnectOffset, _ = v.Str()
		}
		if v := extra["aliases"]; v != nil && !isNull(v) {
			aliases, err := v.Map()
			if err != nil {
				return nil, err
			}
			s.Aliases = make(map[string]string, len(aliases))
			for k, v := range aliases {
				if to, err := v.Str(); err == nil {
					s.Aliases[k] = to
				}
			}
		}
	}
	return s, nil
}

// restorePage is how many entries one XRANGE of a restore reads.
const restorePage = 1000

// RestoreSession implements ferry.RecoveryAdapter. As Node does, it takes
// the session (GET and DEL in one transaction: it can be restored once),
// checks that the offset's entry is still in the stream, and replays the
// entries after it: the broadcasts to the session's rooms that are not
// volatile. Beyond Node, it waits RestoreWait for a session not kept yet,
// takes an empty offset as the session's ConnectOffset and an alias as its
// offset, replays nothing from before the session's ConnectOffset, and
// admits the socket when this server's reader has delivered exactly the
// entries replayed: the later ones reach the socket live.
func (a *streams) RestoreSession(ctx context.Context, pid, offset string, admit func(*ferry.SessionState, []*ferry.EncodedPacket) bool) (bool, error) {
	if a.rec == nil {
		return false, nil
	}
	raw, err := a.takeSession(ctx, pid)
	if err != nil || raw == "" {
		return false, wrapErr("restoring a session", err)
	}
	b, err := base64.StdEncoding.DecodeString(raw)
	if err != nil {
		return false, wrapErr("restoring a session", err)
	}
	st, err := decodeSession(b)
	if err != nil {
		return false, wrapErr("restoring a session", err)
	}
	if offset == "" {
		offset = st.ConnectOffset
	} else if alias, ok := st.Aliases[offset]; ok {
		offset = alias
	}
	from, ok := parseStreamID(offset)
	if !ok {
		return false, nil
	}
	// Nothing from before the socket connected: socket.io-client keeps its
	// last offset across a fresh session, and so may send one older than
	// this session.
	if joined, ok := parseStreamID(st.ConnectOffset); ok && from.less(joined) {
		from = joined
	}
	if kept, err := a.offsetKept(ctx, from); !kept {
		return false, wrapErr("restoring a session", err)
	}
	return a.replay(ctx, st, from, admit)
}

// takeSession gets and deletes the session pid, waiting up to RestoreWait
// for it to appear. Meanwhile, with recovery, it takes the socket's live
// record instead once the server that kept it is dead (see
// streams_live.go). It returns "" if neither came.
func (a *streams) takeSession(ctx context.Context, pid string) (string, error) {
	key := a.opts.SessionKeyPrefix + pid
	deadline := time.Now().Add(a.opts.RestoreWait)
	var liveAt time.Time // when to look at the live record again
	for {
		pipe := a.f.client.TxPipeline()
		get := pipe.Get(ctx, key)
		pipe.Del(ctx, key)
		_, err := pipe.Exec(ctx)
		if err == nil {
			return get.Val(), nil
		}
		if !errors.Is(err, redis.Nil) {
			return "", err
		}
		if a.liveOn() && !time.Now().Before(liveAt) {
			raw, wait, err := a.takeLive(ctx, pid)
			if err != nil || raw != "" {
				return raw, err
			}
			liveAt = time.Now().Add(wait)
		}
		left := time.Until(deadline)
		if left <= 0 {
			return "", nil
		}
		t := time.NewTimer(min(left, 20*time.Millisecond))
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return "", ctx.Err()
		case <-a.r.ctx.Done():
			t.Stop()
			return "", ErrClosed
		}
	}
}

// offsetKept reports whether the entries after from are all still in the
// stream: from's own entry is (as Node checks), or from is "0-0" (a socket
// that connected to an empty stream) and nothing was ever trimmed.
func (a *streams) offsetKept(ctx context.Context, from streamID) (bool, error) {
	id := from.String()
	msgs, err := a.f.client.XRange(ctx, a.r.name, id, id).Result()
	if err != nil {
		return false, err
	}
	if len(msgs) > 0 {
		return true, nil
	}
	if from != (streamID{}) {
		return false, nil
	}
	info, err := a.f.client.XInfoStream(ctx, a.r.name).Result()
	if err != nil {
		if isNoSuchKey(err) {
			return true, nil // never written
		}
		return false, err
	}
	return info.MaxDeletedEntryID == "0-0", nil
}

func isNoSuchKey(err error) bool {
	var re redis.Error
	return errors.As(err, &re) && re.Error() == "ERR no such key"
}

// replayed is an entry a restored socket missed.
type replayed struct {
	id  streamID
	pkt *ferry.EncodedPacket
}

// replay reads the entries after from that st's socket missed, and admits
// it when this server has delivered exactly up to the last entry read: it
// reads further while the reader is ahead, and waits (up to
// RequestsTimeout) while the reader is behind the offset.
func (a *streams) replay(ctx context.Context, st *ferry.SessionState, from streamID, admit func(*ferry.SessionState, []*ferry.EncodedPacket) bool) (bool, error) {
	r := a.r
	timer := time.NewTimer(a.f.timeout)
	defer timer.Stop()
	var missed []replayed
	scanned := from // the newest entry read
	bytes := 0
	for {
		last, known, wait, done := a.admitIfCaughtUp(st, from, scanned, missed, admit)
		if done {
			return true, nil
		}
		if !known || last.less(from) {
			// This server has not read as far as the client got.
			select {
			case <-wait:
				continue
			case <-timer.C:
				return false, fmt.Errorf("redisadapter: restoring a session: this server has not read the stream up to the offset within %v", a.f.timeout)
			case <-ctx.Done():
				return false, wrapErr("restoring a session", ctx.Err())
			}
		}
		// Read up to last.
		for scanned.less(last) {
			msgs, err := a.f.client.XRangeN(ctx, r.name, scanned.next().String(), last.String(), restorePage).Result()
			if err != nil {
				return false, wrapErr("restoring a session", err)
			}
			if len(msgs) == 0 {
				scanned = last
				break
			}
			for _, m := range msgs {
				id, ok := parseStreamID(m.ID)
				if !ok {
					continue
				}
				scanned = id
				pkt, size, ok := a.missedPacket(m, st.Rooms)
				if !ok {
					continue
				}
				missed = append(missed, replayed{id, pkt})
				bytes += size
				if len(missed) > a.rec.MaxMissedPackets || bytes > a.rec.MaxMissedBytes {
					return false, nil
				}
			}
		}
	}
}

// admitIfCaughtUp admits st's socket with the missed entries up to the
// reader's newest, if the restore read every entry up to it (scanned), and
// reports so. Otherwise it returns the reader's newest entry and a channel
// closed when that moves.
func (a *streams) admitIfCaughtUp(st *ferry.SessionState, from, scanned streamID, missed []replayed, admit func(*ferry.SessionState, []*ferry.EncodedPacket) bool) (last streamID, known bool, wait <-chan struct{}, done bool) {
	r := a.r
	r.mu.Lock()
	defer r.mu.Unlock()
	last, known = parseStreamID(r.last)
	if !known || last.less(from) || scanned.less(last) {
		return last, known, r.advanced, false
	}
	// The reader delivered every entry up to last, and this restore read
	// them all: what follows reaches the socket once it is in its rooms.
	pkts := make([]*ferry.EncodedPacket, 0, len(missed))
	for _, m := range missed {
		if !last.less(m.id) {
			pkts = append(pkts, m.pkt)
		}
	}
	if admit(st, pkts) {
		a.mem.AddAll(st.SID, st.Rooms)
	}
	return last, known, nil, true
}

// missedPacket returns the event of entry m if it is a broadcast of this
// namespace that selects a socket in rooms and may be replayed (not
// volatile, no ack id), with the size of its data.
func (a *streams) missedPacket(m redis.XMessage, rooms []string) (*ferry.EncodedPacket, int, bool) {
	e, ok := readEntry(m.ID, m.Values)
	if !ok || e.nsp != a.name || e.typ != msgBroadcast {
		return nil, 0, false
	}
	data, err := e.fields()
	if err != nil {
		a.cl.logDrop("stream entry", err)
		return nil, 0, false
	}
	if v := data["requestId"]; v != nil && !isNull(v) {
		return nil, 0, false
	}
	pkt, opts, acked, err := broadcastOf(data)
	if err != nil {
		a.cl.logDrop("broadcast", err)
		return nil, 0, false
	}
	if opts.Volatile || acked || !selects(opts, rooms) {
		return nil, 0, false
	}
	pkt.Offset = e.id
	return pkt, len(e.data), true
}

// selects reports whether a broadcast with opts reaches a socket in rooms:
// it names one of them (or none at all), and excepts none of them.
func selects(opts ferry.BroadcastOptions, rooms []string) bool {
	in := func(list []string, r string) bool {
		for _, x := range list {
			if x == r {
				return true
			}
		}
		return false
	}
	for _, r := range rooms {
		if in(opts.Except, r) {
			return false
		}
	}
	if len(opts.Rooms) == 0 {
		return true
	}
	for _, r := range rooms {
		if in(opts.Rooms, r) {
			return true
		}
	}
	return false
}

var _ ferry.RecoveryAdapter = (*streams)(nil)
