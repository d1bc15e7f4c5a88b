package app

import (
	"bytes"
	"html/template"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/hexchi/starter/internal/auth"
	"github.com/hexchi/starter/internal/auth/session"
	"github.com/hexchi/starter/internal/auth/session/memstore"
)

// A template that fails halfway is answered with a whole 500 problem, not
// with the half page it wrote, and the flashes it popped are still there for
// the next page: a 5xx commits nothing.
func TestRenderFailure(t *testing.T) {
	a := newTestApp()
	sessions, err := session.New(session.Options[*auth.SessionData]{
		Store:        memstore.New(),
		Secrets:      [][]byte{[]byte(strings.Repeat("s", 32))},
		New:          auth.NewSessionData,
		Decode:       auth.DecodeSessionData,
		ErrorHandler: a.respondError,
		Logger:       slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	a.sessions = sessions
	broken := template.Must(template.New("broken").Parse(`{{define "layout"}}<p>half{{.Page.Missing}}</p>{{end}}`))
	mux := http.NewServeMux()
	mux.HandleFunc("POST /flash", func(w http.ResponseWriter, r *http.Request) {
		a.seeOther(w, r, "/", flashInfo, "still here")
	})
	mux.HandleFunc("GET /broken", func(w http.ResponseWriter, r *http.Request) {
		a.render(w, r, http.StatusOK, broken, struct{}{})
	})
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		a.render(w, r, http.StatusOK, homeTemplate, homePage{})
	})
	h := sessions.Middleware(mux)

	var cookie string // the session cookie, as a browser keeps it
	do := func(method, path string) *httptest.ResponseRecorder {
		req := httptest.NewRequestWithContext(t.Context(), method, path, nil)
		if cookie != "" {
			req.Header.Set("Cookie", cookie)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if c := w.Result().Cookies(); len(c) > 0 {
			cookie = c[0].Name + "=" + c[0].Value
		}
		return w
	}

	do(http.MethodPost, "/flash")
	w := do(http.MethodGet, "/broken")
	if w.Code != http.StatusInternalServerError || bytes.Contains(w.Body.Bytes(), []byte("half")) ||
		!bytes.Contains(w.Body.Bytes(), []byte("<h1>Internal Server Error</h1>")) {
		t.Errorf("broken template: %d %q, want the 500 error page without the half page", w.Code, w.Body)
	}
	if w := do(http.MethodGet, "/"); !bytes.Contains(w.Body.Bytes(), []byte("still here")) {
		t.Errorf("the flash popped by the failed render is gone:\n%s", w.Body)
	}
}
