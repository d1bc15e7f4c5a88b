package app

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/hexchi/starter/internal/auth/session"
)

//go:embed templates/*.html
var templateFS embed.FS

// The page templates, each parsed with the shared layout. They are embedded,
// so a template that does not parse is a bug in the build, not something
// that happens at run time: Must stops the program at start, and any test
// of this package catches it first.
var (
	homeTemplate    = parsePage("home.html")
	accountTemplate = parsePage("account.html")
)

func parsePage(name string) *template.Template {
	return template.Must(template.New(name).Funcs(templateFuncs).
		ParseFS(templateFS, "templates/layout.html", "templates/"+name))
}

var templateFuncs = template.FuncMap{"datetime": datetime, "until": until}

// datetime formats t for the pages: in UTC, which the page says, because
// without JavaScript the server cannot know the reader's time zone.
func datetime(t time.Time) string {
	if t.IsZero() {
		return "–"
	}
	return t.UTC().Format("2006-01-02 15:04:05 UTC")
}

// until says how far ahead t is, as a person reads it beside the time
// itself: "in 5 h 59 min", "in 3 min", "in less than a minute".
func until(t time.Time) string {
	d := time.Until(t).Round(time.Minute)
	switch {
	case d < time.Minute:
		if time.Until(t) <= 0 {
			return "ended"
		}
		return "in less than a minute"
	case d < time.Hour:
		return fmt.Sprintf("in %d min", d/time.Minute)
	case d < 24*time.Hour:
		return fmt.Sprintf("in %d h %d min", d/time.Hour, d%time.Hour/time.Minute)
	default:
		return fmt.Sprintf("in %d days", d/(24*time.Hour))
	}
}

// Flash kinds; the layout styles each one.
const (
	flashInfo  = "info"
	flashError = "error"
	// flashUsername is no message: it carries the username of a failed
	// login to the form that is shown next, so the user types it once.
	flashUsername = "username"
)

// defaultTheme is the theme of a session that has not chosen one.
const defaultTheme = "light"

// view is what every template gets: the layout's fields, from the session,
// and the page's own data in Page.
type view struct {
	Username string // "" when nobody is logged in
	// Known is whether the page knows the session: an error page for a
	// request that never reached the session middleware (404, 405) does
	// not, and its header says nothing about who is logged in.
	Known   bool
	Theme   string
	Flashes []session.Flash
	Page    any
}

// render writes the page t with status. It executes the template into a
// buffer first, so that a template error becomes a clean 500 from
// respondError rather than half a page under a 200.
//
// Rendering pops the session's flashes (before the header, as the flash
// cookie of a visitor without a stored session needs). The session is
// committed as the header goes out, and that saves them as shown; a failed
// render answers 500, which commits nothing, so they are still there for
// the next page. notes are messages of this answer itself, shown where the
// flashes are.
func (a *app) render(w http.ResponseWriter, r *http.Request, status int, t *template.Template, page any, notes ...session.Flash) {
	sess := a.session(r)
	d := sess.Data()
	v := view{Username: d.Username, Known: true, Theme: d.Theme, Page: page}
	for _, f := range sess.PopFlashes() {
		if f.Kind == flashUsername {
			if p, ok := page.(*homePage); ok {
				p.Username = f.Message
			}
			continue
		}
		v.Flashes = append(v.Flashes, f)
	}
	v.Flashes = append(v.Flashes, notes...)
	if v.Theme == "" {
		v.Theme = defaultTheme
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout", v); err != nil {
		a.respondError(w, r, fmt.Errorf("render %s: %w", t.Name(), err))
		return
	}
	w.Header().Set("Content-Length", strconv.Itoa(buf.Len()))
	w.WriteHeader(status)
	// A failed write means the client is gone; there is nobody to tell.
	_, _ = buf.WriteTo(w)
}

// seeOther answers a form post with 303 See Other to path, after leaving
// message in the session for the page there to show (Post/Redirect/Get).
// A visitor without a stored session gets the message in the session
// module's flash cookie: no store write.
func (a *app) seeOther(w http.ResponseWriter, r *http.Request, path, kind, message string) {
	a.session(r).AddFlash(session.Flash{Kind: kind, Message: message})
	http.Redirect(w, r, path, http.StatusSeeOther)
}

// maxFormBytes bounds the body of a form post. The forms here carry a
// username and a password at most; net/http's own limit is 10 MB.
const maxFormBytes = 8 << 10

// postForm reads the url-encoded body of a form post.
func postForm(w http.ResponseWriter, r *http.Request) (url.Values, error) {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return nil, fmt.Errorf("read form: %w", errTooLarge)
		}
		return nil, badRequest("read form: %w", err)
	}
	return r.PostForm, nil
}
