package app

import (
	"context"
	"fmt"
	"net/http"
)

// handleLivez answers whether the process can serve HTTP at all. It checks
// no dependency on purpose: a failing liveness probe restarts the process,
// and restarting every replica because Redis is down only makes it worse.
func (a *app) handleLivez(w http.ResponseWriter, r *http.Request) {
	writeOK(w)
}

// handleReadyz answers whether this replica should get traffic: not while
// it shuts down, and not while its session store is unreachable.
func (a *app) handleReadyz(w http.ResponseWriter, r *http.Request) {
	if err := a.ready(r.Context()); err != nil {
		a.respondError(w, r, err)
		return
	}
	writeOK(w)
}

// ready returns nil when the app can take requests, or an error wrapping
// errNotReady that says why not.
func (a *app) ready(ctx context.Context) error {
	if a.shuttingDown.Load() {
		return errShuttingDown
	}
	if a.storeReady != nil {
		if err := a.storeReady(ctx); err != nil {
			return fmt.Errorf("%w: session store: %w", errNotReady, err)
		}
	}
	return nil
}

func writeOK(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	// A cached "ok" would hide a failure from the next probe.
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write([]byte("ok\n"))
}
