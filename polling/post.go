package polling

import (
	"errors"
	"io"
	"mime"
	"net/http"

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

	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt == "application/octet-stream" {
		t.cfg.writeError(w, http.StatusBadRequest, transport.CodeBadRequest)
		t.end(ErrBinaryBody)
		return
	}
	body, err := io.ReadAll(&progressReader{r: http.MaxBytesReader(w, r.Body, t.cfg.maxBody), t: t})
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
