package tests

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/hexchi/starter/internal/apptest"
)

// TestFlowOnRedis runs login, a protected route and logout through the
// real app on a real Redis, and checks what lands in Redis.
func TestFlowOnRedis(t *testing.T) {
	addr := redisAddr(t)
	srv, prefix := appOnRedis(t, addr)
	checkFlow(t, srv, newClient(t, addr), prefix)
}

// TestFlowOnRedisCluster is the same flow with core.redis.addrs listing
// the three masters of a Cluster: the session hash and its group index live
// in different slots, and the store must never need them in one.
func TestFlowOnRedisCluster(t *testing.T) {
	addrs := startCluster(t)
	srv, prefix := appOnRedis(t, addrs...)
	rdb := redis.NewClusterClient(&redis.ClusterOptions{Addrs: addrs})
	t.Cleanup(func() { _ = rdb.Close() })
	checkFlow(t, srv, rdb, prefix)
	// The near cache does not run on a Cluster, and the app says so.
	if logs := srv.Logs.String(); !strings.Contains(logs, "session near cache off") || !strings.Contains(logs, "Redis Cluster") {
		t.Errorf("no record that the near cache is off on a Cluster in the app log")
	}
	// Nor do shared login limits (httprate-redis takes no Cluster client).
	if logs := srv.Logs.String(); !strings.Contains(logs, "login limits count in each replica's memory") {
		t.Errorf("no warning that login limits are per replica on a Cluster in the app log")
	}
}

// config/test's lifetime, which the TTL in Redis must match.
const lifetime = 6 * time.Hour

func checkFlow(t *testing.T, srv *apptest.Server, rdb redis.UniversalClient, prefix string) {
	ctx := t.Context()
	c := apptest.NewClient(t, srv.URL)

	// An anonymous visitor stores no session: a failed login through the
	// form leaves its flash in the flash cookie, not in Redis. What it does
	// leave, on a single node, is the login limits' counts, which expire.
	if keys := keysUnder(t, rdb, prefix); len(keys) != 0 {
		t.Fatalf("keys before any request: %v", keys)
	}
	form := []byte(url.Values{"username": {"demo"}, "password": {"wrong"}}.Encode())
	if r := c.Do(http.MethodPost, "/login", form, "application/x-www-form-urlencoded"); r.Status != http.StatusSeeOther {
		t.Fatalf("failed form login: %d", r.Status)
	}
	keys, limits := sessionKeys(t, rdb, prefix)
	if len(keys) != 0 || c.Cookie("SID_flash") == "" {
		t.Fatalf("after a failed login: keys %v and flash cookie %q, want no session key and the flash in its cookie", keys, c.Cookie("SID_flash"))
	}
	// The per-client and the per-username count, no more; none on a
	// Cluster, where the limits count in each replica's memory.
	wantLimits := 2
	if _, cluster := rdb.(*redis.ClusterClient); cluster {
		wantLimits = 0
	}
	if len(limits) != wantLimits {
		t.Errorf("login limit keys after a failed login: %v, want %d", limits, wantLimits)
	}

	login(t, c)
	keys, _ = sessionKeys(t, rdb, prefix)
	sessions, groups := filter(keys, prefix+"s:"), filter(keys, prefix+"g:")
	if len(sessions) != 1 || len(groups) != 1 {
		t.Fatalf("keys after login: %v, want one session and one group index", keys)
	}
	wantTTL(t, rdb, sessions[0], lifetime)
	// Absolute deadlines, so that the two reads need not happen at once.
	sessionEnd, groupEnd := rdb.PExpireTime(ctx, sessions[0]).Val(), rdb.PExpireTime(ctx, groups[0]).Val()
	if groupEnd < sessionEnd {
		t.Errorf("group index expires at %v (unix ms), before its member at %v", groupEnd, sessionEnd)
	}
	if members := rdb.ZRange(ctx, groups[0], 0, -1).Val(); len(members) != 1 || prefix+"s:"+members[0] != sessions[0] {
		t.Errorf("group index holds %v, want the session's handle", members)
	}

	// Neither a key nor a value may hold the session id: a Redis dump
	// must not yield a usable cookie.
	id, _, _ := strings.Cut(c.Cookie("SID"), ".")
	if len(id) != 43 {
		t.Fatalf("cookie id %q", id)
	}
	for _, k := range keys {
		if strings.Contains(k, id) {
			t.Errorf("key %s contains the session id", k)
		}
	}
	for _, k := range sessions {
		for field, v := range rdb.HGetAll(ctx, k).Val() {
			if strings.Contains(field, id) || strings.Contains(v, id) {
				t.Errorf("%s field %s holds the session id", k, field)
			}
		}
	}
	for _, k := range groups {
		for _, m := range rdb.ZRange(ctx, k, 0, -1).Val() {
			if strings.Contains(m, id) {
				t.Errorf("group index %s holds the session id", k)
			}
		}
	}

	if s := status(c, http.MethodGet, "/api/v1/me"); s != http.StatusOK {
		t.Fatalf("GET /me after login: %d", s)
	}
	if s := status(c, http.MethodPost, "/api/v1/auth/logout"); s != http.StatusNoContent {
		t.Fatalf("logout: %d", s)
	}
	if left, _ := sessionKeys(t, rdb, prefix); len(left) != 0 {
		t.Errorf("keys left after logout: %v", left)
	}
	if s := status(c, http.MethodGet, "/api/v1/me"); s != http.StatusUnauthorized {
		t.Errorf("GET /me after logout: %d, want 401", s)
	}
}

// wantTTL checks that key expires within want, less a few seconds for the
// test's own time.
func wantTTL(t *testing.T, rdb redis.UniversalClient, key string, want time.Duration) {
	t.Helper()
	if ttl := rdb.PTTL(t.Context(), key).Val(); ttl > want || ttl < want-10*time.Second {
		t.Errorf("PTTL %s = %v, want about %v", key, ttl, want)
	}
}

// sessionKeys lists the keys under prefix, apart from the login limits'
// counts (prefix+"login:"), which outlive a logout by design and come back
// as limits. Each of those must expire within a few windows of config/
// test's login limits: there is a key per client or username and window,
// so counts that never expired would pile up in Redis for as long as it
// runs.
func sessionKeys(t *testing.T, rdb redis.UniversalClient, prefix string) (keys, limits []string) {
	t.Helper()
	for _, k := range keysUnder(t, rdb, prefix) {
		if !strings.HasPrefix(k, prefix+"login:") {
			keys = append(keys, k)
			continue
		}
		limits = append(limits, k)
		if ttl := rdb.PTTL(t.Context(), k).Val(); ttl <= 0 || ttl > 10*loginWindow {
			t.Errorf("login limit key %s: PTTL %v, want it to expire within %v", k, ttl, 10*loginWindow)
		}
	}
	return keys, limits
}

// config/config.yaml's core.auth.login.window, which config/test keeps.
const loginWindow = time.Minute

// filter returns the keys that start with prefix.
func filter(keys []string, prefix string) []string {
	var out []string
	for _, k := range keys {
		if strings.HasPrefix(k, prefix) {
			out = append(out, k)
		}
	}
	return out
}
