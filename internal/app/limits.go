package app

import (
	"fmt"
	"log/slog"

	"github.com/go-chi/httprate"
	goredis "github.com/redis/go-redis/v9"

	"github.com/hexchi/starter/internal/auth"
	"github.com/hexchi/starter/internal/platform/config"
	"github.com/hexchi/starter/internal/platform/redis"
)

// loginLimits returns the login limits of cfg, counted in Redis when the
// sessions are (rdb not nil), so that every replica spends the same budget;
// in memory otherwise. On a Cluster they stay in memory, per replica, and
// the app says so at start: httprate-redis takes a single-node or Sentinel
// client only (auth.NewRedisCounter). closeLimits closes what they opened.
//
// In Redis the limits get a client of their own, on the same Redis, not
// the sessions' pool. httprate-redis counts in a MULTI transaction, and
// when Redis answers MULTI itself with an error (LOADING after a restart,
// BUSY behind a slow script) go-redis v9 leaves the rest of the replies
// unread on the connection and puts it back in its pool: the next command
// on it reads another's reply. On a pool of their own, that can only ever
// cost a login limit one wrong count, never a session read. The client is
// not traced: httprate-redis gives its commands no context, so their spans
// would be traces of their own, under no request. Nor is it bounded by
// the request's deadline: by its own timeouts, with no retries.
func loginLimits(cfg config.Core, rdb *redis.Client, log *slog.Logger) (_ auth.Limits, closeLimits func() error, _ error) {
	l := cfg.Auth.Login
	limits := auth.Limits{PerClient: l.PerClient, PerUsername: l.PerUsername, Window: l.Window}
	closeLimits = func() error { return nil }
	if rdb == nil {
		return limits, closeLimits, nil
	}
	// A Sentinel client is a *goredis.Client too, one that follows the
	// master through a failover.
	if _, ok := rdb.UniversalClient.(*goredis.Client); !ok {
		log.Warn("login limits count in each replica's memory: behind N replicas a client gets N times the budget",
			"because", "httprate-redis does not run on Redis Cluster")
		return limits, closeLimits, nil
	}
	// No retries, and one dial: httprate-redis sends its commands with no
	// context, so only the client's own timeouts bound them, and a login
	// should wait for a Redis that does not answer no longer than a
	// session call does (one read or write timeout).
	own, err := redis.New(cfg.Redis, func(o *goredis.UniversalOptions) {
		o.MaxRetries, o.DialerRetries = -1, 1
	})
	if err != nil {
		return limits, closeLimits, fmt.Errorf("login limits: %w", err)
	}
	client, ok := own.UniversalClient.(*goredis.Client)
	if !ok { // the same config as rdb's: cannot happen
		_ = own.Close()
		return limits, closeLimits, fmt.Errorf("login limits: a %T for the config of a *goredis.Client", own.UniversalClient)
	}
	limits.Counter = func(limit string) httprate.LimitCounter {
		return auth.NewRedisCounter(client, cfg.Redis.KeyPrefix+"login:"+limit)
	}
	return limits, own.Close, nil
}
