package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/hexchi/starter/internal/platform/web"
)

// The errors the app's own handlers answer with. Packages the app uses keep
// their sentinel errors (session.ErrUnauthenticated, ...), and respondError
// maps them here too.
var (
	errNotFound         = errors.New("not found")
	errMethodNotAllowed = errors.New("method not allowed")
	// errNotReady is wrapped by every reason /readyz fails.
	errNotReady     = errors.New("not ready")
	errShuttingDown = fmt.Errorf("%w: shutting down", errNotReady)
)

// retryAfter is the Retry-After of 503 answers, in seconds: long enough not
// to hammer a dependency that is coming back, short enough that clients
// return soon after it has.
const retryAfter = "5"

// respondError is the one place where an error becomes an HTTP answer: it
// picks the status, writes an RFC 9457 problem, and logs what the client
// must not see. Details of 5xx causes never reach the response; the request
// id in the problem leads an operator to the log record.
func (a *app) respondError(w http.ResponseWriter, r *http.Request, err error) {
	ctx := r.Context()
	var p web.Problem
	switch {
	case errors.Is(err, errNotFound):
		p.Status = http.StatusNotFound
	case errors.Is(err, errMethodNotAllowed):
		p.Status = http.StatusMethodNotAllowed
	case errors.Is(err, errShuttingDown):
		// Expected during every deploy: not worth a warning.
		w.Header().Set("Retry-After", retryAfter)
		p.Status = http.StatusServiceUnavailable
		p.Detail = "The server is shutting down."
	case errors.Is(err, errNotReady):
		a.log.WarnContext(ctx, "not ready", slog.Any("err", err))
		w.Header().Set("Retry-After", retryAfter)
		p.Status = http.StatusServiceUnavailable
		p.Detail = "A service this server depends on is unavailable."
	case errors.Is(err, context.DeadlineExceeded):
		// 503, not 504: to the client this server is the origin, and a
		// dependency that answers too slowly is an unavailable one.
		a.log.WarnContext(ctx, "request timed out", slog.Any("err", err))
		w.Header().Set("Retry-After", retryAfter)
		p.Status = http.StatusServiceUnavailable
		p.Detail = "The request took too long."
	default:
		a.log.ErrorContext(ctx, "request failed", slog.Any("err", err))
		p.Status = http.StatusInternalServerError
	}
	web.WriteProblem(w, r, p)
}
