package apps

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"fmt"
	"net/http"
	"strings"

	"github.com/go-chi/chi/v5"
	"github.com/gorilla/sessions"
	"github.com/rbcervilla/redisstore/v9"
)

// gorillaCookie is the session name, which gorilla also uses as the cookie
// name.
const gorillaCookie = "session"

// newGorilla builds the app on gorilla/sessions with rbcervilla/redisstore,
// the go-redis v9 store. gorilla has no middleware: each handler loads the
// session with store.Get and writes it with Save.
func newGorilla(cfg Config) (*App, error) {
	// NewRedisStore PINGs Redis; the app is built before any measurement.
	store, err := redisstore.NewRedisStore(context.Background(), cfg.Redis)
	if err != nil {
		return nil, fmt.Errorf("gorilla redis store: %w", err)
	}
	store.KeyPrefix(cfg.Prefix)
	// gorilla's defaults are HttpOnly=false and no SameSite; these are the
	// attributes the other two apps send.
	store.Options(sessions.Options{
		Path:     "/",
		MaxAge:   int(cfg.Lifetime.Seconds()),
		HttpOnly: true,
		SameSite: http.SameSiteLaxMode,
	})
	r := chi.NewRouter()
	routes(r, cfg, func(w http.ResponseWriter, r *http.Request) (sessionAPI, error) {
		s, err := store.Get(r, gorillaCookie)
		if err != nil {
			return nil, fmt.Errorf("gorilla load session: %w", err)
		}
		return gorillaSession{s: s, w: w, r: r}, nil
	})
	return &App{
		Library:    Gorilla,
		Config:     cfg,
		Handler:    r,
		CookieName: gorillaCookie,
		StoreKey:   func(v string) string { return cfg.Prefix + v },
		Forged:     forgedGorilla,
	}, nil
}

// forgedGorilla returns an id of rbcervilla's shape (64 random bytes in
// base32). Its cookie carries the bare id, with no MAC.
func forgedGorilla() string {
	b := make([]byte, 64)
	_, _ = rand.Read(b)
	return strings.TrimRight(base32.StdEncoding.EncodeToString(b), "=")
}

type gorillaSession struct {
	s *sessions.Session
	w http.ResponseWriter
	r *http.Request
}

// login sets the user and saves. gorilla has no way to move a session to a
// new id, so the id the visitor had before login stays valid.
func (g gorillaSession) login(user string) error {
	g.s.Values["user"] = user
	return g.save()
}

func (g gorillaSession) user() string {
	u, _ := g.s.Values["user"].(string)
	return u
}

func (g gorillaSession) set(field, value string) error {
	g.s.Values[field] = value
	return g.save()
}

// logout follows gorilla's documentation: MaxAge < 0 deletes the session.
func (g gorillaSession) logout() error {
	g.s.Options.MaxAge = -1
	return g.save()
}

func (g gorillaSession) save() error {
	if err := g.s.Save(g.r, g.w); err != nil {
		return fmt.Errorf("gorilla save session: %w", err)
	}
	return nil
}

func (g gorillaSession) state() State {
	get := func(k string) string { v, _ := g.s.Values[k].(string); return v }
	return State{Exists: !g.s.IsNew, User: get("user"), A: get("a"), B: get("b"), N: get("n")}
}
