package app_test

import (
	"bytes"
	"net/http"
	"strings"
	"testing"

	"github.com/hexchi/starter/internal/apptest"
)

// secret stands for a password in the requests of validateCases: no answer
// may quote it.
const secret = "hunter2-secret"

// validateCase is a request to the API and how the run-time validation of
// api_validate.go answers it.
type validateCase struct {
	given given // anonymous or loggedIn
	// req is the method and the path under /api/v1.
	req      string
	body, ct string
	status   int
	// detail is the problem's detail, checked when not "".
	detail string
	// loggedIn is whether the client's session is logged in after the
	// request: a refused login must not log in, a refused logout must not
	// log out.
	loggedIn bool
	// unchecked, when not "", says why the exchange cannot go through the
	// spec check of the API tests (specCheck); the client is then a plain
	// one.
	unchecked string
}

// Why some exchanges are not spec-checked.
const (
	// kin-openapi decodes JSON with encoding/json, which keeps the last of
	// two equal keys: the spec check takes such a body for valid and would
	// report the server's 400.
	dupKeys = "the spec check cannot see duplicate keys"
	// specCheck reports every request the spec has no operation for.
	offSpec = "the spec has no such operation"
)

var validateCases = map[string]validateCase{
	// The holes the validator closes: encoding/json matches keys in any
	// case, and keeps the last of two.
	"login with upper-case keys": {
		req: "POST /auth/login", body: `{"USERNAME":"demo","PASSWORD":"hexchi-demo"}`, ct: jsonType,
		status: 400, detail: `request body: unknown field "PASSWORD"`,
	},
	"login with one upper-case key": {
		req: "POST /auth/login", body: `{"Username":"demo","password":"hexchi-demo"}`, ct: jsonType,
		status: 400, detail: `request body: unknown field "Username"`,
	},
	"login with a key twice, in two cases": {
		req: "POST /auth/login", body: `{"username":"x","USERNAME":"demo","password":"hexchi-demo"}`, ct: jsonType,
		status: 400, detail: `request body: unknown field "USERNAME"`,
	},
	"logout-all with an upper-case key": {
		given: loggedIn, req: "POST /auth/logout-all", body: `{"INCLUDECURRENT":true}`, ct: jsonType,
		status: 400, detail: `request body: unknown field "INCLUDECURRENT"`, loggedIn: true,
	},
	"logout-all with an upper-case key, without a session": {
		req: "POST /auth/logout-all", body: `{"INCLUDECURRENT":true}`, ct: jsonType,
		status: 400, detail: `request body: unknown field "INCLUDECURRENT"`,
	},
	"login with a key twice": {
		req: "POST /auth/login", body: `{"username":"x","username":"demo","password":"hexchi-demo"}`, ct: jsonType,
		status: 400, detail: `request body: duplicate field "username"`, unchecked: dupKeys,
	},
	"login with a key twice, once escaped": {
		req: "POST /auth/login", body: `{"username":"demo","\u0075sername":"demo","password":"hexchi-demo"}`, ct: jsonType,
		status: 400, detail: `request body: duplicate field "username"`, unchecked: dupKeys,
	},
	"logout-all with a key twice": {
		given: loggedIn, req: "POST /auth/logout-all", body: `{"includeCurrent":false,"includeCurrent":true}`, ct: jsonType,
		status: 400, detail: `request body: duplicate field "includeCurrent"`, loggedIn: true, unchecked: dupKeys,
	},
	// No request schema nests; a duplicate key is refused at any depth all
	// the same, before the schema is looked at.
	"a key twice in a nested object": {
		given: loggedIn, req: "POST /auth/logout-all", body: `{"includeCurrent":{"a":1,"a":2}}`, ct: jsonType,
		status: 400, detail: `request body: duplicate field "includeCurrent.a"`, loggedIn: true, unchecked: dupKeys,
	},
	"a key twice in an array": {
		req: "POST /auth/login", body: `{"username":"demo","password":"x","remember":[{"a":1},{"a":1,"a":2}]}`, ct: jsonType,
		status: 400, detail: `request body: duplicate field "remember.1.a"`, unchecked: dupKeys,
	},

	// Wrong types, values and shapes.
	"logout-all with a string for a boolean": {
		given: loggedIn, req: "POST /auth/logout-all", body: `{"includeCurrent":"yes"}`, ct: jsonType,
		status: 400, detail: `request body: field "includeCurrent" must be a boolean`, loggedIn: true,
	},
	"login with a number for the username": {
		req: "POST /auth/login", body: `{"username":7,"password":"x"}`, ct: jsonType,
		status: 400, detail: `request body: field "username" must be a string`,
	},
	"login with an array for the password": {
		req: "POST /auth/login", body: `{"username":"demo","password":["` + secret + `"]}`, ct: jsonType,
		status: 400, detail: `request body: field "password" must be a string`,
	},
	"login with null for remember": {
		req: "POST /auth/login", body: `{"username":"demo","password":"hexchi-demo","remember":null}`, ct: jsonType,
		status: 400, detail: `request body: field "remember" must not be null`,
	},
	"login with an array": {
		req: "POST /auth/login", body: `[]`, ct: jsonType,
		status: 400, detail: `request body: must be an object`,
	},
	"login with an unknown field": {
		req: "POST /auth/login", body: `{"username":"demo","password":"hexchi-demo","otp":"123456"}`, ct: jsonType,
		status: 400, detail: `request body: unknown field "otp"`,
	},
	"login without a password": {
		req: "POST /auth/login", body: `{"username":"demo"}`, ct: jsonType,
		status: 400, detail: `request body: field "password" is missing`,
	},
	"login with an empty username": {
		req: "POST /auth/login", body: `{"username":"","password":"x"}`, ct: jsonType,
		status: 400, detail: `request body: field "username" must not be empty`,
	},
	"login with a password too long": {
		req: "POST /auth/login", body: `{"username":"demo","password":"` + strings.Repeat(secret, 20) + `"}`, ct: jsonType,
		status: 400, detail: `request body: field "password" must be at most 256 characters long`,
	},
	"login with broken JSON": {
		req: "POST /auth/login", body: `{"username":"demo",`, ct: jsonType,
		status: 400, detail: `request body: not valid JSON`,
	},
	"login with two JSON values": {
		req: "POST /auth/login", body: demoLogin + demoLogin, ct: jsonType,
		status: 400, detail: `request body: more than one JSON value`,
	},
	"login without a body": {
		req: "POST /auth/login", ct: jsonType,
		status: 400, detail: `request body: missing`,
	},
	"logout-all with white space for a body": {
		given: loggedIn, req: "POST /auth/logout-all", body: " \n", ct: jsonType,
		status: 400, detail: `request body: not valid JSON`, loggedIn: true,
	},
	"preferences with a bad theme": {
		given: loggedIn, req: "PUT /me/preferences", body: `{"theme":"blue"}`, ct: jsonType,
		status: 400, detail: `request body: field "theme" must be one of "light", "dark"`, loggedIn: true,
	},
	"preferences without a theme": {
		given: loggedIn, req: "PUT /me/preferences", body: `{}`, ct: jsonType,
		status: 400, detail: `request body: field "theme" is missing`, loggedIn: true,
	},

	// Parameters. A malformed request is a 400 whoever sends it: the
	// validator runs before RequireAuth.
	"revoke a malformed handle": {
		given: loggedIn, req: "DELETE /auth/sessions/not-a-handle",
		status: 400, detail: `path parameter "handle" does not match its pattern`, loggedIn: true,
	},
	"revoke a malformed handle without a session": {
		req:    "DELETE /auth/sessions/not-a-handle",
		status: 400, detail: `path parameter "handle" does not match its pattern`,
	},
	"revoke a well-formed unknown handle": {
		given: loggedIn, req: "DELETE /auth/sessions/" + unknownHandle,
		status: 404, loggedIn: true,
	},

	// The statuses the validator leaves to others.
	"login with a body too large": {
		req: "POST /auth/login", body: `{"username":"demo","password":"` + tooLarge + `"}`, ct: jsonType,
		status: 413,
	},
	"logout-all with a body too large": {
		given: loggedIn, req: "POST /auth/logout-all", body: `{"INCLUDECURRENT":true,"pad":"` + tooLarge + `"}`, ct: jsonType,
		status: 413, loggedIn: true,
	},
	"login as text/plain": {
		req: "POST /auth/login", body: `{"USERNAME":"demo"}`, ct: "text/plain",
		status: 415,
	},
	"login without a Content-Type": {
		req: "POST /auth/login", body: demoLogin,
		status: 415,
	},
	"logout-all as text/plain": {
		given: loggedIn, req: "POST /auth/logout-all", body: `{"includeCurrent":true}`, ct: "text/plain",
		status: 415, loggedIn: true,
	},
	"preferences as a form": {
		given: loggedIn, req: "PUT /me/preferences", body: "theme=dark", ct: formType,
		status: 415, loggedIn: true,
	},
	"logout-all without a session": {
		req:    "POST /auth/logout-all",
		status: 401,
	},
	"an unknown route": {
		req:    "GET /nope",
		status: 404, unchecked: offSpec,
	},
	"GET on a POST route": {
		req:    "GET /auth/login",
		status: 405, unchecked: offSpec,
	},
	"GET on a POST route of a logged-in user": {
		req:    "GET /auth/logout-all",
		status: 405, unchecked: offSpec,
	},

	// Valid requests reach their handler, body and all.
	"login": {
		req: "POST /auth/login", body: demoLogin, ct: jsonType,
		status: 200, loggedIn: true,
	},
	"login with the media type in capitals": {
		req: "POST /auth/login", body: demoLogin, ct: "Application/JSON; charset=utf-8",
		status: 200, loggedIn: true,
	},
	"logout-all without a body": {
		given: loggedIn, req: "POST /auth/logout-all",
		status: 200, loggedIn: true,
	},
	"logout-all with an empty object": {
		given: loggedIn, req: "POST /auth/logout-all", body: `{}`, ct: jsonType,
		status: 200, loggedIn: true,
	},
	"logout-all including the current session": {
		given: loggedIn, req: "POST /auth/logout-all", body: `{"includeCurrent":true}`, ct: jsonType,
		status: 200, loggedIn: false,
	},
	"preferences": {
		given: loggedIn, req: "PUT /me/preferences", body: `{"theme":"dark"}`, ct: jsonType,
		status: 200, loggedIn: true,
	},
}

// TestAPIValidate sends each validateCase to its own server, and checks
// the answer, its problem detail, and whether the client is logged in
// afterwards.
func TestAPIValidate(t *testing.T) {
	t.Parallel()
	spec := loadSpec(t)
	for name, tc := range validateCases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			srv := apptest.Start(t, nil)
			c := newAPIClient(t, spec, srv).Client
			if tc.unchecked != "" {
				c = apptest.NewClient(t, srv.URL)
			}
			if tc.given == loggedIn {
				res := c.Do(http.MethodPost, "/api/v1/auth/login", []byte(demoLogin), jsonType)
				wantStatus(t, "login", res, http.StatusOK)
			}
			method, path, _ := strings.Cut(tc.req, " ")
			var body []byte
			if tc.body != "" {
				body = []byte(tc.body)
			}

			res := c.Do(method, "/api/v1"+path, body, tc.ct)

			if tc.status < 400 {
				wantStatus(t, tc.req, res, tc.status)
			} else {
				wantProblem(t, res, tc.status)
				if p := problemOf(t, res); tc.detail != "" && p.Detail != tc.detail {
					t.Errorf("detail = %q, want %q", p.Detail, tc.detail)
				}
			}
			if tc.status == http.StatusMethodNotAllowed && res.Header.Get("Allow") != http.MethodPost {
				t.Errorf("Allow = %q, want POST", res.Header.Values("Allow"))
			}
			if bytes.Contains(res.Body, []byte(secret)) {
				t.Errorf("the answer quotes the password: %s", res.Body)
			}
			state := decodeAs[sessionStateJSON](t, c.Do(http.MethodGet, "/api/v1/auth/session", nil, ""))
			if state.Authenticated != tc.loggedIn {
				t.Errorf("logged in after the request: %v, want %v", state.Authenticated, tc.loggedIn)
			}
		})
	}
}

// TestAPIValidateLogoutAllEndsNoSession: a logout-all the validator
// refuses ends no session, neither the current one nor the others.
// encoding/json alone would read {"INCLUDECURRENT":true} as
// includeCurrent and end them all.
func TestAPIValidateLogoutAllEndsNoSession(t *testing.T) {
	t.Parallel()
	spec, srv := newAPIServer(t)
	a, b := newAPIClient(t, spec, srv), newAPIClient(t, spec, srv)
	a.logIn(t)
	b.logIn(t)
	for _, body := range []string{`{"INCLUDECURRENT":true}`, `{"includeCurrent":true,"INCLUDECURRENT":true}`, `{"includeCurrent":1}`} {
		wantProblem(t, a.send(http.MethodPost, "/auth/logout-all", body), http.StatusBadRequest)
	}
	wantStatus(t, "GET /me on the current client", a.send(http.MethodGet, "/me", ""), http.StatusOK)
	wantStatus(t, "GET /me on the other client", b.send(http.MethodGet, "/me", ""), http.StatusOK)
}
