package metrics_test

import (
	"bufio"
	"context"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/ferryio/ferry"
	"github.com/ferryio/ferry/client"
	"github.com/ferryio/ferry/metrics"
)

// Example serves a Ferry server's metrics at /metrics, next to the server,
// and scrapes them while a client is connected.
func Example() {
	col := metrics.New(nil)
	srv := ferry.NewServer(&ferry.Options{Observer: col.Observer()})
	reg := prometheus.NewRegistry()
	reg.MustRegister(col)

	mux := http.NewServeMux()
	mux.Handle("/socket.io/", srv)
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	hs := httptest.NewServer(mux) // 127.0.0.1, a port the system picks
	defer hs.Close()
	defer srv.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := client.Dial(ctx, hs.URL, &client.Options{Transports: []string{"websocket"}})
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	if err := c.Socket("/", nil).Connect(ctx); err != nil {
		log.Fatal(err)
	}

	resp, err := http.Get(hs.URL + "/metrics")
	if err != nil {
		log.Fatal(err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "ferry_connections{") || strings.HasPrefix(line, "ferry_sockets ") {
			fmt.Println(line)
		}
	}
	// Output:
	// ferry_connections{transport="polling"} 0
	// ferry_connections{transport="websocket"} 1
	// ferry_sockets 1
}
