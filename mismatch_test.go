package ferry_test

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ferryio/ferry"
	"github.com/ferryio/ferry/client"
	"github.com/ferryio/ferry/internal/nodetest"
	"github.com/ferryio/ferry/parser"
)

// otherCodec returns the parser a server using codec does not speak.
func otherCodec(codec parser.Codec) parser.Codec {
	if codec.Name() == "json" {
		return parser.Msgpack()
	}
	return parser.JSON()
}

// TestParserMismatchSocketIOClient connects the official client with the
// parser the server does not use, both ways, and checks that it gets a
// connect_error naming the server's parser and stops there: one handshake,
// no reconnection loop. The server logs one warning.
func TestParserMismatchSocketIOClient(t *testing.T) {
	nodetest.Require(t)
	for _, server := range []parser.Codec{parser.Msgpack(), parser.JSON()} {
		for _, transports := range []string{"polling,websocket", "websocket"} {
			t.Run("server-"+server.Name()+"/"+transports, func(t *testing.T) {
				t.Parallel()
				logs := &logRecorder{level: slog.LevelInfo}
				srv := ferry.NewServer(&ferry.Options{Parser: server, Logger: slog.New(logs)})
				srv.OnConnection(func(s *ferry.Socket) { t.Errorf("socket %s connected", s.ID()) })
				var handshakes atomic.Int32
				hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					if r.URL.Query().Get("sid") == "" {
						handshakes.Add(1)
					}
					srv.ServeHTTP(w, r)
				}))
				t.Cleanup(hs.Close)
				t.Cleanup(func() { srv.Close() })

				out := nodetest.Run(t, 30*time.Second, "parser-mismatch.mjs", []string{hs.URL, otherCodec(server).Name(), transports})
				var got struct{ Message string }
				require.NoError(t, json.Unmarshal([]byte(out), &got), out)
				require.Contains(t, got.Message, "parser mismatch")
				if server.Name() == "msgpack" {
					require.Contains(t, got.Message, "socket.io-msgpack-parser")
				} else {
					require.Contains(t, got.Message, "JSON parser")
				}
				require.Contains(t, got.Message, `"parser" option`)
				require.EqualValues(t, 1, handshakes.Load(), "the client does not come back")

				warnings := logs.at(slog.LevelWarn)
				require.Len(t, warnings, 1)
				a := attrs(warnings[0])
				require.Equal(t, server.Name(), a["server_parser"])
				require.Equal(t, otherCodec(server).Name(), a["client_parser"])
				require.Equal(t, "127.0.0.1", a["remote"])
			})
		}
	}
}

// TestParserMismatch checks the refusal with the Go client over every
// transport set-up, and that the warning is rate-limited per server: a
// second mismatched client in the same minute is not logged again.
func TestParserMismatch(t *testing.T) {
	runParsers(t, func(t *testing.T, m mode) {
		logs := &logRecorder{level: slog.LevelWarn}
		ts := m.serve(t, &ferry.Options{Logger: slog.New(logs)})
		joined := sockets(ts.Of("/"))
		for range 2 {
			opts := ts.clientOptions()
			opts.Parser = otherCodec(m.codec)
			s := ts.dial(t, opts).Socket("/", nil)
			var ce *client.ConnectError
			require.ErrorAs(t, s.Connect(bounded(t)), &ce)
			require.True(t, strings.HasPrefix(ce.Message, "parser mismatch: the server uses "), ce.Message)
			require.False(t, s.Active(), "a refused socket is not retried")
		}
		require.Len(t, logs.at(slog.LevelWarn), 1, "one warning for both clients")
		require.Empty(t, joined)

		// A client with the server's parser still connects.
		ts.connect(t, "/", nil)
		recv(t, joined)
	})
}
