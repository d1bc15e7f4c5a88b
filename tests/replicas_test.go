package tests

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hexchi/starter/internal/apptest"
)

// Replicas behind a real load balancer: three containers of the app image
// that share one Redis and nothing else, behind HAProxy balancing round
// robin (replicaset_test.go starts them). What a user does through one
// replica, every replica honours.

// TestReplicasBehindALoadBalancer logs in through the balancer, checks that
// every replica serves the session, then ends sessions three ways (logout,
// revoke, log out everywhere), each on one replica, and measures how long
// the two others still serve the ended session from their near caches.
// Only Redis's invalidation can end that soon: the replicas run with
// maxStaleness at the config's maximum, a minute, and the test asserts
// each lag at most replicaLagBound, 10 s. That is far above what it
// measures (the invalidation has arrived before the next request: the lag
// is a request's round trip, milliseconds), so that a loaded machine does
// not fail it, and far below the minute, so that a replica which lost the
// invalidation, and serves the session until its entry expires, does. The
// test logs each lag.
func TestReplicasBehindALoadBalancer(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(t.Context(), replicaSetTimeout)
	defer cancel()
	set := startReplicaSet(ctx, t)

	// Through the balancer: one session, served by every replica.
	c := newCurlClient(t, set.LB)
	r := c.do(ctx, http.MethodPost, "/api/v1/auth/login", demoLogin, nil)
	if r.Status != http.StatusOK {
		t.Fatalf("login through the balancer: %d %s", r.Status, r.Body)
	}
	checkDemoSessionCookie(t, r.Header)
	const requests = 30
	served := map[string]int{}
	for range requests {
		r := c.do(ctx, http.MethodGet, "/api/v1/me", nil, nil)
		if r.Status != http.StatusOK {
			t.Fatalf("GET /api/v1/me through the balancer, answered by %q: %d %s, want 200", r.Header.Get(replicaHeader), r.Status, r.Body)
		}
		served[r.Header.Get(replicaHeader)]++
	}
	t.Logf("%d requests through the balancer, by replica: %v", requests, served)
	if names := slices.Sorted(maps.Keys(served)); !slices.Equal(names, set.names()) {
		t.Fatalf("the balancer's answers came from %q, want every replica, %q", names, set.names())
	}
	// Each replica read the session again and again: from its near cache,
	// or the lags below would measure nothing of it.
	hits := map[string]float64{}
	for _, rep := range set.Replicas {
		m := apptest.Get(t, rep.Admin+"/metrics", nil)
		hits[rep.Name] = metricValue(string(m.Body), "hexchi_session_near_cache_lookups_total{", `result="hit"`)
		tracking := metricValue(string(m.Body), "hexchi_session_near_cache_tracking", "")
		if hits[rep.Name] < 1 || tracking != 1 {
			t.Errorf("%s: near cache hits %v and tracking %v, want hits and tracking 1: its near cache does not serve", rep.Name, hits[rep.Name], tracking)
		}
	}
	t.Logf("near cache hits by replica: %v", hits)

	// Each way to end a session, done on a replica of its own.
	endings := []struct {
		name string
		// end ends victim's session through the replica at base; a
		// second session of the same user does it where the API asks.
		end func(ctx context.Context, t *testing.T, base string, victim *curlClient)
	}{
		{"logout", func(ctx context.Context, t *testing.T, base string, victim *curlClient) {
			if r := victim.on(base).do(ctx, http.MethodPost, "/api/v1/auth/logout", nil, nil); r.Status != http.StatusNoContent {
				t.Fatalf("logout: %d %s, want 204", r.Status, r.Body)
			}
		}},
		{"revoke", func(ctx context.Context, t *testing.T, base string, victim *curlClient) {
			list := victim.do(ctx, http.MethodGet, "/api/v1/auth/sessions", nil, nil)
			handle := currentHandle(t, list.Status, list.Body)
			other := loginThrough(ctx, t, set.LB)
			if r := other.on(base).do(ctx, http.MethodDelete, "/api/v1/auth/sessions/"+handle, nil, nil); r.Status != http.StatusNoContent {
				t.Fatalf("revoke from another session: %d %s, want 204", r.Status, r.Body)
			}
		}},
		{"log out everywhere", func(ctx context.Context, t *testing.T, base string, _ *curlClient) {
			other := loginThrough(ctx, t, set.LB)
			r := other.on(base).do(ctx, http.MethodPost, "/api/v1/auth/logout-all", []byte(`{"includeCurrent":false}`), nil)
			var res struct{ Ended int }
			if r.Status != http.StatusOK || json.Unmarshal(r.Body, &res) != nil || res.Ended < 1 {
				t.Fatalf("log out everywhere from another session: %d %s, want 200 and at least one session ended", r.Status, r.Body)
			}
		}},
	}
	// Not maxStaleness + a margin: a replica that never heard of the
	// ending would refuse it by then too, and the test would prove nothing
	// of invalidation (replicaLagBound).
	bound := replicaLagBound
	lags := map[string][]time.Duration{}
	for i, e := range endings {
		t.Run(e.name, func(t *testing.T) {
			at := set.Replicas[i%len(set.Replicas)]
			victim := loginThrough(ctx, t, set.LB)
			// Every replica reads the session first, so that each holds it
			// in its near cache: the ending must evict it there.
			for _, rep := range set.Replicas {
				r := victim.on(rep.URL).do(ctx, http.MethodGet, "/api/v1/me", nil, nil)
				if got := r.Header.Get(replicaHeader); r.Status != http.StatusOK || got != rep.Name {
					t.Fatalf("GET /api/v1/me at %s: %d %s from %q, want 200 from %s", rep.URL, r.Status, r.Body, got, rep.Name)
				}
			}
			sid := victim.sessionCookie(t)
			e.end(ctx, t, at.URL, victim)
			ended := time.Now()

			// The other replicas, watched at the same time, each by a
			// goroutine of its own, so that no lag waits for another's.
			others := slices.DeleteFunc(slices.Clone(set.Replicas), func(r replica) bool { return r == at })
			refusals := make([]refusal, len(others))
			var wg sync.WaitGroup
			for i, rep := range others {
				wg.Go(func() { refusals[i] = awaitRefusal(ctx, rep, sid, ended, bound) })
			}
			// Meanwhile, read-your-writes: the replica that ended the
			// session refuses it at once.
			if got, err := askMe(ctx, at, sid); err != nil || got != http.StatusUnauthorized {
				t.Errorf("GET /api/v1/me at %s, which did the %s, right after it: %d (%v), want 401", at.Name, e.name, got, err)
			}
			wg.Wait()
			for i, r := range refusals {
				if r.err != nil {
					t.Error(r.err)
					continue
				}
				t.Logf("%s on %s: %s refused the session %v later, after %d answers that still served it",
					e.name, at.Name, others[i].Name, r.lag.Round(10*time.Microsecond), r.stale)
				if r.lag > bound {
					t.Errorf("%s refused the session %v after the %s, past the bound of %v", others[i].Name, r.lag, e.name, bound)
				}
				lags[e.name] = append(lags[e.name], r.lag)
			}
		})
	}
	for _, e := range endings {
		t.Logf("lag, %s: %s (bound %v, by invalidation: maxStaleness is %v)", e.name, roundLags(lags[e.name]), bound, replicaMaxStaleness)
	}
}

// TestLoginLimitsAcrossReplicas spends the demo user's failed-login budget
// (core.auth.login.perUsername) with wrong passwords spread round robin
// over the replicas, and expects the attempt after it to be refused with
// 429: the limit is the user's, not each replica's. That needs the limits
// counted in Redis (DESIGN.md §9); with counters in each process, every
// replica sees a third of the attempts and none reaches the budget.
func TestLoginLimitsAcrossReplicas(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(t.Context(), replicaSetTimeout)
	defer cancel()
	set := startReplicaSet(ctx, t)

	c := newCurlClient(t, set.LB)
	wrong := []byte(`{"username":"demo","password":"not-the-password"}`)
	served := map[string]int{}
	for i := range replicaPerUsername {
		r := c.do(ctx, http.MethodPost, "/api/v1/auth/login", wrong, nil)
		served[r.Header.Get(replicaHeader)]++
		if r.Status != http.StatusUnauthorized {
			t.Fatalf("wrong password, attempt %d of a budget of %d, answered by %q: %d %s, want 401",
				i+1, replicaPerUsername, r.Header.Get(replicaHeader), r.Status, r.Body)
		}
	}
	r := c.do(ctx, http.MethodPost, "/api/v1/auth/login", wrong, nil)
	served[r.Header.Get(replicaHeader)]++
	t.Logf("%d wrong passwords through the balancer, by replica: %v", replicaPerUsername+1, served)
	// The point of the test: otherwise it proves nothing about sharing.
	if len(served) < 2 {
		t.Fatalf("every attempt was answered by %v: the balancer did not spread them", served)
	}
	if r.Status != http.StatusTooManyRequests {
		t.Fatalf("attempt %d, past the budget of %d, answered by %q: %d %s, want 429: each replica counts alone, so the limits are not shared through Redis",
			replicaPerUsername+1, replicaPerUsername, r.Header.Get(replicaHeader), r.Status, r.Body)
	}
	if s, err := strconv.Atoi(r.Header.Get("Retry-After")); err != nil || s <= 0 {
		t.Errorf("429's Retry-After %q, want a positive number of seconds", r.Header.Get("Retry-After"))
	}
}

// loginThrough logs in as the demo user through the balancer, with a
// client of its own, and returns the client.
func loginThrough(ctx context.Context, t *testing.T, lb string) *curlClient {
	t.Helper()
	c := newCurlClient(t, lb)
	if r := c.do(ctx, http.MethodPost, "/api/v1/auth/login", demoLogin, nil); r.Status != http.StatusOK {
		t.Fatalf("login through the balancer: %d %s", r.Status, r.Body)
	}
	return c
}

// on returns c sending to base instead, with the same cookie jar: a jar
// keys cookies by host and not port, so the cookie the balancer's replica
// set on 127.0.0.1 goes to every replica's own port on 127.0.0.1 too.
func (c *curlClient) on(base string) *curlClient {
	return &curlClient{t: c.t, base: base, hc: c.hc}
}

// sessionCookie returns the value of the session cookie in c's jar.
func (c *curlClient) sessionCookie(t *testing.T) string {
	t.Helper()
	u, err := url.Parse(c.base)
	if err != nil {
		t.Fatal(err)
	}
	for _, ck := range c.hc.Jar.Cookies(u) {
		if ck.Name == sessionCookie {
			return ck.Value
		}
	}
	t.Fatalf("no %s cookie for %s", sessionCookie, c.base)
	return ""
}

// currentHandle returns the handle of the session that an answer to GET
// /api/v1/auth/sessions, status and body, marks as the current one: the
// session of the client that asked.
func currentHandle(t *testing.T, status int, body []byte) string {
	t.Helper()
	var list struct {
		Sessions []struct {
			Handle  string `json:"handle"`
			Current bool   `json:"current"`
		} `json:"sessions"`
	}
	if status != http.StatusOK {
		t.Fatalf("GET /api/v1/auth/sessions: %d %s, want 200", status, body)
	}
	if err := json.Unmarshal(body, &list); err != nil {
		t.Fatalf("GET /api/v1/auth/sessions: %v in %s", err, body)
	}
	for _, s := range list.Sessions {
		if s.Current {
			return s.Handle
		}
	}
	t.Fatalf("GET /api/v1/auth/sessions lists no current session: %s", body)
	return ""
}

// refusal is how a replica came to refuse a session that ended elsewhere.
type refusal struct {
	// lag runs from the ending's answer to the refusal's: an upper bound,
	// with the refused request's own round trip in it.
	lag time.Duration
	// stale counts the answers that still served the session before.
	stale int
	err   error // why the replica did not refuse it within the bound
}

// awaitRefusal asks rep for GET /api/v1/me with the session cookie sid,
// ended at ended, about every millisecond until it answers 401, or until
// bound has passed (the refusal's lag may then be past it too: the caller
// checks).
func awaitRefusal(ctx context.Context, rep replica, sid string, ended time.Time, bound time.Duration) refusal {
	for stale := 0; ; stale++ {
		status, err := askMe(ctx, rep, sid)
		lag := time.Since(ended)
		switch {
		case err != nil:
			return refusal{err: err}
		case status == http.StatusUnauthorized:
			return refusal{lag: lag, stale: stale}
		case lag > bound:
			return refusal{err: fmt.Errorf("%s still serves the session %v after it ended, past the bound of %v", rep.Name, lag.Round(time.Millisecond), bound)}
		}
		// Not a hot loop: a replica serving from its cache answers at
		// once, and the lag would be this loop's wait for a CPU.
		time.Sleep(time.Millisecond)
	}
}

// askMe sends GET /api/v1/me to rep with the session cookie sid, from a
// client with no jar, and returns the status: 200 (the session is served)
// or 401 (refused), from rep itself, or an error.
func askMe(ctx context.Context, rep replica, sid string) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rep.URL+"/api/v1/me", nil)
	if err != nil {
		return 0, fmt.Errorf("new request: %w", err)
	}
	req.AddCookie(&http.Cookie{Name: sessionCookie, Value: sid})
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, fmt.Errorf("GET /api/v1/me at %s: %w", rep.Name, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, fmt.Errorf("GET /api/v1/me at %s: read the body: %w", rep.Name, err)
	}
	switch got := resp.Header.Get(replicaHeader); {
	case got != rep.Name:
		return 0, fmt.Errorf("GET %s/api/v1/me answered by %q, want %s", rep.URL, got, rep.Name)
	case resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusUnauthorized:
		return 0, fmt.Errorf("GET /api/v1/me at %s with an ended session: %d %s, want 200 (still cached) or 401", rep.Name, resp.StatusCode, body)
	}
	return resp.StatusCode, nil
}

// roundLags is a list of lags for the log, each rounded to 10 µs.
func roundLags(lags []time.Duration) string {
	s := make([]string, len(lags))
	for i, l := range lags {
		s[i] = l.Round(10 * time.Microsecond).String()
	}
	return strings.Join(s, ", ")
}
