package app

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/hexchi/starter/internal/auth"
	"github.com/hexchi/starter/internal/auth/session"
	"github.com/hexchi/starter/internal/platform/web"
)

// homePage is the home page's own data.
type homePage struct {
	// Username fills the form's field again after a failed login.
	Username string
	// Remember is whether the form's "remember me" starts ticked.
	Remember bool
	// Hint is shown under the form (core.auth.loginHint).
	Hint string
}

// handleHome shows who is logged in, or the login form.
func (a *app) handleHome(w http.ResponseWriter, r *http.Request) {
	a.render(w, r, http.StatusOK, homeTemplate, &homePage{Remember: a.rememberByDefault, Hint: a.loginHint})
}

// handleLoginPage answers a GET of the form's target, which a browser
// sends when the user presses Enter in the address bar after a failed
// login: the form is on the home page.
func (a *app) handleLoginPage(w http.ResponseWriter, r *http.Request) {
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

// handleLogin logs in with the form's username and password. Success and
// failure both redirect (303), so that reloading the next page never posts
// the password again. Only the rate limit is answered in place: its 429 and
// Retry-After are what a client that hammers the form must see.
func (a *app) handleLogin(w http.ResponseWriter, r *http.Request) {
	form, err := postForm(w, r)
	if err != nil {
		a.respondError(w, r, err)
		return
	}
	ctx := r.Context()
	sess := a.sessions.From(ctx)
	remember := form.Get("remember") == "on" // an unticked checkbox sends nothing
	user, err := a.auth.Login(w, r, sess, web.ClientIP(ctx), form.Get("username"), form.Get("password"), remember)
	username := form.Get("username")
	switch {
	case err == nil:
		a.seeOther(w, r, "/account", flashInfo, "You are logged in as "+user.Name+".")
	case errors.Is(err, auth.ErrBadCredentials), errors.Is(err, auth.ErrInvalidCredentials):
		msg := "Wrong username or password."
		if errors.Is(err, auth.ErrInvalidCredentials) {
			msg = "Cannot log in: " + detail(err) + "."
		}
		a.session(r).AddFlash(session.Flash{Kind: flashUsername, Message: username})
		a.seeOther(w, r, "/", flashError, msg)
	case errors.Is(err, auth.ErrTooManyAttempts):
		// Answered in place: the 429 and its Retry-After are what a client
		// that hammers the form must see.
		msg := "Too many login attempts. Try again later."
		if after := w.Header().Get("Retry-After"); after != "" { // set by Login, in seconds
			msg = "Too many login attempts. Try again in " + after + " seconds."
		}
		a.render(w, r, http.StatusTooManyRequests, homeTemplate,
			&homePage{Username: username, Remember: remember, Hint: a.loginHint},
			session.Flash{Kind: flashError, Message: msg})
	default:
		a.respondError(w, r, err)
	}
}

// handleLogout logs this session out.
func (a *app) handleLogout(w http.ResponseWriter, r *http.Request) {
	if err := a.logOut(a.session(r)); err != nil {
		a.respondError(w, r, err)
		return
	}
	a.seeOther(w, r, "/", flashInfo, "You have been logged out.")
}

// logOut ends the session, for the handlers that then redirect with a
// flash. Destroy deletes the session when the response is committed (and
// the audit line is written then); the request goes on as an anonymous
// visitor, whose flash travels in the flash cookie.
func (a *app) logOut(sess *auth.Session) error {
	if err := sess.Destroy(); err != nil {
		return fmt.Errorf("log out: %w", err)
	}
	return nil
}
