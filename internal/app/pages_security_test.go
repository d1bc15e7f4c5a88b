package app_test

import (
	"bytes"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/hexchi/starter/internal/apptest"
	"github.com/hexchi/starter/internal/blackhole"
)

func TestPageHeaders(t *testing.T) {
	srv := apptest.Start(t, nil)
	anonymous := apptest.NewClient(t, srv.URL)
	user := logInWithForm(t, srv, "")
	want := map[string]string{
		"Content-Security-Policy": "default-src 'none'; style-src 'self'; img-src 'self'; " +
			"form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
		"X-Content-Type-Options": "nosniff",
		"Referrer-Policy":        "same-origin",
		"X-Frame-Options":        "DENY",
		"Content-Type":           "text/html; charset=utf-8",
		"Cache-Control":          "no-store",
	}
	tests := map[string]func() apptest.Response{
		"home":          func() apptest.Response { return anonymous.Do(http.MethodGet, "/", nil, "") },
		"account":       func() apptest.Response { return user.Do(http.MethodGet, "/account", nil, "") },
		"form redirect": func() apptest.Response { return submitForm(t, anonymous, "/login", url.Values{}) },
		"login needed":  func() apptest.Response { return anonymous.Do(http.MethodGet, "/account", nil, "") },
	}
	for name, do := range tests {
		t.Run(name, func(t *testing.T) {
			res := do()
			for k, v := range want {
				if got := res.Header.Get(k); got != v {
					t.Errorf("%s = %q, want %q", k, got, v)
				}
			}
		})
	}
}

func TestStaticFiles(t *testing.T) {
	srv := apptest.Start(t, nil)
	tests := map[string]struct {
		path         string
		wantStatus   int
		wantType     string
		wantCacheFor bool // Cache-Control lets browsers keep it
	}{
		"stylesheet":   {path: "/static/style.css", wantStatus: 200, wantType: "text/css; charset=utf-8", wantCacheFor: true},
		"missing file": {path: "/static/nope.css", wantStatus: 404},
		"no listing":   {path: "/static/", wantStatus: 404},
		"no source":    {path: "/static/static.go", wantStatus: 404},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			res := apptest.Get(t, srv.URL+tc.path, nil)
			if res.Status != tc.wantStatus {
				t.Errorf("status = %d, want %d", res.Status, tc.wantStatus)
			}
			if got := res.Header.Get("X-Content-Type-Options"); got != "nosniff" {
				t.Errorf("X-Content-Type-Options = %q, want nosniff", got)
			}
			if tc.wantType != "" && res.Header.Get("Content-Type") != tc.wantType {
				t.Errorf("Content-Type = %q, want %q", res.Header.Get("Content-Type"), tc.wantType)
			}
			if cached := strings.Contains(res.Header.Get("Cache-Control"), "max-age="); cached != tc.wantCacheFor {
				t.Errorf("Cache-Control = %q, want max-age = %v", res.Header.Get("Cache-Control"), tc.wantCacheFor)
			}
			// Assets need no session, so they cost no store round trip.
			if res.Header.Get("Vary") != "" || len(res.Header.Values("Set-Cookie")) > 0 {
				t.Errorf("Vary %q, Set-Cookie %q: static files went through the session middleware",
					res.Header.Get("Vary"), res.Header.Values("Set-Cookie"))
			}
		})
	}
}

// A form posted from another site is refused before it does anything
// (CSRF), whatever the cookie; the same form from this origin passes.
func TestCrossOriginFormPost(t *testing.T) {
	srv := apptest.Start(t, nil)
	tests := map[string]struct {
		origin, fetchSite string
		wantStatus        int
	}{
		"another site": {origin: "https://evil.example", fetchSite: "cross-site", wantStatus: http.StatusForbidden},
		"this origin":  {origin: srv.URL, fetchSite: "same-origin", wantStatus: http.StatusSeeOther},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			c := logInWithForm(t, srv, "")
			c.Header.Set("Origin", tc.origin)
			c.Header.Set("Sec-Fetch-Site", tc.fetchSite)
			for _, path := range []string{"/login", "/logout", "/logout-all", "/account/theme"} {
				res := submitForm(t, c, path, url.Values{"theme": {"dark"}})
				if res.Status != tc.wantStatus {
					t.Errorf("POST %s = %d, want %d", path, res.Status, tc.wantStatus)
				}
				if tc.wantStatus == http.StatusForbidden {
					if p := errorPageOf(t, res); !strings.Contains(p.Sentence, "came from another site") {
						t.Errorf("POST %s from another site: page says %q", path, p.Sentence)
					}
				}
			}
			if tc.wantStatus != http.StatusForbidden {
				return
			}
			// The refused posts changed nothing: still logged in, theme unchanged.
			c.Header.Del("Origin")
			c.Header.Del("Sec-Fetch-Site")
			wantPage(t, c.Do(http.MethodGet, "/account", nil, ""), http.StatusOK, []string{`data-theme="light"`}, nil)
		})
	}
}

// Whatever a user controls is escaped where the pages show it: the username
// (a real directory takes it from sign-up) and the User-Agent.
func TestPagesEscapeWhatUsersControl(t *testing.T) {
	const (
		name     = `<script>alert("name")</script>`
		agent    = `<script>alert("agent")</script>`
		password = "correct horse"
	)
	hash, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("CORE_AUTH_USERS", name+":"+string(hash))
	srv := apptest.Start(t, nil)
	c := apptest.NewClient(t, srv.URL)
	c.Header.Set("User-Agent", agent)
	wantSeeOther(t, submitForm(t, c, "/login", url.Values{"username": {name}, "password": {password}}), "/account")

	for _, path := range []string{"/", "/account"} {
		res := c.Do(http.MethodGet, path, nil, "")
		wantPage(t, res, http.StatusOK, []string{"&lt;script&gt;alert(&#34;name&#34;)&lt;/script&gt;"}, []string{"<script"})
		if path == "/account" && !bytes.Contains(res.Body, []byte("&lt;script&gt;alert(&#34;agent&#34;)&lt;/script&gt;")) {
			t.Errorf("the account page does not show the escaped User-Agent:\n%s", res.Body)
		}
	}
}

// With the session store down, what needs no session still works and what
// does is answered by respondError: 503 with Retry-After, not a page.
func TestPagesWithStoreDown(t *testing.T) {
	t.Setenv("CORE_AUTH_SESSION_STORE", "redis")
	t.Setenv("CORE_REDIS_ADDRS", blackhole.Listen(t))
	t.Setenv("CORE_REDIS_READ_TIMEOUT", "100ms")
	t.Setenv("CORE_REDIS_WRITE_TIMEOUT", "100ms")
	srv := apptest.Start(t, nil)
	c := apptest.NewClient(t, srv.URL)

	// Anonymous browsing loads no session.
	wantPage(t, c.Do(http.MethodGet, "/", nil, ""), http.StatusOK, []string{loginForm}, nil)

	start := time.Now()
	res := submitForm(t, c, "/login", url.Values{"username": {pagesUser}, "password": {pagesPassword}})
	if elapsed := time.Since(start); elapsed > 3*time.Second {
		t.Errorf("login took %v with the store down", elapsed)
	}
	if p := errorPageOf(t, res); res.Status != http.StatusServiceUnavailable || p.Status != http.StatusServiceUnavailable {
		t.Errorf("login with the store down = %d %+v, want a 503 page", res.Status, p)
	}
	if res.Header.Get("Retry-After") == "" || res.Header.Get("Location") != "" || c.Cookie("SID") != "" {
		t.Errorf("Retry-After %q, Location %q, cookie %q: want Retry-After and neither redirect nor cookie",
			res.Header.Get("Retry-After"), res.Header.Get("Location"), c.Cookie("SID"))
	}
}

// A form body that no form of these pages sends is refused before a
// handler reads a field.
func TestFormBodies(t *testing.T) {
	srv := apptest.Start(t, nil)
	tests := map[string]struct {
		body       string
		wantStatus int
	}{
		"over the limit": {body: "username=demo&password=" + strings.Repeat("x", 8<<10), wantStatus: http.StatusRequestEntityTooLarge},
		"malformed":      {body: "username=%zz&password=x", wantStatus: http.StatusBadRequest},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			c := apptest.NewClient(t, srv.URL)
			res := c.Do(http.MethodPost, "/login", []byte(tc.body), formContentType)
			if p := errorPageOf(t, res); res.Status != tc.wantStatus || p.Status != tc.wantStatus {
				t.Errorf("got %d %+v, want a %d page", res.Status, p, tc.wantStatus)
			}
		})
	}
}
