package app

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"

	"github.com/hexchi/starter/api"
)

// apiSpecRouter finds the operation of a request in the embedded
// api/openapi.yaml. It is built once, when the package is initialised: the
// spec is part of the binary, so a spec that does not load is a build bug,
// and the server must not start with it (as with template.Must).
var apiSpecRouter = mustLoadAPISpec(api.OpenAPI)

// mustLoadAPISpec is loadAPISpec that panics on an error.
func mustLoadAPISpec(spec []byte) routers.Router {
	router, err := loadAPISpec(spec)
	if err != nil {
		panic("app: the embedded api/openapi.yaml: " + err.Error())
	}
	return router
}

// loadAPISpec parses and validates an OpenAPI document and returns a
// router of its operations. gorillamux is the router the API tests check
// exchanges with, so that the server and its tests agree on which
// operation a request is.
func loadAPISpec(spec []byte) (routers.Router, error) {
	doc, err := openapi3.NewLoader().LoadFromData(spec)
	if err != nil {
		return nil, fmt.Errorf("load: %w", err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		return nil, fmt.Errorf("not a valid OpenAPI document: %w", err)
	}
	router, err := gorillamux.NewRouter(doc)
	if err != nil {
		return nil, fmt.Errorf("route: %w", err)
	}
	return router, nil
}

// validateAPI is the middleware of the API's routes that holds every
// request to api/openapi.yaml before a handler (or RequireAuth) sees it.
// The handlers decode with encoding/json, which matches keys in any case
// and keeps the last of two: {"INCLUDECURRENT":true} would end the
// current session, which the spec's LogoutAllRequest (additionalProperties:
// false) does not allow. A request the spec rejects is answered 400, with
// a detail that names the field or parameter and what is wrong with it.
//
// What the spec does not decide is left to the rest of the chain, so that
// every status stays where it is: a route or method the spec does not
// have goes on to chi's 404 and 405, a body of a Content-Type the
// operation does not read to the handler's 415, and a missing session to
// RequireAuth's 401.
func (a *app) validateAPI(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := validateRequest(w, r); err != nil {
			a.respondError(w, r, err)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// validateRequest checks r against the spec. Its errors are ready for
// respondError: errTooLarge for a body past maxJSONBody, a badRequest for
// anything else. When it has read the body, it leaves r.Body a reader of
// the same bytes for the handler.
func validateRequest(w http.ResponseWriter, r *http.Request) error {
	route, pathParams, err := apiSpecRouter.FindRoute(r)
	if err != nil {
		// routers.ErrPathNotFound or ErrMethodNotAllowed: not the spec's to
		// answer. chi answers the request the same way.
		return nil //nolint:nilerr // a request the spec has no operation for is chi's
	}

	// The validator works on a copy, with a body that is read already, so
	// that nothing it does to the request (kin-openapi replaces the body
	// and sets GetBody) reaches the handler, and it never reads a body
	// without a limit.
	checked := r.Clone(r.Context())
	checked.Body = http.NoBody
	opts := &openapi3filter.Options{
		// Security is RequireAuth's to check: it answers 401, where the
		// validator would answer 400, and it knows whether the session is
		// alive, where the validator could only see a cookie.
		AuthenticationFunc: openapi3filter.NoopAuthenticationFunc,
		// Defaults ("includeCurrent": false) are the handler's to apply; the
		// validator must not rewrite the body.
		SkipSettingDefaults: true,
	}
	if readsBody(route.Operation, r.Header.Get("Content-Type")) {
		body, err := readBody(w, r)
		if err != nil {
			return err
		}
		restoreBody(r, body)
		if len(body) > 0 {
			if err := checkJSONText(body); err != nil {
				return badRequest("request body: %s", jsonTextDetail(err))
			}
			checked.Body = io.NopCloser(bytes.NewReader(body))
		}
	} else {
		// No body for the spec to judge: a body the operation does not read
		// is the handler's to refuse with 415, and a missing one with the
		// wrong Content-Type too (decodeJSON checks the type first).
		opts.ExcludeRequestBody = true
	}

	err = openapi3filter.ValidateRequest(r.Context(), &openapi3filter.RequestValidationInput{
		Request: checked, PathParams: pathParams, Route: route, Options: opts,
	})
	if err != nil {
		return badRequest("%s", violationDetail(err))
	}
	return nil
}

// readsBody reports whether op reads a request body sent as contentType:
// the spec has a schema for it. A Content-Type that does not parse is
// none.
func readsBody(op *openapi3.Operation, contentType string) bool {
	if op.RequestBody == nil || op.RequestBody.Value == nil {
		return false
	}
	mediaType, _, err := mime.ParseMediaType(contentType)
	return err == nil && op.RequestBody.Value.Content.Get(mediaType) != nil
}

// restoreBody gives r a body that reads body, as if it were unread. An
// empty one is http.NoBody, which is how net/http says "no body", and what
// decodeOptionalJSON looks for.
func restoreBody(r *http.Request, body []byte) {
	r.ContentLength = int64(len(body))
	if len(body) == 0 {
		r.Body = http.NoBody
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
}

// jsonTextDetail describes an error of checkJSONText, after "request
// body: ". The text of a syntax error is left out: it can quote the body.
func jsonTextDetail(err error) string {
	var dup *duplicateFieldError
	switch {
	case errors.As(err, &dup):
		return dup.Error()
	case errors.Is(err, errJSONTrailing):
		return errJSONTrailing.Error()
	default:
		return errJSONSyntax.Error()
	}
}

// violationDetail describes an error of openapi3filter.ValidateRequest for
// the client: which field or parameter, and what is wrong with it. It is
// made from the parts of the error, never from its text, which quotes the
// value that failed (a password, perhaps) and the schema.
func violationDetail(err error) string {
	var reqErr *openapi3filter.RequestError
	if !errors.As(err, &reqErr) {
		return "the request does not fit the API's specification"
	}
	var schemaErr *openapi3.SchemaError
	switch {
	case reqErr.Parameter != nil:
		p := reqErr.Parameter
		subject := fmt.Sprintf("%s parameter %q", p.In, p.Name)
		switch {
		case errors.Is(reqErr.Err, openapi3filter.ErrInvalidRequired):
			return subject + " is missing"
		case errors.Is(reqErr.Err, openapi3filter.ErrInvalidEmptyValue):
			return subject + " must not be empty"
		case errors.As(reqErr.Err, &schemaErr):
			return subject + " " + schemaPredicate(schemaErr)
		}
		return subject + " is not valid"
	case reqErr.RequestBody != nil:
		switch {
		case errors.Is(reqErr.Err, openapi3filter.ErrInvalidRequired):
			return "request body: missing"
		case errors.As(reqErr.Err, &schemaErr):
			return "request body: " + bodySchemaDetail(schemaErr)
		}
		// A body that does not decode; checkJSONText has seen to most.
		return "request body: " + errJSONSyntax.Error()
	}
	return "the request does not fit the API's specification"
}

// bodySchemaDetail describes a schema error of a request body: the field,
// named by its path from the top of the body, and what is wrong.
func bodySchemaDetail(err *openapi3.SchemaError) string {
	path := err.JSONPointer()
	if err.SchemaField == "properties" {
		// additionalProperties: false. The error is about the object; the
		// field it does not allow is the first of its keys (in the sorted
		// order kin-openapi checks them) that the schema does not have.
		if obj, ok := err.Value.(map[string]any); ok && err.Schema != nil {
			keys := make([]string, 0, len(obj))
			for k := range obj {
				if _, known := err.Schema.Properties[k]; !known {
					keys = append(keys, k)
				}
			}
			if len(keys) > 0 {
				return fmt.Sprintf("unknown field %q", fieldPath(append(path, slices.Min(keys))))
			}
		}
		return subjectOf(path) + "has a field it may not have"
	}
	// A "required" error's path ends with the missing field.
	return subjectOf(path) + schemaPredicate(err)
}

// subjectOf is the start of a detail about the body at path: `field "x" `,
// or nothing for the body itself ("request body: must be an object").
func subjectOf(path []string) string {
	if len(path) == 0 {
		return ""
	}
	return fmt.Sprintf("field %q ", fieldPath(path))
}

// schemaPredicate says what is wrong with a value, by the keyword of the
// schema it fails, in terms of the schema only.
func schemaPredicate(err *openapi3.SchemaError) string {
	s := err.Schema
	if s == nil {
		s = &openapi3.Schema{}
	}
	switch err.SchemaField {
	case "required":
		return "is missing"
	case "type":
		if s.Type == nil || len(*s.Type) == 0 {
			break
		}
		types := s.Type.Slice()
		if len(types) > 1 {
			return "must be one of the types " + strings.Join(types, ", ")
		}
		article := "a"
		if strings.ContainsAny(types[0][:1], "aeiou") {
			article = "an"
		}
		return "must be " + article + " " + types[0]
	case "nullable":
		return "must not be null"
	case "enum":
		values := make([]string, 0, len(s.Enum))
		for _, v := range s.Enum {
			b, _ := json.Marshal(v) // a value of the spec, which loaded from YAML
			values = append(values, string(b))
		}
		return "must be one of " + strings.Join(values, ", ")
	case "minLength":
		if s.MinLength == 1 {
			return "must not be empty"
		}
		return fmt.Sprintf("must be at least %d characters long", s.MinLength)
	case "maxLength":
		if s.MaxLength != nil {
			return fmt.Sprintf("must be at most %d characters long", *s.MaxLength)
		}
	case "pattern":
		return "does not match its pattern"
	case "format":
		return "must be a valid " + s.Format
	case "minimum", "exclusiveMinimum", "maximum", "exclusiveMaximum":
		return boundPredicate(err.SchemaField, s)
	case "minItems":
		return fmt.Sprintf("must have at least %d items", s.MinItems)
	case "maxItems":
		if s.MaxItems != nil {
			return fmt.Sprintf("must have at most %d items", *s.MaxItems)
		}
	case "uniqueItems":
		return "must not hold the same item twice"
	case "minProperties":
		return fmt.Sprintf("must have at least %d fields", s.MinProps)
	case "maxProperties":
		if s.MaxProps != nil {
			return fmt.Sprintf("must have at most %d fields", *s.MaxProps)
		}
	}
	return "does not fit its schema"
}

// boundPredicate says which bound of s a number is past.
func boundPredicate(field string, s *openapi3.Schema) string {
	bound := s.Min
	if strings.Contains(field, "aximum") {
		bound = s.Max
	}
	if bound == nil {
		return "is out of range"
	}
	n := strconv.FormatFloat(*bound, 'g', -1, 64)
	switch field {
	case "minimum":
		return "must be at least " + n
	case "exclusiveMinimum":
		return "must be greater than " + n
	case "maximum":
		return "must be at most " + n
	default:
		return "must be less than " + n
	}
}
