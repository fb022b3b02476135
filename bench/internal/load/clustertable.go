package load

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// clusterRows are the cluster table's lines: label and metric.
var clusterRows = [][2]string{
	{"deliveries/s", "deliveries_per_s"},
	{"p50 ms", "p50_ms"},
	{"p99 ms", "p99_ms"},
	{"p99 ms, clients of a (local)", "p99_ms_a"},
	{"p99 ms, clients of b (through Redis)", "p99_ms_b"},
	{"deliveries per server CPU s (a + b)", "deliveries_per_server_cpu_s"},
	{"server CPU µs per delivery (a + b)", "server_cpu_us_per_delivery"},
	{"server a CPU µs per own delivery", "server_a_cpu_us_per_delivery"},
	{"server b CPU µs per own delivery", "server_b_cpu_us_per_delivery"},
	{"server a write(2) calls per own delivery", "server_a_writes_per_delivery"},
	{"server b write(2) calls per own delivery", "server_b_writes_per_delivery"},
	{"server a CPU s", "server_a_cpu_s"},
	{"server b CPU s", "server_b_cpu_s"},
	{"redis CPU s", "redis_cpu_s"},
	{"servers' CPU util (a + b)", "server_cpu_util"},
	{"load tool CPU util", "load_cpu_util"},
	{"other processes' CPU util", "other_cpu_util"},
}

// ClusterTable reads JSON lines written by RunCluster (for servers named
// ferry and node) and writes the comparison table with the Ferry/Node
// ratio, and the target: deliveries per server CPU second at least 3×
// Node's.
func ClusterTable(in io.Reader, w io.Writer) error {
	recs := map[string]map[string]any{} // by server; the last line wins
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
		if rec["scenario"] != ClusterScenario {
			continue
		}
		if s, ok := rec["server"].(string); ok {
			recs[s] = rec
		}
	}
	if err := sc.Err(); err != nil {
		return err
	}
	value := func(server, metric string) (float64, bool) {
		v, ok := recs[server][metric].(float64)
		return v, ok
	}
	title := "cluster fanout"
	if rec := recs["ferry"]; rec != nil {
		title = fmt.Sprintf("cluster fanout: %v clients on two servers, %v messages", rec["clients"], rec["messages"])
	}
	fmt.Fprintln(w, title)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "metric\tferry\tnode\tferry/node\t")
	for _, row := range clusterRows {
		cells := []string{row[0]}
		vals := map[string]float64{}
		for _, s := range []string{"ferry", "node"} {
			v, ok := value(s, row[1])
			switch {
			case ok:
				vals[s] = v
				cells = append(cells, number(v))
			case recs[s]["error"] != nil:
				cells = append(cells, "error")
			default:
				cells = append(cells, "-")
			}
		}
		cells = append(cells, ratio(vals, "ferry", "node"))
		fmt.Fprintf(tw, "%s\t\n", strings.Join(cells, "\t"))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(w)
	fe, ok1 := value("ferry", "deliveries_per_server_cpu_s")
	ne, ok2 := value("node", "deliveries_per_server_cpu_s")
	verdict, detail := "n/a   ", "not measured"
	if ok1 && ok2 && ne > 0 {
		verdict = "MET   "
		if fe < 3*ne {
			verdict = "MISSED"
		}
		detail = fmt.Sprintf("%.2f× (ferry %s, node %s)", fe/ne, number(fe), number(ne))
	}
	fmt.Fprintf(w, "target %s cluster fanout deliveries per server CPU s ≥ 3× Node: %s\n", verdict, detail)
	for _, s := range []string{"ferry", "node"} {
		if e, ok := recs[s]["error"].(string); ok {
			fmt.Fprintf(w, "error: %s %s: %s\n", s, ClusterScenario, e)
		}
	}
	return nil
}
