package procstat

import "syscall"

// wantFiles is the open-file limit the benchmark asks for: room for 10,000
// client sockets and as many server sockets with margin.
const wantFiles = 1 << 16

// RaiseFileLimit raises the process's RLIMIT_NOFILE: the hard limit to
// 65536 where permitted (root), and the soft limit to the hard one. Child
// processes inherit the result. It returns the soft limit now in force.
func RaiseFileLimit() (uint64, error) {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return 0, err
	}
	if lim.Max < wantFiles {
		raised := syscall.Rlimit{Cur: wantFiles, Max: wantFiles}
		if syscall.Setrlimit(syscall.RLIMIT_NOFILE, &raised) == nil {
			return wantFiles, nil
		}
	}
	lim.Cur = lim.Max
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return 0, err
	}
	return lim.Cur, nil
}
