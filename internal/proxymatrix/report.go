package proxymatrix

import (
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"time"
)

// Row is one measured run: a cell, a server, a client.
type Row struct {
	Cell   string // the condition, as the README names it
	Server string // "ferry" or "node"
	Client string // "node", "go" or "chromium", with a variant
	Result Result
	Note   string // what the run showed beyond the numbers
}

// Table collects rows from parallel tests.
type Table struct {
	mu   sync.Mutex
	rows []Row // guarded by mu
}

// Add records a row.
func (tb *Table) Add(r Row) {
	tb.mu.Lock()
	tb.rows = append(tb.rows, r)
	tb.mu.Unlock()
}

// Summary renders one result in a table cell: the transport ended on, the
// time to the first event, reconnections (and how many recovered), the
// messages lost or duplicated each way, and those out of order.
func Summary(r Result) string {
	var b strings.Builder
	if r.FirstEventMs == nil {
		b.WriteString("never connected")
	} else {
		t := r.Transport
		if t == "" {
			t = "?"
		}
		fmt.Fprintf(&b, "%s, first event %d ms, %d reconnects", t, *r.FirstEventMs, r.Reconnects())
		if r.Reconnects() > 0 {
			fmt.Fprintf(&b, " (%d recovered)", r.Recovered)
		}
	}
	upLost, upDup, ok := r.Up()
	downLost, downDup, _ := r.DownCounts()
	if ok {
		fmt.Fprintf(&b, "; lost ↑%d/%d ↓%d/%d, dup ↑%d ↓%d", upLost, r.UpSent, downLost, r.Report.Down, upDup, downDup)
	} else {
		b.WriteString("; no report")
	}
	if n := r.Reordered(); n > 0 {
		fmt.Fprintf(&b, "; %d ↓ out of order", n)
	}
	if r.BigBackMs != nil {
		fmt.Fprintf(&b, "; 1 MB back in %.1f s", float64(*r.BigBackMs)/1000)
	}
	if len(r.Reasons) > 0 {
		reasons := map[string]int{}
		for _, x := range r.Reasons {
			_, reason, _ := strings.Cut(x, " ")
			reasons[reason]++
		}
		keys := make([]string, 0, len(reasons))
		for k := range reasons {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		parts := make([]string, len(keys))
		for i, k := range keys {
			parts[i] = fmt.Sprintf("%s ×%d", k, reasons[k])
		}
		fmt.Fprintf(&b, "; disconnects: %s", strings.Join(parts, ", "))
	}
	return b.String()
}

// Markdown renders the table: one line per cell and client, Ferry and
// Node side by side.
func (tb *Table) Markdown(duration time.Duration) string {
	tb.mu.Lock()
	defer tb.mu.Unlock()
	type key struct{ cell, client string }
	var order []key
	byKey := map[key]map[string]Row{}
	for _, r := range tb.rows {
		k := key{r.Cell, r.Client}
		if byKey[k] == nil {
			byKey[k] = map[string]Row{}
			order = append(order, k)
		}
		byKey[k][r.Server] = r
	}
	slices.SortStableFunc(order, func(a, b key) int {
		if c := strings.Compare(a.cell, b.cell); c != 0 {
			return c
		}
		return strings.Compare(a.client, b.client)
	})
	var b strings.Builder
	fmt.Fprintf(&b, "Numbered messages both ways every %v for %v per run.\n\n", Tick, duration)
	b.WriteString("| condition | client | Ferry | Node socket.io 4.8 |\n|---|---|---|---|\n")
	for _, k := range order {
		cell := func(server string) string {
			r, ok := byKey[k][server]
			if !ok {
				return "not run"
			}
			s := Summary(r.Result)
			if r.Note != "" {
				s += " — " + r.Note
			}
			return s
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", k.cell, k.client, cell("ferry"), cell("node"))
	}
	return b.String()
}

// WriteFile writes the table to path.
func (tb *Table) WriteFile(path string, duration time.Duration) error {
	return os.WriteFile(path, []byte(tb.Markdown(duration)), 0o644)
}
