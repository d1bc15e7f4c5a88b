package apps

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"net/http"

	"github.com/alexedwards/scs/goredisstore"
	"github.com/alexedwards/scs/v2"
	"github.com/go-chi/chi/v5"
)

// newSCS builds the app on scs with its defaults (gob codec, tokens stored
// as they are), as its README wires it.
func newSCS(cfg Config) (*App, error) {
	sm := scs.New()
	sm.Store = goredisstore.NewWithPrefix(cfg.Redis, cfg.Prefix)
	sm.Lifetime = cfg.Lifetime
	sm.IdleTimeout = cfg.IdleTimeout
	r := chi.NewRouter()
	r.Use(sm.LoadAndSave)
	routes(r, cfg, func(_ http.ResponseWriter, r *http.Request) (sessionAPI, error) {
		return scsSession{sm: sm, ctx: r.Context()}, nil
	})
	return &App{
		Library:    SCS,
		Config:     cfg,
		Handler:    r,
		CookieName: sm.Cookie.Name,
		StoreKey:   func(v string) string { return cfg.Prefix + v },
		Forged:     forgedSCS,
	}, nil
}

// forgedSCS returns a token of scs's own shape (32 random bytes in
// base64url). scs tokens carry no MAC, so any string is as good a forgery.
func forgedSCS() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

type scsSession struct {
	sm  *scs.SessionManager
	ctx context.Context
}

// login follows the scs README: RenewToken on a privilege change, then Put.
func (s scsSession) login(user string) error {
	if err := s.sm.RenewToken(s.ctx); err != nil {
		return fmt.Errorf("scs renew token: %w", err)
	}
	s.sm.Put(s.ctx, "user", user)
	return nil
}

func (s scsSession) user() string { return s.sm.GetString(s.ctx, "user") }

func (s scsSession) set(field, value string) error {
	s.sm.Put(s.ctx, field, value)
	return nil
}

func (s scsSession) logout() error {
	if err := s.sm.Destroy(s.ctx); err != nil {
		return fmt.Errorf("scs destroy: %w", err)
	}
	return nil
}

func (s scsSession) state() State {
	get := func(k string) string { return s.sm.GetString(s.ctx, k) }
	// Token is "" for a session that was not found in the store.
	return State{Exists: s.sm.Token(s.ctx) != "", User: get("user"), A: get("a"), B: get("b"), N: get("n")}
}
