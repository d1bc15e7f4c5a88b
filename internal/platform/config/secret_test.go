package config

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

func TestSecretListSetValue(t *testing.T) {
	t.Parallel()
	short := "short-secret"
	tests := []struct {
		name    string
		text    string
		want    []string
		wantErr string
	}{
		{name: "one line", text: secretA, want: []string{secretA}},
		{name: "two lines in order", text: secretA + "\n" + secretB, want: []string{secretA, secretB}},
		{name: "trailing newline", text: secretA + "\n" + secretB + "\n", want: []string{secretA, secretB}},
		{name: "CRLF line endings", text: secretA + "\r\n" + secretB + "\r\n", want: []string{secretA, secretB}},
		{name: "blank lines at the end", text: secretA + "\n\n \n\r\n", want: []string{secretA}},
		{name: "empty", text: "", want: nil},
		{name: "only newlines", text: "\n\n", want: nil},
		{name: "blank line in the middle", text: secretA + "\n\n" + secretB + "\n", wantErr: "line 2: blank line between secrets"},
		{name: "space-only line in the middle", text: secretA + "\n  \n" + secretB, wantErr: "line 2: blank line"},
		{name: "short secret", text: secretA + "\n" + short + "\n", wantErr: "line 2: secret is shorter than 32 bytes"},
		{name: "31 bytes", text: strings.Repeat("x", MinSecretLen-1), wantErr: "line 1: secret is shorter"},
		{name: "32 bytes", text: strings.Repeat("x", MinSecretLen), want: []string{strings.Repeat("x", MinSecretLen)}},
		{name: "duplicate", text: secretA + "\n" + secretB + "\n" + secretA + "\n", wantErr: "line 3: same secret as line 1"},
		{name: "duplicate after CR is stripped", text: secretA + "\r\n" + secretA + "\n", wantErr: "line 2: same secret as line 1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var got SecretList
			err := got.SetValue(tt.text)
			if tt.wantErr != "" {
				wantErr(t, err, tt.wantErr)
				wantNoSecret(t, err.Error(), short)
				return
			}
			if err != nil {
				t.Fatalf("SetValue: %v", err)
			}
			if !slices.Equal(got.Reveal(), tt.want) || (tt.want == nil) != (got == nil) {
				t.Errorf("got %q, want %q", got.Reveal(), tt.want)
			}
		})
	}
}

func TestSecretSetValue(t *testing.T) {
	t.Parallel()
	tests := []struct {
		text, want, wantErr string
	}{
		{text: "pw", want: "pw"},
		{text: "pw\n", want: "pw"},
		{text: "pw\r\n", want: "pw"},
		{text: "with spaces ", want: "with spaces "},
		{text: "", want: ""},
		{text: "one\ntwo\n", wantErr: "want a single line"},
	}
	for _, tt := range tests {
		var got Secret
		err := got.SetValue(tt.text)
		switch {
		case tt.wantErr != "":
			wantErr(t, err, tt.wantErr)
		case err != nil:
			t.Errorf("SetValue(%q): %v", tt.text, err)
		case got.Reveal() != tt.want:
			t.Errorf("SetValue(%q) = %q, want %q", tt.text, got.Reveal(), tt.want)
		}
	}
}

func TestLoadSecretFiles(t *testing.T) {
	short := "short-secret"
	tests := []struct {
		name    string
		files   map[string]string // secret files; a nil map removes the sign file
		env     map[string]string
		want    func(*Config)
		wantErr []string // "{dir}" is replaced by the secrets directory
	}{
		{
			name:  "rotation: two lines in order",
			files: map[string]string{signFile: secretA + "\n" + secretB + "\n"},
			want:  func(c *Config) { c.Core.Auth.Session.Cookie.Sign = SecretList{secretA, secretB} },
		},
		{
			name:  "CRLF file",
			files: map[string]string{signFile: secretB + "\r\n" + secretA + "\r\n"},
			want:  func(c *Config) { c.Core.Auth.Session.Cookie.Sign = SecretList{secretB, secretA} },
		},
		{
			name:  "optional secret with trailing newline",
			files: map[string]string{signFile: secretA, "core.redis.password": "pw\n"},
			want:  func(c *Config) { c.Core.Redis.Password = "pw" },
		},
		{
			name: "rotation from an environment variable",
			env:  map[string]string{"CORE_AUTH_SESSION_COOKIE_SIGN": secretB + "\n" + secretA},
			want: func(c *Config) { c.Core.Auth.Session.Cookie.Sign = SecretList{secretB, secretA} },
		},
		{
			name:    "missing required secret",
			files:   nil,
			wantErr: []string{"secret core.auth.session.cookie.sign: missing: open {dir}" + string(filepath.Separator) + signFile + ": ", "(or set CORE_AUTH_SESSION_COOKIE_SIGN)"},
		},
		{
			name:    "empty required secret file",
			files:   map[string]string{signFile: "\n"},
			wantErr: []string{"secret core.auth.session.cookie.sign: missing: {dir}" + string(filepath.Separator) + signFile + " holds no secret"},
		},
		{
			name:    "empty environment variable hides the file",
			files:   map[string]string{signFile: secretA},
			env:     map[string]string{"CORE_AUTH_SESSION_COOKIE_SIGN": ""},
			wantErr: []string{"secret core.auth.session.cookie.sign: missing: CORE_AUTH_SESSION_COOKIE_SIGN is set but empty"},
		},
		{
			name:    "short secret in the file",
			files:   map[string]string{signFile: secretA + "\n" + short + "\n"},
			wantErr: []string{"secret core.auth.session.cookie.sign: {dir}" + string(filepath.Separator) + signFile + ": line 2: secret is shorter than 32 bytes"},
		},
		{
			name:    "duplicate secret in the file",
			files:   map[string]string{signFile: secretA + "\n" + secretA + "\n"},
			wantErr: []string{"secret core.auth.session.cookie.sign: {dir}" + string(filepath.Separator) + signFile + ": line 2: same secret as line 1"},
		},
		{
			name:    "blank middle line in the file",
			files:   map[string]string{signFile: secretA + "\n\n" + secretB + "\n"},
			wantErr: []string{"{dir}" + string(filepath.Separator) + signFile + ": line 2: blank line"},
		},
		{
			name:    "short secret in an environment variable",
			env:     map[string]string{"CORE_AUTH_SESSION_COOKIE_SIGN": secretA + "\n" + short},
			wantErr: []string{"CORE_AUTH_SESSION_COOKIE_SIGN", "core.auth.session.cookie.sign", "line 2: secret is shorter than 32 bytes"},
		},
		{
			name:    "duplicate secret in an environment variable",
			env:     map[string]string{"CORE_AUTH_SESSION_COOKIE_SIGN": secretB + "\n" + secretB},
			wantErr: []string{"CORE_AUTH_SESSION_COOKIE_SIGN", "core.auth.session.cookie.sign", "line 2: same secret as line 1"},
		},
		{
			name:    "two lines in a single-value secret",
			files:   map[string]string{signFile: secretA, "core.redis.password": "one\ntwo\n"},
			wantErr: []string{"secret core.redis.password: {dir}" + string(filepath.Separator) + "core.redis.password: want a single line"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clearEnv(t)
			tr := newTree(t, "", "")
			tr.removeSecret(t, signFile)
			for name, content := range tt.files {
				tr.writeSecret(t, name, content)
			}
			setEnv(t, tt.env)

			got, err := Load(tr.opts())
			if tt.wantErr != nil {
				var want []string
				for _, w := range tt.wantErr {
					want = append(want, strings.ReplaceAll(w, "{dir}", tr.secretsDir()))
				}
				wantErr(t, err, want...)
				wantNoSecret(t, err.Error(), short)
				return
			}
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			want := defaultWithSign()
			tt.want(&want)
			if d := diff(got, want); d != "" {
				t.Errorf("config differs:\n%s", d)
			}
		})
	}
}

func TestLoadSecretUnreadable(t *testing.T) {
	clearEnv(t)
	tr := newTree(t, "", "")
	// A directory where the file should be: reading fails with something
	// other than "does not exist", which must not pass for a missing secret.
	if err := os.Mkdir(filepath.Join(tr.secretsDir(), "core.redis.password"), 0o700); err != nil {
		t.Fatal(err)
	}
	_, err := Load(tr.opts())
	wantErr(t, err, "secret core.redis.password", filepath.Join(tr.secretsDir(), "core.redis.password"))
}

// TestSecretNeverPrints tries every way a secret could reach a log or a
// terminal by accident.
func TestSecretNeverPrints(t *testing.T) {
	t.Parallel()
	s := Secret(secretA)
	list := SecretList{secretA, secretB}
	cfg := Default()
	cfg.Core.Redis.Password = s
	cfg.Core.Auth.Session.Cookie.Sign = list

	var outputs []string
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d", "%10.3s", "%T"} {
		outputs = append(outputs, fmt.Sprintf(verb, s), fmt.Sprintf(verb, list), fmt.Sprintf(verb, &s), fmt.Sprintf(verb, cfg))
	}
	outputs = append(outputs, fmt.Sprint(s, list), fmt.Sprintln(s, list), s.String(), list.String())

	for _, v := range []any{s, list, cfg} {
		j, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		y, err := yaml.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		outputs = append(outputs, string(j), string(y))
	}

	var logs bytes.Buffer
	for _, h := range []slog.Handler{slog.NewJSONHandler(&logs, nil), slog.NewTextHandler(&logs, nil)} {
		slog.New(h).Info("config", "secret", s, "list", list, "cfg", cfg, slog.Any("any", s))
	}
	outputs = append(outputs, logs.String())

	for _, out := range outputs {
		wantNoSecret(t, out)
		for _, secret := range []string{secretA, secretB} {
			if strings.Contains(strings.ToLower(out), hex.EncodeToString([]byte(secret))) {
				t.Errorf("output reveals a secret in hex: %s", out)
			}
		}
	}
	if !strings.Contains(logs.String(), mask) {
		t.Errorf("log output has no mask:\n%s", logs.String())
	}
}

func TestSecretMask(t *testing.T) {
	t.Parallel()
	tests := []struct {
		value fmt.Stringer
		want  string
	}{
		{Secret(""), ""},
		{Secret("x"), "********"},
		{SecretList(nil), ""},
		{SecretList{"x"}, "******** (1 secret)"},
		{SecretList{"x", "y"}, "******** (2 secrets)"},
	}
	for _, tt := range tests {
		if got := fmt.Sprint(tt.value); got != tt.want {
			t.Errorf("fmt.Sprint(%T with %d bytes) = %q, want %q", tt.value, len(tt.value.String()), got, tt.want)
		}
	}
	if got := Secret("x").Reveal(); got != "x" {
		t.Errorf("Reveal = %q, want %q", got, "x")
	}
}
