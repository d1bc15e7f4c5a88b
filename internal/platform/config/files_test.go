package config

import (
	"path/filepath"
	"testing"
)

// The committed config directory, from this package's directory.
const repoConfigDir = "../../../config"

// TestBaseFileMatchesDefaults checks that config/config.yaml sets every key,
// to the value it has in Default(): the file documents the defaults, so the
// two must not drift apart.
func TestBaseFileMatchesDefaults(t *testing.T) {
	t.Parallel()
	l := loader{cfg: Default(), src: sources{}}
	if err := l.readYAML(filepath.Join(repoConfigDir, "config.yaml")); err != nil {
		t.Fatalf("read base file: %v", err)
	}
	if d := diff(l.cfg, Default()); d != "" {
		t.Errorf("config/config.yaml and Default() disagree:\n%s", d)
	}
	for _, k := range Keys() {
		if _, set := l.src[k.Key]; !set && !k.Secret {
			t.Errorf("config/config.yaml does not set %s", k.Key)
		}
	}
}

func TestCommittedConfig(t *testing.T) {
	prodSecrets := t.TempDir()
	writeFiles(t, prodSecrets, map[string]string{signFile: secretA + "\n"})

	tests := []struct {
		opts        Options
		store, name string
		addr        string
		secure      bool
		format      string
		signSecrets int
	}{
		{Options{Env: "dev", Dir: repoConfigDir}, "memory", "SID", "127.0.0.1:8080", false, "text", 1},
		{Options{Env: "test", Dir: repoConfigDir}, "memory", "SID", "127.0.0.1:0", true, "json", 2},
		{Options{Env: "prod", Dir: repoConfigDir, SecretsDir: prodSecrets}, "redis", "__Host-SID", ":8080", true, "json", 1},
	}
	for _, tt := range tests {
		t.Run(tt.opts.Env, func(t *testing.T) {
			clearEnv(t)
			c, err := Load(tt.opts)
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			s := c.Core.Auth.Session
			got := []any{s.Store, s.Cookie.Name, c.Core.HTTP.Addr, s.Cookie.Secure, c.Core.Log.Format, len(s.Cookie.Sign)}
			want := []any{tt.store, tt.name, tt.addr, tt.secure, tt.format, tt.signSecrets}
			for i := range got {
				if got[i] != want[i] {
					t.Errorf("got store, name, addr, secure, format, secrets = %v, want %v", got, want)
					break
				}
			}
		})
	}
}

// TestCommittedProdNeedsSecrets checks that prod, whose secrets are never
// committed, fails without them and says where it looked.
func TestCommittedProdNeedsSecrets(t *testing.T) {
	clearEnv(t)
	empty := t.TempDir()
	_, err := Load(Options{Env: "prod", Dir: repoConfigDir, SecretsDir: empty})
	wantErr(t, err, "secret core.auth.session.cookie.sign: missing", filepath.Join(empty, signFile), "CORE_AUTH_SESSION_COOKIE_SIGN")
}
