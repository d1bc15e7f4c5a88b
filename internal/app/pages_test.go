package app_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/hexchi/starter/internal/apptest"
)

// The demo user of config/test.
const (
	pagesUser     = "demo"
	pagesPassword = "hexchi-demo"
)

// formContentType is what a browser sends for a form without files.
const formContentType = "application/x-www-form-urlencoded"

// submitForm posts fields to path as a browser posts a form.
func submitForm(t *testing.T, c *apptest.Client, path string, fields url.Values) apptest.Response {
	t.Helper()
	return c.Do(http.MethodPost, path, []byte(fields.Encode()), formContentType)
}

// logInWithForm returns a new client, with userAgent when it is not "",
// that has logged in through the login form.
func logInWithForm(t *testing.T, srv *apptest.Server, userAgent string) *apptest.Client {
	t.Helper()
	c := apptest.NewClient(t, srv.URL)
	if userAgent != "" {
		c.Header.Set("User-Agent", userAgent)
	}
	res := submitForm(t, c, "/login", url.Values{"username": {pagesUser}, "password": {pagesPassword}})
	wantSeeOther(t, res, "/account")
	return c
}

// wantSeeOther fails the test unless res is a 303 to location.
func wantSeeOther(t *testing.T, res apptest.Response, location string) {
	t.Helper()
	if res.Status != http.StatusSeeOther || res.Header.Get("Location") != location {
		t.Fatalf("got %d to %q, want 303 to %q; body:\n%s", res.Status, res.Header.Get("Location"), location, res.Body)
	}
}

// wantPage fails the test unless res is an HTML page with status that
// contains every one of want and none of notWant.
func wantPage(t *testing.T, res apptest.Response, status int, want, notWant []string) {
	t.Helper()
	if res.Status != status {
		t.Errorf("status = %d, want %d", res.Status, status)
	}
	if ct := res.Header.Get("Content-Type"); ct != "text/html; charset=utf-8" {
		t.Errorf("Content-Type = %q, want text/html; charset=utf-8", ct)
	}
	for _, s := range want {
		if !bytes.Contains(res.Body, []byte(s)) {
			t.Errorf("page lacks %q", s)
		}
	}
	for _, s := range notWant {
		if bytes.Contains(res.Body, []byte(s)) {
			t.Errorf("page has %q", s)
		}
	}
	if t.Failed() {
		t.Logf("page:\n%s", res.Body)
	}
}

// The markers of the two states of the home page.
const (
	loginForm      = `<form class="login" method="post" action="/login">`
	anonymousState = "Not logged in"
	loggedInState  = "Logged in as <strong>demo</strong>"
)

func TestHomePage(t *testing.T) {
	srv := apptest.Start(t, nil)
	tests := map[string]struct {
		client  func(t *testing.T) *apptest.Client
		want    []string
		notWant []string
	}{
		"anonymous": {
			client:  func(t *testing.T) *apptest.Client { return apptest.NewClient(t, srv.URL) },
			want:    []string{anonymousState, loginForm, `name="username"`, `name="password"`},
			notWant: []string{loggedInState},
		},
		"logged in": {
			client:  func(t *testing.T) *apptest.Client { return logInWithForm(t, srv, "") },
			want:    []string{loggedInState, `<a href="/account">`},
			notWant: []string{anonymousState, loginForm},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			res := tc.client(t).Do(http.MethodGet, "/", nil, "")
			wantPage(t, res, http.StatusOK, tc.want, tc.notWant)
		})
	}

	// Anonymous browsing stores nothing, so it sets no cookie.
	if res := apptest.NewClient(t, srv.URL).Do(http.MethodGet, "/", nil, ""); len(res.Header.Values("Set-Cookie")) > 0 {
		t.Errorf("anonymous GET / set %q, want no cookie", res.Header.Values("Set-Cookie"))
	}
}

func TestFormLogin(t *testing.T) {
	srv := apptest.Start(t, nil)
	tests := map[string]struct {
		username, password string
		wantLocation       string
		wantFlash          string // on the page after the redirect; "" for none
	}{
		"right password": {username: pagesUser, password: pagesPassword, wantLocation: "/account"},
		"wrong password": {
			username: pagesUser, password: "guess",
			wantLocation: "/", wantFlash: `<p class="flash flash-error" role="alert">Wrong username or password.</p>`,
		},
		"unknown user": {
			username: "nobody", password: pagesPassword,
			wantLocation: "/", wantFlash: `<p class="flash flash-error" role="alert">Wrong username or password.</p>`,
		},
		"empty password": {
			username:     pagesUser,
			wantLocation: "/", wantFlash: "Cannot log in: username and password are required.",
		},
		"username too long": {
			username: strings.Repeat("d", 65), password: pagesPassword,
			wantLocation: "/", wantFlash: "Cannot log in: username or password too long.",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			c := apptest.NewClient(t, srv.URL)
			res := submitForm(t, c, "/login", url.Values{"username": {tc.username}, "password": {tc.password}})
			wantSeeOther(t, res, tc.wantLocation)
			if tc.wantFlash == "" {
				if c.Cookie("SID") == "" {
					t.Error("no session cookie after logging in")
				}
				wantPage(t, c.Do(http.MethodGet, "/account", nil, ""), http.StatusOK,
					[]string{`<p class="flash flash-info" role="status">You are logged in as demo.</p>`}, nil)
				wantPage(t, c.Do(http.MethodGet, "/", nil, ""), http.StatusOK, []string{loggedInState}, nil)
				return
			}
			// Shown once, on the page the redirect leads to, with the
			// username typed again for the user, and gone after.
			keptName := `value="` + html.EscapeString(tc.username) + `"`
			wantPage(t, c.Do(http.MethodGet, "/", nil, ""), http.StatusOK, []string{tc.wantFlash, loginForm, keptName}, nil)
			wantPage(t, c.Do(http.MethodGet, "/", nil, ""), http.StatusOK, []string{loginForm}, []string{tc.wantFlash})
		})
	}
}

// Past the per-username limit the form answers in place, 429 with
// Retry-After, rather than redirecting.
func TestFormLoginRateLimited(t *testing.T) {
	srv := apptest.Start(t, nil)
	c := apptest.NewClient(t, srv.URL)
	wrong := url.Values{"username": {pagesUser}, "password": {"guess"}}
	const perUsername = 5 // core.auth.login.perUsername
	for range perUsername {
		wantSeeOther(t, submitForm(t, c, "/login", wrong), "/")
	}
	res := submitForm(t, c, "/login", wrong)
	wantPage(t, res, http.StatusTooManyRequests, []string{
		`<p class="flash flash-error" role="alert">Too many login attempts. Try again in `, loginForm, `value="demo"`,
	}, nil)
	// The address bar now shows /login: Enter there leads back to the form.
	wantSeeOther(t, c.Do(http.MethodGet, "/login", nil, ""), "/")
	if res.Header.Get("Retry-After") == "" {
		t.Error("429 without Retry-After")
	}
	// The right password does not get past the limit either.
	res = submitForm(t, c, "/login", url.Values{"username": {pagesUser}, "password": {pagesPassword}})
	if res.Status != http.StatusTooManyRequests {
		t.Errorf("right password while limited: status %d, want 429", res.Status)
	}
}

func TestAccountNeedsLogin(t *testing.T) {
	srv := apptest.Start(t, nil)
	tests := map[string]struct{ method, path string }{
		"account page":       {http.MethodGet, "/account"},
		"theme":              {http.MethodPost, "/account/theme"},
		"revoke":             {http.MethodPost, "/account/sessions/abcdefgh/revoke"},
		"log out everywhere": {http.MethodPost, "/logout-all"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			c := apptest.NewClient(t, srv.URL)
			res := c.Do(http.MethodGet, tc.path, nil, "")
			if tc.method == http.MethodPost {
				res = submitForm(t, c, tc.path, url.Values{"theme": {"dark"}})
			}
			wantSeeOther(t, res, "/")
			wantPage(t, c.Do(http.MethodGet, "/", nil, ""), http.StatusOK,
				[]string{`<p class="flash flash-info" role="status">Please log in.</p>`, loginForm}, nil)
		})
	}
}

// revokeAction finds the revoke forms of an account page; its first group
// is the handle.
var revokeAction = regexp.MustCompile(`action="/account/sessions/([A-Za-z0-9_-]+)/revoke"`)

// sessionHandles returns the handles on c's account page, this device's
// first.
func sessionHandles(t *testing.T, c *apptest.Client) []string {
	t.Helper()
	res := c.Do(http.MethodGet, "/account", nil, "")
	wantPage(t, res, http.StatusOK, nil, nil)
	var handles []string
	for _, m := range revokeAction.FindAllSubmatch(res.Body, -1) {
		handles = append(handles, string(m[1]))
	}
	return handles
}

// handleOfCookie is the store handle of a session cookie value:
// base64url(SHA-256(id)), id being the value up to its last '.'.
func handleOfCookie(cookie string) string {
	v, _ := url.PathUnescape(cookie)
	id := v[:max(strings.LastIndexByte(v, '.'), 0)]
	sum := sha256.Sum256([]byte(id))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

func TestAccountSessions(t *testing.T) {
	srv := apptest.Start(t, nil)
	laptop := logInWithForm(t, srv, "Laptop/1.0")
	phone := logInWithForm(t, srv, "Phone/2.0")

	res := laptop.Do(http.MethodGet, "/account", nil, "")
	wantPage(t, res, http.StatusOK, []string{
		"<dd>demo</dd>", `title="Laptop/1.0">Laptop 1.0</span>`, `title="Phone/2.0">Phone 2.0</span>`,
		"Session expires", ">Log out everywhere</button>", ">Log out other sessions</button>",
		"<summary>Log out</summary>", `aria-label="Log out session `,
	}, nil)
	if n := strings.Count(string(res.Body), `<span class="marker">this device</span>`); n != 1 {
		t.Errorf(`"this device" marks %d sessions, want one`, n)
	}
	// The other session has a log out form; this one a confirmation.
	handles := sessionHandles(t, laptop)
	if len(handles) != 1 {
		t.Fatalf("account page has %d revoke forms, want 1 (for the other session)", len(handles))
	}
	own, other := handleOfCookie(laptop.Cookie("SID")), handles[0]
	if !bytes.Contains(res.Body, []byte("<code>"+other[:8]+"</code>")) {
		t.Errorf("the page does not show the handle prefix %q", other[:8])
	}

	// Revoke the phone from the laptop: the phone is logged out.
	wantSeeOther(t, submitForm(t, laptop, "/account/sessions/"+other+"/revoke", nil), "/account")
	wantPage(t, laptop.Do(http.MethodGet, "/account", nil, ""), http.StatusOK,
		[]string{"Session " + other[:8] + " has been logged out."}, []string{"Phone/2.0"})
	wantSeeOther(t, phone.Do(http.MethodGet, "/account", nil, ""), "/")

	// Revoking it again, or any handle that is not the user's, changes nothing.
	wantSeeOther(t, submitForm(t, laptop, "/account/sessions/"+other+"/revoke", nil), "/account")
	wantPage(t, laptop.Do(http.MethodGet, "/account", nil, ""), http.StatusOK,
		[]string{`<p class="flash flash-error" role="alert">That session has already ended.</p>`}, nil)

	// Revoking this device logs out.
	wantSeeOther(t, submitForm(t, laptop, "/account/sessions/"+own+"/revoke", nil), "/")
	wantPage(t, laptop.Do(http.MethodGet, "/", nil, ""), http.StatusOK,
		[]string{"You have been logged out.", loginForm}, nil)
}

func TestLogout(t *testing.T) {
	srv := apptest.Start(t, nil)
	c := logInWithForm(t, srv, "")
	stolen := c.Cookie("SID")

	wantSeeOther(t, submitForm(t, c, "/logout", nil), "/")
	wantPage(t, c.Do(http.MethodGet, "/", nil, ""), http.StatusOK,
		[]string{`<p class="flash flash-info" role="status">You have been logged out.</p>`, anonymousState, loginForm}, nil)
	wantSeeOther(t, c.Do(http.MethodGet, "/account", nil, ""), "/")

	// The cookie from before the logout opens nothing any more.
	replay := apptest.NewClient(t, srv.URL)
	replay.SetCookie("SID", stolen)
	wantSeeOther(t, replay.Do(http.MethodGet, "/account", nil, ""), "/")
}

func TestLogoutEverywhere(t *testing.T) {
	tests := map[string]struct {
		fields       url.Values
		wantLocation string
		wantFlash    string
		wantLoggedIn bool // this device, afterwards
	}{
		"every session": {
			wantLocation: "/",
			wantFlash:    "You have been logged out everywhere: this session and 1 other session ended.",
		},
		"keep this device": {
			fields:       url.Values{"keep": {"on"}},
			wantLocation: "/account",
			wantFlash:    "Ended 1 other session; you stay logged in here.",
			wantLoggedIn: true,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			srv := apptest.Start(t, nil)
			here, there := logInWithForm(t, srv, ""), logInWithForm(t, srv, "")

			wantSeeOther(t, submitForm(t, here, "/logout-all", tc.fields), tc.wantLocation)
			wantPage(t, here.Do(http.MethodGet, tc.wantLocation, nil, ""), http.StatusOK, []string{tc.wantFlash}, nil)
			wantSeeOther(t, there.Do(http.MethodGet, "/account", nil, ""), "/")
			res := here.Do(http.MethodGet, "/account", nil, "")
			if loggedIn := res.Status == http.StatusOK; loggedIn != tc.wantLoggedIn {
				t.Errorf("GET /account here = %d, want logged in = %v", res.Status, tc.wantLoggedIn)
			}
		})
	}
}

func TestTheme(t *testing.T) {
	srv := apptest.Start(t, nil)
	c := logInWithForm(t, srv, "")
	wantPage(t, c.Do(http.MethodGet, "/", nil, ""), http.StatusOK, []string{`data-theme="light"`}, nil)

	wantSeeOther(t, submitForm(t, c, "/account/theme", url.Values{"theme": {"dark"}}), "/account")
	wantPage(t, c.Do(http.MethodGet, "/account", nil, ""), http.StatusOK, []string{
		`data-theme="dark"`, "Theme set to dark.", `<input type="radio" name="theme" value="dark" checked>`,
	}, nil)
	// It is the session's, so every later page has it.
	wantPage(t, c.Do(http.MethodGet, "/", nil, ""), http.StatusOK, []string{`data-theme="dark"`}, nil)

	res := submitForm(t, c, "/account/theme", url.Values{"theme": {"neon"}})
	if p := errorPageOf(t, res); res.Status != http.StatusBadRequest || p.Sentence != "theme must be one of light, dark" {
		t.Errorf("unknown theme: %d %+v, want a 400 page", res.Status, p)
	}
}

// TestRememberMeCheckbox: the login form offers "remember me", ticked as
// core.auth.session.cookie.persistent says, and the cookie follows it.
func TestRememberMeCheckbox(t *testing.T) {
	srv := apptest.Start(t, nil)
	wantPage(t, apptest.NewClient(t, srv.URL).Do(http.MethodGet, "/", nil, ""), http.StatusOK,
		[]string{`<input name="remember" type="checkbox" value="on" checked>`}, nil)
	tests := map[string]struct {
		fields     url.Values
		persistent bool
	}{
		"ticked":   {url.Values{"username": {pagesUser}, "password": {pagesPassword}, "remember": {"on"}}, true},
		"unticked": {url.Values{"username": {pagesUser}, "password": {pagesPassword}}, false},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			res := submitForm(t, apptest.NewClient(t, srv.URL), "/login", tc.fields)
			var sid *http.Cookie
			for _, ck := range (&http.Response{Header: res.Header}).Cookies() {
				if ck.Name == "SID" {
					sid = ck
				}
			}
			if sid == nil || (sid.MaxAge > 0) != tc.persistent {
				t.Errorf("login with remember %s: cookie %v, want persistent %v", name, sid, tc.persistent)
			}
		})
	}
}

// TestConfirmBeforeEndingOtherSessions: past core.auth.recentAuth, ending
// another session (revoke, log out everywhere) asks for the password, so a
// stolen session cannot log its owner out everywhere.
func TestConfirmBeforeEndingOtherSessions(t *testing.T) {
	t.Setenv("CORE_AUTH_RECENT_AUTH", "1ns") // every login is old by its next request
	srv := apptest.Start(t, nil)
	here, there := logInWithForm(t, srv, ""), logInWithForm(t, srv, "")
	wantPage(t, here.Do(http.MethodGet, "/account", nil, ""), http.StatusOK,
		[]string{`<label for="logout-all-password">`, `aria-label="Your password, to log out session`}, nil)

	tries := []struct {
		fields url.Values
		flash  string
	}{
		{nil, "Confirm with your password"},
		{url.Values{"password": {"wrong"}}, "Wrong password: no session was logged out."},
	}
	for _, try := range tries {
		wantSeeOther(t, submitForm(t, here, "/logout-all", try.fields), "/account")
		wantPage(t, here.Do(http.MethodGet, "/account", nil, ""), http.StatusOK, []string{try.flash}, nil)
		if res := there.Do(http.MethodGet, "/account", nil, ""); res.Status != http.StatusOK {
			t.Fatalf("log out everywhere without the right password ended the other session: %d", res.Status)
		}
	}
	wantSeeOther(t, submitForm(t, here, "/logout-all", url.Values{"password": {pagesPassword}, "keep": {"on"}}), "/account")
	wantSeeOther(t, there.Do(http.MethodGet, "/account", nil, ""), "/")
	if res := here.Do(http.MethodGet, "/account", nil, ""); res.Status != http.StatusOK {
		t.Errorf("the confirmed session was logged out too: %d", res.Status)
	}
}

// TestLoginHint: the dev config names the demo user under the form.
func TestLoginHint(t *testing.T) {
	t.Setenv("CORE_AUTH_LOGIN_HINT", "Demo user: demo, password hexchi-demo.")
	srv := apptest.Start(t, nil)
	wantPage(t, apptest.NewClient(t, srv.URL).Do(http.MethodGet, "/", nil, ""), http.StatusOK,
		[]string{`<p class="hint">Demo user: demo, password hexchi-demo.</p>`}, nil)
}

// TestAccountShowsTimeLeft: the expiry is also said in words.
func TestAccountShowsTimeLeft(t *testing.T) {
	srv := apptest.Start(t, nil)
	c := logInWithForm(t, srv, "")
	res := c.Do(http.MethodGet, "/account", nil, "")
	if !regexp.MustCompile(`<span class="muted">\(in (5 h 59|6 h 0) min\)</span>`).Match(res.Body) {
		t.Errorf("the account page does not say the time left:\n%s", res.Body)
	}
}
