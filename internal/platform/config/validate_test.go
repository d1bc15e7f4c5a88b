package config

import (
	"strings"
	"testing"
)

func TestLoadValidation(t *testing.T) {
	// The overlays are one line of flow YAML, so every key they set is at
	// "{file}:1"; "{file}" is replaced by the overlay's path.
	tests := []struct {
		name    string
		overlay string
		env     map[string]string
		want    []string
	}{
		{
			name:    "log level",
			overlay: "core: {log: {level: verbose}}",
			want:    []string{`core.log.level (from {file}:1): "verbose" is not one of debug, info, warn, error`},
		},
		{
			name:    "trusted proxy",
			overlay: `core: {http: {trustedProxies: ["10.0.0.0/8", "proxy.local"]}}`,
			want:    []string{`core.http.trustedProxies (from {file}:1): "proxy.local" is not an IP address or CIDR prefix`},
		},
		{
			name:    "login limits",
			overlay: "core: {auth: {login: {perClient: 0, perUsername: -1, window: 0s}}}",
			want: []string{
				"core.auth.login.perClient (from {file}:1): must be above 0, got 0",
				"core.auth.login.perUsername (from {file}:1): must be above 0, got -1",
				"core.auth.login.window (from {file}:1)",
			},
		},
		{
			name:    "users entry",
			overlay: `core: {auth: {users: ["demo-no-hash", "ann:plaintext-password"]}}`,
			want: []string{
				`core.auth.users (from {file}:1): entry "demo-no-…" is not username:bcrypt-hash`,
				`core.auth.users (from {file}:1): entry "ann:…" is not username:bcrypt-hash`,
			},
		},
		{
			name:    "log format",
			overlay: "core: {log: {format: xml}}",
			want:    []string{`core.log.format (from {file}:1): "xml" is not one of json, text`},
		},
		{
			name:    "session store",
			overlay: "core: {auth: {session: {store: postgres}}}",
			want:    []string{`core.auth.session.store (from {file}:1): "postgres" is not one of redis, memory`},
		},
		{
			name:    "sameSite",
			overlay: "core: {auth: {session: {cookie: {sameSite: loose}}}}",
			want:    []string{`core.auth.session.cookie.sameSite (from {file}:1): "loose" is not one of strict, lax, none`},
		},
		{
			name:    "sameSite none without secure",
			overlay: "core: {auth: {session: {cookie: {sameSite: none, secure: false}}}}",
			want:    []string{"core.auth.session.cookie.secure (from {file}:1): must be true when sameSite is none, or browsers reject the cookie (sameSite from {file}:1)"},
		},
		{
			name:    "session durations",
			overlay: "core: {auth: {session: {lifetime: 0s, initialLifetime: -1s, idleTimeout: -1m}}}",
			want: []string{
				"core.auth.session.lifetime (from {file}:1): must be above 0, got 0s",
				"core.auth.session.initialLifetime (from {file}:1): must be above 0, got -1s",
				"core.auth.session.idleTimeout (from {file}:1): must be 0s (off) or at least 10s, got -1m0s",
			},
		},
		{
			// An idle timeout this short logs users out between two clicks.
			name:    "an idle timeout under 10s",
			overlay: "core: {auth: {session: {idleTimeout: 9s, maxSessionsPerGroup: -1}, recentAuth: 0s}}",
			want: []string{
				"core.auth.session.idleTimeout (from {file}:1): must be 0s (off) or at least 10s, got 9s",
				"core.auth.session.maxSessionsPerGroup (from {file}:1): must be 0 (no cap) or above, got -1",
				"core.auth.recentAuth (from {file}:1): must be above 0, got 0s",
			},
		},
		{
			name:    "near cache bounds",
			overlay: "core: {auth: {session: {nearCache: {maxEntries: 0, maxBytes: 1024, maxStaleness: 0s}}}}",
			want: []string{
				"core.auth.session.nearCache.maxEntries (from {file}:1): must be above 0, got 0",
				"core.auth.session.nearCache.maxBytes (from {file}:1): must be at least 65536 (64 KiB), got 1024",
				"core.auth.session.nearCache.maxStaleness (from {file}:1): must be above 0s and at most 1m0s, got 0s",
			},
		},
		{
			// Minutes of a logout ignored elsewhere: a typo for seconds.
			name:    "near cache staleness over a minute",
			overlay: "core: {auth: {session: {nearCache: {enabled: false, maxStaleness: 2m}}}}",
			want: []string{
				"core.auth.session.nearCache.maxStaleness (from {file}:1): must be above 0s and at most 1m0s, got 2m0s",
			},
		},
		{
			name:    "admin listener and drain",
			overlay: "core: {http: {shutdownDelay: -1s}, admin: {addr: nowhere, pprof: true}}",
			want: []string{
				"core.http.shutdownDelay (from {file}:1): must be 0s or above, got -1s",
				`core.admin.addr (from {file}:1): "nowhere" must be host:port, and not core.http.addr`,
			},
		},
		{
			name:    "pprof without the admin listener",
			overlay: "core: {admin: {pprof: true}}",
			want: []string{
				"core.admin.pprof (from {file}:1): needs core.admin.addr: pprof is served on the admin listener only",
			},
		},
		{
			name:    "a partitioned cookie over http",
			overlay: "core: {auth: {session: {cookie: {partitioned: true, secure: false}}}}",
			want: []string{
				"core.auth.session.cookie.secure (from {file}:1): must be true for a partitioned cookie (partitioned from {file}:1)",
			},
		},
		{
			name:    "http timeouts",
			overlay: "core: {http: {readHeaderTimeout: 0s, readTimeout: 0s, writeTimeout: 0s, idleTimeout: 0s, shutdownTimeout: -1s}}",
			want: []string{
				"core.http.readHeaderTimeout (from {file}:1): must be above 0",
				"core.http.readTimeout (from {file}:1): must be above 0",
				"core.http.writeTimeout (from {file}:1): must be above 0",
				"core.http.idleTimeout (from {file}:1): must be above 0",
				"core.http.shutdownTimeout (from {file}:1): must be above 0",
			},
		},
		{
			name:    "max header bytes",
			overlay: "core: {http: {maxHeaderBytes: 0}}",
			want:    []string{"core.http.maxHeaderBytes (from {file}:1): must be above 0, got 0"},
		},
		{
			name:    "replica header with a space",
			overlay: `core: {http: {replicaHeader: "X Replica"}}`,
			want:    []string{`core.http.replicaHeader (from {file}:1): "X Replica" is not a valid header name`},
		},
		{
			// A trailing colon, as in a header line copied whole.
			name:    "replica header with a colon",
			overlay: `core: {http: {replicaHeader: "X-Replica:"}}`,
			want:    []string{`core.http.replicaHeader (from {file}:1): "X-Replica:" is not a valid header name`},
		},
		{
			name: "replica header from the environment, not ASCII",
			env:  map[string]string{"CORE_HTTP_REPLICA_HEADER": "Réplica"},
			want: []string{`core.http.replicaHeader (from env CORE_HTTP_REPLICA_HEADER): "Réplica" is not a valid header name`},
		},
		{
			name:    "negative redis db",
			overlay: "core: {redis: {db: -1}}",
			want:    []string{"core.redis.db (from {file}:1): must be 0 or above, got -1"},
		},
		{
			name:    "no redis address for the redis store",
			overlay: "core: {redis: {addrs: []}, auth: {session: {store: redis}}}",
			want:    []string{"core.redis.addrs (from {file}:1): is empty, but core.auth.session.store is redis (from {file}:1)"},
		},
		{
			name: "no redis address, store from the defaults",
			env:  map[string]string{"CORE_REDIS_ADDRS": ""},
			want: []string{"core.redis.addrs (from env CORE_REDIS_ADDRS): is empty, but core.auth.session.store is redis (from the defaults in code)"},
		},
		{
			name:    "empty redis address",
			overlay: `core: {redis: {addrs: ["a:1", ""]}}`,
			want:    []string{"core.redis.addrs (from {file}:1): has an empty address"},
		},
		{
			name:    "cookie name with a space",
			overlay: `core: {auth: {session: {cookie: {name: "my session"}}}}`,
			want:    []string{`core.auth.session.cookie.name (from {file}:1): "my session" is not a valid cookie name`},
		},
		{
			name:    "cookie name with a separator",
			overlay: `core: {auth: {session: {cookie: {name: "sid;x"}}}}`,
			want:    []string{`core.auth.session.cookie.name (from {file}:1): "sid;x" is not a valid cookie name`},
		},
		{
			name:    "empty cookie name",
			overlay: `core: {auth: {session: {cookie: {name: ""}}}}`,
			want:    []string{`core.auth.session.cookie.name (from {file}:1): "" is not a valid cookie name`},
		},
		{
			name:    "relative cookie path",
			overlay: "core: {auth: {session: {cookie: {path: app}}}}",
			want:    []string{`core.auth.session.cookie.path (from {file}:1): "app" must start with /`},
		},
		{
			name:    "cookie path with a semicolon",
			overlay: `core: {auth: {session: {cookie: {path: "/a;b"}}}}`,
			want:    []string{`core.auth.session.cookie.path (from {file}:1): "/a;b" must start with / and hold no ;`},
		},
		{
			name:    "__Host- cookie without secure",
			overlay: "core: {auth: {session: {cookie: {name: __Host-SID, secure: false}}}}",
			want:    []string{"core.auth.session.cookie.secure (from {file}:1): must be true for a __Host- cookie name (name from {file}:1)"},
		},
		{
			name:    "__Host- cookie with a domain",
			overlay: "core: {auth: {session: {cookie: {name: __Host-SID, domain: example.com}}}}",
			want:    []string{"core.auth.session.cookie.domain (from {file}:1): must be empty for a __Host- cookie name"},
		},
		{
			name:    "__Host- cookie with a sub-path",
			overlay: "core: {auth: {session: {cookie: {name: __Host-SID, path: /app}}}}",
			want:    []string{"core.auth.session.cookie.path (from {file}:1): must be / for a __Host- cookie name"},
		},
		{
			name:    "__Secure- cookie without secure",
			overlay: "core: {auth: {session: {cookie: {name: __Secure-SID, secure: false}}}}",
			want:    []string{"core.auth.session.cookie.secure (from {file}:1): must be true for a __Secure- cookie name"},
		},
		{
			name:    "value from an environment variable",
			overlay: "core: {log: {level: debug}}",
			env:     map[string]string{"CORE_LOG_LEVEL": "loud"},
			want:    []string{`core.log.level (from env CORE_LOG_LEVEL): "loud" is not one of`},
		},
		{
			name:    "every error at once",
			overlay: "core: {log: {level: verbose, format: xml}, auth: {session: {lifetime: 0s}}}",
			env:     map[string]string{"CORE_AUTH_SESSION_COOKIE_PATH": "x"},
			want:    []string{"core.log.level", "core.log.format", "core.auth.session.lifetime", "core.auth.session.cookie.path (from env CORE_AUTH_SESSION_COOKIE_PATH)"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clearEnv(t)
			tr := newTree(t, "", tt.overlay)
			setEnv(t, tt.env)

			_, err := Load(tr.opts())
			var want []string
			for _, w := range tt.want {
				want = append(want, strings.ReplaceAll(w, "{file}", tr.overlay()))
			}
			wantErr(t, err, want...)
			// Each want string is one error, and there are no others.
			if got := strings.Count(err.Error(), "\n") + 1; got != len(tt.want) {
				t.Errorf("got %d errors, want %d:\n%v", got, len(tt.want), err)
			}
		})
	}
}

func TestLoadValidEdgeCases(t *testing.T) {
	tests := []struct {
		name    string
		overlay string
		check   func(Config) bool
	}{
		{
			name:    "sameSite NONE with secure, normalised",
			overlay: "core: {auth: {session: {cookie: {sameSite: NONE, secure: true}}}}",
			check:   func(c Config) bool { return c.Core.Auth.Session.Cookie.SameSite == "none" },
		},
		{
			name:    "no redis address with the memory store",
			overlay: "core: {redis: {addrs: []}, auth: {session: {store: memory}}}",
			check:   func(c Config) bool { return len(c.Core.Redis.Addrs) == 0 },
		},
		{
			name:    "idle timeout off",
			overlay: "core: {auth: {session: {idleTimeout: 0s}}}",
			check:   func(c Config) bool { return c.Core.Auth.Session.IdleTimeout == 0 },
		},
		{
			name:    "valid __Host- cookie",
			overlay: "core: {auth: {session: {cookie: {name: __Host-SID, secure: true, path: /, domain: \"\"}}}}",
			check:   func(c Config) bool { return c.Core.Auth.Session.Cookie.Name == "__Host-SID" },
		},
		{
			name:    "replica header",
			overlay: "core: {http: {replicaHeader: X-Replica}}",
			check:   func(c Config) bool { return c.Core.HTTP.ReplicaHeader == "X-Replica" },
		},
		{
			name:    "replica header off by default",
			overlay: "core: {log: {level: info}}",
			check:   func(c Config) bool { return c.Core.HTTP.ReplicaHeader == "" },
		},
		{
			name:    "cookie name with every allowed symbol",
			overlay: "core: {auth: {session: {cookie: {name: \"a!#$%&'*+-.^_`|~Z9\"}}}}",
			check:   func(c Config) bool { return c.Core.Auth.Session.Cookie.Name == "a!#$%&'*+-.^_`|~Z9" },
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clearEnv(t)
			got, err := Load(newTree(t, "", tt.overlay).opts())
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			if !tt.check(got) {
				t.Errorf("unexpected config: %+v", got)
			}
		})
	}
}
