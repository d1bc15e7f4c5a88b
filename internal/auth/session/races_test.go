package session_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/hexchi/starter/internal/auth/session"
)

// The three scs reproductions (research/repro/scs_race_test.go), run as
// regression tests against every store: a slow request loads the session,
// another request changes it, then the slow one commits.

// startSlow sends POST /slow?query from c and waits until its handler has
// loaded the session; the returned func releases it and waits for it.
func startSlow(t *testing.T, e *env, c *client, query string) func() response {
	t.Helper()
	done := make(chan response, 1)
	go func() { done <- c.do("POST", "/slow?"+query) }()
	select {
	case <-e.slow:
	case <-time.After(5 * time.Second):
		t.Fatal("slow request never loaded its session")
	}
	return func() response {
		close(e.gate)
		select {
		case r := <-done:
			return r
		case <-time.After(5 * time.Second):
			t.Fatal("slow request never finished")
			return response{}
		}
	}
}

func TestRaceConcurrentChangesToDifferentFieldsBothPersist(t *testing.T) {
	for _, sc := range stores {
		t.Run(sc.name, func(t *testing.T) {
			clk := newClock()
			e := newEnv(t, sc.new(t, clk), clk)
			c := e.client()
			c.do("POST", "/login?user=ann")
			// Both fields exist before the race, so a whole-record write by
			// the slow request would put the old b back.
			c.do("POST", "/set?k=a&v=a0")
			c.do("POST", "/set?k=b&v=b0")
			finish := startSlow(t, e, c, "k=a&v=slow")
			c.do("POST", "/set?k=b&v=fast") // commits while the slow request holds its copy
			finish()
			if d := c.data(); d.A != "slow" || d.B != "fast" {
				t.Errorf("data = %+v, want both a=slow and b=fast (scs keeps only one)", d)
			}
		})
	}
}

func TestRaceLogoutWithRequestInFlight(t *testing.T) {
	for _, sc := range stores {
		for _, query := range []string{"", "k=a&v=resurrect"} { // read-only (scs with idle timeout) and modifying
			t.Run(sc.name+"/"+map[bool]string{true: "read-only", false: "modifying"}[query == ""], func(t *testing.T) {
				clk := newClock()
				e := newEnv(t, sc.new(t, clk), clk, func(o *session.Options[*testData]) { o.IdleTimeout = 30 * time.Minute })
				c := e.client()
				c.do("POST", "/login?user=bo")
				stolen := c.cookie()
				inFlight := e.client()
				inFlight.setCookie(stolen)
				finish := startSlow(t, e, inFlight, query)
				c.do("POST", "/logout")
				clk.Advance(10 * time.Minute) // make an idle touch due, as scs would write one
				finish()
				replay := e.client()
				replay.setCookie(stolen)
				if r := replay.do("GET", "/me"); r.status != http.StatusUnauthorized {
					t.Errorf("after logout and the in-flight request, the old cookie gets %d, want 401", r.status)
				}
			})
		}
	}
}

func TestRaceLoginWithRequestInFlight(t *testing.T) {
	for _, sc := range stores {
		t.Run(sc.name, func(t *testing.T) {
			clk := newClock()
			e := newEnv(t, sc.new(t, clk), clk, func(o *session.Options[*testData]) { o.IdleTimeout = 30 * time.Minute })
			c := e.client()
			c.do("POST", "/set?k=a&v=anonymous")
			before := c.cookie()
			inFlight := e.client()
			inFlight.setCookie(before)
			finish := startSlow(t, e, inFlight, "k=b&v=resurrect")
			c.do("POST", "/login?user=cy")
			clk.Advance(10 * time.Minute)
			finish()
			old := e.client()
			old.setCookie(before)
			if d := old.data(); d.User != "" || d.A != "" || d.B != "" {
				t.Errorf("the pre-login session came back: %+v", d)
			}
			if d := c.data(); d.User != "cy" || d.A != "anonymous" {
				t.Errorf("logged-in session = %+v, want user cy with the anonymous data kept", d)
			}
		})
	}
}
