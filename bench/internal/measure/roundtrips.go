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
	NoCookie   Request = "no cookie"
	ReadOnly   Request = "read-only"
	TouchDue   Request = "read-only, idle touch due"
	Modifying  Request = "modifying"
	Forged     Request = "forged cookie"
	Stale      Request = "stale cookie"
	Login      Request = "login"
	Logout     Request = "logout"
	roundTrips         = 3 // measurements of each request; they must agree
)

// Requests lists the columns of the round-trip table in order.
var Requests = []Request{NoCookie, ReadOnly, TouchDue, Modifying, Forged, Stale, Login, Logout}

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
// costs one more round trip (NOSCRIPT, then EVAL).
func CountRoundTrips(ctx context.Context, redisAddr string, setup Setup) (map[Request]RoundTrips, error) {
	proxy, err := rtproxy.Start(ctx, redisAddr)
	if err != nil {
		return nil, err
	}
	defer proxy.Close()
	client := NewClient(proxy.Addr())
	defer client.Close()
	clk := &clock{}
	cfg := setup.config(client)
	cfg.Now = clk.Now
	app, err := setup.newApp(cfg)
	if err != nil {
		return nil, err
	}
	if err := warmUp(ctx, app, clk); err != nil {
		return nil, fmt.Errorf("%s: warm-up: %w", setup, err)
	}
	out := map[Request]RoundTrips{}
	for _, req := range Requests {
		if req == TouchDue && (setup.Library != apps.Hexchi || !setup.Idle) {
			// scs rewrites an idle session on every request, so it has no
			// "touch due" case; gorilla has no idle timeout.
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
		send, err := prepare(ctx, app, req, clk)
		if err == nil {
			_, err = send()
		}
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// prepare sets up what req needs (a logged-in browser, a visitor, a stale
// cookie...) and returns the one request to count.
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
	// The others start from a logged-in browser.
	b, err := loggedIn(ctx, app, "ann")
	if err != nil {
		return nil, err
	}
	switch req {
	case ReadOnly:
		if _, err := b.do(ctx, http.MethodGet, "/read"); err != nil {
			return nil, err // first read after login: settle any one-off work
		}
		return get(b, "/read"), nil
	case TouchDue:
		// hexchi touches at most every max(1 min, idle/10): 3 minutes here.
		clk.Advance(IdleTimeout/10 + time.Minute)
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
