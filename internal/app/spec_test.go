package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
)

// specPath is the JSON API's OpenAPI document, from this package's
// directory (where go test runs its tests).
const specPath = "../../api/openapi.yaml"

// apiSpec is the OpenAPI document of the JSON API with a router that finds
// the operation of a request.
type apiSpec struct {
	doc    *openapi3.T
	router routers.Router
}

// loadSpec loads api/openapi.yaml and checks that it is a valid OpenAPI
// 3.0 document: examples, defaults and $refs included.
func loadSpec(t testing.TB) *apiSpec {
	t.Helper()
	loader := openapi3.NewLoader()
	loader.Context = t.Context()
	doc, err := loader.LoadFromFile(specPath)
	if err != nil {
		t.Fatalf("load %s: %v", specPath, err)
	}
	if err := doc.Validate(t.Context()); err != nil {
		t.Fatalf("%s is not a valid OpenAPI document: %v", specPath, err)
	}
	router, err := gorillamux.NewRouter(doc)
	if err != nil {
		t.Fatalf("route %s: %v", specPath, err)
	}
	return &apiSpec{doc: doc, router: router}
}

// kin-openapi's JSON decoder reads the first JSON value of a body and
// ignores the rest, so it would take `{}{}` for a valid body, which the API
// (rightly) refuses. RFC 8259 has a JSON text hold one value: strictJSON
// holds the spec to that. It is registered before any test runs, because
// the registry is global and not synchronised.
func init() {
	openapi3filter.RegisterBodyDecoder(jsonType, strictJSON)
	openapi3filter.RegisterBodyDecoder("application/problem+json", strictJSON)
}

// strictJSON is openapi3filter.JSONBodyDecoder for one JSON value only.
func strictJSON(body io.Reader, h http.Header, schema *openapi3.SchemaRef, enc openapi3filter.EncodingFn) (any, error) {
	b, err := io.ReadAll(body)
	if err != nil {
		return nil, fmt.Errorf("read body: %w", err)
	}
	if !json.Valid(b) {
		return nil, &openapi3filter.ParseError{Kind: openapi3filter.KindInvalidFormat, Reason: "the body is not one JSON value"}
	}
	return openapi3filter.JSONBodyDecoder(bytes.NewReader(b), h, schema, enc)
}

// operation names the operation of a route as "METHOD /path" with the
// path as the spec writes it, e.g. "DELETE /auth/sessions/{handle}".
func operation(route *routers.Route) string { return route.Method + " " + route.Path }

// documented returns every operation and status the spec documents, as
// "METHOD /path status", sorted.
func (s *apiSpec) documented() []string {
	var out []string
	for path, item := range s.doc.Paths.Map() {
		for method, op := range item.Operations() {
			for status := range op.Responses.Map() {
				out = append(out, method+" "+path+" "+status)
			}
		}
	}
	slices.Sort(out)
	return out
}

// specCheck is an http.RoundTripper that validates every exchange against
// the spec with kin-openapi's openapi3filter, and reports what does not
// fit:
//
//   - a request to a path or method the spec does not have;
//   - a response the spec does not document: status (IncludeResponseStatus),
//     Content-Type, body schema, required headers;
//   - a disagreement about the request. A request the spec rejects must
//     be refused with a 4xx; a request the server refuses as malformed
//     (400, 415) must be one the spec rejects. So the schemas cannot be
//     looser or stricter than the handlers. (413 is left out: no schema
//     says how many bytes a body may have.)
//
// It sits in the client's transport, below the cookie jar, so it sees the
// exchange exactly as sent and received, cookies included, and no request
// of a client made by newAPIClient escapes it.
type specCheck struct {
	spec   *apiSpec
	next   http.RoundTripper
	report func(error)
	// rejected records whether the spec rejected the last request, for
	// tests that assert it.
	rejected bool
}

// specOptions returns the validation options: documented statuses only,
// and the session cookie checked by requireCookie.
func specOptions() *openapi3filter.Options {
	return &openapi3filter.Options{IncludeResponseStatus: true, AuthenticationFunc: requireCookie}
}

// requireCookie is the spec's side of cookie authentication: an operation
// with the sessionCookie requirement needs the cookie. Whether the cookie
// names a live, logged-in session only the server can tell, so that is not
// checked here. But a request without the cookie is invalid by the spec:
// the disagreement check then demands a 4xx for it (a spec that protects
// what the server leaves open fails), and the apiCases' rejected column
// demands that the spec reject each 401 without a cookie (a spec that
// leaves open what the server protects fails). NoopAuthenticationFunc
// accepts every request, and so would notice neither.
func requireCookie(_ context.Context, in *openapi3filter.AuthenticationInput) error {
	scheme := in.SecurityScheme
	if scheme.Type != "apiKey" || scheme.In != "cookie" {
		return in.NewError(fmt.Errorf("security scheme %s is not a cookie", in.SecuritySchemeName))
	}
	if _, err := in.RequestValidationInput.Request.Cookie(scheme.Name); err != nil {
		return in.NewError(fmt.Errorf("no %s cookie: %w", scheme.Name, err))
	}
	return nil
}

// RoundTrip validates req, sends it, and validates the response.
func (c *specCheck) RoundTrip(req *http.Request) (*http.Response, error) {
	body, err := readAll(req.Body)
	if err != nil {
		return nil, fmt.Errorf("spec check: read request body: %w", err)
	}
	// A RoundTripper must not change req: the server and the validator
	// each get a copy with their own reader of the body.
	sent, checked := withBody(req, body), withBody(req, body)
	ctx := req.Context()

	route, params, err := c.spec.router.FindRoute(checked)
	if err != nil {
		c.report(fmt.Errorf("%s %s is not in %s: %w", req.Method, req.URL.Path, specPath, err))
		return c.next.RoundTrip(sent)
	}
	op := operation(route)
	opts := specOptions()
	in := &openapi3filter.RequestValidationInput{Request: checked, PathParams: params, Route: route, Options: opts}
	reqErr := openapi3filter.ValidateRequest(ctx, in)
	c.rejected = reqErr != nil

	resp, err := c.next.RoundTrip(sent)
	if err != nil {
		return nil, err
	}
	respBody, err := readAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("spec check: read response body: %w", err)
	}
	resp.Body = io.NopCloser(bytes.NewReader(respBody))

	status := resp.StatusCode
	if err := openapi3filter.ValidateResponse(ctx, &openapi3filter.ResponseValidationInput{
		RequestValidationInput: in, Status: status, Header: resp.Header,
		Body: io.NopCloser(bytes.NewReader(respBody)), Options: opts,
	}); err != nil {
		c.report(fmt.Errorf("%s: the %d answer does not fit the spec: %w\nbody: %s", op, status, err, respBody))
	}
	switch {
	case reqErr != nil && (status < 400 || status > 499):
		c.report(fmt.Errorf("%s: the spec rejects the request, the server answered %d: %w", op, status, reqErr))
	case reqErr == nil && (status == http.StatusBadRequest || status == http.StatusUnsupportedMediaType):
		c.report(fmt.Errorf("%s: the server refused with %d a request the spec accepts\nbody: %s", op, status, respBody))
	}
	return resp, nil
}

// readAll reads and closes a body that may be nil.
func readAll(body io.ReadCloser) ([]byte, error) {
	if body == nil || body == http.NoBody {
		return nil, nil
	}
	defer body.Close()
	b, err := io.ReadAll(body)
	if err != nil {
		return nil, fmt.Errorf("read body: %w", err)
	}
	return b, nil
}

// withBody returns a copy of req that reads body.
func withBody(req *http.Request, body []byte) *http.Request {
	c := req.Clone(req.Context())
	c.Body = http.NoBody
	if body != nil {
		c.Body = io.NopCloser(bytes.NewReader(body))
	}
	return c
}
