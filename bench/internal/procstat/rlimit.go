package procstat

import "syscall"

// wantFiles is the open-file limit the benchmark asks for: room for the
// 100,000 client sockets of the largest idle variant in the load tool, and
// as many server sockets in the server, with margin.
const wantFiles = 1 << 18

// RaiseFileLimit raises the process's RLIMIT_NOFILE: the hard limit to
// 262,144 where permitted (root), and the soft limit to the hard one. Child
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

// FileLimit returns the process's soft limit on open files.
func FileLimit() (uint64, error) {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return 0, err
	}
	return lim.Cur, nil
}
