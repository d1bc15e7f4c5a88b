package web

import "net/http"

// recorder is an http.ResponseWriter that remembers the status code and
// counts the body bytes, for the access log and the recoverer.
//
// It implements only the ResponseWriter methods and Unwrap. Flush, Hijack
// and the deadline setters stay reachable through http.ResponseController,
// which follows Unwrap; declaring them here would claim abilities the
// underlying writer may not have. A type assertion like w.(http.Flusher) on
// a recorder fails, so handlers should use http.ResponseController.
type recorder struct {
	http.ResponseWriter
	status int // final status; 0 until WriteHeader or Write
	bytes  int64
}

// record returns w as a recorder, reusing w if it already is one, so that
// the access log and the recoverer share one wrapper and see the same status.
func record(w http.ResponseWriter) *recorder {
	if rec, ok := w.(*recorder); ok {
		return rec
	}
	return &recorder{ResponseWriter: w}
}

func (rec *recorder) WriteHeader(code int) {
	// 1xx responses (103 Early Hints) may precede the final status; only
	// the first final status counts, as net/http ignores later ones.
	if rec.status == 0 && code >= 200 {
		rec.status = code
	}
	rec.ResponseWriter.WriteHeader(code)
}

func (rec *recorder) Write(b []byte) (int, error) {
	if rec.status == 0 {
		rec.status = http.StatusOK // what net/http sends for an implicit header
	}
	n, err := rec.ResponseWriter.Write(b)
	rec.bytes += int64(n)
	return n, err
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (rec *recorder) Unwrap() http.ResponseWriter {
	return rec.ResponseWriter
}

// written reports whether the status line has been decided, after which a
// different status can no longer be sent.
func (rec *recorder) written() bool {
	return rec.status != 0
}
