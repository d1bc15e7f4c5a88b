package session_test

import (
	"testing"
	"time"

	"github.com/hexchi/starter/internal/auth/session"
)

// TestRedisRoundTripBudget proves the budget of DESIGN §3 by counting what
// the go-redis client sends (one per command, one per pipeline).
func TestRedisRoundTripBudget(t *testing.T) {
	for _, idle := range []time.Duration{0, 30 * time.Minute} {
		t.Run("idle="+idle.String(), func(t *testing.T) {
			clk := newClock()
			store, rt := newRedisStore(t, clk)
			e := newEnv(t, store, clk, func(o *session.Options[*testData]) {
				o.IdleTimeout = idle
				o.MaxSessionsPerGroup = 2
			})
			user, anon := e.client(), e.client()
			// carl has two sessions already: his next login, from a stored
			// anonymous session (the worst case: load, create, evict), is
			// past the cap.
			carl := e.client()
			carl.do("POST", "/set?k=a&v=x")
			for range 2 {
				e.client().do("POST", "/login?user=carl")
			}
			anon.do("POST", "/set?k=a&v=x")
			// Warm up: the first run of each script costs an extra EVAL after
			// NOSCRIPT; the budget is the steady state.
			user.do("POST", "/login?user=ann")
			user.do("POST", "/set?k=b&v=warm")
			user.do("GET", "/me")
			forged := e.client()
			forged.setCookie(anon.cookie()[:44] + "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")

			tests := []struct {
				name    string
				c       *client
				method  string
				path    string
				advance time.Duration
				want    int64
			}{
				{"no cookie", e.client(), "GET", "/get", 0, 0},
				{"forged cookie", forged, "GET", "/me", 0, 0},
				{"read-only", user, "GET", "/me", 0, 1},
				{"read-only with a due idle touch", user, "GET", "/me", 10 * time.Minute, 1},
				{"modifying", user, "POST", "/set?k=b&v=changed", 0, 2},
				{"login from an anonymous session", anon, "POST", "/login?user=bob", 0, 2},
				{"login over an authenticated session", anon, "POST", "/login?user=dora", 0, 2},
				{"login past the cap (evicts the oldest)", carl, "POST", "/login?user=carl", 0, 3},
				{"logout", anon, "POST", "/logout", 0, 2},
			}
			for _, tt := range tests {
				clk.Advance(tt.advance)
				rt.take()
				tt.c.do(tt.method, tt.path)
				if got := rt.take(); got != tt.want {
					t.Errorf("%s: %d round trips, want %d", tt.name, got, tt.want)
				}
			}
			// Every session above is past its deadline 7 hours on, but still
			// in carl's index: the login that prunes them does it in its
			// own script, at no extra cost (and with no cookie, no load).
			clk.Advance(7 * time.Hour)
			rt.take()
			e.client().do("POST", "/login?user=carl")
			if got := rt.take(); got != 1 {
				t.Errorf("login that prunes an index of expired members: %d round trips, want 1", got)
			}
		})
	}
}
