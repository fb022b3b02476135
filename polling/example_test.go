package polling_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/ferryio/ferry/polling"
	"github.com/ferryio/ferry/transport"
	"github.com/ferryio/ferry/transport/transporttest"
)

// A polling transport bound to a session: a GET receives what the session
// queued, a POST delivers packets to it. The session layer routes requests
// by sid; here every request goes to the one transport.
func ExampleNew() {
	sess := transporttest.NewSession()
	tr := polling.New(polling.NewConfig(nil), sess)
	sess.Bind(tr)
	srv := httptest.NewServer(tr)
	defer srv.Close()
	defer tr.Close()

	sess.Push(transport.TextPacket("hello"), transport.BinaryPacket([]byte{1, 2, 3}))
	res, _ := http.Get(srv.URL)
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	fmt.Printf("GET %s %q\n", res.Header.Get("Content-Type"), body)

	res, _ = http.Post(srv.URL, "text/plain;charset=UTF-8", strings.NewReader("4hi\x1ebBAU="))
	body, _ = io.ReadAll(res.Body)
	res.Body.Close()
	fmt.Printf("POST %q\n", body)
	got, _ := sess.WaitDelivered(context.Background(), 2)
	for _, p := range got {
		fmt.Println("delivered:", p)
	}
	// Output:
	// GET text/plain; charset=UTF-8 "4hello\x1ebAQID"
	// POST "ok"
	// delivered: message(2 bytes)
	// delivered: message(binary, 2 bytes)
}
