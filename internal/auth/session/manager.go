package session

import (
	"context"
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
	// ErrRecentAuthRequired: RequireRecentAuth met a session whose login is
	// older than the action allows. The user must log in again (type the
	// password) before it can be done; the app maps it to its own answer,
	// such as a password prompt or a 403 problem.
	ErrRecentAuthRequired = errors.New("session: a more recent login is required")
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
	// (@hexancore/auth's c(plain)). A rejected record is deleted and the
	// request goes on with a new session. Default: json.Unmarshal into New().
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
	// min(max(1 minute, IdleTimeout/10), IdleTimeout/2): rarely enough that
	// an active session is not rewritten on every request, often enough
	// that a user active at least every IdleTimeout/2 is never logged out.
	// Default 0 (off).
	IdleTimeout time.Duration

	// MaxSessionsPerGroup, if above 0, caps the sessions of one group (one
	// user, in the demo): a login that would exceed it ends the group's
	// sessions with the earliest deadlines, which are the oldest logins,
	// and logs each with EventEvicted. It bounds what one user can make the
	// store hold and what "my sessions" lists. Default 0 (no cap).
	MaxSessionsPerGroup int

	// ClearSiteData makes the response to a logout (Destroy of a stored
	// session) carry Clear-Site-Data: "cookies", so that the browser also
	// drops the site's other cookies. It clears every cookie of the site's
	// registrable domain, other apps' included, and on some browsers the
	// flash cookie of the same response. Default off.
	ClearSiteData bool

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
	// destroyed, invalid cookie, decode error, ...), with a short handle
	// prefix (ShortHandle), never the id. Default slog.Default().
	Logger *slog.Logger
	// OnEvent, if set, is called with every Event once it has happened: a
	// login only once the new session is stored, so an audit line written
	// here never records a login that a store failure undid. It runs on
	// the request's goroutine, with the request's context (which carries
	// what the app's middleware put there, such as the client address), so
	// it must be quick. Default none.
	OnEvent func(ctx context.Context, e Event)
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
	// BrowserSession makes the cookie of a session whose login did not
	// choose (see Session.Login) a browser-session cookie (no Expires). The
	// zero value sets Expires and Max-Age to the absolute deadline.
	BrowserSession bool
	// Partitioned sets the Partitioned attribute (CHIPS): a browser keeps a
	// separate cookie for each top-level site that embeds this one in a
	// frame. Only for apps served inside other sites' frames; it needs
	// Secure.
	Partitioned bool
}

// Manager loads, tracks and commits sessions of data type D.
type Manager[D Data] struct {
	// key is the context key of this Manager's sessions: one per Manager,
	// so that two Managers in one chain never hide each other's session.
	key           *contextKey
	store         Store
	secrets       [][]byte
	flashKeys     [][]byte // derived from secrets; see flashKey
	newData       func() D
	decode        func([]byte) (D, error)
	initial       time.Duration
	lifetime      time.Duration
	idle          time.Duration
	touchEvery    time.Duration
	maxPerGroup   int
	clearSiteData bool
	cookie        Cookie
	errorHandler  func(http.ResponseWriter, *http.Request, error)
	log           *slog.Logger
	onEvent       func(context.Context, Event)
	now           func() time.Time
}

// contextKey is the type of a Manager's context key: a pointer to it is
// unique, and no other package can make one.
type contextKey struct{ name string }

// minSecretLen is the shortest signing secret accepted: 256 bits.
const minSecretLen = 32

// New checks opts and returns a Manager.
func New[D Data](opts Options[D]) (*Manager[D], error) {
	m := &Manager[D]{
		key:           &contextKey{"session"},
		store:         opts.Store,
		secrets:       opts.Secrets,
		newData:       opts.New,
		decode:        opts.Decode,
		initial:       orDefault(opts.InitialLifetime, 5*time.Minute),
		lifetime:      orDefault(opts.Lifetime, 6*time.Hour),
		idle:          opts.IdleTimeout,
		maxPerGroup:   opts.MaxSessionsPerGroup,
		clearSiteData: opts.ClearSiteData,
		cookie:        opts.Cookie,
		errorHandler:  opts.ErrorHandler,
		log:           opts.Logger,
		onEvent:       opts.OnEvent,
		now:           opts.Now,
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
	if m.maxPerGroup < 0 {
		return nil, fmt.Errorf("session: MaxSessionsPerGroup is %d, want 0 (no cap) or more", m.maxPerGroup)
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
	for _, secret := range m.secrets {
		m.flashKeys = append(m.flashKeys, flashKey(secret, m.cookie.Name))
	}
	m.touchEvery = touchInterval(m.idle)
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

// touchInterval is how old LastSeen must be before a load touches it, for
// an idle timeout of idle: a tenth of it, at least a minute so that a busy
// session is not rewritten every few seconds, and at most half of it, so
// that a user who is active at least every idle/2 always gets a touch
// before the idle deadline (with a minute's floor alone, an idle timeout of
// a minute or less would never be touched at all).
func touchInterval(idle time.Duration) time.Duration {
	return min(max(time.Minute, idle/10), idle/2)
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
	if c.Partitioned && c.Insecure {
		return errors.New("session: a Partitioned cookie needs Secure")
	}
	return nil
}

// defaultErrorHandler answers with a minimal RFC 9457 problem.
func defaultErrorHandler(w http.ResponseWriter, _ *http.Request, err error) {
	status := http.StatusInternalServerError
	switch {
	case errors.Is(err, ErrUnauthenticated):
		status = http.StatusUnauthorized
	case errors.Is(err, ErrRecentAuthRequired):
		status = http.StatusForbidden
	case errors.Is(err, ErrStoreUnavailable):
		status = http.StatusServiceUnavailable
		w.Header().Set("Retry-After", "1")
	case errors.Is(err, context.Canceled):
		// The client hung up: nobody reads this, but the access log shows
		// what happened (499, as nginx logs it), not a server error.
		status = StatusClientClosedRequest
	}
	w.Header().Set("Content-Type", "application/problem+json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	title := http.StatusText(status)
	if title == "" {
		title = "Client Closed Request"
	}
	_ = json.NewEncoder(w).Encode(map[string]any{"type": "about:blank", "title": title, "status": status})
}

// StatusClientClosedRequest is the status that the default error handler,
// and the demo app's error mapping, give a request whose client hung up
// before the session was loaded: nginx's 499, for access logs. No client
// ever receives it.
const StatusClientClosedRequest = 499
