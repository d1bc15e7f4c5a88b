package tests

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/hexchi/starter/internal/apptest"
)

// loadSize is how hard TestLoadNoLostUpdates pushes the app.
type loadSize struct {
	clients  int // logged-in clients, each with an incrementer and a mixer on its session
	churners int // clients that only log in and out
	duration time.Duration
}

// The two sizes of the run. Both stay within 64 clients and well within a
// minute, on loopback only. CI runs `go test -race ./...` on two cores, and
// the race detector makes the app several times slower: under -race, and
// with -short, the run is the short one.
var (
	fullLoad  = loadSize{clients: 48, churners: 4, duration: 20 * time.Second}
	shortLoad = loadSize{clients: 16, churners: 2, duration: 5 * time.Second}
)

// TestLoadNoLostUpdates runs bounded, mixed traffic against the app on a
// real Redis and checks the promise of DESIGN.md §3: concurrent requests
// that change different fields of one session never lose each other's
// writes.
//
// Each client logs in, then runs two goroutines on its one session until
// the deadline: an incrementer that POSTs /me/counter and counts its 200s,
// and a mixer that reads the session three ways and toggles the theme.
// Then it compares the session stored in Redis with what they did (a
// counter other than the count of 200s is a lost or phantom update), logs
// out, and checks that its cookie no longer works. Meanwhile churners log
// new clients in and out, so that sessions come and go in the group that
// the mixers list.
//
// Every response is counted by status class, and only the status wanted
// passes: a 2xx in steady state, and the 401 of GET /me after a logout.
// A 429 would be a limit the test forgot to raise, and a 5xx is always a
// failure.
func TestLoadNoLostUpdates(t *testing.T) {
	size := fullLoad
	if raceEnabled || testing.Short() {
		size = shortLoad
	}
	addr := redisAddr(t)
	// Every login of the run is the demo user from 127.0.0.1: the limits,
	// there to slow down password guessing, would answer 429 within a
	// second.
	t.Setenv("CORE_AUTH_LOGIN_PER_CLIENT", "1000000")
	t.Setenv("CORE_AUTH_LOGIN_PER_USERNAME", "1000000")
	// Every client is the demo user: dozens of sessions of one user at once,
	// which the default cap of 20 per user would end as designed.
	t.Setenv("CORE_AUTH_SESSION_MAX_SESSIONS_PER_GROUP", "0")
	srv, prefix := appOnRedis(t, addr)
	run := &loadRun{
		t: t, base: srv.URL, rdb: newClient(t, addr), prefix: prefix,
		transport: newLoadTransport(t, 2*size.clients+size.churners),
	}

	// The deadline ends the run: every loop checks it before each request.
	// It does not cancel a request in flight, which runs to its answer
	// (Client.Do bounds it by its own timeout): an increment cut off after
	// the server saved it would look like a phantom update.
	ctx, cancel := context.WithTimeout(t.Context(), size.duration)
	defer cancel()
	start := time.Now()
	var wg sync.WaitGroup
	for range size.clients {
		wg.Go(func() { run.client(ctx) })
	}
	for range size.churners {
		wg.Go(func() { run.churn(ctx) })
	}
	wg.Wait()
	elapsed := time.Since(start)

	// The line to quote. Throughput is over elapsed: the wall time from the
	// first login to the last logout.
	s := &run.stats
	requests := s.requests()
	t.Logf("load: clients=%d churners=%d duration=%v race=%v elapsed=%v requests=%d "+
		"1xx=%d 2xx=%d 3xx=%d 4xx=%d 5xx=%d other=%d no-response=%d unexpected=%d "+
		"lost=%d out-of-sequence=%d stale=%d increments=%d logins=%d throughput=%.0f/s",
		size.clients, size.churners, size.duration, raceEnabled, elapsed.Round(time.Millisecond), requests,
		s.byClass[1].Load(), s.byClass[2].Load(), s.byClass[3].Load(), s.byClass[4].Load(), s.byClass[5].Load(),
		s.byClass[0].Load(), s.noResponse.Load(), s.unexpected.Load(),
		s.lost.Load(), s.outOfSequence.Load(), s.stale.Load(), s.increments.Load(), s.logins.Load(),
		float64(requests)/elapsed.Seconds())

	if n := s.byClass[5].Load(); n > 0 {
		t.Errorf("%d responses were 5xx", n)
	}
	if n := s.noResponse.Load(); n > 0 {
		t.Errorf("%d requests got no response", n)
	}
	if n := s.unexpected.Load(); n > 0 {
		t.Errorf("%d responses had a status other than the one wanted", n)
	}
	if n := s.lost.Load(); n > 0 {
		t.Errorf("%d increments lost or made up: the counters in Redis differ from the 200s by that much", n)
	}
	if n := s.outOfSequence.Load(); n > 0 {
		t.Errorf("%d increments answered a counter other than the count so far", n)
	}
	if n := s.stale.Load(); n > 0 {
		t.Errorf("%d reads or stored themes differ from what their client wrote last", n)
	}
	if s.increments.Load() == 0 {
		t.Error("no increment succeeded: the run tested nothing")
	}
	// When every session ended with a logout, nothing may be left: a key
	// here is a session (or a group entry) that a concurrent write brought
	// back. After a failure some logouts may not have run. The login
	// limits' counts stay until they expire, as they should.
	if keys, _ := sessionKeys(t, run.rdb, prefix); len(keys) != 0 && !t.Failed() {
		t.Errorf("keys left after every client logged out: %v", keys)
	}
}

// loadRun is what the goroutines of one run share.
type loadRun struct {
	t         *testing.T
	base      string // the app's URL
	rdb       *redis.Client
	prefix    string // the app's key prefix
	transport *http.Transport
	stats     loadStats
	reports   atomic.Int64 // problems reported so far
}

// loadStats counts what the run saw. Every goroutine adds to it.
type loadStats struct {
	byClass       [6]atomic.Int64 // responses by status class, byClass[2] for 2xx; [0] for any other status
	noResponse    atomic.Int64    // requests that got no response: a transport error or a timeout
	unexpected    atomic.Int64    // responses with a status other than the one wanted
	lost          atomic.Int64    // the sum over clients of |counter in Redis - increments answered 200|
	outOfSequence atomic.Int64    // increments whose answer was not the client's count so far
	stale         atomic.Int64    // reads, and stored themes, other than what the client wrote last
	increments    atomic.Int64    // increments answered 200
	logins        atomic.Int64    // logins answered 200, churners' included
}

// count adds a response with this status.
func (s *loadStats) count(status int) {
	class := status / 100
	if class < 1 || class >= len(s.byClass) {
		class = 0
	}
	s.byClass[class].Add(1)
}

// requests returns how many requests were sent: those answered, and those
// that got no response.
func (s *loadStats) requests() int64 {
	n := s.noResponse.Load()
	for i := range s.byClass {
		n += s.byClass[i].Load()
	}
	return n
}

// maxReports bounds the problems told in full. One broken invariant under
// load repeats thousands of times; the summary line counts them all.
const maxReports = 10

// report fails the test with a problem seen during the run, told in full
// if it is one of the first maxReports.
func (r *loadRun) report(format string, args ...any) {
	r.t.Helper()
	switch n := r.reports.Add(1); {
	case n <= maxReports:
		r.t.Errorf(format, args...)
	case n == maxReports+1:
		r.t.Errorf("more than %d problems: the rest are counted, not shown", maxReports)
	}
}

// newLoadTransport returns the transport that every client of the run
// shares, with an idle connection for each of conns goroutines.
// http.DefaultTransport keeps two per host: most requests would then open a
// new TCP connection, and the run would measure connection setup (and pile
// up sockets in TIME_WAIT) instead of the app. It has no proxy: the app is
// on loopback.
func newLoadTransport(t *testing.T, conns int) *http.Transport {
	tr := &http.Transport{MaxIdleConns: conns, MaxIdleConnsPerHost: conns, IdleConnTimeout: time.Minute}
	t.Cleanup(tr.CloseIdleConnections)
	return tr
}

// goT is the testing.TB of the run's apptest.Clients, which are used off
// the test's goroutine. Client.Do ends the test with Fatalf when a request
// gets no response (a transport error, its timeout), but FailNow must be
// called from the test's goroutine only: goT counts and reports the error
// and ends just the calling goroutine. runtime.Goexit runs that
// goroutine's deferred calls, so the WaitGroup that owns it still hears
// that it is done.
type goT struct {
	testing.TB
	run *loadRun
}

func (g goT) Fatal(args ...any) {
	g.Helper()
	g.fail(fmt.Sprint(args...))
}

func (g goT) Fatalf(format string, args ...any) {
	g.Helper()
	g.fail(fmt.Sprintf(format, args...))
}

func (g goT) FailNow() {
	g.Helper()
	g.fail("FailNow")
}

func (g goT) fail(msg string) {
	g.Helper()
	g.run.stats.noResponse.Add(1)
	g.run.report("%s", msg)
	runtime.Goexit()
}

// loadClient is a browser of the run: an apptest.Client, with a cookie jar
// of its own, whose every response is counted.
type loadClient struct {
	*apptest.Client
	run *loadRun
}

// browser returns a new client, not logged in.
func (r *loadRun) browser() *loadClient {
	c := apptest.NewClient(goT{TB: r.t, run: r}, r.base)
	c.WrapTransport(func(http.RoundTripper) http.RoundTripper { return r.transport })
	return &loadClient{Client: c, run: r}
}

// do sends a request, with body as JSON unless it is nil, counts the
// response, and reports it unless its status is want. ok says whether it
// was.
func (c *loadClient) do(method, path string, body []byte, want int) (res apptest.Response, ok bool) {
	c.run.t.Helper()
	contentType := ""
	if body != nil {
		contentType = "application/json"
	}
	res = c.Do(method, path, body, contentType)
	c.run.stats.count(res.Status)
	if res.Status != want {
		c.run.stats.unexpected.Add(1)
		c.run.report("%s %s = %d %s, want %d", method, path, res.Status, bytes.TrimSpace(res.Body), want)
		return res, false
	}
	return res, true
}

// client is one logged-in browser: it logs in, runs an incrementer and a
// mixer on its session until ctx is done, checks the session stored in
// Redis against what they did, and logs out.
func (r *loadRun) client(ctx context.Context) {
	c := r.browser()
	if _, ok := c.do(http.MethodPost, "/api/v1/auth/login", demoLogin, http.StatusOK); !ok {
		return
	}
	r.stats.logins.Add(1)

	// Each goroutine writes its own results, read only after Wait. One
	// that a request without a response ended (see goT) leaves its done
	// flag false: which of its writes were saved is then unknown, and the
	// comparison with Redis is skipped, as the error has failed the test.
	var (
		wg                   sync.WaitGroup
		increments           int
		theme                string
		incrementing, mixing bool
	)
	wg.Go(func() { increments, incrementing = c.increment(ctx), true })
	wg.Go(func() { theme, mixing = c.mix(ctx), true })
	wg.Wait()
	r.stats.increments.Add(int64(increments))

	if incrementing && mixing {
		c.checkStored(increments, theme)
	}
	c.do(http.MethodPost, "/api/v1/auth/logout", nil, http.StatusNoContent)
	c.do(http.MethodGet, "/api/v1/me", nil, http.StatusUnauthorized)
}

// increment POSTs /me/counter until ctx is done and returns how many were
// answered 200. It is the session's only writer of the counter, so each
// answer must be the count so far: a lower one means an earlier increment
// was lost.
func (c *loadClient) increment(ctx context.Context) int {
	n := 0
	for ctx.Err() == nil {
		res, ok := c.do(http.MethodPost, "/api/v1/me/counter", nil, http.StatusOK)
		if !ok {
			continue
		}
		n++
		var got struct {
			Counter int `json:"counter"`
		}
		if err := json.Unmarshal(res.Body, &got); err != nil || got.Counter != n {
			c.run.stats.outOfSequence.Add(1)
			c.run.report("POST /me/counter = %s, want counter %d", bytes.TrimSpace(res.Body), n)
		}
	}
	return n
}

// mix sends the session's other traffic in turn until ctx is done: GET
// /me, PUT /me/preferences toggling the theme, GET /auth/session and GET
// /auth/sessions. It is the session's only writer of the theme, so GET /me
// must show the theme it set last (an increment that wrote the whole
// session back would restore an older one), and a counter no lower than
// the last it saw. It returns the theme it set last, "" for none.
func (c *loadClient) mix(ctx context.Context) string {
	var (
		theme   string
		counter int
	)
	for i := 0; ctx.Err() == nil; i++ {
		switch i % 4 {
		case 0:
			res, ok := c.do(http.MethodGet, "/api/v1/me", nil, http.StatusOK)
			if !ok {
				continue
			}
			var me struct {
				Theme   string `json:"theme"`
				Counter int    `json:"counter"`
			}
			if err := json.Unmarshal(res.Body, &me); err != nil || me.Theme != theme || me.Counter < counter {
				c.run.stats.stale.Add(1)
				c.run.report("GET /me = %s, want theme %q and a counter of at least %d", bytes.TrimSpace(res.Body), theme, counter)
				continue
			}
			counter = me.Counter
		case 1:
			next := "dark"
			if theme == "dark" {
				next = "light"
			}
			if _, ok := c.do(http.MethodPut, "/api/v1/me/preferences", []byte(`{"theme":"`+next+`"}`), http.StatusOK); ok {
				theme = next
			}
		case 2:
			res, ok := c.do(http.MethodGet, "/api/v1/auth/session", nil, http.StatusOK)
			if !ok {
				continue
			}
			var state struct {
				Authenticated bool `json:"authenticated"`
			}
			if err := json.Unmarshal(res.Body, &state); err != nil || !state.Authenticated {
				c.run.stats.stale.Add(1)
				c.run.report("GET /auth/session = %s, want an authenticated session", bytes.TrimSpace(res.Body))
			}
		case 3:
			c.do(http.MethodGet, "/api/v1/auth/sessions", nil, http.StatusOK)
		}
	}
	return theme
}

// checkStored compares the client's session in Redis with what its
// goroutines did: the counter with the increments answered 200, the theme
// with the one set last. It reads the hash fields directly (see the key
// layout in redisstore's doc), so that it checks what was stored, not
// what the app makes of it.
func (c *loadClient) checkStored(increments int, theme string) {
	handle, ok := c.currentHandle()
	if !ok {
		return
	}
	short := handle[:8] // as the app's logs name a session
	vals, err := c.run.rdb.HMGet(c.run.t.Context(), c.run.prefix+"s:"+handle, "v:d.counter", "v:d.theme").Result()
	if err != nil {
		c.run.report("session %s: read it from Redis: %v", short, err)
		return
	}
	var (
		stored      int
		storedTheme string
	)
	if err := storedField(vals[0], &stored); err != nil {
		c.run.report("session %s: counter: %v", short, err)
		return
	}
	if err := storedField(vals[1], &storedTheme); err != nil {
		c.run.report("session %s: theme: %v", short, err)
		return
	}
	if d := stored - increments; d != 0 {
		c.run.stats.lost.Add(int64(max(d, -d)))
		c.run.report("session %s: Redis holds counter %d, and %d increments were answered 200", short, stored, increments)
	}
	if storedTheme != theme {
		c.run.stats.stale.Add(1)
		c.run.report("session %s: Redis holds theme %q, and the theme set last was %q", short, storedTheme, theme)
	}
}

// currentHandle returns the handle of the client's session, which GET
// /auth/sessions marks as current.
func (c *loadClient) currentHandle() (string, bool) {
	res, ok := c.do(http.MethodGet, "/api/v1/auth/sessions", nil, http.StatusOK)
	if !ok {
		return "", false
	}
	var list struct {
		Sessions []struct {
			Handle  string `json:"handle"`
			Current bool   `json:"current"`
		} `json:"sessions"`
	}
	if err := json.Unmarshal(res.Body, &list); err != nil {
		c.run.report("GET /auth/sessions: %v", err)
		return "", false
	}
	for _, s := range list.Sessions {
		if s.Current {
			return s.Handle, true
		}
	}
	c.run.report("GET /auth/sessions lists no current session")
	return "", false
}

// storedField decodes a session field as HMGET returns it: the JSON value
// the app stored, or nil when the field is absent, which leaves into at
// its zero value (the app does not store a zero counter or an empty
// theme: omitempty).
func storedField(v any, into any) error {
	switch v := v.(type) {
	case nil:
		return nil
	case string:
		if err := json.Unmarshal([]byte(v), into); err != nil {
			return fmt.Errorf("stored value %s: %w", v, err)
		}
		return nil
	default:
		return fmt.Errorf("HMGET returned a %T", v)
	}
}

// churn logs new clients in and out until ctx is done, so that sessions
// are created and deleted in the demo user's group while the other clients
// list it and change their own sessions.
func (r *loadRun) churn(ctx context.Context) {
	for ctx.Err() == nil {
		c := r.browser()
		if _, ok := c.do(http.MethodPost, "/api/v1/auth/login", demoLogin, http.StatusOK); !ok {
			continue
		}
		r.stats.logins.Add(1)
		c.do(http.MethodPost, "/api/v1/auth/logout", nil, http.StatusNoContent)
		c.do(http.MethodGet, "/api/v1/me", nil, http.StatusUnauthorized)
	}
}
