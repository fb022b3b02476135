package ferry_test

import (
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/ferryio/ferry"
)

// counts is what a metrics collector keeps: atomic counters, indexed by
// direction and transport.
type counts struct {
	packets, bytes [2][2]atomic.Uint64
	events         atomic.Uint64
}

// observer returns an Observer that counts into c as the metrics module's
// Collector does, an atomic add or two per event, so that the benchmarks
// below measure what observing costs the hot paths.
func (c *counts) observer() *ferry.Observer {
	index := func(transport string) int {
		if transport == "websocket" {
			return 1
		}
		return 0
	}
	return &ferry.Observer{
		Engine: ferry.EngineObserver{
			PacketsIn: func(tr string, n, size int) {
				c.packets[0][index(tr)].Add(uint64(n))
				c.bytes[0][index(tr)].Add(uint64(size))
			},
			PacketsOut: func(tr string, n, size int) {
				c.packets[1][index(tr)].Add(uint64(n))
				c.bytes[1][index(tr)].Add(uint64(size))
			},
		},
		Broadcast: func(string) { c.events.Add(1) },
	}
}

// BenchmarkEmitObserved is BenchmarkEmit with an Observer.
func BenchmarkEmitObserved(b *testing.B) {
	for _, how := range []string{"websocket", "polling"} {
		b.Run(how, func(b *testing.B) {
			var c counts
			bs := newBenchServer(b, c.observer())
			s := bs.join(b, how)
			bs.run(b, 1, func() error { return s.Emit("chat", benchArgs...) })
			if c.packets[1][0].Load()+c.packets[1][1].Load() < uint64(b.N) {
				b.Fatalf("the observer counted %d packets out for %d emits", c.packets[1][0].Load()+c.packets[1][1].Load(), b.N)
			}
		})
	}
}

// BenchmarkBroadcastObserved is BenchmarkBroadcast with an Observer.
func BenchmarkBroadcastObserved(b *testing.B) {
	for _, c := range []struct {
		how     string
		targets int
	}{{"websocket", 100}, {"websocket", 1000}, {"polling", 10}} {
		b.Run(fmt.Sprintf("%s-%d", c.how, c.targets), func(b *testing.B) {
			var n counts
			bs := newBenchServer(b, n.observer())
			for range c.targets {
				bs.join(b, c.how)
			}
			nsp := bs.Of("/")
			bs.run(b, c.targets, func() error { return nsp.Emit("chat", benchArgs...) })
			if n.events.Load() < uint64(b.N) {
				b.Fatalf("the observer counted %d broadcasts for %d", n.events.Load(), b.N)
			}
		})
	}
}
