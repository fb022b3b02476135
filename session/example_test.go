package session_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/ferryio/ferry/session"
	"github.com/ferryio/ferry/transport"
)

// get performs a request and returns the response body.
func get(method, url, body string) string {
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return err.Error()
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return string(b)
}

// An echo engine, spoken to over long-polling with plain HTTP requests.
func ExampleNewEngine() {
	engine := session.NewEngine(&session.Options{
		OnConnection: func(s *session.Session) {
			s.OnMessage(func(p transport.Packet) { s.Send(p) }) // echo
		},
	})
	srv := httptest.NewServer(engine)
	defer srv.Close()
	defer engine.Close()

	base := srv.URL + "/socket.io/?EIO=4&transport=polling"
	open := get(http.MethodGet, base, "") // the handshake: "0" + JSON
	var handshake struct {
		SID      string   `json:"sid"`
		Upgrades []string `json:"upgrades"`
	}
	json.Unmarshal([]byte(open[1:]), &handshake)
	fmt.Println("upgrades:", handshake.Upgrades)

	url := base + "&sid=" + handshake.SID
	fmt.Println("POST:", get(http.MethodPost, url, "4hello\x1ebAQID"))
	fmt.Printf("GET: %q\n", get(http.MethodGet, url, ""))
	fmt.Println("unknown sid:", get(http.MethodGet, base+"&sid=nope", ""))
	// Output:
	// upgrades: [websocket]
	// POST: ok
	// GET: "4hello\x1ebAQID"
	// unknown sid: {"code":1,"message":"Session ID unknown"}
}

// Shutdown closes every session. One whose client can take its last
// packets (a WebSocket, a long-poll waiting, or the next one if it comes
// soon) gets them, then a close packet. A long-polling client that does not
// poll again, as here, is not waited for beyond a short grace: its queue is
// dropped, and a later poll finds the session gone.
func ExampleEngine_Shutdown() {
	engine := session.NewEngine(nil)
	srv := httptest.NewServer(engine)
	defer srv.Close()

	base := srv.URL + "/socket.io/?EIO=4&transport=polling"
	var handshake struct{ SID string }
	json.Unmarshal([]byte(get(http.MethodGet, base, "")[1:]), &handshake)
	s := engine.Session(handshake.SID)
	s.Send(transport.TextPacket("bye"))

	fmt.Println("shutdown:", engine.Shutdown(context.Background()))
	fmt.Println("session:", s.Err())
	fmt.Println("next poll:", get(http.MethodGet, base+"&sid="+handshake.SID, ""))
	fmt.Println("again:", engine.Close())
	// Output:
	// shutdown: <nil>
	// session: session closed: server shutting down
	// next poll: {"code":1,"message":"Session ID unknown"}
	// again: session: engine closed
}
