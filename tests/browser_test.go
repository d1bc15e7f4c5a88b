package tests

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/accessibility"
	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

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

// viewports are the screens the pages must fit: a laptop, and phones
// (390x844 is a common one, 360 the narrowest in wide use), where the
// sessions list turns into cards.
var viewports = []struct {
	name          string
	width, height int64
}{
	{"desktop", 1280, 900},
	{"phone", 390, 844},
	{"small-phone", 360, 740},
}

// TestBrowser drives the pages in headless Chromium, at each viewport, as
// a user would: it logs in with the keyboard alone, from two browsers with
// cookie jars of their own, ends the other session and then every session,
// and opens the error pages a browser can meet. On every page it checks that
// nothing scrolls sideways and that every button has a name of its own, as
// the browser's accessibility tree gives it to a screen reader. It is what
// no HTTP client test shows: that a real browser stores and sends the
// session cookie, follows the 303s, submits the forms under the pages'
// Content-Security-Policy and lays the pages out.
//
// Screenshots of every page land in the folder the test logs (-v), for a
// person to look at; TEST_SCREENSHOTS picks the folder.
func TestBrowser(t *testing.T) {
	chrome := findBrowser(t)
	shots := screenshotDir(t)
	for _, vp := range viewports {
		t.Run(vp.name, func(t *testing.T) {
			// A server of its own: the login limits of one viewport's
			// wrong passwords must not reach the other's.
			srv := apptest.Start(t, nil)
			browser := startBrowser(t, chrome)
			a, b := newTab(browser, t, "A"), newTab(browser, t, "B")
			for _, tab := range []*browserTab{a, b} {
				tab.shots, tab.prefix = shots, vp.name+"-"+tab.name
				tab.do("set the viewport", chromedp.EmulateViewport(vp.width, vp.height))
			}

			a.open(srv.URL + "/")
			a.check("home")
			a.logInWithKeyboard("demo", "hexchi-demo")
			a.wantPath("/account")
			a.wantText(".flash", "You are logged in as demo.")
			a.wantText("tr.current", "this device")

			b.open(srv.URL + "/")
			b.logIn("demo", "hexchi-demo")
			b.wantPath("/account")
			a.follow("reload the account page", chromedp.Reload())
			a.wantCount("table.sessions tbody tr", 2)
			a.check("account with two sessions")

			// B ends A's session and stays.
			b.follow("log out other sessions", chromedp.Click(chromedp.CSS(`form.logout-all button[name="keep"]`)))
			b.wantPath("/account")
			b.wantText(".flash", "Ended 1 other session")
			b.check("account after logging out the other sessions")
			a.follow("reload after being logged out", chromedp.Reload())
			a.wantPath("/")
			a.wantText(".flash", "Please log in.")

			// A logs in again and ends everything, B included.
			a.logIn("demo", "hexchi-demo")
			a.follow("log out everywhere", chromedp.Click(chromedp.CSS(`form.logout-all button:not([name])`)))
			a.wantPath("/")
			a.wantText(".flash", "You have been logged out everywhere")
			a.wantText("header", "Not logged in")
			b.follow("reload after log out everywhere", chromedp.Reload())
			b.wantPath("/")
			b.wantText("form.login", "Log in")

			// The current session's own "Log out" asks first.
			a.logIn("demo", "hexchi-demo")
			a.do("open the confirmation", chromedp.Click(chromedp.CSS("tr.current summary")))
			a.check("account asking to confirm the log out")
			a.follow("confirm the log out", chromedp.Click(chromedp.CSS("tr.current details button")))
			a.wantPath("/")
			a.wantText(".flash", "You have been logged out.")

			a.errorPages(srv.URL)
		})
	}
}

// errorPages opens what makes each error page a browser can meet, and
// checks it is a page of the site that says what happened and offers a way
// back.
func (bt *browserTab) errorPages(base string) {
	bt.t.Helper()
	bt.openStatus("an unknown address", base+"/no/such/page", http.StatusNotFound)
	bt.wantErrorPage("not found", "There is no page at this address.")
	bt.openStatus("GET of the log out button's target", base+"/logout", http.StatusMethodNotAllowed)
	bt.wantErrorPage("method not allowed", "the target of a form or a button")

	// A form on another site (localhost is another site than 127.0.0.1)
	// that posts to this one: refused, and said so as a page.
	evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, `<!doctype html><form method="post" action="%s/logout"><button>Win a prize</button></form>`, base)
	}))
	bt.t.Cleanup(evil.Close)
	evilURL := strings.Replace(evil.URL, "127.0.0.1", "localhost", 1)
	bt.open(evilURL)
	bt.followStatus("post a form from another site", http.StatusForbidden, chromedp.Click(chromedp.CSS("button")))
	bt.wantErrorPage("cross-origin", "came from another site")

	// Past the login limit the form answers 429 in place, the message where
	// every message goes, and Enter in the address bar (now /login) leads
	// back to the form.
	bt.open(base + "/")
	for range 5 {
		bt.logIn("nobody", "wrong")
		bt.wantText(".flash", "Wrong username or password.")
	}
	bt.do("fill in the login form", chromedp.SendKeys(chromedp.ID("password"), "wrong"))
	bt.followStatus("a login past the limit", http.StatusTooManyRequests, chromedp.Click(chromedp.CSS(`form.login button[type="submit"]`)))
	bt.wantText("main > .flash", "Too many login attempts")
	bt.check("too many attempts")
	bt.open(base + "/login")
	bt.wantPath("/")
}

// wantErrorPage checks an error page: the sentence, a request id to quote,
// a way back, the site's layout; then checks it like any page.
func (bt *browserTab) wantErrorPage(name, sentence string) {
	bt.t.Helper()
	bt.wantText("main .lead", sentence)
	bt.wantText("main .muted", "request id")
	bt.wantText("main a", "Back to")
	bt.wantText("header .brand", "hexchi")
	bt.check("error " + name)
}

// startBrowser starts a headless Chromium for the test.
func startBrowser(t *testing.T, chrome string) context.Context {
	t.Helper()
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
	return browser
}

// screenshotDir returns the folder for the screenshots, and says where it
// is in the log.
func screenshotDir(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("TEST_SCREENSHOTS")
	if dir == "" {
		dir = filepath.Join(os.TempDir(), "hexchi-screenshots", time.Now().Format("20060102-150405"))
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatalf("screenshot folder: %v", err)
	}
	t.Logf("screenshots in %s", dir)
	return dir
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
	unavailable(t, "%s", msg)
	return ""
}

// browserTab is one browser tab in a browser context of its own. Its methods
// fail the test, naming the tab and the step, and log the page when a step
// fails.
type browserTab struct {
	t    *testing.T
	name string
	// shots is the screenshot folder, prefix the start of their names.
	shots, prefix string
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
// and waits until the page they lead to, after any redirects, has loaded
// with 200.
func (bt *browserTab) follow(step string, actions ...chromedp.Action[chromedp.Void]) {
	bt.t.Helper()
	bt.followStatus(step, http.StatusOK, actions...)
}

// followStatus is follow for a page that answers status.
func (bt *browserTab) followStatus(step string, status int, actions ...chromedp.Action[chromedp.Void]) {
	bt.t.Helper()
	ctx, cancel := context.WithTimeout(bt.ctx, stepTimeout)
	defer cancel()
	res, err := chromedp.RunResponse(ctx, actions...)
	if err != nil {
		bt.fail(step, err)
	}
	if int(res.Status) != status {
		bt.fail(step, fmt.Errorf("status %d %s at %s, want %d", res.Status, res.StatusText, res.URL, status))
	}
}

func (bt *browserTab) open(url string) {
	bt.t.Helper()
	bt.follow("open "+url, chromedp.Navigate(url))
}

// openStatus opens url, which answers status.
func (bt *browserTab) openStatus(what, url string, status int) {
	bt.t.Helper()
	bt.followStatus("open "+what, status, chromedp.Navigate(url))
}

// logInWithKeyboard logs in with the keyboard alone: Tab from the top of
// the page to the username field, type, Tab to the password, type, Enter.
func (bt *browserTab) logInWithKeyboard(username, password string) {
	bt.t.Helper()
	focused := func() string {
		bt.t.Helper()
		ctx, cancel := context.WithTimeout(bt.ctx, stepTimeout)
		defer cancel()
		id, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.activeElement.id || document.activeElement.className || document.activeElement.tagName`))
		if err != nil {
			bt.fail("read the focused element", err)
		}
		return id
	}
	bt.do("Tab to the skip link", chromedp.KeyEvent(kb.Tab))
	if got := focused(); got != "skip" {
		bt.fail("the first Tab", fmt.Errorf("focused %q, want the skip link first", got))
	}
	for range 5 {
		if focused() == "username" {
			break
		}
		bt.do("Tab", chromedp.KeyEvent(kb.Tab))
	}
	if got := focused(); got != "username" {
		bt.fail("Tab to the login form", fmt.Errorf("focused %q, want the username field within 6 Tabs", got))
	}
	bt.do("type the username, Tab, the password", chromedp.KeyEvent(username), chromedp.KeyEvent(kb.Tab), chromedp.KeyEvent(password))
	if got := focused(); got != "password" {
		bt.fail("Tab to the password", fmt.Errorf("focused %q", got))
	}
	bt.follow("press Enter", chromedp.KeyEvent(kb.Enter))
}

// wantCount fails the test unless css matches n elements.
func (bt *browserTab) wantCount(css string, n int) {
	bt.t.Helper()
	ctx, cancel := context.WithTimeout(bt.ctx, stepTimeout)
	defer cancel()
	got, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll(`+strconv.Quote(css)+`).length`))
	if err != nil {
		bt.fail("count "+css, err)
	}
	if got != n {
		bt.fail("count "+css, fmt.Errorf("%d, want %d", got, n))
	}
}

// check checks the page as every page must be, and takes its screenshot:
// nothing scrolls sideways, and every button the accessibility tree shows
// has a name, and no two the same, so that a screen reader user knows which
// session a button ends.
func (bt *browserTab) check(page string) {
	bt.t.Helper()
	ctx, cancel := context.WithTimeout(bt.ctx, stepTimeout)
	defer cancel()
	overflow, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.documentElement.scrollWidth - document.documentElement.clientWidth`))
	if err != nil {
		bt.fail("measure "+page, err)
	}
	if overflow > 0 {
		bt.fail("width of "+page, fmt.Errorf("the page is %d px wider than the viewport: it scrolls sideways", overflow))
	}
	names, err := chromedp.Run(ctx, buttonNames())
	if err != nil {
		bt.fail("accessibility tree of "+page, err)
	}
	seen := map[string]bool{}
	for _, name := range names {
		switch {
		case strings.TrimSpace(name) == "":
			bt.fail("buttons of "+page, fmt.Errorf("a button has no accessible name (all: %q)", names))
		case seen[name]:
			bt.fail("buttons of "+page, fmt.Errorf("two buttons are named %q (all: %q)", name, names))
		}
		seen[name] = true
	}
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100)) // 100: PNG
	if err != nil {
		bt.fail("screenshot of "+page, err)
	}
	file := filepath.Join(bt.shots, bt.prefix+"-"+strings.ReplaceAll(page, " ", "-")+".png")
	if err := os.WriteFile(file, png, 0o644); err != nil {
		bt.t.Errorf("write %s: %v", file, err)
	}
}

// buttonNames returns the accessible names of the buttons of the page,
// from Chromium's accessibility tree (what a screen reader is given).
func buttonNames() chromedp.Action[[]string] {
	return func(ctx context.Context, t *chromedp.Target) ([]string, error) {
		tree, err := cdp.Call(ctx, t, accessibility.GetFullAXTree, accessibility.GetFullAXTreeParams{})
		if err != nil {
			return nil, err
		}
		var names []string
		for _, n := range tree.Nodes {
			if n.Ignored || n.Role == nil || axString(n.Role) != "button" {
				continue
			}
			name := ""
			if n.Name != nil {
				name = axString(n.Name)
			}
			names = append(names, name)
		}
		if len(tree.Nodes) == 0 {
			return nil, errors.New("an empty accessibility tree (is the page loaded?)")
		}
		return names, nil
	}
}

// axString is an accessibility value as a string.
func axString(v *accessibility.Value) string {
	var s string
	_ = json.Unmarshal(v.Value, &s)
	return s
}

// logIn fills in the login form and submits it with its button.
func (bt *browserTab) logIn(username, password string) {
	bt.t.Helper()
	// The page may have kept the username of a failed login: type anew.
	bt.do("fill in the login form",
		chromedp.Clear(chromedp.ID("username")),
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
