package session

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"
)

// From returns the request's session of this Manager, or nil outside its
// Middleware. Each Manager has a context key of its own, so an app can run
// two (say, one for its users and one for its admins) in one handler chain
// without either hiding the other's session.
func (m *Manager[D]) From(ctx context.Context) *Session[D] {
	s, _ := ctx.Value(m.key).(*Session[D])
	return s
}

// Middleware loads the request's session and commits it before the first
// byte of the response (status or body), so that a redirect can never race
// the store write, and so that a failed commit can still be answered with a
// 503. A data-only change made after that (popping a flash while rendering)
// is saved by a late patch when the handler returns. A handler that answers
// with a 5xx commits nothing. A handler that hijacks the connection (a
// WebSocket upgrade) commits at the hijack, and nothing is written after it.
//
// A malformed, oversized, unsigned or forged cookie costs no store call: the
// request runs with a new session and the response clears the cookie. Of
// duplicate session cookies the first one counts, as in browsers' order
// (the most specific Path first) and @fastify/cookie; a __Host- cookie
// name keeps other subdomains from planting one.
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
		next.ServeHTTP(sw, r.WithContext(context.WithValue(r.Context(), m.key, s)))
		// Not reached when the handler panics: a panicking request commits
		// nothing, like a 5xx.
		sw.finish()
	})
}

// RequireAuth answers ErrUnauthenticated (401 in the app's mapping) unless
// the request's session is authenticated. Use it inside Middleware.
func (m *Manager[D]) RequireAuth(next http.Handler) http.Handler {
	return m.guard("RequireAuth", func(*Session[D]) error { return nil })(next)
}

// RequireRecentAuth guards the actions that a stolen session must not be
// able to take on its own (log out the user's other sessions, change the
// password or the e-mail address): it answers ErrUnauthenticated unless the
// session is authenticated, and ErrRecentAuthRequired unless its AuthTime
// is less than maxAge ago. Logging in again (Login) refreshes AuthTime. Use
// it inside Middleware.
func (m *Manager[D]) RequireRecentAuth(maxAge time.Duration) func(http.Handler) http.Handler {
	return m.guard("RequireRecentAuth", func(s *Session[D]) error {
		if !s.RecentAuth(maxAge) {
			return ErrRecentAuthRequired
		}
		return nil
	})
}

// guard lets a request through to next only if its session is
// authenticated and check passes, and answers the error otherwise. name is
// the middleware's, for the error of one used outside Middleware.
func (m *Manager[D]) guard(name string, check func(*Session[D]) error) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			s := m.From(r.Context())
			err := ErrUnauthenticated
			switch {
			case s == nil:
				err = fmt.Errorf("session: %s used outside Middleware", name)
			case s.IsAuthenticated():
				err = check(s)
			}
			if err != nil {
				m.errorHandler(w, r, err)
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}

// load builds the request's session. Only a store failure is an error: a bad,
// stale, expired or undecodable session gives a new one.
func (m *Manager[D]) load(r *http.Request) (*Session[D], error) {
	s := &Session[D]{m: m}
	s.readFlashCookie(r)
	cookies := r.CookiesNamed(m.cookie.Name)
	if len(cookies) == 0 { // anonymous: nothing to load
		return s.fresh(), nil
	}
	ctx := r.Context()
	id, reissue, err := parseCookie(cookies[0].Value, m.secrets)
	if err != nil {
		m.event(ctx, Event{Kind: EventInvalidCookie}, "reason", err.Error())
		s.clear = true
		return s.fresh(), nil
	}
	handle := handleOf(id)
	now := m.now()
	rec, err := m.store.Load(ctx, handle, Touch{Now: now, Idle: m.idle, Every: m.touchEvery})
	if errors.Is(err, ErrCorrupt) {
		m.event(ctx, Event{Kind: EventRejected, Handle: handle}, "err", err)
		return s.discard(ctx, handle, "")
	}
	if errors.Is(err, ErrNotFound) {
		m.log.DebugContext(ctx, "session not found", "session", ShortHandle(handle))
		s.clear = true
		return s.fresh(), nil
	}
	if err != nil {
		return nil, m.storeError(ctx, "load", err)
	}
	// The module enforces expiry itself; the store's TTL only collects
	// garbage, and a store whose TTL failed must not keep a session alive.
	if m.expired(rec, now) {
		m.event(ctx, Event{Kind: EventExpired, Handle: handle, Group: rec.Group})
		return s.discard(ctx, handle, rec.Group)
	}
	data, err := decodeData(rec.Values, m.decode)
	if err != nil {
		m.event(ctx, Event{Kind: EventRejected, Handle: handle, Group: rec.Group}, "err", err)
		return s.discard(ctx, handle, rec.Group)
	}
	s.id, s.handle, s.stored, s.rec, s.data = id, handle, true, *rec, data
	s.authAtLoad, s.groupAtLoad = data.IsAuthenticated(), data.SessionGroupID()
	s.reissue = reissue
	fromCookie := s.flashes
	s.flashes = nil
	if b, ok := rec.Values[flashField]; ok {
		if err := json.Unmarshal(b, &s.flashes); err != nil {
			m.log.WarnContext(ctx, "session flashes dropped", "session", ShortHandle(handle), "err", err)
			s.flashesChanged = true // the bad field is removed at the next commit
		}
	}
	if len(fromCookie) > 0 { // left while the visitor had no stored session
		s.flashes, s.flashesChanged = append(s.flashes, fromCookie...), true
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
		return nil, s.m.storeError(ctx, "delete", err)
	}
	s.clear = true
	return s.fresh(), nil
}

// storeError is what a failed store call made with ctx becomes. If ctx has
// ended (the client hung up, or the server gave up on the request), the
// store is not to blame: the error wraps ctx's error and not
// ErrStoreUnavailable, so that the app neither answers 503 nor warns of an
// outage. Otherwise it wraps ErrStoreUnavailable, which the app answers
// with a 503; the store's own error stays in the chain for the log.
func (m *Manager[D]) storeError(ctx context.Context, op string, err error) error {
	if ctx.Err() != nil {
		return fmt.Errorf("session: %s: request ended: %w: %w", op, ctx.Err(), err)
	}
	m.event(ctx, Event{Kind: EventUnavailable})
	return fmt.Errorf("%w: %s: %w", ErrStoreUnavailable, op, err)
}

// responseWriter commits the session when the response's header is written.
// It supports Unwrap, so http.ResponseController reaches the connection
// (deadlines); FlushError commits before it flushes, and Hijack before it
// hands the connection over.
type responseWriter[D Data] struct {
	http.ResponseWriter
	s           *Session[D]
	r           *http.Request
	wroteHeader bool
	status      int
	replaced    bool // the commit failed and the error response was written instead
	hijacked    bool // the handler took the connection: nothing may be written
}

var errResponseReplaced = errors.New("session: response replaced by an error because the session could not be saved")

func (w *responseWriter[D]) WriteHeader(code int) {
	if w.replaced || w.hijacked {
		return
	}
	if code >= 100 && code < 200 && code != http.StatusSwitchingProtocols {
		w.ResponseWriter.WriteHeader(code) // informational: the real header is still to come
		return
	}
	if !w.wroteHeader && !w.commit(code) {
		return
	}
	w.ResponseWriter.WriteHeader(code)
}

// commit commits the session for a response with status code, once. When
// the commit fails, the error response takes the handler's place and commit
// reports false.
func (w *responseWriter[D]) commit(code int) bool {
	w.wroteHeader, w.status = true, code
	err := w.s.commit(w.r, w.Header(), code)
	if err == nil {
		return true
	}
	w.replaced = true
	h := w.Header()
	h.Del("Location")
	h.Del("Content-Length")
	w.s.m.errorHandler(w.ResponseWriter, w.r, err)
	return false
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

// Hijack commits the session, then hands the connection over (a WebSocket
// upgrade): after a hijack nothing may be written through w, so the commit
// cannot wait for a header. A cookie the commit sets is in w.Header(); a
// handler that writes its own 101 answer, as WebSocket libraries do, passes
// it along with theirs (gorilla/websocket's Upgrade takes a responseHeader).
// If the commit fails, Hijack answers the error as WriteHeader would and
// returns it; the connection stays with net/http.
func (w *responseWriter[D]) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	if w.replaced {
		return nil, nil, errResponseReplaced
	}
	if !w.wroteHeader && !w.commit(http.StatusSwitchingProtocols) {
		return nil, nil, errResponseReplaced
	}
	conn, rw, err := http.NewResponseController(w.ResponseWriter).Hijack()
	if err != nil {
		return nil, nil, fmt.Errorf("session: hijack: %w", err)
	}
	w.hijacked = true
	return conn, rw, nil
}

// Unwrap returns the wrapped writer for http.ResponseController.
func (w *responseWriter[D]) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// finish runs when the handler returns: it commits a session whose handler
// wrote nothing, or saves data changed after the header went out (or after
// a hijack, when the connection is the handler's: nothing is written).
func (w *responseWriter[D]) finish() {
	switch {
	case w.replaced:
	case !w.wroteHeader:
		w.WriteHeader(http.StatusOK) // what net/http would send; commit first
	case w.status < http.StatusInternalServerError:
		w.s.latePatch(w.r)
	}
}
