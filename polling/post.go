package polling

import (
	"errors"
	"io"
	"net/http"
	"strings"

	"github.com/ferryio/ferry/transport"
)

// post handles a POST: it decodes the payload and delivers its packets to
// the session in order, then answers "ok".
func (t *Transport) post(w http.ResponseWriter, r *http.Request) {
	t.mu.Lock()
	if t.posting {
		t.mu.Unlock()
		t.cfg.writeError(w, http.StatusBadRequest, transport.CodeBadRequest)
		t.end(ErrOverlappingPost)
		return
	}
	if !t.enterLocked() {
		t.mu.Unlock()
		t.cfg.writeError(w, http.StatusBadRequest, transport.CodeUnknownSID)
		return
	}
	t.posting = true
	t.mu.Unlock()
	defer func() {
		t.mu.Lock()
		t.posting = false
		t.mu.Unlock()
		t.leave()
	}()

	if isOctetStream(r.Header.Get("Content-Type")) {
		t.cfg.writeError(w, http.StatusBadRequest, transport.CodeBadRequest)
		t.end(ErrBinaryBody)
		return
	}
	body, err := t.readBody(w, r)
	if err != nil {
		if mbe := (*http.MaxBytesError)(nil); errors.As(err, &mbe) {
			t.cfg.writeError(w, http.StatusRequestEntityTooLarge, transport.CodeBadRequest)
			t.end(ErrPayloadTooLarge)
			return
		}
		t.cfg.writeError(w, http.StatusBadRequest, transport.CodeBadRequest)
		t.end(err)
		return
	}
	pkts, decodeErr := transport.DecodePayload(body)
	for _, p := range pkts {
		// Nothing is delivered once the transport has ended (the session
		// closed it, or moved to a WebSocket), nor after the session
		// refused a packet.
		if _, ended := t.endReason(); ended {
			t.cfg.writeError(w, http.StatusBadRequest, transport.CodeBadRequest)
			return
		}
		if err := t.sess.Deliver(t, p); err != nil {
			t.cfg.writeError(w, http.StatusBadRequest, transport.CodeBadRequest)
			if errors.Is(err, transport.ErrUnexpectedPacket) {
				// The packet broke the protocol: the transport ends, and
				// tells the session why. Otherwise the session is closing
				// and ends it.
				t.end(err)
			}
			return
		}
	}
	if decodeErr != nil {
		t.cfg.writeError(w, http.StatusBadRequest, transport.CodeBadRequest)
		t.end(decodeErr)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html")
	h.Set("Content-Length", "2")
	t.cfg.startWrite(w)
	w.WriteHeader(http.StatusOK)
	io.WriteString(w, "ok")
}

// isOctetStream reports whether a Content-Type header names the media
// type application/octet-stream, whatever its parameters, as
// mime.ParseMediaType would find it.
func isOctetStream(contentType string) bool {
	mt, _, _ := strings.Cut(contentType, ";")
	return strings.EqualFold(strings.TrimSpace(mt), "application/octet-stream")
}

// readBody reads a POST's body, recording progress as bytes arrive. One
// of known length, within the limit, is read into a buffer of its size;
// any other through http.MaxBytesReader, which fails past the limit with
// an *http.MaxBytesError.
func (t *Transport) readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	n := r.ContentLength
	if n < 0 || n > t.cfg.maxBody {
		return io.ReadAll(&progressReader{r: http.MaxBytesReader(w, r.Body, t.cfg.maxBody), t: t})
	}
	body := make([]byte, n)
	for read := 0; read < len(body); {
		m, err := r.Body.Read(body[read:])
		if m > 0 {
			read += m
			t.moved()
		}
		switch {
		case read == len(body):
		case err == io.EOF:
			return nil, io.ErrUnexpectedEOF
		case err != nil:
			return nil, err
		}
	}
	return body, nil
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
