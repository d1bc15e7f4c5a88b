package app_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hexchi/starter/internal/apptest"
)

// The answers of the API, as a client reads them.
type (
	userJSON  struct{ ID, Name string }
	loginJSON struct {
		User    userJSON
		Session struct {
			Authenticated bool
			ExpiresAt     time.Time
		}
	}
	sessionStateJSON struct {
		Authenticated bool
		User          *userJSON
		ExpiresAt     *time.Time
	}
	meJSON struct {
		ID, Name string
		AuthAt   time.Time
		Theme    string
	}
)

// sessionLifetime is the lifetime of a logged-in session in config/test
// (config/config.yaml's).
const sessionLifetime = 6 * time.Hour

// newAPIServer loads the spec and starts the app.
func newAPIServer(t *testing.T) (*apiSpec, *apptest.Server) {
	t.Helper()
	return loadSpec(t), apptest.Start(t, nil)
}

// wantStatus fails the test unless res has the status.
func wantStatus(t *testing.T, what string, res apptest.Response, status int) {
	t.Helper()
	if res.Status != status {
		t.Errorf("%s = %d, want %d; body %s", what, res.Status, status, res.Body)
	}
}

func TestAPILoginLogout(t *testing.T) {
	t.Parallel()
	spec, srv := newAPIServer(t)
	c := newAPIClient(t, spec, srv)

	before := time.Now()
	login := decodeAs[loginJSON](t, c.logIn(t))
	if login.User != (userJSON{ID: demoUser, Name: demoUser}) || !login.Session.Authenticated {
		t.Errorf("login = %+v, want the demo user, authenticated", login)
	}
	me := decodeAs[meJSON](t, c.send(http.MethodGet, "/me", ""))
	if me.ID != demoUser || me.AuthAt.Before(before.Truncate(time.Second)) || me.AuthAt.After(time.Now()) || me.Theme != "" {
		t.Errorf("GET /me = %+v, want the demo user, logged in just now, no theme", me)
	}
	saved := c.Cookie(cookieName)

	res := c.send(http.MethodPost, "/auth/logout", "")
	wantStatus(t, "logout", res, http.StatusNoContent)
	wantCookieCleared(t, res)
	if c.Cookie(cookieName) != "" {
		t.Error("the client still has the cookie after logout")
	}
	wantProblem(t, c.send(http.MethodGet, "/me", ""), http.StatusUnauthorized)
	wantStatus(t, "logout again", c.send(http.MethodPost, "/auth/logout", ""), http.StatusNoContent)

	// The cookie of the ended session, kept by an attacker, opens nothing,
	// and the answer tells the browser to drop it.
	replay := newAPIClient(t, spec, srv)
	replay.SetCookie(cookieName, saved)
	res = replay.send(http.MethodGet, "/me", "")
	wantProblem(t, res, http.StatusUnauthorized)
	wantCookieCleared(t, res)
	if s := decodeAs[sessionStateJSON](t, replay.send(http.MethodGet, "/auth/session", "")); s.Authenticated {
		t.Errorf("GET /auth/session with the logged-out cookie = %+v, want anonymous", s)
	}
}

// TestAPILoginCookie checks the cookie that login sets against the test
// config, and that each login moves the session to a new id.
func TestAPILoginCookie(t *testing.T) {
	t.Parallel()
	spec, srv := newAPIServer(t)
	c := newAPIClient(t, spec, srv)

	anon := c.send(http.MethodGet, "/auth/session", "")
	if s := decodeAs[sessionStateJSON](t, anon); s.Authenticated || s.User != nil || s.ExpiresAt != nil {
		t.Errorf("GET /auth/session without a session = %s, want only authenticated: false", anon.Body)
	}
	if _, err := sessionCookie(anon); err == nil {
		t.Error("GET /auth/session without a session set a cookie: it must not create one")
	}

	before := time.Now()
	res := c.logIn(t)
	after := time.Now()
	ck, err := sessionCookie(res)
	if err != nil {
		t.Fatal(err)
	}
	if ck.Name != cookieName || !ck.HttpOnly || !ck.Secure || ck.SameSite != http.SameSiteLaxMode || ck.Path != "/" {
		t.Errorf("Set-Cookie %q, want %s with HttpOnly, Secure, SameSite=Lax, Path=/", ck.String(), cookieName)
	}
	if maxAge := time.Duration(ck.MaxAge) * time.Second; maxAge < sessionLifetime-time.Minute || maxAge > sessionLifetime {
		t.Errorf("Max-Age = %v, want about %v", maxAge, sessionLifetime)
	}
	// Expires has whole seconds.
	if ck.Expires.Before(before.Add(sessionLifetime).Truncate(time.Second)) || ck.Expires.After(after.Add(sessionLifetime)) {
		t.Errorf("Expires = %v, want %v from now", ck.Expires, sessionLifetime)
	}
	if cc := res.Header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("Cache-Control = %q, want no-store", cc)
	}
	if !slices.Contains(res.Header.Values("Vary"), "Cookie") {
		t.Errorf("Vary = %q, want Cookie", res.Header.Values("Vary"))
	}
	login := decodeAs[loginJSON](t, res)
	if !login.Session.ExpiresAt.Truncate(time.Second).Equal(ck.Expires) {
		t.Errorf("the answer's expiresAt %v is not the cookie's Expires %v", login.Session.ExpiresAt, ck.Expires)
	}
	state := decodeAs[sessionStateJSON](t, c.send(http.MethodGet, "/auth/session", ""))
	if !state.Authenticated || state.User == nil || *state.User != login.User ||
		state.ExpiresAt == nil || !state.ExpiresAt.Equal(login.Session.ExpiresAt) {
		t.Errorf("GET /auth/session = %+v, want the login's user and expiry %v", state, login.Session.ExpiresAt)
	}

	// Logging in again moves the session to a new id (the fixation
	// defence): the old cookie stops working.
	first := ck.Value
	ck, err = sessionCookie(c.logIn(t))
	if err != nil {
		t.Fatal(err)
	}
	if idOf(ck.Value) == idOf(first) {
		t.Errorf("the session id %q did not change at login", idOf(first))
	}
	old := newAPIClient(t, spec, srv)
	old.SetCookie(cookieName, first)
	wantProblem(t, old.send(http.MethodGet, "/me", ""), http.StatusUnauthorized)
	wantStatus(t, "GET /me with the new cookie", c.send(http.MethodGet, "/me", ""), http.StatusOK)
}

// idOf returns the id part of a cookie value "<id>.<signature>".
func idOf(value string) string {
	id, _, _ := strings.Cut(value, ".")
	return id
}

// TestAPIForgedCookies: a cookie the server did not issue, or changed by
// one character, opens nothing and is cleared; the real one still works.
func TestAPIForgedCookies(t *testing.T) {
	t.Parallel()
	spec, srv := newAPIServer(t)
	owner := newAPIClient(t, spec, srv)
	owner.logIn(t)
	value := owner.Cookie(cookieName)
	id, sig, _ := strings.Cut(value, ".")
	handle := owner.currentHandle(t)

	tests := map[string]string{
		"a character of the signature flipped": id + "." + flip(sig, len(sig)/2),
		"a character of the id flipped":        flip(id, len(id)/2) + "." + sig,
		"no signature":                         id,
		"the session handle":                   handle,
		"garbage":                              "%%%",
	}
	for name, forged := range tests {
		t.Run(name, func(t *testing.T) {
			c := newAPIClient(t, spec, srv)
			c.SetCookie(cookieName, forged)
			res := c.send(http.MethodGet, "/me", "")
			wantProblem(t, res, http.StatusUnauthorized)
			wantCookieCleared(t, res)
		})
	}
	wantStatus(t, "GET /me with the real cookie", owner.send(http.MethodGet, "/me", ""), http.StatusOK)
}

// flip returns s with its i-th character replaced by another base64 one.
func flip(s string, i int) string {
	c := byte('A')
	if s[i] == c {
		c = 'B'
	}
	return s[:i] + string(c) + s[i+1:]
}

// TestAPILogoutAll logs the demo user in on three clients, ends the others
// from one of them, then ends all including its own.
func TestAPILogoutAll(t *testing.T) {
	t.Parallel()
	spec, srv := newAPIServer(t)
	clients := make([]*apiClient, 3)
	for i := range clients {
		clients[i] = newAPIClient(t, spec, srv)
		clients[i].logIn(t)
	}
	a, b, c := clients[0], clients[1], clients[2]

	res := a.send(http.MethodPost, "/auth/logout-all", "")
	if got := decodeAs[struct{ Ended int }](t, res); got.Ended != 2 {
		t.Errorf("logout-all ended %d sessions, want the 2 others", got.Ended)
	}
	if _, err := sessionCookie(res); err == nil {
		t.Error("logout-all without includeCurrent touched the cookie")
	}
	wantStatus(t, "GET /me on the current client", a.send(http.MethodGet, "/me", ""), http.StatusOK)
	wantProblem(t, b.send(http.MethodGet, "/me", ""), http.StatusUnauthorized)
	wantProblem(t, c.send(http.MethodGet, "/me", ""), http.StatusUnauthorized)

	b.logIn(t)
	res = a.send(http.MethodPost, "/auth/logout-all", `{"includeCurrent":true}`)
	if got := decodeAs[struct{ Ended int }](t, res); got.Ended != 2 {
		t.Errorf("logout-all with includeCurrent ended %d sessions, want 2 (the other and the current)", got.Ended)
	}
	wantCookieCleared(t, res)
	wantProblem(t, a.send(http.MethodGet, "/me", ""), http.StatusUnauthorized)
	wantProblem(t, b.send(http.MethodGet, "/me", ""), http.StatusUnauthorized)
}

// TestAPIRevoke lists the user's sessions from one client and ends
// another client's session by its handle.
func TestAPIRevoke(t *testing.T) {
	t.Parallel()
	spec, srv := newAPIServer(t)
	a, b := newAPIClient(t, spec, srv), newAPIClient(t, spec, srv)
	a.Header.Set("User-Agent", "client-a")
	b.Header.Set("User-Agent", "client-b")
	a.logIn(t)
	b.logIn(t)

	list := a.sessions(t)
	if len(list) != 2 {
		t.Fatalf("sessions = %+v, want 2", list)
	}
	var own, other sessionJSON
	for _, s := range list {
		if s.Current {
			own = s
		} else {
			other = s
		}
	}
	if own.UserAgent != "client-a" || other.UserAgent != "client-b" {
		t.Fatalf("sessions = %+v, want client-a's as the current one and client-b's", list)
	}

	res := a.send(http.MethodDelete, "/auth/sessions/"+other.Handle, "")
	wantStatus(t, "revoke the other session", res, http.StatusNoContent)
	if _, err := sessionCookie(res); err == nil {
		t.Error("revoking another session touched the current cookie")
	}
	wantProblem(t, b.send(http.MethodGet, "/me", ""), http.StatusUnauthorized)
	wantStatus(t, "GET /me on the revoking client", a.send(http.MethodGet, "/me", ""), http.StatusOK)
	if list := a.sessions(t); len(list) != 1 || !list[0].Current {
		t.Errorf("sessions after the revoke = %+v, want the current one only", list)
	}
	wantProblem(t, a.send(http.MethodDelete, "/auth/sessions/"+other.Handle, ""), http.StatusNotFound)
	wantProblem(t, a.send(http.MethodDelete, "/auth/sessions/"+unknownHandle, ""), http.StatusNotFound)

	// Revoking the current session is a logout.
	res = a.send(http.MethodDelete, "/auth/sessions/"+own.Handle, "")
	wantStatus(t, "revoke the current session", res, http.StatusNoContent)
	wantCookieCleared(t, res)
	wantProblem(t, a.send(http.MethodGet, "/me", ""), http.StatusUnauthorized)
}

// TestAPIPreferences changes the session's theme: a data change that keeps
// the session's id, and belongs to that one session.
func TestAPIPreferences(t *testing.T) {
	t.Parallel()
	spec, srv := newAPIServer(t)
	a, b := newAPIClient(t, spec, srv), newAPIClient(t, spec, srv)
	a.logIn(t)
	b.logIn(t)

	for _, theme := range []string{"dark", "light"} {
		res := a.send(http.MethodPut, "/me/preferences", `{"theme":"`+theme+`"}`)
		if got := decodeAs[struct{ Theme string }](t, res); got.Theme != theme {
			t.Errorf("PUT theme %s answered %s", theme, res.Body)
		}
		if _, err := sessionCookie(res); err == nil {
			t.Error("a data change set a new cookie: it must patch the session in place")
		}
		if me := decodeAs[meJSON](t, a.send(http.MethodGet, "/me", "")); me.Theme != theme {
			t.Errorf("GET /me theme = %q, want %q", me.Theme, theme)
		}
	}
	if me := decodeAs[meJSON](t, b.send(http.MethodGet, "/me", "")); me.Theme != "" {
		t.Errorf("the other session's theme = %q, want none: preferences are per session", me.Theme)
	}
}
