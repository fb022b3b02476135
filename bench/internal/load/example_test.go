package load_test

import (
	"os"
	"strings"

	"github.com/ferryio/ferry/bench/internal/load"
)

// Table turns the JSON lines of runs against several servers into the
// comparison table and the targets' verdicts.
func ExampleTable() {
	lines := strings.Join([]string{
		`{"server":"ferry","scenario":"polling","clients":50,"msgs_per_s":30000}`,
		`{"server":"node","scenario":"polling","clients":50,"msgs_per_s":12000}`,
	}, "\n")
	var out strings.Builder
	if err := load.Table(strings.NewReader(lines), &out); err != nil {
		panic(err)
	}
	for line := range strings.Lines(out.String()) {
		if strings.Contains(line, "polling: msgs/s") || strings.Contains(line, "polling echo") {
			os.Stdout.WriteString(strings.Join(strings.Fields(line), " ") + "\n")
		}
	}
	// Output:
	// polling: msgs/s 30000 12000 - 2.50× -
	// target MET polling echo msgs/s ≥ 2× Node: 2.50× (ferry 30000, node 12000)
}
