package measure

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/hexchi/starter/bench/internal/apps"
	"github.com/hexchi/starter/bench/internal/rtproxy"
)

// Request is a kind of request the round-trip table has a column for.
type Request string

// The requests whose round trips are counted.
const (
	NoCookie Request = "no cookie"
	// ReadOnly is a read of a session that, with a near cache, the
	// previous request read and cached: a hit.
	ReadOnly Request = "read-only"
	// ReadMiss is the first read after login, with a near cache: a miss.
	ReadMiss Request = "read-only, cache miss"
	TouchDue Request = "read-only, idle touch due"
	// Modifying changes a field of a session that the previous request
	// read (a near cache hit); ModMiss, of one that the previous request
	// changed, which this process's write dropped from its near cache: a
	// miss. A modifying load run is all ModMiss.
	Modifying  Request = "modifying"
	ModMiss    Request = "modifying, cache miss"
	Forged     Request = "forged cookie"
	Stale      Request = "stale cookie"
	Login      Request = "login"
	Logout     Request = "logout"
	roundTrips         = 3 // measurements of each request; they must agree
)

// Requests lists the columns of the round-trip table in order.
var Requests = []Request{NoCookie, ReadOnly, ReadMiss, TouchDue, Modifying, ModMiss, Forged, Stale, Login, Logout}

// applies reports whether req is a case of its own for setup.
func applies(setup Setup, req Request) bool {
	switch req {
	case TouchDue:
		// scs rewrites an idle session on every request, so it has no
		// "touch due" case; gorilla has no idle timeout.
		return setup.Library == apps.Hexchi && setup.Idle
	case ReadMiss, ModMiss:
		return setup.Near // without a cache there is no miss to tell apart
	}
	return true
}

// RoundTrips is the round-trip count of one request of one setup.
type RoundTrips struct {
	// Applies is false where the request does not exist for the setup (a
	// due idle touch without an idle timeout, or in a library that does
	// not defer its writes).
	Applies bool
	// Min and Max are the fewest and most round trips seen over the
	// measurements; they are equal unless something is wrong.
	Min, Max int
	// Trips is what the last measurement sent, one entry per round trip.
	Trips []string
	// SetCookie and Cleared tell what the response did to the cookie.
	SetCookie, Cleared bool
}

// CountRoundTrips counts the Redis round trips of each Request for
// setup, through a counting proxy in front of redisAddr. Scripts are loaded
// and the pool connection opened first, so that the counts are the steady
// state: on a Redis that has just started, the first use of each script
// costs one more round trip (NOSCRIPT, then EVAL). A near cache's
// subscriber connection goes through the proxy too; the proxy leaves its
// turns out (see rtproxy).
func CountRoundTrips(ctx context.Context, redisAddr string, setup Setup) (_ map[Request]RoundTrips, err error) {
	proxy, err := rtproxy.Start(ctx, redisAddr)
	if err != nil {
		return nil, err
	}
	defer proxy.Close()
	client := NewClient(proxy.Addr())
	clk := &clock{}
	cfg := setup.config(client)
	cfg.Now = clk.Now
	app, err := setup.newApp(ctx, cfg)
	if err != nil {
		_ = client.Close()
		return nil, err
	}
	defer func() { err = errors.Join(err, closeApp(app, client)) }()
	if err := warmUp(ctx, app, clk); err != nil {
		return nil, fmt.Errorf("%s: warm-up: %w", setup, err)
	}
	out := map[Request]RoundTrips{}
	for _, req := range Requests {
		if !applies(setup, req) {
			out[req] = RoundTrips{}
			continue
		}
		rt := RoundTrips{Applies: true, Min: -1}
		for range roundTrips {
			send, err := prepare(ctx, app, req, clk)
			if err != nil {
				return nil, fmt.Errorf("%s, %s: %w", setup, req, err)
			}
			proxy.Take() // forget the preparation
			res, err := send()
			if err != nil {
				return nil, fmt.Errorf("%s, %s: %w", setup, req, err)
			}
			trips := proxy.Take()
			if rt.Min < 0 || len(trips) < rt.Min {
				rt.Min = len(trips)
			}
			rt.Max = max(rt.Max, len(trips))
			rt.Trips = rt.Trips[:0]
			for _, t := range trips {
				rt.Trips = append(rt.Trips, t.String())
			}
			rt.SetCookie, rt.Cleared = res.set, res.cleared
		}
		out[req] = rt
	}
	return out, nil
}

// warmUp runs every kind of request once, so that each script the store
// uses is loaded and the client's pool has a connection.
func warmUp(ctx context.Context, app *apps.App, clk *clock) error {
	var errs []error
	for _, req := range Requests {
		if req == TouchDue && app.Config.IdleTimeout <= 0 {
			continue // it would only move the clock
		}
		send, err := prepare(ctx, app, req, clk)
		if err == nil {
			_, err = send()
		}
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// touchEvery is hexchi's touch interval at IdleTimeout: max(1 min, idle/10).
var touchEvery = max(time.Minute, IdleTimeout/10)

// prepare sets up what req needs (a logged-in browser, a visitor, a stale
// cookie...) and returns the one request to count. With a near cache, the
// request that is counted follows a read that cached the session (a hit),
// except for the cache-miss requests; without one, that read changes
// nothing.
func prepare(ctx context.Context, app *apps.App, req Request, clk *clock) (func() (response, error), error) {
	get := func(b *browser, target string) func() (response, error) {
		return func() (response, error) { return b.do(ctx, http.MethodGet, target) }
	}
	post := func(b *browser, target string) func() (response, error) {
		return func() (response, error) { return b.do(ctx, http.MethodPost, target) }
	}
	// Requests that start without a logged-in session.
	switch req {
	case NoCookie:
		return get(&browser{app: app}, "/read"), nil
	case Forged:
		return get(&browser{app: app, cookie: app.Forged()}, "/read"), nil
	case Login:
		b, err := visitor(ctx, app)
		if err != nil {
			return nil, err
		}
		return post(b, "/login?user=ann"), nil
	}
	// The others start from a logged-in browser, and from a near cache
	// that has seen every write so far.
	b, err := loggedIn(ctx, app, "ann")
	if err != nil {
		return nil, err
	}
	if err := settle(ctx, app); err != nil {
		return nil, err
	}
	read := func() error { _, err := b.do(ctx, http.MethodGet, "/read"); return err }
	switch req {
	case ReadMiss:
		return get(b, "/read"), nil
	case ModMiss:
		if _, err := b.do(ctx, http.MethodPost, "/write?f=n"); err != nil {
			return nil, err
		}
		return post(b, "/write?f=n"), nil
	case TouchDue:
		// hexchi touches at most every max(1 min, idle/10): 3 minutes
		// here. A read 1 s before the touch is due caches the session; the
		// read counted comes 1 s later, well within MaxStaleness (2 s), so
		// that a near cache serves it, and finds the touch due.
		clk.Advance(touchEvery - time.Second)
		if err := read(); err != nil {
			return nil, err
		}
		clk.Advance(time.Second)
		return get(b, "/read"), nil
	}
	// First read after login: it caches the session, and settles any
	// one-off work.
	if err := read(); err != nil {
		return nil, err
	}
	switch req {
	case ReadOnly:
		return get(b, "/read"), nil
	case Modifying:
		return post(b, "/write?f=n"), nil
	case Logout:
		return post(b, "/logout"), nil
	case Stale:
		// Another tab logs out; this one still has the cookie.
		if _, err := b.clone().do(ctx, http.MethodPost, "/logout"); err != nil {
			return nil, err
		}
		return get(b, "/read"), nil
	}
	return nil, fmt.Errorf("unknown request %q", req)
}

// FormatTrips shows the round trips of a request, "—" for none.
func FormatTrips(trips []string) string {
	if len(trips) == 0 {
		return "—"
	}
	return strings.Join(trips, ", ")
}
