package session_test

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hexchi/starter/internal/auth/session"
)

// TestShortIdleTimeoutKeepsActiveUsers: with an idle timeout of a minute or
// less the touch interval used to be a minute, so no touch was ever due and
// a user active every 20 seconds was logged out at exactly one minute.
func TestShortIdleTimeoutKeepsActiveUsers(t *testing.T) {
	tests := []struct {
		idle, every time.Duration
	}{
		{time.Minute, 20 * time.Second},
		{10 * time.Second, 4 * time.Second},
		{90 * time.Second, 40 * time.Second},
	}
	for _, sc := range stores {
		for _, tc := range tests {
			t.Run(sc.name+"/idle="+tc.idle.String(), func(t *testing.T) {
				clk := newClock()
				e := newEnv(t, sc.new(t, clk), clk, func(o *session.Options[*testData]) { o.IdleTimeout = tc.idle })
				c := e.client()
				c.do("POST", "/login?user=ann")
				for elapsed := time.Duration(0); elapsed < 5*time.Minute; elapsed += tc.every {
					clk.Advance(tc.every)
					if r := c.do("GET", "/me"); r.status != http.StatusOK {
						t.Fatalf("a request every %s: %d after %s, want 200 while the user is active", tc.every, r.status, elapsed+tc.every)
					}
				}
				clk.Advance(tc.idle)
				if r := c.do("GET", "/me"); r.status != http.StatusUnauthorized {
					t.Errorf("after %s idle: %d, want 401", tc.idle, r.status)
				}
			})
		}
	}
}

// TestLoginOverAnotherUser: logging in as u2 on u1's cookie used to keep
// u1's deadline and data. Every login gets a new id and a fresh lifetime,
// and a login as someone else starts from new data.
func TestLoginOverAnotherUser(t *testing.T) {
	for _, sc := range stores {
		t.Run(sc.name, func(t *testing.T) {
			clk := newClock()
			e := newEnv(t, sc.new(t, clk), clk)
			c := e.client()
			c.do("POST", "/login?user=u1")
			c.do("POST", "/set?k=a&v=u1-theme")
			c.do("POST", "/set?k=count")
			c.do("POST", "/flash?msg=for-u1")
			u1 := c.cookie()
			clk.Advance(time.Hour)

			r := c.do("POST", "/login?user=u2")
			ck := r.sessionCookie()
			if ck == nil || ck.Value == u1 {
				t.Fatalf("login as u2 over u1: cookie %v, want a new id", ck)
			}
			if want := clk.Now().Add(6 * time.Hour); !ck.Expires.Equal(want) {
				t.Errorf("u2's session expires %v, want a fresh lifetime, %v (u1's deadline was an hour earlier)", ck.Expires, want)
			}
			if d := c.data(); d.User != "u2" || d.A != "" || d.Count != 0 {
				t.Errorf("u2's data %+v, want nothing of u1's", d)
			}
			if r := c.do("GET", "/pop"); r.body != "null" {
				t.Errorf("u2 sees u1's flashes: %s", r.body)
			}
			replay := e.client()
			replay.setCookie(u1)
			if r := replay.do("GET", "/me"); r.status != http.StatusUnauthorized {
				t.Errorf("u1's old cookie after u2's login: %d, want 401", r.status)
			}
		})
	}
}

// TestLoginAgainIsAFreshLogin: the same user logging in again keeps the
// session's data, but gets a new id and a fresh lifetime; so does a session
// whose data alone turns to another user (without Login, the Manager cannot
// tell that user's fields from the last one's, so it keeps the data).
func TestLoginAgainIsAFreshLogin(t *testing.T) {
	tests := map[string]string{
		"Login as the same user":                "/login?user=ann",
		"data turned to another user, no Login": "/set-user?user=bob",
	}
	for name, path := range tests {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t, nil, nil)
			c := e.client()
			c.do("POST", "/login?user=ann")
			c.do("POST", "/set?k=a&v=kept")
			before := c.cookie()
			e.clock.Advance(2 * time.Hour)
			ck := c.do("POST", path).sessionCookie()
			if ck == nil || ck.Value == before {
				t.Fatalf("%s: cookie %v, want a new id", path, ck)
			}
			if want := e.clock.Now().Add(6 * time.Hour); !ck.Expires.Equal(want) {
				t.Errorf("%s: expires %v, want a fresh lifetime, %v", path, ck.Expires, want)
			}
			if d := c.data(); d.A != "kept" {
				t.Errorf("%s dropped the data: %+v", path, d)
			}
			warned := strings.Contains(e.logs.String(), "changed group without Session.Login")
			if want := strings.HasPrefix(path, "/set-user"); warned != want {
				t.Errorf("%s: warning about the kept data logged %v, want %v", path, warned, want)
			}
		})
	}
}

// TestRememberMe: the login chooses the cookie, and a renew keeps it.
func TestRememberMe(t *testing.T) {
	for _, sc := range stores {
		t.Run(sc.name, func(t *testing.T) {
			clk := newClock()
			e := newEnv(t, sc.new(t, clk), clk)
			remembered, forgotten := e.client(), e.client()
			if ck := remembered.do("POST", "/login?user=ann").sessionCookie(); ck == nil || !ck.Expires.Equal(clk.Now().Add(6*time.Hour)) || ck.MaxAge != 6*3600 {
				t.Errorf("remember me: cookie %v, want Expires and Max-Age at the absolute deadline", ck)
			}
			ck := forgotten.do("POST", "/login?user=ann&remember=0").sessionCookie()
			if ck == nil || !ck.Expires.IsZero() || ck.MaxAge != 0 {
				t.Errorf("no remember me: cookie %v, want a browser-session cookie", ck)
			}
			ck = forgotten.do("POST", "/renew").sessionCookie()
			if ck == nil || !ck.Expires.IsZero() {
				t.Errorf("renewed browser session: cookie %v, want it to stay a browser-session cookie", ck)
			}
			if r := forgotten.do("GET", "/me"); r.status != http.StatusOK {
				t.Errorf("browser session after renew: %d", r.status)
			}
		})
	}
}

// TestRequireRecentAuth: a sensitive action needs a login less than
// maxAge old; logging in again makes it recent. A renew keeps the login
// time, so that a privilege change cannot make a stale login recent.
func TestRequireRecentAuth(t *testing.T) {
	for _, sc := range stores {
		t.Run(sc.name, func(t *testing.T) {
			clk := newClock()
			e := newEnv(t, sc.new(t, clk), clk)
			c := e.client()
			if r := c.do("POST", "/sensitive"); r.status != http.StatusUnauthorized {
				t.Errorf("anonymous: %d, want 401", r.status)
			}
			c.do("POST", "/login?user=ann")
			clk.Advance(9 * time.Minute)
			if r := c.do("POST", "/sensitive"); r.status != http.StatusOK {
				t.Errorf("9 minutes after login: %d, want 200", r.status)
			}
			c.do("POST", "/renew")
			clk.Advance(2 * time.Minute)
			r := c.do("POST", "/sensitive")
			if r.status != http.StatusForbidden || !strings.Contains(r.body, "Forbidden") {
				t.Errorf("11 minutes after login (renewed at 9): %d %s, want 403", r.status, r.body)
			}
			if r := c.do("GET", "/me"); r.status != http.StatusOK {
				t.Errorf("a stale login is still a login: GET /me = %d", r.status)
			}
			c.do("POST", "/login?user=ann")
			if r := c.do("POST", "/sensitive"); r.status != http.StatusOK {
				t.Errorf("right after logging in again: %d, want 200", r.status)
			}
		})
	}
}

// TestMaxSessionsPerGroup: 2 000 logins used to give a user 2 000 sessions.
// Past the cap the oldest logins end, with an event and a log line each.
func TestMaxSessionsPerGroup(t *testing.T) {
	for _, sc := range stores {
		t.Run(sc.name, func(t *testing.T) {
			clk := newClock()
			var (
				mu      sync.Mutex
				evicted []session.Event
			)
			e := newEnv(t, sc.new(t, clk), clk, func(o *session.Options[*testData]) {
				o.MaxSessionsPerGroup = 3
				o.OnEvent = func(_ context.Context, ev session.Event) {
					if ev.Kind == session.EventEvicted {
						mu.Lock()
						defer mu.Unlock()
						evicted = append(evicted, ev)
					}
				}
			})
			clients := make([]*client, 5)
			for i := range clients {
				clients[i] = e.client()
				clients[i].do("POST", "/login?user=ann")
				clk.Advance(time.Minute)
			}
			other := e.client()
			other.do("POST", "/login?user=bob")

			for i, c := range clients {
				want := http.StatusOK
				if i < 2 {
					want = http.StatusUnauthorized
				}
				if r := c.do("GET", "/me"); r.status != want {
					t.Errorf("login %d of 5 at a cap of 3: GET /me = %d, want %d", i+1, r.status, want)
				}
			}
			if list, err := clients[4].sessions(); err != nil || len(list) != 3 {
				t.Errorf("ann's sessions: %d (%v), want 3", len(list), err)
			}
			if r := other.do("GET", "/me"); r.status != http.StatusOK {
				t.Errorf("another user's session: %d", r.status)
			}
			mu.Lock()
			defer mu.Unlock()
			if len(evicted) != 2 || evicted[0].Group != "ann" {
				t.Errorf("evicted events %+v, want 2 of group ann", evicted)
			}
			logs := e.logs.String()
			if n := strings.Count(logs, "session evicted"); n != 2 {
				t.Errorf("%d eviction log lines, want 2:\n%s", n, logs)
			}
			for _, ev := range evicted {
				if strings.Contains(logs, ev.Handle) || !strings.Contains(logs, session.ShortHandle(ev.Handle)) {
					t.Errorf("eviction of %s not logged by its short handle alone", session.ShortHandle(ev.Handle))
				}
			}
		})
	}
}

// TestDataLeavingTheLogin: data that stops being authenticated without a
// logout moves to a new id and keeps at most InitialLifetime: an anonymous
// session must not keep a login's six hours.
func TestDataLeavingTheLogin(t *testing.T) {
	e := newEnv(t, nil, nil)
	c := e.client()
	c.do("POST", "/login?user=ann")
	before := c.cookie()
	ck := c.do("POST", "/set-user?user=").sessionCookie()
	if ck == nil || ck.Value == before {
		t.Fatalf("leaving the login: cookie %v, want a new id", ck)
	}
	if want := e.clock.Now().Add(5 * time.Minute); !ck.Expires.Equal(want) {
		t.Errorf("the anonymous session expires %v, want the initial lifetime, %v", ck.Expires, want)
	}
	if r := c.do("POST", "/sensitive"); r.status != http.StatusUnauthorized {
		t.Errorf("the anonymous session after the login: %d, want 401", r.status)
	}
}
