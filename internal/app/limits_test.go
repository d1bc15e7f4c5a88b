package app_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/alicebob/miniredis/v2"

	"github.com/hexchi/starter/internal/apptest"
)

// TestLoginLimitsSharedByApps: two replicas of the app on one Redis
// spend one login budget, so that an attacker who spreads guesses over
// the replicas gets no more of them. In memory each replica would allow
// the limit on its own: 4 failures over 2 replicas would not reach 3.
// Not parallel: the limits are set with t.Setenv.
func TestLoginLimitsSharedByApps(t *testing.T) {
	mr := miniredis.RunT(t)
	t.Setenv("CORE_AUTH_SESSION_STORE", "redis")
	t.Setenv("CORE_REDIS_ADDRS", mr.Addr())
	t.Setenv("CORE_AUTH_LOGIN_PER_USERNAME", "3")
	replicas := []*apptest.Client{
		apptest.NewClient(t, apptest.Start(t, nil).URL),
		apptest.NewClient(t, apptest.Start(t, nil).URL),
	}
	wrong := []byte(`{"username":"demo","password":"wrong"}`)
	for i := range 3 {
		if r := replicas[i%2].Do(http.MethodPost, "/api/v1/auth/login", wrong, jsonType); r.Status != http.StatusUnauthorized {
			t.Fatalf("failed login %d = %d, want 401", i+1, r.Status)
		}
	}
	for i, c := range replicas {
		r := c.Do(http.MethodPost, "/api/v1/auth/login", []byte(demoLogin), jsonType)
		if r.Status != http.StatusTooManyRequests || r.Header.Get("Retry-After") == "" {
			t.Errorf("replica %d: the 4th login = %d (Retry-After %q), want 429 with Retry-After", i+1, r.Status, r.Header.Get("Retry-After"))
		}
	}
	if keys := mr.Keys(); !hasPrefix(keys, "hexchi:login:username:") || !hasPrefix(keys, "hexchi:login:client:") {
		t.Errorf("keys in Redis %v, want the limits' counters under hexchi:login:", keys)
	}
}

// TestLoginLimitsDown: when the limits' Redis does not answer, a login is
// refused with 503 before its password is checked: an outage is no time
// to guess passwords without a limit.
func TestLoginLimitsDown(t *testing.T) {
	mr := miniredis.RunT(t)
	t.Setenv("CORE_AUTH_SESSION_STORE", "redis")
	t.Setenv("CORE_REDIS_ADDRS", mr.Addr())
	srv := apptest.Start(t, nil)
	c := apptest.NewClient(t, srv.URL)
	mr.SetError("ERR the test has taken Redis down")
	for _, body := range []string{demoLogin, `{"username":"demo","password":"wrong"}`} {
		r := c.Do(http.MethodPost, "/api/v1/auth/login", []byte(body), jsonType)
		var p struct{ Detail string }
		if r.Status != http.StatusServiceUnavailable || json.Unmarshal(r.Body, &p) != nil || p.Detail != "Logins are unavailable for a moment." {
			t.Errorf("login %s with Redis down = %d %s, want 503 with the limits' detail", body, r.Status, r.Body)
		}
	}
	if got := records(srv, "login limits unavailable"); len(got) != 2 {
		t.Errorf("%d records of the limits being down, want 2", len(got))
	}
	if got := records(srv, "login failed"); len(got) != 0 {
		t.Errorf("a password was checked with the limits down: %v", got)
	}
}

func hasPrefix(keys []string, prefix string) bool {
	for _, k := range keys {
		if strings.HasPrefix(k, prefix) {
			return true
		}
	}
	return false
}
