package adminui_test

import (
	"context"
	"fmt"
	"log"
	"net/http/httptest"
	"sync/atomic"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/ferryio/ferry"
	"github.com/ferryio/ferry/adminui"
	"github.com/ferryio/ferry/client"
)

// The hosted Admin UI at https://admin.socket.io connects from its own
// origin, with credentials: the server allows that origin. A client then
// logs in to the admin namespace as the UI does, and is told which
// actions it may take.
func ExampleInstrument() {
	srv := ferry.NewServer(&ferry.Options{
		CORS: &ferry.CORSOptions{AllowedOrigins: []string{"https://admin.socket.io"}, AllowCredentials: true},
	})
	// In production, keep only the hash: generate it once with
	// bcrypt.GenerateFromPassword (or the bcrypt npm package), and read it
	// from the configuration.
	hash, err := bcrypt.GenerateFromPassword([]byte("changeit"), bcrypt.DefaultCost)
	if err != nil {
		log.Fatal(err)
	}
	inst, err := adminui.Instrument(srv, &adminui.Options{
		Auth:     &adminui.BasicAuth{Username: "admin", PasswordHash: string(hash)},
		ReadOnly: true,
	})
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Close()
	defer inst.Close()
	hs := httptest.NewServer(srv)
	defer hs.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := client.Dial(ctx, hs.URL, nil)
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	ui := c.Socket("/admin", &client.SocketOptions{Auth: map[string]string{"username": "admin", "password": "changeit"}})
	config := make(chan []string, 1)
	ui.On("config", func(e *client.Event) {
		var cfg struct {
			SupportedFeatures []string `json:"supportedFeatures"`
		}
		e.Decode(&cfg)
		config <- cfg.SupportedFeatures
	})
	if err := ui.Connect(ctx); err != nil {
		log.Fatal(err)
	}
	fmt.Println(<-config)
	// Output: [AGGREGATED_EVENTS ALL_EVENTS]
}

// A Meter lets the UI chart the server's packets and bytes: its Observer
// is the server's, here next to another one (a Prometheus collector's, in
// a real server), and Instrument reads it.
func ExampleMeter() {
	meter := adminui.NewMeter()
	var opened atomic.Int64
	other := &ferry.Observer{Engine: ferry.EngineObserver{Opened: func(string) { opened.Add(1) }}}
	srv := ferry.NewServer(&ferry.Options{Observer: ferry.MultiObserver(meter.Observer(), other)})
	inst, err := adminui.Instrument(srv, &adminui.Options{NoAuth: true, Meter: meter, ServerStatsInterval: 50 * time.Millisecond})
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Close()
	defer inst.Close()
	hs := httptest.NewServer(srv)
	defer hs.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := client.Dial(ctx, hs.URL, nil)
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	ui := c.Socket("/admin", nil)
	stats := make(chan map[string]int, 16)
	ui.On("server_stats", func(e *client.Event) {
		var s struct {
			Events []struct {
				Type  string `json:"type"`
				Count int    `json:"count"`
			} `json:"aggregatedEvents"`
		}
		e.Decode(&s)
		counts := make(map[string]int)
		for _, ev := range s.Events {
			counts[ev.Type] += ev.Count
		}
		select {
		case stats <- counts:
		default: // read no more
		}
	})
	if err := ui.Connect(ctx); err != nil {
		log.Fatal(err)
	}
	for counts := range stats {
		if counts["bytesIn"] > 0 && counts["bytesOut"] > 0 {
			fmt.Println("bytes counted; connections opened:", opened.Load())
			break
		}
	}
	// Output: bytes counted; connections opened: 1
}
