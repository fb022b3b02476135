package ferry_test

import (
	"os"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	// BenchmarkIdleSockets re-runs this binary as its client process (see
	// bench_idle_test.go); in that role it must not run the tests.
	if os.Getenv(idleClientEnv) != "" {
		os.Exit(runIdleClient())
	}
	goleak.VerifyTestMain(m)
}
