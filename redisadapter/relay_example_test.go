package redisadapter_test

import (
	"net/http"

	"github.com/redis/go-redis/v9"

	"github.com/ferryio/ferry"
	"github.com/ferryio/ferry/redisadapter"
)

// A server of a cluster with no sticky sessions: run several, on one
// Redis, behind a load balancer with plain round-robin. A connection's
// requests may reach any of them: each relays those of a connection it
// does not hold to the server that does.
func ExampleNewRelay() {
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379"})
	defer rdb.Close()
	srv := ferry.NewServer(&ferry.Options{
		Adapter: redisadapter.New(rdb, nil).Adapter,
		Relay:   &ferry.RelayOptions{Bus: redisadapter.NewRelay(rdb, nil)},
	})
	// Closing the server closes its relay.
	defer srv.Close()
	srv.OnConnection(func(s *ferry.Socket) {
		_ = s.Emit("hello", "from any server")
	})
	_ = http.ListenAndServe("127.0.0.1:3000", srv)
}
