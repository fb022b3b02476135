package websocket_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"

	gorilla "github.com/gorilla/websocket"

	"github.com/ferryio/ferry/transport"
	"github.com/ferryio/ferry/transport/transporttest"
	"github.com/ferryio/ferry/websocket"
)

// A WebSocket transport bound to a session: one packet per frame, binary
// messages as binary frames.
func ExampleNew() {
	cfg := websocket.NewConfig(nil)
	sess := transporttest.NewSession()
	ready := make(chan *websocket.Transport, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, err := cfg.Upgrade(w, r)
		if err != nil {
			return
		}
		tr := websocket.New(cfg, conn, sess)
		sess.Bind(tr)
		tr.Start()
		ready <- tr
	}))
	defer srv.Close()

	ws, _, err := gorilla.DefaultDialer.Dial("ws"+strings.TrimPrefix(srv.URL, "http"), nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer ws.Close()
	tr := <-ready
	defer tr.Close()

	sess.Push(transport.TextPacket("hello"), transport.BinaryPacket([]byte{1, 2, 3}))
	for range 2 {
		mt, data, _ := ws.ReadMessage()
		fmt.Printf("frame %d %q\n", mt, data)
	}
	ws.WriteMessage(gorilla.TextMessage, []byte("4hi"))
	got, _ := sess.WaitDelivered(context.Background(), 1)
	fmt.Println("delivered:", got[0])
	// Output:
	// frame 1 "4hello"
	// frame 2 "\x01\x02\x03"
	// delivered: message(2 bytes)
}
