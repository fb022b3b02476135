package ferry_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net/http/httptest"
	"time"

	"github.com/ferryio/ferry"
	"github.com/ferryio/ferry/client"
)

func ExampleSocket_Once() {
	srv := ferry.NewServer(nil)
	srv.OnConnection(func(s *ferry.Socket) {
		s.Once("hello", func(e *ferry.Event) { s.Emit("reply", "welcome") })
		// On returns the function that removes the handler.
		var off func()
		off = s.On("vote", func(e *ferry.Event) {
			s.Emit("reply", "vote counted")
			off() // one vote each
		})
		s.On("done", func(e *ferry.Event) { s.Emit("reply", "bye") })
	})
	hs := httptest.NewServer(srv)
	defer hs.Close()
	defer srv.Close()

	ctx := context.Background()
	c, err := client.Dial(ctx, hs.URL, nil)
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	replies := make(chan string, 8)
	sock := c.Socket("/", nil)
	sock.On("reply", func(e *client.Event) {
		var text string
		e.Decode(&text)
		replies <- text
	})
	if err := sock.Connect(ctx); err != nil {
		log.Fatal(err)
	}
	for _, event := range []string{"hello", "hello", "vote", "vote", "done"} {
		sock.Emit(event)
	}
	for text := range replies {
		fmt.Println(text)
		if text == "bye" {
			break
		}
	}
	// Output:
	// welcome
	// vote counted
	// bye
}

func ExampleSocket_Use() {
	srv := ferry.NewServer(nil)
	srv.OnConnection(func(s *ferry.Socket) {
		// Packet middleware sees every event before its handlers.
		s.Use(func(e *ferry.Event) error {
			if e.Name == "delete-all" {
				return errors.New("unauthorized event")
			}
			return nil
		})
		// As in socket.io, the client is not told of a refused event:
		// an error handler decides what to do.
		s.OnError(func(s *ferry.Socket, err error) { s.Emit("error", err.Error()) })
		s.On("delete-all", func(e *ferry.Event) { s.Emit("deleted") })
		s.On("ping", func(e *ferry.Event) { s.Emit("pong") })
	})
	hs := httptest.NewServer(srv)
	defer hs.Close()
	defer srv.Close()

	ctx := context.Background()
	c, err := client.Dial(ctx, hs.URL, nil)
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	seen := make(chan string, 8)
	sock := c.Socket("/", nil)
	sock.OnAny(func(e *client.Event) {
		var text string
		if len(e.Args) > 0 {
			e.Decode(&text)
		}
		seen <- fmt.Sprint(e.Name, " ", text)
	})
	if err := sock.Connect(ctx); err != nil {
		log.Fatal(err)
	}
	sock.Emit("delete-all")
	sock.Emit("ping")
	fmt.Println(<-seen)
	fmt.Println(<-seen)
	// Output:
	// error unauthorized event
	// pong
}

func ExampleSocket_EmitWithAckFunc() {
	srv := ferry.NewServer(nil)
	srv.OnConnection(func(s *ferry.Socket) {
		s.On("order", func(e *ferry.Event) {
			var item string
			e.Decode(&item)
			// Ask this handler's own client, and return: the callback
			// runs when the answer is read, with no goroutine waiting.
			s.Timeout(5*time.Second).EmitWithAckFunc(context.Background(), "confirm", []any{item},
				func(reply ferry.Args, err error) {
					if err != nil {
						e.Ack("not confirmed: " + err.Error())
						return
					}
					var yes bool
					reply.Decode(&yes)
					e.Ack(fmt.Sprintf("%s confirmed: %v", item, yes))
				})
		})
	})
	hs := httptest.NewServer(srv)
	defer hs.Close()
	defer srv.Close()

	ctx := context.Background()
	c, err := client.Dial(ctx, hs.URL, nil)
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	sock := c.Socket("/", nil)
	sock.On("confirm", func(e *client.Event) { e.Ack(true) })
	if err := sock.Connect(ctx); err != nil {
		log.Fatal(err)
	}
	reply, err := sock.EmitWithAck(ctx, "order", "tea")
	if err != nil {
		log.Fatal(err)
	}
	var text string
	reply.Decode(&text)
	fmt.Println(text)
	// Output: tea confirmed: true
}

func ExampleBroadcast_SocketCount() {
	srv := ferry.NewServer(nil)
	srv.OnConnection(func(s *ferry.Socket) {
		ferry.HandleAck(s, "join", func(s *ferry.Socket, room string) (string, error) {
			s.Join(room)
			return room, nil
		})
	})
	hs := httptest.NewServer(srv)
	defer hs.Close()
	defer srv.Close()

	ctx := context.Background()
	for _, room := range []string{"go", "go", "rust"} {
		c, err := client.Dial(ctx, hs.URL, nil)
		if err != nil {
			log.Fatal(err)
		}
		defer c.Close()
		sock := c.Socket("/", nil)
		if err := sock.Connect(ctx); err != nil {
			log.Fatal(err)
		}
		if _, err := sock.EmitWithAck(ctx, "join", room); err != nil {
			log.Fatal(err)
		}
	}
	all, _ := srv.SocketCount(ctx)
	gophers, _ := srv.In("go").SocketCount(ctx)
	here, _ := srv.In("rust").Local().SocketCount(ctx)
	fmt.Println("connections:", srv.ConnCount())
	fmt.Println("sockets:", all)
	fmt.Println("in go:", gophers)
	fmt.Println("in rust, on this server:", here)
	// Output:
	// connections: 3
	// sockets: 3
	// in go: 2
	// in rust, on this server: 1
}

func ExampleSocket_OnAnyOutgoing() {
	sent := make(chan string, 8)
	srv := ferry.NewServer(nil)
	srv.OnConnection(func(s *ferry.Socket) {
		s.OnAnyOutgoing(func(event string, args []any) { sent <- fmt.Sprint(event, args) })
		s.Emit("welcome", "ann")
		srv.Emit("news", 1, 2) // broadcasts that reach the socket count too
	})
	hs := httptest.NewServer(srv)
	defer hs.Close()
	defer srv.Close()

	ctx := context.Background()
	c, err := client.Dial(ctx, hs.URL, nil)
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	if err := c.Socket("/", nil).Connect(ctx); err != nil {
		log.Fatal(err)
	}
	fmt.Println(<-sent)
	fmt.Println(<-sent)
	// Output:
	// welcome[ann]
	// news[1 2]
}
