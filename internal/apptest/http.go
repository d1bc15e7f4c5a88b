package apptest

import (
	"context"
	"io"
	"net/http"
	"testing"
	"time"
)

// requestTimeout bounds each request of Get, so that a hung server fails
// the test instead of stalling it until the test binary's timeout.
const requestTimeout = 5 * time.Second

// Response is an HTTP response read in full.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// Get sends a GET request for url with the given header (which may be nil)
// and reads the whole response. A transport error fails the test.
func Get(t testing.TB, url string, header http.Header) Response {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), requestTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: read body: %v", url, err)
	}
	return Response{Status: resp.StatusCode, Header: resp.Header, Body: body}
}
