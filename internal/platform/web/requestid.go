package web

import (
	"context"
	"crypto/rand"
	"net/http"
)

// RequestIDHeader is the header that carries the request id in both
// directions: a proxy in front of the app may set it, and the app always
// echoes it, so that a user can quote it and an operator can find the logs.
const RequestIDHeader = "X-Request-Id"

// maxRequestIDLen bounds an inbound id. It is long enough for a UUID, a
// ULID or a trace id with a prefix, and short enough that a client cannot
// bloat every log record of its requests.
const maxRequestIDLen = 64

// ctxKey is the type of this package's context keys. A pointer to an
// unexported struct cannot collide with a key of any other package.
type ctxKey struct{ name string }

var requestIDKey = &ctxKey{"request id"}

// AssignRequestID is a middleware that gives every request an id: the
// inbound X-Request-Id if it is valid (see validRequestID), a new random one
// otherwise. The id is echoed in the X-Request-Id response header and stored
// in the request context, where RequestID, the logger (NewLogger) and
// WriteProblem find it.
func AssignRequestID(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get(RequestIDHeader)
		if !validRequestID(id) {
			// 128 random bits as 26 base32 characters: as strong as a
			// UUIDv4 in fewer characters. rand.Text cannot fail.
			id = rand.Text()
		}
		w.Header().Set(RequestIDHeader, id)
		next.ServeHTTP(w, r.WithContext(withRequestID(r.Context(), id)))
	})
}

// RequestID returns the id that AssignRequestID stored in ctx, or "" outside
// a request.
func RequestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey).(string)
	return id
}

func withRequestID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, requestIDKey, id)
}

// validRequestID reports whether an inbound id may be trusted as is: 1 to 64
// characters from [A-Za-z0-9_.:-]. The id lands in response headers and in
// every log record, so anything that could split a header, forge a log line
// or smuggle markup (spaces, quotes, control characters, non-ASCII) is
// replaced rather than cleaned.
func validRequestID(id string) bool {
	if len(id) == 0 || len(id) > maxRequestIDLen {
		return false
	}
	for i := range len(id) {
		c := id[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case c == '-', c == '_', c == '.', c == ':':
		default:
			return false
		}
	}
	return true
}
