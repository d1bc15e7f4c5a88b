// Package web holds the HTTP plumbing that every handler of the app relies
// on: RFC 9457 problem responses, request ids, the slog logger that carries
// them, the access log and the panic recoverer.
//
// Everything here is a plain func(http.Handler) http.Handler or a function
// on http.ResponseWriter, so it works with chi, with http.ServeMux, and with
// the session middleware that sits behind it.
package web
