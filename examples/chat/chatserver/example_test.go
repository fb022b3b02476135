package chatserver_test

import (
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"

	"github.com/ferryio/ferry/examples/chat/chatserver"
)

// The chat is an http.Handler: mount it on any server. The page is at /,
// the Socket.IO endpoint at /socket.io/.
func ExampleNew() {
	app := chatserver.New(slog.New(slog.DiscardHandler))
	defer app.Close()
	srv := httptest.NewServer(app)
	defer srv.Close()

	resp, err := http.Get(srv.URL + "/socket.io/?EIO=4&transport=polling")
	if err != nil {
		fmt.Println(err)
		return
	}
	resp.Body.Close()
	fmt.Println(resp.StatusCode, resp.Header.Get("Content-Type"))
	// Output: 200 text/plain; charset=UTF-8
}
