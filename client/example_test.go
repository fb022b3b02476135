package client_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"time"

	"github.com/ferryio/ferry/client"
)

// Example connects to a Socket.IO server on localhost:3000 (Ferry, or Node's
// socket.io with socket.io-msgpack-parser), joins two namespaces, handles an
// event and emits one with an acknowledgement.
func Example() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	c, err := client.Dial(ctx, "http://localhost:3000", nil) // polling, then WebSocket; msgpack
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()

	chat := c.Socket("/", nil)
	chat.On("message", func(e *client.Event) {
		var from, text string
		if e.Decode(&from, &text) == nil {
			fmt.Printf("%s: %s\n", from, text)
		}
		if e.WantsAck() {
			_ = e.Ack("received")
		}
	})
	chat.OnDisconnect(func(reason client.DisconnectReason) {
		log.Printf("disconnected: %s (reconnects: %v)", reason, reason.Reconnects())
	})
	if err := chat.Connect(ctx); err != nil {
		log.Fatal(err)
	}

	admin := c.Socket("/admin", &client.SocketOptions{Auth: map[string]any{"token": "secret"}})
	if err := admin.Connect(ctx); err != nil {
		var refused *client.ConnectError
		if errors.As(err, &refused) {
			log.Fatalf("refused: %s (%v)", refused.Message, refused.Data)
		}
		log.Fatal(err)
	}

	res, err := chat.EmitWithAck(ctx, "message", "gopher", "hello")
	if err != nil {
		log.Fatal(err)
	}
	var status string
	if res.Decode(&status) == nil {
		fmt.Println("server says:", status)
	}
}
