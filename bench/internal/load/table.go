package load

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strings"
	"text/tabwriter"
)

// row is one line of the comparison table.
type row struct {
	label    string
	scenario string
	variant  func(rec map[string]any) bool // nil: any
	metric   string
	scale    float64 // applied to the value; 0 means 1
	// derived, when set, computes the row's value for a server from other
	// rows instead (scenario, variant and metric are then unused).
	derived func(rs results, server string) (float64, bool)
}

func mode(m string) func(map[string]any) bool {
	return func(r map[string]any) bool { return r["mode"] == m }
}

func count(n float64) func(map[string]any) bool {
	return func(r map[string]any) bool { return r["n"] == n }
}

func rate(r float64) func(map[string]any) bool {
	return func(rec map[string]any) bool { return rec["rate_per_s"] == r }
}

func inFlight(w float64) func(map[string]any) bool {
	return func(r map[string]any) bool { return r["window"] == w }
}

var tableRows = []row{
	{"connect websocket: conns/s", "connect", mode("websocket"), "conns_per_s", 0, nil},
	{"connect websocket: server CPU µs/conn", "connect", mode("websocket"), "server_cpu_s_per_100k_conns", 10, nil},
	{"connect polling→upgrade: conns/s", "connect", mode("upgrade"), "conns_per_s", 0, nil},
	{"connect polling→upgrade: server CPU µs/conn", "connect", mode("upgrade"), "server_cpu_s_per_100k_conns", 10, nil},
	{"connect polling: conns/s", "connect", mode("polling"), "conns_per_s", 0, nil},
	{"connect polling: server CPU µs/conn", "connect", mode("polling"), "server_cpu_s_per_100k_conns", 10, nil},
	{"idle 1k: server RSS KiB/conn", "idle", count(1000), "rss_per_conn_bytes", 1.0 / 1024, nil},
	{"idle 1k: goroutines/conn", "idle", count(1000), "goroutines_per_conn", 0, nil},
	{"idle 10k: server RSS KiB/conn", "idle", count(10000), "rss_per_conn_bytes", 1.0 / 1024, nil},
	{"idle 10k: server RSS KiB/conn after GC", "idle", count(10000), "rss_per_conn_after_gc_bytes", 1.0 / 1024, nil},
	{"idle 10k: goroutines/conn", "idle", count(10000), "goroutines_per_conn", 0, nil},
	{"idle 100k: server RSS KiB/conn", "idle", count(100000), "rss_per_conn_bytes", 1.0 / 1024, nil},
	{"idle 100k: server RSS KiB/conn after GC", "idle", count(100000), "rss_per_conn_after_gc_bytes", 1.0 / 1024, nil},
	{"echo: msgs/s", "echo", inFlight(1), "msgs_per_s", 0, nil},
	{"echo: p50 µs", "echo", inFlight(1), "p50_us", 0, nil},
	{"echo: p99 µs", "echo", inFlight(1), "p99_us", 0, nil},
	{"echo: server CPU s/100k msgs", "echo", inFlight(1), "server_cpu_s_per_100k_msgs", 0, nil},
	{"echo: msgs per server CPU s", "echo", inFlight(1), "msgs_per_server_cpu_s", 0, nil},
	{"echo: server write(2) calls/msg", "echo", inFlight(1), "server_writes_per_msgs", 0, nil},
	{"echo: server CPU util", "echo", inFlight(1), "server_cpu_util", 0, nil},
	{"echo: load tool CPU util", "echo", inFlight(1), "load_cpu_util", 0, nil},
	{"echo 8 in flight: msgs/s", "echo", inFlight(8), "msgs_per_s", 0, nil},
	{"echo 8 in flight: p99 µs", "echo", inFlight(8), "p99_us", 0, nil},
	{"echo 8 in flight: msgs per server CPU s", "echo", inFlight(8), "msgs_per_server_cpu_s", 0, nil},
	{"echo 8 in flight: server write(2) calls/msg", "echo", inFlight(8), "server_writes_per_msgs", 0, nil},
	{"echo JSON: msgs/s", "echo-json", inFlight(1), "msgs_per_s", 0, nil},
	{"echo JSON: server CPU s/100k msgs", "echo-json", inFlight(1), "server_cpu_s_per_100k_msgs", 0, nil},
	{"echo JSON: msgs per server CPU s", "echo-json", inFlight(1), "msgs_per_server_cpu_s", 0, nil},
	{"echo JSON: load tool CPU util", "echo-json", inFlight(1), "load_cpu_util", 0, nil},
	{label: jsonOverMsgpack, derived: jsonCostRatio},
	{"echo JSON 8 in flight: msgs per server CPU s", "echo-json", inFlight(8), "msgs_per_server_cpu_s", 0, nil},
	{"fanout: deliveries/s", "fanout", nil, "deliveries_per_s", 0, nil},
	{"fanout: p50 ms", "fanout", nil, "p50_ms", 0, nil},
	{"fanout: p99 ms", "fanout", nil, "p99_ms", 0, nil},
	{"fanout: server CPU s/100k deliveries", "fanout", nil, "server_cpu_s_per_100k_deliveries", 0, nil},
	{"fanout: server write(2) calls/delivery", "fanout", nil, "server_writes_per_deliveries", 0, nil},
	{"fanout: server CPU util", "fanout", nil, "server_cpu_util", 0, nil},
	{"fanout: load tool CPU util", "fanout", nil, "load_cpu_util", 0, nil},
	{"paced 50/s: p50 ms", "paced", rate(50), "p50_ms", 0, nil},
	{"paced 50/s: p99 ms", "paced", rate(50), "p99_ms", 0, nil},
	{"paced 50/s: max ms", "paced", rate(50), "max_ms", 0, nil},
	{"paced 50/s: deliveries/s", "paced", rate(50), "deliveries_per_s", 0, nil},
	{"paced 50/s: server CPU util", "paced", rate(50), "server_cpu_util", 0, nil},
	{"paced 100/s: p50 ms", "paced", rate(100), "p50_ms", 0, nil},
	{"paced 100/s: p99 ms", "paced", rate(100), "p99_ms", 0, nil},
	{"paced 100/s: max ms", "paced", rate(100), "max_ms", 0, nil},
	{"paced 100/s: deliveries/s", "paced", rate(100), "deliveries_per_s", 0, nil},
	{"paced 100/s: server CPU util", "paced", rate(100), "server_cpu_util", 0, nil},
	{"paced 200/s: p50 ms", "paced", rate(200), "p50_ms", 0, nil},
	{"paced 200/s: p99 ms", "paced", rate(200), "p99_ms", 0, nil},
	{"paced 200/s: max ms", "paced", rate(200), "max_ms", 0, nil},
	{"paced 200/s: deliveries/s", "paced", rate(200), "deliveries_per_s", 0, nil},
	{"paced 200/s: server CPU util", "paced", rate(200), "server_cpu_util", 0, nil},
	{"paced 200/s: load tool CPU util", "paced", rate(200), "load_cpu_util", 0, nil},
	{"polling: msgs/s", "polling", nil, "msgs_per_s", 0, nil},
	{"polling: p99 µs", "polling", nil, "p99_us", 0, nil},
	{"polling: msgs per server CPU s", "polling", nil, "msgs_per_server_cpu_s", 0, nil},
	{"polling: server CPU util", "polling", nil, "server_cpu_util", 0, nil},
}

// servers are the table's columns.
var servers = []string{"ferry", "node", "raw"}

// results indexes JSON lines; the last line for a server and variant wins.
type results []map[string]any

func (rs results) find(server string, r row) map[string]any {
	for i := len(rs) - 1; i >= 0; i-- {
		rec := rs[i]
		if rec["server"] == server && rec["scenario"] == r.scenario && (r.variant == nil || r.variant(rec)) {
			return rec
		}
	}
	return nil
}

// jsonOverMsgpack labels the row of each server's JSON parser cost
// relative to its msgpack parser's.
const jsonOverMsgpack = "echo: server CPU per msg, JSON/msgpack"

// jsonCostRatio is the server CPU per message of echo (window 1) with the
// JSON parser over the same with msgpack.
func jsonCostRatio(rs results, server string) (float64, bool) {
	cpu := func(scenario string) (float64, bool) {
		return rs.value(server, row{scenario: scenario, variant: inFlight(1), metric: "server_cpu_s_per_100k_msgs"})
	}
	j, ok1 := cpu("echo-json")
	m, ok2 := cpu("echo")
	if !ok1 || !ok2 || m == 0 {
		return 0, false
	}
	return j / m, true
}

// value returns the row's metric for server, and whether there is one.
func (rs results) value(server string, r row) (float64, bool) {
	if r.derived != nil {
		return r.derived(rs, server)
	}
	rec := rs.find(server, r)
	if rec == nil {
		return 0, false
	}
	v, ok := rec[r.metric].(float64)
	if !ok {
		return 0, false
	}
	if r.scale != 0 {
		v *= r.scale
	}
	return v, true
}

// Table reads JSON lines written by Run (for any of the servers named
// ferry, node and raw) and writes the comparison table: each metric per
// server, the Ferry/Node and Ferry/raw ratios, and the targets met or
// missed.
func Table(in io.Reader, w io.Writer) error {
	var rs results
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			return fmt.Errorf("load: bad result line %q: %w", line, err)
		}
		rs = append(rs, rec)
	}
	if err := sc.Err(); err != nil {
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "metric\tferry\tnode\traw\tferry/node\tferry/raw\t")
	for _, r := range tableRows {
		var cells []string
		vals := map[string]float64{}
		for _, s := range servers {
			v, ok := rs.value(s, r)
			switch {
			case ok:
				vals[s] = v
				cells = append(cells, number(v))
			case rs.find(s, r)["error"] != nil:
				cells = append(cells, "error")
			default:
				cells = append(cells, "-")
			}
		}
		cells = append(cells, ratio(vals, "ferry", "node"), ratio(vals, "ferry", "raw"))
		fmt.Fprintf(tw, "%s\t%s\t\n", r.label, strings.Join(cells, "\t"))
	}
	// Other processes' CPU use during the measurements, which skews them.
	var cells []string
	for _, s := range servers {
		worst, ok := 0.0, false
		for _, rec := range rs {
			if v, isNum := rec["other_cpu_util"].(float64); isNum && rec["server"] == s {
				worst, ok = max(worst, v), true
			}
		}
		if ok {
			cells = append(cells, number(worst))
		} else {
			cells = append(cells, "-")
		}
	}
	fmt.Fprintf(tw, "other processes' CPU util, max\t%s\t-\t-\t\n", strings.Join(cells, "\t"))
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(w)
	for _, t := range targets(rs) {
		fmt.Fprintln(w, t)
	}
	for _, rec := range rs {
		if e, ok := rec["error"].(string); ok {
			fmt.Fprintf(w, "error: %v %v: %s\n", rec["server"], rec["scenario"], e)
		}
	}
	return nil
}

func ratio(vals map[string]float64, a, b string) string {
	va, okA := vals[a]
	vb, okB := vals[b]
	if !okA || !okB || vb == 0 {
		return "-"
	}
	return fmt.Sprintf("%.2f×", va/vb)
}

// number formats a measurement with about four significant digits.
func number(v float64) string {
	switch a := math.Abs(v); {
	case a >= 1000:
		return fmt.Sprintf("%.0f", v)
	case a >= 100:
		return fmt.Sprintf("%.1f", v)
	case a >= 10:
		return fmt.Sprintf("%.2f", v)
	default:
		return fmt.Sprintf("%.3g", v)
	}
}

// targets checks the performance targets of bench/README.md.
func targets(rs results) []string {
	get := func(server, label string) (float64, bool) {
		for _, r := range tableRows {
			if r.label == label {
				return rs.value(server, r)
			}
		}
		panic("load: no table row " + label)
	}
	var out []string
	check := func(name string, ok, known bool, detail string) {
		verdict := "MET   "
		switch {
		case !known:
			verdict, detail = "n/a   ", "not measured"
		case !ok:
			verdict = "MISSED"
		}
		out = append(out, fmt.Sprintf("target %s %s: %s", verdict, name, detail))
	}

	fe, ok1 := get("ferry", "echo: msgs per server CPU s")
	ne, ok2 := get("node", "echo: msgs per server CPU s")
	check("echo msgs per server CPU s ≥ 3× Node", fe >= 3*ne, ok1 && ok2,
		fmt.Sprintf("%.2f× (ferry %s, node %s)", fe/ne, number(fe), number(ne)))
	re, ok3 := get("raw", "echo: msgs per server CPU s")
	check("echo msgs per server CPU s within 1.5× of raw", fe*1.5 >= re, ok1 && ok3,
		fmt.Sprintf("raw/ferry %.2f× (ferry %s, raw %s)", re/fe, number(fe), number(re)))

	fd, ok1 := get("ferry", "fanout: deliveries/s")
	nd, ok2 := get("node", "fanout: deliveries/s")
	fp, ok3 := get("ferry", "fanout: p99 ms")
	np, ok4 := get("node", "fanout: p99 ms")
	fanoutN := fanoutClients(rs)
	check(fmt.Sprintf("fanout to %s sockets deliveries/s ≥ 4× Node", fanoutN), fd >= 4*nd, ok1 && ok2,
		fmt.Sprintf("%.2f× (ferry %s, node %s)", fd/nd, number(fd), number(nd)))
	check("fanout p99 lower than Node", fp < np, ok3 && ok4,
		fmt.Sprintf("ferry %s ms, node %s ms", number(fp), number(np)))

	fj, ok1 := get("ferry", jsonOverMsgpack)
	nj, ok2 := get("node", jsonOverMsgpack)
	nodeJSON := "node not measured"
	if ok2 {
		nodeJSON = fmt.Sprintf("node %.2f×", nj)
	}
	check("echo JSON server CPU per msg within 1.15× of msgpack", fj <= 1.15, ok1,
		fmt.Sprintf("ferry %.2f× (%s)", fj, nodeJSON))

	for _, rate := range []string{"50", "100", "200"} {
		fp, ok1 := get("ferry", "paced "+rate+"/s: p99 ms")
		rp, ok2 := get("raw", "paced "+rate+"/s: p99 ms")
		check("paced fanout "+rate+"/s p99 within 1.2× of raw", fp <= 1.2*rp, ok1 && ok2,
			fmt.Sprintf("%.2f× (ferry %s ms, raw %s ms)", fp/rp, number(fp), number(rp)))
	}

	fc, ok := get("ferry", "connect polling: server CPU µs/conn")
	check("polling connect ≤ 150 µs server CPU/conn", fc <= 150, ok,
		fmt.Sprintf("%s µs", number(fc)))

	for _, n := range []string{"10k", "100k"} {
		fi, ok := get("ferry", "idle "+n+": server RSS KiB/conn")
		check("idle WebSocket ≤ 8 KiB server RSS/conn at "+n, fi <= 8, ok,
			fmt.Sprintf("%s KiB (%.2f× the budget)", number(fi), fi/8))
	}

	fpl, ok1 := get("ferry", "polling: msgs/s")
	npl, ok2 := get("node", "polling: msgs/s")
	check("polling echo msgs/s ≥ 2× Node", fpl >= 2*npl, ok1 && ok2,
		fmt.Sprintf("%.2f× (ferry %s, node %s)", fpl/npl, number(fpl), number(npl)))
	return out
}

// fanoutClients returns the fanout scenario's client count, as text.
func fanoutClients(rs results) string {
	rec := rs.find("ferry", row{scenario: "fanout"})
	if n, ok := rec["clients"].(float64); ok {
		return fmt.Sprintf("%.0f", n)
	}
	return "?"
}
