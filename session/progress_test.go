package session

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ferryio/ferry/transport"
)

// takeFrom returns what the session queued for tr since the last call,
// after letting every timer due by now fire.
func takeFrom(s *Session, tr transport.Transport) []string {
	synctest.Wait()
	pkts, _ := s.Take(tr)
	return wire(pkts...)
}

// progressTransport is a fakeTransport that reports when bytes last moved.
type progressTransport struct {
	*fakeTransport
	mu   sync.Mutex
	last time.Time // guarded by mu
}

func (p *progressTransport) LastProgress() time.Time {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.last
}

// moved records that bytes moved now.
func (p *progressTransport) moved() {
	p.mu.Lock()
	p.last = time.Now()
	p.mu.Unlock()
}

// A client whose pong is overdue while bytes keep moving on its transport
// (a large message on its way) is not closed: the deadline follows the
// progress, and another ping is queued so that the client's own silence
// timer is fed. Once the bytes stop, it is closed PingTimeout after the
// last of them.
func TestHeartbeatProgressDefersPingTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, ft := fakeSession(t, heartbeatOpts)
		pt := &progressTransport{fakeTransport: ft}
		s.mu.Lock()
		s.current = pt
		s.mu.Unlock()
		start := time.Now()
		time.Sleep(testInterval)
		require.Equal(t, []string{"2"}, takeFrom(s, pt))

		// Bytes arrive every second for ten seconds, more than
		// PingTimeout: the session stays open throughout.
		for range 10 {
			time.Sleep(time.Second)
			pt.moved()
			require.True(t, isOpen(s), "closed %v after the ping while bytes were moving", time.Since(start)-testInterval)
		}
		pings := takeFrom(s, pt)
		assert.NotEmpty(t, pings, "pings keep coming while the pong is held up")
		for _, p := range pings {
			assert.Equal(t, "2", p)
		}
		lastMoved := time.Now()

		// The bytes stop: closed PingTimeout later.
		time.Sleep(testTimeout - time.Nanosecond)
		require.True(t, isOpen(s))
		time.Sleep(time.Nanosecond)
		require.False(t, isOpen(s))
		assert.Equal(t, testTimeout, time.Since(lastMoved))
		assert.Equal(t, ReasonPingTimeout, Reason(s.Err()))
	})
}

// Progress older than PingTimeout does not save a silent client, and a
// queued ping is not queued twice.
func TestHeartbeatStaleProgress(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, ft := fakeSession(t, heartbeatOpts)
		pt := &progressTransport{fakeTransport: ft}
		s.mu.Lock()
		s.current = pt
		s.mu.Unlock()
		pt.moved()
		time.Sleep(testInterval + testTimeout)
		assert.False(t, isOpen(s), "bytes that moved before the ping say nothing about the pong")
	})
}

// A client that sends a large message slowly, holding its pong behind it,
// stays connected over each transport; the message arrives whole.
func TestSlowLargeMessageDoesNotTimeOut(t *testing.T) {
	const interval, timeout = 100 * time.Millisecond, 150 * time.Millisecond
	// 60 pieces, 20ms apart: over a second, many times PingTimeout.
	const pieces, gap = 60, 20 * time.Millisecond
	payload := strings.Repeat("x", pieces*100)
	for _, mode := range []string{modePolling, modeWebSocket} {
		t.Run(mode, func(t *testing.T) {
			t.Parallel()
			ts := newTestServer(t, &Options{PingInterval: interval, PingTimeout: timeout})
			c := ts.connect(t, mode)
			// The first ping is answered; the next one is held up.
			require.Equal(t, transport.Ping, c.recv(t).Type)
			c.send(t, transport.Packet{Type: transport.Pong})

			var conn net.Conn
			var body []byte
			if mode == modePolling {
				conn, body = rawPOST(t, ts, c.sid, "4"+payload)
			} else {
				conn, body = c.ws.UnderlyingConn(), maskedTextFrame("4"+payload)
			}
			tick := time.NewTicker(gap)
			defer tick.Stop()
			for i := 0; i < len(body); {
				n := min(len(body)-i, (len(body)+pieces-1)/pieces)
				_, err := conn.Write(body[i : i+n])
				require.NoError(t, err)
				i += n
				<-tick.C
				require.NoError(t, c.sess.Err(), "closed while the message was arriving")
			}
			if mode == modePolling {
				res, err := http.ReadResponse(bufio.NewReader(conn), nil)
				require.NoError(t, err)
				res.Body.Close()
				require.Equal(t, http.StatusOK, res.StatusCode)
			}
			select {
			case p := <-ts.msgs:
				assert.Equal(t, payload, string(p.Data))
			case <-time.After(waitFor):
				t.Fatal("the message did not arrive")
			}
			// The pings held up meanwhile are answered now.
			c.send(t, transport.Packet{Type: transport.Pong})
			require.NoError(t, c.sess.Err())
		})
	}
}

// rawPOST opens a connection to ts and returns it with the bytes of a POST
// of body for sid, for the caller to send at its own pace.
func rawPOST(t *testing.T, ts *testServer, sid, body string) (net.Conn, []byte) {
	t.Helper()
	u, err := url.Parse(ts.url("EIO=4&transport=polling&sid=" + sid))
	require.NoError(t, err)
	conn, err := net.Dial("tcp", u.Host)
	require.NoError(t, err)
	t.Cleanup(func() { conn.Close() })
	req := fmt.Sprintf("POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: text/plain;charset=UTF-8\r\nContent-Length: %d\r\n\r\n%s",
		u.RequestURI(), u.Host, len(body), body)
	return conn, []byte(req)
}

// maskedTextFrame returns a client's text frame holding data, masked with
// a zero key, as RFC 6455 requires of clients (the bytes are unchanged).
func maskedTextFrame(data string) []byte {
	b := []byte{0x81}
	switch n := len(data); {
	case n < 126:
		b = append(b, 0x80|byte(n))
	case n < 1<<16:
		b = append(b, 0x80|126, byte(n>>8), byte(n))
	default:
		b = append(b, 0x80|127, 0, 0, 0, 0, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
	}
	b = append(b, 0, 0, 0, 0)
	return append(b, data...)
}
