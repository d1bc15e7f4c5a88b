package apps

import (
	"net/http"

	"github.com/go-chi/chi/v5"
)

// NewBaseline returns the same routes with no session library: every
// request sees a logged-in user and changes go nowhere. Its cost per request
// (router, handler, test request and recorder) is the floor under every
// library's, so a library's own cost is its figure minus this one.
func NewBaseline() http.Handler {
	r := chi.NewRouter()
	s := &noSession{}
	routes(r, Config{Hold: func(*http.Request) {}}, func(http.ResponseWriter, *http.Request) (sessionAPI, error) {
		return s, nil
	})
	return r
}

// noSession is a session that is always logged in as "ann" and keeps
// nothing.
type noSession struct{}

func (*noSession) login(string) error       { return nil }
func (*noSession) user() string             { return "ann" }
func (*noSession) set(string, string) error { return nil }
func (*noSession) logout() error            { return nil }
func (*noSession) state() State             { return State{Exists: true, User: "ann"} }
