package tests

import (
	"context"
	"maps"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hexchi/starter/internal/apptest"
)

// Redis timeouts of config/test (the defaults), which bound how long a
// request waits on a paused Redis before it is answered 503.
const (
	redisReadTimeout = time.Second
	// outageMargin covers go-redis's retry backoff and the request's own
	// work on a busy 2-core machine.
	outageMargin = time.Second
)

// traffic sends GET /api/v1/me from its own logged-in client until stopped,
// and counts the answers by status. It is the "traffic running" of the
// fault tests: a 500 or a hang anywhere in it fails them.
type traffic struct {
	mu       sync.Mutex
	byStatus map[int]int
	maxTime  time.Duration
	stop     context.CancelFunc
	done     chan struct{}
}

func startTraffic(t *testing.T, c *apptest.Client) *traffic {
	ctx, cancel := context.WithCancel(t.Context())
	tr := &traffic{byStatus: map[int]int{}, stop: cancel, done: make(chan struct{})}
	go func() {
		defer close(tr.done)
		for ctx.Err() == nil {
			start := time.Now()
			s := status(c, http.MethodGet, "/api/v1/me")
			tr.mu.Lock()
			tr.byStatus[s]++
			tr.maxTime = max(tr.maxTime, time.Since(start))
			tr.mu.Unlock()
			time.Sleep(20 * time.Millisecond)
		}
	}()
	t.Cleanup(tr.end)
	return tr
}

// end stops the traffic and waits for its goroutine.
func (tr *traffic) end() {
	tr.stop()
	<-tr.done
}

func (tr *traffic) summary() (map[int]int, time.Duration) {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	return maps.Clone(tr.byStatus), tr.maxTime
}

// timed returns the response to one request and how long it took.
func timed(c *apptest.Client, method, path string) (apptest.Response, time.Duration) {
	start := time.Now()
	r := c.Do(method, path, nil, "")
	return r, time.Since(start)
}

// TestRedisPause pauses the Redis container under traffic: requests that
// need the session get 503 problem+json within the Redis timeout plus a
// margin (no hang, no 500), /readyz goes 503 and /livez stays 200; after
// unpausing, the app recovers by itself.
func TestRedisPause(t *testing.T) {
	rc := startRedisContainer(t)
	srv, _ := appOnRedis(t, rc.Addr)
	user, background := apptest.NewClient(t, srv.URL), apptest.NewClient(t, srv.URL)
	login(t, user)
	login(t, background)
	tr := startTraffic(t, background)

	id := rc.res.Container.ID
	if err := rc.pool.Client.PauseContainer(id); err != nil {
		t.Fatalf("pause redis: %v", err)
	}
	paused := true
	t.Cleanup(func() {
		if paused {
			_ = rc.pool.Client.UnpauseContainer(id)
		}
	})

	r, took := timed(user, http.MethodGet, "/api/v1/me")
	t.Logf("fault: GET /me with Redis paused: %d in %v", r.Status, took)
	if r.Status != http.StatusServiceUnavailable || r.Header.Get("Content-Type") != "application/problem+json" || r.Header.Get("Retry-After") == "" {
		t.Errorf("GET /me with Redis paused: %d %q (Retry-After %q), want 503 problem+json with Retry-After",
			r.Status, r.Header.Get("Content-Type"), r.Header.Get("Retry-After"))
	}
	if limit := redisReadTimeout + outageMargin; took > limit {
		t.Errorf("GET /me with Redis paused took %v, want at most %v", took, limit)
	}
	r, took = timed(user, http.MethodGet, "/readyz")
	t.Logf("fault: /readyz with Redis paused: %d in %v", r.Status, took)
	if r.Status != http.StatusServiceUnavailable || took > 1500*time.Millisecond {
		t.Errorf("/readyz with Redis paused: %d in %v, want 503 within 1.5s", r.Status, took)
	}
	if s := status(user, http.MethodGet, "/livez"); s != http.StatusOK {
		t.Errorf("/livez with Redis paused: %d, want 200", s)
	}

	if err := rc.pool.Client.UnpauseContainer(id); err != nil {
		t.Fatalf("unpause redis: %v", err)
	}
	paused = false
	unpaused := time.Now()
	waitFor(t, 10*time.Second, "GET /me to succeed after unpause", func() bool {
		return status(user, http.MethodGet, "/api/v1/me") == http.StatusOK
	})
	t.Logf("fault: recovered %v after unpause", time.Since(unpaused))
	if s := status(user, http.MethodGet, "/readyz"); s != http.StatusOK {
		t.Errorf("/readyz after unpause: %d", s)
	}

	tr.end()
	counts, slowest := tr.summary()
	t.Logf("fault: background traffic during the pause: %v, slowest %v", counts, slowest)
	checkNoServerErrors(t, counts)
	if limit := redisReadTimeout + outageMargin; slowest > limit {
		t.Errorf("a background request took %v, want at most %v", slowest, limit)
	}
}

// waitFor polls cond until it holds, or fails the test after timeout.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, timeout)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// checkNoServerErrors fails on any 5xx but the 503 an outage is answered with.
func checkNoServerErrors(t *testing.T, counts map[int]int) {
	t.Helper()
	for s, n := range counts {
		if s >= 500 && s != http.StatusServiceUnavailable {
			t.Errorf("%d answers with status %d", n, s)
		}
	}
}

// TestRedisRestart restarts the Redis container under traffic. Redis keeps
// what its last SAVE held: a session from before it continues, one created
// after it is gone, is answered 401 with its cookie cleared, and can log in
// again. The app reconnects by itself, and nothing is ever answered 500.
func TestRedisRestart(t *testing.T) {
	rc := startRedisContainer(t)
	srv, _ := appOnRedis(t, rc.Addr)
	rdb := newClient(t, rc.Addr)
	kept, lost, background := apptest.NewClient(t, srv.URL), apptest.NewClient(t, srv.URL), apptest.NewClient(t, srv.URL)
	login(t, kept)
	login(t, background)
	if err := rdb.Save(t.Context()).Err(); err != nil {
		t.Fatalf("SAVE: %v", err)
	}
	login(t, lost) // after the snapshot: the restart loses it
	tr := startTraffic(t, background)

	start := time.Now()
	if err := rc.pool.Client.RestartContainer(rc.res.Container.ID, 5); err != nil {
		t.Fatalf("restart redis: %v", err)
	}
	back := time.Now()
	waitFor(t, 15*time.Second, "GET /me with the kept session after the restart", func() bool {
		return status(kept, http.MethodGet, "/api/v1/me") == http.StatusOK
	})
	t.Logf("fault: docker restart took %v; the kept session answered 200 %v after Redis was back",
		back.Sub(start), time.Since(back))

	r := lost.Do(http.MethodGet, "/api/v1/me", nil, "")
	if r.Status != http.StatusUnauthorized {
		t.Errorf("GET /me with the session Redis lost: %d, want 401", r.Status)
	}
	if c := r.Header.Get("Set-Cookie"); !strings.Contains(c, "Max-Age=0") {
		t.Errorf("the lost session's cookie was not cleared: Set-Cookie %q", c)
	}
	login(t, lost)
	if s := status(lost, http.MethodGet, "/api/v1/me"); s != http.StatusOK {
		t.Errorf("GET /me after logging in again: %d", s)
	}
	if s := status(kept, http.MethodGet, "/readyz"); s != http.StatusOK {
		t.Errorf("/readyz after the restart: %d", s)
	}

	tr.end()
	counts, _ := tr.summary()
	t.Logf("fault: background traffic during the restart: %v", counts)
	checkNoServerErrors(t, counts)
}
