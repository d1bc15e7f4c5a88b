package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"

	"github.com/hexchi/starter/internal/auth"
	"github.com/hexchi/starter/internal/auth/session"
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
	// errCrossOrigin: http.CrossOriginProtection refused an unsafe request
	// from another origin (CSRF).
	errCrossOrigin = errors.New("cross-origin request refused")
	// errBadRequest is wrapped by errors whose message is safe to show the
	// client, such as a malformed JSON body: see badRequest.
	errBadRequest = errors.New("bad request")
	// errUnsupportedMediaType: a request body that is not sent as the
	// media type the endpoint reads.
	errUnsupportedMediaType = errors.New("unsupported media type")
	// errTooLarge: a request body over the endpoint's limit.
	errTooLarge = errors.New("request body too large")
)

// badRequest returns an error answered with 400 and this detail.
func badRequest(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{errBadRequest}, args...)...)
}

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
	case errors.Is(err, session.ErrNotInGroup):
		p.Status = http.StatusNotFound
		p.Detail = "You have no session with that handle."
	case errors.Is(err, errBadRequest), errors.Is(err, auth.ErrInvalidCredentials):
		p.Status = http.StatusBadRequest
		p.Detail = detail(err)
	case errors.Is(err, errUnsupportedMediaType):
		p.Status = http.StatusUnsupportedMediaType
		p.Detail = "This endpoint does not read a body of that Content-Type."
	case errors.Is(err, errTooLarge):
		p.Status = http.StatusRequestEntityTooLarge
		p.Detail = "The request body is too large."
	case errors.Is(err, session.ErrUnauthenticated):
		p.Status = http.StatusUnauthorized
		p.Detail = "Log in first."
	case errors.Is(err, session.ErrRecentAuthRequired):
		p.Status = http.StatusForbidden
		p.Detail = "Confirm your password first: this needs a login less than " + a.recentAuth.String() + " old."
	case errors.Is(err, auth.ErrBadCredentials):
		p.Status = http.StatusUnauthorized
		p.Detail = "Wrong username or password."
	case errors.Is(err, errCrossOrigin):
		p.Status = http.StatusForbidden
		p.Detail = "This request came from another site, so it was refused: a form on one site must not act on another. Use the forms of this site."
	case errors.Is(err, auth.ErrTooManyAttempts):
		// The limiter has set Retry-After to the end of its window.
		p.Status = http.StatusTooManyRequests
		p.Detail = "Too many login attempts. Try again later."
	case errors.Is(err, auth.ErrLimitsUnavailable):
		// Refused before the password is checked: see auth.NewRedisCounter.
		a.log.WarnContext(ctx, "login limits unavailable", slog.Any("err", err))
		w.Header().Set("Retry-After", retryAfter)
		p.Status = http.StatusServiceUnavailable
		p.Detail = "Logins are unavailable for a moment."
	case errors.Is(err, session.ErrStoreUnavailable):
		a.log.WarnContext(ctx, "session store unavailable", slog.Any("err", err))
		w.Header().Set("Retry-After", retryAfter)
		p.Status = http.StatusServiceUnavailable
		p.Detail = "Sessions are unavailable for a moment."
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
	case errors.Is(err, context.Canceled):
		// The client hung up (or the server gave up on the request): no
		// outage, and nobody reads the answer. 499, as nginx logs it, tells
		// the access log what happened.
		a.log.DebugContext(ctx, "request cancelled", slog.Any("err", err))
		p.Status, p.Title = session.StatusClientClosedRequest, "Client Closed Request"
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
	a.writeError(w, r, p)
}

// detail is the client-safe part of an error made by badRequest or
// checkCredentials: the text after the sentinel's prefix.
func detail(err error) string {
	msg := err.Error()
	for _, sentinel := range []error{errBadRequest, auth.ErrInvalidCredentials} {
		if rest, ok := strings.CutPrefix(msg, sentinel.Error()+": "); ok {
			return rest
		}
	}
	return ""
}
