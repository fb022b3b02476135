package load

import (
	"context"
	"net"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSourcesSpreadConnections(t *testing.T) {
	s := newSources(2)
	assert.Nil(t, s.addr(0))
	assert.Nil(t, s.addr(1))
	assert.Equal(t, "127.0.0.2", s.addr(2).IP.String())
	assert.Equal(t, "127.0.0.3", s.addr(5).IP.String())
	assert.Equal(t, "127.0.1.0", newSources(1).addr(255).IP.String())
}

func TestSourcesDialFromEachAddress(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	from := make(chan string, 4)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			host, _, _ := net.SplitHostPort(c.RemoteAddr().String())
			from <- host
			c.Close()
		}
	}()
	s := newSources(1)
	for _, want := range []string{"127.0.0.1", "127.0.0.2", "127.0.0.3"} {
		c, err := s.DialContext(context.Background(), "tcp", ln.Addr().String())
		require.NoError(t, err)
		assert.Equal(t, want, <-from)
		c.Close()
	}
}
