package app_test

import (
	"os"
	"slices"
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

// TestReplicaHeader: with core.http.replicaHeader set, every answer (a
// page, the API, a 401, a probe, a 404) names the replica by its host
// name, once; unset, none carries the header.
func TestReplicaHeader(t *testing.T) {
	host, err := os.Hostname()
	if err != nil {
		t.Fatalf("os.Hostname: %v", err)
	}
	tests := map[string]struct {
		env  string   // CORE_HTTP_REPLICA_HEADER
		read string   // the header read back
		want []string // its values; nil for none
	}{
		"off":          {"", "X-Replica", nil},
		"on":           {"X-Replica", "X-Replica", []string{host}},
		"on, any case": {"x-served-by", "X-Served-By", []string{host}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Setenv("CORE_HTTP_REPLICA_HEADER", tc.env)
			srv := apptest.Start(t, nil)
			for _, path := range []string{"/", "/api/v1/auth/session", "/api/v1/me", "/livez", "/nope"} {
				res := apptest.Get(t, srv.URL+path, nil)
				if got := res.Header.Values(tc.read); !slices.Equal(got, tc.want) {
					t.Errorf("GET %s (%d): %s %q, want %q", path, res.Status, tc.read, got, tc.want)
				}
			}
		})
	}
}
