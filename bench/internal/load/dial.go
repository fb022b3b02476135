package load

import (
	"context"
	"net"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"
)

// ipBindAddressNoPort is Linux's IP_BIND_ADDRESS_NO_PORT: bind a source
// address but pick the port at connect time, so that ports are shared
// between destinations as for an unbound connect.
const ipBindAddressNoPort = 24

// sources spreads outgoing connections over loopback source addresses: the
// first perAddr use 127.0.0.1 (the kernel's default source), the next
// perAddr 127.0.0.2, and so on, so that more connections than the
// ephemeral port range holds can be open to one server port.
type sources struct {
	perAddr int
	next    atomic.Int64
}

// newSources returns sources giving perAddr connections to each address;
// perAddr <= 0 takes the size of the ephemeral port range less a margin.
func newSources(perAddr int) *sources {
	if perAddr <= 0 {
		perAddr = ephemeralPorts() - 1024
	}
	return &sources{perAddr: max(perAddr, 1)}
}

// ephemeralPorts returns the size of the kernel's ephemeral port range.
func ephemeralPorts() int {
	const fallback = 60999 - 32768 + 1
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err != nil {
		return fallback
	}
	f := strings.Fields(string(b))
	if len(f) != 2 {
		return fallback
	}
	lo, err1 := strconv.Atoi(f[0])
	hi, err2 := strconv.Atoi(f[1])
	if err1 != nil || err2 != nil || hi < lo {
		return fallback
	}
	return hi - lo + 1
}

// addr returns the source address for the i-th connection, or nil for the
// default (127.0.0.1).
func (s *sources) addr(i int64) *net.TCPAddr {
	k := int(i / int64(s.perAddr))
	if k == 0 {
		return nil
	}
	n := k + 1 // 127.0.0.2, 127.0.0.3, ...
	return &net.TCPAddr{IP: net.IPv4(127, byte(n>>16), byte(n>>8), byte(n))}
}

// DialContext opens a TCP connection from the next source address.
func (s *sources) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	d := net.Dialer{Timeout: 10 * time.Second}
	if la := s.addr(s.next.Add(1) - 1); la != nil {
		d.LocalAddr = la
		d.Control = bindNoPort
	}
	return d.DialContext(ctx, network, address)
}

func bindNoPort(network, address string, c syscall.RawConn) error {
	var serr error
	err := c.Control(func(fd uintptr) {
		serr = syscall.SetsockoptInt(int(fd), syscall.IPPROTO_IP, ipBindAddressNoPort, 1)
	})
	if err != nil {
		return err
	}
	return serr
}
