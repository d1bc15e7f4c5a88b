package web

import (
	"errors"
	"log/slog"
	"net/http"
	"runtime/debug"
)

// Recoverer is a middleware that turns a panic in a handler into an error
// record with the stack and, if the response has not started yet, a 500
// problem response, where net/http would reset the connection and print the
// stack to stderr, outside the structured log.
//
// If the response has started, the status is gone and the client holds
// part of a body. Finishing it normally would make a truncated page look
// complete, so the recoverer aborts the response instead, by panicking with
// http.ErrAbortHandler, which net/http answers by dropping the connection
// without logging. A handler that panics with http.ErrAbortHandler itself
// gets the same: the panic is passed on untouched.
func Recoverer(log *slog.Logger) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			rec := record(w)
			defer func() {
				p := recover()
				if p == nil {
					return
				}
				if err, ok := p.(error); ok && errors.Is(err, http.ErrAbortHandler) {
					panic(p)
				}
				log.ErrorContext(r.Context(), "handler panicked",
					slog.Any("panic", p),
					slog.String("method", r.Method),
					slog.String("path", r.URL.Path),
					slog.String("stack", string(debug.Stack())),
				)
				if rec.written() {
					panic(http.ErrAbortHandler)
				}
				WriteProblem(rec, r, Problem{Status: http.StatusInternalServerError})
			}()
			next.ServeHTTP(rec, r)
		})
	}
}
