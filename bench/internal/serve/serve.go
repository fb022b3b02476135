package serve

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"

	"github.com/ferryio/ferry/bench/internal/procstat"
)

// Run raises the open-file limit, listens on addr (such as "127.0.0.1:0"),
// writes the chosen port and a newline to stdout, and serves h until the
// process receives SIGTERM or SIGINT. It then closes the listener and
// returns nil; open connections are left to the process's exit.
func Run(addr string, h http.Handler, stdout io.Writer) error {
	if _, err := procstat.RaiseFileLimit(); err != nil {
		return fmt.Errorf("raising the open-file limit: %w", err)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	// Catch the signals before telling anyone the port, so that a stop
	// requested as soon as the port is known is not missed.
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	fmt.Fprintln(stdout, ln.Addr().(*net.TCPAddr).Port)
	srv := &http.Server{Handler: h}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case <-ctx.Done():
		srv.Close()
		<-errc
		return nil
	case err := <-errc:
		return err
	}
}
