package session

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
)

// sessionKey is the context key of the request's *Session.
var sessionKey = &struct{ name string }{"session"}

// From returns the session of the request, or nil outside Middleware.
func From[D Data](ctx context.Context) *Session[D] {
	s, _ := ctx.Value(sessionKey).(*Session[D])
	return s
}

// Middleware loads the request's session and commits it before the first
// byte of the response (status or body), so that a redirect can never race
// the store write, and so that a failed commit can still be answered with a
// 503. A data-only change made after that (popping a flash while rendering)
// is saved by a late patch when the handler returns. A handler that answers
// with a 5xx commits nothing.
//
// A malformed, oversized, unsigned or forged cookie costs no store call: the
// request runs with a new session and the response clears the cookie.
func (m *Manager[D]) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Every response below depends on the cookie, whether or not it
		// sets one, so shared caches must not mix users up.
		w.Header().Add("Vary", "Cookie")
		s, err := m.load(r)
		if err != nil {
			m.errorHandler(w, r, err)
			return
		}
		sw := &responseWriter[D]{ResponseWriter: w, s: s, r: r}
		next.ServeHTTP(sw, r.WithContext(context.WithValue(r.Context(), sessionKey, s)))
		// Not reached when the handler panics: a panicking request commits
		// nothing, like a 5xx.
		sw.finish()
	})
}

// RequireAuth answers ErrUnauthenticated (401 in the app's mapping) unless
// the request's session is authenticated. Use it inside Middleware.
func (m *Manager[D]) RequireAuth(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := From[D](r.Context())
		switch {
		case s == nil:
			m.errorHandler(w, r, errors.New("session: RequireAuth used outside Middleware"))
		case !s.IsAuthenticated():
			m.errorHandler(w, r, ErrUnauthenticated)
		default:
			next.ServeHTTP(w, r)
		}
	})
}

// load builds the request's session. Only a store failure is an error: a bad,
// stale, expired or undecodable session gives a new one.
func (m *Manager[D]) load(r *http.Request) (*Session[D], error) {
	s := &Session[D]{m: m}
	cookies := r.CookiesNamed(m.cookie.Name)
	if len(cookies) == 0 { // anonymous: nothing to load
		return s.fresh(), nil
	}
	ctx := r.Context()
	// The first of duplicate cookies wins, as in @fastify/cookie and browsers'
	// ordering (the most specific path first).
	id, reissue, err := parseCookie(cookies[0].Value, m.secrets)
	if err != nil {
		m.log.InfoContext(ctx, "invalid session cookie", "reason", err.Error())
		s.clear = true
		return s.fresh(), nil //nolint:nilerr // a bad cookie is not a failed request: it runs anonymous
	}
	handle := handleOf(id)
	now := m.now()
	rec, err := m.store.Load(ctx, handle, Touch{Now: now, Idle: m.idle, Every: m.touchEvery})
	if errors.Is(err, ErrCorrupt) {
		m.log.WarnContext(ctx, "session record corrupt", "session", short(handle), "err", err)
		return s.discard(ctx, handle, "")
	}
	if errors.Is(err, ErrNotFound) {
		m.log.DebugContext(ctx, "session not found", "session", short(handle))
		s.clear = true
		return s.fresh(), nil
	}
	if err != nil {
		return nil, m.unavailable("load", err)
	}
	// The module enforces expiry itself; the store's TTL only collects
	// garbage, and a store whose TTL failed must not keep a session alive.
	if m.expired(rec, now) {
		m.log.InfoContext(ctx, "session expired", "session", short(handle))
		return s.discard(ctx, handle, rec.Group)
	}
	data, err := decodeData(rec.Values, m.decode)
	if err != nil {
		m.log.WarnContext(ctx, "session data rejected", "session", short(handle), "err", err)
		return s.discard(ctx, handle, rec.Group)
	}
	s.id, s.handle, s.stored, s.rec, s.data = id, handle, true, *rec, data
	s.authAtLoad, s.groupAtLoad = data.IsAuthenticated(), data.SessionGroupID()
	s.reissue = reissue
	if b, ok := rec.Values[flashField]; ok {
		if err := json.Unmarshal(b, &s.flashes); err != nil {
			m.log.WarnContext(ctx, "session flashes dropped", "session", short(handle), "err", err)
			s.flashesChanged = true // the bad field is removed at the next commit
		}
	}
	return s, nil
}

// fresh makes s a new session that is stored only once something is written.
func (s *Session[D]) fresh() *Session[D] {
	s.data = s.m.newData()
	s.authAtLoad, s.groupAtLoad = s.data.IsAuthenticated(), s.data.SessionGroupID()
	return s
}

// discard deletes a record that must not be used and starts a new session.
func (s *Session[D]) discard(ctx context.Context, handle, group string) (*Session[D], error) {
	if err := s.m.store.Delete(ctx, Ref{Handle: handle, Group: group}); err != nil {
		return nil, s.m.unavailable("delete", err)
	}
	s.clear = true
	return s.fresh(), nil
}

// unavailable wraps a store failure so that the app's error mapping answers
// 503; the store's own error stays in the chain for the log.
func (m *Manager[D]) unavailable(op string, err error) error {
	return fmt.Errorf("%w: %s: %w", ErrStoreUnavailable, op, err)
}

// responseWriter commits the session when the response's header is written.
// It supports Unwrap, so http.ResponseController reaches the connection
// (Hijack, deadlines); FlushError commits before it flushes.
type responseWriter[D Data] struct {
	http.ResponseWriter
	s           *Session[D]
	r           *http.Request
	wroteHeader bool
	status      int
	replaced    bool // the commit failed and the error response was written instead
}

var errResponseReplaced = errors.New("session: response replaced by an error because the session could not be saved")

func (w *responseWriter[D]) WriteHeader(code int) {
	if w.replaced {
		return
	}
	if code >= 100 && code < 200 && code != http.StatusSwitchingProtocols {
		w.ResponseWriter.WriteHeader(code) // informational: the real header is still to come
		return
	}
	if !w.wroteHeader {
		w.wroteHeader, w.status = true, code
		if err := w.s.commit(w.r, w.Header(), code); err != nil {
			w.replaced = true
			h := w.Header()
			h.Del("Location")
			h.Del("Content-Length")
			w.s.m.errorHandler(w.ResponseWriter, w.r, err)
			return
		}
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *responseWriter[D]) Write(b []byte) (int, error) {
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	if w.replaced {
		return 0, errResponseReplaced
	}
	return w.ResponseWriter.Write(b)
}

// FlushError commits (by writing the header) before the first flush.
func (w *responseWriter[D]) FlushError() error {
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	if w.replaced {
		return errResponseReplaced
	}
	return http.NewResponseController(w.ResponseWriter).Flush()
}

// Flush is for handlers that assert http.Flusher.
func (w *responseWriter[D]) Flush() { _ = w.FlushError() }

// Unwrap returns the wrapped writer for http.ResponseController.
func (w *responseWriter[D]) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// finish runs when the handler returns: it commits a session whose handler
// wrote nothing, or saves data changed after the header went out.
func (w *responseWriter[D]) finish() {
	switch {
	case w.replaced:
	case !w.wroteHeader:
		w.WriteHeader(http.StatusOK) // what net/http would send; commit first
	case w.status < http.StatusInternalServerError:
		w.s.latePatch(w.r)
	}
}
