package web

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestRecoverer(t *testing.T) {
	tests := map[string]struct {
		handler    http.HandlerFunc
		wantPanic  error // what must reach net/http, nil for none
		wantStatus int   // what the client gets when nothing panics on
		wantLogged bool
	}{
		"panic before writing answers 500": {
			handler:    func(http.ResponseWriter, *http.Request) { panic("boom") },
			wantStatus: http.StatusInternalServerError,
			wantLogged: true,
		},
		"panic with an error answers 500": {
			handler:    func(http.ResponseWriter, *http.Request) { panic(errors.New("boom")) },
			wantStatus: http.StatusInternalServerError,
			wantLogged: true,
		},
		"panic after writing aborts the response": {
			handler: func(w http.ResponseWriter, r *http.Request) {
				_, _ = io.WriteString(w, "partial")
				panic("boom")
			},
			wantPanic:  http.ErrAbortHandler,
			wantLogged: true,
		},
		"ErrAbortHandler is passed on unlogged": {
			handler:   func(http.ResponseWriter, *http.Request) { panic(http.ErrAbortHandler) },
			wantPanic: http.ErrAbortHandler,
		},
		"no panic": {
			handler:    func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) },
			wantStatus: http.StatusNoContent,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			var buf bytes.Buffer
			log, err := NewLogger(&buf, "info", "json")
			if err != nil {
				t.Fatal(err)
			}
			h := AssignRequestID(Recoverer(log)(tc.handler))
			r := httptest.NewRequestWithContext(t.Context(), http.MethodGet, "/p", nil)
			r.Header.Set(RequestIDHeader, "req-9")
			w := httptest.NewRecorder()

			var reached any
			func() {
				defer func() { reached = recover() }()
				h.ServeHTTP(w, r)
			}()

			if tc.wantPanic != nil {
				if err, _ := reached.(error); !errors.Is(err, tc.wantPanic) {
					t.Fatalf("panic reaching net/http = %v, want %v", reached, tc.wantPanic)
				}
			} else {
				if reached != nil {
					t.Fatalf("panic %v escaped the recoverer", reached)
				}
				if w.Code != tc.wantStatus {
					t.Errorf("status = %d, want %d", w.Code, tc.wantStatus)
				}
			}

			if tc.wantStatus == http.StatusInternalServerError {
				var p Problem
				if err := json.Unmarshal(w.Body.Bytes(), &p); err != nil {
					t.Fatalf("body %q: %v", w.Body, err)
				}
				if p.RequestID != "req-9" || p.Status != 500 || p.Detail != "" {
					t.Errorf("problem = %+v, want status 500, requestId req-9 and no detail", p)
				}
				if ct := w.Header().Get("Content-Type"); ct != problemContentType {
					t.Errorf("Content-Type = %q", ct)
				}
			}

			logged := buf.String()
			if !tc.wantLogged {
				if logged != "" {
					t.Errorf("unexpected log: %s", logged)
				}
				return
			}
			records := decodeRecords(t, &buf)
			if len(records) != 1 {
				t.Fatalf("got %d records, want 1: %s", len(records), logged)
			}
			rec := records[0]
			if rec["level"] != "ERROR" || rec["panic"] != "boom" || rec["request_id"] != "req-9" {
				t.Errorf("record = %v, want ERROR with panic=boom and request_id=req-9", rec)
			}
			if stack, _ := rec["stack"].(string); !strings.Contains(stack, "recoverer_test.go") {
				t.Errorf("stack does not reach the panicking handler: %q", stack)
			}
		})
	}
}
