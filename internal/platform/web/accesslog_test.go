package web

import (
	"bytes"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestAccessLog(t *testing.T) {
	tests := map[string]struct {
		handler   http.HandlerFunc
		target    string
		wantLevel string
		wantCode  int
		wantBytes int
	}{
		"implicit 200": {
			handler:   func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "hello") },
			target:    "/greet?token=secret",
			wantLevel: "INFO", wantCode: 200, wantBytes: 5,
		},
		"nothing written": {
			handler:   func(w http.ResponseWriter, r *http.Request) {},
			target:    "/empty",
			wantLevel: "INFO", wantCode: 200, wantBytes: 0,
		},
		"client error": {
			handler:   func(w http.ResponseWriter, r *http.Request) { http.Error(w, "no", http.StatusForbidden) },
			target:    "/forbidden",
			wantLevel: "INFO", wantCode: 403, wantBytes: 3,
		},
		"server error": {
			handler:   func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusBadGateway) },
			target:    "/broken",
			wantLevel: "ERROR", wantCode: 502, wantBytes: 0,
		},
		"unavailable: the cause is logged where it is decided": {
			handler:   func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusServiceUnavailable) },
			target:    "/busy",
			wantLevel: "WARN", wantCode: 503, wantBytes: 0,
		},
		"a probe, even a failing one": {
			handler:   func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusServiceUnavailable) },
			target:    "/readyz",
			wantLevel: "DEBUG", wantCode: 503, wantBytes: 0,
		},
		"early hints before the final status": {
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(http.StatusEarlyHints)
				w.WriteHeader(http.StatusCreated)
			},
			target:    "/hints",
			wantLevel: "INFO", wantCode: 201, wantBytes: 0,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			var buf bytes.Buffer
			log, err := NewLogger(&buf, "debug", "json")
			if err != nil {
				t.Fatal(err)
			}
			h := AssignRequestID(AccessLog(log, "/livez", "/readyz")(tc.handler))
			r := httptest.NewRequestWithContext(t.Context(), http.MethodPost, tc.target, nil)
			r.Header.Set(RequestIDHeader, "req-7")
			h.ServeHTTP(httptest.NewRecorder(), r)

			records := decodeRecords(t, &buf)
			if len(records) != 1 {
				t.Fatalf("got %d records, want 1: %s", len(records), buf.String())
			}
			rec := records[0]
			want := map[string]any{
				"msg":         "request",
				"level":       tc.wantLevel,
				"method":      "POST",
				"path":        r.URL.Path, // never the query string
				"status":      float64(tc.wantCode),
				"bytes":       float64(tc.wantBytes),
				"remote_addr": "192.0.2.1:1234", // httptest's fixed client address
				"request_id":  "req-7",
			}
			for k, v := range want {
				if rec[k] != v {
					t.Errorf("%s = %v, want %v", k, rec[k], v)
				}
			}
			if _, ok := rec["duration"].(float64); !ok {
				t.Errorf("duration = %v, want a number", rec["duration"])
			}
			if bytes.Contains(buf.Bytes(), []byte("secret")) {
				t.Errorf("the query string leaked into the log: %s", buf.String())
			}
		})
	}
}

func TestAccessLogAbortedRequest(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&buf, nil))
	h := AccessLog(log)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusOK)
		panic(http.ErrAbortHandler)
	}))

	func() {
		defer func() {
			p := recover()
			if err, _ := p.(error); !errors.Is(err, http.ErrAbortHandler) {
				t.Errorf("recovered %v, want http.ErrAbortHandler passed on", p)
			}
		}()
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequestWithContext(t.Context(), http.MethodGet, "/stream", nil))
	}()

	records := decodeRecords(t, &buf)
	if len(records) != 1 || records[0]["aborted"] != true || records[0]["level"] != "WARN" {
		t.Errorf("want one WARN record with aborted=true, got %s", buf.String())
	}
}

// The recorder must not hide the writer's abilities from
// http.ResponseController, which the session middleware and streaming
// handlers rely on.
func TestRecorderUnwrap(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&buf, nil))
	w := httptest.NewRecorder()
	h := AccessLog(log)(Recoverer(log)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := http.NewResponseController(w).Flush(); err != nil {
			t.Errorf("Flush through the middleware: %v", err)
		}
	})))
	h.ServeHTTP(w, httptest.NewRequestWithContext(t.Context(), http.MethodGet, "/", nil))
	if !w.Flushed {
		t.Error("the underlying writer was not flushed")
	}
}
