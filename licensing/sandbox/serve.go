package sandbox

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/iscdesk/iscdesk/internal/netutil"
	"github.com/iscdesk/iscdesk/token"
)

// DefaultAddr is where ListenAndServe listens when given no address.
const DefaultAddr = "127.0.0.1:8790"

// ErrNotLoopback is returned by ListenAndServe for an address other hosts
// could reach: the sandbox accepts its own, published, credentials and must
// never be exposed.
var ErrNotLoopback = errors.New("sandbox: only loopback addresses (127.0.0.0/8, ::1, localhost) are allowed")

// shutdownGrace is how long in-flight requests get once ctx ends.
const shutdownGrace = 5 * time.Second

// ListenAndServe listens on addr (loopback only; port 0 picks a free port),
// calls ready with the base URL (http://HOST:PORT) once requests are being
// served, and serves until ctx ends, then shuts down gracefully. It returns
// nil after a shutdown caused by ctx.
func (s *Server) ListenAndServe(ctx context.Context, addr string, ready func(url string)) error {
	if addr == "" {
		addr = DefaultAddr
	}
	if err := checkLoopback(addr); err != nil {
		return err
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", addr)
	if err != nil {
		return fmt.Errorf("sandbox: %w", err)
	}
	// "localhost" is resolved by the system: make sure it did not lead
	// somewhere else.
	if tcp, ok := ln.Addr().(*net.TCPAddr); !ok || !tcp.IP.IsLoopback() {
		ln.Close()
		return fmt.Errorf("%w: %s resolved to %s", ErrNotLoopback, addr, ln.Addr())
	}
	srv := &http.Server{
		Handler:           s.Handler(),
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	loopCtx, stopLoop := context.WithCancel(ctx)
	loopDone := make(chan struct{})
	go func() { defer close(loopDone); s.RunCallbacks(loopCtx) }()
	defer func() { stopLoop(); <-loopDone }()
	if ready != nil {
		ready("http://" + ln.Addr().String())
	}
	select {
	case err := <-served:
		return fmt.Errorf("sandbox: %w", err)
	case <-ctx.Done():
	}
	shutCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownGrace)
	defer cancel()
	err = srv.Shutdown(shutCtx)
	if err != nil {
		srv.Close()
	}
	<-served // http.ErrServerClosed once Serve has returned
	return err
}

// checkLoopback refuses any host but a loopback IP or "localhost". An empty
// host would mean every interface.
func checkLoopback(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("sandbox: address %q: %w", addr, err)
	}
	if !netutil.IsLoopback(host) {
		return fmt.Errorf("%w: %q", ErrNotLoopback, addr)
	}
	return nil
}

// Print writes what `iscdesk sandbox` prints at start, per the CLI contract:
// the listening line, the credentials (AK, SK, the callback key), the vendor
// public key (server_key:
// what an administrator pins so that the desktop accepts the update
// manifests this sandbox signs), then one line per code with its state. The
// secret key is printed on purpose: it is the sandbox's own key, and scripts
// read it from here.
func (s *Server) Print(w io.Writer, url string) error {
	cred := s.Credentials()
	var b strings.Builder
	fmt.Fprintf(&b, "listening on %s\n", url)
	fmt.Fprintf(&b, "ak: %s\n", cred.AK)
	fmt.Fprintf(&b, "sk: %s\n", cred.SK)
	fmt.Fprintf(&b, "callback_key: %s\n", s.CallbackKey())
	fmt.Fprintf(&b, "server_key: %s\n", token.EncodePublicKey(s.VendorPublicKey()))
	if u := s.VendorURL(); u != "" {
		fmt.Fprintf(&b, "vendor_url: %s\n", u)
	}
	for _, c := range s.Codes() {
		fmt.Fprintf(&b, "code: %s (%s)\n", c.Code, c.State)
	}
	_, err := io.WriteString(w, b.String())
	return err
}
