package web

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestWriteProblem(t *testing.T) {
	tests := map[string]struct {
		problem Problem
		ctxID   string
		want    Problem
	}{
		"about:blank takes the status text as title": {
			problem: Problem{Status: http.StatusNotFound},
			want:    Problem{Type: "about:blank", Title: "Not Found", Status: 404},
		},
		"a typed problem keeps its own title and fields": {
			problem: Problem{Type: "https://example.com/probs/out-of-credit", Title: "Out of credit", Status: 403, Detail: "Balance is 30.", Instance: "/account/12345/msgs/abc"},
			want:    Problem{Type: "https://example.com/probs/out-of-credit", Title: "Out of credit", Status: 403, Detail: "Balance is 30.", Instance: "/account/12345/msgs/abc"},
		},
		"request id comes from the context": {
			problem: Problem{Status: http.StatusServiceUnavailable},
			ctxID:   "req-1",
			want:    Problem{Type: "about:blank", Title: "Service Unavailable", Status: 503, RequestID: "req-1"},
		},
		"missing status becomes 500": {
			problem: Problem{},
			want:    Problem{Type: "about:blank", Title: "Internal Server Error", Status: 500},
		},
		"non-error status becomes 500": {
			problem: Problem{Status: http.StatusOK, Detail: "oops"},
			want:    Problem{Type: "about:blank", Title: "Internal Server Error", Status: 500, Detail: "oops"},
		},
		"status WriteHeader would panic on becomes 500": {
			problem: Problem{Status: 1000},
			want:    Problem{Type: "about:blank", Title: "Internal Server Error", Status: 500},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			r := httptest.NewRequestWithContext(t.Context(), http.MethodGet, "/x", nil)
			if tc.ctxID != "" {
				r = r.WithContext(withRequestID(r.Context(), tc.ctxID))
			}
			w := httptest.NewRecorder()
			w.Header().Set("Content-Length", "1234") // left over from a handler

			WriteProblem(w, r, tc.problem)

			if w.Code != tc.want.Status {
				t.Errorf("status = %d, want %d", w.Code, tc.want.Status)
			}
			wantHeaders := map[string]string{
				"Content-Type":           "application/problem+json",
				"Cache-Control":          "no-store",
				"X-Content-Type-Options": "nosniff",
				"Content-Length":         "",
			}
			for k, v := range wantHeaders {
				if got := w.Header().Get(k); got != v {
					t.Errorf("header %s = %q, want %q", k, got, v)
				}
			}
			var got Problem
			if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil {
				t.Fatalf("decode body %q: %v", w.Body, err)
			}
			if got != tc.want {
				t.Errorf("body = %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestWriteProblemMemberNames(t *testing.T) {
	r := httptest.NewRequestWithContext(withRequestID(t.Context(), "abc"), http.MethodGet, "/", nil)
	w := httptest.NewRecorder()
	WriteProblem(w, r, Problem{Status: http.StatusBadRequest, Detail: "d"})

	var members map[string]any
	if err := json.Unmarshal(w.Body.Bytes(), &members); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"type", "title", "status", "detail", "requestId"} {
		if _, ok := members[k]; !ok {
			t.Errorf("member %q missing from %s", k, w.Body)
		}
	}
	if _, ok := members["instance"]; ok {
		t.Errorf("empty instance should be omitted: %s", w.Body)
	}
}
