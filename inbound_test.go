package ferry_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ferryio/ferry"
	"github.com/ferryio/ferry/transport"
)

// TestInboundReservedEventClosesConnection sends, over long-polling with
// hand-made msgpack, an event named "disconnect": the msgpack decoder lets
// it through, and the server must close the connection as the JSON parser
// would.
func TestInboundReservedEventClosesConnection(t *testing.T) {
	srv := ferry.NewServer(nil)
	reasons := make(chan string, 1)
	srv.OnConnection(func(s *ferry.Socket) {
		s.OnDisconnect(func(_ *ferry.Socket, r ferry.DisconnectReason) { reasons <- r.String() })
	})
	ts := httptest.NewServer(srv)
	defer ts.Close()
	defer srv.Close()

	base := ts.URL + "/socket.io/?EIO=4&transport=polling"
	res, err := http.Get(base)
	require.NoError(t, err)
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	require.Equal(t, byte('0'), body[0])
	var open struct{ SID string }
	require.NoError(t, json.Unmarshal(body[1:], &open))
	url := base + "&sid=" + open.SID

	post := func(msgpack []byte) {
		p := transport.EncodePacket(transport.BinaryPacket(msgpack))
		res, err := http.Post(url, "text/plain;charset=UTF-8", strings.NewReader(string(p)))
		require.NoError(t, err)
		res.Body.Close()
		require.Equal(t, http.StatusOK, res.StatusCode)
	}
	// {type: 0, nsp: "/"}: CONNECT to the main namespace.
	post([]byte{0x82, 0xa4, 't', 'y', 'p', 'e', 0x00, 0xa3, 'n', 's', 'p', 0xa1, '/'})
	// {type: 2, data: ["disconnect"], nsp: "/"}: a reserved event name.
	post(append(append([]byte{0x83, 0xa4, 't', 'y', 'p', 'e', 0x02, 0xa4, 'd', 'a', 't', 'a', 0x91, 0xaa},
		"disconnect"...), 0xa3, 'n', 's', 'p', 0xa1, '/'))

	select {
	case r := <-reasons:
		require.Equal(t, "parse error", r)
	case <-time.After(5 * time.Second):
		t.Fatal("the socket was not disconnected")
	}
	res, err = http.Get(url)
	require.NoError(t, err)
	body, _ = io.ReadAll(res.Body)
	res.Body.Close()
	// The connection is gone: its queued CONNECT reply and close packet
	// are flushed, or the sid is already unknown.
	if res.StatusCode == http.StatusOK {
		require.True(t, strings.HasSuffix(string(body), "\x1e1") || string(body) == "1", "%q", body)
	} else {
		require.JSONEq(t, `{"code":1,"message":"Session ID unknown"}`, string(body))
	}
}
