package app_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/hexchi/starter/internal/apptest"
)

// apiClient is a browser of the JSON API: an apptest.Client (cookie jar, no
// redirects) whose every exchange goes through a specCheck that fails the
// test on a mismatch with the spec. API tests make their clients with
// newAPIClient only, so that no request of theirs goes unchecked.
type apiClient struct {
	*apptest.Client
	check *specCheck
}

// newAPIClient returns a checked client of the app at srv.
func newAPIClient(t *testing.T, spec *apiSpec, srv *apptest.Server) *apiClient {
	t.Helper()
	c := &apiClient{Client: apptest.NewClient(t, srv.URL)}
	c.check = &specCheck{spec: spec, report: func(err error) { t.Error(err) }}
	c.WrapTransport(func(next http.RoundTripper) http.RoundTripper {
		c.check.next = next
		return c.check
	})
	return c
}

// jsonType is the Content-Type of the API's request bodies.
const jsonType = "application/json"

// send sends a request to path under /api/v1, with body as JSON unless it
// is "".
func (c *apiClient) send(method, path, body string) apptest.Response {
	if body == "" {
		return c.Do(method, "/api/v1"+path, nil, "")
	}
	return c.Do(method, "/api/v1"+path, []byte(body), jsonType)
}

// The demo user of config/test, and the body of a login as that user.
const (
	demoUser  = "demo"
	demoLogin = `{"username":"demo","password":"hexchi-demo"}`
)

// logIn logs c in as the demo user, failing the test unless it succeeds.
func (c *apiClient) logIn(t *testing.T) apptest.Response {
	t.Helper()
	res := c.send(http.MethodPost, "/auth/login", demoLogin)
	if res.Status != http.StatusOK {
		t.Fatalf("login = %d %s, want 200", res.Status, res.Body)
	}
	return res
}

// wantProblem fails the test unless res is a problem with this status that
// carries the request id of the response.
func wantProblem(t *testing.T, res apptest.Response, status int) {
	t.Helper()
	if res.Status != status {
		t.Errorf("status = %d, want %d; body %s", res.Status, status, res.Body)
		return
	}
	p := problemOf(t, res)
	if p.Status != status || p.RequestID == "" || p.RequestID != res.Header.Get("X-Request-Id") {
		t.Errorf("problem %+v: want status %d and the request id %q", p, status, res.Header.Get("X-Request-Id"))
	}
}

// errNoCookie is what sessionCookie returns when the response sets none.
var errNoCookie = errors.New("no session cookie in the response")

// cookieName is the session cookie's name in config/test.
const cookieName = "SID"

// sessionCookie returns the session cookie that res sets.
func sessionCookie(res apptest.Response) (*http.Cookie, error) {
	for _, line := range res.Header.Values("Set-Cookie") {
		c, err := http.ParseSetCookie(line)
		if err != nil {
			return nil, fmt.Errorf("Set-Cookie %q: %w", line, err)
		}
		if c.Name == cookieName {
			return c, nil
		}
	}
	return nil, errNoCookie
}

// wantCookieCleared fails the test unless res clears the session cookie.
func wantCookieCleared(t *testing.T, res apptest.Response) {
	t.Helper()
	c, err := sessionCookie(res)
	if err != nil {
		t.Errorf("want the session cookie cleared: %v", err)
		return
	}
	if c.Value != "" || c.MaxAge >= 0 {
		t.Errorf("Set-Cookie %q does not clear the cookie", c.String())
	}
}

// sessions lists c's sessions.
func (c *apiClient) sessions(t *testing.T) []sessionJSON {
	t.Helper()
	res := c.send(http.MethodGet, "/auth/sessions", "")
	if res.Status != http.StatusOK {
		t.Fatalf("GET /auth/sessions = %d %s", res.Status, res.Body)
	}
	return decodeAs[struct{ Sessions []sessionJSON }](t, res).Sessions
}

// decodeAs decodes the JSON body of res, failing the test if it is not one.
func decodeAs[T any](t *testing.T, res apptest.Response) T {
	t.Helper()
	var v T
	if ct := res.Header.Get("Content-Type"); ct != jsonType {
		t.Fatalf("Content-Type = %q, want %s; body %s", ct, jsonType, res.Body)
	}
	if err := json.Unmarshal(res.Body, &v); err != nil {
		t.Fatalf("body %s: %v", res.Body, err)
	}
	return v
}

// sessionJSON is SessionInfo of the spec, as a client reads it.
type sessionJSON struct {
	Handle    string
	UserAgent string
	Current   bool
}

// currentHandle returns the handle of c's own session.
func (c *apiClient) currentHandle(t *testing.T) string {
	t.Helper()
	for _, s := range c.sessions(t) {
		if s.Current {
			return s.Handle
		}
	}
	t.Fatal("no current session in the list")
	return ""
}

// unknownHandle is well formed but names no session.
var unknownHandle = strings.Repeat("A", 43)
