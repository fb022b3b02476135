package proxymatrix

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ferryio/ferry"
	"github.com/ferryio/ferry/client"
)

// A client whose flow a NAT forgot is gone for the server: it hears no
// pong, and must close the socket with "ping timeout" within
// pingInterval + pingTimeout of the loss, whether it has anything to send
// the client meanwhile or not. Connection state recovery depends on it: a
// client that comes back while the server still holds its socket gets a
// fresh session.
func TestServerNoticesForgottenFlow(t *testing.T) {
	t.Parallel()
	const interval, timeout = 500 * time.Millisecond, 500 * time.Millisecond
	for _, tr := range []string{"polling", "websocket"} {
		for _, sending := range []bool{false, true} {
			name := tr + "/idle"
			if sending {
				name = tr + "/sending"
			}
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				srv := ferry.NewServer(&ferry.Options{PingInterval: interval, PingTimeout: timeout, Logger: slog.New(slog.DiscardHandler)})
				connected := make(chan *ferry.Socket, 1)
				reasons := make(chan ferry.DisconnectReason, 1)
				srv.OnConnection(func(s *ferry.Socket) {
					s.OnDisconnect(func(_ *ferry.Socket, r ferry.DisconnectReason) { reasons <- r })
					connected <- s
				})
				hs := httptest.NewServer(srv)
				t.Cleanup(func() {
					srv.Close()
					hs.Close()
				})
				nat, url := StartNAT(t, hs.Listener.Addr().String())

				hc := &http.Client{Transport: &http.Transport{}}
				defer hc.CloseIdleConnections()
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				c, err := client.Dial(ctx, url, &client.Options{Transports: []string{tr}, HTTPClient: hc,
					DisableReconnection: true, Logger: slog.New(slog.DiscardHandler)})
				require.NoError(t, err)
				defer c.Close()
				require.NoError(t, c.Socket("/", nil).Connect(ctx))
				var s *ferry.Socket
				select {
				case s = <-connected:
				case <-ctx.Done():
					t.Fatal("the server saw no connection")
				}
				// A few heartbeats go by, answered.
				ticks := time.NewTicker(Tick)
				defer ticks.Stop()
				for range 2 * (interval + timeout) / Tick {
					<-ticks.C
					if sending {
						require.NoError(t, s.Emit("tick"))
					}
				}
				require.True(t, s.Connected())

				require.Positive(t, nat.Forget())
				forgot := time.Now()
				bound := time.After(4 * (interval + timeout))
				for {
					select {
					case r := <-reasons:
						assert.Equal(t, ferry.ReasonPingTimeout, r)
						assert.LessOrEqual(t, time.Since(forgot), 2*(interval+timeout),
							"noticed within pingInterval + pingTimeout, and as much again for a margin")
						return
					case <-ticks.C:
						if sending {
							s.Emit("tick")
						}
					case <-bound:
						t.Fatalf("the server still holds the socket %v after its flow was lost (%d bytes it sent since went nowhere)",
							time.Since(forgot).Round(time.Millisecond), nat.Dropped())
					}
				}
			})
		}
	}
}
