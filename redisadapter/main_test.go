package redisadapter_test

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"testing"

	"github.com/redis/go-redis/v9"
	"go.uber.org/goleak"

	"github.com/ferryio/ferry"
	"github.com/ferryio/ferry/redisadapter"
)

// childRedisEnv, when set to a Redis address, makes the test binary run a
// Ferry server on the classic adapter instead of the tests: the server
// the fault tests kill (see startChild).
const childRedisEnv = "REDISADAPTER_CHILD_REDIS"

func TestMain(m *testing.M) {
	if addr := os.Getenv(childRedisEnv); addr != "" {
		os.Exit(runChild(addr))
	}
	if cfg := os.Getenv(relayChildEnv); cfg != "" {
		os.Exit(runRelayChild(cfg))
	}
	goleak.VerifyTestMain(m)
}

// runChild serves a Ferry server on a free loopback port, prints its URL,
// and runs until it is killed or its stdin closes.
func runChild(addr string) int {
	client := redis.NewClient(&redis.Options{Addr: addr})
	srv := ferry.NewServer(&ferry.Options{Adapter: redisadapter.New(client, nil).Adapter})
	srv.Of("/").OnServerSideEmit("hello", func(e *ferry.Event) { _ = e.Ack("child") })
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	go func() { _ = http.Serve(l, srv) }()
	fmt.Printf("http://%s\n", l.Addr())
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM)
	go func() {
		buf := make([]byte, 1)
		_, _ = os.Stdin.Read(buf)
		stop <- syscall.SIGTERM
	}()
	<-stop
	_ = srv.Close()
	return 0
}
