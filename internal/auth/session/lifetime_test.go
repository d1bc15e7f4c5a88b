package session_test

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/hexchi/starter/internal/auth/session"
	"github.com/hexchi/starter/internal/auth/session/memstore"
)

// handleOf returns the store handle of the client's session, read from the
// group listing (the id itself never reaches the store).
func (c *client) handle() string {
	c.e.t.Helper()
	list, err := c.sessions()
	if err != nil {
		c.e.t.Fatal(err)
	}
	for _, s := range list {
		if s.Current {
			return s.Handle
		}
	}
	c.e.t.Fatal("no current session in the listing")
	return ""
}

func (c *client) lastSeen() time.Time {
	c.e.t.Helper()
	rec, err := c.e.store.Store.Load(c.e.t.Context(), c.handle(), session.Touch{})
	if err != nil {
		c.e.t.Fatalf("load own session: %v", err)
	}
	return rec.LastSeen
}

func TestInitialLifetimeThenLifetime(t *testing.T) {
	e := newEnv(t, nil, nil)
	c := e.client()
	c.do("POST", "/set?k=a&v=x")
	e.clock.Advance(5*time.Minute - time.Second)
	if d := c.data(); d.A != "x" {
		t.Fatalf("session gone before initialLifetime: %+v", d)
	}
	c.do("POST", "/login?user=ann") // at 4m59s: the authenticated lifetime starts now
	e.clock.Advance(6*time.Hour - time.Second)
	if r := c.do("GET", "/me"); r.status != http.StatusOK {
		t.Fatalf("authenticated session gone before its lifetime: %d", r.status)
	}
	e.clock.Advance(time.Second)
	if r := c.do("GET", "/me"); r.status != http.StatusUnauthorized || r.sessionCookie() == nil {
		t.Errorf("authenticated session alive at its deadline: %d", r.status)
	}
}

func TestIdleTimeoutAndThrottledTouch(t *testing.T) {
	for _, sc := range stores {
		t.Run(sc.name, func(t *testing.T) {
			clk := newClock()
			e := newEnv(t, sc.new(t, clk), clk, func(o *session.Options[*testData]) { o.IdleTimeout = 30 * time.Minute })
			c := e.client()
			c.do("POST", "/login?user=ann")
			loginAt := clk.Now()
			// touchEvery = max(1m, 30m/10) = 3m: a read 2m later does not touch.
			clk.Advance(2 * time.Minute)
			if r := c.do("GET", "/me"); r.status != http.StatusOK || r.sessionCookie() != nil {
				t.Fatalf("GET /me = %d, cookie %v; want 200 and no cookie", r.status, r.sessionCookie())
			}
			if got := c.lastSeen(); !got.Equal(loginAt) {
				t.Errorf("touched after 2m: LastSeen %v, want %v", got, loginAt)
			}
			clk.Advance(2 * time.Minute) // 4m since the last touch: due
			c.do("GET", "/me")
			touchedAt := clk.Now()
			if got := c.lastSeen(); !got.Equal(touchedAt) {
				t.Errorf("not touched after 4m: LastSeen %v, want %v", got, touchedAt)
			}
			// Alive 29m after the touch (33m after login), dead 30m after it.
			clk.Advance(29 * time.Minute)
			if r := c.do("GET", "/me"); r.status != http.StatusOK {
				t.Fatalf("idle session ended early: %d", r.status)
			}
			clk.Advance(31 * time.Minute)
			if r := c.do("GET", "/me"); r.status != http.StatusUnauthorized {
				t.Errorf("idle session alive after 31 idle minutes: %d", r.status)
			}
		})
	}
}

// TestModuleEnforcesExpiry gives the Manager a store whose clock stands
// still, so the store still returns records that are past their deadline,
// as a store whose TTL failed would.
func TestModuleEnforcesExpiry(t *testing.T) {
	storeClock := newClock()
	e := newEnv(t, memstore.New(memstore.WithClock(storeClock.Now)), nil,
		func(o *session.Options[*testData]) { o.IdleTimeout = 10 * time.Minute })
	tests := []struct {
		name    string
		advance time.Duration
	}{
		{"absolute", 6*time.Hour + time.Second},
		{"idle", 10 * time.Minute},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := e.client()
			c.do("POST", "/login?user=ann")
			e.clock.Advance(tt.advance)
			e.store.total()
			r := c.do("GET", "/me")
			if r.status != http.StatusUnauthorized {
				t.Errorf("expired session served: %d", r.status)
			}
			if calls := e.store.total(); calls["Delete"] != 1 {
				t.Errorf("store calls %v, want the expired record deleted", calls)
			}
			if !strings.Contains(e.logs.String(), "session expired") {
				t.Error("expiry not logged")
			}
		})
	}
}

func TestSessionCookieAttributes(t *testing.T) {
	tests := []struct {
		name   string
		cookie session.Cookie
		want   []string
		absent []string
	}{
		{"defaults", session.Cookie{}, []string{"SID=", "Path=/", "HttpOnly", "Secure", "SameSite=Lax", "Max-Age=300", "Expires="}, []string{"Domain"}},
		{"__Host- strict", session.Cookie{Name: "__Host-SID", SameSite: http.SameSiteStrictMode}, []string{"__Host-SID=", "Secure", "SameSite=Strict", "Path=/"}, []string{"Domain"}},
		{"browser session", session.Cookie{BrowserSession: true, Domain: "example.com"}, []string{"Domain=example.com", "HttpOnly"}, []string{"Expires", "Max-Age"}},
		{"dev", session.Cookie{Insecure: true}, []string{"HttpOnly", "SameSite=Lax"}, []string{"Secure"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := newClock()
			m, err := session.New(session.Options[*testData]{
				Store: memstore.New(memstore.WithClock(clk.Now)), Secrets: secrets,
				New: func() *testData { return &testData{} }, Cookie: tt.cookie, Now: clk.Now,
				Logger: slog.New(slog.DiscardHandler),
			})
			if err != nil {
				t.Fatal(err)
			}
			h := m.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				m.From(r.Context()).Data().A = "x"
			}))
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/", nil))
			got := rec.Header().Get("Set-Cookie")
			for _, w := range tt.want {
				if !strings.Contains(got, w) {
					t.Errorf("Set-Cookie %q lacks %q", got, w)
				}
			}
			for _, a := range tt.absent {
				if strings.Contains(got, a) {
					t.Errorf("Set-Cookie %q has %q", got, a)
				}
			}
		})
	}
}

func TestPanicCommitsNothing(t *testing.T) {
	clk := newClock()
	store := &countingStore{Store: memstore.New(memstore.WithClock(clk.Now))}
	m, err := session.New(session.Options[*testData]{
		Store: store, Secrets: secrets, New: func() *testData { return &testData{} }, Now: clk.Now,
		Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	h := m.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		m.From(r.Context()).Data().A = "x"
		panic("handler bug")
	}))
	rec := httptest.NewRecorder()
	func() {
		defer func() {
			if recover() == nil {
				t.Error("the panic did not propagate to the recoverer")
			}
		}()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/", nil))
	}()
	if calls := store.total(); len(calls) != 0 || rec.Header().Get("Set-Cookie") != "" {
		t.Errorf("a panicking request committed: calls %v, Set-Cookie %q", calls, rec.Header().Get("Set-Cookie"))
	}
}
