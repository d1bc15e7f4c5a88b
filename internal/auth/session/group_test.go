package session_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/hexchi/starter/internal/auth/session"
)

// sessions lists the client's group as the server sees it.
func (c *client) sessions() ([]session.Info, error) {
	r := c.do("GET", "/sessions")
	var list []session.Info
	if err := json.Unmarshal([]byte(r.body), &list); err != nil {
		return nil, fmt.Errorf("GET /sessions: %d %q: %w", r.status, r.body, err)
	}
	return list, nil
}

func TestSessionGroups(t *testing.T) {
	for _, sc := range stores {
		t.Run(sc.name, func(t *testing.T) {
			clk := newClock()
			e := newEnv(t, sc.new(t, clk), clk)
			laptop, phone, tablet, other := e.client(), e.client(), e.client(), e.client()
			for _, c := range []*client{laptop, phone, tablet} {
				c.do("POST", "/login?user=gus")
				clk.Advance(time.Second) // distinct Created times: stores keep milliseconds
			}
			other.do("POST", "/login?user=hal")

			list, err := laptop.sessions()
			if err != nil {
				t.Fatal(err)
			}
			if len(list) != 3 || !list[0].Current || list[1].Current || list[0].UserAgent != "hexchi-test/1.0" {
				t.Fatalf("laptop's listing = %+v, want 3 sessions, the first (oldest) current, with the user agent", list)
			}

			// Revoke the phone by its handle: it is logged out, the others are not.
			if r := laptop.do("POST", "/revoke?h="+list[1].Handle); r.status != http.StatusOK {
				t.Fatalf("revoke: %d %q", r.status, r.body)
			}
			if r := phone.do("GET", "/me"); r.status != http.StatusUnauthorized {
				t.Errorf("revoked phone still logged in: %d", r.status)
			}
			// Another user's session cannot be revoked, nor can an unknown handle.
			for _, h := range []string{other.handle(), "unknown"} {
				if r := laptop.do("POST", "/revoke?h="+h); r.status != http.StatusNotFound {
					t.Errorf("revoke of %q outside the group: %d, want 404", h, r.status)
				}
			}
			if r := other.do("GET", "/me"); r.status != http.StatusOK {
				t.Errorf("hal was logged out by gus: %d", r.status)
			}

			// Log out everywhere else, keeping the current session.
			if r := laptop.do("POST", "/logout-all?keep=1"); r.body != "1" {
				t.Errorf("logout-all keep: ended %q sessions, want 1 (the tablet)", r.body)
			}
			if r := tablet.do("GET", "/me"); r.status != http.StatusUnauthorized {
				t.Errorf("tablet survived logout-all: %d", r.status)
			}
			if r := laptop.do("GET", "/me"); r.status != http.StatusOK {
				t.Errorf("laptop lost its session to logout-all keep=1: %d", r.status)
			}
			// And everywhere, the current one included.
			laptop.do("POST", "/logout-all")
			if r := laptop.do("GET", "/me"); r.status != http.StatusUnauthorized {
				t.Errorf("laptop survived logout-all: %d", r.status)
			}
			if r := other.do("GET", "/me"); r.status != http.StatusOK {
				t.Errorf("hal was logged out by gus's logout-all: %d", r.status)
			}
		})
	}
}
