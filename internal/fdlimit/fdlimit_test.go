//go:build unix

package fdlimit

import (
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestRaise(t *testing.T) {
	var lim syscall.Rlimit
	require.NoError(t, syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim))

	// Within the soft limit: nothing to do.
	require.NoError(t, Raise(int(min(lim.Cur, 1<<20))))

	// Beyond the hard limit: a clear error.
	if lim.Max < 1<<40 {
		err := Raise(int(lim.Max) + 1)
		require.ErrorContains(t, err, "hard limit")
	}

	// Up to the hard limit: the soft limit is raised.
	require.NoError(t, Raise(int(min(lim.Max, 1<<20))))
	var after syscall.Rlimit
	require.NoError(t, syscall.Getrlimit(syscall.RLIMIT_NOFILE, &after))
	require.GreaterOrEqual(t, after.Cur, min(lim.Max, 1<<20))
}
