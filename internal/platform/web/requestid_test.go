package web

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestAssignRequestID(t *testing.T) {
	tests := map[string]struct {
		inbound string
		keep    bool
	}{
		"absent":                 {inbound: "", keep: false},
		"uuid":                   {inbound: "3f1c2a9e-8b7d-4c6e-9f0a-1b2c3d4e5f60", keep: true},
		"all allowed characters": {inbound: "Az09-_.:", keep: true},
		"one character":          {inbound: "x", keep: true},
		"64 characters":          {inbound: strings.Repeat("a", 64), keep: true},
		"65 characters":          {inbound: strings.Repeat("a", 65), keep: false},
		"space":                  {inbound: "a b", keep: false},
		"quote":                  {inbound: `a"b`, keep: false},
		"newline":                {inbound: "a\nb", keep: false},
		"tab":                    {inbound: "a\tb", keep: false},
		"slash":                  {inbound: "a/b", keep: false},
		"markup":                 {inbound: "<script>", keep: false},
		"non-ASCII":              {inbound: "zażółć", keep: false},
		"DEL":                    {inbound: "a\x7fb", keep: false},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			var seen string
			h := AssignRequestID(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				seen = RequestID(r.Context())
			}))
			r := httptest.NewRequestWithContext(t.Context(), http.MethodGet, "/", nil)
			if tc.inbound != "" {
				r.Header.Set(RequestIDHeader, tc.inbound)
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)

			echoed := w.Header().Get(RequestIDHeader)
			if echoed != seen {
				t.Errorf("echoed %q, but the handler saw %q", echoed, seen)
			}
			if tc.keep {
				if seen != tc.inbound {
					t.Errorf("id = %q, want the inbound %q", seen, tc.inbound)
				}
				return
			}
			if seen == tc.inbound {
				t.Errorf("invalid inbound id %q was kept", tc.inbound)
			}
			if len(seen) != 26 || !validRequestID(seen) {
				t.Errorf("generated id %q: want 26 valid characters", seen)
			}
		})
	}
}

func TestGeneratedRequestIDsDiffer(t *testing.T) {
	h := AssignRequestID(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	seen := make(map[string]bool)
	for range 100 {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequestWithContext(t.Context(), http.MethodGet, "/", nil))
		id := w.Header().Get(RequestIDHeader)
		if seen[id] {
			t.Fatalf("id %q generated twice", id)
		}
		seen[id] = true
	}
}

func TestRequestIDOutsideRequest(t *testing.T) {
	if got := RequestID(t.Context()); got != "" {
		t.Errorf("RequestID of a bare context = %q, want empty", got)
	}
}
