package app_test

import (
	"testing"

	"github.com/hexchi/starter/internal/apptest"
)

// TestBaseHeaders: nosniff on every answer, JSON 200s included, and
// Strict-Transport-Security while the cookie is Secure, as configured.
func TestBaseHeaders(t *testing.T) {
	tests := map[string]struct {
		env      map[string]string
		wantHSTS string
	}{
		"secure cookie":   {nil, "max-age=31536000"},
		"hsts off":        {map[string]string{"CORE_HTTP_HSTS_MAX_AGE": "0s"}, ""},
		"insecure cookie": {map[string]string{"CORE_AUTH_SESSION_COOKIE_SECURE": "false"}, ""},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			srv := apptest.Start(t, nil)
			for _, path := range []string{"/api/v1/auth/session", "/", "/livez", "/nope"} {
				res := apptest.Get(t, srv.URL+path, nil)
				if got := res.Header.Get("X-Content-Type-Options"); got != "nosniff" {
					t.Errorf("GET %s: X-Content-Type-Options %q, want nosniff", path, got)
				}
				if got := res.Header.Get("Strict-Transport-Security"); got != tc.wantHSTS {
					t.Errorf("GET %s: Strict-Transport-Security %q, want %q", path, got, tc.wantHSTS)
				}
			}
		})
	}
}
