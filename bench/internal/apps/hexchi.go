package apps

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"

	"github.com/go-chi/chi/v5"

	"github.com/hexchi/starter/internal/auth/session"
	"github.com/hexchi/starter/internal/auth/session/redisstore"
)

// hexchiData is the app's session data. The group is the user, as in the
// demo app, so a login also indexes the session for "my sessions".
type hexchiData struct {
	User string `json:"user,omitempty"`
	A    string `json:"a,omitempty"`
	B    string `json:"b,omitempty"`
	N    string `json:"n,omitempty"`
}

func (d *hexchiData) IsAuthenticated() bool  { return d.User != "" }
func (d *hexchiData) SessionGroupID() string { return d.User }

func newHexchi(cfg Config) (*App, error) {
	secret := cfg.Secret
	if secret == nil {
		secret = make([]byte, 32)
		_, _ = rand.Read(secret) // crypto/rand.Read never returns an error since Go 1.24
	}
	opts := []redisstore.Option{redisstore.WithKeyPrefix(cfg.Prefix), redisstore.WithClock(cfg.Now)}
	if cfg.NearCache != nil {
		nc := *cfg.NearCache
		if nc.Logger == nil {
			nc.Logger = slog.New(slog.DiscardHandler) // as the Manager's, below
		}
		opts = append(opts, redisstore.WithNearCache(nc))
	}
	store := redisstore.New(cfg.Redis, opts...)
	if cfg.NearCache != nil {
		if why := store.NearCacheStats().DisabledBecause; why != "" {
			_ = store.Close()
			return nil, fmt.Errorf("hexchi near cache is off: %s", why)
		}
	}
	m, err := session.New(session.Options[*hexchiData]{
		Store:       store,
		Secrets:     [][]byte{secret},
		New:         func() *hexchiData { return &hexchiData{} },
		Lifetime:    cfg.Lifetime,
		IdleTimeout: cfg.IdleTimeout,
		// The benchmarks speak plain http to a loopback server.
		Cookie: session.Cookie{Insecure: true},
		// scs and gorilla log nothing; neither does hexchi here, so that
		// the log handler is not what the benchmark measures.
		Logger: slog.New(slog.DiscardHandler),
		Now:    cfg.Now,
	})
	if err != nil {
		_ = store.Close()
		return nil, fmt.Errorf("hexchi session manager: %w", err)
	}
	r := chi.NewRouter()
	r.Use(m.Middleware)
	routes(r, cfg, func(_ http.ResponseWriter, r *http.Request) (sessionAPI, error) {
		return hexchiSession{m.From(r.Context())}, nil
	})
	r.Post("/revoke", func(w http.ResponseWriter, r *http.Request) {
		if err := m.From(r.Context()).Revoke(r.Context(), r.URL.Query().Get("h")); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
		}
	})
	r.Post("/logout-everywhere", func(w http.ResponseWriter, r *http.Request) {
		if _, err := m.From(r.Context()).DestroyGroup(r.Context(), true); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
		}
	})
	const cookieName = "SID" // the module's default
	return &App{
		Library:    Hexchi,
		Config:     cfg,
		Handler:    r,
		CookieName: cookieName,
		StoreKey:   func(v string) string { return cfg.Prefix + "s:" + hexchiHandle(v) },
		Forged:     forgedHexchi,
		Store:      store,
		Handle:     hexchiHandle,
	}, nil
}

// hexchiHandle returns the store handle of a cookie value:
// base64url(SHA-256(id)), where id is the value up to its last '.'
// (redisstore's layout).
func hexchiHandle(v string) string {
	if u, err := url.PathUnescape(v); err == nil {
		v = u
	}
	if i := strings.LastIndexByte(v, '.'); i >= 0 {
		v = v[:i]
	}
	sum := sha256.Sum256([]byte(v))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// forgedHexchi returns a well-formed id signed with a key the app does not
// have: it passes every format check and fails only the MAC.
func forgedHexchi() string {
	id := make([]byte, 32)
	key := make([]byte, 32)
	_, _ = rand.Read(id)
	_, _ = rand.Read(key)
	v := base64.RawURLEncoding.EncodeToString(id)
	h := hmac.New(sha256.New, key)
	h.Write([]byte(v))
	sig := base64.RawStdEncoding.EncodeToString(h.Sum(nil))
	return strings.NewReplacer("+", "%2B", "/", "%2F").Replace(v + "." + sig)
}

type hexchiSession struct{ s *session.Session[*hexchiData] }

// login logs the session in: the module moves it to a new id, with the
// authenticated lifetime, when it is committed.
func (h hexchiSession) login(user string) error {
	return h.s.Login(true, func(d *hexchiData) { d.User = user })
}

func (h hexchiSession) user() string { return h.s.Data().User }

func (h hexchiSession) set(field, value string) error {
	d := h.s.Data()
	switch field {
	case "a":
		d.A = value
	case "b":
		d.B = value
	default:
		d.N = value
	}
	return nil
}

func (h hexchiSession) logout() error { return h.s.Destroy() }

func (h hexchiSession) state() State {
	d := h.s.Data()
	return State{Exists: h.s.Handle() != "", User: d.User, A: d.A, B: d.B, N: d.N}
}
