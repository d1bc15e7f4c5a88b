package app

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestDecodeJSON(t *testing.T) {
	type body struct {
		Name string `json:"name"`
	}
	tests := map[string]struct {
		ct, body   string
		want       body
		wantErr    error  // nil for success
		wantDetail string // of a 400
	}{
		"an object":             {ct: "application/json", body: `{"name":"x"}`, want: body{Name: "x"}},
		"a charset parameter":   {ct: "application/json; charset=utf-8", body: `{"name":"x"}`, want: body{Name: "x"}},
		"the type in any case":  {ct: "Application/JSON", body: `{"name":"x"}`, want: body{Name: "x"}},
		"white space around it": {ct: "application/json", body: "\n {\"name\":\"x\"} \r\n", want: body{Name: "x"}},
		"no Content-Type":       {body: `{"name":"x"}`, wantErr: errUnsupportedMediaType},
		"text/plain":            {ct: "text/plain", body: `{"name":"x"}`, wantErr: errUnsupportedMediaType},
		"a +json type":          {ct: "application/merge-patch+json", body: `{"name":"x"}`, wantErr: errUnsupportedMediaType},
		"a malformed type":      {ct: "application/json; =", body: `{"name":"x"}`, wantErr: errUnsupportedMediaType},
		"an empty body":         {ct: "application/json", wantErr: errBadRequest, wantDetail: "the body is empty"},
		"broken JSON":           {ct: "application/json", body: `{"name":`, wantErr: errBadRequest, wantDetail: "the body is not valid JSON"},
		"not JSON":              {ct: "application/json", body: `name=x`, wantErr: errBadRequest, wantDetail: "the body is not valid JSON"},
		"an array": {
			ct: "application/json", body: `["x"]`, wantErr: errBadRequest, wantDetail: "the body must be a JSON object",
		},
		"a field of the wrong type": {
			ct: "application/json", body: `{"name":1}`, wantErr: errBadRequest, wantDetail: `field "name" cannot be a JSON number`,
		},
		"an unknown field": {
			ct: "application/json", body: `{"name":"x","admin":true}`, wantErr: errBadRequest, wantDetail: `unknown field "admin"`,
		},
		"two values": {
			ct: "application/json", body: `{"name":"x"}{"name":"y"}`, wantErr: errBadRequest,
			wantDetail: "the body must hold a single JSON value",
		},
		"garbage after the value": {
			ct: "application/json", body: `{"name":"x"} x`, wantErr: errBadRequest,
			wantDetail: "the body must hold a single JSON value",
		},
		"too large": {
			ct: "application/json", body: `{"name":"` + strings.Repeat("x", maxJSONBody) + `"}`, wantErr: errTooLarge,
		},
		"too large after the value": {
			ct: "application/json", body: `{"name":"x"}` + strings.Repeat(" ", maxJSONBody), wantErr: errTooLarge,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			r := httptest.NewRequestWithContext(t.Context(), http.MethodPost, "/", strings.NewReader(tc.body))
			if tc.ct != "" {
				r.Header.Set("Content-Type", tc.ct)
			}
			var got body
			err := decodeJSON(httptest.NewRecorder(), r, &got)

			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("err = %v, want %v", err, tc.wantErr)
			}
			switch {
			case err != nil && detail(err) != tc.wantDetail:
				t.Errorf("detail = %q, want %q", detail(err), tc.wantDetail)
			case err == nil && got != tc.want:
				t.Errorf("decoded %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestDecodeOptionalJSON(t *testing.T) {
	type body struct {
		On bool `json:"on"`
	}
	tests := map[string]struct {
		ct, body string
		want     body
		wantErr  error
	}{
		"no body keeps the defaults": {want: body{On: true}},
		"a body is decoded":          {ct: "application/json", body: `{"on":false}`, want: body{On: false}},
		"a body is checked":          {ct: "text/plain", body: `{"on":false}`, want: body{On: true}, wantErr: errUnsupportedMediaType},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			// httptest.NewRequest, like net/http's server, gives a request
			// without a body http.NoBody.
			var rb io.Reader
			if tc.body != "" {
				rb = strings.NewReader(tc.body)
			}
			r := httptest.NewRequestWithContext(t.Context(), http.MethodPost, "/", rb)
			if tc.ct != "" {
				r.Header.Set("Content-Type", tc.ct)
			}
			got := body{On: true}
			err := decodeOptionalJSON(httptest.NewRecorder(), r, &got)

			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("err = %v, want %v", err, tc.wantErr)
			}
			if got != tc.want {
				t.Errorf("decoded %+v, want %+v", got, tc.want)
			}
		})
	}
}
