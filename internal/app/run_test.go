package app_test

import (
	"bytes"
	"encoding/json"
	"html"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hexchi/starter/internal/app"
	"github.com/hexchi/starter/internal/apptest"
	"github.com/hexchi/starter/internal/blackhole"
	"github.com/hexchi/starter/internal/platform/web"
)

func problemOf(t *testing.T, res apptest.Response) web.Problem {
	t.Helper()
	if ct := res.Header.Get("Content-Type"); ct != "application/problem+json" {
		t.Errorf("Content-Type = %q, want application/problem+json", ct)
	}
	var p web.Problem
	if err := json.Unmarshal(res.Body, &p); err != nil {
		t.Fatalf("problem body %q: %v", res.Body, err)
	}
	return p
}

// errorPageSeen is what an HTML error page shows.
type errorPageSeen struct {
	Status    int
	Sentence  string
	RequestID string
}

var (
	errorStatusRE    = regexp.MustCompile(`<p class="muted">Error (\d+)`)
	errorSentenceRE  = regexp.MustCompile(`<p class="lead">([^<]*)</p>`)
	errorRequestIDRE = regexp.MustCompile(`request id <code>([^<]*)</code>`)
)

// errorPageOf reads an HTML error page, as a browser gets for a page route.
func errorPageOf(t *testing.T, res apptest.Response) errorPageSeen {
	t.Helper()
	if ct := res.Header.Get("Content-Type"); ct != "text/html; charset=utf-8" {
		t.Errorf("Content-Type = %q, want an HTML error page", ct)
	}
	var p errorPageSeen
	body := string(res.Body)
	if m := errorStatusRE.FindStringSubmatch(body); m != nil {
		p.Status, _ = strconv.Atoi(m[1])
	}
	if m := errorSentenceRE.FindStringSubmatch(body); m != nil {
		p.Sentence = html.UnescapeString(m[1])
	}
	if m := errorRequestIDRE.FindStringSubmatch(body); m != nil {
		p.RequestID = m[1]
	}
	if p.Status == 0 || p.Sentence == "" {
		t.Errorf("not an error page:\n%s", body)
	}
	return p
}

func TestRunServesHealth(t *testing.T) {
	srv := apptest.Start(t, nil)
	for _, path := range []string{"/livez", "/readyz"} {
		res := apptest.Get(t, srv.URL+path, nil)
		if res.Status != http.StatusOK || string(res.Body) != "ok\n" {
			t.Errorf("GET %s = %d %q, want 200 ok", path, res.Status, res.Body)
		}
	}
}

func TestRunRequestIDs(t *testing.T) {
	srv := apptest.Start(t, nil)
	tests := map[string]struct {
		inbound string
		keep    bool
	}{
		"valid inbound id is echoed":     {inbound: "edge-42:7", keep: true},
		"invalid inbound id is replaced": {inbound: "<img src=x>", keep: false},
		"missing id is generated":        {inbound: "", keep: false},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			header := http.Header{}
			if tc.inbound != "" {
				header.Set(web.RequestIDHeader, tc.inbound)
			}
			res := apptest.Get(t, srv.URL+"/no/such/page", header)

			id := res.Header.Get(web.RequestIDHeader)
			if id == "" || tc.keep != (id == tc.inbound) {
				t.Errorf("X-Request-Id = %q for inbound %q, want kept = %v", id, tc.inbound, tc.keep)
			}
			p := errorPageOf(t, res)
			if res.Status != http.StatusNotFound || p.Status != http.StatusNotFound || p.RequestID != id {
				t.Errorf("got %d %+v, want a 404 page with request id %q", res.Status, p, id)
			}
			if !slices.ContainsFunc(srv.Logs.Records(), func(rec map[string]any) bool {
				return rec["msg"] == "request" && rec["request_id"] == id
			}) {
				t.Errorf("no access log record with request_id %q", id)
			}
		})
	}
}

func TestRunPrintConfig(t *testing.T) {
	var out bytes.Buffer
	if err := app.Run(t.Context(), []string{"app", "-print-config"}, apptest.Getenv(t, nil), &out); err != nil {
		t.Fatalf("Run: %v", err)
	}
	secrets, err := os.ReadFile(filepath.Join(apptest.ConfigDir(t), "test", "secrets", "core.auth.session.cookie.sign"))
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.Lines(string(secrets)) {
		if secret := strings.TrimSpace(line); secret != "" && strings.Contains(out.String(), secret) {
			t.Errorf("-print-config shows the signing secret %q:\n%s", secret, out.String())
		}
	}
	for _, want := range []string{"store: memory", "addr: 127.0.0.1:0", "sign: "} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("-print-config output lacks %q:\n%s", want, out.String())
		}
	}
}

func TestRunMissingSecret(t *testing.T) {
	secretsDir := t.TempDir()
	err := app.Run(t.Context(), []string{"app"}, apptest.Getenv(t, map[string]string{"APP_SECRETS_DIR": secretsDir}), io.Discard)
	if err == nil {
		t.Fatal("Run without the signing secret succeeded")
	}
	for _, want := range []string{"load config: ", "core.auth.session.cookie.sign", secretsDir} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not contain %q", err, want)
		}
	}
}

func TestRunFlags(t *testing.T) {
	tests := map[string]struct {
		args    []string
		wantErr string // "" for success
		wantOut string
	}{
		"help prints usage":   {args: []string{"app", "-h"}, wantOut: "-print-config"},
		"unknown flag":        {args: []string{"app", "-verbose"}, wantErr: "parse flags: flag provided but not defined: -verbose"},
		"positional argument": {args: []string{"app", "serve"}, wantErr: `unexpected arguments ["serve"]`},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			var out bytes.Buffer
			err := app.Run(t.Context(), tc.args, apptest.Getenv(t, nil), &out)
			if tc.wantErr == "" && err != nil {
				t.Fatalf("Run: %v", err)
			}
			if tc.wantErr != "" && (err == nil || err.Error() != tc.wantErr) {
				t.Fatalf("Run = %v, want %q", err, tc.wantErr)
			}
			if !strings.Contains(out.String(), tc.wantOut) {
				t.Errorf("output %q lacks %q", out.String(), tc.wantOut)
			}
		})
	}
}

// A Redis that accepts connections and never answers must make the app not
// ready within the 1 s readiness timeout, and must not touch liveness.
func TestRunReadyzWithHungRedis(t *testing.T) {
	t.Setenv("CORE_AUTH_SESSION_STORE", "redis")
	t.Setenv("CORE_REDIS_ADDRS", blackhole.Listen(t))
	srv := apptest.Start(t, nil)

	start := time.Now()
	res := apptest.Get(t, srv.URL+"/readyz", nil)
	if elapsed := time.Since(start); elapsed > 1500*time.Millisecond {
		t.Errorf("GET /readyz took %v, want at most 1.5s", elapsed)
	}
	if res.Status != http.StatusServiceUnavailable {
		t.Errorf("GET /readyz = %d, want 503", res.Status)
	}
	if p := problemOf(t, res); p.Status != http.StatusServiceUnavailable || res.Header.Get("Retry-After") == "" {
		t.Errorf("got %+v with Retry-After %q, want a 503 problem with Retry-After", p, res.Header.Get("Retry-After"))
	}

	if res := apptest.Get(t, srv.URL+"/livez", nil); res.Status != http.StatusOK {
		t.Errorf("GET /livez = %d, want 200 while Redis hangs", res.Status)
	}
}

// Errors in the wiring after the config has loaded stop the start with an
// error that says what to fix.
func TestRunStartErrors(t *testing.T) {
	busy, err := (&net.ListenConfig{}).Listen(t.Context(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()

	tests := map[string]struct {
		env     map[string]string // CORE_* overrides
		wantErr string
	}{
		"address in use": {
			env:     map[string]string{"CORE_HTTP_ADDR": busy.Addr().String()},
			wantErr: "listen: ",
		},
		"db on a cluster": {
			env: map[string]string{
				"CORE_AUTH_SESSION_STORE": "redis",
				"CORE_REDIS_ADDRS":        "127.0.0.1:7000,127.0.0.1:7001",
				"CORE_REDIS_DB":           "1",
			},
			wantErr: "core.redis.db",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			err := app.Run(t.Context(), []string{"app"}, apptest.Getenv(t, nil), io.Discard)
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("Run = %v, want an error containing %q", err, tc.wantErr)
			}
		})
	}
}

// TestRunHealthcheck: `app -healthcheck` asks the running server's /readyz
// at core.http.addr and fails when nothing, or nothing ready, answers.
func TestRunHealthcheck(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	check := func() error {
		return app.Run(t.Context(), []string{"app", "-healthcheck"}, apptest.Getenv(t, nil), io.Discard)
	}
	// The wildcard form a container uses: asked on loopback.
	t.Setenv("CORE_HTTP_ADDR", ":"+strconv.Itoa(port))
	if err := check(); err == nil {
		t.Error("-healthcheck with no server = nil, want an error")
	}
	apptest.Start(t, nil)
	var out bytes.Buffer
	if err := app.Run(t.Context(), []string{"app", "-healthcheck"}, apptest.Getenv(t, nil), &out); err != nil || out.String() != "ready\n" {
		t.Errorf("-healthcheck with the server up = %v, %q; want nil and ready", err, out.String())
	}
}
