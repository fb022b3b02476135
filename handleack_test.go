package ferry_test

import (
	"errors"
	"log/slog"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ferryio/ferry"
)

// TestHandleAckErrors checks what HandleAck sends and logs when the
// argument does not decode: a short, stable message to the client (it used
// to get the decoder's text, naming Ferry's internals) and a warning with
// the event name and socket id on the server (it used to log nothing at
// the default level). A handler's own error still reaches the client.
func TestHandleAckErrors(t *testing.T) {
	runParsers(t, func(t *testing.T, m mode) {
		logs := &logRecorder{level: slog.LevelInfo}
		ts := m.serve(t, &ferry.Options{Logger: slog.New(logs)})
		type sum struct {
			A int `json:"a" msgpack:"a"`
			B int `json:"b" msgpack:"b"`
		}
		ts.OnConnection(func(s *ferry.Socket) {
			ferry.HandleAck(s, "add", func(_ *ferry.Socket, v sum) (int, error) {
				if v.A > 100 {
					return 0, errors.New("too big")
				}
				return v.A + v.B, nil
			})
		})
		cs := ts.connect(t, "/", nil)
		s := ts.socket(t, cs)
		ask := func(arg any) map[string]any {
			t.Helper()
			reply, err := cs.EmitWithAck(bounded(t), "add", arg)
			require.NoError(t, err)
			require.Len(t, reply, 1)
			var out map[string]any
			if err := reply[0].Decode(&out); err != nil {
				var n int
				require.NoError(t, reply[0].Decode(&n))
				return map[string]any{"result": n}
			}
			return out
		}

		require.Equal(t, map[string]any{"result": 5}, ask(sum{A: 2, B: 3}))
		require.Empty(t, logs.at(slog.LevelWarn))

		require.Equal(t, map[string]any{"error": "invalid argument"}, ask("not an object"))
		warnings := logs.at(slog.LevelWarn)
		require.Len(t, warnings, 1)
		a := attrs(warnings[0])
		require.Equal(t, "add", a["event"])
		require.Equal(t, s.ID(), a["socket"])
		require.NotEmpty(t, a["err"], "the decoder's error stays in the server's log")

		require.Equal(t, map[string]any{"error": "too big"}, ask(sum{A: 101}))
		require.Len(t, logs.at(slog.LevelWarn), 1, "a handler's error is routine: not a warning")
	})
}
