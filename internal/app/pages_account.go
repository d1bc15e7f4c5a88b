package app

import (
	"cmp"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/hexchi/starter/internal/auth"
	"github.com/hexchi/starter/internal/auth/session"
	"github.com/hexchi/starter/internal/device"
	"github.com/hexchi/starter/internal/platform/web"
)

// requireLogin sends a visitor who is not logged in to the login form. It is
// the pages' counterpart of the session manager's RequireAuth, which answers
// the API's 401: a browser is better served by a page it can act on.
func (a *app) requireLogin(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !a.session(r).IsAuthenticated() {
			a.seeOther(w, r, "/", flashInfo, "Please log in.")
			return
		}
		next.ServeHTTP(w, r)
	})
}

// accountPage is the account page's own data.
type accountPage struct {
	AuthAt   time.Time // when the user logged in
	Expires  time.Time // when this session ends at the latest
	Themes   []string
	Sessions []sessionRow
	// Confirm is set when the login is too old to end other sessions
	// without the password: the forms that do then ask for it.
	Confirm    bool
	RecentAuth time.Duration
}

// sessionRow is one of the user's sessions.
type sessionRow struct {
	session.Info
	// Prefix is enough of the handle to tell sessions apart
	// (session.ShortHandle); the whole handle is in the revoke form's URL.
	Prefix string
	// Device is a short name of the User-Agent ("Chrome 156 on Linux");
	// the page shows the whole User-Agent in a tooltip.
	Device string
}

// handleAccount shows the user, this session and all of the user's sessions.
func (a *app) handleAccount(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	sess := a.sessions.From(ctx)
	infos, err := sess.Sessions(ctx)
	if err != nil {
		a.respondError(w, r, err)
		return
	}
	// This device first, then the most recently used; the handle breaks
	// ties, so that the order does not change from one view to the next.
	slices.SortFunc(infos, func(x, y session.Info) int {
		switch {
		case x.Current && !y.Current:
			return -1
		case y.Current && !x.Current:
			return 1
		}
		return cmp.Or(y.LastSeen.Compare(x.LastSeen), strings.Compare(x.Handle, y.Handle))
	})
	rows := make([]sessionRow, len(infos))
	for i, info := range infos {
		rows[i] = sessionRow{Info: info, Prefix: session.ShortHandle(info.Handle), Device: device.Name(info.UserAgent)}
	}
	a.render(w, r, http.StatusOK, accountTemplate, accountPage{
		AuthAt:     sess.AuthTime(),
		Expires:    sess.Expires(),
		Themes:     auth.Themes,
		Sessions:   rows,
		Confirm:    !sess.RecentAuth(a.recentAuth),
		RecentAuth: a.recentAuth,
	})
}

// handleTheme sets this session's theme: the demo's example of a request
// that changes session data (one field, written as a patch).
func (a *app) handleTheme(w http.ResponseWriter, r *http.Request) {
	form, err := postForm(w, r)
	if err != nil {
		a.respondError(w, r, err)
		return
	}
	theme := form.Get("theme")
	if err := checkTheme(theme); err != nil {
		// The form offers nothing else: this request was made by hand.
		a.respondError(w, r, err)
		return
	}
	a.session(r).Data().Theme = theme
	a.seeOther(w, r, "/account", flashInfo, "Theme set to "+theme+".")
}

// handleRevoke logs out one of the user's sessions, by its handle. Revoking
// this session is logging out.
func (a *app) handleRevoke(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	sess := a.sessions.From(ctx)
	handle := chi.URLParam(r, "handle")
	if handle == sess.Handle() {
		if err := a.logOut(sess); err != nil {
			a.respondError(w, r, err)
			return
		}
		a.seeOther(w, r, "/", flashInfo, "You have been logged out.")
		return
	}
	form, err := postForm(w, r)
	if err != nil {
		a.respondError(w, r, err)
		return
	}
	if !a.confirmed(w, r, sess, form) {
		return
	}
	switch err := sess.Revoke(ctx, handle); {
	case err == nil:
		a.seeOther(w, r, "/account", flashInfo, "Session "+session.ShortHandle(handle)+" has been logged out.")
	case errors.Is(err, session.ErrNotInGroup):
		// Expired, or revoked elsewhere, since the page was shown.
		a.seeOther(w, r, "/account", flashError, "That session has already ended.")
	default:
		a.respondError(w, r, err)
	}
}

// handleLogoutAll logs the user out on every device. The form's "keep"
// checkbox spares this one, which is how a user who suspects a stolen
// session ends the others without having to log in again.
func (a *app) handleLogoutAll(w http.ResponseWriter, r *http.Request) {
	form, err := postForm(w, r)
	if err != nil {
		a.respondError(w, r, err)
		return
	}
	ctx := r.Context()
	sess := a.sessions.From(ctx)
	if !a.confirmed(w, r, sess, form) {
		return
	}
	// The others first; this one, unless kept, through logOut, like the
	// log out button.
	n, err := sess.DestroyGroup(ctx, true)
	if err != nil {
		a.respondError(w, r, err)
		return
	}
	if form.Get("keep") == "on" {
		a.seeOther(w, r, "/account", flashInfo, "Ended "+otherSessions(n)+"; you stay logged in here.")
		return
	}
	if err := a.logOut(sess); err != nil {
		a.respondError(w, r, err)
		return
	}
	a.seeOther(w, r, "/", flashInfo, "You have been logged out everywhere: this session and "+otherSessions(n)+" ended.")
}

// confirmed reports whether the request may end other sessions: the login is
// recent, or the form carries the user's password, which makes it recent
// (auth.Service.Confirm). Otherwise it has answered: back to the account
// page, whose forms then ask for the password, with a message saying why.
func (a *app) confirmed(w http.ResponseWriter, r *http.Request, sess *auth.Session, form url.Values) bool {
	if sess.RecentAuth(a.recentAuth) {
		return true
	}
	password := form.Get("password")
	if password == "" {
		a.seeOther(w, r, "/account", flashError, "Confirm with your password: you logged in more than "+a.recentAuth.String()+" ago.")
		return false
	}
	err := a.auth.Confirm(w, r, sess, web.ClientIP(r.Context()), password)
	switch {
	case err == nil:
		return true
	case errors.Is(err, auth.ErrBadCredentials):
		a.seeOther(w, r, "/account", flashError, "Wrong password: no session was logged out.")
	case errors.Is(err, auth.ErrInvalidCredentials):
		a.seeOther(w, r, "/account", flashError, "Cannot confirm: "+detail(err)+".")
	case errors.Is(err, auth.ErrTooManyAttempts):
		a.seeOther(w, r, "/account", flashError, "Too many attempts. Try again later.")
	default:
		a.respondError(w, r, err)
	}
	return false
}

// otherSessions counts the other sessions for a flash message.
func otherSessions(n int) string {
	if n == 1 {
		return "1 other session"
	}
	return fmt.Sprintf("%d other sessions", n)
}
