package client

import (
	"bytes"
	"fmt"
	"io"
	"net/http"

	"github.com/ferryio/ferry/transport"
)

// post sends one batch of packets as a long-polling POST. The writer makes
// sure the body fits in the server's maxPayload (see takeLocked).
func (e *engine) post(pkts []transport.Packet) error {
	payload := transport.EncodePayload(pkts)
	var body io.Reader = bytes.NewReader(payload)
	if len(payload) > writeChunk {
		// A large body records progress as the request takes it, which
		// it does only as the server reads (see writeFrame).
		body = &progressReader{r: body, e: e}
	}
	req, err := e.c.newRequest(e.ctx, http.MethodPost, e.sid, body)
	if err != nil {
		return fmt.Errorf("client: post: %w", err)
	}
	// Sent with its length, as a bytes.Reader would be, not chunked.
	req.ContentLength = int64(len(payload))
	req.Header.Set("Content-Type", "text/plain;charset=UTF-8")
	resp, err := e.c.http.Do(req)
	if err != nil {
		return fmt.Errorf("client: post: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("client: post: %w", httpError(resp))
	}
	_, err = io.Copy(io.Discard, io.LimitReader(resp.Body, maxErrorBody))
	return err
}
