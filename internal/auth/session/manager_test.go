package session_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hexchi/starter/internal/auth/session"
)

func TestAnonymousBrowsingWritesNothing(t *testing.T) {
	e := newEnv(t, nil, nil)
	c := e.client()
	for _, path := range []string{"/anon", "/get", "/pop"} {
		r := c.do("GET", path)
		if r.status != http.StatusOK || r.sessionCookie() != nil {
			t.Errorf("GET %s: status %d, Set-Cookie %v; want 200 and no cookie", path, r.status, r.sessionCookie())
		}
		if got := r.header.Get("Vary"); got != "Cookie" {
			t.Errorf("GET %s: Vary = %q, want Cookie", path, got)
		}
	}
	if calls := e.store.total(); len(calls) != 0 {
		t.Errorf("anonymous requests called the store: %v", calls)
	}
}

func TestCreateOnFirstWrite(t *testing.T) {
	e := newEnv(t, nil, nil)
	c := e.client()
	r := c.do("POST", "/set?k=a&v=hello")
	ck := r.sessionCookie()
	if ck == nil {
		t.Fatal("first write set no cookie")
	}
	if got := r.header.Get("Cache-Control"); got != "no-store" {
		t.Errorf("Cache-Control = %q, want no-store on a response that sets the cookie", got)
	}
	if want := e.clock.Now().Add(5 * time.Minute); !ck.Expires.Equal(want) || ck.MaxAge != 300 {
		t.Errorf("cookie Expires %v MaxAge %d, want %v and 300 (initialLifetime)", ck.Expires, ck.MaxAge, want)
	}
	if calls := e.store.total(); calls["Create"] != 1 || len(calls) != 1 {
		t.Errorf("store calls = %v, want one Create", calls)
	}
	if d := c.data(); d.A != "hello" {
		t.Errorf("data = %+v, want A=hello", d)
	}
	// The store is keyed by the handle, not the id of the cookie.
	id, _, _ := strings.Cut(ck.Value, ".")
	if _, err := e.store.Store.Load(t.Context(), id, session.Touch{}); err == nil {
		t.Error("the store has a record under the raw session id")
	}
}

func TestChangeTracking(t *testing.T) {
	e := newEnv(t, nil, nil)
	c := e.client()
	c.do("POST", "/set?k=a&v=x")
	e.store.total()
	tests := []struct {
		name      string
		path      string
		wantPatch int
	}{
		{"read only", "/get", 0},
		{"same value", "/set?k=a&v=x", 0},
		{"new value", "/set?k=a&v=y", 1},
		{"nested change", "/set?k=pref&v=dark", 1},
		{"nested change again", "/set?k=pref&v=dark", 1},
		{"removed by omitempty", "/set?k=a&v=", 1},
	}
	for _, tt := range tests {
		method := "POST"
		if strings.HasPrefix(tt.path, "/get") {
			method = "GET"
		}
		r := c.do(method, tt.path)
		calls := e.store.total()
		if calls["Patch"] != tt.wantPatch || calls["Load"] != 1 || calls["Create"] != 0 {
			t.Errorf("%s: store calls %v, want 1 Load and %d Patch", tt.name, calls, tt.wantPatch)
		}
		if r.sessionCookie() != nil {
			t.Errorf("%s: an existing session's cookie was re-sent", tt.name)
		}
	}
	if d := c.data(); d.A != "" || d.Prefs["dark"] != 2 {
		t.Errorf("data = %+v, want A removed and prefs.dark=2", d)
	}
}

func TestLoginRenewsIDKeepsDataAndStartsLifetime(t *testing.T) {
	e := newEnv(t, nil, nil)
	c := e.client()
	c.do("POST", "/set?k=a&v=cart")
	before := c.cookie()
	e.clock.Advance(time.Minute)
	r := c.do("POST", "/login?user=ann")
	ck := r.sessionCookie()
	if ck == nil || ck.Value == before {
		t.Fatalf("login did not issue a new cookie (before %q, after %v)", before, ck)
	}
	if want := e.clock.Now().Add(6 * time.Hour); !ck.Expires.Equal(want) {
		t.Errorf("after login Expires = %v, want now+lifetime %v", ck.Expires, want)
	}
	if d := c.data(); d.User != "ann" || d.A != "cart" {
		t.Errorf("data after login = %+v, want user ann and the cart kept", d)
	}
	// The old id is gone: replaying it gives an anonymous session and clears it.
	old := e.client()
	old.setCookie(before)
	r = old.do("GET", "/get")
	if r.body != "{}" || r.sessionCookie() == nil || r.sessionCookie().MaxAge >= 0 {
		t.Errorf("old cookie after login: body %q, cookie %v; want anonymous and cleared", r.body, r.sessionCookie())
	}
	if r := c.do("GET", "/me"); r.status != http.StatusOK || r.body != "ann" {
		t.Errorf("GET /me = %d %q, want 200 ann", r.status, r.body)
	}
}

func TestLoginWithoutPriorSessionIsOneStoreWrite(t *testing.T) {
	e := newEnv(t, nil, nil)
	c := e.client()
	r := c.do("POST", "/login?user=bob")
	if want := e.clock.Now().Add(6 * time.Hour); r.sessionCookie() == nil || !r.sessionCookie().Expires.Equal(want) {
		t.Fatalf("login cookie %v, want Expires %v", r.sessionCookie(), want)
	}
	if calls := e.store.total(); calls["Create"] != 1 || len(calls) != 1 {
		t.Errorf("store calls = %v, want a single Create", calls)
	}
}

func TestExplicitRenew(t *testing.T) {
	e := newEnv(t, nil, nil)
	c := e.client()
	c.do("POST", "/login?user=cy")
	first := c.do("GET", "/get")
	before, expires := c.cookie(), e.clock.Now().Add(6*time.Hour)
	e.clock.Advance(time.Minute)
	r := c.do("POST", "/renew")
	if ck := r.sessionCookie(); ck == nil || ck.Value == before || !ck.Expires.Equal(expires) {
		t.Fatalf("renew cookie %v; want a new id with the same deadline %v", ck, expires)
	}
	if got := c.do("GET", "/get"); got.body != first.body {
		t.Errorf("data after renew %q, want %q", got.body, first.body)
	}
}

func TestLogout(t *testing.T) {
	e := newEnv(t, nil, nil)
	c := e.client()
	c.do("POST", "/login?user=dan")
	stolen := c.cookie()
	r := c.do("POST", "/logout")
	if ck := r.sessionCookie(); ck == nil || ck.MaxAge >= 0 || ck.Value != "" {
		t.Fatalf("logout cookie %v, want cleared", ck)
	}
	if r := c.do("GET", "/me"); r.status != http.StatusUnauthorized {
		t.Errorf("after logout GET /me = %d, want 401", r.status)
	}
	replay := e.client()
	replay.setCookie(stolen)
	r = replay.do("GET", "/me")
	if r.status != http.StatusUnauthorized || r.sessionCookie() == nil {
		t.Errorf("replayed logged-out cookie: %d, cookie %v; want 401 and cleared", r.status, r.sessionCookie())
	}
	if ct := r.header.Get("Content-Type"); ct != "application/problem+json" {
		t.Errorf("401 Content-Type = %q, want application/problem+json", ct)
	}
}

func TestLogoutWithFlashStoresNothing(t *testing.T) {
	for _, sc := range stores {
		t.Run(sc.name, func(t *testing.T) {
			clk := newClock()
			e := newEnv(t, sc.new(t, clk), clk)
			c := e.client()
			c.do("POST", "/login?user=dan")
			stolen := c.cookie()
			e.store.total()
			r := c.do("POST", "/logout-flash")
			if ck := r.sessionCookie(); ck == nil || ck.MaxAge >= 0 {
				t.Errorf("logout with a flash: session cookie %v, want it cleared", ck)
			}
			if calls := e.store.total(); calls["Create"] != 0 || calls["Patch"] != 0 {
				t.Errorf("logout with a flash made the store write %v; the flash belongs in the flash cookie", calls)
			}
			if logs := e.logs.String(); strings.Contains(logs, "level=ERROR") {
				t.Errorf("logout with a flash logged errors:\n%s", logs)
			}
			if ck := r.cookieNamed("SID_flash"); ck == nil || ck.MaxAge != 60 || !ck.HttpOnly {
				t.Errorf("flash cookie %v, want one that lives a minute, HttpOnly", ck)
			}
			if r := c.do("GET", "/pop"); !strings.Contains(r.body, "logged out") {
				t.Errorf("flash after logout = %q", r.body)
			}
			if r := c.do("GET", "/pop"); r.body != "null" {
				t.Errorf("flash shown twice: %q", r.body)
			}
			if r := c.do("GET", "/me"); r.status != http.StatusUnauthorized {
				t.Errorf("still logged in after logout: %d", r.status)
			}
			replay := e.client()
			replay.setCookie(stolen)
			if r := replay.do("GET", "/me"); r.status != http.StatusUnauthorized {
				t.Errorf("the logged-out cookie still works: %d", r.status)
			}
		})
	}
}

func TestBadCookiesCostNoStoreCall(t *testing.T) {
	e := newEnv(t, nil, nil)
	good := e.client()
	good.do("POST", "/set?k=a&v=x")
	valid := good.cookie()
	id, sig, _ := strings.Cut(valid, ".")
	e.store.total()
	tests := []struct{ name, value string }{
		{"garbage", "garbage"},
		{"unsigned id", id},
		{"forged signature", id + "." + strings.Repeat("A", 43)},
		{"tampered id", flipFirst(id) + "." + sig},
		{"oversized", valid + strings.Repeat("x", 300)},
		{"signed with an unknown secret", id + "." + hmacB64([]byte("a-secret-this-manager-does-not-have"), id)},
	}
	for _, tt := range tests {
		c := e.client()
		c.setCookie(tt.value)
		r := c.do("GET", "/me")
		if calls := e.store.total(); len(calls) != 0 {
			t.Errorf("%s: store calls %v, want none", tt.name, calls)
		}
		if r.status != http.StatusUnauthorized {
			t.Errorf("%s: status %d, want 401", tt.name, r.status)
		}
		if ck := r.sessionCookie(); ck == nil || ck.MaxAge >= 0 {
			t.Errorf("%s: cookie not cleared: %v", tt.name, ck)
		}
	}
	if strings.Contains(e.logs.String(), id) {
		t.Error("a session id appears in the log")
	}
}

func TestStaleCookieIsCleared(t *testing.T) {
	e := newEnv(t, nil, nil)
	c := e.client()
	c.do("POST", "/set?k=a&v=x")
	e.clock.Advance(5*time.Minute + time.Second) // past initialLifetime
	r := c.do("GET", "/get")
	if r.body != "{}" {
		t.Errorf("expired session still served: %q", r.body)
	}
	if ck := r.sessionCookie(); ck == nil || ck.MaxAge >= 0 {
		t.Errorf("expired session's cookie not cleared: %v", ck)
	}
}

func TestSecretRotationReissues(t *testing.T) {
	e := newEnv(t, nil, nil)
	c := e.client()
	c.do("POST", "/set?k=a&v=x")
	id, _, _ := strings.Cut(c.cookie(), ".")
	// The same id signed with the previous secret: a cookie from before the rotation.
	oldSig := hmacB64(secrets[1], id)
	c.setCookie(id + "." + oldSig)
	r := c.do("GET", "/get")
	if r.body != `{"a":"x"}` {
		t.Fatalf("cookie signed with the previous secret not accepted: %q", r.body)
	}
	ck := r.sessionCookie()
	if ck == nil || !strings.HasPrefix(ck.Value, id+".") || strings.HasSuffix(ck.Value, oldSig) {
		t.Fatalf("cookie not re-issued with the current secret: %v", ck)
	}
	if r := c.do("GET", "/get"); r.sessionCookie() != nil {
		t.Error("cookie re-issued again after it was signed with the current secret")
	}
}

func TestFailedRequestCommitsNothing(t *testing.T) {
	e := newEnv(t, nil, nil)
	c := e.client()
	c.do("POST", "/set?k=a&v=kept")
	if r := c.do("POST", "/fail"); r.status != http.StatusInternalServerError {
		t.Fatalf("POST /fail = %d", r.status)
	}
	if d := c.data(); d.A != "kept" {
		t.Errorf("a 500 response committed its change: %+v", d)
	}
	fresh := e.client()
	if r := fresh.do("POST", "/fail"); r.sessionCookie() != nil {
		t.Error("a 500 response created a session")
	}
}

func TestCommitBeforeRedirectAndFlush(t *testing.T) {
	e := newEnv(t, nil, nil)
	c := e.client()
	r := c.do("POST", "/redirect")
	if r.status != http.StatusSeeOther || r.sessionCookie() == nil {
		t.Fatalf("redirect: %d, cookie %v; want 303 with the cookie", r.status, r.sessionCookie())
	}
	if d := c.data(); d.A != "before redirect" {
		t.Errorf("data after redirect %+v", d)
	}
	f := e.client()
	if r := f.do("POST", "/flush"); r.body != "after flush" || r.sessionCookie() == nil {
		t.Fatalf("flush: body %q cookie %v; want the cookie committed before the flush", r.body, r.sessionCookie())
	}
	if d := f.data(); d.A != "flushed" {
		t.Errorf("data after flush %+v", d)
	}
}

func TestLatePatchSavesDataChangedAfterHeaders(t *testing.T) {
	e := newEnv(t, nil, nil)
	c := e.client()
	c.do("POST", "/set?k=a&v=stored") // a stored session: its flashes live in the store
	c.do("POST", "/flash?msg=saved")
	if r := c.do("GET", "/late-pop"); !strings.Contains(r.body, "saved") {
		t.Fatalf("late-pop body %q", r.body)
	}
	if r := c.do("GET", "/pop"); r.body != "null" {
		t.Errorf("flash popped after the headers came back: %q", r.body)
	}
	c.do("POST", "/late-set?k=b&v=late")
	if d := c.data(); d.B != "late" {
		t.Errorf("late data change lost: %+v", d)
	}
}

func TestCookieChangeAfterHeadersIsAnErrorNotSilent(t *testing.T) {
	e := newEnv(t, nil, nil)
	c := e.client()
	// A new session cannot be created once the body started.
	c.do("POST", "/late-set?k=a&v=x")
	if c.cookie() != "" {
		t.Fatal("cookie set after the body started")
	}
	if !strings.Contains(e.logs.String(), "response headers already written") {
		t.Errorf("lost late change not logged:\n%s", e.logs)
	}
	c.do("POST", "/login?user=eve")
	r := c.do("POST", "/late-destroy")
	if !strings.Contains(r.body, "response headers already written") {
		t.Errorf("Destroy after the headers returned no error: %q", r.body)
	}
	if r := c.do("GET", "/me"); r.status != http.StatusOK {
		t.Errorf("the session was destroyed after all: %d", r.status)
	}
}

func TestStoreUnavailable(t *testing.T) {
	e := newEnv(t, nil, nil)
	c := e.client()
	c.do("POST", "/login?user=fay")
	e.store.setFail(errDown)
	for _, tt := range []struct{ method, path string }{{"GET", "/me"}, {"POST", "/set?k=a&v=x"}} {
		r := c.do(tt.method, tt.path)
		if r.status != http.StatusServiceUnavailable || r.header.Get("Retry-After") == "" {
			t.Errorf("%s %s with the store down = %d (Retry-After %q), want 503 with Retry-After",
				tt.method, tt.path, r.status, r.header.Get("Retry-After"))
		}
		if ct := r.header.Get("Content-Type"); ct != "application/problem+json" {
			t.Errorf("%s: Content-Type %q", tt.path, ct)
		}
	}
	// A commit that fails replaces the handler's response with the 503.
	fresh := e.client()
	e.store.setFail(nil)
	e.store.Store = failingWrites{e.store.Store}
	if r := fresh.do("POST", "/redirect"); r.status != http.StatusServiceUnavailable || r.header.Get("Location") != "" {
		t.Errorf("failed commit: %d Location %q, want 503 without the redirect", r.status, r.header.Get("Location"))
	}
	e.store.Store = failingWrites{}.unwrap(e.store.Store)
	if r := c.do("GET", "/me"); r.status != http.StatusOK {
		t.Errorf("after the store came back GET /me = %d, want 200", r.status)
	}
}

// failingWrites fails Create; it models a store that went down between the
// load and the commit.
type failingWrites struct{ session.Store }

func (failingWrites) Create(context.Context, string, *session.Record, session.CreateOptions) ([]string, error) {
	return nil, errDown
}

func (failingWrites) unwrap(s session.Store) session.Store {
	if f, ok := s.(failingWrites); ok {
		return f.Store
	}
	return s
}

func TestUndecodableDataStartsFresh(t *testing.T) {
	clk := newClock()
	e := newEnv(t, nil, clk, func(o *session.Options[*testData]) {
		o.Decode = func(b []byte) (*testData, error) {
			d := &testData{}
			if err := json.Unmarshal(b, d); err != nil {
				return nil, err
			}
			if d.A == "poison" {
				return nil, errPoison
			}
			return d, nil
		}
	})
	c := e.client()
	c.do("POST", "/set?k=a&v=poison")
	e.store.total()
	r := c.do("GET", "/get")
	if r.status != http.StatusOK || r.body != "{}" {
		t.Fatalf("undecodable session: %d %q, want 200 and a fresh session", r.status, r.body)
	}
	if calls := e.store.total(); calls["Delete"] != 1 {
		t.Errorf("store calls %v, want the bad record deleted", calls)
	}
	if logs := e.logs.String(); !strings.Contains(logs, "session record rejected") || !strings.Contains(logs, "poison") {
		t.Errorf("decode error not logged with its cause:\n%s", logs)
	}
}

var errPoison = errors.New("poisoned session data")

func TestNewRejectsBadOptions(t *testing.T) {
	ok := func() session.Options[*testData] {
		return session.Options[*testData]{Store: failingWrites{}, Secrets: secrets, New: func() *testData { return &testData{} }}
	}
	tests := []struct {
		name string
		edit func(*session.Options[*testData])
		want string
	}{
		{"no store", func(o *session.Options[*testData]) { o.Store = nil }, "Store"},
		{"no New", func(o *session.Options[*testData]) { o.New = nil }, "New"},
		{"no secret", func(o *session.Options[*testData]) { o.Secrets = nil }, "Secrets"},
		{"short secret", func(o *session.Options[*testData]) { o.Secrets = [][]byte{[]byte("short")} }, "at least 32"},
		{"negative lifetime", func(o *session.Options[*testData]) { o.Lifetime = -time.Second }, "negative"},
		{"negative store timeout", func(o *session.Options[*testData]) { o.StoreTimeout = -time.Second }, "negative"},
		{"__Host- insecure", func(o *session.Options[*testData]) { o.Cookie = session.Cookie{Name: "__Host-SID", Insecure: true} }, "__Host-"},
		{"__Host- with domain", func(o *session.Options[*testData]) {
			o.Cookie = session.Cookie{Name: "__Host-SID", Domain: "example.com"}
		}, "__Host-"},
		{"__Host- with path", func(o *session.Options[*testData]) { o.Cookie = session.Cookie{Name: "__Host-SID", Path: "/app"} }, "__Host-"},
		{"__Secure- insecure", func(o *session.Options[*testData]) { o.Cookie = session.Cookie{Name: "__Secure-SID", Insecure: true} }, "__Secure-"},
		{"SameSite=None insecure", func(o *session.Options[*testData]) {
			o.Cookie = session.Cookie{SameSite: http.SameSiteNoneMode, Insecure: true}
		}, "SameSite=None"},
		{"bad name", func(o *session.Options[*testData]) { o.Cookie = session.Cookie{Name: "a b"} }, "cookie name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := ok()
			tt.edit(&o)
			_, err := session.New(o)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("New: err = %v, want one mentioning %q", err, tt.want)
			}
		})
	}
	if _, err := session.New(ok()); err != nil {
		t.Errorf("New with valid options: %v", err)
	}
}

func TestCorruptRecordStartsFresh(t *testing.T) {
	clk := newClock()
	store, _, mr := newMiniredisStore(t, clk)
	e := newEnv(t, store, clk)
	c := e.client()
	c.do("POST", "/login?user=ivy")
	keys := mr.Keys()
	var sessionKey string
	for _, k := range keys {
		if strings.HasPrefix(k, "hexchi:s:") {
			sessionKey = k
		}
	}
	if sessionKey == "" {
		t.Fatalf("no session hash among %v", keys)
	}
	mr.HDel(sessionKey, "e") // the absolute deadline is gone: unreadable
	r := c.do("GET", "/get")
	if r.status != http.StatusOK || r.body != "{}" {
		t.Fatalf("corrupt record: %d %q, want 200 and a fresh session", r.status, r.body)
	}
	if ck := r.sessionCookie(); ck == nil || ck.MaxAge >= 0 {
		t.Errorf("cookie of a corrupt session not cleared: %v", ck)
	}
	if mr.Exists(sessionKey) {
		t.Error("the corrupt record was not deleted")
	}
	if logs := e.logs.String(); !strings.Contains(logs, "session record rejected") || !strings.Contains(logs, "corrupt") {
		t.Errorf("the corrupt record was not logged as such:\n%s", logs)
	}
}

// blockingStore answers nothing until the caller's context ends, like a
// paused Redis, and records whether each call had a deadline.
type blockingStore struct {
	session.Store
	noDeadline atomic.Int64
}

func (s *blockingStore) Load(ctx context.Context, _ string, _ session.Touch) (*session.Record, error) {
	if _, ok := ctx.Deadline(); !ok {
		s.noDeadline.Add(1)
		return nil, errors.New("no deadline: this call could wait forever")
	}
	<-ctx.Done()
	return nil, ctx.Err()
}

func TestStoreTimeoutBoundsEveryCall(t *testing.T) {
	store := &blockingStore{}
	e := newEnv(t, store, nil, func(o *session.Options[*testData]) { o.StoreTimeout = 20 * time.Millisecond })
	c := e.client()
	c.setCookie(signedCookie(t))
	r := c.do("GET", "/me")
	if r.status != http.StatusServiceUnavailable {
		t.Errorf("GET /me on a store that does not answer: %d, want 503", r.status)
	}
	if n := store.noDeadline.Load(); n != 0 {
		t.Errorf("%d store calls had no deadline", n)
	}
}

// signedCookie returns a well-formed cookie for an id no store knows.
func signedCookie(t *testing.T) string {
	t.Helper()
	return signedWith(secrets[0])
}

// flipFirst returns s with its first character changed to another one of
// the base64url alphabet, so that it surely differs.
func flipFirst(s string) string {
	if s[0] == 'A' {
		return "B" + s[1:]
	}
	return "A" + s[1:]
}
