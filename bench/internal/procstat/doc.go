// Package procstat reads what the benchmark measures about a process from
// Linux's /proc: resident memory (VmRSS in /proc/<pid>/status) and CPU time
// (utime+stime in /proc/<pid>/stat, summed over all threads). It also serves
// the tiny /stats endpoint the Go benchmark servers expose: goroutines and
// resident memory as JSON.
//
// In: a process id. Out: bytes and durations.
package procstat
