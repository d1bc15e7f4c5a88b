package app

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
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
// "includeCurrnet" must not be silently ignored.
func decodeJSON(w http.ResponseWriter, r *http.Request, v any) error {
	// ParseMediaType accepts parameters (charset=utf-8) and any case.
	mediaType, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mediaType != "application/json" {
		return errUnsupportedMediaType
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxJSONBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return decodeError(err)
	}
	// A second value, or anything but white space, after the first makes
	// the body ambiguous: refuse it rather than guess.
	err = dec.Decode(&struct{}{})
	var tooLarge *http.MaxBytesError
	switch {
	case errors.Is(err, io.EOF):
		return nil
	case errors.As(err, &tooLarge):
		return decodeError(err)
	default:
		return badRequest("the body must hold a single JSON value")
	}
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

// decodeError turns an error of json.Decoder into one for respondError.
func decodeError(err error) error {
	var (
		tooLarge *http.MaxBytesError
		syntax   *json.SyntaxError
		typ      *json.UnmarshalTypeError
	)
	switch {
	case errors.As(err, &tooLarge):
		return fmt.Errorf("%w: over %d bytes", errTooLarge, tooLarge.Limit)
	case errors.Is(err, io.EOF):
		return badRequest("the body is empty")
	case errors.As(err, &syntax), errors.Is(err, io.ErrUnexpectedEOF):
		return badRequest("the body is not valid JSON")
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
	// What is left is a failed read: the client hung up or sent too slowly.
	// Its text (addresses, timeouts) is not for the client.
	return badRequest("the body could not be read")
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
