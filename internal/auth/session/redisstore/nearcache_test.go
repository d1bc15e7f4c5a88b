package redisstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
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
	t.Run("a record bigger than MaxBytes on its own", func(t *testing.T) {
		small := liveRecord(t0, "")
		huge := liveRecord(t0, "")
		huge.Values["blob"] = []byte(strings.Repeat("x", 1<<20))
		c, _ := newTestCache(NearCache{MaxBytes: 10_000})
		cached(c, "small", small)
		cached(c, "huge", huge)
		if s := c.snapshot(); s.Bytes > 10_000 {
			t.Errorf("%d entries of %d bytes, want at most 10 000 bytes", s.Entries, s.Bytes)
		}
		if _, hit := c.get("huge"); hit {
			t.Error("a record bigger than MaxBytes was served from the cache")
		}
		if _, hit := c.get("small"); !hit {
			t.Error("a record bigger than MaxBytes pushed out another one, and was not kept itself")
		}
	})
	t.Run("a reservation bigger than MaxBytes", func(t *testing.T) {
		c, _ := newTestCache(NearCache{MaxBytes: entryOverhead / 2})
		c.reserve("k") // pending, it still costs entryOverhead
		if s := c.snapshot(); s.Bytes > entryOverhead/2 {
			t.Errorf("%d entries of %d bytes, want at most %d bytes", s.Entries, s.Bytes, entryOverhead/2)
		}
	})
}

// trackByHand gives s a near cache that tracks, with no subscriber: no
// invalidation ever arrives, not even the echo of s's own writes, so what
// the cache holds is what the store's own code put there and dropped. (On
// miniredis, which has no CLIENT TRACKING, a real subscriber would turn the
// cache off.)
func trackByHand(s *Store, cfg NearCache) {
	s.near = newNearCache(cfg, s.now)
	s.near.setTracking(true)
}

// Read-your-writes, at the store: once one of the store's writes has
// returned, a Load through the same store never returns what the write
// replaced, even when another Load ran while the write was on its way to
// Redis and read the record before it changed. Redis's echo of the write
// would hide a store that forgets too early (it drops the key a moment
// later), so there is none here: the cache tracks by hand, and a hook
// holds the write before it is sent until the concurrent Load is done.
func TestNearCacheReadYourWrites(t *testing.T) {
	type op func(ctx context.Context, e *env, h string) error
	notFound := func(rec *session.Record, err error) string {
		if !errors.Is(err, session.ErrNotFound) {
			return fmt.Sprintf("Load = %v, %v; want ErrNotFound", rec, err)
		}
		return ""
	}
	touch := session.Touch{Now: t0, Idle: 30 * time.Minute, Every: time.Minute}
	tests := map[string]struct {
		op    op
		check func(*session.Record, error) string
	}{
		"patch": {
			op: func(ctx context.Context, e *env, h string) error {
				return e.store.Patch(ctx, h, &session.Patch{Set: map[string][]byte{"user": []byte(`{"id":43}`)}})
			},
			check: func(rec *session.Record, err error) string {
				if err != nil || string(rec.Values["user"]) != `{"id":43}` {
					return fmt.Sprintf("Load = %v, %v; want user {\"id\":43}", rec, err)
				}
				return ""
			},
		},
		"delete (logout, revoke)": {
			op: func(ctx context.Context, e *env, h string) error {
				return e.store.Delete(ctx, session.Ref{Handle: h, Group: "g"})
			},
			check: notFound,
		},
		"delete group (log out everywhere)": {
			op: func(ctx context.Context, e *env, _ string) error {
				_, err := e.store.DeleteGroup(ctx, "g", "")
				return err
			},
			check: notFound,
		},
		"create replacing it (login, renew)": {
			op: func(ctx context.Context, e *env, h string) error {
				return createErr(e.store.Create(ctx, newHandle(), liveRecord(e.Now(), "g"),
					session.CreateOptions{Replaces: session.Ref{Handle: h, Group: "g"}}))
			},
			check: notFound,
		},
		"create evicting it past the group limit": {
			op: func(ctx context.Context, e *env, _ string) error {
				later := liveRecord(e.Now().Add(time.Minute), "g") // a later deadline: h goes first
				return createErr(e.store.Create(ctx, newHandle(), later, session.CreateOptions{GroupLimit: 1}))
			},
			check: notFound,
		},
		"load with a due idle touch": {
			op: func(ctx context.Context, e *env, h string) error {
				_, err := e.store.Load(ctx, h, touch)
				return err
			},
			check: func(rec *session.Record, err error) string {
				if err != nil || !rec.LastSeen.Equal(touch.Now) {
					return fmt.Sprintf("Load = %v, %v; want LastSeen %v, the touch's", rec, err, touch.Now)
				}
				return ""
			},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t)
			trackByHand(e.store, NearCache{MaxStaleness: time.Hour})
			ctx := t.Context()
			h := e.mustCreate(t, liveRecord(e.Now(), "g"))
			for range 2 {
				if _, err := e.store.Load(ctx, h, session.Touch{}); err != nil {
					t.Fatalf("Load before the write: %v", err)
				}
			}
			if st := e.store.NearCacheStats(); st.Hits != 1 {
				t.Fatalf("stats %+v before the write: want the record cached and served", st)
			}

			hold := newHoldWrite(e.store.sessionKey(h))
			e.client.AddHook(hold)
			var wg sync.WaitGroup
			done := make(chan error, 1)
			wg.Go(func() { done <- tc.op(ctx, e, h) })
			// The writer ends once the hook lets its write go, at the
			// latest when the test ends.
			t.Cleanup(func() { hold.let(); wg.Wait() })
			select {
			case <-hold.held:
			case err := <-done:
				t.Fatalf("the operation returned %v without writing %s", err, e.store.sessionKey(h))
			}
			// Before the write has run: a hit, or a miss that reads, and
			// keeps, the record the write is about to replace. Either is
			// right, for now.
			if _, err := e.store.Load(ctx, h, session.Touch{}); err != nil {
				t.Fatalf("Load while the write is on its way: %v", err)
			}
			hold.let()
			if err := <-done; err != nil {
				t.Fatalf("the write: %v", err)
			}
			if msg := tc.check(e.store.Load(ctx, h, session.Touch{})); msg != "" {
				t.Errorf("after the write returned: %s", msg)
			}
		})
	}
}

// holdWrite is a go-redis hook that holds the first command, or pipeline,
// that writes key before it is sent, until let: a write on its way that
// has not run yet. Every other command goes through.
type holdWrite struct {
	key    string
	taken  atomic.Bool
	held   chan struct{} // closed once the write is held
	letGo  chan struct{}
	letOne sync.Once
}

func newHoldWrite(key string) *holdWrite {
	return &holdWrite{key: key, held: make(chan struct{}), letGo: make(chan struct{})}
}

// writeCommands are the commands by which the store changes a session key.
var writeCommands = map[string]bool{"eval": true, "evalsha": true, "del": true, "unlink": true, "hset": true, "pexpireat": true}

// let lets the held write go, and every later one.
func (h *holdWrite) let() { h.letOne.Do(func() { close(h.letGo) }) }

func (h *holdWrite) wait(ctx context.Context, cmds ...redis.Cmder) {
	for _, cmd := range cmds {
		if writeCommands[cmd.Name()] && slices.Contains(cmd.Args()[1:], any(h.key)) && h.taken.CompareAndSwap(false, true) {
			close(h.held)
			select {
			case <-h.letGo:
			case <-ctx.Done():
			}
			return
		}
	}
}

func (h *holdWrite) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h *holdWrite) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		h.wait(ctx, cmd)
		return next(ctx, cmd)
	}
}

func (h *holdWrite) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		h.wait(ctx, cmds...)
		return next(ctx, cmds)
	}
}

// A closed store serves nothing from its cache and keeps nothing in it: no
// invalidation reaches it any more. It still works, uncached, and a second
// Close is no error.
func TestNearCacheClosedStore(t *testing.T) {
	e := newEnv(t)
	trackByHand(e.store, NearCache{MaxStaleness: time.Hour})
	ctx := t.Context()
	h := e.mustCreate(t, liveRecord(e.Now(), "g"))
	if _, err := e.store.Load(ctx, h, session.Touch{}); err != nil {
		t.Fatalf("Load: %v", err)
	}
	for i := range 2 {
		if err := e.store.Close(); err != nil {
			t.Fatalf("Close #%d = %v", i+1, err)
		}
	}
	for range 2 {
		if _, err := e.store.Load(ctx, h, session.Touch{}); err != nil {
			t.Fatalf("Load after Close: %v", err)
		}
	}
	st := e.store.NearCacheStats()
	if st.Hits != 0 || st.Entries != 0 || st.Tracking || st.DisabledBecause != "store closed" {
		t.Errorf("stats after Close %+v: want no hits, no entries, off because the store closed", st)
	}
	// A subscription confirmation that arrives late cannot turn it on.
	e.store.near.setTracking(true)
	if st := e.store.NearCacheStats(); st.Tracking {
		t.Error("a closed store's cache tracks again")
	}
}

// Sync waits for invalidations only while they flow: it fails at once on a
// cache that does not track, and as soon as tracking is lost while it
// waits, rather than at its context's end.
func TestNearCacheSyncWithoutTracking(t *testing.T) {
	tests := map[string]struct {
		tracking bool
		then     func(*tracker)
	}{
		"not tracking":              {tracking: false},
		"tracking lost while waits": {tracking: true, then: func(tr *tracker) { tr.lost(context.Background(), io.EOF) }},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t)
			c := newNearCache(NearCache{}, e.Now)
			c.setTracking(tc.tracking)
			// A tracker with no subscriber: the marker's invalidation never
			// comes.
			tr := &tracker{cache: c, prefix: "hexchi:s:", waiters: make(map[string]chan error), log: slog.New(slog.DiscardHandler)}
			ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
			defer cancel()
			var wg sync.WaitGroup
			done := make(chan error, 1)
			wg.Go(func() { done <- tr.sync(ctx, e.client) })
			defer wg.Wait()
			if tc.then != nil {
				waitUntil(t, func() bool { tr.mu.Lock(); defer tr.mu.Unlock(); return len(tr.waiters) == 1 })
				tc.then(tr)
			}
			if err := <-done; !errors.Is(err, errNotTracking) {
				t.Errorf("sync = %v, want errNotTracking", err)
			}
		})
	}
}

// waitUntil polls cond, for what another goroutine does, for up to 10 s.
func waitUntil(t *testing.T, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("not within 10 s")
		}
	}
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
// TRACKING; elsewhere an ACL: see TestNearCacheACL in tests/) turns the near cache off for
// good: the store reads from Redis, says why, and does not reconnect in a
// loop.
func TestNearCacheRefusedByRedis(t *testing.T) {
	var logs strings.Builder
	e := newEnv(t, WithNearCache(NearCache{Logger: slog.New(slog.NewTextHandler(&syncWriter{w: &logs}, nil))}))
	t.Cleanup(func() {
		for i := range 2 { // Close is idempotent
			if err := e.store.Close(); err != nil {
				t.Errorf("Close #%d = %v", i+1, err)
			}
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
