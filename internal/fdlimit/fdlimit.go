//go:build unix

// Package fdlimit raises the process's limit on open files, for the
// benchmarks that hold thousands of connections in one process. It imports
// no Ferry package.
package fdlimit

import (
	"fmt"
	"syscall"
)

// Raise makes sure the soft limit on open files is at least n: a lower soft
// limit is raised to the hard limit. It fails when the hard limit is below n.
func Raise(n int) error {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return err
	}
	if lim.Cur >= uint64(n) {
		return nil
	}
	if lim.Max < uint64(n) {
		return fmt.Errorf("need %d open files, hard limit is %d", n, lim.Max)
	}
	lim.Cur = lim.Max
	return syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim)
}
