package app

import (
	"net/http"
	"strings"
	"time"

	"github.com/hexchi/starter/internal/auth"
)

// me is Me in the spec.
type me struct {
	ID      string    `json:"id"`
	Name    string    `json:"name"`
	AuthAt  time.Time `json:"authAt,omitzero"` // zero for a session stored before login times were kept
	Theme   string    `json:"theme,omitempty"`
	Counter int       `json:"counter"` // 0 is a count like any other, so always sent
}

// apiMe describes the logged-in user: GET /me. It reads the session
// only: one store round trip, no write.
func (a *app) apiMe(w http.ResponseWriter, r *http.Request) {
	sess := a.session(r)
	d := sess.Data()
	a.writeJSON(w, r, http.StatusOK, me{
		ID: d.UserID, Name: d.Username, AuthAt: sess.AuthTime().UTC(), Theme: d.Theme, Counter: d.Counter,
	})
}

// preferences is Preferences in the spec.
type preferences struct {
	Theme string `json:"theme"`
}

// apiPutPreferences sets the session's theme: PUT /me/preferences. It
// is the demo's request that changes session data: the session middleware
// writes the one changed field, so it costs two store round trips (load
// and patch).
func (a *app) apiPutPreferences(w http.ResponseWriter, r *http.Request) {
	var req preferences
	if err := decodeJSON(w, r, &req); err != nil {
		a.respondError(w, r, err)
		return
	}
	if err := checkTheme(req.Theme); err != nil {
		a.respondError(w, r, err)
		return
	}
	a.session(r).Data().Theme = req.Theme
	a.writeJSON(w, r, http.StatusOK, req)
}

// counter is CounterResult in the spec.
type counter struct {
	Counter int `json:"counter"`
}

// apiIncrementCounter adds one to the session's counter: POST /me/counter.
// It is the demo's second request that changes session data, in a field of
// its own: the session middleware writes only the counter, so an increment
// and a concurrent PUT /me/preferences on the same session both persist.
// tests/load_test.go checks that under load.
//
// Two increments of one session at the same time both change the same
// field, and there the last writer wins (DESIGN.md §3): each loads n and
// writes n+1, so the counter goes up by one, not two. An atomic increment
// in the store would need an operation the generic, per-field patch does
// not have; the demo shows the patch, and documents the limit.
func (a *app) apiIncrementCounter(w http.ResponseWriter, r *http.Request) {
	d := a.session(r).Data()
	d.Counter++
	a.writeJSON(w, r, http.StatusOK, counter{Counter: d.Counter})
}

// checkTheme answers 400 for a theme that auth.SessionData cannot hold; the
// API and the account page share it.
func checkTheme(theme string) error {
	if !auth.ValidTheme(theme) {
		return badRequest("theme must be one of %s", strings.Join(auth.Themes, ", "))
	}
	return nil
}
