package tests

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/hexchi/starter/internal/apptest"
)

// The failover tests kill a Redis master under load and check the promise
// of DESIGN.md §9: the app survives a failover (Sentinel, and Cluster with
// replicas) without a restart. They also measure what users saw: how long
// the app answered 503, whether anything else went wrong, and which
// sessions the failover lost (replication is asynchronous: a write the old
// master acknowledged but had not sent to its replica yet is gone).
//
// Each test logs one "failover:" line with the figures.
const (
	// failoverTimeout bounds a whole test, containers included.
	failoverTimeout = 2 * time.Minute
	// failoverSessions (K) is how many sessions log in before the kill, to
	// be checked after it.
	failoverSessions = 50
	// failoverWorkers is how many logged-in users send requests during
	// the failover, each a GET /me and a POST /me/counter every
	// failoverPace.
	failoverWorkers = 8
	failoverPace    = 20 * time.Millisecond
	// churnPace is how often a new user logs in during the failover: the
	// logins acknowledged just before the kill are the ones it may lose.
	churnPace = 50 * time.Millisecond
	// recoverWithin bounds the time from the kill until the app answers
	// 200s again.
	recoverWithin = 30 * time.Second
	// steadyFor is how long every worker must have been answered only 200s,
	// after the replica took over, for the app to count as recovered.
	steadyFor = time.Second
	// failoverRequestTimeout bounds each request, so that a hung app fails
	// the test instead of stalling it.
	failoverRequestTimeout = 5 * time.Second
	// maxAnswer bounds every answer of the workers: a request makes at most
	// two store calls (the session's load, then a write), each bounded by
	// the Redis timeout (session.Options.StoreTimeout).
	maxAnswer = 2*redisReadTimeout + outageMargin
	// downAfterMS is how long a master must not answer before Sentinel or
	// the Cluster fails it over: a second, against 30 s (Sentinel) and 15
	// s (cluster-node-timeout) by default, so that the tests stay short.
	downAfterMS = 1000
	// sentinelMaster is the name Sentinel knows the group by.
	sentinelMaster = "hexchi"
)

// TestSentinelFailover runs a master, a replica and three Sentinels
// (quorum 2), the app on them (core.redis.masterName), K logged-in
// sessions and a load; then kills the master. The Sentinels promote the
// replica, and the app must serve again by itself: no 5xx but 503, no
// other unexpected status, no request without an answer, no worker answer
// slower than the store timeouts allow, the replica as the new master, and
// new logins working. Sessions lost are counted and logged, not failed:
// replication is asynchronous.
func TestSentinelFailover(t *testing.T) {
	began := time.Now()
	ctx := failoverContext(t)
	pool := dockerPool(t)
	g := startSentinelGroup(ctx, t, pool)
	t.Setenv("CORE_REDIS_MASTER_NAME", sentinelMaster)
	srv, _ := appForFailover(t, g.sentinelAddrs()...)

	users := newFailoverUsers(t, srv.URL)
	kept := users.loginMany(ctx, t, failoverSessions)
	load := startFailoverLoad(ctx, t, users, users.loginMany(ctx, t, failoverWorkers))
	load.waitAnswered(ctx, t)

	killed := time.Now()
	g.master.kill(t)
	failedOver := load.waitRecovered(ctx, t, killed, func() bool {
		addr, err := g.masterAddr(ctx, g.sentinels[0])
		return err == nil && addr == g.replica.addr
	})
	load.stop()

	// Every Sentinel agrees, and names the old replica: the app's client
	// asks any one of them.
	for _, s := range g.sentinels {
		retryFor(ctx, t, 10*time.Second, s.name+" names the old replica master", func() error {
			addr, err := g.masterAddr(ctx, s)
			if err == nil && addr != g.replica.addr {
				err = fmt.Errorf("master is %s, want the old replica %s", addr, g.replica.addr)
			}
			return err
		})
	}
	report := load.report(ctx, t, killed, failedOver, kept, nil)
	users.checkNewLogin(ctx, t)
	t.Logf("failover: sentinel: %s; test took %v", report, time.Since(began).Round(time.Millisecond))
}

// TestClusterFailover runs a Redis Cluster of three masters with a replica
// each, the app on it (core.redis.addrs: the masters), K logged-in
// sessions and a load; then kills the master that holds the most of the
// load's sessions. The Cluster promotes that master's replica, and the app
// must serve again by itself, with the same checks as
// TestSentinelFailover. Only sessions whose keys lived on the killed
// master can be lost: one on a surviving master that is fails the test.
func TestClusterFailover(t *testing.T) {
	began := time.Now()
	ctx := failoverContext(t)
	pool := dockerPool(t)
	c := startReplicatedCluster(ctx, t, pool)
	srv, prefix := appForFailover(t, c.masterAddrs()...)

	users := newFailoverUsers(t, srv.URL)
	kept := users.loginMany(ctx, t, failoverSessions)
	workers := users.loginMany(ctx, t, failoverWorkers)
	// Which master holds each session, read with a Cluster client of the
	// test's own, from the session's handle (the key is <prefix>s:<handle>).
	owners := func(us []*webUser) []int {
		idx := make([]int, len(us))
		for i, u := range us {
			r := u.do(ctx, http.MethodGet, "/api/v1/auth/sessions", nil)
			if r.err != nil {
				t.Fatalf("GET /api/v1/auth/sessions: %v", r.err)
			}
			idx[i] = c.owner(ctx, t, prefix+"s:"+currentHandle(t, r.status, r.body))
		}
		return idx
	}
	workerOwners, keptOwners := owners(workers), owners(kept)
	// The victim: the master with the most workers' sessions (at least
	// three of eight), so that the load sees the failover.
	victim := 0
	for m := range c.masters {
		if countOf(workerOwners, m) > countOf(workerOwners, victim) {
			victim = m
		}
	}
	atRisk := make([]bool, len(kept))
	for i, m := range keptOwners {
		atRisk[i] = m == victim
	}

	load := startFailoverLoad(ctx, t, users, workers)
	load.waitAnswered(ctx, t)

	killed := time.Now()
	c.masters[victim].kill(t)
	promoted := c.replicas[victim]
	failedOver := load.waitRecovered(ctx, t, killed, func() bool {
		// Two replicas left: the promoted one's master is gone.
		return c.isMaster(ctx, promoted) && c.clusterOK(ctx, promoted, 2) == nil
	})
	load.stop()

	report := load.report(ctx, t, killed, failedOver, kept, atRisk)
	users.checkNewLogin(ctx, t)
	t.Logf("failover: cluster: %s; victim held %d of %d workers' sessions; test took %v",
		report, countOf(workerOwners, victim), len(workers), time.Since(began).Round(time.Millisecond))
}

// failoverContext returns the context of a whole failover test, which ends
// with failoverTimeout at the latest.
func failoverContext(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), failoverTimeout)
	t.Cleanup(cancel)
	return ctx
}

// appForFailover starts the app on the Redis store at addrs, with limits
// that K logins from one client allow.
func appForFailover(t *testing.T, addrs ...string) (*apptest.Server, string) {
	t.Helper()
	// Every login comes from 127.0.0.1 as the demo user: the login limits
	// would answer 429 within a second, and the cap of sessions per user
	// would end the first ones.
	t.Setenv("CORE_AUTH_LOGIN_PER_CLIENT", "1000000")
	t.Setenv("CORE_AUTH_LOGIN_PER_USERNAME", "1000000")
	t.Setenv("CORE_AUTH_SESSION_MAX_SESSIONS_PER_GROUP", "0")
	return appOnRedis(t, addrs...)
}

// countOf returns how many of xs are x.
func countOf(xs []int, x int) int {
	n := 0
	for _, v := range xs {
		if v == x {
			n++
		}
	}
	return n
}

// retryFor calls f every 100 ms until it returns nil, and fails the test
// with its last error if that takes longer than timeout or ctx ends.
func retryFor(ctx context.Context, t *testing.T, timeout time.Duration, what string, f func() error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		err := f()
		if err == nil {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("%s: not within %v: %v", what, timeout, err)
		case <-tick.C:
		}
	}
}
