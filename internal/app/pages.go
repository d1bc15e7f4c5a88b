package app

import (
	"net/http"
	"strings"

	"github.com/go-chi/chi/v5"

	"github.com/hexchi/starter/internal/app/static"
)

// pageRoutes mounts the HTML pages. It must be mounted inside the session
// middleware: the handlers take a.session for granted.
//
// Every form posts back and is answered with 303 See Other
// (Post/Redirect/Get), so that reloading the next page never resubmits it;
// what the user should read about the outcome travels in a flash message.
func (a *app) pageRoutes(r chi.Router) {
	r.Group(func(r chi.Router) {
		r.Use(htmlHeaders)
		r.Get("/", a.handleHome)
		r.Get("/login", a.handleLoginPage)
		r.Post("/login", a.handleLogin)
		// Logging out needs no login: a second click, or an expired
		// session, still ends on the login form with the same message.
		r.Post("/logout", a.handleLogout)

		r.Group(func(r chi.Router) {
			r.Use(a.requireLogin)
			r.Get("/account", a.handleAccount)
			r.Post("/account/theme", a.handleTheme)
			r.Post("/account/sessions/{handle}/revoke", a.handleRevoke)
			r.Post("/logout-all", a.handleLogoutAll)
		})
	})
}

// contentSecurityPolicy allows the pages what they use, and nothing else: a
// stylesheet and images from this origin, forms that post back here, and no
// scripts at all, so that markup injected despite the template escaping
// can run nothing, frame nothing and send a form nowhere else.
const contentSecurityPolicy = "default-src 'none'; style-src 'self'; img-src 'self'; " +
	"form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// htmlHeaders sets the headers every HTML response carries. A handler that
// answers with a problem instead (respondError) replaces Content-Type; the
// others do no harm on it.
func htmlHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		setPageHeaders(w.Header())
		next.ServeHTTP(w, r)
	})
}

// setPageHeaders sets the headers of an HTML page (the pages', and the
// error pages' of any route).
func setPageHeaders(h http.Header) {
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", contentSecurityPolicy)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
	// For browsers that predate CSP's frame-ancestors (clickjacking).
	h.Set("X-Frame-Options", "DENY")
	// Every page shows who is logged in, and some show their sessions:
	// no cache may keep one, and Back after logging out must not show
	// the account page from the browser's cache.
	h.Set("Cache-Control", "no-store")
}

// staticMaxAge is how long browsers may reuse a static file without asking.
// The URLs carry no content hash, so a deploy's new stylesheet can take this
// long to reach a returning visitor; an hour keeps that short while sparing
// a request per page. (Hashed file names with a year and immutable are the
// next step when the assets grow.)
const staticMaxAge = "public, max-age=3600"

// staticFiles serves the embedded files of package static under /static/.
// They need no session, so routes mounts them outside the session
// middleware.
func staticFiles() http.Handler {
	files := http.StripPrefix("/static/", http.FileServerFS(static.FS))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// The file server would list a directory; there is nothing to
		// browse here.
		if strings.HasSuffix(r.URL.Path, "/") {
			http.NotFound(w, r)
			return
		}
		h := w.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Cache-Control", staticMaxAge)
		files.ServeHTTP(w, r)
	})
}
