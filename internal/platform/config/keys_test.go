package config

import (
	"fmt"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode"
)

// envRule is the naming rule for environment variables: the dotted key in
// upper case, with dots and camel-case humps turned into underscores.
func envRule(key string) string {
	var b strings.Builder
	for _, r := range key {
		switch {
		case r == '.':
			b.WriteByte('_')
		case unicode.IsUpper(r):
			b.WriteByte('_')
			b.WriteRune(r)
		default:
			b.WriteRune(unicode.ToUpper(r))
		}
	}
	return b.String()
}

func TestEnvRule(t *testing.T) {
	t.Parallel()
	for key, want := range map[string]string{
		"core.http.addr":                    "CORE_HTTP_ADDR",
		"core.auth.session.initialLifetime": "CORE_AUTH_SESSION_INITIAL_LIFETIME",
		"core.redis.addrs":                  "CORE_REDIS_ADDRS",
		"core.http.readHeaderTimeout":       "CORE_HTTP_READ_HEADER_TIMEOUT",
	} {
		if got := envRule(key); got != want {
			t.Errorf("envRule(%q) = %q, want %q", key, got, want)
		}
	}
}

// TestStructTagsFollowTheRules walks Config by reflection, independently of
// the package's own walk, so that a new or renamed field with a mistyped tag
// fails here rather than in production.
func TestStructTagsFollowTheRules(t *testing.T) {
	t.Parallel()
	secretTypes := map[reflect.Type]bool{reflect.TypeFor[Secret](): true, reflect.TypeFor[SecretList](): true}
	var walked []KeyInfo

	var walk func(typ reflect.Type, key, envPrefix string)
	walk = func(typ reflect.Type, key, envPrefix string) {
		for i := range typ.NumField() {
			f := typ.Field(i)
			yamlName := f.Tag.Get("yaml")
			if _, ok := f.Tag.Lookup("env-default"); ok {
				t.Errorf("%s.%s: env-default tag: cleanenv applies it over an explicit YAML false, 0 or \"\"; put the default in Default()", typ.Name(), f.Name)
			}
			if f.Type.Kind() == reflect.Struct {
				prefix := f.Tag.Get("env-prefix")
				if prefix != envRule(yamlName)+"_" {
					t.Errorf("%s.%s: env-prefix %q, want %q", typ.Name(), f.Name, prefix, envRule(yamlName)+"_")
				}
				walk(f.Type, joinKey(key, yamlName), envPrefix+prefix)
				continue
			}

			fieldKey := joinKey(key, yamlName)
			secretKey, isSecret := f.Tag.Lookup("secret")
			switch {
			case isSecret != secretTypes[f.Type]:
				t.Errorf("%s.%s: a field has a secret tag if and only if its type is Secret or SecretList", typ.Name(), f.Name)
			case f.Tag.Get("required") != "" && !isSecret:
				t.Errorf("%s.%s: the required tag is for secrets only; give other keys a default", typ.Name(), f.Name)
			case isSecret && yamlName != "-":
				t.Errorf("%s.%s: a secret needs yaml:\"-\", so that no config file can hold it", typ.Name(), f.Name)
			case isSecret:
				fieldKey = secretKey
				parent, name := splitKey(secretKey)
				if parent != key || name == "" || strings.ToLower(name[:1]) != name[:1] {
					t.Errorf("%s.%s: secret key %q, want %s.<camelCaseName>", typ.Name(), f.Name, secretKey, key)
				}
			}

			env := envPrefix + f.Tag.Get("env")
			if want := envRule(fieldKey); env != want {
				t.Errorf("%s: environment variable %s, want %s", fieldKey, env, want)
			}
			walked = append(walked, KeyInfo{Key: fieldKey, Env: env, Secret: isSecret, Required: f.Tag.Get("required") == "true"})
		}
	}
	walk(reflect.TypeFor[Config](), "", "")

	var keys []KeyInfo
	for _, k := range Keys() {
		k.Default = ""
		keys = append(keys, k)
	}
	if !reflect.DeepEqual(keys, walked) {
		t.Errorf("Keys() =\n%+v\nwant\n%+v", keys, walked)
	}
}

func TestKeysDefaults(t *testing.T) {
	t.Parallel()
	want := map[string]string{
		"core.http.addr":                    ":8080",
		"core.http.idleTimeout":             "2m",
		"core.redis.addrs":                  "127.0.0.1:6379",
		"core.redis.masterName":             "",
		"core.redis.db":                     "0",
		"core.auth.session.lifetime":        "6h",
		"core.auth.session.cookie.secure":   "true",
		"core.auth.session.cookie.sign":     "",
		"core.auth.session.initialLifetime": "5m",
	}
	for _, k := range Keys() {
		if w, ok := want[k.Key]; ok && k.Default != w {
			t.Errorf("%s: Default %q, want %q", k.Key, k.Default, w)
		}
	}
}

func TestShortDuration(t *testing.T) {
	t.Parallel()
	for d, want := range map[time.Duration]string{
		0:                              "0s",
		500 * time.Millisecond:         "500ms",
		15 * time.Second:               "15s",
		5 * time.Minute:                "5m",
		90 * time.Minute:               "1h30m",
		6 * time.Hour:                  "6h",
		6*time.Hour + time.Second:      "6h0m1s",
		10*time.Minute + time.Second/2: "10m0.5s",
		-time.Minute:                   "-1m",
	} {
		if got := shortDuration(d); got != want {
			t.Errorf("shortDuration(%v) = %q, want %q", d, got, want)
		}
		if back, err := time.ParseDuration(shortDuration(d)); err != nil || back != d {
			t.Errorf("shortDuration(%v) = %q does not parse back: %v, %v", d, shortDuration(d), back, err)
		}
	}
}

// TestREADMEListsEveryEnvVar keeps the README's table of environment
// variables complete. On failure it prints the table to paste.
func TestREADMEListsEveryEnvVar(t *testing.T) {
	t.Parallel()
	readme, err := os.ReadFile("../../../README.md")
	if err != nil {
		t.Fatalf("read README: %v\n\nThe README needs this table:\n\n%s", err, markdownTable())
	}
	var missing []string
	for _, k := range Keys() {
		if !strings.Contains(string(readme), "`"+k.Env+"`") {
			missing = append(missing, k.Env)
		}
	}
	if len(missing) > 0 {
		t.Errorf("README.md does not list %s (in backquotes). The current table:\n\n%s", strings.Join(missing, ", "), markdownTable())
	}
}

// markdownTable renders Keys as the README's table.
func markdownTable() string {
	var b strings.Builder
	b.WriteString("| Key | Environment variable | Default |\n|---|---|---|\n")
	for _, k := range Keys() {
		def := "`" + k.Default + "`"
		switch {
		case k.Secret && k.Required:
			def = "secret, required"
		case k.Secret:
			def = "secret, optional"
		case k.Default == "":
			def = "empty"
		}
		fmt.Fprintf(&b, "| `%s` | `%s` | %s |\n", k.Key, k.Env, def)
	}
	return b.String()
}
