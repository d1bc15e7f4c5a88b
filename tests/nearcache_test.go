package tests

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/hexchi/starter/internal/apptest"
	"github.com/hexchi/starter/internal/auth/session"
	"github.com/hexchi/starter/internal/auth/session/redisstore"
	"github.com/hexchi/starter/internal/auth/session/sessiontest"
)

// The near cache on a real Redis (miniredis has no client tracking): the
// store on its own, and the app with it on, as config/test leaves it.

// cachedStore returns a store on client with the near cache on, under
// prefix and on the clock now, once its subscriber tracks. It is closed
// when the test ends.
func cachedStore(t *testing.T, client *redis.Client, prefix string, now func() time.Time, cfg redisstore.NearCache) *redisstore.Store {
	t.Helper()
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(t.Output(), nil))
	}
	st := redisstore.New(client, redisstore.WithKeyPrefix(prefix), redisstore.WithClock(now), redisstore.WithNearCache(cfg))
	t.Cleanup(func() {
		if err := st.Close(); err != nil {
			t.Errorf("close the store: %v", err)
		}
	})
	waitFor(t, 30*time.Second, "near cache tracking", func() bool { return st.NearCacheStats().Tracking })
	return st
}

// settle waits until every write so far has reached st's near cache. It
// fails the test within 10 s, and at once when tracking is off: Sync then
// has no invalidation to wait for.
func settle(t *testing.T, st session.Store) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	rs := st.(*redisstore.Store)
	if err := rs.Sync(ctx); err != nil {
		t.Fatalf("settle the near cache: %v (stats %+v)", err, rs.NearCacheStats())
	}
}

// TestConformanceRedisNearCache runs the conformance suite on cached
// stores. Its peer subtests change a record through one store and read it
// through a second one, on a connection of its own, that cached it before:
// once the invalidation has arrived (Settle), the second must not serve
// what the first replaced.
func TestConformanceRedisNearCache(t *testing.T) {
	addr := redisAddr(t)
	client, peerClient := newClient(t, addr), newClient(t, addr)
	clock := sessiontest.ServerClock()
	var prefixes sync.Map // *redisstore.Store -> its key prefix
	sessiontest.Run(t, sessiontest.Harness{
		New: func(t *testing.T) session.Store {
			prefix := ownPrefix(t, client)
			st := cachedStore(t, client, prefix, clock.Now, redisstore.NearCache{})
			prefixes.Store(st, prefix)
			return st
		},
		Peer: func(t *testing.T, st session.Store) session.Store {
			prefix, _ := prefixes.Load(st)
			return cachedStore(t, peerClient, prefix.(string), clock.Now, redisstore.NearCache{})
		},
		Settle:  settle,
		Now:     clock.Now,
		Advance: func(_ *testing.T, d time.Duration) { clock.Advance(d) },
	})
}

// TestNearCacheRoundTripBudget counts what a cached store sends through
// the app's data client, with a go-redis hook (the subscriber is a client
// of its own and is not counted), for each step of a session's life. Each
// step starts after settle, so that no invalidation is still on its way.
func TestNearCacheRoundTripBudget(t *testing.T) {
	addr := redisAddr(t)
	for _, idle := range []time.Duration{0, 30 * time.Minute} {
		t.Run("idle="+idle.String(), func(t *testing.T) {
			clock := sessiontest.ServerClock()
			client := newClient(t, addr)
			rt := &commandCount{}
			client.AddHook(rt)
			prefix := ownPrefix(t, client)
			// MaxStaleness longer than the clock moves, so that the due
			// touch below is served from a cached record.
			st := cachedStore(t, client, prefix, clock.Now, redisstore.NearCache{MaxStaleness: time.Hour})
			m, err := session.New(session.Options[*budgetData]{
				Store: st, Secrets: [][]byte{[]byte("0123456789abcdef0123456789abcdef")},
				New:         func() *budgetData { return &budgetData{} },
				IdleTimeout: idle, Now: clock.Now,
				Cookie: session.Cookie{Insecure: true},
				Logger: slog.New(slog.DiscardHandler),
			})
			if err != nil {
				t.Fatal(err)
			}
			srv := budgetServer(t, m)
			c, anon, forged := apptest.NewClient(t, srv), apptest.NewClient(t, srv), apptest.NewClient(t, srv)
			// Warm up: the first run of each script on this Redis costs an
			// EVAL after NOSCRIPT; the budget is the steady state.
			c.Do(http.MethodPost, "/login?user=warm", nil, "")
			c.Do(http.MethodPost, "/set", nil, "")
			c.Do(http.MethodGet, "/me", nil, "")
			clock.Advance(10 * time.Minute)
			c.Do(http.MethodGet, "/me", nil, "")
			c.Do(http.MethodPost, "/logout", nil, "")
			// A well-formed id and MAC, signed with no key the Manager has.
			forged.SetCookie("SID", strings.Repeat("A", 43)+"."+strings.Repeat("A", 43))

			steps := []struct {
				name    string
				c       *apptest.Client
				method  string
				path    string
				advance time.Duration
				want    int64
			}{
				{"no cookie", anon, http.MethodGet, "/me", 0, 0},
				{"forged cookie", forged, http.MethodGet, "/me", 0, 0},
				{"login", c, http.MethodPost, "/login?user=ann", 0, 1},
				{"read-only, first read (a miss)", c, http.MethodGet, "/me", 0, 1},
				{"read-only, a hit", c, http.MethodGet, "/me", 0, 0},
				{"modifying, on a hit", c, http.MethodPost, "/set", 0, 1},
				// The change dropped the cached record: the next request
				// reads it again, whatever it does.
				{"modifying right after a change (a miss)", c, http.MethodPost, "/set", 0, 2},
				{"read-only after the change (a miss)", c, http.MethodGet, "/me", 0, 1},
				{"read-only, a hit again", c, http.MethodGet, "/me", 0, 0},
				{"read-only 10 minutes on: the idle touch is due", c, http.MethodGet, "/me", 10 * time.Minute, 1},
				{"read-only after the touch (a miss: the touch wrote)", c, http.MethodGet, "/me", 0, 1},
				{"login over an authenticated session (a hit, then create)", c, http.MethodPost, "/login?user=bob", 0, 1},
				{"logout (a miss, then delete)", c, http.MethodPost, "/logout", 0, 2},
			}
			if idle == 0 {
				// No idle timeout, no touch: ten minutes on, the record is
				// still within this test's MaxStaleness, and served.
				steps[9].want, steps[10].want = 0, 0
			}
			for _, s := range steps {
				clock.Advance(s.advance)
				settle(t, st)
				rt.take()
				if r := s.c.Do(s.method, s.path, nil, ""); r.Status >= 500 {
					t.Fatalf("%s: %d %s", s.name, r.Status, r.Body)
				}
				if got := rt.take(); got != s.want {
					t.Errorf("%s: %d round trips (%v), want %d", s.name, got, rt.lastCalls(), s.want)
				}
			}
		})
	}
}

// budgetData is the session data of TestNearCacheRoundTripBudget.
type budgetData struct {
	User string `json:"user,omitempty"`
	N    int    `json:"n,omitempty"`
}

func (d *budgetData) IsAuthenticated() bool  { return d.User != "" }
func (d *budgetData) SessionGroupID() string { return d.User }

// budgetServer serves m's sessions: GET /me reads, POST /set changes a
// field, POST /login?user= logs in, POST /logout logs out.
func budgetServer(t *testing.T, m *session.Manager[*budgetData]) string {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /me", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, m.From(r.Context()).Data().N)
	})
	mux.HandleFunc("POST /set", func(w http.ResponseWriter, r *http.Request) {
		m.From(r.Context()).Data().N++
	})
	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
		user := r.URL.Query().Get("user")
		if err := m.From(r.Context()).Login(true, func(d *budgetData) { d.User = user }); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
		}
	})
	mux.HandleFunc("POST /logout", func(w http.ResponseWriter, r *http.Request) {
		if err := m.From(r.Context()).Destroy(); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
		}
	})
	srv := httptest.NewServer(m.Middleware(mux))
	t.Cleanup(srv.Close)
	return srv.URL
}

// commandCount is a go-redis hook that counts round trips: one per
// command, one per pipeline.
type commandCount struct {
	mu    sync.Mutex
	calls []string
	last  []string
}

func (c *commandCount) DialHook(next redis.DialHook) redis.DialHook { return next }

func (c *commandCount) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		c.add(cmd.Name())
		return next(ctx, cmd)
	}
}

func (c *commandCount) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		names := make([]string, len(cmds))
		for i, cmd := range cmds {
			names[i] = cmd.Name()
		}
		c.add(fmt.Sprint(names))
		return next(ctx, cmds)
	}
}

func (c *commandCount) add(call string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.calls = append(c.calls, call)
}

// take returns the count since the last take, and resets it.
func (c *commandCount) take() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := len(c.calls)
	c.last, c.calls = c.calls, nil
	return int64(n)
}

// lastCalls is what the last take counted.
func (c *commandCount) lastCalls() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.last
}

// TestNearCacheLagAcrossStores measures how long a session logged out
// through one store (a replica) is still served by another that had cached
// it: the invalidation lag. It asserts what must hold whatever the
// machine's load: every trial ends with the session rejected, and no read
// that started MaxStaleness after the record was fetched returned it. The
// distribution is logged; HEXCHI_LAG_TRIALS sets the number of trials.
func TestNearCacheLagAcrossStores(t *testing.T) {
	trials := 1000
	if v := os.Getenv("HEXCHI_LAG_TRIALS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			t.Fatalf("HEXCHI_LAG_TRIALS=%q: want a positive number", v)
		}
		trials = n
	}
	addr := redisAddr(t)
	ca, cb := newClient(t, addr), newClient(t, addr)
	prefix := ownPrefix(t, ca)
	const maxStale = 2 * time.Second
	a := cachedStore(t, ca, prefix, time.Now, redisstore.NearCache{MaxStaleness: maxStale})
	b := cachedStore(t, cb, prefix, time.Now, redisstore.NearCache{MaxStaleness: maxStale})
	ctx := t.Context()

	kinds := []string{"logout", "log out everywhere", "login elsewhere (renew)"}
	lags := make(map[string][]time.Duration)
	redone := 0
	for i := 0; i < trials; {
		kind := kinds[i%len(kinds)]
		h, g := rand43(), "user-"+rand43()
		now := time.Now()
		rec := &session.Record{Created: now, LastSeen: now, AuthTime: now, Expires: now.Add(time.Hour), ExpireAt: now.Add(time.Hour), Group: g}
		if _, err := a.Create(ctx, h, rec, session.CreateOptions{}); err != nil {
			t.Fatalf("Create: %v", err)
		}
		// The Create's own invalidation must reach B before B reads, or it
		// drops B's copy and the "lag" below is B reading Redis again.
		settle(t, b)
		hits := b.NearCacheStats().Hits
		if _, err := b.Load(ctx, h, session.Touch{}); err != nil {
			t.Fatalf("B's first read: %v", err)
		}
		fetched := time.Now() // the record's fetch on B began before this
		if _, err := b.Load(ctx, h, session.Touch{}); err != nil {
			t.Fatalf("B's second read: %v", err)
		}
		if b.NearCacheStats().Hits == hits {
			// Not cached after all (another test's FLUSHDB, a
			// reconnect): this trial would not measure the cache.
			redone++
			if redone > max(10, trials/10) {
				t.Fatalf("%d trials redone of %d: B does not keep what it reads", redone, i+redone)
			}
			continue
		}
		var err error
		switch kind {
		case "logout":
			err = a.Delete(ctx, session.Ref{Handle: h, Group: g})
		case "log out everywhere":
			_, err = a.DeleteGroup(ctx, g, "")
		default:
			_, err = a.Create(ctx, rand43(), rec, session.CreateOptions{Replaces: session.Ref{Handle: h, Group: g}})
		}
		if err != nil {
			t.Fatalf("%s on A: %v", kind, err)
		}
		written := time.Now()
		for {
			start := time.Now()
			_, err := b.Load(ctx, h, session.Touch{})
			if errors.Is(err, session.ErrNotFound) {
				lags[kind] = append(lags[kind], time.Since(written))
				break
			}
			if err != nil {
				t.Fatalf("B's read after the %s: %v", kind, err)
			}
			if start.Sub(fetched) >= maxStale {
				t.Fatalf("trial %d: B served a session ended by a %s on A %v after it fetched it, past MaxStaleness %v",
					i, kind, start.Sub(fetched), maxStale)
			}
			// A hit never blocks: without a pause this loop would hold a
			// CPU of two, and the lag measured would be Redis's and the
			// subscriber's wait for it. Requests pause on I/O.
			time.Sleep(50 * time.Microsecond)
		}
		i++
	}
	t.Logf("%d trials, %d redone because B had not cached the record", trials, redone)
	var all []time.Duration
	for _, kind := range kinds {
		t.Logf("%-24s %s", kind, lagSummary(lags[kind]))
		all = append(all, lags[kind]...)
	}
	t.Logf("%-24s %s", "all", lagSummary(all))
	st := b.NearCacheStats()
	t.Logf("B: %d hits, %d misses, %d invalidations, %d flushes", st.Hits, st.Misses, st.Invalidations, st.Flushes)
	if st.Invalidations == 0 {
		t.Error("B counted no invalidation: every rejection came from elsewhere than Redis's messages")
	}
}

// lagSummary is "n=..., p50 ..., p99 ..., max ...".
func lagSummary(d []time.Duration) string {
	if len(d) == 0 {
		return "n=0"
	}
	s := slices.Clone(d)
	slices.Sort(s)
	q := func(p float64) time.Duration { return s[min(len(s)-1, int(p*float64(len(s))))] }
	return fmt.Sprintf("n=%d p50 %v p99 %v max %v", len(s), q(0.50), q(0.99), s[len(s)-1])
}

// rand43 is a random handle-shaped string.
func rand43() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // crypto/rand.Read never returns an error since Go 1.24
	return base64.RawURLEncoding.EncodeToString(b)
}

// TestNearCacheLosesItsConnection breaks the connection between a cached
// store and Redis, changes the record behind the store's back while no
// invalidation can reach it, and mends the connection: the store must have
// stopped serving and emptied its cache, and must read the change, never
// the record it had. A cut closes the connection (the store sees it at
// once); a freeze holds every byte, as a partition does, and the store
// must notice the silence by itself (its pings go unanswered).
func TestNearCacheLosesItsConnection(t *testing.T) {
	tests := map[string]struct {
		brk, mend func(*cutProxy)
	}{
		"cut":    {(*cutProxy).cut, (*cutProxy).restore},
		"freeze": {(*cutProxy).freeze, (*cutProxy).thaw},
	}
	addr := redisAddr(t)
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			proxy := newCutProxy(t, addr)
			direct := newClient(t, addr)
			prefix := ownPrefix(t, direct)
			viaProxy := redis.NewClient(&redis.Options{Addr: proxy.addr, ContextTimeoutEnabled: true,
				DialTimeout: time.Second, ReadTimeout: time.Second, WriteTimeout: time.Second, MaxRetries: -1})
			t.Cleanup(func() { _ = viaProxy.Close() })
			cached := cachedStore(t, viaProxy, prefix, time.Now, redisstore.NearCache{MaxStaleness: time.Minute})
			writer := redisstore.New(direct, redisstore.WithKeyPrefix(prefix))
			ctx := t.Context()

			h, now := rand43(), time.Now()
			rec := &session.Record{Created: now, LastSeen: now, Expires: now.Add(time.Hour), ExpireAt: now.Add(time.Hour),
				Values: map[string][]byte{"cart": []byte(`[1]`)}}
			if _, err := writer.Create(ctx, h, rec, session.CreateOptions{}); err != nil {
				t.Fatal(err)
			}
			settle(t, cached) // the Create's own invalidation must not drop the fill below
			for range 2 {
				if _, err := cached.Load(ctx, h, session.Touch{}); err != nil {
					t.Fatalf("Load: %v", err)
				}
			}
			before := cached.NearCacheStats()
			if before.Hits == 0 || before.Entries == 0 {
				t.Fatalf("stats before the %s %+v: want the record cached and served", name, before)
			}

			broken := time.Now()
			tt.brk(proxy)
			if err := writer.Patch(ctx, h, &session.Patch{Set: map[string][]byte{"cart": []byte(`[2]`)}}); err != nil {
				t.Fatal(err)
			}
			waitFor(t, 60*time.Second, "the store noticed", func() bool { return !cached.NearCacheStats().Tracking })
			t.Logf("%s noticed after %v", name, time.Since(broken).Round(10*time.Millisecond))
			if name == "cut" {
				if got, err := cached.Load(ctx, h, session.Touch{}); err == nil {
					t.Errorf("Load while Redis is unreachable returned cart %s, want an error: the cache must not serve", got.Values["cart"])
				}
			}
			tt.mend(proxy)
			waitFor(t, 60*time.Second, "tracking back", func() bool { return cached.NearCacheStats().Tracking })

			got, err := cached.Load(ctx, h, session.Touch{})
			if err != nil {
				t.Fatalf("Load once the connection is back: %v", err)
			}
			if string(got.Values["cart"]) != `[2]` {
				t.Errorf("once the connection is back the store serves cart %s, want [2]: a change made meanwhile is lost", got.Values["cart"])
			}
			if after := cached.NearCacheStats(); after.Flushes <= before.Flushes {
				t.Errorf("flushes %d before the %s and %d after, want more", before.Flushes, name, after.Flushes)
			}
		})
	}
}

// cutProxy forwards TCP connections to a target until cut, which closes
// every connection and refuses new ones until restore, or freeze, which
// holds every byte (a partition: nothing fails, nothing arrives) until
// thaw.
type cutProxy struct {
	addr   string
	target string

	mu     sync.Mutex
	thawed *sync.Cond // signalled by thaw and cut
	down   bool
	frozen bool
	conns  map[net.Conn]struct{}
}

func newCutProxy(t *testing.T, target string) *cutProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &cutProxy{addr: ln.Addr().String(), target: target, conns: make(map[net.Conn]struct{})}
	p.thawed = sync.NewCond(&p.mu)
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Go(func() { p.serve(c) })
		}
	})
	t.Cleanup(func() {
		_ = ln.Close()
		p.cut()
		wg.Wait()
	})
	return p
}

// serve forwards c to the target until either side closes.
func (p *cutProxy) serve(c net.Conn) {
	defer c.Close()
	if !p.track(c) {
		return
	}
	up, err := net.DialTimeout("tcp", p.target, time.Second)
	if err != nil {
		return
	}
	defer up.Close()
	if !p.track(up) {
		return
	}
	done := make(chan struct{}, 2)
	go func() { p.pipe(up, c); done <- struct{}{} }()
	go func() { p.pipe(c, up); done <- struct{}{} }()
	<-done
	_ = c.Close()
	_ = up.Close()
	<-done
}

// pipe copies src to dst, holding what it read while the proxy is frozen.
func (p *cutProxy) pipe(dst, src net.Conn) {
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			p.mu.Lock()
			for p.frozen {
				p.thawed.Wait()
			}
			p.mu.Unlock()
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

func (p *cutProxy) freeze() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.frozen = true
}

func (p *cutProxy) thaw() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.frozen = false
	p.thawed.Broadcast()
}

// track registers c for cut, or reports false when the proxy is down.
func (p *cutProxy) track(c net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.down {
		return false
	}
	p.conns[c] = struct{}{}
	return true
}

func (p *cutProxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.down, p.frozen = true, false
	p.thawed.Broadcast()
	for c := range p.conns {
		_ = c.Close()
	}
	clear(p.conns)
}

func (p *cutProxy) restore() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.down = false
}

// TestNearCacheReadYourWritesInTheApp runs concurrent requests on one app
// with the near cache on: requests that change a session and requests
// that read it at the same time, on several sessions of one user. A read
// that starts after a change has been answered must see it; a session
// revoked, logged out or logged out everywhere is rejected by the very
// next request.
func TestNearCacheReadYourWritesInTheApp(t *testing.T) {
	admin := "127.0.0.1:" + strconv.Itoa(freePort(t))
	t.Setenv("CORE_ADMIN_ADDR", admin)
	srv, _ := appOnRedis(t, redisAddr(t))
	const sessions, changes = 4, 40
	clients := make([]*apptest.Client, sessions)
	for i := range clients {
		clients[i] = apptest.NewClient(t, srv.URL)
		login(t, clients[i])
	}

	// A writer and a reader per session, all at once. They report
	// through errs, since only the test's goroutine may stop it.
	var wg sync.WaitGroup
	errs := make(chan error, 2*sessions)
	for _, c := range clients {
		cookie := c.Cookie("SID")
		var confirmed atomic.Int64 // the last counter value a response confirmed
		finished := make(chan struct{})
		wg.Go(func() {
			defer close(finished)
			for range changes {
				var got struct{ Counter int64 }
				if err := callAPI(t.Context(), http.MethodPost, srv.URL+"/api/v1/me/counter", cookie, &got); err != nil {
					errs <- err
					return
				}
				confirmed.Store(got.Counter)
			}
		})
		wg.Go(func() {
			for {
				select {
				case <-finished:
					return
				default:
				}
				before := confirmed.Load()
				var got struct{ Counter int64 }
				if err := callAPI(t.Context(), http.MethodGet, srv.URL+"/api/v1/me", cookie, &got); err != nil {
					errs <- err
					return
				}
				if got.Counter < before {
					errs <- fmt.Errorf("GET /me read counter %d after a change to %d was answered: a stale read from the cache", got.Counter, before)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}

	// Revoke session 1 from session 0, log out session 2, then log out
	// everywhere from session 0: each is rejected at its next request.
	type listed struct {
		Handle  string
		Current bool
	}
	var list struct{ Sessions []listed }
	r := clients[1].Do(http.MethodGet, "/api/v1/auth/sessions", nil, "")
	if err := json.Unmarshal(r.Body, &list); err != nil {
		t.Fatalf("GET /auth/sessions: %d %s", r.Status, r.Body)
	}
	i := slices.IndexFunc(list.Sessions, func(s listed) bool { return s.Current })
	if i < 0 {
		t.Fatalf("no current session in %s", r.Body)
	}
	if r := clients[0].Do(http.MethodDelete, "/api/v1/auth/sessions/"+list.Sessions[i].Handle, nil, ""); r.Status != http.StatusNoContent {
		t.Fatalf("revoke: %d %s", r.Status, r.Body)
	}
	if got := status(clients[1], http.MethodGet, "/api/v1/me"); got != http.StatusUnauthorized {
		t.Errorf("GET /me with a revoked session = %d, want 401", got)
	}
	if got := status(clients[2], http.MethodPost, "/api/v1/auth/logout"); got != http.StatusNoContent {
		t.Fatalf("logout = %d", got)
	}
	if got := status(clients[2], http.MethodGet, "/api/v1/me"); got != http.StatusUnauthorized {
		t.Errorf("GET /me after logout = %d, want 401", got)
	}
	stale := apptest.NewClient(t, srv.URL)
	stale.SetCookie("SID", clients[3].Cookie("SID"))
	if r := clients[0].Do(http.MethodPost, "/api/v1/auth/logout-all", []byte(`{"includeCurrent":true}`), "application/json"); r.Status != http.StatusOK {
		t.Fatalf("logout-all: %d %s", r.Status, r.Body)
	}
	if got := status(stale, http.MethodGet, "/api/v1/me"); got != http.StatusUnauthorized {
		t.Errorf("GET /me after logout-all = %d, want 401", got)
	}

	// The cache served: the metrics say so.
	m := apptest.Get(t, "http://"+admin+"/metrics", nil)
	hits := metricValue(string(m.Body), `hexchi_session_near_cache_lookups_total{`, `result="hit"`)
	if hits < 1 {
		t.Errorf("near cache hits = %v, want some: the test did not exercise the cache\n%s", hits, m.Body)
	}
	if v := metricValue(string(m.Body), "hexchi_session_near_cache_tracking", ""); v != 1 {
		t.Errorf("hexchi_session_near_cache_tracking = %v, want 1", v)
	}
}

// metricValue returns the value of the first sample in a Prometheus text
// exposition whose line starts with name and contains label; -1 if none.
func metricValue(exposition, name, label string) float64 {
	for line := range strings.Lines(exposition) {
		if !strings.HasPrefix(line, name) || !strings.Contains(line, label) {
			continue
		}
		fields := strings.Fields(line)
		if v, err := strconv.ParseFloat(fields[len(fields)-1], 64); err == nil {
			return v
		}
	}
	return -1
}

// callAPI sends a body-less request with the session cookie and decodes
// the 200 answer's JSON into v. It reports errors instead of failing the
// test, for the goroutines of a test.
func callAPI(ctx context.Context, method, url, cookie string, v any) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, url, nil)
	if err != nil {
		return err
	}
	req.AddCookie(&http.Cookie{Name: "SID", Value: cookie})
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, url, err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		return fmt.Errorf("%s %s: read: %w", method, url, err)
	}
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("%s %s = %d %s", method, url, res.StatusCode, body)
	}
	return json.Unmarshal(body, v)
}

// TestNearCacheSurvivesAFlush runs FLUSHDB, whose invalidation (in RESP2 a
// message with a null payload, which go-redis's pub/sub reader refuses)
// must empty the cache and leave it serving, not turn it off until the
// connection next breaks. FLUSHDB runs on database 15, which no test
// uses: Redis sends the flush to every tracking client whatever the
// database, and no one's keys go.
func TestNearCacheSurvivesAFlush(t *testing.T) {
	addr := redisAddr(t)
	client := newClient(t, addr)
	spare := redis.NewClient(&redis.Options{Addr: addr, DB: 15, ContextTimeoutEnabled: true})
	t.Cleanup(func() { _ = spare.Close() })
	ctx := t.Context()
	if n, err := spare.DBSize(ctx).Result(); err != nil || n != 0 {
		t.Skipf("database 15 of %s: %d keys, %v; not flushing it", addr, n, err)
	}
	prefix := ownPrefix(t, client)
	logs := &lockedBuffer{}
	st := cachedStore(t, client, prefix, time.Now, redisstore.NearCache{MaxStaleness: time.Minute,
		Logger: slog.New(slog.NewTextHandler(io.MultiWriter(logs, t.Output()), nil))})
	h, now := rand43(), time.Now()
	rec := &session.Record{Created: now, LastSeen: now, Expires: now.Add(time.Hour), ExpireAt: now.Add(time.Hour)}
	if _, err := st.Create(ctx, h, rec, session.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	settle(t, st)
	// servedTwice loads h twice and reports whether the second was a hit.
	servedTwice := func() bool {
		for range 2 {
			if _, err := st.Load(ctx, h, session.Touch{}); err != nil {
				t.Fatalf("Load: %v", err)
			}
		}
		return st.NearCacheStats().Hits > 0
	}
	if !servedTwice() {
		t.Fatalf("stats before the flush %+v: want the record cached and served", st.NearCacheStats())
	}
	before := st.NearCacheStats()

	if err := spare.FlushDB(ctx).Err(); err != nil {
		t.Fatalf("FLUSHDB: %v", err)
	}
	waitFor(t, 10*time.Second, "the flush emptied the cache", func() bool { return st.NearCacheStats().Flushes > before.Flushes })
	if _, err := st.Load(ctx, h, session.Touch{}); err != nil {
		t.Fatalf("Load after the flush: %v", err)
	}
	if after := st.NearCacheStats(); after.Misses != before.Misses+1 {
		t.Errorf("misses %d before the flush, %d after a load that followed it: want one more, the copy must be gone", before.Misses, after.Misses)
	}
	hits := st.NearCacheStats().Hits
	waitFor(t, 10*time.Second, "served from the cache again", func() bool {
		_, err := st.Load(ctx, h, session.Touch{})
		return err == nil && st.NearCacheStats().Hits > hits
	})
	if after := st.NearCacheStats(); !after.Tracking || after.DisabledBecause != "" {
		t.Errorf("stats after the flush %+v: want tracking", after)
	}
	// A flush is a message like any other: the subscription is in step,
	// and tracking was never off.
	if strings.Contains(logs.String(), "tracking lost") {
		t.Errorf("the flush turned tracking off for a while:\n%s", logs)
	}
}

// TestNearCacheACL runs the near cache as a Redis user of its own. Redis
// 7's default for a new user (acl-pubsub-default resetchannels) allows no
// channel: such a user may turn tracking on and still have SUBSCRIBE
// refused. A refusal turns the cache off for good, says why in the stats
// and logs it once as an error; the permissions the README lists are
// enough.
func TestNearCacheACL(t *testing.T) {
	addr := redisAddr(t)
	admin := newClient(t, addr)
	const subscriber = "+client|id +client|tracking +subscribe +ping &__redis__:invalidate"
	tests := map[string]struct {
		rules   string // after the user's key pattern
		refused string // in DisabledBecause; "" for a cache that tracks
	}{
		"every command, no channel":                 {"+@all", "NOPERM"},
		"no client tracking":                        {"+@all -client|tracking &__redis__:invalidate", "client tracking"},
		"every command and the channel":             {"+@all &__redis__:invalidate", ""},
		"the store's commands and the subscriber's": {"+@read +@write +@scripting " + subscriber, ""},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			ctx := t.Context()
			prefix := ownPrefix(t, admin)
			user, pass := "hexchi-test-"+rand43()[:12], rand43()
			rules := append([]any{"ACL", "SETUSER", user, "reset", "on", ">" + pass, "~" + prefix + "*", "resetchannels"},
				stringsToAny(strings.Fields(tc.rules))...)
			if err := admin.Do(ctx, rules...).Err(); err != nil {
				t.Fatalf("ACL SETUSER: %v", err)
			}
			t.Cleanup(func() { _ = admin.Do(context.WithoutCancel(ctx), "ACL", "DELUSER", user).Err() })
			client := redis.NewClient(&redis.Options{Addr: addr, Username: user, Password: pass, ContextTimeoutEnabled: true})
			t.Cleanup(func() { _ = client.Close() })

			logs := &lockedBuffer{}
			log := slog.New(slog.NewTextHandler(io.MultiWriter(logs, t.Output()), nil))
			st := redisstore.New(client, redisstore.WithKeyPrefix(prefix), redisstore.WithNearCache(redisstore.NearCache{Logger: log}))
			t.Cleanup(func() { _ = st.Close() })
			waitFor(t, 30*time.Second, "tracking on or refused", func() bool {
				s := st.NearCacheStats()
				return s.Tracking || s.DisabledBecause != ""
			})
			h, now := rand43(), time.Now()
			rec := &session.Record{Created: now, LastSeen: now, Expires: now.Add(time.Hour), ExpireAt: now.Add(time.Hour)}
			if _, err := st.Create(ctx, h, rec, session.CreateOptions{}); err != nil {
				t.Fatalf("Create as %s: %v", tc.rules, err)
			}
			if tc.refused == "" {
				settle(t, st)
			}
			for range 2 {
				if _, err := st.Load(ctx, h, session.Touch{}); err != nil {
					t.Fatalf("Load as %s: %v", tc.rules, err)
				}
			}
			s := st.NearCacheStats()
			if tc.refused == "" {
				if !s.Tracking || s.Hits == 0 {
					t.Errorf("stats %+v: want tracking and a hit", s)
				}
				return
			}
			if s.Tracking || s.Hits != 0 || !strings.Contains(s.DisabledBecause, tc.refused) {
				t.Errorf("stats %+v: want off for good, no hits, because of %q", s, tc.refused)
			}
			if n := strings.Count(logs.String(), "level=ERROR"); n != 1 || !strings.Contains(logs.String(), "near cache off") {
				t.Errorf("%d errors logged, want one that the near cache is off:\n%s", n, logs)
			}
		})
	}
}

// stringsToAny is strs as the variadic arguments go-redis takes.
func stringsToAny(strs []string) []any {
	out := make([]any, len(strs))
	for i, s := range strs {
		out[i] = s
	}
	return out
}
