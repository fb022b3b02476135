package session

import (
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ferryio/ferry/transport"
)

// A long-polling client that sends a GET and stops reading must not hold
// the GET's handler: the response's writes are bounded by WriteTimeout,
// after which the session closes with a transport error.
func TestLongPollWriteDeadline(t *testing.T) {
	t.Parallel()
	const writeTimeout = 300 * time.Millisecond
	ts := newTestServer(t, &Options{WriteTimeout: writeTimeout, CompressionThreshold: -1})
	c := ts.connect(t, modePolling)

	// A second listener for the same engine, to see its GET handler return.
	returned := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ts.engine.ServeHTTP(w, r)
		if r.Method == http.MethodGet {
			close(returned)
		}
	}))
	t.Cleanup(srv.Close)

	// Far more than the socket buffers of both ends hold.
	big := transport.TextPacket(strings.Repeat("x", 128<<10))
	for range 128 {
		require.NoError(t, c.sess.Send(big))
	}

	conn, err := net.Dial("tcp", srv.Listener.Addr().String())
	require.NoError(t, err)
	t.Cleanup(func() { conn.Close() }) // before srv.Close, which waits for the handler
	require.NoError(t, conn.(*net.TCPConn).SetReadBuffer(4<<10))
	start := time.Now()
	_, err = fmt.Fprintf(conn, "GET /socket.io/?EIO=4&transport=polling&sid=%s HTTP/1.1\r\nHost: ferry\r\n\r\n", c.sid)
	require.NoError(t, err)
	// ...and never read.

	select {
	case <-returned:
	case <-time.After(waitFor):
		t.Fatal("the GET handler is still writing to a client that does not read")
	}
	ce := waitClosed(t, c.sess)
	elapsed := time.Since(start)
	assert.Equal(t, ReasonTransportError, ce.Reason)
	require.ErrorIs(t, ce, os.ErrDeadlineExceeded)
	assert.GreaterOrEqual(t, elapsed, writeTimeout)
	// Encoding 16 MiB comes before the deadline starts; allow for it.
	assert.Less(t, elapsed, writeTimeout+2*time.Second)
	assert.Equal(t, 0, ts.engine.Count())
}
