package metrics_test

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ferryio/ferry/metrics"
)

// BenchmarkPacketsOut is the collector's share of the hottest path: one
// call per batch a transport writes.
func BenchmarkPacketsOut(b *testing.B) {
	o := metrics.New(nil).Observer().Engine
	b.ReportAllocs()
	for b.Loop() {
		o.PacketsOut("websocket", 1, 64)
	}
}

// BenchmarkPacketsOutParallel is BenchmarkPacketsOut from every core at
// once, all adding to the same counters.
func BenchmarkPacketsOutParallel(b *testing.B) {
	o := metrics.New(nil).Observer().Engine
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			o.PacketsOut("websocket", 1, 64)
		}
	})
}

// BenchmarkGather is one scrape's collection.
func BenchmarkGather(b *testing.B) {
	reg := prometheus.NewRegistry()
	reg.MustRegister(metrics.New(nil))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := reg.Gather(); err != nil {
			b.Fatal(err)
		}
	}
}
