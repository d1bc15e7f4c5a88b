package app

import (
	"net/http"

	"github.com/go-chi/chi/v5"

	"github.com/hexchi/starter/internal/platform/web"
)

// routes returns the app's whole HTTP surface.
func (a *app) routes() http.Handler {
	mux := chi.NewRouter()
	// Telemetry wraps the router and adds its first middleware, which
	// names each request's span and metrics by the route (telemetry.go).
	h := a.instrumentRouter(mux)
	// The request id comes first so every later record and problem carries
	// it; the access log wraps the recoverer so that the 500 a panic turns
	// into is logged with its status.
	// The probes are logged at Debug: a load balancer sends them every few
	// seconds, and a failing one logs its cause where it is decided. The
	// replica header is set outside the recoverer, so that a 500 from a
	// panic names its replica too.
	mux.Use(web.AssignRequestID, a.baseHeaders, a.nameReplica, web.AccessLog(a.log, "/livez", "/readyz"), web.Recoverer(a.log))

	mux.NotFound(func(w http.ResponseWriter, r *http.Request) {
		a.respondError(w, r, errNotFound)
	})
	mux.MethodNotAllowed(func(w http.ResponseWriter, r *http.Request) {
		// RFC 9110 requires Allow on a 405. chi sets it only in its own
		// 405 handler, so ask the router which methods the path has.
		for _, m := range allowedMethods(mux, r) {
			w.Header().Add("Allow", m)
		}
		a.respondError(w, r, errMethodNotAllowed)
	})

	mux.Get("/livez", a.handleLivez)
	mux.Get("/readyz", a.handleReadyz)
	// Stylesheets and images need no session: outside the session
	// middleware, a page's assets cost no store round trip.
	mux.Handle("/static/*", staticFiles())

	// Everything that uses sessions: the JSON API and the HTML pages.
	// Cross-origin protection (Sec-Fetch-Site / Origin) refuses every
	// unsafe request from another origin before a session is even loaded.
	csrf := http.NewCrossOriginProtection()
	csrf.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a.respondError(w, r, errCrossOrigin)
	}))
	mux.Group(func(r chi.Router) {
		r.Use(web.ClientIPs(a.trustedProxies), csrf.Handler, a.sessions.Middleware)
		r.Route("/api/v1", a.apiRoutes)
		a.pageRoutes(r)
	})
	return h
}

// baseHeaders sets the headers every response carries: nosniff, so that no
// browser reads a JSON answer or an error as something else, and, over
// HTTPS, Strict-Transport-Security.
func (a *app) baseHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		if a.hsts != "" {
			h.Set("Strict-Transport-Security", a.hsts)
		}
		next.ServeHTTP(w, r)
	})
}

// methods are the methods allowedMethods tries; chi routes no others.
var methods = []string{
	http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
	http.MethodDelete, http.MethodConnect, http.MethodOptions, http.MethodTrace,
}

// allowedMethods returns the methods that routes has for the path of r.
func allowedMethods(routes chi.Routes, r *http.Request) []string {
	path := r.URL.RawPath // chi routes on the raw path when there is one
	if path == "" {
		path = r.URL.Path
	}
	var allowed []string
	for _, m := range methods {
		if routes.Match(chi.NewRouteContext(), m, path) {
			allowed = append(allowed, m)
		}
	}
	return allowed
}
