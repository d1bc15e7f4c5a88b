package measure

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/hexchi/starter/bench/internal/apps"
)

// renew logs a visitor in and asks whether the pre-login id still loads a
// session: the session-fixation defence.
func (c *checker) renew(ctx context.Context) (Outcome, error) {
	b, err := visitor(ctx, c.app)
	if err != nil {
		return Outcome{}, err
	}
	before := b.cookie
	if _, err := b.do(ctx, http.MethodPost, "/login?user=ann"); err != nil {
		return Outcome{}, err
	}
	old, err := (&browser{app: c.app, cookie: before}).state(ctx)
	switch {
	case err != nil:
		return Outcome{}, err
	case b.cookie == before:
		return Outcome{Observed: "login kept the id: the pre-login id stays valid"}, nil
	case old.Exists:
		return Outcome{Observed: "new id, but the old id still loads a session"}, nil
	}
	return Outcome{Pass: true, Observed: "new id; the old one is deleted"}, nil
}

// fields changes field a in a request held in flight while another request
// changes field b, then asks which of the two changes the store kept.
func (c *checker) fields(ctx context.Context) (Outcome, error) {
	b, err := loggedIn(ctx, c.app, "ann")
	if err != nil {
		return Outcome{}, err
	}
	finish, err := c.gate.inFlight(ctx, b.clone(), http.MethodPost, "/hold/write?f=a")
	if err != nil {
		return Outcome{}, err
	}
	fast, err1 := b.clone().do(ctx, http.MethodPost, "/write?f=b")
	slow, err2 := finish()
	if err := errors.Join(err1, err2); err != nil {
		return Outcome{}, err
	}
	st, err := b.state(ctx)
	if err != nil {
		return Outcome{}, err
	}
	keptA, keptB := st.A == slow.body, st.B == fast.body
	switch {
	case keptA && keptB:
		return Outcome{Pass: true, Observed: "a and b both kept"}, nil
	case keptA:
		return Outcome{Observed: "b lost: the in-flight request wrote back the session it had loaded"}, nil
	case keptB:
		return Outcome{Observed: "a lost"}, nil
	}
	return Outcome{Observed: "a and b both lost"}, nil
}

// logoutDuring logs out while the request method target is in flight, then
// asks whether the session came back when that request finished.
func (c *checker) logoutDuring(method, target string) checkFunc {
	return func(ctx context.Context) (Outcome, error) { return c.logoutDuringRun(ctx, method, target) }
}

func (c *checker) logoutDuringRun(ctx context.Context, method, target string) (Outcome, error) {
	b, err := loggedIn(ctx, c.app, "ann")
	if err != nil {
		return Outcome{}, err
	}
	finish, err := c.gate.inFlight(ctx, b.clone(), method, target)
	if err != nil {
		return Outcome{}, err
	}
	_, err1 := b.clone().do(ctx, http.MethodPost, "/logout")
	mid, err2 := b.state(ctx)
	_, err3 := finish()
	after, err4 := b.state(ctx)
	if err := errors.Join(err1, err2, err3, err4); err != nil {
		return Outcome{}, err
	}
	switch {
	case mid.Exists:
		return Outcome{Observed: "logout did not end the session"}, nil
	case after.Exists:
		return Outcome{Observed: fmt.Sprintf("the session came back (user %q) when the in-flight request finished", after.User)}, nil
	}
	return Outcome{Pass: true, Observed: "stays logged out"}, nil
}

// loginDuring logs a visitor in while the request method target, sent with
// the pre-login cookie, is in flight, then asks whether the pre-login id
// came back when that request finished.
func (c *checker) loginDuring(method, target string) checkFunc {
	return func(ctx context.Context) (Outcome, error) { return c.loginDuringRun(ctx, method, target) }
}

func (c *checker) loginDuringRun(ctx context.Context, method, target string) (Outcome, error) {
	b, err := visitor(ctx, c.app)
	if err != nil {
		return Outcome{}, err
	}
	old := b.clone()
	finish, err := c.gate.inFlight(ctx, b.clone(), method, target)
	if err != nil {
		return Outcome{}, err
	}
	_, err1 := b.do(ctx, http.MethodPost, "/login?user=ann")
	mid, err2 := old.state(ctx)
	_, err3 := finish()
	after, err4 := old.state(ctx)
	if err := errors.Join(err1, err2, err3, err4); err != nil {
		return Outcome{}, err
	}
	switch {
	case b.cookie == old.cookie:
		return Outcome{Observed: "login kept the id: the pre-login id stays valid"}, nil
	case mid.Exists:
		return Outcome{Observed: "the pre-login id still worked right after login"}, nil
	case after.Exists:
		return Outcome{Observed: "the pre-login id came back when the in-flight request finished"}, nil
	}
	return Outcome{Pass: true, Observed: "the pre-login id stays dead"}, nil
}

// forged sends a cookie in the library's format that it never issued, and
// counts the round trips it costs.
func (c *checker) forged(ctx context.Context) (Outcome, error) {
	b := &browser{app: c.app, cookie: c.app.Forged()}
	c.proxy.Take()
	res, err := b.do(ctx, http.MethodGet, "/read")
	if err != nil {
		return Outcome{}, err
	}
	trips := len(c.proxy.Take())
	o := Outcome{Pass: trips == 0 && res.cleared, Observed: fmt.Sprintf("%s; %s", plural(trips, "round trip"), clearedText(res.cleared))}
	return o, nil
}

// stale sends the cookie of a session that another tab logged out, and
// asks whether the response clears it.
func (c *checker) stale(ctx context.Context) (Outcome, error) {
	b, err := loggedIn(ctx, c.app, "ann")
	if err != nil {
		return Outcome{}, err
	}
	if _, err := b.clone().do(ctx, http.MethodPost, "/logout"); err != nil {
		return Outcome{}, err
	}
	res, err := b.do(ctx, http.MethodGet, "/read")
	if err != nil {
		return Outcome{}, err
	}
	// The browser sends whatever it still holds: what does that cost?
	c.proxy.Take()
	if _, err := b.do(ctx, http.MethodGet, "/read"); err != nil {
		return Outcome{}, err
	}
	next := len(c.proxy.Take())
	return Outcome{
		Pass:     res.cleared,
		Observed: fmt.Sprintf("%s; the next request costs %s", clearedText(res.cleared), plural(next, "round trip")),
	}, nil
}

// deadline builds a second app of setup whose sessions live
// deadlineLifetime, logs in, holds a modifying request that loaded the
// session before its deadline until after it, and asks whether the session
// is alive once that request committed, and what TTL its Redis key has.
func (c *checker) deadline(setup Setup, cfg apps.Config) checkFunc {
	return func(ctx context.Context) (_ Outcome, err error) {
		cfg.Lifetime = deadlineLifetime
		app, err := setup.newApp(ctx, cfg)
		if err != nil {
			return Outcome{}, err
		}
		defer func() { err = errors.Join(err, app.Close()) }()
		return c.deadlineRun(ctx, app)
	}
}

func (c *checker) deadlineRun(ctx context.Context, app *apps.App) (Outcome, error) {
	start := time.Now()
	b, err := loggedIn(ctx, app, "ann")
	if err != nil {
		return Outcome{}, err
	}
	finish, err := c.gate.inFlight(ctx, b.clone(), http.MethodPost, "/hold/write?f=a")
	if err != nil {
		return Outcome{}, err
	}
	if late := time.Since(start); late > deadlineLifetime/2 {
		// The request must load the session well before its deadline, or
		// the check would test something else.
		_, _ = finish()
		return Outcome{}, fmt.Errorf("the machine is too slow for this check: the in-flight request loaded the session %v after login", late)
	}
	timer := time.NewTimer(time.Until(start.Add(deadlineLifetime + 300*time.Millisecond)))
	select {
	case <-timer.C:
	case <-ctx.Done():
	}
	timer.Stop()
	if _, err := finish(); err != nil {
		return Outcome{}, err
	}
	st, err := b.state(ctx)
	if err != nil {
		return Outcome{}, err
	}
	ttl, err := c.client.PTTL(ctx, app.StoreKey(b.cookie)).Result()
	if err != nil {
		return Outcome{}, fmt.Errorf("PTTL: %w", err)
	}
	var key string
	switch ttl {
	case -2: // go-redis passes Redis's -2 and -1 through as they are
		key = "its key is gone"
	case -1:
		key = "its key has no TTL: it never expires"
	default:
		key = fmt.Sprintf("its key was re-created with a TTL of %.1f s", ttl.Seconds())
	}
	if !st.Exists {
		return Outcome{Pass: true, Observed: "the session ended at its deadline; " + key}, nil
	}
	return Outcome{Observed: "the session is still valid after its deadline; " + key}, nil
}

func clearedText(cleared bool) string {
	if cleared {
		return "cookie cleared"
	}
	return "cookie not cleared"
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}
