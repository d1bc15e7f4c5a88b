package apptest

import (
	"context"
	"maps"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/hexchi/starter/internal/app"
)

const (
	// startTimeout bounds how long Start waits for the listening record.
	startTimeout = 10 * time.Second
	// stopTimeout bounds how long the cleanup waits for Run to return. It
	// is above the shutdown timeout of the test config.
	stopTimeout = 30 * time.Second
)

// Server is an app started by Start.
type Server struct {
	Addr string // host:port it listens on
	URL  string // http://Addr, without a trailing slash
	Logs *Logs  // what it has logged so far
}

// Start runs app.Run in the background and returns once it listens. When
// the test ends, Start's cleanup cancels Run's context, waits for Run to
// return and fails the test if it returned an error.
//
// env holds the APP_* variables Run reads through getenv. APP_ENV defaults
// to test and APP_CONFIG_DIR to the repository's config directory. The
// config loader reads key overrides (CORE_*) from the process environment,
// so set those with t.Setenv before calling Start.
//
// Start finds the address in the app's "listening" record, which is logged
// at info: config/test logs at info for that reason (the log is captured,
// not printed).
//
// If the test fails, the app's log is printed with it.
func Start(t testing.TB, env map[string]string) *Server {
	t.Helper()
	getenv := Getenv(t, env)
	logs := NewLogs()
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- app.Run(ctx, []string{"app"}, getenv, logs) }()

	stop := func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("app.Run: %v", err)
			}
		case <-time.After(stopTimeout):
			// Run's goroutine is abandoned; the failing test reports it.
			t.Errorf("app.Run did not return %v after its context was cancelled", stopTimeout)
		}
		if t.Failed() {
			t.Logf("app log:\n%s", logs)
		}
	}

	select {
	case <-logs.Listening():
	case err := <-done:
		cancel()
		t.Fatalf("app.Run returned before listening: %v\napp log:\n%s", err, logs)
	case <-time.After(startTimeout):
		stop()
		t.Fatalf("app did not log %q within %v (is CORE_LOG_LEVEL above info?)", "listening", startTimeout)
	}
	t.Cleanup(stop)
	return &Server{Addr: logs.Addr(), URL: "http://" + logs.Addr(), Logs: logs}
}

// Getenv returns a getenv for app.Run that reads env, with APP_ENV
// defaulting to test and APP_CONFIG_DIR to ConfigDir. It never reads the
// process environment, so a developer's own APP_* variables cannot change
// what a test runs against.
func Getenv(t testing.TB, env map[string]string) func(string) string {
	t.Helper()
	vars := map[string]string{
		"APP_ENV":        "test",
		"APP_CONFIG_DIR": ConfigDir(t),
	}
	maps.Copy(vars, env)
	return func(key string) string { return vars[key] }
}

// ConfigDir returns the absolute path of the repository's config directory,
// found by walking up from the working directory (the package directory of
// the test) to the go.mod.
func ConfigDir(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatalf("apptest: %v", err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return filepath.Join(dir, "config")
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("apptest: no go.mod above the working directory")
		}
		dir = parent
	}
}
