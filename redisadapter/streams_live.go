package redisadapter

import (
	"context"
	"encoding/base64"
	"errors"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/ferryio/ferry"
)

// A server that dies persists no session: for its clients to recover on
// the others, a Streams adapter with recovery keeps, while a socket is
// connected, a live record of it, under keys of Ferry's own (never the
// session keys, which a Node server would restore while the socket's
// server is alive), with LiveKeyPrefix P:
//
//   - P "servers": a sorted set of the servers' heartbeats, each server's
//     uid scored with the time (Redis's clock, in ms) after which it is
//     taken for dead unless it refreshes it;
//   - P "server:" uid: the set of the private ids its records keep;
//   - P "s:" pid: a hash, {owner: uid, nsp, session}, session being the
//     socket's state as PersistSession writes it (Node's format, base64):
//     its rooms as its server's adapter last saw them, its data as at
//     connect.
//
// A restore that finds no session looks at the live record: once its owner
// is dead (its heartbeat is past, or gone), it takes the record, atomically,
// and restores the socket from it as from a session. The first server that
// finds another dead removes its heartbeat and has its records expire after
// MaxDisconnectionDuration.

// liveSocket is a socket a Streams adapter keeps a live record of.
type liveSocket struct {
	state  *ferry.SessionState // as when it connected; its rooms are read at each write
	queued bool                // guarded by the adapter's lmu: a write of its record is queued
}

func (o *StreamsOptions) liveRecord(pid string) string { return o.LiveKeyPrefix + "s:" + pid }
func (o *StreamsOptions) liveServer(uid string) string { return o.LiveKeyPrefix + "server:" + uid }
func (o *StreamsOptions) liveHeartbeats() string       { return o.LiveKeyPrefix + "servers" }

// redisMillis is t as a heartbeat's score.
func redisMillis(t time.Time) float64 { return float64(t.UnixMilli()) }

// liveOn reports whether the adapter keeps live records: with recovery.
func (a *streams) liveOn() bool { return a.rec != nil && a.h.liveID != "" }

func (a *streams) liveKey(pid string) string { return a.opts.liveRecord(pid) }
func (a *streams) liveSetKey() string        { return a.opts.liveServer(a.h.liveID) }

// restoreRecheck is how long a restore waits before looking again for a
// live record it did not find.
const restoreRecheck = 100 * time.Millisecond

// TrackSession implements ferry.LiveSessionAdapter: it queues the write of
// the socket's live record, in order with this server's other writes.
func (a *streams) TrackSession(_ context.Context, s *ferry.SessionState) error {
	if !a.liveOn() {
		return nil
	}
	a.lmu.Lock()
	if old, ok := a.pids[s.PID]; ok {
		delete(a.live, old)
	}
	a.live[s.SID] = &liveSocket{state: s}
	a.pids[s.PID] = s.SID
	a.lmu.Unlock()
	a.liveChanged(s.SID)
	return nil
}

// UntrackSession implements ferry.LiveSessionAdapter: it queues the
// deletion of the socket's live record.
func (a *streams) UntrackSession(_ context.Context, pid string) error {
	if !a.liveOn() {
		return nil
	}
	a.lmu.Lock()
	sid, ok := a.pids[pid]
	if ok {
		delete(a.pids, pid)
		delete(a.live, sid)
	}
	a.lmu.Unlock()
	if !ok {
		return nil
	}
	key, set := a.liveKey(pid), a.liveSetKey()
	a.h.write(key, func(ctx context.Context) error {
		pipe := a.f.client.Pipeline() // keys of different slots on a Redis Cluster
		pipe.Del(ctx, key)
		pipe.SRem(ctx, set, pid)
		_, err := pipe.Exec(ctx)
		return err
	}, nil)
	return nil
}

// liveChanged queues a write of the live record of socket sid, if it is
// tracked and none is queued: the write reads the socket's rooms when it
// runs, so that writes for changes made meanwhile coalesce.
func (a *streams) liveChanged(sid string) {
	if !a.liveOn() {
		return
	}
	a.lmu.Lock()
	ls, ok := a.live[sid]
	if !ok || ls.queued {
		a.lmu.Unlock()
		return
	}
	ls.queued = true
	pid := ls.state.PID
	a.lmu.Unlock()
	a.h.write(a.liveKey(pid), func(ctx context.Context) error {
		return a.writeLive(ctx, sid, ls)
	}, func(err error) {
		if err != nil {
			// Dropped, or failed: the next change writes again.
			a.lmu.Lock()
			ls.queued = false
			a.lmu.Unlock()
		}
	})
}

// writeLive writes the live record of ls, socket sid, unless it was
// untracked meanwhile. It runs on the hub's writer, in order with the
// untracking's deletion.
func (a *streams) writeLive(ctx context.Context, sid string, ls *liveSocket) error {
	a.lmu.Lock()
	if cur, ok := a.live[sid]; !ok || cur != ls {
		a.lmu.Unlock()
		return nil
	}
	ls.queued = false
	st := *ls.state
	a.lmu.Unlock()
	st.Rooms = a.mem.SocketRooms(sid)
	b, err := encodeSession(&st)
	if err != nil {
		return err
	}
	if err := a.h.beatOnce(ctx); err != nil {
		return err
	}
	pipe := a.f.client.Pipeline()
	pipe.HSet(ctx, a.liveKey(st.PID), "owner", a.h.liveID, "nsp", a.name, "session", base64.StdEncoding.EncodeToString(b))
	pipe.SAdd(ctx, a.liveSetKey(), st.PID)
	_, err = pipe.Exec(ctx)
	return err
}

// takeLive takes the live record of pid if its server is dead, and
// returns its session as PersistSession writes it. Otherwise it returns
// "" and how long to wait before looking again: until the owner's
// heartbeat is due, while it lives.
func (a *streams) takeLive(ctx context.Context, pid string) (string, time.Duration, error) {
	key := a.liveKey(pid)
	rec, err := a.f.client.HMGet(ctx, key, "owner", "nsp").Result()
	if err != nil {
		return "", 0, err
	}
	owner, _ := rec[0].(string)
	nsp, _ := rec[1].(string)
	if owner == "" || nsp != a.name {
		return "", restoreRecheck, nil
	}
	pipe := a.f.client.Pipeline()
	score := pipe.ZScore(ctx, a.opts.liveHeartbeats(), owner)
	now := pipe.Time(ctx)
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return "", 0, err
	}
	if due, err := score.Result(); err == nil {
		if left := time.Duration(due-redisMillis(now.Val())) * time.Millisecond; left >= 0 {
			return "", max(min(left, a.opts.HeartbeatTimeout), 20*time.Millisecond), nil
		}
	} else if !errors.Is(err, redis.Nil) {
		return "", 0, err
	}
	// The owner is dead: take the record, once.
	tx := a.f.client.TxPipeline()
	session := tx.HGet(ctx, key, "session")
	tx.Del(ctx, key)
	if _, err := tx.Exec(ctx); err != nil {
		if errors.Is(err, redis.Nil) {
			return "", restoreRecheck, nil
		}
		return "", 0, err
	}
	// Its owner's set expires anyway: a failure here leaks nothing.
	_ = a.f.client.SRem(ctx, a.opts.liveServer(owner), pid).Err()
	return session.Val(), 0, nil
}

// beatOnce refreshes this server's heartbeat unless it did already: a live
// record is written only once its owner's heartbeat is in Redis, so that a
// server missing from the heartbeats is one taken for dead.
func (h *hub) beatOnce(ctx context.Context) error {
	if h.beaten.Load() {
		return nil
	}
	return h.beat(ctx)
}

// heartbeat refreshes this server's heartbeat every third of
// HeartbeatTimeout until the hub stops.
func (h *hub) heartbeat() {
	defer close(h.beats)
	t := time.NewTicker(h.f.streams.HeartbeatTimeout / 3)
	defer t.Stop()
	for {
		ctx, cancel := context.WithTimeout(h.ctx, h.f.timeout)
		err := h.beat(ctx)
		cancel()
		if err != nil && h.ctx.Err() == nil {
			if ok, skipped := h.f.publishLog.allow(); ok {
				h.f.logger.Warn("redisadapter: refreshing this server's heartbeat failed", "err", err, "held_back", skipped)
			}
		}
		select {
		case <-t.C:
		case <-h.ctx.Done():
			return
		}
	}
}

// beat refreshes this server's heartbeat, and ends those of the servers
// found dead, having their live records expire. If this server had been
// taken for dead (cut off from Redis), it keeps its records again.
func (h *hub) beat(ctx context.Context) error {
	o := h.f.streams
	now, err := h.f.client.Time(ctx).Result()
	if err != nil {
		return err
	}
	due := now.Add(o.HeartbeatTimeout)
	added, err := h.f.client.ZAdd(ctx, o.liveHeartbeats(), redis.Z{Score: redisMillis(due), Member: h.liveID}).Result()
	if err != nil {
		return err
	}
	if added == 1 && h.beaten.Load() {
		if err := h.keepRecords(ctx, h.liveID, true); err != nil {
			return err
		}
	}
	h.beaten.Store(true)
	dead, err := h.f.client.ZRangeByScore(ctx, o.liveHeartbeats(), &redis.ZRangeBy{
		Min: "-inf", Max: "(" + strconv.FormatFloat(redisMillis(now), 'f', 0, 64),
	}).Result()
	if err != nil {
		return err
	}
	for _, uid := range dead {
		n, err := h.f.client.ZRem(ctx, o.liveHeartbeats(), uid).Result()
		if err != nil {
			return err
		}
		if n == 1 {
			h.f.logger.Info("redisadapter: a server's heartbeat stopped; its clients may recover on the others", "server", uid)
			if err := h.keepRecords(ctx, uid, false); err != nil {
				return err
			}
		}
	}
	return nil
}

// keepRecords has the live records of server uid expire after
// MaxDisconnectionDuration, or, with keep, keeps them for good again.
func (h *hub) keepRecords(ctx context.Context, uid string, keep bool) error {
	o := h.f.streams
	set := o.liveServer(uid)
	pids, err := h.f.client.SMembers(ctx, set).Result()
	if err != nil {
		return err
	}
	ttl := strconv.FormatInt(h.mdd.Milliseconds(), 10)
	pipe := h.f.client.Pipeline()
	for _, pid := range append(pids, "") {
		key := o.liveRecord(pid)
		if pid == "" {
			key = set
		}
		if keep {
			pipe.Persist(ctx, key)
		} else {
			pipe.Do(ctx, "pexpire", key, ttl)
		}
	}
	_, err = pipe.Exec(ctx)
	return err
}

var _ ferry.LiveSessionAdapter = (*streams)(nil)
