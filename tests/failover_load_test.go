package tests

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"
)

// The users and the load of failover_test.go, and the figures it reports.

// webUser is a browser of the failover tests, with its session cookie kept
// by hand. It is not an apptest.Client, whose Do ends the test with Fatalf
// when a request gets no answer: the load runs off the test's goroutine,
// where FailNow must not be called, and a request without an answer is one
// of the things it counts. The cookie goes back whatever its attributes,
// Secure included (config/test's, as production's), over the test's plain
// http. A webUser is used by one goroutine at a time.
type webUser struct {
	base   string
	hc     *http.Client
	cookie *http.Cookie // the session cookie, nil when there is none
}

// webReply is one answer, or the lack of one (status 0, err).
type webReply struct {
	status int
	body   []byte
	at     time.Time // when it came
	took   time.Duration
	err    error
}

// sessionCookie is the session cookie's name in config/test, and in the
// replica set's settings (replicaset_test.go).
const sessionCookie = "SID"

// do sends a request, with body as JSON unless it is nil, and keeps the
// session cookie the answer sets or clears.
func (u *webUser) do(ctx context.Context, method, path string, body []byte) webReply {
	ctx, cancel := context.WithTimeout(ctx, failoverRequestTimeout)
	defer cancel()
	start := time.Now()
	req, err := http.NewRequestWithContext(ctx, method, u.base+path, bytes.NewReader(body))
	if err != nil {
		return webReply{err: err, at: time.Now()}
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if u.cookie != nil {
		req.AddCookie(&http.Cookie{Name: u.cookie.Name, Value: u.cookie.Value})
	}
	resp, err := u.hc.Do(req)
	if err != nil {
		return webReply{err: err, at: time.Now(), took: time.Since(start)}
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	r := webReply{status: resp.StatusCode, body: b, err: err, at: time.Now(), took: time.Since(start)}
	if err != nil {
		r.status = 0
	}
	for _, c := range resp.Cookies() {
		if c.Name == sessionCookie {
			u.cookie = c
			if c.MaxAge < 0 || c.Value == "" {
				u.cookie = nil
			}
		}
	}
	return r
}

func (u *webUser) login(ctx context.Context) webReply {
	return u.do(ctx, http.MethodPost, "/api/v1/auth/login", demoLogin)
}

// failoverUsers makes the webUsers of a test: one HTTP transport for all,
// with an idle connection for each concurrent user, so that the load
// measures the app rather than connection setup.
type failoverUsers struct {
	base string
	hc   *http.Client
}

func newFailoverUsers(t *testing.T, base string) *failoverUsers {
	tr := &http.Transport{MaxIdleConns: 32, MaxIdleConnsPerHost: 32, IdleConnTimeout: time.Minute}
	t.Cleanup(tr.CloseIdleConnections)
	return &failoverUsers{base: base, hc: &http.Client{Transport: tr}}
}

func (f *failoverUsers) user() *webUser { return &webUser{base: f.base, hc: f.hc} }

// loginMany logs in n new users, one after another.
func (f *failoverUsers) loginMany(ctx context.Context, t *testing.T, n int) []*webUser {
	t.Helper()
	users := make([]*webUser, n)
	for i := range users {
		users[i] = f.user()
		if r := users[i].login(ctx); r.status != http.StatusOK {
			t.Fatalf("login %d of %d: %d %v %s", i+1, n, r.status, r.err, r.body)
		}
	}
	return users
}

// checkNewLogin checks that a new user can log in and use the session.
func (f *failoverUsers) checkNewLogin(ctx context.Context, t *testing.T) {
	t.Helper()
	u := f.user()
	if r := u.login(ctx); r.status != http.StatusOK {
		t.Errorf("a new login after the failover: %d %v %s", r.status, r.err, r.body)
		return
	}
	if r := u.do(ctx, http.MethodGet, "/api/v1/me", nil); r.status != http.StatusOK {
		t.Errorf("GET /me of a new login after the failover: %d %v %s", r.status, r.err, r.body)
	}
}

// failoverLoad is the traffic of a failover test: workers, each a
// logged-in user sending GET /me and POST /me/counter in turn every
// failoverPace, and a churner that logs a new user in every churnPace. It
// records every answer. Its goroutines run until stop, which the test
// calls once the app has recovered (and a cleanup calls in any case), or
// until the test's context ends.
type failoverLoad struct {
	cancel  context.CancelFunc
	wg      sync.WaitGroup
	workers int

	mu      sync.Mutex
	answers []loadAnswer // in the order they came
	logins  []ackedLogin // the churner's logins answered 200
	// lostIncrements counts increments answered 200 that a later answer's
	// counter did not include: acknowledged writes the failover lost.
	lostIncrements int
	// relogins counts workers' sessions lost (answered 401), after which
	// the worker logged in again.
	relogins int
}

// loadAnswer is one answer to the load; worker is -1 for the churner.
type loadAnswer struct {
	worker int
	path   string
	webReply
}

type ackedLogin struct {
	user *webUser
	at   time.Time
}

func startFailoverLoad(ctx context.Context, t *testing.T, users *failoverUsers, workers []*webUser) *failoverLoad {
	ctx, cancel := context.WithCancel(ctx)
	l := &failoverLoad{cancel: cancel, workers: len(workers)}
	for i, u := range workers {
		l.wg.Go(func() { l.work(ctx, i, u) })
	}
	l.wg.Go(func() { l.churn(ctx, users) })
	t.Cleanup(l.stop)
	return l
}

// stop ends the load and waits for its goroutines. It may be called more
// than once.
func (l *failoverLoad) stop() {
	l.cancel()
	l.wg.Wait()
}

func (l *failoverLoad) record(worker int, path string, r webReply) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.answers = append(l.answers, loadAnswer{worker: worker, path: path, webReply: r})
}

// work is worker i's loop. acked is the highest counter answered 200 on
// its session: an increment answered 200 with a counter no higher means
// that acknowledged increments were lost. A session answered 401 was lost
// by the failover: the worker logs in again, as a user would.
func (l *failoverLoad) work(ctx context.Context, i int, u *webUser) {
	acked, loggedIn := 0, true
	for {
		if loggedIn {
			r := u.do(ctx, http.MethodGet, "/api/v1/me", nil)
			if ctx.Err() != nil {
				return // the end of the load, not an answer
			}
			l.record(i, "GET /me", r)
			if r.status == http.StatusUnauthorized {
				l.mu.Lock()
				l.relogins++
				l.mu.Unlock()
				loggedIn, acked = false, 0
				continue
			}
			r = u.do(ctx, http.MethodPost, "/api/v1/me/counter", nil)
			if ctx.Err() != nil {
				return
			}
			l.record(i, "POST /me/counter", r)
			var got struct {
				Counter int `json:"counter"`
			}
			if r.status == http.StatusOK && json.Unmarshal(r.body, &got) == nil {
				if got.Counter <= acked {
					l.mu.Lock()
					l.lostIncrements += acked - got.Counter + 1
					l.mu.Unlock()
				}
				acked = got.Counter
			}
		} else {
			r := u.login(ctx)
			if ctx.Err() != nil {
				return
			}
			l.record(i, "POST /auth/login", r)
			loggedIn = r.status == http.StatusOK
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(failoverPace):
		}
	}
}

// churn logs a new user in every churnPace and keeps those answered 200.
func (l *failoverLoad) churn(ctx context.Context, users *failoverUsers) {
	for {
		u := users.user()
		r := u.login(ctx)
		if ctx.Err() != nil {
			return
		}
		l.record(-1, "POST /auth/login", r)
		if r.status == http.StatusOK {
			l.mu.Lock()
			l.logins = append(l.logins, ackedLogin{user: u, at: r.at})
			l.mu.Unlock()
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(churnPace):
		}
	}
}

// waitAnswered waits until every worker has been answered 200, so that the
// kill comes in steady state.
func (l *failoverLoad) waitAnswered(ctx context.Context, t *testing.T) {
	t.Helper()
	retryFor(ctx, t, 10*time.Second, "a 200 for every worker before the kill", func() error {
		if !l.steadySince(time.Time{}) {
			return fmt.Errorf("answers so far: %v", l.byStatus())
		}
		return nil
	})
}

// steadySince reports whether every worker has been answered since t, and
// only 200s.
func (l *failoverLoad) steadySince(t time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	answered := make([]bool, l.workers)
	for _, a := range slices.Backward(l.answers) {
		if a.at.Before(t) {
			break
		}
		if a.worker < 0 {
			continue
		}
		if a.status != http.StatusOK {
			return false
		}
		answered[a.worker] = true
	}
	return !slices.Contains(answered, false)
}

func (l *failoverLoad) byStatus() map[int]int {
	l.mu.Lock()
	defer l.mu.Unlock()
	counts := map[int]int{}
	for _, a := range l.answers {
		counts[a.status]++
	}
	return counts
}

// waitRecovered waits, from the kill, until failedOver says the replica
// has taken over and then every worker has been answered only 200s for
// steadyFor, and returns when failedOver first said so. It fails the test
// if that takes longer than recoverWithin.
func (l *failoverLoad) waitRecovered(ctx context.Context, t *testing.T, killed time.Time, failedOver func() bool) time.Time {
	t.Helper()
	var at time.Time
	retryFor(ctx, t, recoverWithin-time.Since(killed), "the app serving 200s again after the kill", func() error {
		now := time.Now()
		if at.IsZero() {
			if !failedOver() {
				return fmt.Errorf("no failover yet; answers so far: %v", l.byStatus())
			}
			at = now
		}
		if now.Sub(at) < steadyFor || !l.steadySince(now.Add(-steadyFor)) {
			return fmt.Errorf("failed over %v after the kill, not steady yet; answers so far: %v",
				at.Sub(killed).Round(time.Millisecond), l.byStatus())
		}
		return nil
	})
	return at
}

// report checks the load's answers and the sessions of kept, logs in
// detail what it found, and returns the summary. atRisk[i] says whether
// kept[i] lived on the killed master; nil means all did.
func (l *failoverLoad) report(ctx context.Context, t *testing.T, killed, failedOver time.Time, kept []*webUser, atRisk []bool) string {
	t.Helper()
	l.mu.Lock()
	answers, logins, lostIncrements, relogins := l.answers, l.logins, l.lostIncrements, l.relogins
	l.mu.Unlock()

	// One fault under load repeats hundreds of times: the first few are
	// told in full, all are counted.
	told := 0
	problem := func(format string, args ...any) {
		t.Helper()
		if told++; told <= maxReports {
			t.Errorf(format, args...)
		}
	}
	var (
		first503, last503, lastBad              time.Time
		n503, otherServer, noAnswer, unexpected int
		// slowest is the slowest answer to a worker, which maxAnswer
		// bounds; the churner's logins are not counted.
		slowest time.Duration
	)
	for _, a := range answers {
		switch {
		case a.status == http.StatusOK:
		case a.status == http.StatusServiceUnavailable:
			n503++
			if first503.IsZero() {
				first503 = a.at
			}
			last503 = a.at
		case a.status == 0:
			noAnswer++
			problem("%s got no answer: %v", a.path, a.err)
		case a.status >= 500:
			otherServer++
			problem("%s: %d %s", a.path, a.status, a.body)
		case a.status == http.StatusUnauthorized && a.worker >= 0:
			// A worker's session the failover lost: counted in relogins.
		default:
			unexpected++
			problem("%s: unexpected %d %s", a.path, a.status, a.body)
		}
		if a.worker >= 0 {
			if a.status != http.StatusOK {
				lastBad = a.at
			}
			slowest = max(slowest, a.took)
		}
	}
	if n503 == 0 {
		t.Error("no request was answered 503: the load did not see the master go")
	}
	if slowest > maxAnswer {
		t.Errorf("the slowest worker answer took %v, want at most %v", slowest, maxAnswer)
	}
	if lastBad.Before(killed) {
		lastBad = killed
	}

	// The sessions logged in before the kill: 200, or 401 if lost.
	lost, risked := 0, 0
	for i, u := range kept {
		risk := atRisk == nil || atRisk[i]
		if risk {
			risked++
		}
		switch r := u.do(ctx, http.MethodGet, "/api/v1/me", nil); r.status {
		case http.StatusOK:
		case http.StatusUnauthorized:
			lost++
			if !risk {
				problem("session %d of %d lost, and it lived on a master that was not killed", i+1, len(kept))
			}
		default:
			problem("GET /me of session %d of %d after the failover: %d %v %s", i+1, len(kept), r.status, r.err, r.body)
		}
	}
	// The logins of the load: lost ones say how long before the kill a
	// login may be acknowledged and still be lost.
	var lostLogins []string
	for _, a := range logins {
		if r := a.user.do(ctx, http.MethodGet, "/api/v1/me", nil); r.status == http.StatusUnauthorized {
			lostLogins = append(lostLogins, a.at.Sub(killed).Round(time.Millisecond).String())
		} else if r.status != http.StatusOK {
			problem("GET /me of a login of the load: %d %v %s", r.status, r.err, r.body)
		}
	}

	seconds := func(d time.Duration) string { return strconv.FormatFloat(d.Seconds(), 'f', 2, 64) + "s" }
	return fmt.Sprintf("failed over after %s, recovered after %s (last non-200 of a worker); "+
		"503s for %s from %s after the kill (%d answers); other 5xx %d; unexpected %d; no answer %d; slowest worker answer %v; answers %d; "+
		"sessions of K=%d lost %d (at risk %d); load logins acknowledged %d, lost %d %v (ack time from the kill); "+
		"acknowledged increments lost %d; workers' sessions lost %d",
		seconds(failedOver.Sub(killed)), seconds(lastBad.Sub(killed)),
		seconds(last503.Sub(first503)), seconds(first503.Sub(killed)), n503, otherServer, unexpected, noAnswer, slowest.Round(time.Millisecond), len(answers),
		len(kept), lost, risked, len(logins), len(lostLogins), lostLogins,
		lostIncrements, relogins)
}
