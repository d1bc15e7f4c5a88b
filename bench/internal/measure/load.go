package measure

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/hexchi/starter/bench/internal/apps"
	"github.com/hexchi/starter/bench/internal/redisproc"
	"github.com/hexchi/starter/internal/auth/session/redisstore"
)

// LoadConfig is the shape of a load run.
type LoadConfig struct {
	// Clients is the number of concurrent clients. Each has its own
	// keep-alive connection and its own logged-in session, and sends its
	// next request as soon as the last one is answered.
	Clients int
	// Warmup runs before the measured window, unrecorded.
	Warmup time.Duration
	// Duration is the measured window.
	Duration time.Duration
}

// LoadResult is what a load run measured in its window.
type LoadResult struct {
	Requests  int           // answered requests that started in the window
	Errors    int           // failed or wrong answers (should be 0)
	PerSecond float64       // Requests / Duration
	P50, P99  time.Duration // latency percentiles, as the client saw them
	// CPU is this process's CPU time per request: server, session library,
	// go-redis and the load generator together (the generator's share is
	// the same for every library). RedisCPU is redis-server's
	// (used_cpu_sys + used_cpu_user of INFO cpu, read when the window opens
	// and when it closes); zero when it could not be read. RedisScripts is
	// the part of it spent running Lua (INFO commandstats), and
	// ScriptsPerReq the scripts run per request.
	CPU, RedisCPU, RedisScripts time.Duration
	ScriptsPerReq               float64
	// CacheHits and CacheMisses are the near cache's loads in the window,
	// served from memory and sent to Redis; both 0 without a near cache.
	CacheHits, CacheMisses uint64
	// OtherLoad is the share of the machine's CPU time (0 to 1) that other
	// processes used during the window: anything above a few percent means
	// the run competed with other work. -1 when it could not be measured.
	OtherLoad float64
}

// HitRate is the share of the window's loads that the near cache served;
// -1 without a near cache.
func (r LoadResult) HitRate() float64 {
	if r.CacheHits+r.CacheMisses == 0 {
		return -1
	}
	return float64(r.CacheHits) / float64(r.CacheHits+r.CacheMisses)
}

// RedisProbe reads redis-server's own counters (redisproc.Server.Stats).
type RedisProbe func(ctx context.Context) (redisproc.Stats, error)

// LoadRequests are the requests the load runs send.
var LoadRequests = []Request{ReadOnly, Modifying}

// Target is a setup's app served on a loopback port for load runs.
type Target struct {
	Setup  Setup
	app    *apps.App
	server *httptest.Server
	client *redis.Client
}

// NewTarget builds setup's app on the Redis at redisAddr and serves it on
// 127.0.0.1. The ceiling (apps.NoSession) needs no Redis.
func NewTarget(ctx context.Context, redisAddr string, setup Setup) (*Target, error) {
	var client *redis.Client
	if setup.Library != apps.NoSession {
		client = NewClient(redisAddr)
	}
	app, err := setup.newApp(ctx, setup.config(client))
	if err != nil {
		if client != nil {
			_ = client.Close()
		}
		return nil, err
	}
	return &Target{Setup: setup, app: app, server: httptest.NewServer(app.Handler), client: client}, nil
}

// Close stops the server and closes the app and its Redis client.
func (t *Target) Close() error {
	t.server.Close()
	return closeApp(t.app, t.client)
}

// Load runs cfg against the target with requests of kind req. redis, if
// not nil, reads redis-server's counters.
func (t *Target) Load(ctx context.Context, req Request, cfg LoadConfig, redis RedisProbe) (LoadResult, error) {
	if req != ReadOnly && req != Modifying {
		return LoadResult{}, fmt.Errorf("no load run for %q", req)
	}
	if cfg.Clients < 1 || cfg.Duration <= 0 {
		return LoadResult{}, errors.New("load: need at least one client and a duration")
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	w := &window{start: make(chan struct{})}
	clients := make([]*loadClient, cfg.Clients)
	var ready, done sync.WaitGroup
	ready.Add(cfg.Clients)
	for i := range clients {
		c := &loadClient{target: t, user: "u" + strconv.Itoa(i), req: req}
		clients[i] = c
		done.Go(func() { c.run(ctx, w, ready.Done) })
	}
	ready.Wait() // every client is logged in
	// The clients start now, with the warm-up; they record only the
	// requests that start inside the window.
	w.begin = time.Now().Add(cfg.Warmup)
	w.end = w.begin.Add(cfg.Duration)
	close(w.start)
	s0, err := t.sampleAt(ctx, w.begin, redis)
	var s1 loadSample
	if err == nil {
		s1, err = t.sampleAt(ctx, w.end, redis)
	}
	if err != nil {
		cancel()
	}
	done.Wait()
	if err != nil {
		return LoadResult{}, err
	}

	var res LoadResult
	var lat []time.Duration
	for _, c := range clients {
		if c.err != nil {
			return LoadResult{}, fmt.Errorf("%s, client %s: %w", t.Setup, c.user, c.err)
		}
		res.Errors += c.errors
		lat = append(lat, c.latencies...)
	}
	res.Requests = len(lat)
	if res.Requests == 0 {
		return res, fmt.Errorf("%s: no request completed in %v", t.Setup, cfg.Duration)
	}
	res.PerSecond = float64(res.Requests) / cfg.Duration.Seconds()
	slices.Sort(lat)
	res.P50, res.P99 = percentile(lat, 50), percentile(lat, 99)
	n := time.Duration(res.Requests)
	res.CPU = (s1.proc - s0.proc) / n
	if s0.redisOK && s1.redisOK {
		d := s1.stats.Sub(s0.stats)
		res.RedisCPU, res.RedisScripts = d.CPU/n, d.Scripts/n
		res.ScriptsPerReq = float64(d.ScriptCalls) / float64(res.Requests)
	}
	res.CacheHits, res.CacheMisses = s1.cache.Hits-s0.cache.Hits, s1.cache.Misses-s0.cache.Misses
	res.OtherLoad = otherLoad(s0.sample, s1.sample, cfg.Duration)
	return res, nil
}

// loadSample is what a load run reads when its window opens and closes:
// the CPU clocks, redis-server's counters and the near cache's.
type loadSample struct {
	sample
	stats   redisproc.Stats
	redisOK bool
	cache   redisstore.NearCacheStats
}

// sampleAt waits until at, then reads the counters. Redis's CPU time comes
// from its INFO, so that it and the other clocks are read together.
func (t *Target) sampleAt(ctx context.Context, at time.Time, redis RedisProbe) (loadSample, error) {
	timer := time.NewTimer(time.Until(at))
	defer timer.Stop()
	select {
	case <-timer.C:
	case <-ctx.Done():
		return loadSample{}, ctx.Err()
	}
	var ls loadSample
	var redisCPU func() (time.Duration, error)
	if redis != nil {
		redisCPU = func() (time.Duration, error) {
			st, err := redis(ctx)
			ls.stats, ls.redisOK = st, err == nil
			return st.CPU, err
		}
	}
	s, err := takeSample(redisCPU)
	if err != nil {
		return loadSample{}, err
	}
	ls.sample = s
	if cached(t.app) {
		ls.cache = t.app.Store.NearCacheStats()
	}
	return ls, nil
}

// window is the measured window. The clients read begin and end once
// start is closed.
type window struct {
	start      chan struct{}
	begin, end time.Time
}

// percentile returns the p-th percentile of sorted latencies, by the
// nearest-rank method: the smallest value that at least p% of the samples
// do not exceed.
func percentile(sorted []time.Duration, p int) time.Duration {
	rank := (len(sorted)*p + 99) / 100 // ceil(n * p / 100)
	return sorted[max(rank-1, 0)]
}

// loadClient is one concurrent client of a load run.
type loadClient struct {
	target *Target
	user   string
	req    Request

	// Results, read after run returns.
	latencies []time.Duration
	errors    int
	err       error // a failure that ends the client (login, context)
}

// run logs in, reports ready, and sends requests from the window's start
// until its end, recording the latency of those that start inside it.
func (c *loadClient) run(ctx context.Context, w *window, ready func()) {
	transport := &http.Transport{MaxIdleConnsPerHost: 1, DisableCompression: true}
	defer transport.CloseIdleConnections()
	hc := &http.Client{Transport: transport}
	cookie, err := c.login(ctx, hc)
	ready()
	if err != nil {
		c.err = err
		return
	}
	select {
	case <-w.start:
	case <-ctx.Done():
		c.err = ctx.Err()
		return
	}
	method, target, want := http.MethodGet, "/read", c.user
	if c.req == Modifying {
		method, target, want = http.MethodPost, "/write?f=n", ""
	}
	if cookie == nil { // the ceiling: its one user is "ann"
		want = noSessionUser(want)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.target.server.URL+target, nil)
	if err != nil {
		c.err = err
		return
	}
	cookieHeader := "\x00" // matches no Set-Cookie
	if cookie != nil {
		cookieHeader = cookie.Name + "=" + cookie.Value
		req.Header.Set("Cookie", cookieHeader)
	}
	var body bytes.Buffer
	for {
		start := time.Now()
		if !start.Before(w.end) {
			return
		}
		ok, next, err := c.send(hc, req, &body, want, cookieHeader)
		if ctx.Err() != nil {
			c.err = ctx.Err()
			return
		}
		if err != nil || !ok {
			c.errors++
		}
		if next != "" {
			cookieHeader = next
			req.Header.Set("Cookie", cookieHeader)
		}
		if !start.Before(w.begin) {
			c.latencies = append(c.latencies, time.Since(start))
		}
	}
}

// send sends req, whose Cookie header is cookie ("name=value"), and
// reports whether the answer was right, and the new Cookie header if the
// response set a different session cookie.
func (c *loadClient) send(hc *http.Client, req *http.Request, body *bytes.Buffer, want, cookie string) (ok bool, next string, err error) {
	res, err := hc.Do(req)
	if err != nil {
		return false, "", err
	}
	body.Reset()
	_, err = body.ReadFrom(res.Body)
	_ = res.Body.Close()
	if err != nil {
		return false, "", err
	}
	for _, h := range res.Header.Values("Set-Cookie") {
		// scs with an idle timeout re-sends the same cookie on every
		// response. That costs its server a header, which is measured;
		// parsing it would also cost this client, which stands in for a
		// browser on another machine, so an unchanged cookie is skipped.
		if strings.HasPrefix(h, cookie+";") {
			continue
		}
		ck, err := http.ParseSetCookie(h)
		if err == nil && ck.Name == c.target.app.CookieName && !isClearing(ck) {
			next = ck.Name + "=" + ck.Value
		}
	}
	ok = res.StatusCode == http.StatusOK && (want == "" || body.String() == want)
	return ok, next, nil
}

// noSessionUser is what the ceiling's /read answers for a request that
// wants want: its every request sees the user "ann".
func noSessionUser(want string) string {
	if want == "" {
		return ""
	}
	return "ann"
}

// login logs the client's user in and returns the session cookie; nil for
// the ceiling, which has none.
func (c *loadClient) login(ctx context.Context, hc *http.Client) (*http.Cookie, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.target.server.URL+"/login?user="+c.user, nil)
	if err != nil {
		return nil, err
	}
	res, err := hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("login: %w", err)
	}
	defer res.Body.Close()
	// Drain the body, so that the connection is reused by the run.
	if _, err := io.Copy(io.Discard, res.Body); err != nil {
		return nil, fmt.Errorf("login: %w", err)
	}
	if res.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("login: status %d", res.StatusCode)
	}
	if c.target.app.CookieName == "" {
		return nil, nil // the ceiling: the request ran the same handler, and keeps nothing
	}
	for _, ck := range res.Cookies() {
		if ck.Name == c.target.app.CookieName && !isClearing(ck) {
			return ck, nil
		}
	}
	return nil, errors.New("login: no session cookie")
}
