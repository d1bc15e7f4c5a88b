package app

import (
	"encoding/json"
	"net/http"
	"time"

	"github.com/hexchi/starter/internal/platform/web"
)

// loginRequest is LoginRequest in the spec. auth.Service.Login checks the
// fields, so that the HTML form gets the same checks.
type loginRequest struct {
	Username string `json:"username"`
	Password string `json:"password"`
	Remember *bool  `json:"remember"` // nil: core.auth.session.cookie.persistent
}

// loginResult is LoginResult in the spec.
type loginResult struct {
	User    apiUser `json:"user"`
	Session struct {
		Authenticated bool      `json:"authenticated"`
		ExpiresAt     time.Time `json:"expiresAt"`
	} `json:"session"`
}

// apiLogin logs the user in: POST /auth/login.
func (a *app) apiLogin(w http.ResponseWriter, r *http.Request) {
	var req loginRequest
	if err := decodeJSON(w, r, &req); err != nil {
		a.respondError(w, r, err)
		return
	}
	ctx := r.Context()
	sess := a.sessions.From(ctx)
	remember := a.rememberByDefault
	if req.Remember != nil {
		remember = *req.Remember
	}
	user, err := a.auth.Login(w, r, sess, web.ClientIP(ctx), req.Username, req.Password, remember)
	if err != nil {
		a.respondError(w, r, err)
		return
	}
	// The session middleware commits the session when the header is
	// written, and only then does the renewed session have its deadline:
	// so the header goes first and the body that reports the deadline
	// after. Should the commit fail, the middleware answers 503 instead
	// and discards this body.
	setJSONHeaders(w.Header())
	w.WriteHeader(http.StatusOK)
	var res loginResult
	res.User = apiUser{ID: user.ID, Name: user.Name}
	res.Session.Authenticated = true
	res.Session.ExpiresAt = sess.Expires().UTC()
	if err := json.NewEncoder(w).Encode(res); err != nil {
		// The client is gone, or the 503 took this answer's place (and
		// was logged): nothing is left to do.
		a.log.DebugContext(ctx, "login answer not written", "err", err)
	}
}

// apiLogout ends the session: POST /auth/logout. Without a session it
// succeeds all the same, so that a client can always call it.
func (a *app) apiLogout(w http.ResponseWriter, r *http.Request) {
	if err := a.session(r).Destroy(); err != nil {
		a.respondError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// logoutAllRequest is LogoutAllRequest in the spec.
type logoutAllRequest struct {
	IncludeCurrent bool `json:"includeCurrent"`
}

// logoutAllResult is LogoutAllResult in the spec.
type logoutAllResult struct {
	Ended int `json:"ended"`
}

// apiLogoutAll ends the user's other sessions, and with includeCurrent
// this one too: POST /auth/logout-all.
func (a *app) apiLogoutAll(w http.ResponseWriter, r *http.Request) {
	var req logoutAllRequest
	if err := decodeOptionalJSON(w, r, &req); err != nil {
		a.respondError(w, r, err)
		return
	}
	ended, err := a.session(r).DestroyGroup(r.Context(), !req.IncludeCurrent)
	if err != nil {
		a.respondError(w, r, err)
		return
	}
	if req.IncludeCurrent {
		ended++ // DestroyGroup counts the other sessions only
	}
	a.writeJSON(w, r, http.StatusOK, logoutAllResult{Ended: ended})
}

// sessionState is SessionState in the spec.
type sessionState struct {
	Authenticated bool      `json:"authenticated"`
	User          *apiUser  `json:"user,omitempty"`
	ExpiresAt     time.Time `json:"expiresAt,omitzero"`
}

// apiSession describes the current session: GET /auth/session. It reads
// the session only, so an anonymous client costs no store write.
func (a *app) apiSession(w http.ResponseWriter, r *http.Request) {
	sess := a.session(r)
	res := sessionState{Authenticated: sess.IsAuthenticated(), ExpiresAt: sess.Expires().UTC()}
	if res.Authenticated {
		d := sess.Data()
		res.User = &apiUser{ID: d.UserID, Name: d.Username}
	}
	a.writeJSON(w, r, http.StatusOK, res)
}
