package adminui

import (
	"context"
	"net/http"
	"net/url"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ferryio/ferry"
)

func TestDescribeHandshake(t *testing.T) {
	issued := time.Date(2026, 3, 4, 5, 6, 7, 891_000_000, time.FixedZone("CET", 3600))
	hs := &ferry.Handshake{
		Header: http.Header{
			"User-Agent": {"test"},
			"Accept":     {"a", "b"},
			"Origin":     {"https://admin.socket.io"},
		},
		Query:   url.Values{"EIO": {"4"}, "tag": {"x", "y"}},
		Host:    "example.com:3000",
		Address: "10.0.0.1",
		URL:     "/socket.io/?EIO=4&tag=x&tag=y",
		Secure:  true,
		Time:    issued,
	}
	require.Equal(t, handshakeInfo{
		Address: "10.0.0.1",
		Headers: map[string]string{"user-agent": "test", "accept": "a, b", "origin": "https://admin.socket.io", "host": "example.com:3000"},
		Query:   map[string]any{"EIO": "4", "tag": []string{"x", "y"}},
		Issued:  issued.UnixMilli(),
		Secure:  true,
		Time:    "Wed Mar 04 2026 05:06:07 GMT+0100 (CET)",
		URL:     "/socket.io/?EIO=4&tag=x&tag=y",
		XDomain: true,
	}, describeHandshake(hs))

	// Behind a proxy that says whom for, that client's address is shown.
	hs.Header.Set("X-Forwarded-For", "192.0.2.7")
	require.Equal(t, "192.0.2.7", describeHandshake(hs).Address)
	hs.Header.Set("Cf-Connecting-Ip", "192.0.2.8")
	require.Equal(t, "192.0.2.8", describeHandshake(hs).Address)
}

func TestMemoryStore(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		m := NewMemoryStore(time.Hour)
		require.NoError(t, m.SaveSession(ctx, "a"))
		ok, err := m.SessionExists(ctx, "a")
		require.NoError(t, err)
		require.True(t, ok)
		ok, _ = m.SessionExists(ctx, "b")
		require.False(t, ok)

		time.Sleep(59 * time.Minute)
		require.NoError(t, m.SaveSession(ctx, "b"))
		ok, _ = m.SessionExists(ctx, "a")
		require.True(t, ok, "a session lasts its time")
		time.Sleep(time.Minute)
		ok, _ = m.SessionExists(ctx, "a")
		require.False(t, ok, "then it expires")
		ok, _ = m.SessionExists(ctx, "b")
		require.True(t, ok)

		time.Sleep(2 * time.Hour)
		require.NoError(t, m.SaveSession(ctx, "c"))
		m.mu.Lock()
		require.Len(t, m.sessions, 1, "saving forgets the sessions expired")
		m.mu.Unlock()

		require.Equal(t, 24*time.Hour, NewMemoryStore(0).ttl)
	})
}

func TestEventBuffer(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var b eventBuffer
		require.Equal(t, []aggregatedEvent{}, b.take())
		time.Sleep(time.Until(time.Now().Truncate(time.Second).Add(time.Second + 100*time.Millisecond)))
		first := time.Now().Truncate(time.Second).UnixMilli()
		b.add(eventConnection, "", 1)
		b.add(eventDisconnection, "transport close", 1)
		b.add(eventConnection, "", 1)
		time.Sleep(time.Second)
		b.add(eventConnection, "", 1)
		require.Equal(t, []aggregatedEvent{
			{Timestamp: first, Type: eventConnection, Count: 2},
			{Timestamp: first, Type: eventDisconnection, SubType: "transport close", Count: 1},
			{Timestamp: first + 1000, Type: eventConnection, Count: 1},
		}, b.take(), "counted by second, type and subtype")
		require.Equal(t, []aggregatedEvent{}, b.take(), "taken once")
	})
}

func TestPlainData(t *testing.T) {
	require.Equal(t, map[string]any{}, plainData(nil))
	require.Equal(t, map[string]any{"a": []any{1.0, "x"}}, plainData(map[string]any{"a": []any{1, "x"}}))
	require.Equal(t, "text", plainData("text"))
}
