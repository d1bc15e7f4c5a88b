package app

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"unicode/utf8"
)

// maxJSONBody bounds a JSON request body. The largest the API expects, a
// login, is a few hundred bytes: the limit stops a client from making the
// server read and parse megabytes.
const maxJSONBody = 4 << 10

// decodeJSON reads the request body, one JSON value, into v. Its errors are
// ready for respondError: errUnsupportedMediaType unless the body is sent
// as application/json, errTooLarge past maxJSONBody, and otherwise a
// badRequest whose detail tells the client what is wrong without echoing
// internals. A field v does not have is an error too: a misspelt
// "includeCurrnet" must not be silently ignored; and so is a field given
// twice, of which encoding/json would silently keep the last.
//
// The API's request validator (api_validate.go) has checked the body
// against the spec already, case-sensitively, which encoding/json cannot
// do; these checks are the handlers' own, so that a handler is safe
// however it is mounted.
func decodeJSON(w http.ResponseWriter, r *http.Request, v any) error {
	// ParseMediaType accepts parameters (charset=utf-8) and any case.
	mediaType, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mediaType != "application/json" {
		return errUnsupportedMediaType
	}
	body, err := readBody(w, r)
	if err != nil {
		return err
	}
	// The body is read whole first (it is small), so that its syntax and
	// keys are checked before any of it is decoded.
	switch err := checkJSONText(body); {
	case errors.Is(err, errJSONEmpty):
		return badRequest("the body is empty")
	case errors.Is(err, errJSONSyntax):
		return badRequest("the body is not valid JSON")
	case errors.Is(err, errJSONTrailing):
		// A second value, or anything but white space, after the first
		// makes the body ambiguous: refuse it rather than guess.
		return badRequest("the body must hold a single JSON value")
	case err != nil:
		return badRequest("%s", err) // a *duplicateFieldError: it names the field
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return decodeError(err)
	}
	return nil
}

// decodeOptionalJSON is decodeJSON for a body the client may leave out:
// without a body, v keeps its defaults. net/http gives a request that has
// no body http.NoBody.
func decodeOptionalJSON(w http.ResponseWriter, r *http.Request, v any) error {
	if r.Body == http.NoBody {
		return nil
	}
	return decodeJSON(w, r, v)
}

// readBody reads the whole request body, at most maxJSONBody bytes of it.
// Its errors are ready for respondError: errTooLarge past the limit, and a
// badRequest when the read fails (the client hung up or sent too slowly),
// whose text (addresses, timeouts) is not for the client.
func readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxJSONBody))
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &tooLarge):
		return nil, fmt.Errorf("%w: over %d bytes", errTooLarge, tooLarge.Limit)
	case err != nil:
		return nil, badRequest("the body could not be read")
	}
	return body, nil
}

// The errors of checkJSONText; their texts are phrased to follow
// "request body: " in a problem's detail.
var (
	errJSONEmpty    = errors.New("empty")
	errJSONSyntax   = errors.New("not valid JSON")
	errJSONTrailing = errors.New("more than one JSON value")
)

// duplicateFieldError is checkJSONText's error for an object that has a
// key twice. Path names the key from the top of the body.
type duplicateFieldError struct{ path string }

func (e *duplicateFieldError) Error() string { return fmt.Sprintf("duplicate field %q", e.path) }

// checkJSONText checks that body is a single JSON value, white space
// around it aside, in which no object has the same key twice. RFC 8259
// leaves duplicate keys to the reader; encoding/json keeps the last and
// cannot say it saw two, so that {"username":"x","username":"demo"} would
// mean whatever the last reader of it decides. Only a walk over the tokens
// sees them, at any depth.
func checkJSONText(body []byte) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	// Numbers stay text: 1e999 is valid JSON, if not a float64.
	dec.UseNumber()
	if err := checkJSONValue(dec, nil); err != nil {
		return err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return errJSONTrailing
	}
	return nil
}

// checkJSONValue reads the next value of dec, at path, and checks the keys
// of its objects.
func checkJSONValue(dec *json.Decoder, path []string) error {
	tok, err := dec.Token()
	switch {
	case errors.Is(err, io.EOF) && path == nil:
		return errJSONEmpty
	case err != nil:
		return fmt.Errorf("%w: %w", errJSONSyntax, err)
	}
	switch tok {
	case json.Delim('{'):
		seen := map[string]bool{}
		for dec.More() {
			tok, err := dec.Token()
			if err != nil {
				return fmt.Errorf("%w: %w", errJSONSyntax, err)
			}
			key, _ := tok.(string) // the Decoder reads nothing else where a key goes
			if seen[key] {
				return &duplicateFieldError{path: fieldPath(append(path, key))}
			}
			seen[key] = true
			if err := checkJSONValue(dec, append(path, key)); err != nil {
				return err
			}
		}
	case json.Delim('['):
		for i := 0; dec.More(); i++ {
			if err := checkJSONValue(dec, append(path, strconv.Itoa(i))); err != nil {
				return err
			}
		}
	default:
		return nil // a scalar
	}
	// The closing '}' or ']'; Token checks that it matches.
	if _, err := dec.Token(); err != nil {
		return fmt.Errorf("%w: %w", errJSONSyntax, err)
	}
	return nil
}

// maxFieldName bounds, in bytes, a field name that a problem detail quotes:
// the name is the client's own, and up to the body's size.
const maxFieldName = 64

// fieldPath names a field of a body by its path from the top, the keys
// (and array indices) joined with dots: "includeCurrent", "a.b", "list.0".
func fieldPath(path []string) string {
	s := strings.Join(path, ".")
	if len(s) <= maxFieldName {
		return s
	}
	cut := maxFieldName
	for cut > 0 && !utf8.RuneStart(s[cut]) { // never cut a rune in half
		cut--
	}
	return s[:cut] + "…"
}

// decodeError turns an error of json.Decoder, decoding a body that
// checkJSONText has passed, into one for respondError.
func decodeError(err error) error {
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &typ) && typ.Field == "":
		return badRequest("the body must be a JSON object")
	case errors.As(err, &typ):
		return badRequest("field %q cannot be a JSON %s", typ.Field, typ.Value)
	}
	// encoding/json reports an unknown field with an untyped error only
	// (golang/go#29035). The name it quotes is the client's own input.
	if field, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		return badRequest("unknown field %s", field)
	}
	// What is left is a value v's type refuses (a time that does not
	// parse, say): its text may quote the value, which is not for a
	// problem, as it could be a password.
	return badRequest("the body does not fit the request")
}

// writeJSON answers with status and v as JSON. v is encoded before the
// header is written, so that an encoding error can still become a 500.
func (a *app) writeJSON(w http.ResponseWriter, r *http.Request, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		a.respondError(w, r, fmt.Errorf("encode response: %w", err))
		return
	}
	setJSONHeaders(w.Header())
	w.WriteHeader(status)
	// A failed write means the client is gone; there is nobody to tell.
	_, _ = w.Write(append(body, '\n'))
}

// setJSONHeaders sets the headers of a JSON answer. Every answer of the API
// describes a session or a user, so no cache may store one.
func setJSONHeaders(h http.Header) {
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
}
