package tests

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/hexchi/starter/internal/apptest"
)

const (
	// browserBudget bounds the whole browser test, start included: the
	// browser lives as long as the context of its first action.
	browserBudget = 30 * time.Second
	// stepTimeout bounds one step, so that a page that never comes fails
	// that step by name rather than using up the budget.
	stepTimeout = 5 * time.Second
)

// TestBrowserLogoutEverywhere logs in from two browsers with separate cookie
// jars, logs out everywhere from one, and checks that both end on the login
// form. It is what no HTTP client test shows: that a real browser stores and
// sends the session cookie, follows the 303s, submits the forms under the
// pages' Content-Security-Policy and passes the cross-origin protection.
func TestBrowserLogoutEverywhere(t *testing.T) {
	chrome := findBrowser(t)
	// The test config sends the cookie Secure, as production does. Chrome
	// treats http://127.0.0.1 as a secure context and keeps Secure cookies
	// from it, so the test runs with production's cookie attributes.
	srv := apptest.Start(t, nil)

	// Cleanups run last in, first out: the tabs close, then the browser,
	// and the allocator waits for its process to exit.
	ctx, cancel := context.WithTimeout(t.Context(), browserBudget)
	t.Cleanup(cancel)
	alloc, cancel := chromedp.NewExecAllocator(ctx, append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chrome),
		// CI runs as root, where Chrome's sandbox cannot start.
		chromedp.NoSandbox,
	)...)
	t.Cleanup(cancel)
	browser, cancel := chromedp.NewContext(alloc)
	t.Cleanup(cancel)
	if err := chromedp.Do(browser); err != nil { // starts the browser
		t.Fatalf("start %s: %v", chrome, err)
	}

	// Each tab has a browser context of its own: an incognito-like profile
	// with its own cookie jar, as a second device would have.
	a, b := newTab(browser, t, "A"), newTab(browser, t, "B")
	for _, tab := range []*browserTab{a, b} {
		tab.open(srv.URL + "/")
		tab.logIn("demo", "hexchi-demo")
		tab.wantPath("/account")
		tab.wantText("header", "Logged in as demo")
		tab.wantText("tr.current", "this device")
	}

	a.follow("log out everywhere", chromedp.Click(chromedp.CSS(`form[action="/logout-all"] button`)))
	a.wantPath("/")
	a.wantText(".flash", "You have been logged out everywhere")
	a.wantText("header", "Not logged in")
	a.wantText("form.login", "Log in")

	// B's session is gone: reloading its account page lands on the login
	// form.
	b.follow("reload", chromedp.Reload())
	b.wantPath("/")
	b.wantText(".flash", "Please log in.")
	b.wantText("form.login", "Log in")
}

// findBrowser returns the path of a Chromium or Chrome. Without one the test
// skips with a message that says how to get one, except under CI=true, where
// a skipped browser test would be a false pass.
func findBrowser(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if path, err := exec.LookPath(name); err == nil {
			return path
		}
	}
	const msg = "no chromium, chromium-browser or google-chrome on PATH: " +
		"install one (apt-get install chromium) to run the browser test"
	if os.Getenv("CI") == "true" {
		t.Fatalf("CI=true, and %s", msg)
	}
	t.Skip(msg)
	return ""
}

// browserTab is one browser tab in a browser context of its own. Its methods
// fail the test, naming the tab and the step, and log the page when a step
// fails.
type browserTab struct {
	t    *testing.T
	name string
	// ctx is the chromedp context, which is how chromedp names a tab. It
	// lives as long as the test, so the tab keeps it.
	ctx context.Context
}

// newTab opens a tab in a new browser context of browser, a chromedp context
// that has run.
func newTab(browser context.Context, t *testing.T, name string) *browserTab {
	t.Helper()
	ctx, cancel := chromedp.NewContext(browser, chromedp.WithNewBrowserContext())
	t.Cleanup(cancel)
	// The first action on a context opens its tab, and the tab lives only
	// as long as the context of that action: it must be ctx itself, not a
	// step's context with a timeout.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("open tab %s: %v", name, err)
	}
	return &browserTab{t: t, name: name, ctx: ctx}
}

// do runs the actions as one step, within stepTimeout.
func (bt *browserTab) do(step string, actions ...chromedp.Action[chromedp.Void]) {
	bt.t.Helper()
	ctx, cancel := context.WithTimeout(bt.ctx, stepTimeout)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		bt.fail(step, err)
	}
}

// follow runs actions that navigate (a click on a submit button, a reload)
// and waits until the page they lead to, after any redirects, has loaded.
func (bt *browserTab) follow(step string, actions ...chromedp.Action[chromedp.Void]) {
	bt.t.Helper()
	ctx, cancel := context.WithTimeout(bt.ctx, stepTimeout)
	defer cancel()
	res, err := chromedp.RunResponse(ctx, actions...)
	if err != nil {
		bt.fail(step, err)
	}
	if res.Status != http.StatusOK {
		bt.fail(step, fmt.Errorf("status %d %s at %s", res.Status, res.StatusText, res.URL))
	}
}

func (bt *browserTab) open(url string) {
	bt.t.Helper()
	bt.follow("open "+url, chromedp.Navigate(url))
}

// logIn fills in the login form and submits it with its button.
func (bt *browserTab) logIn(username, password string) {
	bt.t.Helper()
	bt.do("fill in the login form",
		chromedp.SendKeys(chromedp.ID("username"), username),
		chromedp.SendKeys(chromedp.ID("password"), password),
	)
	bt.follow("submit the login form", chromedp.Click(chromedp.CSS(`form.login button[type="submit"]`)))
}

// wantPath fails the test unless the tab shows the page at path.
func (bt *browserTab) wantPath(path string) {
	bt.t.Helper()
	ctx, cancel := context.WithTimeout(bt.ctx, stepTimeout)
	defer cancel()
	loc, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil {
		bt.fail("read the location", err)
	}
	u, err := url.Parse(loc)
	if err != nil {
		bt.fail("parse the location", err)
	}
	if u.Path != path {
		bt.fail("location", fmt.Errorf("at %s, want %s", loc, path))
	}
}

// wantText fails the test unless the first element that matches css
// contains text.
func (bt *browserTab) wantText(css, text string) {
	bt.t.Helper()
	ctx, cancel := context.WithTimeout(bt.ctx, stepTimeout)
	defer cancel()
	got, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(css)))
	if err != nil {
		bt.fail("read "+css, err)
	}
	if !strings.Contains(got, text) {
		bt.fail("text of "+css, fmt.Errorf("%q does not contain %q", got, text))
	}
}

// fail ends the test with the tab's page in the log: the page says more
// about a failed step than the step's error does.
func (bt *browserTab) fail(step string, err error) {
	bt.t.Helper()
	ctx, cancel := context.WithTimeout(bt.ctx, time.Second)
	defer cancel()
	loc, _ := chromedp.Run(ctx, chromedp.Location())
	html, _ := chromedp.Run(ctx, chromedp.OuterHTML(chromedp.CSS("html")))
	bt.t.Fatalf("tab %s: %s: %v\nat %s:\n%s", bt.name, step, err, loc, html)
}
