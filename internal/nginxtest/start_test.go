package nginxtest

import (
	"errors"
	"net"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestStartReportsPortInUse checks the error StartProxy retries on: nginx
// given a port that another listener holds exits, and start says so.
func TestStartReportsPortInUse(t *testing.T) {
	bin := Binary(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	port := l.Addr().(*net.TCPAddr).Port
	runAs, err := userDirective()
	require.NoError(t, err)

	dir := t.TempDir()
	p, err := start(bin, dir, config(dir, port, "127.0.0.1:1", runAs, true))
	if p != nil {
		p.stop()
	}
	require.Error(t, err)
	assert.True(t, errors.Is(err, errAddrInUse), "error: %v", err)
}

// TestStartReportsBadConfig checks that a configuration nginx refuses fails
// with its error log, and is not mistaken for a port in use.
func TestStartReportsBadConfig(t *testing.T) {
	bin := Binary(t)
	dir := t.TempDir()
	p, err := start(bin, dir, "no_such_directive on;\n")
	if p != nil {
		p.stop()
	}
	require.Error(t, err)
	assert.False(t, errors.Is(err, errAddrInUse))
	assert.Contains(t, err.Error(), "no_such_directive")
}
