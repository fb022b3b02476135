package nodetest

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
	"time"
)

// Dir returns the absolute path of the node/ folder holding the scripts and
// their node_modules.
func Dir() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "node")
}

// Require fails t unless node and the installed npm packages are present.
// The message says how to install them.
func Require(t testing.TB) {
	t.Helper()
	if _, err := exec.LookPath("node"); err != nil {
		t.Fatalf("node is not installed: run `make deps` (%v)", err)
	}
	if _, err := os.Stat(filepath.Join(Dir(), "node_modules", "socket.io-client")); err != nil {
		t.Fatalf("npm packages for interop tests are missing: run `make deps` (%v)", err)
	}
}

// Run runs the script node/<script> with args and the extra environment
// variables env ("KEY=value"), and fails t with the script's output if it
// exits non-zero or outlives timeout. It returns the script's stdout.
func Run(t testing.TB, timeout time.Duration, script string, args []string, env ...string) string {
	t.Helper()
	Require(t)
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", append([]string{filepath.Join(Dir(), script)}, args...)...)
	cmd.Dir = Dir()
	cmd.Env = append(os.Environ(), env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("node %s did not finish within %v\nstdout:\n%s\nstderr:\n%s", script, timeout, stdout.String(), stderr.String())
	}
	if err != nil {
		t.Fatalf("node %s failed: %v\nstdout:\n%s\nstderr:\n%s", script, err, stdout.String(), stderr.String())
	}
	return stdout.String()
}
