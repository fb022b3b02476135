package jsclient_test

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"

	"github.com/ferryio/ferry/internal/jsclient"
)

// The server mounts the handler next to its endpoint; a page loads
// <path>/ferry.min.js and gets the global `ferry`.
func ExampleNewHandler() {
	mux := http.NewServeMux()
	client := jsclient.NewHandler()
	mux.Handle("/socket.io/ferry.min.js", client)
	mux.Handle("/socket.io/ferry.min.js.map", client)
	srv := httptest.NewServer(mux)
	defer srv.Close()

	resp, err := http.Get(srv.URL + "/socket.io/ferry.min.js")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(resp.Status)
	fmt.Println(resp.Header.Get("Content-Type"))
	fmt.Println(bytes.HasPrefix(body, []byte("/*! Ferry client")))
	// Output:
	// 200 OK
	// application/javascript; charset=utf-8
	// true
}
