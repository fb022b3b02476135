package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"sync"
	"syscall"
	"time"
)

// child is a process the cluster started: redis-server, a chat server or
// nginx. It runs in a process group of its own, so that the Ctrl-C typed in
// the terminal reaches the supervisor alone, which then stops the children
// in order.
type child struct {
	name   string
	cmd    *exec.Cmd
	exited chan struct{} // closed once the process has exited and its output is copied
	err    error         // how it exited; set before exited is closed
}

// startChild starts cmd. Its output, line by line and prefixed with its
// name, goes to logs, unless the caller set cmd.Stdout or cmd.Stderr.
func startChild(name string, cmd *exec.Cmd, logs *logMux) (*child, error) {
	if cmd.Stdout == nil {
		cmd.Stdout = logs.writer(name)
	}
	if cmd.Stderr == nil {
		cmd.Stderr = logs.writer(name)
	}
	detach(cmd)
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s: %w", name, err)
	}
	c := &child{name: name, cmd: cmd, exited: make(chan struct{})}
	go func() {
		c.err = cmd.Wait()
		for _, w := range []io.Writer{cmd.Stdout, cmd.Stderr} {
			if f, ok := w.(flusher); ok {
				f.flush()
			}
		}
		close(c.exited)
	}()
	return c, nil
}

// pid returns the child's process id.
func (c *child) pid() int { return c.cmd.Process.Pid }

// done reports whether the child has exited.
func (c *child) done() bool {
	select {
	case <-c.exited:
		return true
	default:
		return false
	}
}

// errStopTimeout reports a child that did not exit in time after being
// asked to, and was killed.
var errStopTimeout = errors.New("did not stop in time and was killed")

// stop sends sig to the child and waits up to timeout for it to exit; then
// it kills the child's process group. It returns nil if the child exited
// with status 0 (or had already exited so), and otherwise says how it
// ended.
func (c *child) stop(sig syscall.Signal, timeout time.Duration) error {
	if !c.done() {
		_ = c.cmd.Process.Signal(sig)
	}
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	select {
	case <-c.exited:
		if c.err != nil {
			return fmt.Errorf("%s: %w", c.name, c.err)
		}
		return nil
	case <-timer.C:
		killGroup(c.cmd)
		<-c.exited
		return fmt.Errorf("%s: %w", c.name, errStopTimeout)
	}
}

// kill kills the child's process group at once and waits for it.
func (c *child) kill() {
	if !c.done() {
		killGroup(c.cmd)
	}
	<-c.exited
}

// logMux writes the children's output lines to one writer, each line
// whole and prefixed with its child's name.
type logMux struct {
	mu  sync.Mutex
	out io.Writer // guarded by mu
}

// writer returns a writer whose complete lines go to the mux prefixed with
// "[name] ".
func (m *logMux) writer(name string) *prefixWriter {
	return &prefixWriter{mux: m, prefix: []byte("[" + name + "] ")}
}

// prefixWriter is one child's output stream, passed on line by line.
type prefixWriter struct {
	mux    *logMux
	prefix []byte
	mu     sync.Mutex
	buf    []byte // guarded by mu: an incomplete last line
}

// Write passes on every complete line of p and keeps the rest.
func (w *prefixWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf = append(w.buf, p...)
	for {
		i := bytes.IndexByte(w.buf, '\n')
		if i < 0 {
			break
		}
		w.emitLocked(w.buf[:i+1])
		w.buf = w.buf[i+1:]
	}
	// Keep the unfinished line in a buffer of its own, so that buf does
	// not pin a large array.
	w.buf = append([]byte(nil), w.buf...)
	return len(p), nil
}

// flush passes on an unfinished last line.
func (w *prefixWriter) flush() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.buf) > 0 {
		w.emitLocked(append(w.buf, '\n'))
		w.buf = nil
	}
}

func (w *prefixWriter) emitLocked(line []byte) {
	w.mux.mu.Lock()
	defer w.mux.mu.Unlock()
	_, _ = w.mux.out.Write(append(append([]byte(nil), w.prefix...), line...))
}

// firstLineWriter is a chat server's stdout: it hands its first line (the
// server's address) to line, and passes everything after it on to next.
type firstLineWriter struct {
	next io.Writer
	line chan string // receives the first line, then is not used again
	mu   sync.Mutex
	buf  []byte // guarded by mu: the first line so far
	done bool   // guarded by mu
}

func newFirstLineWriter(next io.Writer) *firstLineWriter {
	return &firstLineWriter{next: next, line: make(chan string, 1)}
}

// Write collects the first line, then forwards the rest.
func (w *firstLineWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.done {
		return w.next.Write(p)
	}
	w.buf = append(w.buf, p...)
	i := bytes.IndexByte(w.buf, '\n')
	if i < 0 {
		return len(p), nil
	}
	w.done = true
	w.line <- string(bytes.TrimSpace(w.buf[:i]))
	if rest := w.buf[i+1:]; len(rest) > 0 {
		if _, err := w.next.Write(rest); err != nil {
			return 0, err
		}
	}
	w.buf = nil
	return len(p), nil
}

// flush passes on what the next writer holds of an unfinished line.
func (w *firstLineWriter) flush() {
	if f, ok := w.next.(flusher); ok {
		f.flush()
	}
}

// flusher is an output writer that may hold an unfinished last line.
type flusher interface{ flush() }

// multiWriter writes to each of its writers, and flushes those that hold
// unfinished lines.
type multiWriter []io.Writer

// Write writes p to every writer.
func (m multiWriter) Write(p []byte) (int, error) {
	for _, w := range m {
		if _, err := w.Write(p); err != nil {
			return 0, err
		}
	}
	return len(p), nil
}

func (m multiWriter) flush() {
	for _, w := range m {
		if f, ok := w.(flusher); ok {
			f.flush()
		}
	}
}

// tailMax is how much of a child's output a tailBuffer keeps.
const tailMax = 8 << 10

// tailBuffer keeps the last tailMax bytes written to it, to explain a
// child that failed to start.
type tailBuffer struct {
	mu  sync.Mutex
	buf []byte // guarded by mu
}

// Write appends p, dropping the oldest bytes beyond tailMax.
func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if over := len(t.buf) - tailMax; over > 0 {
		t.buf = append([]byte(nil), t.buf[over:]...)
	}
	return len(p), nil
}

// String returns what the buffer holds.
func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.buf)
}
