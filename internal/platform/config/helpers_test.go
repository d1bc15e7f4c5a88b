package config

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// Test secrets: at least MinSecretLen bytes each, and never expected in any
// output or error.
const (
	secretA = "test-secret-A-0123456789abcdefghijklmnop"
	secretB = "test-secret-B-0123456789abcdefghijklmnop"
)

// signFile is the secret file of the required signing key.
const signFile = "core.auth.session.cookie.sign"

// clearEnv unsets every configuration variable for the rest of the test, so
// that a variable in the developer's shell cannot change the outcome.
// t.Setenv restores the old value afterwards.
func clearEnv(t *testing.T) {
	t.Helper()
	for _, k := range Keys() {
		t.Setenv(k.Env, "")
		if err := os.Unsetenv(k.Env); err != nil {
			t.Fatal(err)
		}
	}
}

// setEnv sets the variables in env for the rest of the test.
func setEnv(t *testing.T, env map[string]string) {
	t.Helper()
	for k, v := range env {
		t.Setenv(k, v)
	}
}

// writeFiles writes files (path relative to dir -> content) under dir.
func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		path := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

// tree is a config directory for the "dev" environment in a temporary
// directory: the base file, the overlay, and a valid signing secret, which a
// test can replace or delete.
type tree struct {
	dir string
}

func newTree(t *testing.T, base, overlay string) tree {
	t.Helper()
	tr := tree{dir: t.TempDir()}
	writeFiles(t, tr.dir, map[string]string{
		"config.yaml":                             base,
		filepath.Join("dev", "config.yaml"):       overlay,
		filepath.Join("dev", "secrets", signFile): secretA + "\n",
	})
	return tr
}

func (tr tree) opts() Options      { return Options{Env: "dev", Dir: tr.dir} }
func (tr tree) base() string       { return filepath.Join(tr.dir, "config.yaml") }
func (tr tree) overlay() string    { return filepath.Join(tr.dir, "dev", "config.yaml") }
func (tr tree) secretsDir() string { return filepath.Join(tr.dir, "dev", "secrets") }

// writeSecret replaces the content of the secret file named key.
func (tr tree) writeSecret(t *testing.T, key, content string) {
	t.Helper()
	writeFiles(t, tr.secretsDir(), map[string]string{key: content})
}

// removeSecret deletes the secret file named key.
func (tr tree) removeSecret(t *testing.T, key string) {
	t.Helper()
	if err := os.Remove(filepath.Join(tr.secretsDir(), key)); err != nil {
		t.Fatal(err)
	}
}

// defaultWithSign is what a tree with empty layers loads: the defaults and
// the signing secret.
func defaultWithSign() Config {
	c := Default()
	c.Core.Auth.Session.Cookie.Sign = SecretList{secretA}
	return c
}

// diff lists the keys whose values differ between got and want, with the
// secrets revealed: a test may show its own dummy secrets.
func diff(got, want Config) string {
	g, w := reflect.ValueOf(got), reflect.ValueOf(want)
	var out []string
	for _, f := range schema().fields {
		gv, wv := reveal(g.FieldByIndex(f.index)), reveal(w.FieldByIndex(f.index))
		if !reflect.DeepEqual(gv, wv) && !bothEmptyLists(gv, wv) {
			out = append(out, fmt.Sprintf("%s: got %#v, want %#v", f.Key, gv, wv))
		}
	}
	return strings.Join(out, "\n")
}

// bothEmptyLists reports whether a and b are lists with no elements: a YAML
// `[]` and an unset list mean the same.
func bothEmptyLists(a, b any) bool {
	va, vb := reflect.ValueOf(a), reflect.ValueOf(b)
	return va.Kind() == reflect.Slice && vb.Kind() == reflect.Slice && va.Len() == 0 && vb.Len() == 0
}

// reveal returns v's value, with a secret turned into its plain text.
func reveal(v reflect.Value) any {
	switch x := v.Interface().(type) {
	case Secret:
		return x.Reveal()
	case SecretList:
		if x == nil {
			return []string(nil)
		}
		return x.Reveal()
	default:
		return x
	}
}

// wantErr fails the test unless err is non-nil and contains every string in
// want.
func wantErr(t *testing.T, err error, want ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want one containing %q", want)
	}
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error does not contain %q:\n%v", w, err)
		}
	}
}

// wantNoSecret fails the test if text contains a test secret.
func wantNoSecret(t *testing.T, text string, secrets ...string) {
	t.Helper()
	for _, s := range append([]string{secretA, secretB}, secrets...) {
		if strings.Contains(text, s) {
			t.Errorf("output reveals the secret %q:\n%s", s, text)
		}
	}
}
