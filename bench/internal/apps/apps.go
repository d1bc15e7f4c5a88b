// Package apps builds the same small chi app on three session libraries:
// hexchi's own module, scs (with its go-redis store) and gorilla/sessions
// (with rbcervilla/redisstore). The benchmarks and the correctness checks
// drive all three through the same routes, so that any difference they see
// is the library's.
//
// Routes, identical in every app:
//
//	POST /login?user=U   log in as U (hexchi and scs move the session to a new id)
//	GET  /read           answer the session's user id (read-only)
//	POST /write?f=F      set field F (a, b or n) to a new value and answer it
//	POST /logout         end the session
//	GET  /state          answer the session as JSON, for the checks
//	GET  /hold/read      like /read, but wait in Config.Hold after the load
//	POST /hold/write?f=F like /write, but wait in Config.Hold after the load
//
// hexchi's app also has the two routes that end another session of the
// same user, which the other libraries have no call for:
//
//	POST /revoke?h=H        end the session whose store handle is H
//	POST /logout-everywhere end every other session of the user
//
// NoSession is the same routes with no session library at all: the
// ceiling a library's throughput is measured against.
package apps

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/redis/go-redis/v9"

	"github.com/hexchi/starter/internal/auth/session/redisstore"
)

// Library names a session library under test.
type Library string

// The libraries under test.
const (
	Hexchi  Library = "hexchi"
	SCS     Library = "scs"
	Gorilla Library = "gorilla"
	// NoSession is no library: the routes of NewBaseline, whose throughput
	// is the ceiling of every library's. It takes no Config.
	NoSession Library = "no session"
)

// Libraries lists every library in the order the report shows them.
var Libraries = []Library{Hexchi, SCS, Gorilla}

// HasIdleTimeout reports whether the library has an idle timeout.
// gorilla/sessions has none: a store's TTL is MaxAge from the last Save.
func (l Library) HasIdleTimeout() bool { return l != Gorilla && l != NoSession }

// Config is what every app is built from.
type Config struct {
	// Redis is the client the session store uses. It is a *redis.Client,
	// not a UniversalClient, because scs's goredisstore takes only that.
	Redis *redis.Client
	// Prefix is the store's key prefix, so that the apps sharing one Redis
	// never see each other's keys.
	Prefix string
	// IdleTimeout is the library's idle timeout; 0 turns it off. Gorilla
	// has none and rejects a non-zero value.
	IdleTimeout time.Duration
	// Lifetime is the absolute lifetime of a logged-in session.
	// Default 6 hours (hexchi's default).
	Lifetime time.Duration
	// Now is hexchi's clock, so that a check can make an idle touch due
	// without waiting. scs and gorilla read time.Now and ignore it.
	Now func() time.Time
	// Hold, if set, is called by the /hold/ routes after the session has
	// been loaded and before it is used: it holds a request in flight while
	// another one runs. It must return when the request's context ends.
	Hold func(r *http.Request)
	// NearCache, hexchi only, turns on redisstore's near cache with these
	// settings. The app's Close then ends its subscriber connection.
	NearCache *redisstore.NearCache
	// Secret, hexchi only, is the cookie-signing secret; random if nil.
	// Two apps with the same Secret and Prefix are two replicas of one
	// service: each accepts the other's cookies.
	Secret []byte
}

// App is one library's app.
type App struct {
	Library Library
	Config  Config
	// Handler serves the routes of the package comment.
	Handler http.Handler
	// CookieName is the name of the session cookie.
	CookieName string
	// StoreKey returns the Redis key that holds the session of a cookie
	// value, so that a check can read its TTL.
	StoreKey func(cookieValue string) string
	// Forged returns a cookie value that passes every check the library
	// makes before its store lookup but names no session: a guessed id.
	Forged func() string
	// Store is hexchi's session store, nil for the other libraries: the
	// checks and the lag measurement wait on its near cache (Sync) and
	// read its counters (NearCacheStats).
	Store *redisstore.Store
	// Handle returns the store handle of a cookie value (hexchi only), the
	// argument of /revoke.
	Handle func(cookieValue string) string
}

// Close releases what the app holds besides its Redis client, which is the
// caller's: the near cache's subscriber, if it has one.
func (a *App) Close() error {
	if a.Store == nil {
		return nil
	}
	if err := a.Store.Close(); err != nil {
		return fmt.Errorf("%s: close store: %w", a.Library, err)
	}
	return nil
}

// State is what GET /state answers.
type State struct {
	// Exists reports that the request's cookie named a stored session.
	Exists bool   `json:"exists"`
	User   string `json:"user"`
	A      string `json:"a"`
	B      string `json:"b"`
	N      string `json:"n"`
}

// New builds lib's app.
func New(lib Library, cfg Config) (*App, error) {
	if lib == NoSession {
		return &App{Library: NoSession, Handler: NewBaseline()}, nil
	}
	if cfg.Redis == nil {
		return nil, errors.New("apps: Config.Redis is required")
	}
	if cfg.IdleTimeout < 0 || cfg.Lifetime < 0 {
		return nil, errors.New("apps: durations must not be negative")
	}
	if cfg.Lifetime == 0 {
		cfg.Lifetime = 6 * time.Hour
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Hold == nil {
		cfg.Hold = func(*http.Request) {}
	}
	if lib != Hexchi && (cfg.NearCache != nil || cfg.Secret != nil) {
		return nil, fmt.Errorf("apps: NearCache and Secret are hexchi's options, not %s's", lib)
	}
	switch lib {
	case Hexchi:
		return newHexchi(cfg)
	case SCS:
		return newSCS(cfg)
	case Gorilla:
		if cfg.IdleTimeout != 0 {
			return nil, errors.New("apps: gorilla/sessions has no idle timeout")
		}
		return newGorilla(cfg)
	default:
		return nil, fmt.Errorf("apps: unknown library %q", lib)
	}
}

// sessionAPI is what the routes need from a library, for one request. Each
// library implements it over its own session object.
type sessionAPI interface {
	login(user string) error
	user() string
	set(field, value string) error
	logout() error
	state() State
}

// routes mounts the shared routes on r. open returns the request's session;
// it runs inside the library's middleware, if it has one, and for gorilla
// it is where the session is loaded.
func routes(r chi.Router, cfg Config, open func(w http.ResponseWriter, r *http.Request) (sessionAPI, error)) {
	// Every /write stores a value never written before, so that it is a
	// real change for every library.
	var seq atomic.Int64
	with := func(hold bool, h func(w http.ResponseWriter, r *http.Request, s sessionAPI) error) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			s, err := open(w, r)
			if err == nil {
				if hold {
					cfg.Hold(r)
				}
				err = h(w, r, s)
			}
			if err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
			}
		}
	}
	read := func(w http.ResponseWriter, _ *http.Request, s sessionAPI) error {
		_, err := w.Write([]byte(s.user()))
		return err
	}
	write := func(w http.ResponseWriter, r *http.Request, s sessionAPI) error {
		field := r.URL.Query().Get("f")
		if field != "a" && field != "b" && field != "n" {
			http.Error(w, "f must be a, b or n", http.StatusBadRequest)
			return nil
		}
		v := strconv.FormatInt(seq.Add(1), 10)
		if err := s.set(field, v); err != nil {
			return err
		}
		_, err := w.Write([]byte(v))
		return err
	}
	r.Post("/login", with(false, func(w http.ResponseWriter, r *http.Request, s sessionAPI) error {
		user := r.URL.Query().Get("user")
		if user == "" {
			http.Error(w, "user is required", http.StatusBadRequest)
			return nil
		}
		return s.login(user)
	}))
	r.Get("/read", with(false, read))
	r.Post("/write", with(false, write))
	r.Post("/logout", with(false, func(_ http.ResponseWriter, _ *http.Request, s sessionAPI) error {
		return s.logout()
	}))
	r.Get("/state", with(false, func(w http.ResponseWriter, _ *http.Request, s sessionAPI) error {
		w.Header().Set("Content-Type", "application/json")
		return json.NewEncoder(w).Encode(s.state())
	}))
	r.Get("/hold/read", with(true, read))
	r.Post("/hold/write", with(true, write))
}
