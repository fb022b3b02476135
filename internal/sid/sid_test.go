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

func TestRouted(t *testing.T) {
	shape := regexp.MustCompile(`^Ab-_[A-Za-z0-9_-]{16}$`)
	seen := make(map[string]bool)
	for range 1000 {
		id := Routed("Ab-_")
		require.Regexp(t, shape, id)
		require.Equal(t, "Ab-_", Node(id))
		require.False(t, seen[id], "repeated id %s", id)
		seen[id] = true
	}
}

func TestNode(t *testing.T) {
	require.Equal(t, "", Node("short"))
	require.Equal(t, "", Node("Ab.+AAAAAAAAAAAAAAAA"), "a prefix outside the alphabet")
	require.Equal(t, "", Node("AbcdAAAAAAAAAAAAAAAAA"), "21 characters")
	require.Equal(t, "Abcd", Node("AbcdAAAAAAAAAAAAAAAA"))
	require.True(t, ValidNode("zZ09"))
	require.False(t, ValidNode("zZ0"))
	require.False(t, ValidNode("zZ0="))
}
