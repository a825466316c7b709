package app

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"
)

// serveHTTP serves h on ln until ctx is cancelled, then shuts down in two
// phases: stop accepting and let in-flight requests finish (drain), and when
// drain has not finished after timeout, close every connection (cancel).
func serveHTTP(ctx context.Context, ln net.Listener, h http.Handler, timeout time.Duration, onDrain func(error)) error {
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       5 * time.Minute, // uploads
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()

	select {
	case err := <-errc:
		if errors.Is(err, http.ErrServerClosed) {
			return nil
		}
		return fmt.Errorf("http server: %w", err)
	case <-ctx.Done():
	}

	drainCtx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	err := srv.Shutdown(drainCtx)
	if onDrain != nil {
		onDrain(err)
	}
	if err != nil {
		// Drain timed out: cut the remaining connections.
		_ = srv.Close()
	}
	<-errc // Serve has returned ErrServerClosed
	if err != nil {
		return fmt.Errorf("shutdown: drain did not finish within %s; connections closed", timeout)
	}
	return nil
}
