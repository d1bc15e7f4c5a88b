package app_test

import (
	"net/http"
	"strconv"
	"testing"
)

// TestAPICrossOrigin: an unsafe request from another origin is refused
// before it reaches the handler; one from the same origin, or from a client
// that is not a browser, is not.
func TestAPICrossOrigin(t *testing.T) {
	t.Parallel()
	spec, srv := newAPIServer(t)
	tests := map[string]struct {
		header map[string]string
		status int
	}{
		"cross-site":                   {header: crossSite, status: http.StatusForbidden},
		"an Origin of another host":    {header: map[string]string{"Origin": "https://evil.example"}, status: http.StatusForbidden},
		"same-origin":                  {header: map[string]string{"Origin": srv.URL, "Sec-Fetch-Site": "same-origin"}, status: http.StatusOK},
		"typed into the address bar":   {header: map[string]string{"Sec-Fetch-Site": "none"}, status: http.StatusOK},
		"a client that is no browser":  {status: http.StatusOK},
		"an Origin of the same host":   {header: map[string]string{"Origin": srv.URL}, status: http.StatusOK},
		"same-site but another origin": {header: map[string]string{"Sec-Fetch-Site": "same-site"}, status: http.StatusForbidden},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			c := newAPIClient(t, spec, srv)
			for k, v := range tc.header {
				c.Header.Set(k, v)
			}
			res := c.send(http.MethodPost, "/auth/login", demoLogin)
			if tc.status == http.StatusOK {
				wantStatus(t, "login", res, http.StatusOK)
				return
			}
			wantProblem(t, res, tc.status)
			if c.Cookie(cookieName) != "" {
				t.Error("a refused login set a cookie")
			}
		})
	}
}

// TestAPILoginRateLimits spends a login limit with wrong passwords and
// checks that the next attempt is refused with 429 even with the right
// password. Not parallel: the limits are set with t.Setenv.
func TestAPILoginRateLimits(t *testing.T) {
	const limit = 3
	tests := map[string]struct {
		env string
		// usernames of the attempts that spend the limit: the per-username
		// limit ignores case.
		usernames []string
	}{
		"per username": {env: "CORE_AUTH_LOGIN_PER_USERNAME", usernames: []string{"demo", "DEMO", "Demo"}},
		"per client":   {env: "CORE_AUTH_LOGIN_PER_CLIENT", usernames: []string{"alice", "bob", "carol"}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Setenv(tc.env, strconv.Itoa(limit))
			spec, srv := newAPIServer(t)
			c := newAPIClient(t, spec, srv)
			for _, u := range tc.usernames {
				res := c.send(http.MethodPost, "/auth/login", `{"username":"`+u+`","password":"wrong"}`)
				wantProblem(t, res, http.StatusUnauthorized)
			}

			res := c.send(http.MethodPost, "/auth/login", demoLogin)
			wantProblem(t, res, http.StatusTooManyRequests)
			if s, err := strconv.Atoi(res.Header.Get("Retry-After")); err != nil || s <= 0 {
				t.Errorf("Retry-After = %q, want seconds", res.Header.Get("Retry-After"))
			}
			if c.Cookie(cookieName) != "" {
				t.Error("a refused login set a cookie")
			}
		})
	}
}

// TestAPIRightLoginsAreNotLimited: the per-username limit counts failures
// only, so the README's "log in from a second browser" never meets a 429,
// however many browsers.
func TestAPIRightLoginsAreNotLimited(t *testing.T) {
	t.Setenv("CORE_AUTH_LOGIN_PER_USERNAME", "5")
	spec, srv := newAPIServer(t)
	for i := range 10 {
		c := newAPIClient(t, spec, srv)
		if res := c.send(http.MethodPost, "/auth/login", demoLogin); res.Status != http.StatusOK {
			t.Fatalf("right login %d of 10 = %d, want 200", i+1, res.Status)
		}
	}
	c := newAPIClient(t, spec, srv)
	for range 5 {
		wantProblem(t, c.send(http.MethodPost, "/auth/login", `{"username":"demo","password":"wrong"}`), http.StatusUnauthorized)
	}
	wantProblem(t, c.send(http.MethodPost, "/auth/login", `{"username":"demo","password":"wrong"}`), http.StatusTooManyRequests)
}
