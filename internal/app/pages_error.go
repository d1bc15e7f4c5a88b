package app

import (
	"bytes"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"github.com/hexchi/starter/internal/auth"
	"github.com/hexchi/starter/internal/platform/web"
)

// errorTemplate is the page a browser gets for an error.
var errorTemplate = parsePage("error.html")

// errorPage is the error page's own data.
type errorPage struct {
	Status    int
	Title     string
	Sentence  string
	RequestID string
	Back      string // where the way back leads
	BackLabel string
}

// writeError writes the answer respondError decided on: an HTML page in the
// app's layout for a browser, problem+json for everybody else. The status
// and the detail are the same in both, decided once, in respondError.
func (a *app) writeError(w http.ResponseWriter, r *http.Request, p web.Problem) {
	if !wantsHTML(r) {
		web.WriteProblem(w, r, p)
		return
	}
	page := errorPage{
		Status:    p.Status,
		Title:     http.StatusText(p.Status),
		Sentence:  p.Detail,
		RequestID: web.RequestID(r.Context()),
		Back:      "/",
		BackLabel: "Back to the home page",
	}
	if page.Title == "" {
		page.Title = "Error"
	}
	if page.Sentence == "" {
		page.Sentence = plainSentence(p.Status)
	}
	v := view{Theme: defaultTheme, Page: page}
	// An error can come before the session is loaded (404, 405) or instead
	// of it (the store is down): the header then says nothing about it.
	if sess := a.currentSession(r); sess != nil {
		d := sess.Data()
		v.Username, v.Known = d.Username, true
		if d.Theme != "" {
			v.Theme = d.Theme
		}
		if sess.IsAuthenticated() {
			page.Back, page.BackLabel = "/account", "Back to your account"
			v.Page = page
		}
	}
	var buf bytes.Buffer
	if err := errorTemplate.ExecuteTemplate(&buf, "layout", v); err != nil {
		// The error page itself failed: the problem still reaches the
		// client, as JSON, and the cause the log.
		a.log.ErrorContext(r.Context(), "render error page", "err", err)
		web.WriteProblem(w, r, p)
		return
	}
	h := w.Header()
	setPageHeaders(h)
	h.Set("Content-Length", strconv.Itoa(buf.Len()))
	h.Del("Content-Encoding")
	w.WriteHeader(p.Status)
	_, _ = buf.WriteTo(w)
}

// currentSession is the request's session, nil before the session
// middleware (or in a test app without one).
func (a *app) currentSession(r *http.Request) *auth.Session {
	if a.sessions == nil {
		return nil
	}
	return a.sessions.From(r.Context())
}

// wantsHTML reports whether an error for r should be a page: anything
// outside the JSON API and the health checks, unless the client asks for
// JSON and not for HTML (a script, or curl -H 'Accept: application/json').
// The API under /api/ and the probes' /livez and /readyz always answer
// problem+json, whatever the Accept header.
func wantsHTML(r *http.Request) bool {
	switch p := r.URL.Path; {
	case strings.HasPrefix(p, "/api/"), p == "/livez", p == "/readyz":
		return false
	}
	html, json := false, false
	for _, part := range strings.Split(r.Header.Get("Accept"), ",") {
		mt, _, err := mime.ParseMediaType(strings.TrimSpace(part))
		switch {
		case err != nil:
		case mt == "text/html" || mt == "application/xhtml+xml":
			html = true
		case mt == "application/json" || mt == "application/problem+json":
			json = true
		}
	}
	return html || !json
}

// plainSentence says what a status means to a person, for an error that
// has no detail of its own.
func plainSentence(status int) string {
	switch status {
	case http.StatusNotFound:
		return "There is no page at this address."
	case http.StatusMethodNotAllowed:
		return "This address is not a page to open: it is the target of a form or a button."
	case http.StatusBadRequest:
		return "The request was not understood."
	case http.StatusForbidden:
		return "This action is not allowed."
	case http.StatusTooManyRequests:
		return "Too many attempts. Wait a little, then try again."
	case http.StatusServiceUnavailable:
		return "The site is unavailable for a moment. Try again in a few seconds."
	default:
		return "Something went wrong on our side. The request id below helps us find out what."
	}
}
