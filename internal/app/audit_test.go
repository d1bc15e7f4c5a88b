package app_test

import (
	"net"
	"net/http"
	"testing"

	"github.com/alicebob/miniredis/v2"

	"github.com/hexchi/starter/internal/apptest"
)

// records returns the app's log records whose msg is msg.
func records(srv *apptest.Server, msg string) []map[string]any {
	var out []map[string]any
	for _, r := range srv.Logs.Records() {
		if r["msg"] == msg {
			out = append(out, r)
		}
	}
	return out
}

// TestAuditLinesFollowCommits: the "login" line used to be written before
// the session was stored, so with Redis down the client got a 503 and the
// log said it had logged in. It is written once the session is stored, and
// so is "logout".
func TestAuditLinesFollowCommits(t *testing.T) {
	mr := miniredis.RunT(t)
	t.Setenv("CORE_AUTH_SESSION_STORE", "redis")
	t.Setenv("CORE_REDIS_ADDRS", mr.Addr())
	srv := apptest.Start(t, nil)
	c := apptest.NewClient(t, srv.URL)

	// Down, not answering errors: with SetError, MULTI itself fails, and
	// go-redis leaves the transaction's other replies unread on the login
	// limits' connection (internal/app/limits.go), which the next login
	// could read.
	mr.Close()
	if r := c.Do(http.MethodPost, "/api/v1/auth/login", []byte(demoLogin), jsonType); r.Status != http.StatusServiceUnavailable {
		t.Fatalf("login with Redis down = %d, want 503", r.Status)
	}
	if got := records(srv, "login"); len(got) != 0 {
		t.Errorf("a login that was never stored was logged: %v", got)
	}

	if err := mr.Restart(); err != nil {
		t.Fatal(err)
	}
	if r := c.Do(http.MethodPost, "/api/v1/auth/login", []byte(demoLogin), jsonType); r.Status != http.StatusOK {
		t.Fatalf("login = %d, want 200", r.Status)
	}
	got := records(srv, "login")
	if len(got) != 1 || got[0]["user"] != demoUser || got[0]["client"] != "127.0.0.1" {
		t.Errorf("login lines %v, want one for the demo user from 127.0.0.1", got)
	}
	if r := c.Do(http.MethodPost, "/api/v1/auth/logout", nil, ""); r.Status != http.StatusNoContent {
		t.Fatalf("logout = %d", r.Status)
	}
	if got := records(srv, "logout"); len(got) != 1 || got[0]["user"] != demoUser {
		t.Errorf("logout lines %v, want one for the demo user", got)
	}
}

// TestGoRedisLogsInTheAppLog: go-redis's own complaints used to go to
// stderr as plain text ("redis: 2026/12/01 ... pool.go:770: ..."), in the
// middle of the JSON log. They are records of the app's log now.
func TestGoRedisLogsInTheAppLog(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there: every dial is refused, which go-redis logs
	t.Setenv("CORE_AUTH_SESSION_STORE", "redis")
	t.Setenv("CORE_REDIS_ADDRS", addr)
	srv := apptest.Start(t, nil)
	c := apptest.NewClient(t, srv.URL)
	if r := c.Do(http.MethodGet, "/readyz", nil, ""); r.Status != http.StatusServiceUnavailable {
		t.Fatalf("/readyz with nothing at %s = %d, want 503", addr, r.Status)
	}
	var found bool
	for _, r := range srv.Logs.Records() {
		if r["component"] == "go-redis" && r["level"] == "WARN" {
			found = true
		}
	}
	if !found {
		t.Errorf("no WARN record of component go-redis in the app log:\n%s", srv.Logs)
	}
}
