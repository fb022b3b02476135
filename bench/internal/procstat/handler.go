package procstat

import (
	"encoding/json"
	"net/http"
	"os"
	"runtime"
	"runtime/debug"
)

// Stats is what a Go benchmark server reports at /stats.
type Stats struct {
	// Goroutines is runtime.NumGoroutine().
	Goroutines int `json:"goroutines"`
	// RSS is the process's resident set size in bytes.
	RSS int64 `json:"rss"`
	// HeapInuse is runtime.MemStats.HeapInuse in bytes.
	HeapInuse uint64 `json:"heap_inuse"`
}

// Handler serves the calling process's Stats as JSON. With the query
// parameter gc it first collects garbage and returns freed memory to the
// operating system (debug.FreeOSMemory). It reads runtime.MemStats, which
// briefly stops the world: call it between measurements, not during them.
func Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Has("gc") {
			debug.FreeOSMemory()
		}
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		rss, err := RSS(os.Getpid())
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(Stats{
			Goroutines: runtime.NumGoroutine(),
			RSS:        rss,
			HeapInuse:  ms.HeapInuse,
		})
	})
}
