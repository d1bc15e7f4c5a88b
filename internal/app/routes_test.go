package app

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/hexchi/starter/internal/auth"
	"github.com/hexchi/starter/internal/auth/session"
	"github.com/hexchi/starter/internal/platform/web"
)

func TestRoutes(t *testing.T) {
	storeDown := func(context.Context) error { return errors.New("dial tcp 10.0.0.7:6379: connection refused") }
	tests := map[string]struct {
		method, path string
		storeReady   func(context.Context) error
		shuttingDown bool
		wantStatus   int
		wantBody     string // for plain answers
		wantProblem  bool
		wantHeaders  map[string]string
	}{
		"livez":                        {method: "GET", path: "/livez", wantStatus: 200, wantBody: "ok\n"},
		"livez ignores the store":      {method: "GET", path: "/livez", storeReady: storeDown, wantStatus: 200, wantBody: "ok\n"},
		"livez ignores shutdown":       {method: "GET", path: "/livez", shuttingDown: true, wantStatus: 200, wantBody: "ok\n"},
		"readyz with the memory store": {method: "GET", path: "/readyz", wantStatus: 200, wantBody: "ok\n"},
		"readyz with a store that answers": {
			method: "GET", path: "/readyz", storeReady: func(context.Context) error { return nil },
			wantStatus: 200, wantBody: "ok\n",
		},
		"readyz with the store down": {
			method: "GET", path: "/readyz", storeReady: storeDown,
			wantStatus: 503, wantProblem: true, wantHeaders: map[string]string{"Retry-After": "5"},
		},
		"readyz while shutting down": {
			method: "GET", path: "/readyz", shuttingDown: true,
			wantStatus: 503, wantProblem: true, wantHeaders: map[string]string{"Retry-After": "5"},
		},
		// A script asking for JSON; a browser gets the page (TestErrorPages).
		"unknown path": {method: "GET", path: "/nope", wantStatus: 404, wantProblem: true},
		"wrong method": {
			method: "POST", path: "/livez",
			wantStatus: 405, wantProblem: true, wantHeaders: map[string]string{"Allow": "GET"},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			a := newTestApp()
			a.storeReady = tc.storeReady
			a.shuttingDown.Store(tc.shuttingDown)
			w := httptest.NewRecorder()
			r := httptest.NewRequestWithContext(t.Context(), tc.method, tc.path, nil)
			r.Header.Set("Accept", "application/json")
			a.routes().ServeHTTP(w, r)

			if w.Code != tc.wantStatus {
				t.Errorf("status = %d, want %d", w.Code, tc.wantStatus)
			}
			for k, v := range tc.wantHeaders {
				if got := w.Header().Get(k); got != v {
					t.Errorf("%s = %q, want %q", k, got, v)
				}
			}
			if !tc.wantProblem {
				if got := w.Body.String(); got != tc.wantBody {
					t.Errorf("body = %q, want %q", got, tc.wantBody)
				}
				return
			}
			p := decodeProblem(t, w)
			if p.Status != tc.wantStatus || p.RequestID != w.Header().Get(web.RequestIDHeader) || p.RequestID == "" {
				t.Errorf("problem = %+v, want status %d and the echoed request id", p, tc.wantStatus)
			}
			if strings.Contains(w.Body.String(), "10.0.0.7") {
				t.Errorf("the store error leaked into the response: %s", w.Body)
			}
		})
	}
}

func decodeProblem(t *testing.T, w *httptest.ResponseRecorder) web.Problem {
	t.Helper()
	if ct := w.Header().Get("Content-Type"); ct != "application/problem+json" {
		t.Errorf("Content-Type = %q, want application/problem+json", ct)
	}
	var p web.Problem
	if err := json.Unmarshal(w.Body.Bytes(), &p); err != nil {
		t.Fatalf("body %q: %v", w.Body, err)
	}
	return p
}

func TestRespondError(t *testing.T) {
	tests := map[string]struct {
		err        error
		wantStatus int
		wantDetail string
		wantLevel  string // of the record logged, "" for none
	}{
		"not found":          {err: errNotFound, wantStatus: 404},
		"method not allowed": {err: errMethodNotAllowed, wantStatus: 405},
		"shutting down":      {err: errShuttingDown, wantStatus: 503, wantDetail: "The server is shutting down."},
		"not ready": {
			err:        fmt.Errorf("%w: session store: %w", errNotReady, errors.New("internal detail")),
			wantStatus: 503, wantDetail: "A service this server depends on is unavailable.", wantLevel: "WARN",
		},
		"deadline": {
			err:        fmt.Errorf("load session: %w", context.DeadlineExceeded),
			wantStatus: 503, wantDetail: "The request took too long.", wantLevel: "WARN",
		},
		"anything else": {
			err:        errors.New("internal detail"),
			wantStatus: 500, wantLevel: "ERROR",
		},
		"unsupported media type": {
			err:        errUnsupportedMediaType,
			wantStatus: 415, wantDetail: "This endpoint does not read a body of that Content-Type.",
		},
		"body too large": {
			err:        fmt.Errorf("%w: over 4096 bytes", errTooLarge),
			wantStatus: 413, wantDetail: "The request body is too large.",
		},
		"bad request": {
			err:        badRequest("field %q is wrong", "theme"),
			wantStatus: 400, wantDetail: `field "theme" is wrong`,
		},
		// A client that hung up is no outage: no 503, no warning.
		"client gone": {
			err:        fmt.Errorf("session: load: request ended: %w", context.Canceled),
			wantStatus: 499, wantLevel: "DEBUG",
		},
		"login limits down": {
			err:        fmt.Errorf("login limit per client: %w: %w", auth.ErrLimitsUnavailable, errors.New("internal detail")),
			wantStatus: 503, wantDetail: "Logins are unavailable for a moment.", wantLevel: "WARN",
		},
		"login too old": {
			err:        session.ErrRecentAuthRequired,
			wantStatus: 403, wantDetail: "Confirm your password first: this needs a login less than 10m0s old.",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			var logs bytes.Buffer
			log, err := web.NewLogger(&logs, "debug", "json")
			if err != nil {
				t.Fatal(err)
			}
			a := &app{log: log, recentAuth: 10 * time.Minute}
			w := httptest.NewRecorder()
			// An API path: the mapping is the same for pages, which
			// TestErrorPages checks.
			a.respondError(w, httptest.NewRequestWithContext(t.Context(), http.MethodGet, "/api/v1/x", nil), tc.err)

			p := decodeProblem(t, w)
			if p.Status != tc.wantStatus || w.Code != tc.wantStatus || p.Detail != tc.wantDetail {
				t.Errorf("answer %d %+v, want status %d detail %q", w.Code, p, tc.wantStatus, tc.wantDetail)
			}
			if strings.Contains(w.Body.String(), "internal detail") {
				t.Errorf("the error leaked into the response: %s", w.Body)
			}
			if tc.wantStatus == 503 && w.Header().Get("Retry-After") == "" {
				t.Error("503 without Retry-After")
			}
			if tc.wantLevel == "" {
				if logs.Len() != 0 {
					t.Errorf("unexpected log: %s", logs.String())
				}
				return
			}
			var rec struct{ Level, Err string }
			if err := json.Unmarshal(logs.Bytes(), &rec); err != nil {
				t.Fatalf("log %q: %v", logs.String(), err)
			}
			if rec.Level != tc.wantLevel || rec.Err != tc.err.Error() {
				t.Errorf("logged %+v, want level %s with the error", rec, tc.wantLevel)
			}
		})
	}
}

func TestRequestIDs(t *testing.T) {
	tests := map[string]struct {
		inbound string
		keep    bool
	}{
		"valid inbound id is echoed":     {inbound: "lb-1234.abcd", keep: true},
		"invalid inbound id is replaced": {inbound: "bad id\"", keep: false},
		"missing id is generated":        {inbound: "", keep: false},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			var logs bytes.Buffer
			log, err := web.NewLogger(&logs, "info", "json")
			if err != nil {
				t.Fatal(err)
			}
			a := &app{log: log}
			r := httptest.NewRequestWithContext(t.Context(), http.MethodGet, "/nope", nil)
			r.Header.Set("Accept", "application/problem+json")
			if tc.inbound != "" {
				r.Header.Set(web.RequestIDHeader, tc.inbound)
			}
			w := httptest.NewRecorder()
			a.routes().ServeHTTP(w, r)

			id := w.Header().Get(web.RequestIDHeader)
			if tc.keep != (id == tc.inbound) || id == "" {
				t.Errorf("X-Request-Id = %q for inbound %q, keep = %v", id, tc.inbound, tc.keep)
			}
			if p := decodeProblem(t, w); p.RequestID != id {
				t.Errorf("problem requestId = %q, want %q", p.RequestID, id)
			}
			var access struct {
				Msg       string `json:"msg"`
				RequestID string `json:"request_id"`
			}
			if err := json.Unmarshal(logs.Bytes(), &access); err != nil || access.Msg != "request" || access.RequestID != id {
				t.Errorf("access log %q: want one request record with request_id %q", logs.String(), id)
			}
		})
	}
}

// TestErrorPages: one mapping decides the status; a browser gets it as a
// page in the app's layout, with a sentence, the request id and a way
// back, and the API and the probes keep problem+json.
func TestErrorPages(t *testing.T) {
	var logs bytes.Buffer
	log, err := web.NewLogger(&logs, "debug", "json")
	if err != nil {
		t.Fatal(err)
	}
	a := &app{log: log, recentAuth: 10 * time.Minute}
	tests := []struct {
		name, path, accept string
		err                error
		wantHTML           bool
		want               string
	}{
		{"page, a browser", "/nope", "text/html,application/xhtml+xml;q=0.9,*/*;q=0.8", errNotFound, true, "There is no page at this address."},
		{"page, no Accept", "/nope", "", errNotFound, true, "There is no page at this address."},
		{"page, a script asking for JSON", "/nope", "application/json", errNotFound, false, ""},
		{"API, a browser", "/api/v1/nope", "text/html", errNotFound, false, ""},
		{"probe", "/readyz", "text/html", errShuttingDown, false, ""},
		{"a refused cross-origin form", "/logout", "text/html", errCrossOrigin, true, "This request came from another site"},
		{"a form that is no page", "/logout", "text/html", errMethodNotAllowed, true, "it is the target of a form or a button"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequestWithContext(t.Context(), http.MethodGet, tc.path, nil)
			r.Header.Set("Accept", tc.accept)
			r.Header.Set(web.RequestIDHeader, "REQ123")
			w := httptest.NewRecorder()
			web.AssignRequestID(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				a.respondError(w, r, tc.err)
			})).ServeHTTP(w, r)
			if !tc.wantHTML {
				decodeProblem(t, w)
				return
			}
			body := w.Body.String()
			if ct := w.Header().Get("Content-Type"); ct != "text/html; charset=utf-8" || w.Header().Get("Content-Security-Policy") == "" {
				t.Errorf("Content-Type %q and CSP %q, want an HTML page with the pages' headers", ct, w.Header().Get("Content-Security-Policy"))
			}
			for _, want := range []string{tc.want, "<code>REQ123</code>", `<a href="/">Back to the home page</a>`, `<link rel="stylesheet" href="/static/style.css">`} {
				if !strings.Contains(body, want) {
					t.Errorf("error page lacks %q:\n%s", want, body)
				}
			}
		})
	}
}
