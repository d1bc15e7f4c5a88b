package auth

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/hexchi/starter/internal/auth/session"
	"github.com/hexchi/starter/internal/auth/session/memstore"
)

// fakeDirectory is a Directory of plain-text passwords that counts its
// calls, so that tests see which logins reach it.
type fakeDirectory struct {
	passwords map[string]string // username -> password
	err       error             // when set, every call fails with it
	calls     int
}

func (f *fakeDirectory) Authenticate(_ context.Context, username, password string) (User, error) {
	f.calls++
	if f.err != nil {
		return User{}, f.err
	}
	if want, ok := f.passwords[username]; !ok || want != password {
		return User{}, ErrBadCredentials
	}
	return User{ID: "id-" + username, Name: username}, nil
}

// loginEnv is a Service on a fake directory with a fixed clock, and a
// session manager on the memory store, as the app wires them.
type loginEnv struct {
	svc      *Service
	users    *fakeDirectory
	sessions *Sessions
	now      time.Time
}

func newLoginEnv(t *testing.T, limits Limits) *loginEnv {
	t.Helper()
	e := &loginEnv{
		users: &fakeDirectory{passwords: map[string]string{"ann": "pw-ann", "bob": "pw-bob"}},
		now:   time.Date(2026, 3, 14, 15, 9, 26, 535_000_000, time.UTC),
	}
	log := slog.New(slog.DiscardHandler)
	e.svc = NewService(e.users, limits, log)
	now := func() time.Time { return e.now }
	e.svc.now = now
	sessions, err := session.New(session.Options[*SessionData]{
		Store:   memstore.New(memstore.WithClock(now)),
		Secrets: [][]byte{[]byte(strings.Repeat("k", 32))},
		New:     NewSessionData,
		Decode:  DecodeSessionData,
		Logger:  log,
		Now:     now,
	})
	if err != nil {
		t.Fatal(err)
	}
	e.sessions = sessions
	return e
}

// attempt is the outcome of one login.
type attempt struct {
	user     User
	err      error
	data     SessionData // the session data when Login returned
	authTime time.Time   // the session's login time once committed
	res      *http.Response
}

// serve runs handle inside the session middleware, as the app's handlers
// run, with the cookie of an earlier response (nil for none).
func (e *loginEnv) serve(t *testing.T, cookie *http.Cookie, handle func(http.ResponseWriter, *http.Request, *Session)) *http.Response {
	t.Helper()
	h := e.sessions.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		handle(w, r, e.sessions.From(r.Context()))
	}))
	r := httptest.NewRequestWithContext(t.Context(), http.MethodPost, "/login", nil)
	if cookie != nil {
		r.AddCookie(cookie)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	res := w.Result()
	t.Cleanup(func() { _ = res.Body.Close() })
	return res
}

// login runs Service.Login from clientIP with the cookie (nil for none).
func (e *loginEnv) login(t *testing.T, clientIP, username, password string, cookie *http.Cookie) attempt {
	t.Helper()
	var a attempt
	a.res = e.serve(t, cookie, func(w http.ResponseWriter, r *http.Request, sess *Session) {
		a.user, a.err = e.svc.Login(w, r, sess, clientIP, username, password, true)
		a.data = *sess.Data()
		w.WriteHeader(http.StatusOK) // commits the session
		a.authTime = sess.AuthTime()
	})
	return a
}

// sessionCookie returns the cookie a response sets, nil if none.
func sessionCookie(res *http.Response) *http.Cookie {
	for _, c := range res.Cookies() {
		if c.Name == "SID" {
			return c
		}
	}
	return nil
}

func TestLogin(t *testing.T) {
	directoryDown := errors.New("directory down")
	tests := map[string]struct {
		username, password string
		directoryErr       error
		want               User
		wantErr            error
		wantCalls          int // of the directory
	}{
		"right credentials":         {username: "ann", password: "pw-ann", want: User{ID: "id-ann", Name: "ann"}, wantCalls: 1},
		"wrong password":            {username: "ann", password: "pw-bob", wantErr: ErrBadCredentials, wantCalls: 1},
		"unknown user":              {username: "eve", password: "pw-ann", wantErr: ErrBadCredentials, wantCalls: 1},
		"the directory fails":       {username: "ann", password: "pw-ann", directoryErr: directoryDown, wantErr: directoryDown, wantCalls: 1},
		"no username":               {password: "pw-ann", wantErr: ErrInvalidCredentials},
		"no password":               {username: "ann", wantErr: ErrInvalidCredentials},
		"a username too long":       {username: strings.Repeat("é", maxUsername+1), password: "x", wantErr: ErrInvalidCredentials},
		"a long non-ASCII name":     {username: strings.Repeat("é", maxUsername), password: "x", wantErr: ErrBadCredentials, wantCalls: 1},
		"a password too long":       {username: "ann", password: strings.Repeat("x", maxPassword+1), wantErr: ErrInvalidCredentials},
		"a username not in UTF-8":   {username: "ann\xff", password: "pw-ann", wantErr: ErrInvalidCredentials},
		"the longest password":      {username: "ann", password: strings.Repeat("x", maxPassword), wantErr: ErrBadCredentials, wantCalls: 1},
		"a password of white space": {username: "ann", password: " ", wantErr: ErrBadCredentials, wantCalls: 1},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			e := newLoginEnv(t, Limits{PerClient: 10, PerUsername: 10, Window: time.Minute})
			e.users.err = tc.directoryErr

			a := e.login(t, "192.0.2.1", tc.username, tc.password, nil)

			if !errors.Is(a.err, tc.wantErr) || a.user != tc.want {
				t.Fatalf("Login = %+v, %v; want %+v, %v", a.user, a.err, tc.want, tc.wantErr)
			}
			if e.users.calls != tc.wantCalls {
				t.Errorf("the directory was asked %d times, want %d", e.users.calls, tc.wantCalls)
			}
			if tc.wantErr != nil {
				if a.data != (SessionData{}) || sessionCookie(a.res) != nil {
					t.Errorf("a failed login left data %+v and cookie %v", a.data, sessionCookie(a.res))
				}
				return
			}
			want := SessionData{UserID: tc.want.ID, Username: tc.want.Name}
			if !sameData(a.data, want) || !a.authTime.Equal(e.now) {
				t.Errorf("session data = %+v, login time %v; want %+v, %v", a.data, a.authTime, want, e.now)
			}
			if sessionCookie(a.res) == nil {
				t.Error("a login set no cookie")
			}
		})
	}
}

// TestLoginRenews: a login moves the session it finds to a new id, the
// fixation defence: an anonymous one that holds data (which the login
// keeps, as a shop keeps the cart), and one that is logged in already as
// the same user (whose privilege and group do not change). The old id stops
// working.
func TestLoginRenews(t *testing.T) {
	const ip = "192.0.2.1"
	tests := map[string]struct {
		start func(*testing.T, *loginEnv) *http.Cookie
		theme string // kept from before the login
	}{
		"an anonymous session": {func(t *testing.T, e *loginEnv) *http.Cookie {
			return sessionCookie(e.serve(t, nil, func(_ http.ResponseWriter, _ *http.Request, sess *Session) {
				sess.Data().Theme = "dark"
			}))
		}, "dark"},
		"a logged-in session": {func(t *testing.T, e *loginEnv) *http.Cookie {
			return sessionCookie(e.login(t, ip, "ann", "pw-ann", nil).res)
		}, ""},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			e := newLoginEnv(t, Limits{PerClient: 10, PerUsername: 10, Window: time.Minute})
			first := tc.start(t, e)
			if first == nil {
				t.Fatal("no session to begin with")
			}
			e.now = e.now.Add(time.Minute)

			a := e.login(t, ip, "ann", "pw-ann", first)
			second := sessionCookie(a.res)
			if a.err != nil || second == nil || second.Value == first.Value {
				t.Fatalf("login = %v with cookie %v, want a new cookie", a.err, second)
			}
			want := SessionData{UserID: "id-ann", Username: "ann", Theme: tc.theme}
			if !sameData(a.data, want) || !a.authTime.Equal(e.now) {
				t.Errorf("session data = %+v, login time %v; want %+v and the new login's time %v", a.data, a.authTime, want, e.now)
			}

			// The old cookie names no session any more: a request with it
			// runs anonymous and the answer clears it.
			var authenticated bool
			res := e.serve(t, first, func(_ http.ResponseWriter, _ *http.Request, sess *Session) {
				authenticated = sess.IsAuthenticated()
			})
			if authenticated {
				t.Error("the cookie from before the login still opens a session")
			}
			if c := sessionCookie(res); c == nil || c.MaxAge >= 0 {
				t.Errorf("the answer to the old cookie sets %v, want it cleared", c)
			}
		})
	}
}

func TestLoginLimits(t *testing.T) {
	type try struct {
		clientIP, username string
		wantLimited        bool
	}
	tests := map[string]struct {
		limits Limits
		tries  []try
	}{
		"per client": {
			limits: Limits{PerClient: 2, PerUsername: 10, Window: time.Minute},
			tries: []try{
				{clientIP: "192.0.2.1", username: "ann"},
				{clientIP: "192.0.2.1", username: "bob"},
				{clientIP: "192.0.2.1", username: "eve", wantLimited: true},
				{clientIP: "192.0.2.2", username: "eve"},
			},
		},
		"per username, whatever its case": {
			limits: Limits{PerClient: 10, PerUsername: 2, Window: time.Minute},
			tries: []try{
				{clientIP: "192.0.2.1", username: "ann"},
				{clientIP: "192.0.2.2", username: "ANN"},
				{clientIP: "192.0.2.3", username: "Ann", wantLimited: true},
				{clientIP: "192.0.2.3", username: "bob"},
			},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			e := newLoginEnv(t, tc.limits)
			for i, try := range tc.tries {
				calls := e.users.calls
				a := e.login(t, try.clientIP, try.username, "wrong", nil)
				if limited := errors.Is(a.err, ErrTooManyAttempts); limited != try.wantLimited {
					t.Fatalf("try %d (%+v): err = %v, want limited %v", i+1, try, a.err, try.wantLimited)
				}
				if !try.wantLimited {
					continue
				}
				if e.users.calls != calls {
					t.Errorf("try %d: a limited login reached the directory", i+1)
				}
				if a.res.Header.Get("Retry-After") == "" {
					t.Errorf("try %d: a limited login without Retry-After", i+1)
				}
			}
		})
	}
}

// TestLoginLimitsSpareInvalidRequests: a request that cannot be right is
// refused before it spends an attempt, so a buggy client that sends empty
// forms does not lock its user out.
func TestLoginLimitsSpareInvalidRequests(t *testing.T) {
	e := newLoginEnv(t, Limits{PerClient: 1, PerUsername: 1, Window: time.Minute})
	for range 3 {
		if a := e.login(t, "192.0.2.1", "ann", "", nil); !errors.Is(a.err, ErrInvalidCredentials) {
			t.Fatalf("an empty password = %v, want ErrInvalidCredentials", a.err)
		}
	}
	if a := e.login(t, "192.0.2.1", "ann", "pw-ann", nil); a.err != nil {
		t.Errorf("the first real attempt = %v, want a login", a.err)
	}
}

// TestLoginAsAnotherUser: logging in as bob on ann's cookie leaves nothing
// of ann's session to bob.
func TestLoginAsAnotherUser(t *testing.T) {
	e := newLoginEnv(t, Limits{PerClient: 10, PerUsername: 10, Window: time.Minute})
	ann := sessionCookie(e.login(t, "192.0.2.1", "ann", "pw-ann", nil).res)
	res := e.serve(t, ann, func(_ http.ResponseWriter, _ *http.Request, sess *Session) {
		sess.Data().Theme, sess.Data().Counter = "dark", 9
	})
	if c := sessionCookie(res); c != nil {
		ann = c
	}
	a := e.login(t, "192.0.2.1", "bob", "pw-bob", ann)
	if want := (SessionData{UserID: "id-bob", Username: "bob"}); a.err != nil || !sameData(a.data, want) {
		t.Errorf("bob's login on ann's cookie: %v, data %+v; want %+v", a.err, a.data, want)
	}
}

// TestConfirm: the password asked again before a sensitive action makes
// the login recent, for the same user, with the same cookie kind.
func TestConfirm(t *testing.T) {
	e := newLoginEnv(t, Limits{PerClient: 10, PerUsername: 10, Window: time.Minute})
	cookie := sessionCookie(e.login(t, "192.0.2.1", "ann", "pw-ann", nil).res)
	e.now = e.now.Add(time.Hour)
	confirm := func(password string) (bool, *http.Response, error) {
		var (
			err    error
			recent bool
		)
		res := e.serve(t, cookie, func(w http.ResponseWriter, r *http.Request, sess *Session) {
			sess.Data().Theme = "dark"
			err = e.svc.Confirm(w, r, sess, "192.0.2.1", password)
			w.WriteHeader(http.StatusOK)
			recent = sess.RecentAuth(time.Minute)
		})
		if c := sessionCookie(res); c != nil {
			cookie = c
		}
		return recent, res, err
	}
	if recent, _, err := confirm("wrong"); !errors.Is(err, ErrBadCredentials) || recent {
		t.Errorf("Confirm with a wrong password = %v, recent %v; want ErrBadCredentials and not recent", err, recent)
	}
	recent, res, err := confirm("pw-ann")
	if err != nil || !recent {
		t.Fatalf("Confirm with the password = %v, recent %v; want a recent login", err, recent)
	}
	if c := sessionCookie(res); c == nil || c.MaxAge <= 0 {
		t.Errorf("Confirm set cookie %v, want the remembered kind the login chose", c)
	}
	var data SessionData
	e.serve(t, cookie, func(_ http.ResponseWriter, _ *http.Request, sess *Session) { data = *sess.Data() })
	if data.Theme != "dark" || data.UserID != "id-ann" {
		t.Errorf("data after Confirm %+v, want ann's, kept", data)
	}

	e.serve(t, nil, func(w http.ResponseWriter, r *http.Request, sess *Session) {
		if err := e.svc.Confirm(w, r, sess, "192.0.2.1", "pw-ann"); !errors.Is(err, session.ErrUnauthenticated) {
			t.Errorf("Confirm without a login = %v, want ErrUnauthenticated", err)
		}
	})
}

// TestLoginLimitCountsFailures: the per-username limit stops guessing, not
// logging in: the README's two-browser demo used to hit 429 on the 6th
// right login. Wrong passwords still run out.
func TestLoginLimitCountsFailures(t *testing.T) {
	limits := Limits{PerClient: 100, PerUsername: 5, Window: time.Minute}
	e := newLoginEnv(t, limits)
	for i := range 10 {
		if a := e.login(t, "192.0.2.1", "ann", "pw-ann", nil); a.err != nil {
			t.Fatalf("right login %d of 10: %v, want a login", i+1, a.err)
		}
	}
	for i := range 5 {
		if a := e.login(t, "192.0.2.1", "ann", "wrong", nil); !errors.Is(a.err, ErrBadCredentials) {
			t.Fatalf("wrong login %d of 6: %v, want ErrBadCredentials", i+1, a.err)
		}
	}
	a := e.login(t, "192.0.2.1", "ann", "wrong", nil)
	if !errors.Is(a.err, ErrTooManyAttempts) || a.res.Header.Get("Retry-After") != "60" {
		t.Errorf("the 6th wrong login: %v, Retry-After %q; want ErrTooManyAttempts and 60", a.err, a.res.Header.Get("Retry-After"))
	}
	if a := e.login(t, "192.0.2.1", "ann", "pw-ann", nil); !errors.Is(a.err, ErrTooManyAttempts) {
		t.Errorf("the right password once the failures are spent: %v, want ErrTooManyAttempts (or guessing goes on)", a.err)
	}
}
