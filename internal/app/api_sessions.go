package app

import (
	"net/http"
	"regexp"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/hexchi/starter/internal/auth/session"
)

// sessionInfo is SessionInfo in the spec.
type sessionInfo struct {
	Handle    string    `json:"handle"`
	Created   time.Time `json:"created"`
	LastSeen  time.Time `json:"lastSeen"`
	ExpiresAt time.Time `json:"expiresAt"`
	UserAgent string    `json:"userAgent"`
	Current   bool      `json:"current"`
}

// sessionList is SessionList in the spec.
type sessionList struct {
	Sessions []sessionInfo `json:"sessions"`
}

// apiListSessions lists the user's sessions: GET /auth/sessions.
func (a *app) apiListSessions(w http.ResponseWriter, r *http.Request) {
	infos, err := a.session(r).Sessions(r.Context())
	if err != nil {
		a.respondError(w, r, err)
		return
	}
	// Not nil: an empty list is [] in JSON, never null.
	res := sessionList{Sessions: make([]sessionInfo, 0, len(infos))}
	for _, s := range infos {
		res.Sessions = append(res.Sessions, sessionInfo{
			Handle: s.Handle, Created: s.Created.UTC(), LastSeen: s.LastSeen.UTC(),
			ExpiresAt: s.Expires.UTC(), UserAgent: s.UserAgent, Current: s.Current,
		})
	}
	a.writeJSON(w, r, http.StatusOK, res)
}

// handlePattern is the form of a session handle, base64url of a SHA-256:
// Handle's pattern in the spec.
var handlePattern = regexp.MustCompile(`^[A-Za-z0-9_-]{43}$`)

// apiRevokeSession ends one of the user's sessions by its handle:
// DELETE /auth/sessions/{handle}. Ending the current one is a logout.
func (a *app) apiRevokeSession(w http.ResponseWriter, r *http.Request) {
	handle := chi.URLParam(r, "handle")
	if !handlePattern.MatchString(handle) {
		// Refused before it costs a store round trip.
		a.respondError(w, r, badRequest("that is not a session handle"))
		return
	}
	sess := a.session(r)
	// Ending another session is for a recent login only: a stolen cookie
	// must not be able to log its owner out everywhere. Ending this one is
	// a logout, which anybody may do.
	if handle != sess.Handle() && !sess.RecentAuth(a.recentAuth) {
		a.respondError(w, r, session.ErrRecentAuthRequired)
		return
	}
	if err := sess.Revoke(r.Context(), handle); err != nil {
		a.respondError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
