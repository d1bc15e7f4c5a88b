package config

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"reflect"
	"slices"
	"strings"
	"time"
)

// minIdleTimeout is the shortest idle timeout the config accepts.
const minIdleTimeout = 10 * time.Second

// The near cache's bounds: below 64 KiB it holds hardly a session's worth
// of records, and past a minute of staleness a logout could be ignored by
// another replica for too long.
const (
	minNearCacheBytes     = 64 << 10
	maxNearCacheStaleness = time.Minute
)

// validate checks the configuration once every layer is applied, and reports
// every problem at once: fixing one mistake per start is slow.
func (l *loader) validate() error {
	c := &l.cfg
	cookie := &c.Core.Auth.Session.Cookie
	// http.SameSite values are case-insensitive in browsers; keep one
	// spelling so that the code using the config compares one way.
	cookie.SameSite = strings.ToLower(cookie.SameSite)

	v := validator{src: l.src}
	l.checkRequired(&v)

	v.oneOf("core.log.level", c.Core.Log.Level, "debug", "info", "warn", "error")
	v.oneOf("core.log.format", c.Core.Log.Format, "json", "text")

	h := c.Core.HTTP
	v.positive("core.http.readHeaderTimeout", h.ReadHeaderTimeout)
	v.positive("core.http.readTimeout", h.ReadTimeout)
	v.positive("core.http.writeTimeout", h.WriteTimeout)
	v.positive("core.http.idleTimeout", h.IdleTimeout)
	v.positive("core.http.shutdownTimeout", h.ShutdownTimeout)
	v.check(h.ShutdownDelay >= 0, "core.http.shutdownDelay", "must be 0s or above, got %s", h.ShutdownDelay)
	if a := c.Core.Admin; a.Addr != "" {
		_, _, err := net.SplitHostPort(a.Addr)
		v.check(err == nil && a.Addr != h.Addr, "core.admin.addr", "%q must be host:port, and not core.http.addr", a.Addr)
	}
	v.check(!c.Core.Admin.Pprof || c.Core.Admin.Addr != "", "core.admin.pprof", "needs core.admin.addr: pprof is served on the admin listener only")
	// http.Server treats 0 and below as its 1 MiB default: say so instead.
	v.check(h.MaxHeaderBytes > 0, "core.http.maxHeaderBytes", "must be above 0, got %d", h.MaxHeaderBytes)
	v.check(h.HSTSMaxAge >= 0 && h.HSTSMaxAge%time.Second == 0, "core.http.hstsMaxAge", "must be 0s (off) or a whole number of seconds, got %s", h.HSTSMaxAge)
	// A name net/http would refuse to write (a space, a colon) would be
	// dropped from every response without a word.
	v.check(!strings.ContainsFunc(h.ReplicaHeader, notTokenChar), "core.http.replicaHeader",
		"%q is not a valid header name (letters, digits and !#$%%&'*+-.^_`|~ only)", h.ReplicaHeader)
	for _, p := range h.TrustedProxies {
		_, err := ParseProxy(p)
		v.check(err == nil, "core.http.trustedProxies", "%q is not an IP address or CIDR prefix", p)
	}

	r := c.Core.Redis
	v.check(r.DB >= 0, "core.redis.db", "must be 0 or above, got %d", r.DB)
	v.check(!slices.Contains(r.Addrs, ""), "core.redis.addrs", "has an empty address")

	s := c.Core.Auth.Session
	if v.oneOf("core.auth.session.store", s.Store, "redis", "memory") && s.Store == "redis" {
		v.check(len(r.Addrs) > 0, "core.redis.addrs", "is empty, but core.auth.session.store is redis (from %s)", l.src.where("core.auth.session.store"))
	}
	v.positive("core.auth.session.lifetime", s.Lifetime)
	v.positive("core.auth.session.initialLifetime", s.InitialLifetime)
	// Below 10 s, a user reading a page would be logged out between two
	// clicks; it is a typo for 10m more often than a choice.
	v.check(s.IdleTimeout == 0 || s.IdleTimeout >= minIdleTimeout, "core.auth.session.idleTimeout",
		"must be 0s (off) or at least %s, got %s", minIdleTimeout, s.IdleTimeout)
	v.check(s.MaxSessionsPerGroup >= 0, "core.auth.session.maxSessionsPerGroup", "must be 0 (no cap) or above, got %d", s.MaxSessionsPerGroup)
	v.positive("core.auth.recentAuth", c.Core.Auth.RecentAuth)
	nc := s.NearCache
	v.check(nc.MaxEntries > 0, "core.auth.session.nearCache.maxEntries", "must be above 0, got %d", nc.MaxEntries)
	v.check(nc.MaxBytes >= minNearCacheBytes, "core.auth.session.nearCache.maxBytes", "must be at least %d (64 KiB), got %d", minNearCacheBytes, nc.MaxBytes)
	// A replica may serve a session logged out elsewhere for up to this
	// long when an invalidation is lost: past a minute it is a typo for
	// seconds more often than a choice.
	v.check(nc.MaxStaleness > 0 && nc.MaxStaleness <= maxNearCacheStaleness, "core.auth.session.nearCache.maxStaleness",
		"must be above 0s and at most %s, got %s", maxNearCacheStaleness, nc.MaxStaleness)

	l.checkCookie(&v, s.Cookie)

	login := c.Core.Auth.Login
	v.check(login.PerClient > 0, "core.auth.login.perClient", "must be above 0, got %d", login.PerClient)
	v.check(login.PerUsername > 0, "core.auth.login.perUsername", "must be above 0, got %d", login.PerUsername)
	v.positive("core.auth.login.window", login.Window)
	for _, u := range c.Core.Auth.Users {
		name, hash, ok := strings.Cut(u, ":")
		v.check(ok && name != "" && strings.HasPrefix(hash, "$2"), "core.auth.users",
			"entry %q is not username:bcrypt-hash", redactHash(u))
	}
	return errors.Join(v.errs...)
}

// checkRequired reports each required secret that no layer set, naming the
// path that was looked at, since a wrong APP_SECRETS_DIR or a file named
// slightly wrong is the usual cause. (The required tag is for secrets only:
// every other key has a default.)
func (l *loader) checkRequired(v *validator) {
	cfg := reflect.ValueOf(l.cfg)
	for _, f := range schema().fields {
		// Secret and SecretList both have a length; a test keeps the
		// required tag on those types.
		if !f.Required || cfg.FieldByIndex(f.index).Len() > 0 {
			continue
		}
		if l.src[f.Key] == "env "+f.Env {
			v.errs = append(v.errs, fmt.Errorf("secret %s: missing: %s is set but empty", f.Key, f.Env))
			continue
		}
		v.errs = append(v.errs, fmt.Errorf("secret %s: missing: %s (or set %s)", f.Key, l.secretNotes[f.Key], f.Env))
	}
}

// checkCookie checks the session cookie's attributes against RFC 6265 and the
// cookie prefix rules browsers enforce: a cookie that breaks them is dropped
// by the browser without a word, so the app would never see a session.
func (l *loader) checkCookie(v *validator, c Cookie) {
	const key = "core.auth.session.cookie"
	if v.check(c.Name != "" && !strings.ContainsFunc(c.Name, notTokenChar), key+".name",
		"%q is not a valid cookie name (letters, digits and !#$%%&'*+-.^_`|~ only)", c.Name) {
		switch {
		case strings.HasPrefix(c.Name, "__Host-"):
			v.check(c.Secure, key+".secure", "must be true for a __Host- cookie name (name from %s)", l.src.where(key+".name"))
			v.check(c.Domain == "", key+".domain", "must be empty for a __Host- cookie name (name from %s)", l.src.where(key+".name"))
			v.check(c.Path == "/", key+".path", "must be / for a __Host- cookie name (name from %s)", l.src.where(key+".name"))
		case strings.HasPrefix(c.Name, "__Secure-"):
			v.check(c.Secure, key+".secure", "must be true for a __Secure- cookie name (name from %s)", l.src.where(key+".name"))
		}
	}

	if c.Partitioned {
		v.check(c.Secure, key+".secure", "must be true for a partitioned cookie (partitioned from %s)", l.src.where(key+".partitioned"))
	}
	if v.oneOf(key+".sameSite", c.SameSite, "strict", "lax", "none") && c.SameSite == "none" {
		v.check(c.Secure, key+".secure", "must be true when sameSite is none, or browsers reject the cookie (sameSite from %s)", l.src.where(key+".sameSite"))
	}

	// net/http drops a path's ";" and control bytes with only a log line.
	v.check(strings.HasPrefix(c.Path, "/") && !strings.ContainsFunc(c.Path, notPathChar), key+".path",
		"%q must start with / and hold no ; or control characters", c.Path)
}

// notTokenChar reports whether r may not appear in an RFC 7230 token, which
// is what RFC 6265 requires of a cookie name and RFC 9110 of a header name.
func notTokenChar(r rune) bool {
	switch {
	case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
		return false
	default:
		return !strings.ContainsRune("!#$%&'*+-.^_`|~", r)
	}
}

// notPathChar reports whether r may not appear in a cookie's Path attribute.
func notPathChar(r rune) bool { return r < 0x20 || r > 0x7e || r == ';' }

// validator collects validation errors, each naming the key and where its
// value was set.
type validator struct {
	src  sources
	errs []error
}

// check records an error about key unless ok, and returns ok so that checks
// that depend on it can be skipped.
func (v *validator) check(ok bool, key, format string, args ...any) bool {
	if !ok {
		v.errs = append(v.errs, fmt.Errorf("%s (from %s): %s", key, v.src.where(key), fmt.Sprintf(format, args...)))
	}
	return ok
}

// oneOf checks that value is one of allowed.
func (v *validator) oneOf(key, value string, allowed ...string) bool {
	return v.check(slices.Contains(allowed, value), key, "%q is not one of %s", value, strings.Join(allowed, ", "))
}

// positive checks that a duration is above zero.
func (v *validator) positive(key string, d time.Duration) bool {
	return v.check(d > 0, key, "must be above 0, got %s", d)
}

// ParseProxy parses one entry of core.http.trustedProxies: an IP address
// (a single proxy) or a CIDR prefix (a proxy network).
func ParseProxy(s string) (netip.Prefix, error) {
	if p, err := netip.ParsePrefix(s); err == nil {
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	return netip.PrefixFrom(a, a.BitLen()), nil
}

// redactHash keeps an error message about a users entry from repeating the
// hash: a password hash is not for logs either.
func redactHash(entry string) string {
	if name, _, ok := strings.Cut(entry, ":"); ok {
		return name + ":…"
	}
	if len(entry) > 8 {
		return entry[:8] + "…"
	}
	return entry
}
