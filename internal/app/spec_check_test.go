package app_test

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/go-chi/chi/v5"

	"github.com/hexchi/starter/internal/app"
)

// TestSpecMatchesRoutes fails when a route under the API's base path is
// missing from the spec, or an operation of the spec has no route.
func TestSpecMatchesRoutes(t *testing.T) {
	spec := loadSpec(t)
	if len(spec.doc.Servers) != 1 || spec.doc.Servers[0].URL != "/api/v1" {
		t.Fatalf("servers = %v, want the one server /api/v1", spec.doc.Servers)
	}
	base := spec.doc.Servers[0].URL
	routes, ok := app.Routes().(chi.Routes)
	if !ok {
		t.Fatalf("the app's router is a %T, not a chi router", app.Routes())
	}
	served := map[string]bool{}
	walk := func(method, route string, _ http.Handler, _ ...func(http.Handler) http.Handler) error {
		if path, ok := strings.CutPrefix(route, base+"/"); ok {
			served[method+" /"+path] = true
		}
		return nil
	}
	if err := chi.Walk(routes, walk); err != nil {
		t.Fatal(err)
	}
	if len(served) == 0 {
		t.Fatalf("no route under %s", base)
	}
	documented := map[string]bool{}
	for path, item := range spec.doc.Paths.Map() {
		for method := range item.Operations() {
			op := method + " " + path
			documented[op] = true
			if !served[op] {
				t.Errorf("the spec has %s, the router has no such route", op)
			}
		}
	}
	for op := range served {
		if !documented[op] {
			t.Errorf("the router serves %s under %s, which the spec does not have", op, base)
		}
	}
}

// TestSpecCheck shows that specCheck reports what it is meant to: the API
// tests prove nothing if it lets mismatches through. A fake server answers
// as told, so that each kind of mismatch can be made on purpose.
func TestSpecCheck(t *testing.T) {
	spec := loadSpec(t)
	const (
		noStore = "no-store"
		problem = `{"type":"about:blank","title":"Bad Request","status":400}`
	)
	tests := map[string]struct {
		method, path, body string
		cookie             bool
		status             int
		ct, cacheControl   string
		answer             string
		wantReport         string // part of the report, "" for none
	}{
		"a fitting exchange": {
			method: "GET", path: "/auth/session",
			status: 200, ct: jsonType, cacheControl: noStore, answer: `{"authenticated":false}`,
		},
		"a fitting problem": {
			method: "GET", path: "/me",
			status: 401, ct: "application/problem+json", cacheControl: noStore,
			answer: `{"type":"about:blank","title":"Unauthorized","status":401,"requestId":"x"}`,
		},
		"a body against its schema": {
			method: "GET", path: "/auth/session",
			status: 200, ct: jsonType, cacheControl: noStore, answer: `{"authenticated":"no"}`,
			wantReport: "does not fit the spec",
		},
		"a field the schema does not have": {
			method: "GET", path: "/auth/session",
			status: 200, ct: jsonType, cacheControl: noStore, answer: `{"authenticated":false,"admin":true}`,
			wantReport: "does not fit the spec",
		},
		"an undocumented status": {
			method: "GET", path: "/me", cookie: true,
			status: 418, ct: "application/problem+json", cacheControl: noStore, answer: problem,
			wantReport: "does not fit the spec",
		},
		"a wrong Content-Type": {
			method: "GET", path: "/auth/session",
			status: 200, ct: "text/html", cacheControl: noStore, answer: `{"authenticated":false}`,
			wantReport: "does not fit the spec",
		},
		"a missing required header": {
			method: "GET", path: "/auth/session",
			status: 200, ct: jsonType, answer: `{"authenticated":false}`,
			wantReport: "does not fit the spec",
		},
		"a malformed request refused with another 4xx": {
			method: "POST", path: "/auth/login", body: `{"username":"demo"}`,
			status: 401, ct: "application/problem+json", cacheControl: noStore, answer: problem,
		},
		"a malformed request answered 200": {
			method: "PUT", path: "/me/preferences", body: `{"theme":"blue"}`, cookie: true,
			status: 200, ct: jsonType, cacheControl: noStore, answer: `{"theme":"dark"}`,
			wantReport: "the spec rejects the request",
		},
		"two JSON values answered 200": {
			method: "PUT", path: "/me/preferences", body: `{"theme":"dark"}{"theme":"dark"}`, cookie: true,
			status: 200, ct: jsonType, cacheControl: noStore, answer: `{"theme":"dark"}`,
			wantReport: "the spec rejects the request",
		},
		"a protected operation answered without the cookie": {
			method: "GET", path: "/auth/sessions",
			status: 200, ct: jsonType, cacheControl: noStore, answer: `{"sessions":[]}`,
			wantReport: "the spec rejects the request",
		},
		"a valid request refused as malformed": {
			method: "POST", path: "/auth/login", body: demoLogin,
			status: 400, ct: "application/problem+json", cacheControl: noStore, answer: problem,
			wantReport: "refused with 400 a request the spec accepts",
		},
		"a path the spec does not have": {
			method: "GET", path: "/nope",
			status: 404, ct: "application/problem+json", cacheControl: noStore, answer: problem,
			wantReport: "is not in",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				// The handler reads the body as a server would, so the
				// test sees that the check passes it on.
				if b, err := io.ReadAll(r.Body); err != nil || string(b) != tc.body {
					t.Errorf("the server got body %q (%v), want %q", b, err, tc.body)
				}
				w.Header().Set("Content-Type", tc.ct)
				if tc.cacheControl != "" {
					w.Header().Set("Cache-Control", tc.cacheControl)
				}
				w.WriteHeader(tc.status)
				_, _ = io.WriteString(w, tc.answer)
			}))
			t.Cleanup(srv.Close)
			var reports []error
			check := &specCheck{spec: spec, next: http.DefaultTransport, report: func(err error) { reports = append(reports, err) }}

			req, err := http.NewRequestWithContext(t.Context(), tc.method, srv.URL+"/api/v1"+tc.path, strings.NewReader(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			if tc.body != "" {
				req.Header.Set("Content-Type", jsonType)
			}
			if tc.cookie {
				req.AddCookie(&http.Cookie{Name: "SID", Value: "x"})
			}
			resp, err := (&http.Client{Transport: check}).Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			if b, err := io.ReadAll(resp.Body); err != nil || string(b) != tc.answer {
				t.Errorf("the client got body %q (%v), want %q", b, err, tc.answer)
			}

			got := errors.Join(reports...)
			switch {
			case tc.wantReport == "" && got != nil:
				t.Errorf("reported %v, want nothing", got)
			case tc.wantReport != "" && (got == nil || !strings.Contains(got.Error(), tc.wantReport)):
				t.Errorf("reported %v, want %q", got, tc.wantReport)
			}
		})
	}
}
