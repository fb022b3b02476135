// Package connhold opens many connections at once and holds them open, for
// the idle-connection benchmarks, which run it in a child process so that
// the clients' memory is not counted with the server's. It imports no Ferry
// package.
package connhold

import (
	"fmt"
	"io"
	"sync"
)

// workers is how many connections are being opened at a time.
const workers = 16

// Hold opens n connections with dial, workers at a time, writes "ready\n"
// to out once all are open, and holds them until in reaches its end; then
// it closes them. If a dial fails it closes those it opened and returns the
// first error, without writing "ready".
func Hold(n int, dial func() (io.Closer, error), in io.Reader, out io.Writer) error {
	conns := make([]io.Closer, n)
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		firstErr error
	)
	next := make(chan int)
	for range workers {
		wg.Go(func() {
			for i := range next {
				c, err := dial()
				if err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
					continue
				}
				conns[i] = c
			}
		})
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
	defer closeAll(conns)
	if firstErr != nil {
		return firstErr
	}
	if _, err := fmt.Fprintln(out, "ready"); err != nil {
		return err
	}
	_, err := io.Copy(io.Discard, in)
	return err
}

func closeAll(conns []io.Closer) {
	for _, c := range conns {
		if c != nil {
			c.Close()
		}
	}
}
