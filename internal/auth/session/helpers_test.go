package session_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hexchi/starter/internal/auth/session"
	"github.com/hexchi/starter/internal/auth/session/memstore"
	"github.com/hexchi/starter/internal/auth/session/sessiontest"
)

// testData is the app data type of these tests: authenticated once User is
// set, grouped by User.
type testData struct {
	User  string         `json:"user,omitempty"`
	A     string         `json:"a,omitempty"`
	B     string         `json:"b,omitempty"`
	Count int            `json:"count,omitempty"`
	Prefs map[string]int `json:"prefs,omitempty"`
	// Unencodable makes the data fail to encode, as a type with a
	// channel or a broken MarshalJSON would.
	Unencodable bool `json:"-"`
}

func (d *testData) IsAuthenticated() bool  { return d.User != "" }
func (d *testData) SessionGroupID() string { return d.User }

var errUnencodable = errors.New("this data cannot be encoded")

func (d *testData) MarshalJSON() ([]byte, error) {
	if d.Unencodable {
		return nil, errUnencodable
	}
	type plain testData // without this method
	return json.Marshal((*plain)(d))
}

// secrets[0] signs; secrets[1] is the previous secret, still accepted.
var secrets = [][]byte{[]byte("current-secret-0123456789abcdefghij"), []byte("previous-secret-0123456789abcdefghi")}

// clock is the tests' clock, shared by the Manager and the store.
type clock = sessiontest.Clock

func newClock() *clock { return sessiontest.NewClock(time.Date(2026, 5, 12, 10, 0, 0, 0, time.UTC)) }

// countingStore counts the calls made to the store it wraps, and fails them
// all with fail when fail is set.
type countingStore struct {
	session.Store
	mu    sync.Mutex
	calls map[string]int
	fail  error
}

func (s *countingStore) count(op string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.calls == nil {
		s.calls = map[string]int{}
	}
	s.calls[op]++
	return s.fail
}

// total returns the number of calls since the last reset, and resets.
func (s *countingStore) total() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.calls
	s.calls = map[string]int{}
	return c
}

func (s *countingStore) setFail(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fail = err
}

func (s *countingStore) Load(ctx context.Context, h string, t session.Touch) (*session.Record, error) {
	if err := s.count("Load"); err != nil {
		return nil, err
	}
	return s.Store.Load(ctx, h, t)
}

func (s *countingStore) Create(ctx context.Context, h string, r *session.Record, opts session.CreateOptions) ([]string, error) {
	if err := s.count("Create"); err != nil {
		return nil, err
	}
	return s.Store.Create(ctx, h, r, opts)
}

func (s *countingStore) Patch(ctx context.Context, h string, p *session.Patch) error {
	if err := s.count("Patch"); err != nil {
		return err
	}
	return s.Store.Patch(ctx, h, p)
}

func (s *countingStore) Delete(ctx context.Context, ref session.Ref) error {
	if err := s.count("Delete"); err != nil {
		return err
	}
	return s.Store.Delete(ctx, ref)
}

func (s *countingStore) ListGroup(ctx context.Context, g string) ([]session.Member, error) {
	if err := s.count("ListGroup"); err != nil {
		return nil, err
	}
	return s.Store.ListGroup(ctx, g)
}

func (s *countingStore) DeleteGroup(ctx context.Context, g, except string) (int, error) {
	if err := s.count("DeleteGroup"); err != nil {
		return 0, err
	}
	return s.Store.DeleteGroup(ctx, g, except)
}

// syncBuffer is a log sink safe for the server's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// env is a test server with a Manager over a counted store.
type env struct {
	t     *testing.T
	m     *session.Manager[*testData]
	store *countingStore
	clock *clock
	srv   *httptest.Server
	logs  *syncBuffer
	gate  chan struct{} // released by the test to let /slow requests go on
	slow  chan struct{} // signalled when a /slow request has loaded its session
}

type envOption func(*session.Options[*testData])

// newEnv starts a test server over the given store (a fresh memory store
// on the env's clock when nil).
func newEnv(t *testing.T, store session.Store, clk *clock, opts ...envOption) *env {
	t.Helper()
	if clk == nil {
		clk = newClock()
	}
	if store == nil {
		store = memstore.New(memstore.WithClock(clk.Now))
	}
	e := &env{t: t, store: &countingStore{Store: store}, clock: clk, logs: &syncBuffer{},
		gate: make(chan struct{}), slow: make(chan struct{}, 16)}
	o := session.Options[*testData]{
		Store:           e.store,
		Secrets:         secrets,
		New:             func() *testData { return &testData{} },
		InitialLifetime: 5 * time.Minute,
		Lifetime:        6 * time.Hour,
		StoreTimeout:    5 * time.Second,                // as the app runs it: every store call bounded
		Cookie:          session.Cookie{Insecure: true}, // httptest serves http; see TestCookieAttributes for Secure
		Logger:          slog.New(slog.NewTextHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Now:             clk.Now,
	}
	for _, f := range opts {
		f(&o)
	}
	m, err := session.New(o)
	if err != nil {
		t.Fatalf("session.New: %v", err)
	}
	e.m = m
	e.srv = httptest.NewServer(m.Middleware(testRoutes(m, e)))
	t.Cleanup(e.srv.Close)
	t.Cleanup(func() {
		select {
		case <-e.gate:
		default:
			close(e.gate)
		}
	})
	return e
}

// testRoutes are the handlers the tests drive.
func testRoutes(m *session.Manager[*testData], e *env) http.Handler {
	mux := http.NewServeMux()
	sess := func(r *http.Request) *session.Session[*testData] { return m.From(r.Context()) }
	q := func(r *http.Request, k string) string { return r.URL.Query().Get(k) }
	mux.HandleFunc("GET /anon", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") })
	mux.HandleFunc("GET /get", func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(sess(r).Data())
	})
	mux.HandleFunc("POST /set", func(w http.ResponseWriter, r *http.Request) {
		setField(sess(r).Data(), q(r, "k"), q(r, "v"))
	})
	// login logs in through Session.Login, as an app should; remember=0
	// asks for a browser-session cookie.
	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
		err := sess(r).Login(q(r, "remember") != "0", func(d *testData) { d.User = q(r, "user") })
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
		}
	})
	// set-user authenticates by writing the data alone, without Login.
	mux.HandleFunc("POST /set-user", func(w http.ResponseWriter, r *http.Request) {
		sess(r).Data().User = q(r, "user")
	})
	// late-login logs in after the body has started, as a streaming
	// handler might: it cannot take effect.
	mux.HandleFunc("POST /late-login", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "body first\n")
		if err := sess(r).Login(true, func(d *testData) { d.User = q(r, "user") }); err != nil {
			io.WriteString(w, err.Error())
		}
	})
	// late-set-user authenticates through the data after the body started.
	mux.HandleFunc("POST /late-set-user", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "body first\n")
		sess(r).Data().User = q(r, "user")
	})
	mux.HandleFunc("POST /logout", func(w http.ResponseWriter, r *http.Request) {
		if err := sess(r).Destroy(); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
		}
	})
	mux.HandleFunc("POST /logout-flash", func(w http.ResponseWriter, r *http.Request) {
		s := sess(r)
		if err := s.Destroy(); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		s.AddFlash(session.Flash{Kind: "info", Message: "logged out"})
		http.Redirect(w, r, "/pop", http.StatusSeeOther)
	})
	mux.HandleFunc("POST /renew", func(w http.ResponseWriter, r *http.Request) { sess(r).Renew() })
	// flash leaves a message and redirects, as a form handler does.
	mux.HandleFunc("POST /flash", func(w http.ResponseWriter, r *http.Request) {
		sess(r).AddFlash(session.Flash{Kind: "info", Message: q(r, "msg")})
		http.Redirect(w, r, "/pop", http.StatusSeeOther)
	})
	mux.HandleFunc("GET /pop", func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(sess(r).PopFlashes())
	})
	// late-pop pops the flashes after the header went out, as a template does.
	mux.HandleFunc("GET /late-pop", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusOK)
		json.NewEncoder(w).Encode(sess(r).PopFlashes())
	})
	mux.HandleFunc("POST /late-set", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "body first\n")
		setField(sess(r).Data(), q(r, "k"), q(r, "v"))
	})
	mux.HandleFunc("POST /late-destroy", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "body first\n")
		if err := sess(r).Destroy(); err != nil {
			io.WriteString(w, err.Error())
		}
	})
	mux.HandleFunc("POST /fail", func(w http.ResponseWriter, r *http.Request) {
		sess(r).Data().A = "from a failed request"
		http.Error(w, "boom", http.StatusInternalServerError)
	})
	mux.HandleFunc("POST /redirect", func(w http.ResponseWriter, r *http.Request) {
		sess(r).Data().A = "before redirect"
		http.Redirect(w, r, "/get", http.StatusSeeOther)
	})
	mux.HandleFunc("POST /flush", func(w http.ResponseWriter, r *http.Request) {
		sess(r).Data().A = "flushed"
		if err := http.NewResponseController(w).Flush(); err != nil {
			panic(err)
		}
		io.WriteString(w, "after flush")
	})
	// late-unencodable breaks the data after the body started.
	mux.HandleFunc("POST /late-unencodable", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "body first\n")
		sess(r).Data().Unencodable = true
	})
	// late-slow is slow after the body started: it signals, waits for the
	// gate, then sets a field, which only a late patch can save.
	mux.HandleFunc("POST /late-slow", func(w http.ResponseWriter, r *http.Request) {
		d := sess(r).Data()
		io.WriteString(w, "body first\n")
		http.NewResponseController(w).Flush()
		e.slow <- struct{}{}
		<-e.gate
		setField(d, q(r, "k"), q(r, "v"))
	})
	// slow loads its session, signals, waits for the gate, then maybe sets a field.
	mux.HandleFunc("POST /slow", func(w http.ResponseWriter, r *http.Request) {
		d := sess(r).Data()
		e.slow <- struct{}{}
		<-e.gate
		if k := q(r, "k"); k != "" {
			setField(d, k, q(r, "v"))
		}
	})
	mux.Handle("GET /me", m.RequireAuth(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, sess(r).Data().User)
	})))
	mux.Handle("POST /sensitive", m.RequireRecentAuth(10*time.Minute)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "done")
	})))
	mux.HandleFunc("GET /sessions", func(w http.ResponseWriter, r *http.Request) {
		list, err := sess(r).Sessions(r.Context())
		if err != nil {
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
			return
		}
		json.NewEncoder(w).Encode(list)
	})
	mux.HandleFunc("POST /revoke", func(w http.ResponseWriter, r *http.Request) {
		if err := sess(r).Revoke(r.Context(), q(r, "h")); err != nil {
			http.Error(w, err.Error(), http.StatusNotFound)
		}
	})
	mux.HandleFunc("POST /logout-all", func(w http.ResponseWriter, r *http.Request) {
		n, err := sess(r).DestroyGroup(r.Context(), q(r, "keep") == "1")
		if err != nil {
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
			return
		}
		json.NewEncoder(w).Encode(n)
	})
	return mux
}

func setField(d *testData, k, v string) {
	switch k {
	case "a":
		d.A = v
	case "b":
		d.B = v
	case "count":
		d.Count++
	case "pref":
		if d.Prefs == nil {
			d.Prefs = map[string]int{}
		}
		d.Prefs[v]++
	}
}

// client is a browser: its own cookie jar against the env's server.
type client struct {
	e   *env
	jar *cookiejar.Jar
	hc  *http.Client
}

func (e *env) client() *client {
	jar, _ := cookiejar.New(nil)
	return &client{e: e, jar: jar, hc: &http.Client{
		Jar:           jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

// response is what a request returned.
type response struct {
	status int
	header http.Header
	body   string
}

func (c *client) do(method, path string) response {
	c.e.t.Helper()
	req, err := http.NewRequestWithContext(c.e.t.Context(), method, c.e.srv.URL+path, nil)
	if err != nil {
		c.e.t.Fatal(err)
	}
	req.Header.Set("User-Agent", "hexchi-test/1.0")
	res, err := c.hc.Do(req)
	if err != nil {
		c.e.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return response{status: res.StatusCode, header: res.Header, body: strings.TrimSpace(string(b))}
}

// cookie returns the session cookie value in the jar, "" if none.
func (c *client) cookie() string { return c.cookieValue("SID") }

// setCookie puts a raw session cookie value in the jar.
func (c *client) setCookie(v string) { c.setCookieNamed("SID", v) }

// setCookieNamed puts a raw cookie value in the jar.
func (c *client) setCookieNamed(name, v string) {
	u, _ := url.Parse(c.e.srv.URL)
	c.jar.SetCookies(u, []*http.Cookie{{Name: name, Value: v, Path: "/"}})
}

// cookieValue returns the value of the jar's cookie name, "" if none.
func (c *client) cookieValue(name string) string {
	u, _ := url.Parse(c.e.srv.URL)
	for _, ck := range c.jar.Cookies(u) {
		if ck.Name == name {
			return ck.Value
		}
	}
	return ""
}

// data fetches the session data as the server sees it.
func (c *client) data() testData {
	c.e.t.Helper()
	var d testData
	r := c.do("GET", "/get")
	if err := json.Unmarshal([]byte(r.body), &d); err != nil {
		c.e.t.Fatalf("GET /get: %v (%q)", err, r.body)
	}
	return d
}

// sessionCookie returns the response's session Set-Cookie, parsed.
func (r response) sessionCookie() *http.Cookie { return r.cookieNamed("SID") }

// cookieNamed returns the response's Set-Cookie of name, parsed.
func (r response) cookieNamed(name string) *http.Cookie {
	for _, line := range r.header.Values("Set-Cookie") {
		c, err := http.ParseSetCookie(line)
		if err == nil && c.Name == name {
			return c
		}
	}
	return nil
}

var errDown = errors.New("store down")
