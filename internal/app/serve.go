package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"
)

// serve runs srv on ln until ctx ends, then shuts down in the order that
// loses no request:
//
//  1. /readyz starts failing, so load balancers stop routing here;
//  2. for delay (core.http.shutdownDelay) the server goes on serving every
//     request, new connections included: a load balancer that has not yet
//     seen /readyz fail (or, on Kubernetes, the endpoint removal) still
//     sends some, and they must not be refused;
//  3. srv.Shutdown closes the listener (new connections are refused),
//     closes idle connections, and waits for in-flight requests;
//  4. if they are still running after timeout, srv.Close drops their
//     connections and serve returns an error.
//
// Closing the stores is left to the caller, after serve returns, because
// the requests of steps 2 and 3 may still use them. serve returns nil after
// a clean shutdown.
func (a *app) serve(ctx context.Context, srv *http.Server, ln net.Listener, delay, timeout time.Duration) error {
	// The goroutine is owned by serve, which always waits for it: Serve
	// returns as soon as Shutdown or Close closes the listener.
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()

	select {
	case err := <-serveErr:
		// Serve returns on its own only if accepting fails. The server
		// cannot take new connections, so stop the ones it has.
		_ = srv.Close()
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}

	a.log.InfoContext(ctx, "shutting down", slog.Duration("delay", delay), slog.Duration("timeout", timeout))
	a.shuttingDown.Store(true)
	if delay > 0 {
		after := a.after
		if after == nil {
			after = time.After
		}
		select {
		case <-after(delay):
		case err := <-serveErr: // accepting failed meanwhile: nothing to drain
			_ = srv.Close()
			return fmt.Errorf("serve: %w", err)
		}
		a.log.InfoContext(ctx, "drained: closing the listener")
	}

	if err := shutdown(ctx, srv, serveErr, timeout); err != nil {
		return err
	}
	a.log.InfoContext(ctx, "stopped")
	return nil
}

// shutdown stops srv, whose Serve reports to serveErr: it waits for the
// in-flight requests until timeout, then drops them, and returns once
// Serve's goroutine has ended. ctx may be done already; the shutdown has a
// deadline of its own.
func shutdown(ctx context.Context, srv *http.Server, serveErr <-chan error, timeout time.Duration) error {
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), timeout)
	defer cancel()
	err := srv.Shutdown(shutdownCtx)
	if err != nil {
		// The deadline passed with requests still running: drop them.
		_ = srv.Close()
		err = fmt.Errorf("shutdown (timeout %v): %w", timeout, err)
	}
	// Serve returned http.ErrServerClosed when Shutdown closed the
	// listener; receive it, so that its goroutine has ended when this does.
	if serr := <-serveErr; !errors.Is(serr, http.ErrServerClosed) {
		err = errors.Join(err, fmt.Errorf("serve: %w", serr))
	}
	return err
}
