package tests

import (
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/hexchi/starter/internal/auth/session"
	"github.com/hexchi/starter/internal/auth/session/redisstore"
	"github.com/hexchi/starter/internal/auth/session/sessiontest"
)

// TestConformanceRedis runs the session store conformance suite against a
// real Redis. Time is the suite's: the store runs on a ServerClock, an hour
// ahead of Redis's, so every expiry is the store's decision and no check
// depends on how fast a loaded machine runs the suite.
func TestConformanceRedis(t *testing.T) {
	runConformance(t, newClient(t, redisAddr(t)))
}

// runConformance runs the suite on client, each subtest under a key prefix
// of its own (ownPrefix).
func runConformance(t *testing.T, client redis.UniversalClient) {
	clock := sessiontest.ServerClock()
	sessiontest.Run(t, sessiontest.Harness{
		New: func(t *testing.T) session.Store {
			return redisstore.New(client, redisstore.WithKeyPrefix(ownPrefix(t, client)), redisstore.WithClock(clock.Now))
		},
		Now:     clock.Now,
		Advance: func(_ *testing.T, d time.Duration) { clock.Advance(d) },
	})
}

// ownPrefix returns a key prefix of the test's own, whose keys on client
// are deleted when it ends: a ServerClock's keys would otherwise live an
// hour on a shared Redis.
func ownPrefix(t *testing.T, client redis.UniversalClient) string {
	prefix := keyPrefix()
	t.Cleanup(func() {
		if keys := keysUnder(t, client, prefix); len(keys) > 0 {
			deleteKeys(t, client, keys)
		}
	})
	return prefix
}
