package procstat

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"time"
)

// clockTicks is USER_HZ, the unit of the CPU times in /proc/<pid>/stat. It
// is 100 on every Linux architecture Go supports.
const clockTicks = 100

// CPU returns the CPU time process pid has used so far, user plus system,
// over all its threads (fields 14 and 15 of /proc/<pid>/stat). Its
// resolution is 10ms.
func CPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The command name (field 2) is in parentheses and may hold spaces:
	// the fields after it start after the last ')'.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, fmt.Errorf("procstat: malformed /proc/%d/stat", pid)
	}
	f := bytes.Fields(b[i+1:]) // f[0] is field 3 (state)
	if len(f) < 13 {
		return 0, fmt.Errorf("procstat: short /proc/%d/stat", pid)
	}
	var ticks int64
	for _, s := range f[11:13] { // fields 14 (utime) and 15 (stime)
		n, err := strconv.ParseInt(string(s), 10, 64)
		if err != nil {
			return 0, fmt.Errorf("procstat: /proc/%d/stat: %w", pid, err)
		}
		ticks += n
	}
	return time.Duration(ticks) * time.Second / clockTicks, nil
}

// Busy returns the CPU time all processors have spent busy since boot (the
// aggregate "cpu" line of /proc/stat: user, nice, system, irq, softirq and
// steal), and the total including idle and iowait, to tell how much of a
// measurement's CPU went to other processes.
func Busy() (busy, total time.Duration, err error) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, 0, err
	}
	line, _, _ := bytes.Cut(b, []byte("\n"))
	f := bytes.Fields(line)
	if len(f) < 9 || string(f[0]) != "cpu" {
		return 0, 0, fmt.Errorf("procstat: unexpected /proc/stat line %q", line)
	}
	var busyTicks, idleTicks int64
	for i := 1; i <= 8; i++ { // user nice system idle iowait irq softirq steal
		n, err := strconv.ParseInt(string(f[i]), 10, 64)
		if err != nil {
			return 0, 0, fmt.Errorf("procstat: /proc/stat: %w", err)
		}
		if i == 4 || i == 5 {
			idleTicks += n
		} else {
			busyTicks += n
		}
	}
	tick := time.Second / clockTicks
	return time.Duration(busyTicks) * tick, time.Duration(busyTicks+idleTicks) * tick, nil
}

// Syscalls returns how many read-family and write-family system calls
// process pid has made (syscr and syscw in /proc/<pid>/io; on sockets,
// read(2) and write(2), not sendmsg/recvmsg).
func Syscalls(pid int) (reads, writes int64, err error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/io", pid))
	if err != nil {
		return 0, 0, err
	}
	found := 0
	for line := range bytes.Lines(b) {
		k, v, ok := bytes.Cut(bytes.TrimSpace(line), []byte(": "))
		if !ok {
			continue
		}
		var dst *int64
		switch string(k) {
		case "syscr":
			dst = &reads
		case "syscw":
			dst = &writes
		default:
			continue
		}
		if *dst, err = strconv.ParseInt(string(v), 10, 64); err != nil {
			return 0, 0, fmt.Errorf("procstat: /proc/%d/io: %w", pid, err)
		}
		found++
	}
	if found != 2 {
		return 0, 0, fmt.Errorf("procstat: no syscr/syscw in /proc/%d/io", pid)
	}
	return reads, writes, nil
}
