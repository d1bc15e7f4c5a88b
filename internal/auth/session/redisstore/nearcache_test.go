package redisstore

import (
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/hexchi/starter/internal/auth/session"
	"github.com/hexchi/starter/internal/auth/session/sessiontest"
)

// newTestCache is a tracking near cache on a clock of the test's.
func newTestCache(cfg NearCache) (*nearCache, *sessiontest.Clock) {
	clk := sessiontest.NewClock(t0)
	c := newNearCache(cfg, clk.Now)
	c.setTracking(true)
	return c, clk
}

// cached fills key with rec through a reservation, as a miss does.
func cached(c *nearCache, key string, rec *session.Record) {
	c.fill(key, c.reserve(key), rec, c.now())
}

func TestNearCacheCoherence(t *testing.T) {
	rec := liveRecord(t0, "g1")
	tests := map[string]struct {
		do       func(c *nearCache, clk *sessiontest.Clock)
		wantHit  bool
		becauseW string
	}{
		"a filled record is served": {
			do:      func(c *nearCache, _ *sessiontest.Clock) { cached(c, "k", rec) },
			wantHit: true,
		},
		"an invalidation between reserve and fill keeps the fetched value out": {
			do: func(c *nearCache, _ *sessiontest.Clock) {
				tok := c.reserve("k")
				c.invalidate("k") // a write ran while the fetch was in flight
				c.fill("k", tok, rec, c.now())
			},
			becauseW: "the fetch may hold what the write replaced",
		},
		"a second reservation wins over the first": {
			do: func(c *nearCache, _ *sessiontest.Clock) {
				first := c.reserve("k")
				c.reserve("k")
				c.fill("k", first, rec, c.now())
			},
			becauseW: "the first fetch is older than the second",
		},
		"a flush between reserve and fill": {
			do: func(c *nearCache, _ *sessiontest.Clock) {
				tok := c.reserve("k")
				c.flush()
				c.fill("k", tok, rec, c.now())
			},
			becauseW: "invalidations may have been lost in the gap",
		},
		"tracking lost": {
			do: func(c *nearCache, _ *sessiontest.Clock) {
				cached(c, "k", rec)
				c.setTracking(false)
			},
			becauseW: "no invalidation arrives any more",
		},
		"tracking back, after a gap": {
			do: func(c *nearCache, _ *sessiontest.Clock) {
				cached(c, "k", rec)
				c.setTracking(false)
				c.setTracking(true)
			},
			becauseW: "the entry is from before the gap",
		},
		"a fill while tracking is off": {
			do: func(c *nearCache, _ *sessiontest.Clock) {
				tok := c.reserve("k")
				c.setTracking(false)
				c.setTracking(true)
				c.fill("k", tok, rec, c.now())
			},
			becauseW: "the reservation is from another epoch",
		},
		"past MaxStaleness": {
			do: func(c *nearCache, clk *sessiontest.Clock) {
				cached(c, "k", rec)
				clk.Advance(2 * time.Second)
			},
			becauseW: "MaxStaleness is the hard bound",
		},
		"just before MaxStaleness": {
			do: func(c *nearCache, clk *sessiontest.Clock) {
				cached(c, "k", rec)
				clk.Advance(2*time.Second - time.Millisecond)
			},
			wantHit: true,
		},
		"cancelled": {
			do: func(c *nearCache, _ *sessiontest.Clock) {
				tok := c.reserve("k")
				c.cancel("k", tok)
				c.fill("k", tok, rec, c.now())
			},
			becauseW: "a cancelled reservation is gone",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			c, clk := newTestCache(NearCache{MaxStaleness: 2 * time.Second})
			tc.do(c, clk)
			_, hit := c.get("k")
			if hit != tc.wantHit {
				t.Errorf("get after %s: hit %v, want %v (%s)", name, hit, tc.wantHit, tc.becauseW)
			}
		})
	}
}

func TestNearCacheNotTrackingServesNothing(t *testing.T) {
	c := newNearCache(NearCache{}, func() time.Time { return t0 })
	if tok := c.reserve("k"); tok != 0 {
		t.Errorf("reserve before tracking = %d, want 0", tok)
	}
	if _, hit := c.get("k"); hit {
		t.Error("a cache that never tracked served a record")
	}
}

func TestNearCacheBounds(t *testing.T) {
	t.Run("entries", func(t *testing.T) {
		c, _ := newTestCache(NearCache{MaxEntries: 3})
		for _, k := range []string{"a", "b", "c"} {
			cached(c, k, liveRecord(t0, ""))
		}
		c.get("a") // a is used: b is now the oldest
		cached(c, "d", liveRecord(t0, ""))
		if _, hit := c.get("b"); hit {
			t.Error("the least recently used entry survived past MaxEntries")
		}
		for _, k := range []string{"a", "c", "d"} {
			if _, hit := c.get(k); !hit {
				t.Errorf("%s was evicted, want only b", k)
			}
		}
		if s := c.snapshot(); s.Entries != 3 {
			t.Errorf("entries = %d, want 3", s.Entries)
		}
	})
	t.Run("bytes", func(t *testing.T) {
		big := liveRecord(t0, "")
		big.Values["blob"] = []byte(strings.Repeat("x", 4000))
		c, _ := newTestCache(NearCache{MaxBytes: 10_000})
		for _, k := range []string{"a", "b", "c", "d"} {
			cached(c, k, big)
		}
		if s := c.snapshot(); s.Bytes > 10_000 || s.Entries != 2 {
			t.Errorf("%d entries of %d bytes, want 2 within 10 000 bytes", s.Entries, s.Bytes)
		}
	})
}

func TestNearCacheSharesNoMemory(t *testing.T) {
	c, _ := newTestCache(NearCache{})
	rec := liveRecord(t0, "")
	cached(c, "k", rec)
	rec.Values["user"][0] = 'X'
	got, _ := c.get("k")
	got.Values["user"][1] = 'Y'
	again, _ := c.get("k")
	if string(again.Values["user"]) != `{"id":42}` {
		t.Errorf("the cached record changed with its caller's copies: %s", again.Values["user"])
	}
}

func TestNearCacheStats(t *testing.T) {
	c, _ := newTestCache(NearCache{})
	cached(c, "k", liveRecord(t0, ""))
	c.get("k")
	c.get("missing")
	c.invalidate("k")
	s := c.snapshot()
	if s.Hits != 1 || s.Misses != 1 || s.Invalidations != 1 || !s.Tracking || s.Entries != 0 {
		t.Errorf("stats %+v, want 1 hit, 1 miss, 1 invalidation, tracking, empty", s)
	}
}

// A Redis that refuses client tracking (here miniredis, which has no CLIENT
// TRACKING; elsewhere an ACL without CLIENT) turns the near cache off for
// good: the store reads from Redis, says why, and does not reconnect in a
// loop.
func TestNearCacheRefusedByRedis(t *testing.T) {
	var logs strings.Builder
	e := newEnv(t, WithNearCache(NearCache{Logger: slog.New(slog.NewTextHandler(&syncWriter{w: &logs}, nil))}))
	t.Cleanup(func() {
		if err := e.store.Close(); err != nil {
			t.Errorf("Close = %v", err)
		}
	})
	select {
	case <-e.store.tracker.done:
	case <-time.After(10 * time.Second):
		t.Fatal("the subscriber still runs against a Redis that refused tracking")
	}
	st := e.store.NearCacheStats()
	if !strings.Contains(st.DisabledBecause, "client tracking") || st.Tracking {
		t.Errorf("stats = %+v, want off for good, because of client tracking", st)
	}
	h := e.mustCreate(t, liveRecord(e.Now(), "g"))
	for range 2 {
		if _, err := e.store.Load(t.Context(), h, session.Touch{}); err != nil {
			t.Fatalf("Load = %v", err)
		}
	}
	if st := e.store.NearCacheStats(); st.Hits != 0 {
		t.Errorf("hits = %d on a cache that is off", st.Hits)
	}
	// The error is logged before done is closed.
	if got := logs.String(); !strings.Contains(got, "level=ERROR") || !strings.Contains(got, "near cache off") {
		t.Errorf("log = %q, want an error that the near cache is off", got)
	}
}

// syncWriter serializes writes to w.
type syncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}

// The near cache runs on a single-node client only; elsewhere the store
// runs uncached and says why.
func TestNearCacheOnlyOnASingleNode(t *testing.T) {
	tests := map[string]struct {
		client redis.UniversalClient
		want   string
	}{
		"cluster":  {redis.NewClusterClient(&redis.ClusterOptions{Addrs: []string{"127.0.0.1:1"}}), "Redis Cluster"},
		"sentinel": {redis.NewFailoverClient(&redis.FailoverOptions{MasterName: "m", SentinelAddrs: []string{"127.0.0.1:1"}}), "Sentinel"},
		"a ring":   {redis.NewRing(&redis.RingOptions{Addrs: map[string]string{"a": "127.0.0.1:1"}}), "not a single-node"},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			t.Cleanup(func() { _ = tt.client.Close() })
			st := New(tt.client, WithNearCache(NearCache{}))
			if got := st.NearCacheStats().DisabledBecause; !strings.Contains(got, tt.want) {
				t.Errorf("DisabledBecause = %q, want it to say %q", got, tt.want)
			}
			if err := st.Close(); err != nil {
				t.Errorf("Close = %v", err)
			}
		})
	}
}

// replyError is an error reply from Redis, as go-redis reports one.
type replyError string

func (e replyError) Error() string { return string(e) }
func (replyError) RedisError()     {}

// Only a Redis that cannot or may not track turns the cache off for good;
// a passing state is retried.
func TestIsRefusal(t *testing.T) {
	for err, want := range map[error]bool{
		replyError("ERR unknown subcommand 'TRACKING'. Try CLIENT HELP."):                     true,
		replyError("ERR Unknown subcommand or wrong number of arguments for 'TRACKING'"):      true,
		replyError("NOPERM User app has no permissions to run the 'client|tracking' command"): true,
		replyError("ERR max number of clients reached"):                                       false,
		replyError("LOADING Redis is loading the dataset in memory"):                          false,
		io.EOF: false,
	} {
		if got := isRefusal(fmt.Errorf("near cache: client tracking: %w", err)); got != want {
			t.Errorf("isRefusal(%v) = %v, want %v", err, got, want)
		}
	}
}
