package ferry_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/ferryio/ferry"
	"github.com/ferryio/ferry/client"
)

// Each example serves Ferry on 127.0.0.1 with net/http/httptest and talks
// to it with Ferry's Go client; a browser would use socket.io-client.

func ExampleNewServer() {
	srv := ferry.NewServer(&ferry.Options{
		PingInterval: 10 * time.Second,
		PingTimeout:  5 * time.Second,
	})
	srv.OnConnection(func(s *ferry.Socket) {
		s.Emit("hello", "welcome aboard")
	})
	// Server is an http.Handler: mount it on any router.
	mux := http.NewServeMux()
	mux.Handle("/socket.io/", srv)
	hs := httptest.NewServer(mux)
	defer hs.Close()
	defer srv.Close()

	ctx := context.Background()
	c, err := client.Dial(ctx, hs.URL, nil)
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	hello := make(chan string, 1)
	sock := c.Socket("/", nil)
	sock.On("hello", func(e *client.Event) {
		var text string
		e.Decode(&text)
		hello <- text
	})
	if err := sock.Connect(ctx); err != nil {
		log.Fatal(err)
	}
	fmt.Println(<-hello)
	// Output: welcome aboard
}

func ExampleServer_OnConnection() {
	srv := ferry.NewServer(nil)
	srv.OnConnection(func(s *ferry.Socket) {
		var auth struct {
			Name string `json:"name"`
		}
		if err := s.Handshake().DecodeAuth(&auth); err != nil {
			s.Disconnect(true)
			return
		}
		// The client is told it is connected before this event.
		s.Emit("welcome", "hello, "+auth.Name)
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
	welcome := make(chan string, 1)
	sock := c.Socket("/", &client.SocketOptions{Auth: map[string]string{"name": "Ada"}})
	sock.On("welcome", func(e *client.Event) {
		var text string
		e.Decode(&text)
		welcome <- text
	})
	if err := sock.Connect(ctx); err != nil {
		log.Fatal(err)
	}
	fmt.Println(<-welcome)
	// Output: hello, Ada
}

func ExampleSocket_On() {
	srv := ferry.NewServer(nil)
	srv.OnConnection(func(s *ferry.Socket) {
		// Echo every "echo" event back, arguments unchanged.
		s.On("echo", func(e *ferry.Event) {
			args := make([]any, len(e.Args))
			for i, a := range e.Args {
				args[i] = a
			}
			s.Emit("echo", args...)
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
	echoed := make(chan string, 1)
	sock := c.Socket("/", nil)
	sock.On("echo", func(e *client.Event) {
		var text string
		var n int
		var blob []byte
		e.Decode(&text, &n, &blob)
		echoed <- fmt.Sprint(text, " ", n, " ", blob)
	})
	if err := sock.Connect(ctx); err != nil {
		log.Fatal(err)
	}
	sock.Emit("echo", "ping", 7, []byte{1, 2, 3})
	fmt.Println(<-echoed)
	// Output: ping 7 [1 2 3]
}

func ExampleHandle() {
	type Move struct {
		X int `json:"x"`
		Y int `json:"y"`
	}
	moves := make(chan Move, 1)
	srv := ferry.NewServer(nil)
	srv.OnConnection(func(s *ferry.Socket) {
		ferry.Handle(s, "move", func(s *ferry.Socket, m Move) error {
			if m.X < 0 || m.Y < 0 {
				return errors.New("off the board") // logged; the event is dropped
			}
			moves <- m
			return nil
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
	if err := sock.Connect(ctx); err != nil {
		log.Fatal(err)
	}
	// Asked for, the ack comes once the handler has succeeded.
	if _, err := sock.EmitWithAck(ctx, "move", Move{X: 3, Y: 4}); err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%+v\n", <-moves)
	// Output: {X:3 Y:4}
}

func ExampleHandleAck() {
	srv := ferry.NewServer(nil)
	srv.OnConnection(func(s *ferry.Socket) {
		ferry.HandleAck(s, "sum", func(s *ferry.Socket, nums []int) (int, error) {
			total := 0
			for _, n := range nums {
				total += n
			}
			return total, nil
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
	if err := sock.Connect(ctx); err != nil {
		log.Fatal(err)
	}
	reply, err := sock.EmitWithAck(ctx, "sum", []int{1, 2, 3, 4})
	if err != nil {
		log.Fatal(err)
	}
	var total int
	reply[0].Decode(&total)
	fmt.Println(total)
	// Output: 10
}

func ExampleSocket_EmitWithAck() {
	answers := make(chan string, 1)
	srv := ferry.NewServer(nil)
	srv.OnConnection(func(s *ferry.Socket) {
		// Handlers run on the connection's read goroutine, which must stay
		// free to read the ack: wait for it in a goroutine of its own, or
		// ask with EmitWithAckFunc.
		go func() {
			reply, err := s.Timeout(5*time.Second).EmitWithAck(context.Background(), "question", "6 × 7?")
			if err != nil {
				answers <- err.Error()
				return
			}
			var answer int
			reply.Decode(&answer)
			answers <- fmt.Sprint("the client says ", answer)
		}()
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
	sock.On("question", func(e *client.Event) { e.Ack(42) })
	if err := sock.Connect(ctx); err != nil {
		log.Fatal(err)
	}
	fmt.Println(<-answers)
	// Output: the client says 42
}

func ExampleNamespace_Use() {
	srv := ferry.NewServer(nil)
	admin := srv.Of("/admin")
	admin.Use(func(s *ferry.Socket) error {
		var auth struct {
			Token string `json:"token"`
		}
		if err := s.Handshake().DecodeAuth(&auth); err != nil {
			return err
		}
		if auth.Token != "s3cret" {
			return &ferry.ConnectError{Message: "not authorized", Data: map[string]any{"hint": "ask an admin"}}
		}
		return nil
	})
	hs := httptest.NewServer(srv)
	defer hs.Close()
	defer srv.Close()

	ctx := context.Background()
	for _, token := range []string{"guess", "s3cret"} {
		c, err := client.Dial(ctx, hs.URL, nil)
		if err != nil {
			log.Fatal(err)
		}
		sock := c.Socket("/admin", &client.SocketOptions{Auth: map[string]string{"token": token}})
		err = sock.Connect(ctx)
		var refused *client.ConnectError
		switch {
		case errors.As(err, &refused):
			fmt.Println(token+":", refused.Message, refused.Data)
		case err != nil:
			log.Fatal(err)
		default:
			fmt.Println(token + ": connected")
		}
		c.Close()
	}
	// Output:
	// guess: not authorized map[hint:ask an admin]
	// s3cret: connected
}

func ExampleBroadcast() {
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
	news := map[string]chan string{}
	for _, user := range []struct{ name, room string }{{"alice", "go"}, {"bob", "go"}, {"carol", "rust"}} {
		c, err := client.Dial(ctx, hs.URL, nil)
		if err != nil {
			log.Fatal(err)
		}
		defer c.Close()
		ch := make(chan string, 4)
		news[user.name] = ch
		sock := c.Socket("/", nil)
		sock.On("news", func(e *client.Event) {
			var text string
			e.Decode(&text)
			ch <- text
		})
		if err := sock.Connect(ctx); err != nil {
			log.Fatal(err)
		}
		if _, err := sock.EmitWithAck(ctx, "join", user.room); err != nil {
			log.Fatal(err)
		}
	}

	srv.To("go").Emit("news", "Go has a new release")
	srv.To("rust").Emit("news", "Rust has a new edition")
	srv.Except("rust").Emit("news", "Gophers meet on Friday")
	for _, name := range []string{"alice", "bob", "carol"} {
		fmt.Println(name+":", <-news[name])
	}
	fmt.Println("alice:", <-news["alice"])
	// Output:
	// alice: Go has a new release
	// bob: Go has a new release
	// carol: Rust has a new edition
	// alice: Gophers meet on Friday
}

func ExampleServer_Shutdown() {
	srv := ferry.NewServer(nil)
	joined := make(chan *ferry.Socket, 1)
	srv.OnConnection(func(s *ferry.Socket) { joined <- s })
	hs := httptest.NewServer(srv)
	defer hs.Close()

	ctx := context.Background()
	c, err := client.Dial(ctx, hs.URL, &client.Options{Transports: []string{"websocket"}, DisableReconnection: true})
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	seen := make(chan string, 8)
	sock := c.Socket("/", nil)
	sock.On("news", func(e *client.Event) {
		var text string
		e.Decode(&text)
		seen <- "news: " + text
	})
	sock.OnDisconnect(func(r client.DisconnectReason) {
		seen <- "disconnected: " + r.String()
		close(seen)
	})
	if err := sock.Connect(ctx); err != nil {
		log.Fatal(err)
	}
	s := <-joined

	s.Emit("news", "one")
	s.Emit("news", "two")
	// Shutdown writes what is queued, then closes every connection.
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		log.Fatal(err)
	}
	for line := range seen {
		fmt.Println(line)
	}
	fmt.Println(srv.Shutdown(ctx))
	// Output:
	// news: one
	// news: two
	// disconnected: transport close
	// ferry: server closed
}
