// Package measure runs the comparisons of the report on apps built by
// package apps: Redis round trips per request (through a counting proxy),
// allocations and time per request (testing.B), throughput and latency
// under load, and the correctness checks of the research's acceptance
// table. Each measurement takes the address of a Redis server it may use.
package measure

import (
	"fmt"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/hexchi/starter/bench/internal/apps"
)

// IdleTimeout is the idle timeout of the "idle on" setups: 30 minutes, a
// common choice. hexchi then touches a session at most every 3 minutes
// (max(1 min, idle/10)); scs rewrites it on every request.
const IdleTimeout = 30 * time.Minute

// Setup is one library in one configuration.
type Setup struct {
	Library apps.Library
	Idle    bool // idle timeout on
}

// Setups lists every setup the report measures, in its order. gorilla has
// no idle timeout, so it appears once.
func Setups() []Setup {
	return []Setup{
		{apps.Hexchi, false}, {apps.Hexchi, true},
		{apps.SCS, false}, {apps.SCS, true},
		{apps.Gorilla, false},
	}
}

// String names the setup as the report does: "hexchi" or "hexchi, idle".
func (s Setup) String() string {
	if s.Idle {
		return string(s.Library) + ", idle"
	}
	return string(s.Library)
}

// prefix is the setup's Redis key prefix: every setup has its own, so no
// library ever reads another's keys.
func (s Setup) prefix() string {
	if s.Idle {
		return "bench:" + string(s.Library) + "-idle:"
	}
	return "bench:" + string(s.Library) + ":"
}

// config returns the app configuration of the setup on client.
func (s Setup) config(client *redis.Client) apps.Config {
	cfg := apps.Config{Redis: client, Prefix: s.prefix()}
	if s.Idle {
		cfg.IdleTimeout = IdleTimeout
	}
	return cfg
}

// newApp builds the setup's app.
func (s Setup) newApp(cfg apps.Config) (*apps.App, error) {
	app, err := apps.New(s.Library, cfg)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", s, err)
	}
	return app, nil
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
