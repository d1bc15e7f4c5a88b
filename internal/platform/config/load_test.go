package config

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestLoadPrecedence(t *testing.T) {
	tests := []struct {
		name    string
		base    string
		overlay string
		secrets map[string]string // secret file name -> content
		env     map[string]string
		want    func(*Config) // the changes from defaultWithSign
	}{
		{
			name: "defaults when every layer is empty",
			want: func(*Config) {},
		},
		{
			name: "base file over defaults",
			base: "core:\n  http:\n    addr: base:1\n",
			want: func(c *Config) { c.Core.HTTP.Addr = "base:1" },
		},
		{
			name:    "environment file over base file",
			base:    "core:\n  http:\n    addr: base:1\n",
			overlay: "core:\n  http:\n    addr: overlay:1\n",
			want:    func(c *Config) { c.Core.HTTP.Addr = "overlay:1" },
		},
		{
			name:    "environment variable over every file",
			base:    "core:\n  http:\n    addr: base:1\n",
			overlay: "core:\n  http:\n    addr: overlay:1\n",
			env:     map[string]string{"CORE_HTTP_ADDR": "env:1"},
			want:    func(c *Config) { c.Core.HTTP.Addr = "env:1" },
		},
		{
			name:    "secret file over defaults",
			secrets: map[string]string{"core.redis.password": "from-file\n"},
			want:    func(c *Config) { c.Core.Redis.Password = "from-file" },
		},
		{
			name:    "environment variable over secret file",
			secrets: map[string]string{"core.redis.password": "from-file\n", signFile: secretA + "\n"},
			env:     map[string]string{"CORE_REDIS_PASSWORD": "from-env", "CORE_AUTH_SESSION_COOKIE_SIGN": secretB},
			want: func(c *Config) {
				c.Core.Redis.Password = "from-env"
				c.Core.Auth.Session.Cookie.Sign = SecretList{secretB}
			},
		},
		{
			name:    "nested structs merge key by key",
			base:    "core:\n  http:\n    addr: base:1\n    readTimeout: 20s\n",
			overlay: "core:\n  http:\n    addr: overlay:1\n",
			want: func(c *Config) {
				c.Core.HTTP.Addr = "overlay:1"
				c.Core.HTTP.ReadTimeout = 20 * time.Second
			},
		},
		{
			name:    "lists are replaced whole",
			base:    "core:\n  redis:\n    addrs: [a:1, b:2]\n",
			overlay: "core:\n  redis:\n    addrs: [c:3]\n",
			want:    func(c *Config) { c.Core.Redis.Addrs = []string{"c:3"} },
		},
		{
			name: "environment variable list is comma separated",
			base: "core:\n  redis:\n    addrs: [a:1]\n",
			env:  map[string]string{"CORE_REDIS_ADDRS": "b:2,c:3"},
			want: func(c *Config) { c.Core.Redis.Addrs = []string{"b:2", "c:3"} },
		},
		{
			name: "environment variables of every type",
			env: map[string]string{
				"CORE_AUTH_SESSION_INITIAL_LIFETIME":  "10m",
				"CORE_REDIS_DB":                       "3",
				"CORE_AUTH_SESSION_COOKIE_PERSISTENT": "false",
				"CORE_AUTH_SESSION_COOKIE_SIGN":       secretA + "\n" + secretB + "\n",
			},
			want: func(c *Config) {
				c.Core.Auth.Session.InitialLifetime = 10 * time.Minute
				c.Core.Redis.DB = 3
				c.Core.Auth.Session.Cookie.Persistent = false
				c.Core.Auth.Session.Cookie.Sign = SecretList{secretA, secretB}
			},
		},
		{
			name:    "YAML aliases",
			overlay: "core:\n  http:\n    readTimeout: &t 20s\n    writeTimeout: *t\n",
			want: func(c *Config) {
				c.Core.HTTP.ReadTimeout = 20 * time.Second
				c.Core.HTTP.WriteTimeout = 20 * time.Second
			},
		},
		{
			name:    "sameSite is normalised to lower case",
			overlay: "core:\n  auth:\n    session:\n      cookie:\n        sameSite: Strict\n",
			want:    func(c *Config) { c.Core.Auth.Session.Cookie.SameSite = "strict" },
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clearEnv(t)
			tr := newTree(t, tt.base, tt.overlay)
			for name, content := range tt.secrets {
				tr.writeSecret(t, name, content)
			}
			setEnv(t, tt.env)

			got, err := Load(tr.opts())
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

// TestLoadKeepsZeroValues guards against cleanenv's env-default trap: a key
// set to false, 0 or "" in a later layer must stay so, not fall back to its
// default.
func TestLoadKeepsZeroValues(t *testing.T) {
	clearEnv(t)
	tr := newTree(t,
		"core:\n  redis:\n    db: 3\n",
		`core:
  redis:
    db: 0
    keyPrefix: ""
  auth:
    session:
      cookie:
        secure: false
        persistent: false
`)
	t.Setenv("CORE_HTTP_ADDR", "") // an empty variable counts as set

	got, err := Load(tr.opts())
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	want := defaultWithSign()
	want.Core.HTTP.Addr = ""
	want.Core.Redis.DB = 0
	want.Core.Redis.KeyPrefix = ""
	want.Core.Auth.Session.Cookie.Secure = false
	want.Core.Auth.Session.Cookie.Persistent = false
	if d := diff(got, want); d != "" {
		t.Errorf("config differs:\n%s", d)
	}
}

func TestLoadEmptyLayers(t *testing.T) {
	for name, overlay := range map[string]string{
		"empty file":          "",
		"comments only":       "# nothing here yet\n",
		"document marker":     "---\n",
		"explicit null":       "~\n",
		"key with no keys":    "core:\n",
		"nested with no keys": "core:\n  http:\n  # addr: x\n",
	} {
		t.Run(name, func(t *testing.T) {
			clearEnv(t)
			got, err := Load(newTree(t, "", overlay).opts())
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			if d := diff(got, defaultWithSign()); d != "" {
				t.Errorf("config differs:\n%s", d)
			}
		})
	}
}

func TestLoadOptionErrors(t *testing.T) {
	tr := newTree(t, "", "")
	notDir := filepath.Join(tr.dir, "config.yaml")
	noBase := t.TempDir()
	writeFiles(t, noBase, map[string]string{filepath.Join("dev", "config.yaml"): ""})

	tests := []struct {
		name string
		opts Options
		want []string
	}{
		{"APP_ENV climbing out", Options{Env: "../etc", Dir: tr.dir}, []string{`APP_ENV "../etc"`, "plain name"}},
		{"APP_ENV with a slash", Options{Env: "dev/secrets", Dir: tr.dir}, []string{`APP_ENV "dev/secrets"`}},
		{"APP_ENV upper case", Options{Env: "Dev", Dir: tr.dir}, []string{`APP_ENV "Dev"`}},
		{"APP_ENV typo", Options{Env: "prd", Dir: tr.dir}, []string{
			`APP_ENV "prd"`, filepath.Join(tr.dir, "prd", "config.yaml"), "environments in " + tr.dir + ": dev",
		}},
		{"missing config dir", Options{Dir: filepath.Join(tr.dir, "nope")}, []string{
			`config directory "` + filepath.Join(tr.dir, "nope") + `" not found`, "repository root", "APP_CONFIG_DIR",
		}},
		{"config dir is a file", Options{Dir: notDir}, []string{"is not a directory", "APP_CONFIG_DIR"}},
		{"missing base file", Options{Dir: noBase}, []string{"base config", filepath.Join(noBase, "config.yaml")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clearEnv(t)
			_, err := Load(tt.opts)
			wantErr(t, err, tt.want...)
		})
	}
}

func TestLoadEnvVarErrors(t *testing.T) {
	tests := []struct {
		env, value string
		want       []string
	}{
		{"CORE_HTTP_READ_TIMEOUT", "banana", []string{"CORE_HTTP_READ_TIMEOUT", "core.http.readTimeout", `"banana"`}},
		{"CORE_REDIS_DB", "x", []string{"CORE_REDIS_DB", "core.redis.db"}},
		{"CORE_AUTH_SESSION_COOKIE_SECURE", "maybe", []string{"CORE_AUTH_SESSION_COOKIE_SECURE", "core.auth.session.cookie.secure"}},
		{"CORE_HTTP_MAX_HEADER_BYTES", "1MB", []string{"CORE_HTTP_MAX_HEADER_BYTES", "core.http.maxHeaderBytes"}},
	}
	for _, tt := range tests {
		t.Run(tt.env, func(t *testing.T) {
			clearEnv(t)
			t.Setenv(tt.env, tt.value)
			_, err := Load(newTree(t, "", "").opts())
			wantErr(t, err, tt.want...)
		})
	}
}

func TestOptions(t *testing.T) {
	t.Parallel()
	env := map[string]string{"APP_ENV": "prod", "APP_CONFIG_DIR": "/etc/app", "APP_SECRETS_DIR": "/run/secrets"}
	got := OptionsFromEnv(func(k string) string { return env[k] })
	if want := (Options{Env: "prod", Dir: "/etc/app", SecretsDir: "/run/secrets"}); got != want {
		t.Errorf("OptionsFromEnv = %+v, want %+v", got, want)
	}

	got = OptionsFromEnv(func(string) string { return "" }).withDefaults()
	if want := (Options{Env: "dev", Dir: "config", SecretsDir: filepath.Join("config", "dev", "secrets")}); got != want {
		t.Errorf("defaults = %+v, want %+v", got, want)
	}
}

func TestLoadSecretsDirOption(t *testing.T) {
	clearEnv(t)
	tr := newTree(t, "", "")
	tr.removeSecret(t, signFile)
	elsewhere := t.TempDir()
	writeFiles(t, elsewhere, map[string]string{signFile: secretB + "\n"})

	opts := tr.opts()
	opts.SecretsDir = elsewhere
	got, err := Load(opts)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	want := defaultWithSign()
	want.Core.Auth.Session.Cookie.Sign = SecretList{secretB}
	if d := diff(got, want); d != "" {
		t.Errorf("config differs:\n%s", d)
	}
}

// TestLoadWithoutSecretsDir covers a deployment that passes every secret in
// the environment and has no secrets directory at all.
func TestLoadWithoutSecretsDir(t *testing.T) {
	clearEnv(t)
	tr := newTree(t, "", "")
	if err := os.RemoveAll(tr.secretsDir()); err != nil {
		t.Fatal(err)
	}
	t.Setenv("CORE_AUTH_SESSION_COOKIE_SIGN", secretA)

	got, err := Load(tr.opts())
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if d := diff(got, defaultWithSign()); d != "" {
		t.Errorf("config differs:\n%s", d)
	}
}
