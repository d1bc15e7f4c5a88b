// Package measure runs the comparisons of the report on apps built by
// package apps: Redis round trips per request (through a counting proxy),
// allocations and time per request (testing.B), throughput and latency
// under load, and the correctness checks of the research's acceptance
// table. Each measurement takes the address of a Redis server it may use.
package measure

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/hexchi/starter/bench/internal/apps"
	"github.com/hexchi/starter/internal/auth/session/redisstore"
)

// IdleTimeout is the idle timeout of the "idle on" setups: 30 minutes, a
// common choice. hexchi then touches a session at most every 3 minutes
// (max(1 min, idle/10)); scs rewrites it on every request.
const IdleTimeout = 30 * time.Minute

// Setup is one library in one configuration.
type Setup struct {
	Library apps.Library
	Idle    bool // idle timeout on
	// Near turns on redisstore's near cache (hexchi only), with its
	// defaults: 10 000 records, 16 MiB, 2 s MaxStaleness.
	Near bool
}

// Setups lists every setup the report measures, in its order. gorilla has
// no idle timeout, so it appears once.
func Setups() []Setup {
	return []Setup{
		{apps.Hexchi, false, false}, {apps.Hexchi, true, false},
		{apps.Hexchi, false, true}, {apps.Hexchi, true, true},
		{apps.SCS, false, false}, {apps.SCS, true, false},
		{apps.Gorilla, false, false},
	}
}

// Ceiling is the no-session app of the load rounds with the idle timeout
// idle: it has no idle timeout, but runs in those rounds so that every
// setup's throughput has a ceiling measured beside it.
func Ceiling(idle bool) Setup { return Setup{Library: apps.NoSession, Idle: idle} }

// String names the setup as the report does: "hexchi", "hexchi, idle",
// "hexchi, near cache, idle".
func (s Setup) String() string {
	name := string(s.Library)
	if s.Near {
		name += ", near cache"
	}
	switch {
	case s.Library == apps.NoSession && s.Idle:
		name += " (idle rounds)"
	case s.Idle:
		name += ", idle"
	}
	return name
}

// prefix is the setup's Redis key prefix: every setup has its own, so no
// library ever reads another's keys. No prefix is the start of another's
// either, since a near cache tracks every key that starts with its own.
func (s Setup) prefix() string {
	name := string(s.Library)
	if s.Near {
		name += "-near"
	}
	if s.Idle {
		name += "-idle"
	}
	return "bench:" + name + ":"
}

// config returns the app configuration of the setup on client.
func (s Setup) config(client *redis.Client) apps.Config {
	cfg := apps.Config{Redis: client, Prefix: s.prefix()}
	if s.Idle && s.Library.HasIdleTimeout() {
		cfg.IdleTimeout = IdleTimeout
	}
	if s.Near {
		cfg.NearCache = &redisstore.NearCache{}
	}
	return cfg
}

// trackingTimeout bounds the wait for a near cache's subscription.
const trackingTimeout = 10 * time.Second

// newApp builds the setup's app. With a near cache it returns once the
// cache serves (its subscriber has subscribed): before that every load
// goes to Redis, and a count or a benchmark would measure the start-up.
// The caller closes the app.
func (s Setup) newApp(ctx context.Context, cfg apps.Config) (*apps.App, error) {
	app, err := apps.New(s.Library, cfg)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", s, err)
	}
	if err := waitTracking(ctx, app); err != nil {
		_ = app.Close()
		return nil, fmt.Errorf("%s: %w", s, err)
	}
	return app, nil
}

// cached reports whether app's store has a near cache.
func cached(app *apps.App) bool { return app.Store != nil && app.Config.NearCache != nil }

// waitTracking waits until app's near cache, if it has one, is fed by
// its subscriber.
func waitTracking(ctx context.Context, app *apps.App) error {
	if !cached(app) {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, trackingTimeout)
	defer cancel()
	for {
		st := app.Store.NearCacheStats()
		if st.Tracking {
			return nil
		}
		if st.DisabledBecause != "" {
			return fmt.Errorf("near cache off: %s", st.DisabledBecause)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("the near cache's subscriber did not subscribe: %w", ctx.Err())
		case <-time.After(time.Millisecond):
		}
	}
}

// settle waits until every write made so far has reached app's near cache
// (redisstore's Sync), so that a count or a check starts from a known
// cache: this process's own writes are also echoed back by Redis, and an
// echo that lands after the next read would drop what that read cached.
// It returns at once for an app without a near cache.
func settle(ctx context.Context, app *apps.App) error {
	if !cached(app) {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, trackingTimeout)
	defer cancel()
	if err := app.Store.Sync(ctx); err != nil {
		return fmt.Errorf("near cache sync: %w", err)
	}
	return nil
}

// closeApp closes app, then client; either may be nil.
func closeApp(app *apps.App, client *redis.Client) error {
	var errs []error
	if app != nil {
		errs = append(errs, app.Close())
	}
	if client != nil {
		errs = append(errs, client.Close())
	}
	return errors.Join(errs...)
}

// NewClient returns a go-redis client for addr with the options every app
// gets: go-redis's defaults (a pool of 10 connections per CPU, RESP3), and
// ContextTimeoutEnabled, which hexchi's redisstore asks for so that request
// deadlines reach Redis calls.
func NewClient(addr string) *redis.Client {
	return redis.NewClient(&redis.Options{Addr: addr, ContextTimeoutEnabled: true})
}

// clock is a clock that a check can move forward, for hexchi's Now option.
type clock struct{ offset atomic.Int64 }

func (c *clock) Now() time.Time          { return time.Now().Add(time.Duration(c.offset.Load())) }
func (c *clock) Advance(d time.Duration) { c.offset.Add(int64(d)) }
