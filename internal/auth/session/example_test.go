package session_test

import (
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"strings"

	"github.com/go-chi/chi/v5"

	"github.com/hexchi/starter/internal/auth/session"
	"github.com/hexchi/starter/internal/auth/session/memstore"
)

// UserSession is an app's session data: a pointer to a struct that says
// whether it is authenticated and which group (user) it belongs to.
type UserSession struct {
	UserID string `json:"userId,omitempty"`
	Theme  string `json:"theme,omitempty"`
}

func (d *UserSession) IsAuthenticated() bool  { return d.UserID != "" }
func (d *UserSession) SessionGroupID() string { return d.UserID }

// Example wires the session module into a chi app: login, a protected
// route, logout.
func Example() {
	sessions, err := session.New(session.Options[*UserSession]{
		Store:   memstore.New(), // redisstore.New(client) in production
		Secrets: [][]byte{[]byte("example-secret-of-at-least-32-bytes!")},
		New:     func() *UserSession { return &UserSession{} },
		Cookie:  session.Cookie{Insecure: true}, // this example serves http://
		Logger:  slog.New(slog.DiscardHandler),
	})
	if err != nil {
		panic(err)
	}
	current := func(r *http.Request) *session.Session[*UserSession] {
		return sessions.From(r.Context())
	}

	r := chi.NewRouter()
	r.Use(sessions.Middleware)
	r.Post("/login", func(w http.ResponseWriter, r *http.Request) {
		// Check the password here, then log in: the session moves to a
		// new id (the fixation defence) and gets the authenticated lifetime.
		err := current(r).Login(r.FormValue("remember") == "on", func(d *UserSession) {
			d.UserID = r.FormValue("user")
		})
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		io.WriteString(w, "logged in")
	})
	r.Group(func(r chi.Router) {
		r.Use(sessions.RequireAuth)
		r.Get("/me", func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, "hello "+current(r).Data().UserID)
		})
		r.Post("/logout", func(w http.ResponseWriter, r *http.Request) {
			if err := current(r).Destroy(); err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
				return
			}
			io.WriteString(w, "logged out")
		})
	})

	srv := httptest.NewServer(r)
	defer srv.Close()
	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar}
	show := func(method, path, body string) {
		req, _ := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		res, err := browser.Do(req)
		if err != nil {
			panic(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		fmt.Printf("%s %s: %d %s\n", method, path, res.StatusCode, strings.TrimSpace(string(b)))
	}
	show("GET", "/me", "")
	show("POST", "/login", "user=ann")
	show("GET", "/me", "")
	show("POST", "/logout", "")
	show("GET", "/me", "")
	// Output:
	// GET /me: 401 {"status":401,"title":"Unauthorized","type":"about:blank"}
	// POST /login: 200 logged in
	// GET /me: 200 hello ann
	// POST /logout: 200 logged out
	// GET /me: 401 {"status":401,"title":"Unauthorized","type":"about:blank"}
}
