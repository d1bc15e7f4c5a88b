//go:build unix

// The process test signals the binary with SIGTERM, which Windows lacks.

package main

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hexchi/starter/internal/apptest"
)

// TestProcess builds the real binary and checks what only a process shows:
// main's signal handling and exit codes.
func TestProcess(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	bin := buildApp(t)
	env := append(os.Environ(),
		"APP_ENV=test",
		"APP_CONFIG_DIR="+apptest.ConfigDir(t),
		"CORE_HTTP_ADDR=127.0.0.1:0",
		"CORE_LOG_LEVEL=info", // the listening record is at info
	)

	t.Run("serves and exits 0 on SIGTERM", func(t *testing.T) {
		// No test context: the test decides when the process stops, and
		// checks how. The deferred Kill covers a failed assertion.
		logs := apptest.NewLogs()
		cmd := exec.Command(bin)
		cmd.Env = env
		cmd.Stdout, cmd.Stderr = logs, logs
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		// The goroutine is the process's only waiter and ends with it;
		// waitErr may be read once exited is closed.
		var waitErr error
		exited := make(chan struct{})
		go func() {
			waitErr = cmd.Wait()
			close(exited)
		}()
		defer func() {
			_ = cmd.Process.Kill() // fails harmlessly if the process has exited
			<-exited
			if t.Failed() {
				t.Logf("app output:\n%s", logs)
			}
		}()

		select {
		case <-logs.Listening():
		case <-exited:
			t.Fatalf("app exited before listening: %v", waitErr)
		case <-time.After(10 * time.Second):
			t.Fatal("app did not log listening within 10s")
		}

		if res := apptest.Get(t, "http://"+logs.Addr()+"/livez", nil); res.Status != http.StatusOK || string(res.Body) != "ok\n" {
			t.Errorf("GET /livez = %d %q, want 200 ok", res.Status, res.Body)
		}

		if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		select {
		case <-exited:
			var exitErr *exec.ExitError
			if errors.As(waitErr, &exitErr) {
				t.Errorf("exit code %d after SIGTERM, want 0", exitErr.ExitCode())
			} else if waitErr != nil {
				t.Errorf("wait: %v", waitErr)
			}
		case <-time.After(5 * time.Second):
			t.Error("app still running 5s after SIGTERM")
		}
		if !strings.Contains(logs.String(), `"msg":"stopped"`) {
			t.Error("no stopped record: the shutdown did not complete")
		}
	})

	t.Run("exits 1 with the error on stderr", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		defer cancel()
		var stdout, stderr bytes.Buffer
		cmd := exec.CommandContext(ctx, bin)
		cmd.Env = append(env, "APP_SECRETS_DIR="+t.TempDir())
		cmd.Stdout, cmd.Stderr = &stdout, &stderr

		err := cmd.Run()
		var exitErr *exec.ExitError
		if !errors.As(err, &exitErr) || exitErr.ExitCode() != 1 {
			t.Fatalf("run = %v, want exit code 1", err)
		}
		if !strings.HasPrefix(stderr.String(), "app: load config: ") {
			t.Errorf("stderr = %q, want the config error", stderr.String())
		}
		if stdout.Len() != 0 {
			t.Errorf("stdout = %q, want nothing", stdout.String())
		}
	})
}

// buildApp builds this package's binary into a temporary directory.
func buildApp(t *testing.T) string {
	t.Helper()
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command on PATH to build the binary with")
	}
	bin := filepath.Join(t.TempDir(), "app")
	out, err := exec.CommandContext(t.Context(), goBin, "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}
