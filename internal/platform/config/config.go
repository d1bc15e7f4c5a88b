// Package config loads hexchi's layered configuration.
//
// Layers, later wins:
//
//  1. defaults in code ([Default]),
//  2. <dir>/config.yaml, the base for every environment,
//  3. <dir>/<env>/config.yaml, the environment's overlay,
//  4. secret files in the secrets directory, one file per dotted key
//     (core.auth.session.cookie.sign),
//  5. environment variables named after the dotted key (CORE_HTTP_ADDR).
//
// Each YAML layer is parsed into the same struct with cleanenv.ParseYAML, so
// nested structs merge field by field and lists are replaced whole; the
// environment is read once, last, with cleanenv.ReadEnv. Defaults live in
// code rather than in env-default tags, because cleanenv applies env-default
// to any field that is still zero, which would turn an explicit YAML false,
// 0 or "" back into the default.
//
// Mistakes stop the start with an error that says where they are: an unknown
// key or a bad value names the file and line, a bad environment variable
// names the variable, and a validation error names the key and the layer that
// set it. Secrets are never read from a config file, and print masked (see
// [Secret]); [Config.Print] shows the effective configuration and [Keys] lists
// every key with its environment variable.
package config

import "time"

// Config is the whole configuration of the app. The yaml tag of each field is
// its key in the dotted path; the env tag, with the env-prefix of the structs
// above it, is the environment variable that overrides it. A secret field has
// yaml:"-", so that no config file can hold it, and a secret tag with its
// dotted key, which is also the name of its file in the secrets directory;
// required:"true" makes Load fail while it is empty. A test checks every tag
// against these rules.
type Config struct {
	Core Core `yaml:"core" env-prefix:"CORE_"`
}

// Core holds the keys under core.
type Core struct {
	HTTP  HTTP  `yaml:"http" env-prefix:"HTTP_"`
	Admin Admin `yaml:"admin" env-prefix:"ADMIN_"`
	Log   Log   `yaml:"log" env-prefix:"LOG_"`
	Redis Redis `yaml:"redis" env-prefix:"REDIS_"`
	Auth  Auth  `yaml:"auth" env-prefix:"AUTH_"`
}

// HTTP configures the http.Server. Every timeout is set, so that a slow or
// idle client cannot hold a connection open forever.
type HTTP struct {
	Addr              string        `yaml:"addr" env:"ADDR"`
	ReadHeaderTimeout time.Duration `yaml:"readHeaderTimeout" env:"READ_HEADER_TIMEOUT"`
	ReadTimeout       time.Duration `yaml:"readTimeout" env:"READ_TIMEOUT"`
	WriteTimeout      time.Duration `yaml:"writeTimeout" env:"WRITE_TIMEOUT"`
	IdleTimeout       time.Duration `yaml:"idleTimeout" env:"IDLE_TIMEOUT"`
	// ShutdownDelay is how long, after SIGTERM, /readyz answers 503 while
	// requests are still served, before the listener closes: the time a
	// load balancer needs to see the replica not ready and stop sending it
	// new connections. 0 closes at once (dev).
	ShutdownDelay time.Duration `yaml:"shutdownDelay" env:"SHUTDOWN_DELAY"`
	// ShutdownTimeout bounds how long in-flight requests may run after the
	// listener closed before the server closes their connections.
	ShutdownTimeout time.Duration `yaml:"shutdownTimeout" env:"SHUTDOWN_TIMEOUT"`
	MaxHeaderBytes  int           `yaml:"maxHeaderBytes" env:"MAX_HEADER_BYTES"`
	// TrustedProxies lists the addresses or CIDR prefixes of reverse proxies
	// whose X-Forwarded-For is believed. The client IP (for rate limits and
	// logs) is otherwise the peer address: a header anyone can send is not
	// an identity.
	TrustedProxies []string `yaml:"trustedProxies" env:"TRUSTED_PROXIES"`
	// HSTSMaxAge is the max-age of the Strict-Transport-Security header,
	// sent while the session cookie is Secure (the site is served over
	// HTTPS); 0 sends none. Browsers then refuse plain http for that long,
	// so dev turns it off.
	HSTSMaxAge time.Duration `yaml:"hstsMaxAge" env:"HSTS_MAX_AGE"`
	// ReplicaHeader names a response header that carries this process's
	// host name (its container's, under Docker or Kubernetes) on every
	// response, so that behind a load balancer one can tell which replica
	// answered. "" (the default) sends none: a host name tells the
	// internet something about the deployment, so it is opt-in.
	ReplicaHeader string `yaml:"replicaHeader" env:"REPLICA_HEADER"`
}

// Admin configures the admin listener: operators' endpoints (Prometheus
// metrics, pprof) on an address of their own, never on the public one.
type Admin struct {
	// Addr is where the admin listener listens, e.g. 127.0.0.1:9464; ""
	// (the default) starts none.
	Addr string `yaml:"addr" env:"ADDR"`
	// Pprof serves net/http/pprof on the admin listener as well. Profiles
	// show memory contents and cost CPU: off by default.
	Pprof bool `yaml:"pprof" env:"PPROF"`
}

// Log configures the slog handler.
type Log struct {
	Level  string `yaml:"level" env:"LEVEL"`   // debug | info | warn | error
	Format string `yaml:"format" env:"FORMAT"` // json | text
}

// Redis configures the go-redis UniversalClient: one address is a single
// node, several are a Redis Cluster, and MasterName selects Sentinel.
type Redis struct {
	Addrs        []string      `yaml:"addrs" env:"ADDRS"`
	MasterName   string        `yaml:"masterName" env:"MASTER_NAME"`
	DB           int           `yaml:"db" env:"DB"`
	Username     string        `yaml:"username" env:"USERNAME"`
	Password     Secret        `yaml:"-" env:"PASSWORD" secret:"core.redis.password"`
	KeyPrefix    string        `yaml:"keyPrefix" env:"KEY_PREFIX"`
	DialTimeout  time.Duration `yaml:"dialTimeout" env:"DIAL_TIMEOUT"`
	ReadTimeout  time.Duration `yaml:"readTimeout" env:"READ_TIMEOUT"`
	WriteTimeout time.Duration `yaml:"writeTimeout" env:"WRITE_TIMEOUT"`
}

// Auth holds the keys under core.auth.
type Auth struct {
	Session Session `yaml:"session" env-prefix:"SESSION_"`
	Login   Login   `yaml:"login" env-prefix:"LOGIN_"`
	// RecentAuth is how recent a login must be for the actions that a
	// stolen session must not take alone (revoking another session, logging
	// out everywhere): past it, the demo asks for the password again.
	RecentAuth time.Duration `yaml:"recentAuth" env:"RECENT_AUTH"`
	// LoginHint is shown under the login form: the dev config names the
	// demo user there. Empty shows nothing.
	LoginHint string `yaml:"loginHint" env:"LOGIN_HINT"`
	// Users is the demo user directory, one "username:bcrypt-hash" entry
	// each. A real app replaces the directory with its user database.
	Users []string `yaml:"users" env:"USERS"`
}

// Login limits login attempts, per client IP and per username, so that
// passwords cannot be guessed at speed.
type Login struct {
	PerClient   int           `yaml:"perClient" env:"PER_CLIENT"`     // attempts per window from one client IP
	PerUsername int           `yaml:"perUsername" env:"PER_USERNAME"` // attempts per window for one username
	Window      time.Duration `yaml:"window" env:"WINDOW"`
}

// Session configures the session module.
type Session struct {
	Store           string        `yaml:"store" env:"STORE"` // redis | memory
	Lifetime        time.Duration `yaml:"lifetime" env:"LIFETIME"`
	InitialLifetime time.Duration `yaml:"initialLifetime" env:"INITIAL_LIFETIME"`
	IdleTimeout     time.Duration `yaml:"idleTimeout" env:"IDLE_TIMEOUT"` // 0 (off), or 10s and more
	// MaxSessionsPerGroup caps one user's sessions: a login past it ends
	// the user's oldest ones. 0 means no cap.
	MaxSessionsPerGroup int `yaml:"maxSessionsPerGroup" env:"MAX_SESSIONS_PER_GROUP"`
	// ClearSiteData makes logout answer with Clear-Site-Data: "cookies".
	ClearSiteData bool      `yaml:"clearSiteData" env:"CLEAR_SITE_DATA"`
	NearCache     NearCache `yaml:"nearCache" env-prefix:"NEAR_CACHE_"`
	Cookie        Cookie    `yaml:"cookie" env-prefix:"COOKIE_"`
}

// NearCache configures the Redis store's near cache: each replica keeps the
// sessions it has read in memory and serves them again with no round trip,
// until Redis says they changed (redisstore.NearCache). It runs on a single
// Redis node only; on Cluster and behind Sentinel the store runs uncached
// and says so at start.
type NearCache struct {
	Enabled    bool  `yaml:"enabled" env:"ENABLED"`
	MaxEntries int   `yaml:"maxEntries" env:"MAX_ENTRIES"`
	MaxBytes   int64 `yaml:"maxBytes" env:"MAX_BYTES"`
	// MaxStaleness bounds how long a replica may serve a session that
	// another replica changed (a logout, a revoke) when an invalidation is
	// lost: the backstop, not the usual lag.
	MaxStaleness time.Duration `yaml:"maxStaleness" env:"MAX_STALENESS"`
}

// Cookie configures the session cookie. HttpOnly is always on and is not a key.
type Cookie struct {
	Name     string `yaml:"name" env:"NAME"`
	SameSite string `yaml:"sameSite" env:"SAME_SITE"` // strict | lax | none
	Secure   bool   `yaml:"secure" env:"SECURE"`
	Path     string `yaml:"path" env:"PATH"`
	Domain   string `yaml:"domain" env:"DOMAIN"`
	// Persistent is "remember me" for a login that does not say: the
	// cookie lives until the session's absolute deadline, instead of until
	// the browser closes. The login form's checkbox starts so.
	Persistent bool `yaml:"persistent" env:"PERSISTENT"`
	// Partitioned sets the cookie's Partitioned attribute (CHIPS), for an
	// app embedded in other sites' frames. It needs secure.
	Partitioned bool `yaml:"partitioned" env:"PARTITIONED"`
	// Sign holds the signing secrets, one per line of the secret file: the
	// first signs, every one verifies, so a secret can be rotated without
	// logging anybody out.
	Sign SecretList `yaml:"-" env:"SIGN" secret:"core.auth.session.cookie.sign" required:"true"`
}

// Default returns the configuration before any file or variable is read.
func Default() Config {
	return Config{Core: Core{
		HTTP: HTTP{
			Addr:              ":8080",
			ReadHeaderTimeout: 5 * time.Second,
			ReadTimeout:       15 * time.Second,
			WriteTimeout:      30 * time.Second,
			IdleTimeout:       120 * time.Second,
			ShutdownTimeout:   15 * time.Second,
			MaxHeaderBytes:    1 << 20,
			HSTSMaxAge:        365 * 24 * time.Hour,
		},
		Log: Log{Level: "info", Format: "json"},
		Redis: Redis{
			Addrs:        []string{"127.0.0.1:6379"},
			KeyPrefix:    "hexchi:",
			DialTimeout:  2 * time.Second,
			ReadTimeout:  time.Second,
			WriteTimeout: time.Second,
		},
		Auth: Auth{Login: Login{PerClient: 20, PerUsername: 5, Window: time.Minute}, RecentAuth: 10 * time.Minute, Session: Session{
			Store:               "redis",
			Lifetime:            6 * time.Hour,
			InitialLifetime:     5 * time.Minute,
			MaxSessionsPerGroup: 20,
			NearCache:           NearCache{Enabled: true, MaxEntries: 10_000, MaxBytes: 16 << 20, MaxStaleness: 2 * time.Second},
			Cookie: Cookie{
				Name:       "SID",
				SameSite:   "lax",
				Secure:     true,
				Path:       "/",
				Persistent: true,
			},
		}},
	}}
}
