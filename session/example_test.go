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

// Shutdown lets each session write what it has queued, then a close
// packet.
func ExampleEngine_Shutdown() {
	closing := make(chan struct{})
	engine := session.NewEngine(&session.Options{
		OnConnection: func(s *session.Session) {
			// Runs once the close packet is queued behind "bye".
			s.OnClose(func(*session.CloseError) { close(closing) })
		},
	})
	srv := httptest.NewServer(engine)
	defer srv.Close()

	base := srv.URL + "/socket.io/?EIO=4&transport=polling"
	var handshake struct{ SID string }
	json.Unmarshal([]byte(get(http.MethodGet, base, "")[1:]), &handshake)
	s := engine.Session(handshake.SID)
	s.Send(transport.TextPacket("bye"))

	done := make(chan error)
	go func() { done <- engine.Shutdown(context.Background()) }()
	<-closing
	fmt.Printf("last poll: %q\n", get(http.MethodGet, base+"&sid="+handshake.SID, ""))
	fmt.Println("shutdown:", <-done)
	fmt.Println("session:", s.Err())
	fmt.Println("again:", engine.Close())
	// Output:
	// last poll: "4bye\x1e1"
	// shutdown: <nil>
	// session: session closed: server shutting down
	// again: session: engine closed
}
