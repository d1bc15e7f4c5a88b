package apptest

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"testing"
)

// Client is a browser for tests: its own cookie jar, no redirects followed
// (tests look at each 303), and a test failure on any transport error.
type Client struct {
	t    testing.TB
	base string
	jar  http.CookieJar
	hc   *http.Client
	// Header is added to every request (Origin, User-Agent, ...).
	Header http.Header
}

// NewClient returns a client of the server at base (Server.URL).
func NewClient(t testing.TB, base string) *Client {
	inner, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	jar := secureJar{inner}
	return &Client{t: t, base: base, jar: jar, Header: http.Header{}, hc: &http.Client{
		Jar:           jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

// WrapTransport sends the client's requests through wrap(transport), so
// that a test can watch or check every exchange, cookies included: the API
// tests validate each one against api/openapi.yaml this way.
func (c *Client) WrapTransport(wrap func(http.RoundTripper) http.RoundTripper) {
	next := c.hc.Transport
	if next == nil {
		next = http.DefaultTransport
	}
	c.hc.Transport = wrap(next)
}

// Do sends a request with the given body (nil for none) and content type,
// and reads the whole response.
func (c *Client) Do(method, path string, body []byte, contentType string) Response {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(c.t.Context(), requestTimeout)
	defer cancel()
	var r io.Reader
	if body != nil {
		r = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, r)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	for k, v := range c.Header {
		req.Header[k] = v
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		c.t.Fatalf("%s %s: read body: %v", method, path, err)
	}
	return Response{Status: resp.StatusCode, Header: resp.Header, Body: b}
}

// Cookie returns the value of the named cookie in the jar, "" if none.
func (c *Client) Cookie(name string) string {
	u, _ := url.Parse(c.base)
	for _, ck := range c.jar.Cookies(u) {
		if ck.Name == name {
			return ck.Value
		}
	}
	return ""
}

// SetCookie puts a cookie in the jar, as a browser that kept (or forged) it.
func (c *Client) SetCookie(name, value string) {
	u, _ := url.Parse(c.base)
	//nolint:gosec // G124: a cookie in a test client's jar, where the attributes a server sets do not apply.
	c.jar.SetCookies(u, []*http.Cookie{{Name: name, Value: value, Path: "/"}})
}

// secureJar is a cookie jar that treats the test server's http:// URLs as
// https://. The test config sends Secure cookies, as production does, and
// net/http/cookiejar would otherwise never send them back over http.
type secureJar struct{ inner *cookiejar.Jar }

func (j secureJar) SetCookies(u *url.URL, cookies []*http.Cookie) {
	j.inner.SetCookies(asHTTPS(u), cookies)
}

func (j secureJar) Cookies(u *url.URL) []*http.Cookie { return j.inner.Cookies(asHTTPS(u)) }

func asHTTPS(u *url.URL) *url.URL {
	s := *u
	s.Scheme = "https"
	return &s
}
