package serve

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestProfileOnSignal profiles from SIGUSR1 to SIGUSR2, and leaves the
// profile in the file; before SIGUSR1 the file is empty.
func TestProfileOnSignal(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cpu.pprof")
	f, err := os.Create(path)
	require.NoError(t, err)
	toggled := make(chan bool, 2)
	stop := profileOnSignal(f, func(on bool) { toggled <- on })
	wait := func() bool {
		select {
		case on := <-toggled:
			return on
		case <-time.After(5 * time.Second):
			t.Fatal("no signal handled within 5s")
			return false
		}
	}

	require.NoError(t, syscall.Kill(syscall.Getpid(), syscall.SIGUSR1))
	assert.True(t, wait(), "SIGUSR1 starts the profile")
	info, err := os.Stat(path)
	require.NoError(t, err)
	assert.Zero(t, info.Size(), "the profile is written when it stops")
	require.NoError(t, syscall.Kill(syscall.Getpid(), syscall.SIGUSR2))
	assert.False(t, wait(), "SIGUSR2 stops the profile")
	stop()
	info, err = os.Stat(path)
	require.NoError(t, err)
	assert.Positive(t, info.Size(), "no profile written")
}
