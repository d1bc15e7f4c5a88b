package session_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"github.com/hexchi/starter/internal/auth/session"
	"github.com/hexchi/starter/internal/auth/session/memstore"
	"github.com/hexchi/starter/internal/auth/session/redisstore"
)

// storeCase makes a store on the test's clock.
type storeCase struct {
	name string
	new  func(t *testing.T, clk *clock) session.Store
}

// stores are the stores every behaviour test runs against. The integration
// suite in tests/ runs the same scenarios against a real Redis.
var stores = []storeCase{
	{"memory", func(t *testing.T, clk *clock) session.Store { return memstore.New(memstore.WithClock(clk.Now)) }},
	{"redis", func(t *testing.T, clk *clock) session.Store {
		s, _ := newRedisStore(t, clk)
		return s
	}},
}

// newRedisStore returns a Redis store on miniredis, kept on the test clock,
// and a counter of the client's round trips.
func newRedisStore(t *testing.T, clk *clock) (*redisstore.Store, *roundTrips) {
	t.Helper()
	s, rt, _ := newMiniredisStore(t, clk)
	return s, rt
}

// newMiniredisStore is newRedisStore that also returns the server, for tests
// that reach into Redis.
func newMiniredisStore(t *testing.T, clk *clock) (*redisstore.Store, *roundTrips, *miniredis.Miniredis) {
	t.Helper()
	mr := miniredis.RunT(t)
	mr.SetTime(clk.Now())
	t.Cleanup(clk.OnAdvance(func(now time.Time, d time.Duration) {
		mr.SetTime(now)
		mr.FastForward(d)
	}))
	client := redis.NewClient(&redis.Options{Addr: mr.Addr(), ContextTimeoutEnabled: true})
	t.Cleanup(func() { client.Close() })
	if err := client.Ping(t.Context()).Err(); err != nil {
		t.Fatalf("ping miniredis: %v", err)
	}
	rt := &roundTrips{}
	client.AddHook(rt)
	return redisstore.New(client, redisstore.WithClock(clk.Now)), rt, mr
}

// roundTrips counts what a go-redis client sends: one per command and one
// per pipeline, which is one network round trip each on a single node.
type roundTrips struct{ n atomic.Int64 }

func (c *roundTrips) DialHook(next redis.DialHook) redis.DialHook { return next }

func (c *roundTrips) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		c.n.Add(1)
		return next(ctx, cmd)
	}
}

func (c *roundTrips) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		c.n.Add(1)
		return next(ctx, cmds)
	}
}

// take returns the count since the last take.
func (c *roundTrips) take() int64 { return c.n.Swap(0) }
