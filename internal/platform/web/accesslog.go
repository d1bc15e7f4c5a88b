package web

import (
	"log/slog"
	"net/http"
	"time"
)

// AccessLog is a middleware that logs one record per request, after the
// handler returns: method, path, status, bytes, duration and remote address,
// plus the request id (AccessLog must run below AssignRequestID). Server
// errors (5xx) are logged at Error, but 503 at Warn: it asks the client to
// come back, and its cause (a store down, a shutdown) is logged once where
// it is decided, not at every request. Everything else is Info, except the
// quietPaths (health probes, which a load balancer sends every few
// seconds, and whose failures are logged where they are decided): Debug.
//
// The query string is left out on purpose: it may carry tokens, codes or
// personal data, and access logs are kept and shipped widely.
func AccessLog(log *slog.Logger, quietPaths ...string) func(http.Handler) http.Handler {
	quiet := make(map[string]bool, len(quietPaths))
	for _, p := range quietPaths {
		quiet[p] = true
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			start := time.Now()
			rec := record(w)

			// The record is written in a defer so that a request whose
			// handler aborts (panic(http.ErrAbortHandler), which the
			// recoverer passes on to net/http) is logged too.
			completed := false
			defer func() {
				logRequest(log, r, rec, time.Since(start), !completed, quiet[r.URL.Path])
			}()
			next.ServeHTTP(rec, r)
			completed = true
		})
	}
}

func logRequest(log *slog.Logger, r *http.Request, rec *recorder, d time.Duration, aborted, quiet bool) {
	status := rec.status
	if status == 0 {
		// The handler wrote nothing, so net/http sends 200 with no body
		// (unless the connection was hijacked or aborted).
		status = http.StatusOK
	}
	level := slog.LevelInfo
	switch {
	case quiet:
		level = slog.LevelDebug
	case status == http.StatusServiceUnavailable:
		level = slog.LevelWarn
	case status >= 500:
		level = slog.LevelError
	}
	attrs := []slog.Attr{
		slog.String("method", r.Method),
		slog.String("path", r.URL.Path),
		slog.Int("status", status),
		slog.Int64("bytes", rec.bytes),
		slog.Duration("duration", d),
		slog.String("remote_addr", r.RemoteAddr),
	}
	if aborted {
		level = slog.LevelWarn
		attrs = append(attrs, slog.Bool("aborted", true))
	}
	log.LogAttrs(r.Context(), level, "request", attrs...)
}
