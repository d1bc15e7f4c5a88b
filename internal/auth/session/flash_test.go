package session_test

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestAnonymousFlashesStoreNothing: each cookie-less request that left a
// flash ("Please log in.") used to create a stored session: 20 000 bots,
// 20 000 Redis keys. The flash now travels in a signed cookie.
func TestAnonymousFlashesStoreNothing(t *testing.T) {
	for _, sc := range stores {
		t.Run(sc.name, func(t *testing.T) {
			clk := newClock()
			e := newEnv(t, sc.new(t, clk), clk)
			e.store.total()
			for range 200 {
				r := e.client().do("POST", "/flash?msg=Please+log+in.")
				if r.sessionCookie() != nil || r.cookieNamed("SID_flash") == nil {
					t.Fatalf("anonymous flash: Set-Cookie %q, want a flash cookie and no session", r.header.Values("Set-Cookie"))
				}
			}
			if calls := e.store.total(); len(calls) != 0 {
				t.Errorf("200 anonymous flashes made %v store calls, want none", calls)
			}
			if logs := e.logs.String(); strings.Contains(logs, "level=ERROR") {
				t.Errorf("anonymous flashes logged errors:\n%s", logs)
			}
		})
	}
}

// TestFlashCookie: the flash is shown once, on the next page, and a flash
// cookie that is stale, forged, or offered as a session cookie is dropped.
func TestFlashCookie(t *testing.T) {
	e := newEnv(t, nil, nil)
	t.Run("shown once", func(t *testing.T) {
		c := e.client()
		c.do("POST", "/flash?msg=one")
		c.do("POST", "/flash?msg=two") // a second one joins the first
		r := c.do("GET", "/pop")
		if !strings.Contains(r.body, "one") || !strings.Contains(r.body, "two") {
			t.Errorf("popped %s, want both flashes", r.body)
		}
		if ck := r.cookieNamed("SID_flash"); ck == nil || ck.MaxAge >= 0 {
			t.Errorf("after the pop the flash cookie is %v, want it cleared", ck)
		}
		if r := c.do("GET", "/pop"); r.body != "null" {
			t.Errorf("second pop %s, want nothing", r.body)
		}
	})
	t.Run("a redirect that shows nothing keeps it", func(t *testing.T) {
		c := e.client()
		c.do("POST", "/flash?msg=kept")
		if r := c.do("GET", "/anon"); len(r.header.Values("Set-Cookie")) != 0 {
			t.Errorf("a page that pops nothing touched the cookies: %q", r.header.Values("Set-Cookie"))
		}
		if r := c.do("GET", "/pop"); !strings.Contains(r.body, "kept") {
			t.Errorf("popped %s, want the flash", r.body)
		}
	})
	t.Run("stale", func(t *testing.T) {
		c := e.client()
		c.do("POST", "/flash?msg=old")
		e.clock.Advance(time.Minute)
		r := c.do("GET", "/pop")
		if r.body != "null" {
			t.Errorf("a flash a minute old was shown: %s", r.body)
		}
		if ck := r.cookieNamed("SID_flash"); ck == nil || ck.MaxAge >= 0 {
			t.Errorf("stale flash cookie %v, want it cleared", ck)
		}
	})
	t.Run("forged", func(t *testing.T) {
		c := e.client()
		c.do("POST", "/flash?msg=real")
		v := c.cookieValue("SID_flash")
		c.setCookieNamed("SID_flash", strings.Replace(v, v[:4], "eyJm", 1))
		if r := c.do("GET", "/pop"); r.body != "null" {
			t.Errorf("a tampered flash cookie was shown: %s", r.body)
		}
	})
	t.Run("not a session cookie", func(t *testing.T) {
		c := e.client()
		c.do("POST", "/flash?msg=x")
		v := c.cookieValue("SID_flash")
		c.setCookie(v)
		e.store.total()
		if r := c.do("GET", "/me"); r.status != http.StatusUnauthorized || r.sessionCookie() == nil {
			t.Errorf("a flash cookie's value as the session cookie: %d, want 401 and the cookie cleared", r.status)
		}
		if calls := e.store.total(); len(calls) != 0 {
			t.Errorf("it cost store calls %v, want none (its signature must not verify)", calls)
		}
	})
	t.Run("moves into the session at login", func(t *testing.T) {
		c := e.client()
		c.do("POST", "/flash?msg=before-login")
		r := c.do("POST", "/login?user=ann")
		if ck := r.cookieNamed("SID_flash"); ck == nil || ck.MaxAge >= 0 {
			t.Errorf("flash cookie at login %v, want it cleared", ck)
		}
		if r := c.do("GET", "/pop"); !strings.Contains(r.body, "before-login") {
			t.Errorf("popped %s after login, want the flash from before it", r.body)
		}
	})
	t.Run("too many for a cookie", func(t *testing.T) {
		c := e.client()
		for i := range 40 {
			c.do("POST", "/flash?msg=message-"+strings.Repeat("x", 60)+string(rune('A'+i%26)))
		}
		if v := c.cookieValue("SID_flash"); v == "" || len(v) > 2048 {
			t.Errorf("flash cookie of %d bytes, want at most 2048", len(v))
		}
		if !strings.Contains(e.logs.String(), "flash messages dropped") {
			t.Error("dropping flashes that do not fit was not logged")
		}
		if r := c.do("GET", "/pop"); !strings.Contains(r.body, "message-") {
			t.Errorf("popped %s, want the newest flashes", r.body)
		}
	})
	t.Run("an explicit write still stores", func(t *testing.T) {
		c := e.client()
		e.store.total()
		if r := c.do("POST", "/set?k=a&v=cart"); r.sessionCookie() == nil {
			t.Error("an anonymous session's data write was not stored")
		}
		if calls := e.store.total(); calls["Create"] != 1 {
			t.Errorf("store calls %v, want one Create", calls)
		}
	})
}
