package polling

import (
	"errors"
	"io"
	"net/http"
	"strings"

	"github.com/ferryio/ferry/transport"
)

// post handles a POST: it reads the body, then delivers its packets to the
// session in order, and answers "ok".
func (t *Transport) post(w http.ResponseWriter, r *http.Request) {
	res := &httpResponder{cfg: t.cfg, w: w, r: r, t: t}
	if !t.beginPost(res) {
		return
	}
	body, err := t.cfg.readPost(w, r, t)
	answer := t.deliverPost(body, err, res)
	t.endPost()
	answer()
}

// ReadPost reads the body of a POST of a session's client, at most
// MaxHTTPBufferSize bytes. It fails with ErrBinaryBody for an
// application/octet-stream body, ErrPayloadTooLarge for a larger one, or
// the error that cut the read short. In a cluster, the server that
// received the POST reads it, and the server holding the session passes
// the outcome to Post.
func (c *Config) ReadPost(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	return c.readPost(w, r, nil)
}

// readPost is ReadPost, recording the progress of the read on t if not
// nil.
func (c *Config) readPost(w http.ResponseWriter, r *http.Request, t *Transport) ([]byte, error) {
	if isOctetStream(r.Header.Get("Content-Type")) {
		return nil, ErrBinaryBody
	}
	if n := r.ContentLength; n >= 0 && n <= c.maxBody {
		return readKnownLength(r.Body, n, t)
	}
	var rd io.Reader = http.MaxBytesReader(w, r.Body, c.maxBody)
	if t != nil {
		rd = &progressReader{r: rd, t: t}
	}
	body, err := io.ReadAll(rd)
	if mbe := (*http.MaxBytesError)(nil); errors.As(err, &mbe) {
		return nil, ErrPayloadTooLarge
	}
	return body, err
}

// isOctetStream reports whether a Content-Type header names the media
// type application/octet-stream, whatever its parameters, as
// mime.ParseMediaType would find it.
func isOctetStream(contentType string) bool {
	mt, _, _ := strings.Cut(contentType, ";")
	return strings.EqualFold(strings.TrimSpace(mt), "application/octet-stream")
}

// readKnownLength reads a body of n bytes, its Content-Length, into a
// buffer of that size, recording progress on t (if not nil) as bytes
// arrive. A body that ends short fails with io.ErrUnexpectedEOF.
func readKnownLength(body io.Reader, n int64, t *Transport) ([]byte, error) {
	buf := make([]byte, n)
	for read := 0; read < len(buf); {
		m, err := body.Read(buf[read:])
		if m > 0 {
			read += m
			if t != nil {
				t.moved()
			}
		}
		switch {
		case read == len(buf):
		case err == io.EOF:
			return nil, io.ErrUnexpectedEOF
		case err != nil:
			return nil, err
		}
	}
	return buf, nil
}

// Post serves a POST of the client whose body was read by ReadPost, with
// readErr the error ReadPost returned: it delivers the packets of body to
// the session, in order, and answers through res, as ServeHTTP does for a
// POST it reads itself. A readErr ends the transport with it.
func (t *Transport) Post(body []byte, readErr error, res Responder) {
	if !t.beginPost(res) {
		return
	}
	answer := t.deliverPost(body, readErr, res)
	t.endPost()
	answer()
}

// beginPost registers a POST in flight, or answers it with an error and
// reports false: a second POST in flight ends the transport; one after the
// end finds the session unknown.
func (t *Transport) beginPost(res Responder) bool {
	t.mu.Lock()
	if t.posting {
		t.mu.Unlock()
		res.Error(http.StatusBadRequest, transport.CodeBadRequest)
		t.end(ErrOverlappingPost)
		return false
	}
	if !t.enterLocked() {
		t.mu.Unlock()
		res.Error(http.StatusBadRequest, transport.CodeUnknownSID)
		return false
	}
	t.posting = true
	t.mu.Unlock()
	return true
}

// endPost unregisters the POST in flight.
func (t *Transport) endPost() {
	t.mu.Lock()
	t.posting = false
	t.mu.Unlock()
	t.leave()
}

// deliverPost delivers the packets of a POST's body, and returns the
// function that answers it: the caller answers once the POST no longer
// counts as in flight, so that the client's next POST, which the answer
// lets it send, cannot be taken for an overlapping one.
func (t *Transport) deliverPost(body []byte, readErr error, res Responder) (answer func()) {
	fail := func(status int) func() {
		return func() { res.Error(status, transport.CodeBadRequest) }
	}
	if readErr != nil {
		status := http.StatusBadRequest
		if errors.Is(readErr, ErrPayloadTooLarge) {
			status = http.StatusRequestEntityTooLarge
		}
		t.end(readErr)
		return fail(status)
	}
	pkts, decodeErr := transport.DecodePayload(body)
	for _, p := range pkts {
		// Nothing is delivered once the transport has ended (the session
		// closed it, or moved to a WebSocket), nor after the session
		// refused a packet.
		if _, ended := t.endReason(); ended {
			return fail(http.StatusBadRequest)
		}
		if err := t.sess.Deliver(t, p); err != nil {
			if errors.Is(err, transport.ErrUnexpectedPacket) {
				// The packet broke the protocol: the transport ends, and
				// tells the session why. Otherwise the session is closing
				// and ends it.
				t.end(err)
			}
			return fail(http.StatusBadRequest)
		}
	}
	if decodeErr != nil {
		t.end(decodeErr)
		return fail(http.StatusBadRequest)
	}
	return res.OK
}

// progressReader records progress on its transport each time bytes of a
// POST body arrive.
type progressReader struct {
	r io.Reader
	t *Transport
}

func (p *progressReader) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	if n > 0 {
		p.t.moved()
	}
	return n, err
}
