package connhold

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"
)

// fake is a connection that counts how often it is closed.
type fake struct{ closed atomic.Int32 }

func (f *fake) Close() error {
	f.closed.Add(1)
	return nil
}

func TestHoldUntilInputEnds(t *testing.T) {
	const n = 100
	var opened []*fake
	var dials atomic.Int32
	made := make(chan *fake, n)
	dial := func() (io.Closer, error) {
		dials.Add(1)
		f := &fake{}
		made <- f
		return f, nil
	}
	inR, inW := io.Pipe()
	outR, outW := io.Pipe()
	done := make(chan error, 1)
	go func() { done <- Hold(n, dial, inR, outW) }()

	line, err := bufio.NewReader(outR).ReadString('\n')
	require.NoError(t, err)
	require.Equal(t, "ready\n", line)
	require.EqualValues(t, n, dials.Load())
	close(made)
	for f := range made {
		opened = append(opened, f)
		require.Zero(t, f.closed.Load(), "closed while held")
	}

	require.NoError(t, inW.Close())
	require.NoError(t, <-done)
	for _, f := range opened {
		require.EqualValues(t, 1, f.closed.Load())
	}
}

func TestHoldDialError(t *testing.T) {
	boom := errors.New("boom")
	var count atomic.Int32
	made := make(chan *fake, 10)
	dial := func() (io.Closer, error) {
		if count.Add(1) == 5 {
			return nil, boom
		}
		f := &fake{}
		made <- f
		return f, nil
	}
	var out bytes.Buffer
	err := Hold(10, dial, eofReader{}, &out)
	require.ErrorIs(t, err, boom)
	require.Empty(t, out.String(), "ready without all connections")
	close(made)
	n := 0
	for f := range made {
		n++
		require.EqualValues(t, 1, f.closed.Load(), "an opened connection was left open")
	}
	require.Equal(t, 9, n)
}

// eofReader is an input that has already ended.
type eofReader struct{}

func (eofReader) Read([]byte) (int, error) { return 0, io.EOF }
