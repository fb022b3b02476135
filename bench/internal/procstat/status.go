package procstat

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
)

// RSS returns the resident set size of process pid in bytes, read from the
// VmRSS line of /proc/<pid>/status.
func RSS(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for line := range bytes.Lines(b) {
		rest, ok := bytes.CutPrefix(line, []byte("VmRSS:"))
		if !ok {
			continue
		}
		f := bytes.Fields(rest) // "12345", "kB"
		if len(f) != 2 || string(f[1]) != "kB" {
			return 0, fmt.Errorf("procstat: unexpected VmRSS line %q", line)
		}
		kb, err := strconv.ParseInt(string(f[0]), 10, 64)
		if err != nil {
			return 0, fmt.Errorf("procstat: VmRSS: %w", err)
		}
		return kb * 1024, nil
	}
	return 0, fmt.Errorf("procstat: no VmRSS in /proc/%d/status", pid)
}
