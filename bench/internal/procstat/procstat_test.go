package procstat

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestRSSGrowsWithTouchedMemory(t *testing.T) {
	before, err := RSS(os.Getpid())
	require.NoError(t, err)
	require.Positive(t, before)
	b := make([]byte, 64<<20)
	for i := range b {
		b[i] = byte(i)
	}
	after, err := RSS(os.Getpid())
	require.NoError(t, err)
	assert.Greater(t, after-before, int64(32<<20), "touching 64 MiB shows in VmRSS")
	assert.Equal(t, byte(255), b[len(b)-1])
}

func TestCPUCountsWork(t *testing.T) {
	before, err := CPU(os.Getpid())
	require.NoError(t, err)
	busyBefore, totalBefore, err := Busy()
	require.NoError(t, err)
	x := uint64(1)
	// Spin until both this process's CPU time and the machine's busy time
	// have advanced by at least one 10ms tick.
	require.Eventually(t, func() bool {
		for range 1_000_000 {
			x = x*6364136223846793005 + 1442695040888963407
		}
		now, err1 := CPU(os.Getpid())
		busy, _, err2 := Busy()
		return err1 == nil && err2 == nil && now > before && busy > busyBefore
	}, 10*time.Second, time.Millisecond)
	busyAfter, totalAfter, err := Busy()
	require.NoError(t, err)
	assert.GreaterOrEqual(t, totalAfter-totalBefore, busyAfter-busyBefore)
	assert.NotZero(t, x)
}

func TestSyscallsCountWrites(t *testing.T) {
	f, err := os.CreateTemp(t.TempDir(), "w")
	require.NoError(t, err)
	defer f.Close()
	_, w0, err := Syscalls(os.Getpid())
	require.NoError(t, err)
	for range 10 {
		_, err := f.Write([]byte("x"))
		require.NoError(t, err)
	}
	_, w1, err := Syscalls(os.Getpid())
	require.NoError(t, err)
	assert.GreaterOrEqual(t, w1-w0, int64(10))
}

func TestUnknownProcess(t *testing.T) {
	_, err := RSS(-1)
	require.Error(t, err)
	_, err = CPU(-1)
	require.Error(t, err)
}

func TestHandler(t *testing.T) {
	srv := httptest.NewServer(Handler())
	defer srv.Close()
	resp, err := http.Get(srv.URL)
	require.NoError(t, err)
	defer resp.Body.Close()
	assert.Equal(t, "application/json", resp.Header.Get("Content-Type"))
	var s Stats
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&s))
	assert.Positive(t, s.Goroutines)
	assert.Positive(t, s.RSS)
	assert.Positive(t, s.HeapInuse)
}

func TestHandlerCollectsGarbage(t *testing.T) {
	srv := httptest.NewServer(Handler())
	defer srv.Close()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	resp, err := http.Get(srv.URL + "?gc=1")
	require.NoError(t, err)
	resp.Body.Close()
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	assert.Greater(t, after.NumForcedGC, before.NumForcedGC)
}

func TestRaiseFileLimit(t *testing.T) {
	n, err := RaiseFileLimit()
	require.NoError(t, err)
	assert.GreaterOrEqual(t, n, uint64(1024))
}
