// Command tls serves Ferry over TLS on one port: the page and long-polling
// over https:// (HTTP/2 when the browser offers it), then the upgrade to
// wss://, with WebSocket compression (permessage-deflate) on. The page
// echoes a large JSON-like message and shows the transport in use.
//
//	go run ./tls                                  # https://127.0.0.1:3443, self-signed
//	go run ./tls -cert cert.pem -key key.pem      # your certificate
//	go run ./tls -deflate=false                   # without WebSocket compression
//
// Without -cert and -key it makes a self-signed certificate for localhost,
// 127.0.0.1 and ::1 at start, valid for a week, and logs its SHA-256
// fingerprint: browsers warn about it, since nothing vouches for it. It
// stops gracefully on SIGINT or SIGTERM.
package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"embed"
	"encoding/hex"
	"errors"
	"flag"
	"io/fs"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/ferryio/ferry"
)

// web holds the page and its script and style sheet.
//
//go:embed web
var web embed.FS

// shutdownTimeout bounds the graceful shutdown.
const shutdownTimeout = 10 * time.Second

// maxEcho is the largest message the echo takes, in bytes: the server's
// MaxHTTPBufferSize.
const maxEcho = 1 << 20

func main() {
	addr := flag.String("addr", "127.0.0.1:3443", "address to listen on")
	certFile := flag.String("cert", "", "PEM certificate (chain) file; with -key. Default: a self-signed one made at start")
	keyFile := flag.String("key", "", "PEM private key file; with -cert")
	deflate := flag.Bool("deflate", true, "compress WebSocket messages (permessage-deflate)")
	flag.Parse()
	logger := slog.New(slog.NewTextHandler(os.Stderr, nil))

	cert, err := loadOrMake(*certFile, *keyFile)
	if err != nil {
		logger.Error("certificate", "err", err)
		os.Exit(1)
	}
	if *certFile == "" {
		sum := sha256.Sum256(cert.Leaf.Raw)
		logger.Info("using a self-signed certificate", "hosts", cert.Leaf.DNSNames, "ips", cert.Leaf.IPAddresses,
			"sha256", hex.EncodeToString(sum[:]), "expires", cert.Leaf.NotAfter.Format(time.DateOnly))
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		logger.Error("listening", "addr", *addr, "err", err)
		os.Exit(1)
	}
	if err := serve(ctx, ln, cert, *deflate, logger); err != nil {
		logger.Error("tls example stopped", "err", err)
		os.Exit(1)
	}
}

// loadOrMake loads the key pair from certFile and keyFile, or makes a
// self-signed certificate when both are empty.
func loadOrMake(certFile, keyFile string) (tls.Certificate, error) {
	switch {
	case certFile == "" && keyFile == "":
		return selfSigned([]string{"localhost", "127.0.0.1", "::1"}, 7*24*time.Hour)
	case certFile == "" || keyFile == "":
		return tls.Certificate{}, errors.New("-cert and -key go together")
	}
	return tls.LoadX509KeyPair(certFile, keyFile)
}

// selfSigned makes a certificate for hosts (names and IP addresses),
// signed by its own ECDSA P-256 key and valid from now for validity. It
// may serve as its own trust anchor (a CA certificate), so that a client
// can be given it to trust.
func selfSigned(hosts []string, validity time.Duration) (tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 128))
	if err != nil {
		return tls.Certificate{}, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: hosts[0], Organization: []string{"Ferry TLS example"}},
		NotBefore:             now.Add(-time.Minute),
		NotAfter:              now.Add(validity),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, err
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return tls.Certificate{}, err
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, nil
}

// serve runs the example over TLS on ln until ctx is done, then shuts
// down: the Ferry server first (it closes the hijacked WebSocket
// connections, which http.Server.Shutdown does not track), then the HTTPS
// server.
//
// http.Server speaks HTTP/2 over TLS to clients that offer it (ALPN "h2"):
// the page and the long-polling requests then share one connection.
// WebSocket upgrades are HTTP/1.1 requests, on a connection of their own
// (net/http does not announce WebSockets over HTTP/2, RFC 8441, unless
// GODEBUG=http2xconnect=1, which gorilla/websocket could not upgrade).
func serve(ctx context.Context, ln net.Listener, cert tls.Certificate, deflate bool, logger *slog.Logger) error {
	a := newApp(deflate, logger)
	hs := &http.Server{
		Handler:   a,
		TLSConfig: &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12},
		// Timeouts that bound slow clients without cutting long-polls,
		// which are held up to the ping interval (25 s): see Deployment
		// in the repository's README.
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	served := make(chan error, 1)
	// The certificate is in TLSConfig: no file names.
	go func() { served <- hs.ServeTLS(ln, "", "") }()
	logger.Info("tls example listening", "url", "https://"+ln.Addr().String()+"/", "deflate", deflate)

	select {
	case err := <-served:
		a.ferry.Close()
		return err
	case <-ctx.Done():
	}
	logger.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	ferryErr := a.ferry.Shutdown(sctx)
	httpErr := hs.Shutdown(sctx)
	if err := <-served; !errors.Is(err, http.ErrServerClosed) {
		httpErr = errors.Join(httpErr, err)
	}
	return errors.Join(ferryErr, httpErr)
}

// app serves the page at / and Socket.IO at /socket.io/.
type app struct {
	http.Handler
	ferry *ferry.Server
	log   *slog.Logger
}

func newApp(deflate bool, logger *slog.Logger) *app {
	opts := &ferry.Options{MaxHTTPBufferSize: maxEcho, Logger: logger}
	if deflate {
		// Messages from 1 KiB up are compressed, as in socket.io.
		opts.PerMessageDeflate = &ferry.DeflateOptions{}
	}
	a := &app{ferry: ferry.NewServer(opts), log: logger}
	a.ferry.OnConnection(a.onConnection)

	assets, err := fs.Sub(web, "web")
	if err != nil {
		panic(err) // the embedded tree always has a web folder
	}
	mux := http.NewServeMux()
	mux.Handle("/socket.io/", a.ferry)
	mux.Handle("/", http.FileServerFS(assets))
	a.Handler = mux
	return a
}

// row is one record of an echo, its fields in the page's order.
type row struct {
	ID   int      `json:"id" msgpack:"id"`
	User string   `json:"user" msgpack:"user"`
	Text string   `json:"text" msgpack:"text"`
	Tags []string `json:"tags" msgpack:"tags"`
	OK   bool     `json:"ok" msgpack:"ok"`
}

// echo is what the page sends and gets back.
type echo struct {
	Rows []row `json:"rows" msgpack:"rows"`
}

// reply answers an echo: the rows back, and how the request reached the
// server.
type reply struct {
	Rows      []row  `json:"rows" msgpack:"rows"`
	Transport string `json:"transport" msgpack:"transport"`
	Secure    bool   `json:"secure" msgpack:"secure"`
}

// onConnection answers "echo" with the rows it got, the transport the
// connection uses and whether it is over TLS.
func (a *app) onConnection(s *ferry.Socket) {
	secure := s.Handshake().Secure
	ferry.HandleAck(s, "echo", func(s *ferry.Socket, e echo) (reply, error) {
		if len(e.Rows) == 0 {
			return reply{}, errors.New("no rows")
		}
		return reply{Rows: e.Rows, Transport: s.Conn().Transport(), Secure: secure}, nil
	})
}
