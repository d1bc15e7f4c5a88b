package app

import "net/http"

// Routes returns the app's router for package app_test, whose API tests
// walk it to check that every route under /api/v1 is in api/openapi.yaml.
// It has no session manager: walk it, do not serve with it.
func Routes() http.Handler { return newTestApp().routes() }
