package lifecycle

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestEndWithoutUsersReportsAtOnce(t *testing.T) {
	var tr Tracker
	cause := errors.New("cause")
	first, report := tr.EndLocked(cause)
	require.True(t, first)
	require.True(t, report)
	reason, ok := tr.EndedLocked()
	require.True(t, ok)
	require.Equal(t, cause, reason)

	first, report = tr.EndLocked(errors.New("later"))
	require.False(t, first, "a transport ends once")
	require.False(t, report)
	reason, _ = tr.EndedLocked()
	require.Equal(t, cause, reason, "the first reason stays")
	require.False(t, tr.EnterLocked(), "no user enters after the end")
}

func TestLastUserOutReports(t *testing.T) {
	var tr Tracker
	_, ok := tr.EndedLocked()
	require.False(t, ok)
	require.True(t, tr.EnterLocked())
	require.True(t, tr.EnterLocked())

	report, _ := tr.LeaveLocked()
	require.False(t, report, "not ended yet")
	require.True(t, tr.EnterLocked())

	first, report := tr.EndLocked(nil)
	require.True(t, first)
	require.False(t, report, "users are still inside")
	report, _ = tr.LeaveLocked()
	require.False(t, report, "one user is still inside")
	report, reason := tr.LeaveLocked()
	require.True(t, report, "the last user out reports")
	require.NoError(t, reason)
}
