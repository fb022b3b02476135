package redisadapter_test

import (
	"context"
	"log"
	"net/http"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/ferryio/ferry"
	"github.com/ferryio/ferry/redisadapter"
)

// A server in a cluster: run several, on one Redis, behind a load balancer
// with sticky sessions (long-polling needs every request of a connection
// on the same server), or with none and a relay (see ExampleNewRelay). A
// Node server on createAdapter joins the same cluster.
func Example() {
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379"})
	defer rdb.Close()
	adapters := redisadapter.New(rdb, nil)
	srv := ferry.NewServer(&ferry.Options{Adapter: adapters.Adapter})
	defer srv.Close()

	srv.OnConnection(func(s *ferry.Socket) {
		s.Join("lobby")
		// Reaches the lobby's sockets on every server.
		_ = srv.To("lobby").Emit("joined", s.ID())
	})
	srv.Of("/").OnServerSideEmit("reload", func(e *ferry.Event) {
		_ = e.Ack("reloaded")
	})
	go func() {
		for range time.Tick(time.Minute) {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			n, _ := srv.Of("/").ServerCount(ctx)
			all, err := srv.Of("/").FetchSockets(ctx)
			cancel()
			log.Printf("%d servers, %d sockets (err %v); publish errors: %d",
				n, len(all), err, adapters.Stats().PublishErrors)
		}
	}()
	log.Fatal(http.ListenAndServe("127.0.0.1:3000", srv))
}

// The sharded adapter, on Redis 7 sharded pub/sub; Node servers use
// createShardedAdapter with the same subscription mode.
func ExampleNewSharded() {
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379"})
	defer rdb.Close()
	adapters := redisadapter.NewSharded(rdb, &redisadapter.ShardedOptions{
		SubscriptionMode: redisadapter.Dynamic,
	})
	srv := ferry.NewServer(&ferry.Options{Adapter: adapters.Adapter})
	defer srv.Close()
	log.Fatal(http.ListenAndServe("127.0.0.1:3000", srv))
}

// The Streams adapter with connection state recovery: a client that loses
// its connection and comes back, to any server of the cluster (Ferry, or
// Node on @socket.io/redis-streams-adapter 0.3), gets its id, rooms and
// data back, with the events it missed.
func ExampleNewStreams() {
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379"})
	defer rdb.Close()
	adapters := redisadapter.NewStreams(rdb, nil)
	srv := ferry.NewServer(&ferry.Options{
		Adapter:                 adapters.Adapter,
		ConnectionStateRecovery: &ferry.RecoveryOptions{MaxDisconnectionDuration: 2 * time.Minute},
	})
	defer srv.Close()
	srv.OnConnection(func(s *ferry.Socket) {
		if !s.Recovered() {
			s.Join("lobby")
		}
	})
	log.Fatal(http.ListenAndServe("127.0.0.1:3000", srv))
}

// A worker that is not a server sends to the cluster's sockets.
func ExampleEmitter() {
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379"})
	defer rdb.Close()
	emitter := redisadapter.NewEmitter(rdb, nil)
	ctx := context.Background()

	if err := emitter.To("lobby").Emit(ctx, "news", "the build is green"); err != nil {
		log.Print(err)
	}
	_ = emitter.Of("/admin").In("user:42").DisconnectSockets(ctx, true)
	_ = emitter.ServerSideEmit(ctx, "reload")
}
