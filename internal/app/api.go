package app

import "github.com/go-chi/chi/v5"

// apiRoutes mounts the JSON API of api/openapi.yaml under /api/v1. The
// router it gets already runs the client-IP, cross-origin and session
// middleware. Every request then goes through validateAPI, which answers
// 400 for one the spec rejects, before RequireAuth (the routes of a
// logged-in user), which answers 401 for everybody else, and before the
// handler.
//
// Every route here must be in the spec and every operation of the spec
// here: TestSpecMatchesRoutes walks this router to check both.
func (a *app) apiRoutes(r chi.Router) {
	r.Use(a.validateAPI)

	r.Post("/auth/login", a.apiLogin)
	r.Post("/auth/logout", a.apiLogout)
	r.Get("/auth/session", a.apiSession)

	r.Group(func(r chi.Router) {
		r.Use(a.sessions.RequireAuth)
		r.With(a.sessions.RequireRecentAuth(a.recentAuth)).Post("/auth/logout-all", a.apiLogoutAll)
		r.Get("/auth/sessions", a.apiListSessions)
		r.Delete("/auth/sessions/{handle}", a.apiRevokeSession)
		r.Get("/me", a.apiMe)
		r.Put("/me/preferences", a.apiPutPreferences)
		r.Post("/me/counter", a.apiIncrementCounter)
	})
}

// apiUser is a user as the API shows it (User in the spec).
type apiUser struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}
