package session_test

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/hexchi/starter/internal/auth/session"
	"github.com/hexchi/starter/internal/auth/session/memstore"
)

// BenchmarkMiddlewareReadOnly measures the middleware around a handler that
// reads an authenticated session from the memory store: cookie check, load,
// decode, change check. Store latency is the Redis round trip on top.
func BenchmarkMiddlewareReadOnly(b *testing.B) {
	m, err := session.New(session.Options[*testData]{
		Store: memstore.New(), Secrets: secrets, New: func() *testData { return &testData{} },
		Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		b.Fatal(err)
	}
	h := m.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := m.From(r.Context())
		if r.Method == http.MethodPost {
			s.Data().User = "ann"
			return
		}
		if s.Data().User != "ann" {
			b.Fatal("not logged in")
		}
	}))
	login := httptest.NewRecorder()
	h.ServeHTTP(login, httptest.NewRequest(http.MethodPost, "/login", nil))
	cookie := login.Result().Cookies()[0]
	req := httptest.NewRequest(http.MethodGet, "/me", nil)
	req.AddCookie(cookie)
	b.ReportAllocs()
	for b.Loop() {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK || rec.Header().Get("Set-Cookie") != "" {
			b.Fatalf("read-only request: %d %q", rec.Code, rec.Header().Get("Set-Cookie"))
		}
	}
}
