package sid

import (
	"regexp"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestNew(t *testing.T) {
	shape := regexp.MustCompile(`^[A-Za-z0-9_-]{20}$`)
	seen := make(map[string]bool)
	for range 1000 {
		id := New()
		require.Regexp(t, shape, id)
		require.False(t, seen[id], "repeated id %s", id)
		seen[id] = true
	}
}
