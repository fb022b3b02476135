package procstat

import (
	"encoding/json"
	"net/http"
	"os"
	"runtime"
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

// Handler serves the calling process's Stats as JSON. It reads
// runtime.MemStats, which briefly stops the world: call it between
// measurements, not during them.
func Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
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
