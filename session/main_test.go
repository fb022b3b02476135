package session

import (
	"os"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	// The idle-session benchmark re-runs this binary as its client process
	// (see bench_test.go); in that role it must not run the tests.
	if os.Getenv(benchClientEnv) != "" {
		os.Exit(runBenchClient())
	}
	goleak.VerifyTestMain(m)
}
