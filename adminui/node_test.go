package adminui_test

import (
	"bufio"
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// nodeDir returns the folder of the Node scripts and their pinned npm
// packages (internal/node; `make deps` installs them).
func nodeDir() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "internal", "node")
}

// requireNode fails t unless node and the npm packages are installed.
func requireNode(t testing.TB) {
	t.Helper()
	if _, err := exec.LookPath("node"); err != nil {
		t.Fatalf("node is not installed: run `make deps` (%v)", err)
	}
	for _, pkg := range []string{"socket.io-client", "@socket.io/admin-ui", "playwright-core"} {
		if _, err := os.Stat(filepath.Join(nodeDir(), "node_modules", pkg)); err != nil {
			t.Fatalf("npm packages for adminui's tests are missing: run `make deps` (%v)", err)
		}
	}
}

// runNode runs the script with the extra environment env ("KEY=value"),
// and fails t with its output if it fails or outlives timeout. It returns
// its standard output.
func runNode(t testing.TB, timeout time.Duration, script string, env ...string) string {
	t.Helper()
	requireNode(t)
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", filepath.Join(nodeDir(), script))
	cmd.Dir = nodeDir()
	cmd.Env = append(os.Environ(), env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("node %s did not finish within %v\nstdout:\n%s\nstderr:\n%s", script, timeout, stdout.String(), stderr.String())
	}
	if err != nil {
		t.Fatalf("node %s: %v\nstdout:\n%s\nstderr:\n%s", script, err, stdout.String(), stderr.String())
	}
	return stdout.String()
}

// startNodeServer starts a Node server script that prints "listening
// <port>" once ready, and returns its URL. The script ends when t ends, as
// its standard input closes.
func startNodeServer(t testing.TB, script string, env ...string) string {
	t.Helper()
	requireNode(t)
	cmd := exec.Command("node", filepath.Join(nodeDir(), script))
	cmd.Dir = nodeDir()
	cmd.Env = append(os.Environ(), env...)
	stdin, err := cmd.StdinPipe()
	require.NoError(t, err)
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	require.NoError(t, cmd.Start())
	exited := make(chan struct{})
	var waitErr error // set before exited is closed
	port := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if p, ok := strings.CutPrefix(sc.Text(), "listening "); ok {
				port <- p
			}
		}
		waitErr = cmd.Wait()
		close(exited)
	}()
	t.Cleanup(func() {
		stdin.Close()
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-exited
		}
	})
	select {
	case p := <-port:
		return "http://127.0.0.1:" + p
	case <-exited:
		t.Fatalf("node %s exited before listening: %v\n%s", script, waitErr, stderr.String())
	case <-time.After(20 * time.Second):
		cmd.Process.Kill()
		<-exited
		t.Fatalf("node %s did not listen within 20s\n%s", script, stderr.String())
	}
	return ""
}
