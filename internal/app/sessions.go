package app

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/hexchi/starter/internal/auth"
	"github.com/hexchi/starter/internal/auth/session"
	"github.com/hexchi/starter/internal/auth/session/memstore"
	"github.com/hexchi/starter/internal/auth/session/redisstore"
	"github.com/hexchi/starter/internal/platform/config"
	"github.com/hexchi/starter/internal/platform/redis"
	"github.com/hexchi/starter/internal/platform/telemetry"
	"github.com/hexchi/starter/internal/platform/web"
)

// newSessions builds the session manager from core.auth.session, on the
// Redis store when rdb is not nil and the memory store otherwise, and
// instrumented with tel. closeStore ends what the store runs of its own
// (the near cache's subscriber); Run calls it before it closes rdb.
func newSessions(cfg config.Core, rdb *redis.Client, log *slog.Logger, onError func(http.ResponseWriter, *http.Request, error), tel *telemetry.Telemetry) (m *auth.Sessions, closeStore func() error, err error) {
	moduleLog := log.With("component", "session")
	var store session.Store = memstore.New()
	closeStore = func() error { return nil }
	// A request waits for Redis at most its read or write timeout, once: a
	// paused Redis is answered 503 within core.redis.readTimeout instead of
	// after go-redis has retried the timed-out command.
	var storeTimeout time.Duration
	var cached *redisstore.Store // the Redis store, when its near cache runs
	if rdb != nil {
		opts := []redisstore.Option{redisstore.WithKeyPrefix(cfg.Redis.KeyPrefix)}
		if nc := cfg.Auth.Session.NearCache; nc.Enabled {
			opts = append(opts, redisstore.WithNearCache(redisstore.NearCache{
				MaxEntries:   nc.MaxEntries,
				MaxBytes:     nc.MaxBytes,
				MaxStaleness: nc.MaxStaleness,
				Logger:       moduleLog,
			}))
		}
		// go-redis's own client, not the wrapper: the store must see a
		// Cluster or a Sentinel client for what it is.
		rs := redisstore.New(rdb.UniversalClient, opts...)
		store, closeStore = rs, rs.Close
		storeTimeout = max(cfg.Redis.ReadTimeout, cfg.Redis.WriteTimeout)
		if cfg.Auth.Session.NearCache.Enabled {
			if why := rs.NearCacheStats().DisabledBecause; why != "" {
				moduleLog.Info("session near cache off, sessions are read from Redis", "because", why)
			} else {
				cached = rs
			}
		}
	}
	defer func() {
		if err != nil {
			_ = closeStore()
		}
	}()
	// Telemetry (telemetry.go): every store call timed and traced by a
	// wrapper, every event counted before its audit line.
	st, err := newSessionTelemetry(tel, cached)
	if err != nil {
		return nil, nil, fmt.Errorf("session telemetry: %w", err)
	}
	store = st.store(store)
	s := cfg.Auth.Session
	secrets := make([][]byte, len(s.Cookie.Sign))
	for i, secret := range s.Cookie.Sign {
		secrets[i] = []byte(secret.Reveal())
	}
	m, err = session.New(session.Options[*auth.SessionData]{
		Store:               store,
		Secrets:             secrets,
		New:                 auth.NewSessionData,
		Decode:              auth.DecodeSessionData,
		InitialLifetime:     s.InitialLifetime,
		Lifetime:            s.Lifetime,
		IdleTimeout:         s.IdleTimeout,
		MaxSessionsPerGroup: s.MaxSessionsPerGroup,
		ClearSiteData:       s.ClearSiteData,
		StoreTimeout:        storeTimeout,
		Cookie: session.Cookie{
			Name:           s.Cookie.Name,
			Path:           s.Cookie.Path,
			Domain:         s.Cookie.Domain,
			SameSite:       sameSite(s.Cookie.SameSite),
			Insecure:       !s.Cookie.Secure,
			BrowserSession: !s.Cookie.Persistent,
			Partitioned:    s.Cookie.Partitioned,
		},
		ErrorHandler: onError,
		Logger:       moduleLog,
		OnEvent:      st.onEvent(audit(log)),
	})
	if err != nil {
		return nil, nil, fmt.Errorf("core.auth.session: %w", err)
	}
	return m, closeStore, nil
}

// audit writes the audit lines of logins and logouts. They come from the
// session module's events, which fire once the change is stored: a login
// that a store failure undid is never logged as a login. The user id is the
// session's group; the module's own lines carry only a short handle.
func audit(log *slog.Logger) func(context.Context, session.Event) {
	return func(ctx context.Context, e session.Event) {
		switch {
		case e.Group == "":
		case e.Kind == session.EventAuthenticated:
			log.InfoContext(ctx, "login", "user", e.Group, "client", web.ClientIP(ctx), "session", session.ShortHandle(e.Handle))
		case e.Kind == session.EventDestroyed:
			log.InfoContext(ctx, "logout", "user", e.Group, "session", session.ShortHandle(e.Handle))
		}
	}
}

// session returns the request's session; the handlers run inside the
// session middleware, so there always is one.
func (a *app) session(r *http.Request) *auth.Session { return a.sessions.From(r.Context()) }

// sameSite maps the validated config value to net/http's.
func sameSite(v string) http.SameSite {
	switch strings.ToLower(v) {
	case "strict":
		return http.SameSiteStrictMode
	case "none":
		return http.SameSiteNoneMode
	default:
		return http.SameSiteLaxMode
	}
}
