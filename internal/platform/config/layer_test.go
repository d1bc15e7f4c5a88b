package config

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
)

func TestLoadFileErrors(t *testing.T) {
	// Each want string may hold "{file}", replaced by the overlay's path.
	tests := []struct {
		name    string
		overlay string
		want    []string
	}{
		{
			name:    "unknown key",
			overlay: "core:\n  http:\n    addr: 127.0.0.1:1\n    adr: x\n",
			want:    []string{"{file}:4: unknown key core.http.adr"},
		},
		{
			name:    "key in the wrong case",
			overlay: "core:\n  http:\n    ReadTimeout: 5s\n",
			want:    []string{"{file}:3: unknown key core.http.ReadTimeout (did you mean core.http.readTimeout?)"},
		},
		{
			name:    "key in snake case",
			overlay: "core:\n  auth:\n    session:\n      initial_lifetime: 5m\n",
			want:    []string{"{file}:4: unknown key core.auth.session.initial_lifetime (did you mean core.auth.session.initialLifetime?)"},
		},
		{
			name:    "section in the wrong case",
			overlay: "core:\n  HTTP:\n    addr: x\n",
			want:    []string{"{file}:2: unknown key core.HTTP (did you mean core.http?)"},
		},
		{
			name:    "unknown top-level key",
			overlay: "cor:\n  http:\n    addr: x\n",
			want:    []string{"{file}:1: unknown key cor"},
		},
		{
			name:    "unknown key deep down",
			overlay: "core:\n  auth:\n    session:\n      cookie:\n        httpOnly: false\n",
			want:    []string{"{file}:5: unknown key core.auth.session.cookie.httpOnly"},
		},
		{
			name:    "every problem in the file at once",
			overlay: "core:\n  http:\n    adr: x\n    readTimeout: banana\n  logs: {}\n",
			want: []string{
				"{file}:3: unknown key core.http.adr",
				"{file}:4: core.http.readTimeout",
				"{file}:5: unknown key core.logs",
			},
		},
		{
			name:    "secret in a config file",
			overlay: "core:\n  redis:\n    password: hunter2-in-yaml\n",
			want: []string{
				"{file}:3: core.redis.password is a secret",
				"secrets directory",
				filepath.Join("dev", "secrets", "core.redis.password"),
				"CORE_REDIS_PASSWORD",
			},
		},
		{
			name:    "signing secret in a config file",
			overlay: "core:\n  auth:\n    session:\n      cookie:\n        sign: x\n",
			want:    []string{"{file}:5: core.auth.session.cookie.sign is a secret"},
		},
		{
			name:    "bad duration",
			overlay: "core:\n  http:\n    readTimeout: banana\n",
			want:    []string{`{file}:3: core.http.readTimeout: invalid value "banana": want a duration`},
		},
		{
			name:    "duration without unit",
			overlay: "core:\n  http:\n    readTimeout: 15\n",
			want:    []string{`{file}:3: core.http.readTimeout: invalid value "15"`},
		},
		{
			name:    "bad integer",
			overlay: "core:\n  redis:\n    db: x\n",
			want:    []string{`{file}:3: core.redis.db: invalid value "x": want an integer`},
		},
		{
			name:    "bad bool",
			overlay: "core:\n  auth:\n    session:\n      cookie:\n        secure: maybe\n",
			want:    []string{`{file}:5: core.auth.session.cookie.secure: invalid value "maybe": want true or false`},
		},
		{
			name:    "scalar for a list",
			overlay: "core:\n  redis:\n    addrs: 127.0.0.1:6379\n",
			want:    []string{`{file}:3: core.redis.addrs: invalid value "127.0.0.1:6379": want a list`},
		},
		{
			name:    "mapping for a string",
			overlay: "core:\n  log:\n    level: {a: b}\n",
			want:    []string{"{file}:3: core.log.level: invalid value a mapping: want a string"},
		},
		{
			name:    "value for a section",
			overlay: "core:\n  http: x\n",
			want:    []string{`{file}:2: core.http: want a mapping of keys, got "x"`},
		},
		{
			name:    "key without a value",
			overlay: "core:\n  http:\n    addr:\n",
			want:    []string{"{file}:3: core.http.addr: no value"},
		},
		{
			name:    "duplicate key",
			overlay: "core:\n  http:\n    addr: a\n    addr: b\n",
			want:    []string{"{file}:4: duplicate key core.http.addr (first set at line 3)"},
		},
		{
			name:    "two documents",
			overlay: "core: {}\n---\ncore: {}\n",
			want:    []string{"{file}:2: only one YAML document"},
		},
		{
			name:    "list at the top level",
			overlay: "- core\n",
			want:    []string{"{file}:1: want a mapping of keys at the top level"},
		},
		{
			name:    "YAML syntax error",
			overlay: "core: [\n",
			want:    []string{"{file}: yaml:"},
		},
		{
			name:    "YAML syntax error in a second document",
			overlay: "core: {}\n---\ncore: [\n",
			want:    []string{"{file}: yaml:"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clearEnv(t)
			tr := newTree(t, "", tt.overlay)
			_, err := Load(tr.opts())
			var want []string
			for _, w := range tt.want {
				want = append(want, strings.ReplaceAll(w, "{file}", tr.overlay()))
			}
			wantErr(t, err, want...)
			wantNoSecret(t, err.Error(), "hunter2-in-yaml")
		})
	}
}

// TestLoadBaseFileErrors checks that a problem in the base file names the base
// file, not the environment's.
func TestLoadBaseFileErrors(t *testing.T) {
	clearEnv(t)
	tr := newTree(t, "core:\n  htp: {}\n", "")
	_, err := Load(tr.opts())
	wantErr(t, err, fmt.Sprintf("%s:2: unknown key core.htp", tr.base()))
}
