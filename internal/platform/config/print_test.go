package config

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

func TestPrint(t *testing.T) {
	clearEnv(t)
	tr := newTree(t, "", "core: {auth: {session: {lifetime: 90m}}}")
	tr.writeSecret(t, signFile, secretA+"\n"+secretB+"\n")
	tr.writeSecret(t, "core.redis.password", "redis-password-in-print-test\n")
	cfg, err := Load(tr.opts())
	if err != nil {
		t.Fatalf("Load: %v", err)
	}

	var out bytes.Buffer
	if err := cfg.Print(&out); err != nil {
		t.Fatalf("Print: %v", err)
	}
	printed := out.String()
	wantNoSecret(t, printed, "redis-password-in-print-test")
	for _, want := range []string{
		"\n  http:\n    addr: :8080\n",
		"\n      lifetime: 1h30m\n",
		"\n      initialLifetime: 5m\n",
		"\n    addrs: ['127.0.0.1:6379']\n",
		"\n    password: '********'\n",
		"\n        sign: '******** (2 secrets)'\n",
	} {
		if !strings.Contains(printed, want) {
			t.Errorf("output lacks %q:\n%s", want, printed)
		}
	}

	// Without its secret lines, the output is a config file that loads back
	// to the same configuration: the keys and value formats are the files'.
	var lines []string
	for line := range strings.Lines(printed) {
		if !strings.Contains(line, "password:") && !strings.Contains(line, "sign:") {
			lines = append(lines, line)
		}
	}
	again := newTree(t, strings.Join(lines, ""), "")
	again.writeSecret(t, signFile, secretA+"\n"+secretB+"\n")
	again.writeSecret(t, "core.redis.password", "redis-password-in-print-test\n")
	reloaded, err := Load(again.opts())
	if err != nil {
		t.Fatalf("Load printed config: %v\n%s", err, printed)
	}
	if d := diff(reloaded, cfg); d != "" {
		t.Errorf("printed config loads back differently:\n%s", d)
	}
}

// TestPrintEmptySecrets checks that an unset secret prints as "", so that
// the output tells a missing secret from a set one.
func TestPrintEmptySecrets(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	if err := Default().Print(&out); err != nil {
		t.Fatalf("Print: %v", err)
	}
	for _, want := range []string{"\n    password: \"\"\n", "\n        sign: \"\"\n"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}

func TestPrintWriteError(t *testing.T) {
	t.Parallel()
	if err := Default().Print(failingWriter{}); err == nil {
		t.Error("Print to a failing writer returned no error")
	}
}

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }
