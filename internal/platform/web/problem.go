package web

import (
	"encoding/json"
	"net/http"
)

// Problem is an RFC 9457 problem details object, the body of every error
// response of the app.
type Problem struct {
	// Type is a URI that identifies the kind of problem. It defaults to
	// "about:blank", which RFC 9457 defines as "nothing more than the HTTP
	// status": the Title is then the status text.
	Type string `json:"type"`
	// Title is a short summary of the kind of problem. It stays the same for
	// every occurrence of a Type, so it never carries request details.
	Title string `json:"title"`
	// Status repeats the HTTP status code for clients that only see the body.
	Status int `json:"status"`
	// Detail explains this occurrence to a human. It must never carry
	// internals (errors, queries, addresses); those go to the log.
	Detail string `json:"detail,omitempty"`
	// Instance is a URI that identifies this occurrence, if there is one.
	Instance string `json:"instance,omitempty"`
	// RequestID is an extension member that lets a user quote the request
	// when reporting a problem. WriteProblem fills it from the context.
	RequestID string `json:"requestId,omitempty"`
}

// problemContentType is the media type RFC 9457 registers for JSON problems.
const problemContentType = "application/problem+json"

// WriteProblem writes p as the response. An unset Type becomes about:blank
// with the status text as Title, and a Status that is not a 4xx or 5xx code
// becomes 500, because a problem always describes a failed request (and
// because WriteHeader panics on codes outside 100-999).
func WriteProblem(w http.ResponseWriter, r *http.Request, p Problem) {
	if p.Status < 400 || p.Status > 599 {
		p.Status = http.StatusInternalServerError
	}
	if p.Type == "" {
		p.Type = "about:blank"
	}
	if p.Title == "" && p.Type == "about:blank" {
		p.Title = http.StatusText(p.Status)
	}
	if p.RequestID == "" {
		p.RequestID = RequestID(r.Context())
	}

	// A struct of strings and ints always marshals.
	body, _ := json.Marshal(p)

	h := w.Header()
	h.Set("Content-Type", problemContentType)
	// An error describes one request; no cache may store it for another.
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	// A handler may have prepared a Content-Length or encoding for the body
	// it meant to send; they do not fit this one.
	h.Del("Content-Length")
	h.Del("Content-Encoding")
	w.WriteHeader(p.Status)
	// A failed write means the client is gone; there is nobody to tell.
	_, _ = w.Write(append(body, '\n'))
}
