package measure

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"time"

	"github.com/hexchi/starter/bench/internal/apps"
)

// LagAction is a way one replica ends a session that another has cached.
type LagAction string

// The actions whose cross-replica lag is measured.
const (
	LagLogout     LagAction = "logout"
	LagRevoke     LagAction = "revoke (from another session of the user)"
	LagEverywhere LagAction = "log out everywhere (from another session of the user)"
)

// LagActions lists the actions in the report's order.
var LagActions = []LagAction{LagLogout, LagRevoke, LagEverywhere}

// Lag is how long a replica kept accepting a session that another replica
// had ended, over a number of trials.
type Lag struct {
	Trials int
	// P50, P99 and Max are of the time from the moment the ending
	// request's response reached its client (the write is acknowledged)
	// to the moment B's handler began the first request that it answered
	// with the session rejected: an upper bound on the lag, by at most the
	// time between two of B's polls.
	P50, P99, Max time.Duration
	// Poll is the median time one of B's polls took, as its client saw it,
	// while B still accepted the session (a cache hit with the near cache,
	// over loopback HTTP): the polls run back to back, so this is the
	// lag's resolution.
	Poll time.Duration
	// Accepted is how many of B's requests, over all trials, still
	// accepted the session after the ending response; MaxAccepted the most
	// in one trial.
	Accepted, MaxAccepted int
	// Uncached counts trials redone because B's read before the action was
	// not served from its near cache (it must be, or the trial measures a
	// Redis read); always 0 for a setup without one.
	Uncached int
}

// lagTimeout bounds one trial's wait for B to reject the session. The
// near cache's MaxStaleness (2 s by default) bounds the real lag.
const lagTimeout = 10 * time.Second

// MeasureLag runs two replicas of setup's hexchi app, A and B, on the Redis
// at redisAddr: the same key prefix and cookie secret, each with its own
// client and its own store (and near cache, if setup has one). For each
// action and trial it logs a new user in on A, has B read (and cache) the
// session, ends it on A, and polls B with the session's cookie, back to
// back, until B rejects it. Nothing waits for the invalidation (no Sync)
// between the action and B's polls: the lag is the real one. Before the
// action, the trial does Sync B, so that the invalidations of the trial's
// own logins cannot land in the measured window.
//
// A's requests are served in-process, so that the acknowledgement is taken
// the moment A's handler returns. B is polled over loopback HTTP, as a
// browser would: an in-process loop that never blocks keeps a P busy and
// starves B's own subscriber goroutine of CPU on a 2-CPU machine, which
// measures the poller, not the store.
func MeasureLag(ctx context.Context, redisAddr string, setup Setup, trials int) (_ map[LagAction]Lag, err error) {
	if setup.Library != apps.Hexchi {
		return nil, fmt.Errorf("%s: the lag is measured on hexchi only", setup)
	}
	if trials < 1 {
		return nil, errors.New("lag: need at least one trial")
	}
	secret := make([]byte, 32)
	_, _ = rand.Read(secret)
	// A prefix of the run's own, so that two runs never share sessions.
	prefix := setup.prefix() + "lag-" + rand.Text()[:8] + ":"
	var a, b *apps.App
	defer func() {
		err = errors.Join(err, closeReplica(a), closeReplica(b))
	}()
	for _, app := range []**apps.App{&a, &b} {
		cfg := setup.config(NewClient(redisAddr))
		cfg.Prefix, cfg.Secret = prefix, secret
		if *app, err = setup.newApp(ctx, cfg); err != nil {
			_ = cfg.Redis.Close()
			return nil, err
		}
	}
	// B's server stamps every response with the moment its handler began.
	epoch := time.Now()
	srvB := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set(enteredHeader, strconv.FormatInt(int64(time.Since(epoch)), 10))
		b.Handler.ServeHTTP(w, r)
	}))
	defer srvB.Close()
	transport := &http.Transport{MaxIdleConnsPerHost: 1, DisableCompression: true}
	defer transport.CloseIdleConnections()
	pollB := &poller{url: srvB.URL + "/read", cookieName: b.CookieName, hc: &http.Client{Transport: transport}, epoch: epoch}
	out := map[LagAction]Lag{}
	for _, action := range LagActions {
		lags := make([]time.Duration, 0, trials)
		pollB.times = pollB.times[:0]
		var res Lag
		for i := 0; len(lags) < trials; i++ {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			if res.Uncached > trials {
				return nil, fmt.Errorf("%s, %s: B's near cache missed in %d trials", setup, action, res.Uncached)
			}
			user := "lag" + strconv.Itoa(i)
			d, accepted, hit, err := lagTrial(ctx, a, b, pollB, action, user)
			if err != nil {
				return nil, fmt.Errorf("%s, %s, trial %d: %w", setup, action, i+1, err)
			}
			if !hit {
				res.Uncached++
				continue
			}
			lags = append(lags, d)
			res.Accepted += accepted
			res.MaxAccepted = max(res.MaxAccepted, accepted)
		}
		slices.Sort(lags)
		res.Trials = len(lags)
		res.P50, res.P99, res.Max = percentile(lags, 50), percentile(lags, 99), lags[len(lags)-1]
		res.Poll = median(pollB.times)
		out[action] = res
	}
	return out, nil
}

// closeReplica closes a replica and its client.
func closeReplica(app *apps.App) error {
	if app == nil {
		return nil
	}
	return closeApp(app, app.Config.Redis)
}

// enteredHeader carries, on B's responses, when B's handler began the
// request, in nanoseconds since the poller's epoch.
const enteredHeader = "Bench-Entered"

// poller sends GET /read to B over HTTP, with a cookie.
type poller struct {
	url, cookieName string
	hc              *http.Client
	epoch           time.Time
	body            bytes.Buffer
	// times are the durations of the polls that accepted the session.
	times []time.Duration
}

// accepts reports whether B answers the cookie's session as user's, and
// when B's handler began the request.
func (p *poller) accepts(ctx context.Context, cookie, user string) (ok bool, entered time.Time, err error) {
	start := time.Now()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.url, nil)
	if err != nil {
		return false, entered, err
	}
	req.Header.Set("Cookie", p.cookieName+"="+cookie)
	res, err := p.hc.Do(req)
	if err != nil {
		return false, entered, err
	}
	p.body.Reset()
	_, err = p.body.ReadFrom(res.Body)
	_ = res.Body.Close()
	if err != nil {
		return false, entered, err
	}
	ns, perr := strconv.ParseInt(res.Header.Get(enteredHeader), 10, 64)
	switch {
	case res.StatusCode != http.StatusOK:
		return false, entered, fmt.Errorf("B: status %d", res.StatusCode)
	case perr != nil:
		return false, entered, fmt.Errorf("B: %s: %w", enteredHeader, perr)
	}
	entered = p.epoch.Add(time.Duration(ns))
	if p.body.String() != user {
		return false, entered, nil
	}
	p.times = append(p.times, time.Since(start))
	return true, entered, nil
}

// median returns the median of d; 0 for none.
func median(d []time.Duration) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := slices.Clone(d)
	slices.Sort(s)
	return s[len(s)/2]
}

// lagTrial runs one trial; hit is false if B's read before the action did
// not come from its near cache (with one), and the trial does not count.
func lagTrial(ctx context.Context, a, b *apps.App, pollB *poller, action LagAction, user string) (lag time.Duration, accepted int, hit bool, err error) {
	actor, err := loggedIn(ctx, a, user)
	if err != nil {
		return 0, 0, false, err
	}
	victim := actor.clone()
	if action != LagLogout {
		// A second session of the same user, on its own device: the actor
		// ends it from the first.
		if victim, err = loggedIn(ctx, a, user); err != nil {
			return 0, 0, false, err
		}
	}
	if err := settle(ctx, b); err != nil {
		return 0, 0, false, err
	}
	// The first read caches the session on B, the second must be served
	// from there.
	var hits uint64
	for i := range 2 {
		hits = b.Store.NearCacheStats().Hits
		if ok, _, err := pollB.accepts(ctx, victim.cookie, user); err != nil || !ok {
			return 0, 0, false, fmt.Errorf("B does not accept the new session before the action (%v)", err)
		}
		if i == 0 { // a miss: not the poll that the lag is made of
			pollB.times = pollB.times[:len(pollB.times)-1]
		}
	}
	if cached(b) && b.Store.NearCacheStats().Hits == hits {
		return 0, 0, false, nil
	}
	var target string
	switch action {
	case LagLogout:
		target = "/logout"
	case LagRevoke:
		target = "/revoke?h=" + a.Handle(victim.cookie)
	case LagEverywhere:
		target = "/logout-everywhere"
	}
	if _, err := actor.do(ctx, http.MethodPost, target); err != nil {
		return 0, 0, false, err
	}
	acked := time.Now()
	for {
		ok, entered, err := pollB.accepts(ctx, victim.cookie, user)
		if err != nil {
			return 0, 0, false, err
		}
		if !ok {
			return entered.Sub(acked), accepted, true, nil
		}
		accepted++
		if time.Since(acked) > lagTimeout {
			return 0, 0, false, fmt.Errorf("B still accepts the session %v after %s", lagTimeout, action)
		}
	}
}
