package measure

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/hexchi/starter/bench/internal/apps"
)

// browser sends in-process requests to an app and keeps the session cookie
// the way a browser does: it takes every cookie the app sets and drops one
// the app clears.
type browser struct {
	app    *apps.App
	cookie string // the session cookie's value, "" for none
}

// response is what a browser saw of one response.
type response struct {
	status  int
	body    string
	set     bool // the response set the session cookie
	cleared bool // the response told the browser to delete it
}

// clone returns a second browser holding the same cookie, as a second tab
// (or a thief) would.
func (b *browser) clone() *browser { c := *b; return &c }

// do sends one request and updates the cookie from the response.
func (b *browser) do(ctx context.Context, method, target string) (response, error) {
	req := httptest.NewRequestWithContext(ctx, method, target, nil)
	if b.cookie != "" {
		req.Header.Set("Cookie", b.app.CookieName+"="+b.cookie)
	}
	rec := httptest.NewRecorder()
	b.app.Handler.ServeHTTP(rec, req)
	res := rec.Result()
	defer res.Body.Close()
	out := response{status: res.StatusCode, body: rec.Body.String()}
	for _, c := range res.Cookies() {
		if c.Name != b.app.CookieName {
			continue
		}
		if isClearing(c) {
			out.cleared = true
			b.cookie = ""
		} else {
			out.set = true
			b.cookie = c.Value
		}
	}
	if out.status != http.StatusOK {
		return out, fmt.Errorf("%s %s: status %d: %s", method, target, out.status, out.body)
	}
	return out, nil
}

// isClearing reports whether a Set-Cookie deletes the cookie. Max-Age,
// when present, decides over Expires, as in a browser (RFC 6265 §5.3):
// Expires is sent to the second, so a live cookie of the deadline check's
// 1 s sessions can carry an Expires that has passed by the time its
// response is read.
func isClearing(c *http.Cookie) bool {
	switch {
	case c.Value == "" || c.MaxAge < 0:
		return true
	case c.MaxAge > 0:
		return false
	}
	return !c.Expires.IsZero() && c.Expires.Before(time.Now())
}

// state asks the app what the browser's cookie names.
func (b *browser) state(ctx context.Context) (apps.State, error) {
	var st apps.State
	res, err := b.clone().do(ctx, http.MethodGet, "/state")
	if err != nil {
		return st, err
	}
	if err := json.Unmarshal([]byte(res.body), &st); err != nil {
		return st, fmt.Errorf("decode /state: %w", err)
	}
	return st, nil
}

// loggedIn returns a browser logged in as user, from no cookie.
func loggedIn(ctx context.Context, app *apps.App, user string) (*browser, error) {
	b := &browser{app: app}
	if _, err := b.do(ctx, http.MethodPost, "/login?user="+user); err != nil {
		return nil, err
	}
	if b.cookie == "" {
		return nil, fmt.Errorf("%s: login set no cookie", app.Library)
	}
	return b, nil
}

// visitor returns a browser with a stored anonymous session: a visitor who
// changed something (a theme, a cart) before logging in.
func visitor(ctx context.Context, app *apps.App) (*browser, error) {
	b := &browser{app: app}
	if _, err := b.do(ctx, http.MethodPost, "/write?f=n"); err != nil {
		return nil, err
	}
	if b.cookie == "" {
		return nil, fmt.Errorf("%s: an anonymous write set no cookie", app.Library)
	}
	return b, nil
}
