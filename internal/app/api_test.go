package app_test

import (
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/alicebob/miniredis/v2"

	"github.com/hexchi/starter/internal/apptest"
)

// given is what the client of an apiCase has done before its request.
type given int

const (
	anonymous          given = iota // a new client: no cookie
	loggedIn                        // logged in as the demo user
	loginLimited                    // one failed login, under a limit of one per username
	storeDown                       // logged in, then the session store failed
	storeDownAnonymous              // a new client, and the session store is down
	staleLogin                      // logged in, but longer ago than core.auth.recentAuth
)

// crossSite are the headers of a browser's request from another origin.
var crossSite = map[string]string{"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"}

// formType is the Content-Type of an HTML form.
const formType = "application/x-www-form-urlencoded"

// tooLarge is a string that makes a request body larger than the API reads.
var tooLarge = strings.Repeat("x", 5000)

// apiCase is one exchange with the API and the status the spec documents
// for it. Together the cases exercise every operation and status of the
// spec: TestAPICasesCoverSpec checks that.
type apiCase struct {
	given given
	// req is the method and the path under /api/v1, where {current}
	// stands for the handle of the client's own session.
	req    string
	header map[string]string
	body   string
	ct     string // Content-Type of body, none if ""
	status int
	// rejected: the spec itself rejects the request (malformed, or without
	// the session cookie an operation requires).
	rejected bool
}

var apiCases = map[string]apiCase{
	"login": {
		req:  "POST /auth/login",
		body: demoLogin, ct: jsonType,
		status: 200,
	},
	"login with a charset parameter": {
		req:  "POST /auth/login",
		body: demoLogin, ct: "application/json; charset=utf-8",
		status: 200,
	},
	"login when logged in already": {
		given: loggedIn, req: "POST /auth/login",
		body: demoLogin, ct: jsonType,
		status: 200,
	},
	"login from the same origin": {
		req: "POST /auth/login", header: map[string]string{"Sec-Fetch-Site": "same-origin"},
		body: demoLogin, ct: jsonType,
		status: 200,
	},
	"login with a wrong password": {
		req:  "POST /auth/login",
		body: `{"username":"demo","password":"wrong"}`, ct: jsonType,
		status: 401,
	},
	"login as an unknown user": {
		req:  "POST /auth/login",
		body: `{"username":"nobody","password":"hexchi-demo"}`, ct: jsonType,
		status: 401,
	},
	"login without a body": {
		req:    "POST /auth/login",
		ct:     jsonType,
		status: 400, rejected: true,
	},
	"login with broken JSON": {
		req:  "POST /auth/login",
		body: `{"username":"demo",`, ct: jsonType,
		status: 400, rejected: true,
	},
	"login without a password": {
		req:  "POST /auth/login",
		body: `{"username":"demo"}`, ct: jsonType,
		status: 400, rejected: true,
	},
	"login with an empty username": {
		req:  "POST /auth/login",
		body: `{"username":"","password":"x"}`, ct: jsonType,
		status: 400, rejected: true,
	},
	"login with a username too long": {
		req:  "POST /auth/login",
		body: `{"username":"` + strings.Repeat("é", 65) + `","password":"x"}`, ct: jsonType,
		status: 400, rejected: true,
	},
	"login with a long non-ASCII username": {
		req:  "POST /auth/login",
		body: `{"username":"` + strings.Repeat("é", 64) + `","password":"x"}`, ct: jsonType,
		status: 401,
	},
	"login with a number for the username": {
		req:  "POST /auth/login",
		body: `{"username":7,"password":"x"}`, ct: jsonType,
		status: 400, rejected: true,
	},
	"login with an unknown field": {
		req:  "POST /auth/login",
		body: `{"username":"demo","password":"hexchi-demo","otp":"123456"}`, ct: jsonType,
		status: 400, rejected: true,
	},
	"login, remember me": {
		req:  "POST /auth/login",
		body: `{"username":"demo","password":"hexchi-demo","remember":true}`, ct: jsonType,
		status: 200,
	},
	"login, do not remember me": {
		req:  "POST /auth/login",
		body: `{"username":"demo","password":"hexchi-demo","remember":false}`, ct: jsonType,
		status: 200,
	},
	"login with two JSON values": {
		req:  "POST /auth/login",
		body: demoLogin + demoLogin, ct: jsonType,
		status: 400, rejected: true,
	},
	"login with an array": {
		req:  "POST /auth/login",
		body: `[]`, ct: jsonType,
		status: 400, rejected: true,
	},
	"login from another origin": {
		req: "POST /auth/login", header: crossSite,
		body: demoLogin, ct: jsonType,
		status: 403,
	},
	"login with a body too large": {
		req:  "POST /auth/login",
		body: `{"username":"demo","password":"` + tooLarge + `"}`, ct: jsonType,
		status: 413, rejected: true,
	},
	"login as text/plain": {
		req:  "POST /auth/login",
		body: demoLogin, ct: "text/plain",
		status: 415, rejected: true,
	},
	"login without a Content-Type": {
		req:    "POST /auth/login",
		body:   demoLogin,
		status: 415, rejected: true,
	},
	"login rate limited": {
		given: loginLimited, req: "POST /auth/login",
		body: demoLogin, ct: jsonType,
		status: 429,
	},
	"login with the store down": {
		given: storeDownAnonymous, req: "POST /auth/login",
		body: demoLogin, ct: jsonType,
		status: 503,
	},
	"login with a cookie and the store down": {
		given: storeDown, req: "POST /auth/login",
		body: demoLogin, ct: jsonType,
		status: 503,
	},
	"logout": {
		given: loggedIn, req: "POST /auth/logout",
		status: 204,
	},
	"logout without a session": {
		req:    "POST /auth/logout",
		status: 204,
	},
	"logout from another origin": {
		given: loggedIn, req: "POST /auth/logout", header: crossSite,
		status: 403,
	},
	"logout with the store down": {
		given: storeDown, req: "POST /auth/logout",
		status: 503,
	},
	"logout-all": {
		given: loggedIn, req: "POST /auth/logout-all",
		status: 200,
	},
	"logout-all with no settings": {
		given: loggedIn, req: "POST /auth/logout-all",
		body: `{}`, ct: jsonType,
		status: 200,
	},
	"logout-all including the current session": {
		given: loggedIn, req: "POST /auth/logout-all",
		body: `{"includeCurrent":true}`, ct: jsonType,
		status: 200,
	},
	"logout-all with a string for a boolean": {
		given: loggedIn, req: "POST /auth/logout-all",
		body: `{"includeCurrent":"yes"}`, ct: jsonType,
		status: 400, rejected: true,
	},
	"logout-all with an unknown field": {
		given: loggedIn, req: "POST /auth/logout-all",
		body: `{"includeCurrnet":true}`, ct: jsonType,
		status: 400, rejected: true,
	},
	"logout-all after an old login": {
		given: staleLogin, req: "POST /auth/logout-all",
		status: 403,
	},
	"logout-all without a session": {
		req:    "POST /auth/logout-all",
		status: 401, rejected: true,
	},
	"logout-all from another origin": {
		given: loggedIn, req: "POST /auth/logout-all", header: crossSite,
		status: 403,
	},
	"logout-all with a body too large": {
		given: loggedIn, req: "POST /auth/logout-all",
		body: `{"includeCurrent":true,"pad":"` + tooLarge + `"}`, ct: jsonType,
		status: 413, rejected: true,
	},
	"logout-all as text/plain": {
		given: loggedIn, req: "POST /auth/logout-all",
		body: `{"includeCurrent":true}`, ct: "text/plain",
		status: 415, rejected: true,
	},
	"logout-all with the store down": {
		given: storeDown, req: "POST /auth/logout-all",
		status: 503,
	},
	"session without one": {
		req:    "GET /auth/session",
		status: 200,
	},
	"session when logged in": {
		given: loggedIn, req: "GET /auth/session",
		status: 200,
	},
	"session with the store down": {
		given: storeDown, req: "GET /auth/session",
		status: 503,
	},
	"sessions": {
		given: loggedIn, req: "GET /auth/sessions",
		status: 200,
	},
	"sessions without a session": {
		req:    "GET /auth/sessions",
		status: 401, rejected: true,
	},
	"sessions with the store down": {
		given: storeDown, req: "GET /auth/sessions",
		status: 503,
	},
	"revoke the current session": {
		given: loggedIn, req: "DELETE /auth/sessions/{current}",
		status: 204,
	},
	"revoke a malformed handle": {
		given: loggedIn, req: "DELETE /auth/sessions/not-a-handle",
		status: 400, rejected: true,
	},
	"revoke without a session": {
		req:    "DELETE " + "/auth/sessions/" + unknownHandle,
		status: 401, rejected: true,
	},
	"revoke from another origin": {
		given: loggedIn, req: "DELETE /auth/sessions/{current}", header: crossSite,
		status: 403,
	},
	"revoke an unknown handle": {
		given: loggedIn, req: "DELETE " + "/auth/sessions/" + unknownHandle,
		status: 404,
	},
	"revoke another session after an old login": {
		given: staleLogin, req: "DELETE " + "/auth/sessions/" + unknownHandle,
		status: 403,
	},
	"revoke the current session after an old login": {
		given: staleLogin, req: "DELETE /auth/sessions/{current}",
		status: 204,
	},
	"revoke with the store down": {
		given: storeDown, req: "DELETE " + "/auth/sessions/" + unknownHandle,
		status: 503,
	},
	"me": {
		given: loggedIn, req: "GET /me",
		status: 200,
	},
	"me without a session": {
		req:    "GET /me",
		status: 401, rejected: true,
	},
	"me with the store down": {
		given: storeDown, req: "GET /me",
		status: 503,
	},
	"preferences": {
		given: loggedIn, req: "PUT /me/preferences",
		body: `{"theme":"dark"}`, ct: jsonType,
		status: 200,
	},
	"preferences with a bad theme": {
		given: loggedIn, req: "PUT /me/preferences",
		body: `{"theme":"blue"}`, ct: jsonType,
		status: 400, rejected: true,
	},
	"preferences without a theme": {
		given: loggedIn, req: "PUT /me/preferences",
		body: `{}`, ct: jsonType,
		status: 400, rejected: true,
	},
	"preferences without a session": {
		req:  "PUT /me/preferences",
		body: `{"theme":"dark"}`, ct: jsonType,
		status: 401, rejected: true,
	},
	"preferences from another origin": {
		given: loggedIn, req: "PUT /me/preferences", header: crossSite,
		body: `{"theme":"dark"}`, ct: jsonType,
		status: 403,
	},
	"preferences with a body too large": {
		given: loggedIn, req: "PUT /me/preferences",
		body: `{"theme":"` + tooLarge + `"}`, ct: jsonType,
		status: 413, rejected: true,
	},
	"preferences as a form": {
		given: loggedIn, req: "PUT /me/preferences",
		body: "theme=dark", ct: formType,
		status: 415, rejected: true,
	},
	"preferences with the store down": {
		given: storeDown, req: "PUT /me/preferences",
		body: `{"theme":"dark"}`, ct: jsonType,
		status: 503,
	},
	"counter": {
		given: loggedIn, req: "POST /me/counter",
		status: 200,
	},
	"counter without a session": {
		req:    "POST /me/counter",
		status: 401, rejected: true,
	},
	"counter from another origin": {
		given: loggedIn, req: "POST /me/counter", header: crossSite,
		status: 403,
	},
	"counter with the store down": {
		given: storeDown, req: "POST /me/counter",
		status: 503,
	},
}

// request returns the method and the URL path of tc's request, with handle
// for {current}.
func (tc apiCase) request(handle string) (method, path string) {
	method, path, _ = strings.Cut(tc.req, " ")
	return method, "/api/v1" + strings.ReplaceAll(path, "{current}", handle)
}

// TestAPI sends each apiCase to its own server through a spec-checked
// client. The subtests are not parallel: the cases that need a Redis or a
// login limit set CORE_* variables with t.Setenv.
func TestAPI(t *testing.T) {
	spec := loadSpec(t)
	for name, tc := range apiCases {
		t.Run(name, func(t *testing.T) {
			c := clientGiven(t, spec, tc.given)
			handle := ""
			if strings.Contains(tc.req, "{current}") {
				handle = c.currentHandle(t)
			}
			method, path := tc.request(handle)
			for k, v := range tc.header {
				c.Header.Set(k, v)
			}
			var body []byte
			if tc.body != "" {
				body = []byte(tc.body)
			}

			res := c.Do(method, path, body, tc.ct)

			if tc.status >= 400 {
				wantProblem(t, res, tc.status)
			} else if res.Status != tc.status {
				t.Errorf("status = %d, want %d; body %s", res.Status, tc.status, res.Body)
			}
			if c.check.rejected != tc.rejected {
				t.Errorf("the spec rejects the request: %v, want %v", c.check.rejected, tc.rejected)
			}
		})
	}
}

// clientGiven starts a server and returns a client of it in state g.
func clientGiven(t *testing.T, spec *apiSpec, g given) *apiClient {
	t.Helper()
	var store *miniredis.Miniredis
	switch g {
	case storeDown, storeDownAnonymous:
		store = miniredis.RunT(t)
		t.Setenv("CORE_AUTH_SESSION_STORE", "redis")
		t.Setenv("CORE_REDIS_ADDRS", store.Addr())
	case loginLimited:
		t.Setenv("CORE_AUTH_LOGIN_PER_USERNAME", "1")
	case staleLogin:
		// Every login is older than a nanosecond by its next request.
		t.Setenv("CORE_AUTH_RECENT_AUTH", "1ns")
	}
	c := newAPIClient(t, spec, apptest.Start(t, nil))
	switch g {
	case loggedIn, storeDown, staleLogin:
		c.logIn(t)
	case loginLimited:
		if res := c.send(http.MethodPost, "/auth/login", `{"username":"demo","password":"wrong"}`); res.Status != http.StatusUnauthorized {
			t.Fatalf("first login = %d, want 401", res.Status)
		}
	}
	if store != nil {
		// Every command fails from now on, as when Redis is down.
		store.SetError("ERR the test has taken the store down")
	}
	return c
}

// TestAPICasesCoverSpec fails when the spec documents an operation and
// status that no apiCase exercises, or when a case expects a status its
// operation does not document.
func TestAPICasesCoverSpec(t *testing.T) {
	spec := loadSpec(t)
	exercised := map[string]bool{}
	for name, tc := range apiCases {
		method, path := tc.request(unknownHandle)
		route, _, err := spec.router.FindRoute(httptest.NewRequestWithContext(t.Context(), method, path, nil))
		if err != nil {
			t.Errorf("case %q: %s is not in the spec: %v", name, tc.req, err)
			continue
		}
		exercised[operation(route)+" "+strconv.Itoa(tc.status)] = true
	}
	documented := map[string]bool{}
	for _, s := range spec.documented() {
		documented[s] = true
		if !exercised[s] {
			t.Errorf("no apiCase exercises %s", s)
		}
	}
	for s := range exercised {
		if !documented[s] {
			t.Errorf("apiCases exercise %s, which the spec does not document", s)
		}
	}
}
