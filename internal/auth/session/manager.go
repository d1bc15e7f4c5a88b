package session

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"reflect"
	"strings"
	"time"
)

// Data is what the Manager needs to know about the app's session data type.
// The data is stored as JSON, one store field per top-level JSON field.
//
// D is normally a pointer to a struct, so that a handler changes the
// session by changing the struct it gets from Session.Data.
type Data interface {
	// IsAuthenticated reports whether the session belongs to a logged-in
	// user. When it turns true the session moves to a new id and gets the
	// authenticated lifetime.
	IsAuthenticated() bool
	// SessionGroupID returns the group the session belongs to, "" for none.
	// The demo app uses the user id, so that a user can list and log out
	// their sessions.
	SessionGroupID() string
}

// Errors the middleware hands to Options.ErrorHandler, and that the app
// maps to HTTP statuses in one place.
var (
	// ErrUnauthenticated: RequireAuth met a session that is not
	// authenticated (401).
	ErrUnauthenticated = errors.New("session: not authenticated")
	// ErrStoreUnavailable: the store failed or timed out (503).
	ErrStoreUnavailable = errors.New("session: store unavailable")
	// ErrHeadersWritten: a change that needs a new cookie (create, renew,
	// destroy) was asked for after the response headers went out.
	ErrHeadersWritten = errors.New("session: response headers already written")
	// ErrNotInGroup: Revoke named a session outside the current session's
	// group (404: it is not yours, or it does not exist).
	ErrNotInGroup = errors.New("session: no such session in this group")
)

// Options configures a Manager. Zero fields take the documented defaults.
type Options[D Data] struct {
	// Store keeps the sessions. Required.
	Store Store
	// Secrets sign the cookie: the first signs, every one verifies, so a
	// secret is rotated by putting the new one first. Each is at least 32
	// bytes. Required.
	Secrets [][]byte
	// New returns the data of a new session. Required.
	New func() D
	// Decode turns stored JSON into D and rejects what it cannot accept
	// (the seed's c(plain)). A rejected record is deleted and the request
	// goes on with a new session. Default: json.Unmarshal into New().
	Decode func(data []byte) (D, error)

	// InitialLifetime is the absolute lifetime of a new session that is not
	// authenticated. Default 5 minutes.
	InitialLifetime time.Duration
	// Lifetime is the absolute lifetime of an authenticated session,
	// counted from login. Default 6 hours.
	Lifetime time.Duration
	// IdleTimeout, if not zero, ends a session that has not been used for
	// that long. The idle deadline is refreshed by a metadata-only touch in
	// the same round trip as the load, at most once per
	// max(1 minute, IdleTimeout/10). Default 0 (off).
	IdleTimeout time.Duration

	// StoreTimeout bounds every store call. A store that has not answered
	// by then counts as unavailable, and the request is answered 503 (the
	// store client's own retries stop at the deadline too, provided the
	// client honours contexts: go-redis needs ContextTimeoutEnabled).
	// Default 0: only the store client's own timeouts apply.
	StoreTimeout time.Duration

	// Cookie holds the cookie attributes. HttpOnly is always set.
	Cookie Cookie

	// ErrorHandler writes the response for ErrUnauthenticated and
	// ErrStoreUnavailable. Apps set it to their one error mapping. Default:
	// a minimal application/problem+json response.
	ErrorHandler func(w http.ResponseWriter, r *http.Request, err error)
	// Logger receives session events (created, authenticated, renewed,
	// destroyed, invalid cookie, decode error), with a short handle prefix,
	// never the id. Default slog.Default().
	Logger *slog.Logger
	// Now is the clock. Default time.Now.
	Now func() time.Time
}

// Cookie holds the session cookie's attributes.
type Cookie struct {
	Name     string        // default "SID"
	Path     string        // default "/"
	Domain   string        // default none
	SameSite http.SameSite // default http.SameSiteLaxMode
	// Insecure turns the Secure attribute off, for http://localhost only.
	// The zero value is secure.
	Insecure bool
	// Session makes the cookie a browser-session cookie (no Expires).
	// The zero value sets Expires and Max-Age to the absolute deadline.
	Session bool
}

// Manager loads, tracks and commits sessions of data type D.
type Manager[D Data] struct {
	store        Store
	secrets      [][]byte
	newData      func() D
	decode       func([]byte) (D, error)
	initial      time.Duration
	lifetime     time.Duration
	idle         time.Duration
	touchEvery   time.Duration
	cookie       Cookie
	errorHandler func(http.ResponseWriter, *http.Request, error)
	log          *slog.Logger
	now          func() time.Time
}

// minSecretLen is the shortest signing secret accepted: 256 bits.
const minSecretLen = 32

// New checks opts and returns a Manager.
func New[D Data](opts Options[D]) (*Manager[D], error) {
	m := &Manager[D]{
		store:        opts.Store,
		secrets:      opts.Secrets,
		newData:      opts.New,
		decode:       opts.Decode,
		initial:      orDefault(opts.InitialLifetime, 5*time.Minute),
		lifetime:     orDefault(opts.Lifetime, 6*time.Hour),
		idle:         opts.IdleTimeout,
		cookie:       opts.Cookie,
		errorHandler: opts.ErrorHandler,
		log:          opts.Logger,
		now:          opts.Now,
	}
	if m.store == nil {
		return nil, errors.New("session: Options.Store is required")
	}
	if m.newData == nil {
		return nil, errors.New("session: Options.New is required")
	}
	if len(m.secrets) == 0 {
		return nil, errors.New("session: Options.Secrets needs at least one secret")
	}
	for i, s := range m.secrets {
		if len(s) < minSecretLen {
			return nil, fmt.Errorf("session: secret %d is %d bytes, want at least %d", i+1, len(s), minSecretLen)
		}
	}
	if m.initial < 0 || m.lifetime < 0 || m.idle < 0 || opts.StoreTimeout < 0 {
		return nil, errors.New("session: lifetimes and timeouts must not be negative")
	}
	if opts.StoreTimeout > 0 {
		m.store = timeoutStore{Store: m.store, d: opts.StoreTimeout}
	}
	if m.decode == nil {
		if reflect.TypeFor[D]().Kind() != reflect.Pointer {
			return nil, errors.New("session: Options.Decode is required when D is not a pointer type")
		}
		m.decode = func(b []byte) (D, error) {
			d := m.newData()
			err := json.Unmarshal(b, d)
			return d, err
		}
	}
	if err := m.cookie.check(); err != nil {
		return nil, err
	}
	if m.idle > 0 {
		m.touchEvery = max(time.Minute, m.idle/10)
	}
	if m.errorHandler == nil {
		m.errorHandler = defaultErrorHandler
	}
	if m.log == nil {
		m.log = slog.Default()
	}
	if m.now == nil {
		m.now = time.Now
	}
	return m, nil
}

func orDefault(d, def time.Duration) time.Duration {
	if d == 0 {
		return def
	}
	return d
}

// check fills in the defaults and enforces the cookie prefix rules, which
// browsers enforce silently by dropping the cookie.
func (c *Cookie) check() error {
	if c.Name == "" {
		c.Name = "SID"
	}
	if c.Path == "" {
		c.Path = "/"
	}
	if c.SameSite == 0 {
		c.SameSite = http.SameSiteLaxMode
	}
	if _, err := http.ParseSetCookie(c.Name + "=x"); err != nil {
		return fmt.Errorf("session: invalid cookie name %q", c.Name)
	}
	if strings.HasPrefix(c.Name, "__Host-") && (c.Insecure || c.Domain != "" || c.Path != "/") {
		return fmt.Errorf("session: cookie %s needs Secure, no Domain and Path=/", c.Name)
	}
	if strings.HasPrefix(c.Name, "__Secure-") && c.Insecure {
		return fmt.Errorf("session: cookie %s needs Secure", c.Name)
	}
	if c.SameSite == http.SameSiteNoneMode && c.Insecure {
		return errors.New("session: SameSite=None needs Secure")
	}
	return nil
}

// defaultErrorHandler answers with a minimal RFC 9457 problem.
func defaultErrorHandler(w http.ResponseWriter, _ *http.Request, err error) {
	status := http.StatusInternalServerError
	switch {
	case errors.Is(err, ErrUnauthenticated):
		status = http.StatusUnauthorized
	case errors.Is(err, ErrStoreUnavailable):
		status = http.StatusServiceUnavailable
		w.Header().Set("Retry-After", "1")
	}
	w.Header().Set("Content-Type", "application/problem+json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"type": "about:blank", "title": http.StatusText(status), "status": status})
}
