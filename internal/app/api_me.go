package app

import (
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/hexchi/starter/internal/auth"
)

// me is Me in the spec.
type me struct {
	ID     string    `json:"id"`
	Name   string    `json:"name"`
	AuthAt time.Time `json:"authAt"`
	Theme  string    `json:"theme,omitempty"`
}

// apiMe describes the logged-in user: GET /me. It reads the session
// only: one store round trip, no write.
func (a *app) apiMe(w http.ResponseWriter, r *http.Request) {
	d := auth.Current(r.Context()).Data()
	a.writeJSON(w, r, http.StatusOK, me{ID: d.UserID, Name: d.Username, AuthAt: d.AuthAt.UTC(), Theme: d.Theme})
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
	if !slices.Contains(auth.Themes, req.Theme) {
		a.respondError(w, r, badRequest("theme must be one of: %s", strings.Join(auth.Themes, ", ")))
		return
	}
	auth.Current(r.Context()).Data().Theme = req.Theme
	a.writeJSON(w, r, http.StatusOK, req)
}
