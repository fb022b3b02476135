package polling

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ferryio/ferry/transport"
)

// closePayload is the body of a GET answered after the transport ended.
var closePayload = []transport.Packet{{Type: transport.Close}}

// noopPayload is the body of a GET answered because MaxPollHold passed.
var noopPayload = []transport.Packet{{Type: transport.Noop}}

// writeChunk is the most bytes of a response written at once: each chunk
// gets WriteTimeout of its own, and records progress, so that a large
// response to a slow but reading client is neither cut by the deadline
// nor taken for a dead client by the heartbeat.
const writeChunk = 32 << 10

// Responder answers one long-polling request of a session's client: with
// the HTTP response itself (Config.NewResponder), or, for a request that
// reached another server of a cluster, with a message to that server,
// which writes the response there (see package session).
type Responder interface {
	// Payload answers a GET with pkts, as one payload. A non-nil error
	// means the client did not receive it.
	Payload(pkts []transport.Packet) error
	// OK answers a POST whose packets were all delivered.
	OK()
	// Error answers with an Engine.IO error: status, and the JSON body of
	// code.
	Error(status int, code transport.ErrorCode)
}

// NewResponder returns the Responder that writes the response to r on w,
// as a transport of this config does: payloads within WriteTimeout per
// 32 KiB, compressed when they are large enough and the client accepts it.
func (c *Config) NewResponder(w http.ResponseWriter, r *http.Request) Responder {
	return &httpResponder{cfg: c, w: w, r: r}
}

// httpResponder answers a request with its HTTP response.
type httpResponder struct {
	cfg *Config
	w   http.ResponseWriter
	r   *http.Request
	t   *Transport // the transport whose progress the writes record, or nil
}

func (h *httpResponder) Payload(pkts []transport.Packet) error {
	return h.cfg.write(h.w, h.r, pkts, h.t)
}

func (h *httpResponder) OK() {
	hd := h.w.Header()
	hd.Set("Content-Type", "text/html")
	hd.Set("Content-Length", "2")
	h.cfg.startWrite(h.w)
	h.w.WriteHeader(http.StatusOK)
	io.WriteString(h.w, "ok")
}

func (h *httpResponder) Error(status int, code transport.ErrorCode) {
	h.cfg.writeError(h.w, status, code)
}

// poll handles a GET.
func (t *Transport) poll(w http.ResponseWriter, r *http.Request) {
	t.Poll(r.Context(), &httpResponder{cfg: t.cfg, w: w, r: r, t: t})
}

// Poll serves a GET of the client: it parks until the session has packets
// for this transport, MaxPollHold passes (a noop answers it), the
// transport ends, or ctx is done, and answers through res. A ctx done
// with the cause ErrGetReleased is answered at once, with what is queued
// or a noop, as when MaxPollHold passes; otherwise the client went away,
// which ends the transport with ErrGetAborted. ServeHTTP
// serves its GETs with it; in a cluster, the server holding the session
// serves with it the GETs that reached another server. The rules are the
// same for both: one GET parked at a time, and a GET that res fails to
// answer ends the transport with res's error.
func (t *Transport) Poll(ctx context.Context, res Responder) {
	t.mu.Lock()
	if t.parked {
		t.mu.Unlock()
		res.Error(http.StatusBadRequest, transport.CodeBadRequest)
		// The parked GET is answered with a close packet.
		t.end(ErrOverlappingGet)
		return
	}
	if !t.enterLocked() {
		t.mu.Unlock()
		res.Payload(closePayload)
		return
	}
	t.parked = true
	t.idleSince = time.Time{}
	t.mu.Unlock()
	// The client is back: it has the last response.
	t.drainUntil.Store(0)
	defer t.leave()
	defer t.answered()
	parkedAt := time.Now()
	var hold <-chan time.Time
	if d := t.cfg.maxPollHold; d > 0 {
		timer := time.NewTimer(d)
		defer timer.Stop()
		hold = timer.C
	}
	held := false

	// The GET stops counting as parked before its response is written: a
	// large body reaches the client before this handler returns, and the
	// client's next GET must not be taken for an overlapping one.
	for {
		// While the answer to the previous GET is on its way (still being
		// written, or, through another server of a cluster, not yet known
		// to be written), nothing is taken: should it fail, the transport
		// ends before a later GET gets what followed it.
		prev := t.answerInFlight()
		if _, ended := t.endReason(); ended {
			// Ended meanwhile, as by a previous answer that failed.
			t.unpark()
			res.Payload(t.finalPayload())
			return
		}
		if prev == nil {
			if pkts, last := t.sess.Take(t); len(pkts) > 0 {
				t.unpark()
				err := t.answer(res, pkts)
				switch {
				case err != nil:
					t.end(err)
				case last:
					t.end(nil)
				}
				return
			}
			if held {
				// MaxPollHold passed with nothing to send: a noop, and
				// the client polls again before an intermediary's
				// timeout.
				t.unpark()
				if err := t.answer(res, noopPayload); err != nil {
					t.end(err)
				}
				return
			}
		}
		select {
		case <-prev:
		case <-t.wake:
		case <-hold:
			held = true
		case <-t.stop:
			t.unpark()
			res.Payload(t.finalPayload())
			return
		case <-ctx.Done():
			if errors.Is(context.Cause(ctx), ErrGetReleased) {
				// Answered as when MaxPollHold passes.
				held = true
				ctx = context.Background()
				continue
			}
			t.unpark()
			t.cfg.cuts.cut(time.Since(parkedAt))
			t.end(ErrGetAborted)
			return
		}
	}
}

// finalPayload returns what answers a GET once the transport has ended.
// Closed by the session: the batch of one last Take. Ended by an error: the
// session has nothing more for this client than a close packet.
func (t *Transport) finalPayload() []transport.Packet {
	if reason, _ := t.endReason(); reason == nil {
		if last, _ := t.sess.Take(t); len(last) > 0 {
			return last
		}
	}
	return closePayload
}

// answer gives pkts to res, recording the answer as in flight meanwhile.
// An answer that fails ends the transport with its error before it stops
// counting as in flight.
func (t *Transport) answer(res Responder, pkts []transport.Packet) error {
	done := make(chan struct{})
	t.mu.Lock()
	t.answering = done
	t.mu.Unlock()
	err := res.Payload(pkts)
	if err != nil {
		t.end(err)
	}
	t.mu.Lock()
	t.answering = nil
	t.mu.Unlock()
	close(done)
	return err
}

// answerInFlight returns a channel closed once the answer to the previous
// GET is given, or nil if none is in flight.
func (t *Transport) answerInFlight() <-chan struct{} {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.answering == nil {
		return nil
	}
	return t.answering
}

// answered records that the GET in progress is over.
func (t *Transport) answered() {
	t.mu.Lock()
	t.idleSince = time.Now()
	t.mu.Unlock()
}

// unpark records that the parked GET is done waiting.
func (t *Transport) unpark() {
	t.mu.Lock()
	t.parked = false
	t.mu.Unlock()
}

// write sends pkts as one payload, within WriteTimeout per 32 KiB, and
// records the progress on t, if not nil. It is compressed when it is large
// enough, the client accepts it, and a packet in it is not marked
// NoCompress, as engine.io decides.
func (c *Config) write(w http.ResponseWriter, r *http.Request, pkts []transport.Packet, t *Transport) error {
	body := transport.EncodePayload(pkts)
	h := w.Header()
	h.Set("Content-Type", "text/plain; charset=UTF-8")
	h.Set("Cache-Control", "no-store")
	compressible := slices.ContainsFunc(pkts, func(p transport.Packet) bool { return !p.NoCompress })
	if th := c.compressionThreshold; th > 0 && len(body) >= th && compressible {
		if coding := acceptedCoding(r.Header.Get("Accept-Encoding")); coding != "" {
			var buf bytes.Buffer
			zw, release := c.compressor(coding, &buf)
			zw.Write(body)
			zw.Close()
			release()
			body = buf.Bytes()
			h.Set("Content-Encoding", coding)
			h.Add("Vary", "Accept-Encoding")
		}
	}
	h.Set("Content-Length", strconv.Itoa(len(body)))
	n := len(body)
	c.startWrite(w)
	w.WriteHeader(http.StatusOK)
	for len(body) > writeChunk {
		if _, err := w.Write(body[:writeChunk]); err != nil {
			return err
		}
		if err := c.flush(w); err != nil {
			return err
		}
		if t != nil {
			t.moved()
		}
		body = body[writeChunk:]
		c.startWrite(w)
	}
	if _, err := w.Write(body); err != nil {
		return err
	}
	if err := c.flush(w); err != nil {
		return err
	}
	if t != nil {
		t.moved()
		if n > writeChunk {
			t.drainUntil.Store(time.Now().Add(time.Duration(n/writeChunk) * c.writeTimeout).UnixNano())
		}
	}
	return nil
}

// acceptedCoding picks "gzip" or "deflate" from an Accept-Encoding header,
// preferring gzip, or returns "" when neither is acceptable.
func acceptedCoding(header string) string {
	deflate := false
	for _, part := range strings.Split(header, ",") {
		name, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if q, ok := strings.CutPrefix(strings.TrimSpace(params), "q="); ok {
			if v, err := strconv.ParseFloat(q, 64); err == nil && v == 0 {
				continue
			}
		}
		switch strings.ToLower(strings.TrimSpace(name)) {
		case "gzip":
			return "gzip"
		case "deflate":
			deflate = true
		}
	}
	if deflate {
		return "deflate"
	}
	return ""
}
