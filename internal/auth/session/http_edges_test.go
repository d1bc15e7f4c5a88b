package session_test

import (
	"bufio"
	"context"
	"errors"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/hexchi/starter/internal/auth/session"
	"github.com/hexchi/starter/internal/auth/session/memstore"
)

// TestHijackCommitsFirstAndWritesNothingAfter: after a WebSocket-style
// upgrade the middleware used to call WriteHeader(200) on the hijacked
// connection, and net/http logged an error per upgrade.
func TestHijackCommitsFirstAndWritesNothingAfter(t *testing.T) {
	clk := newClock()
	store := memstore.New(memstore.WithClock(clk.Now))
	m, err := session.New(session.Options[*testData]{
		Store: store, Secrets: secrets, New: func() *testData { return &testData{} }, Now: clk.Now,
		Cookie: session.Cookie{Insecure: true}, Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	serverLog := &syncBuffer{}
	// Closed once the middleware has returned, late patch and all: the
	// server does not track a hijacked connection, so its Close would not
	// wait for it.
	done := make(chan struct{})
	upgrade := m.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := m.From(r.Context())
		s.Data().A = "before the upgrade"
		conn, rw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			t.Errorf("Hijack: %v", err)
			return
		}
		defer conn.Close()
		// A WebSocket library writes its own 101, with the headers it is
		// given: here, the session's Set-Cookie.
		rw.WriteString("HTTP/1.1 101 Switching Protocols\r\nUpgrade: test\r\nConnection: Upgrade\r\n")
		w.Header().Write(rw)
		rw.WriteString("\r\n")
		rw.Flush()
		line, _ := rw.ReadString('\n') // one message from the client
		rw.WriteString("echo " + line)
		rw.Flush()
		s.Data().B = "during the connection" // saved by the late patch
	}))
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer close(done)
		upgrade.ServeHTTP(w, r)
	}))
	srv.Config.ErrorLog = log.New(serverLog, "", 0)
	srv.Start()
	t.Cleanup(srv.Close)

	conn, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	io.WriteString(conn, "GET /ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: test\r\n\r\n")
	br := bufio.NewReader(conn)
	res, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("read the 101: %v", err)
	}
	if res.StatusCode != http.StatusSwitchingProtocols || len(res.Cookies()) != 1 {
		t.Fatalf("upgrade answer %d with cookies %v, want 101 with the session cookie", res.StatusCode, res.Cookies())
	}
	io.WriteString(conn, "hello\n")
	if echo, _ := br.ReadString('\n'); echo != "echo hello\n" {
		t.Errorf("echo %q", echo)
	}
	if rest, _ := io.ReadAll(br); len(rest) != 0 {
		t.Errorf("bytes after the handler closed the connection: %q", rest)
	}
	<-done
	srv.Close()
	if logs := serverLog.String(); logs != "" {
		t.Errorf("net/http logged %q; nothing may be written after a hijack", logs)
	}
	h := handleFromCookie(t, res.Cookies()[0].Value)
	rec, err := store.Load(t.Context(), h, session.Touch{})
	if err != nil {
		t.Fatalf("the session committed at the hijack: %v", err)
	}
	if a, b := string(rec.Values["d.a"]), string(rec.Values["d.b"]); a != `"before the upgrade"` || b != `"during the connection"` {
		t.Errorf("stored a=%s b=%s, want the change before the upgrade and the late one", a, b)
	}
}

// TestTwoManagersDoNotHideEachOther: the context key used to be one
// package variable, so an inner Manager's session hid the outer one's and
// the outer RequireAuth answered 500.
func TestTwoManagersDoNotHideEachOther(t *testing.T) {
	newManager := func(name string) *session.Manager[*testData] {
		m, err := session.New(session.Options[*testData]{
			Store: memstore.New(), Secrets: secrets, New: func() *testData { return &testData{} },
			Cookie: session.Cookie{Name: name, Insecure: true}, Logger: slog.New(slog.DiscardHandler),
		})
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	outer, inner := newManager("OUTER"), newManager("INNER")
	mux := http.NewServeMux()
	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
		outer.From(r.Context()).Login(true, func(d *testData) { d.User = "out" })
		inner.From(r.Context()).Login(true, func(d *testData) { d.User = "in" })
	})
	mux.Handle("GET /both", outer.RequireAuth(inner.RequireAuth(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, outer.From(r.Context()).Data().User+"+"+inner.From(r.Context()).Data().User)
	}))))
	srv := httptest.NewServer(outer.Middleware(inner.Middleware(mux)))
	t.Cleanup(srv.Close)
	e := &env{t: t, srv: srv}
	c := e.client()
	c.do("POST", "/login")
	if r := c.do("GET", "/both"); r.status != http.StatusOK || r.body != "out+in" {
		t.Errorf("GET /both = %d %q, want 200 out+in", r.status, r.body)
	}
}

// TestClientHangUpIsNoOutage: a client that hangs up while its session
// loads used to be answered 503 and logged as a store outage.
func TestClientHangUpIsNoOutage(t *testing.T) {
	var got error
	e := newEnv(t, nil, nil, func(o *session.Options[*testData]) {
		o.ErrorHandler = func(w http.ResponseWriter, r *http.Request, err error) {
			got = err
			w.WriteHeader(session.StatusClientClosedRequest)
		}
	})
	c := e.client()
	c.do("POST", "/login?user=ann")
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	req := httptest.NewRequestWithContext(ctx, http.MethodGet, "/me", nil)
	req.AddCookie(&http.Cookie{Name: "SID", Value: c.cookie()})
	e.srv.Config.Handler.ServeHTTP(httptest.NewRecorder(), req)
	if !errors.Is(got, context.Canceled) || errors.Is(got, session.ErrStoreUnavailable) {
		t.Errorf("hang-up error = %v, want context.Canceled and not ErrStoreUnavailable", got)
	}

	// A store that fails while the client waits is an outage, as before.
	got = nil
	e.store.setFail(errDown)
	c.do("GET", "/me")
	if !errors.Is(got, session.ErrStoreUnavailable) {
		t.Errorf("store failure = %v, want ErrStoreUnavailable", got)
	}
}

// TestDefaultErrorHandler: the statuses the module answers with when the
// app brings no error mapping of its own.
func TestDefaultErrorHandler(t *testing.T) {
	m, err := session.New(session.Options[*testData]{
		Store: memstore.New(), Secrets: secrets, New: func() *testData { return &testData{} },
		Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	h := m.RequireRecentAuth(0)(http.NotFoundHandler())
	tests := []struct {
		name string
		ctx  func() context.Context
		want int
	}{
		{"anonymous", context.Background, http.StatusUnauthorized},
		{"client gone", func() context.Context {
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			return ctx
		}, session.StatusClientClosedRequest},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req := httptest.NewRequestWithContext(tc.ctx(), http.MethodGet, "/", nil)
			if tc.name == "client gone" {
				req.AddCookie(&http.Cookie{Name: "SID", Value: signedCookie(t)})
			}
			rec := httptest.NewRecorder()
			m.Middleware(h).ServeHTTP(rec, req)
			if rec.Code != tc.want || rec.Header().Get("Content-Type") != "application/problem+json" {
				t.Errorf("%s: %d %s, want %d problem+json", tc.name, rec.Code, rec.Header().Get("Content-Type"), tc.want)
			}
		})
	}
}

// TestLateChanges: what happens to changes made after the header went out.
func TestLateChanges(t *testing.T) {
	t.Run("an encode error is logged", func(t *testing.T) {
		e := newEnv(t, nil, nil)
		c := e.client()
		c.do("POST", "/login?user=ann")
		c.do("POST", "/late-unencodable")
		if logs := e.logs.String(); !strings.Contains(logs, "late session change lost") || !strings.Contains(logs, errUnencodable.Error()) {
			t.Errorf("an encode error after the headers was not logged:\n%s", logs)
		}
	})
	t.Run("a concurrent logout is INFO, as before the header", func(t *testing.T) {
		e := newEnv(t, nil, nil)
		c := e.client()
		c.do("POST", "/login?user=ann")
		done := make(chan response)
		go func() { done <- c.do("POST", "/late-slow?k=a&v=late") }()
		<-e.slow
		c.do("POST", "/logout")
		close(e.gate)
		<-done
		logs := e.logs.String()
		if !strings.Contains(logs, "level=INFO msg=\"session ended concurrently, changes dropped\"") || strings.Contains(logs, "level=ERROR") {
			t.Errorf("a late patch after a concurrent logout must log at INFO only:\n%s", logs)
		}
		if r := c.do("GET", "/me"); r.status != http.StatusUnauthorized {
			t.Errorf("the late patch brought the logged-out session back: %d", r.status)
		}
	})
	for _, path := range []string{"/late-login?user=eve", "/late-set-user?user=eve"} {
		t.Run("a login while streaming cannot take effect: "+path, func(t *testing.T) {
			e := newEnv(t, nil, nil)
			c := e.client()
			c.do("POST", "/set?k=a&v=stored")
			r := c.do("POST", path)
			if r.sessionCookie() != nil {
				t.Errorf("%s changed the cookie after the body started", path)
			}
			if !strings.Contains(e.logs.String(), "session change lost") {
				t.Errorf("%s after the headers was not logged as lost:\n%s", path, e.logs.String())
			}
			if r := c.do("GET", "/me"); r.status != http.StatusUnauthorized {
				t.Errorf("after %s the old session id is authenticated: %d (a login without a new id is a fixation hole)", path, r.status)
			}
			if d := c.data(); d.User != "" || d.A != "stored" {
				t.Errorf("stored data after %s = %+v, want it untouched", path, d)
			}
		})
	}
}

// TestDuplicateSessionCookies: of two session cookies the first counts,
// as browsers put the most specific one first.
func TestDuplicateSessionCookies(t *testing.T) {
	e := newEnv(t, nil, nil)
	c := e.client()
	c.do("POST", "/login?user=ann")
	valid, forged := c.cookie(), signedWith([]byte("a-secret-this-server-never-used-0123"))
	tests := []struct {
		cookies string
		want    int
	}{
		{"SID=" + valid + "; SID=" + forged, http.StatusOK},
		{"SID=" + forged + "; SID=" + valid, http.StatusUnauthorized},
	}
	for _, tc := range tests {
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, e.srv.URL+"/me", nil)
		req.Header.Set("Cookie", tc.cookies)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != tc.want {
			t.Errorf("Cookie: %.60s...: %d, want %d", tc.cookies, res.StatusCode, tc.want)
		}
	}
}

// TestCookieOptions: Partitioned (CHIPS) and Clear-Site-Data at logout.
func TestCookieOptions(t *testing.T) {
	e := newEnv(t, nil, nil, func(o *session.Options[*testData]) {
		o.Cookie = session.Cookie{Partitioned: true, SameSite: http.SameSiteNoneMode}
		o.ClearSiteData = true
	})
	c := e.client()
	r := c.do("POST", "/set?k=a&v=x")
	if line := r.header.Get("Set-Cookie"); !strings.Contains(line, "Partitioned") || !strings.Contains(line, "Secure") {
		t.Errorf("Set-Cookie %q, want Partitioned and Secure", line)
	}
	if got := r.header.Get("Clear-Site-Data"); got != "" {
		t.Errorf("Clear-Site-Data %q on a request that logs nobody out", got)
	}
	// The test client does not send Secure cookies over http: give it back.
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, e.srv.URL+"/logout", nil)
	req.AddCookie(r.sessionCookie())
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if got := res.Header.Get("Clear-Site-Data"); got != `"cookies"` {
		t.Errorf("logout Clear-Site-Data = %q, want \"cookies\"", got)
	}

	_, err = session.New(session.Options[*testData]{
		Store: memstore.New(), Secrets: secrets, New: func() *testData { return &testData{} },
		Cookie: session.Cookie{Partitioned: true, Insecure: true},
	})
	if err == nil || !strings.Contains(err.Error(), "Partitioned") {
		t.Errorf("New with an insecure Partitioned cookie = %v, want an error", err)
	}
}

// TestEventsFollowCommits: OnEvent hears of a login only once it is
// stored, so an audit line written there never records a login that a
// store failure undid.
func TestEventsFollowCommits(t *testing.T) {
	var (
		mu     sync.Mutex
		events []session.EventKind
	)
	e := newEnv(t, nil, nil, func(o *session.Options[*testData]) {
		o.OnEvent = func(_ context.Context, ev session.Event) {
			mu.Lock()
			defer mu.Unlock()
			events = append(events, ev.Kind)
		}
	})
	take := func() []session.EventKind {
		mu.Lock()
		defer mu.Unlock()
		got := events
		events = nil
		return got
	}
	c := e.client()
	e.store.setFail(errDown)
	if r := c.do("POST", "/login?user=ann"); r.status != http.StatusServiceUnavailable {
		t.Fatalf("login with the store down: %d, want 503", r.status)
	}
	if got := take(); len(got) != 1 || got[0] != session.EventUnavailable {
		t.Errorf("events of a failed login %v, want only store_unavailable", got)
	}
	e.store.setFail(nil)
	c.do("POST", "/login?user=ann")
	c.do("POST", "/logout")
	bad := e.client()
	bad.setCookie("garbage")
	bad.do("GET", "/me")
	want := []session.EventKind{session.EventAuthenticated, session.EventDestroyed, session.EventInvalidCookie}
	if got := take(); !equalKinds(got, want) {
		t.Errorf("events %v, want %v", got, want)
	}
}

func equalKinds(a, b []session.EventKind) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
