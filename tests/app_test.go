package tests

import (
	"net/http"
	"strings"
	"testing"

	"github.com/hexchi/starter/internal/apptest"
)

// appOnRedis starts the app in-process, through app.Run on config/test,
// with the Redis store at addrs (several addresses: a Cluster) and a key
// prefix of this test's own, which it returns.
func appOnRedis(t *testing.T, addrs ...string) (*apptest.Server, string) {
	t.Helper()
	prefix := keyPrefix()
	t.Setenv("CORE_AUTH_SESSION_STORE", "redis")
	t.Setenv("CORE_REDIS_ADDRS", strings.Join(addrs, ","))
	t.Setenv("CORE_REDIS_KEY_PREFIX", prefix)
	return apptest.Start(t, nil), prefix
}

// demoLogin is the JSON body that logs in as the demo user of config/test.
var demoLogin = []byte(`{"username":"demo","password":"hexchi-demo"}`)

// login logs c in as the demo user through the JSON API.
func login(t *testing.T, c *apptest.Client) {
	t.Helper()
	if r := c.Do(http.MethodPost, "/api/v1/auth/login", demoLogin, "application/json"); r.Status != http.StatusOK {
		t.Fatalf("login: %d %s", r.Status, r.Body)
	}
}

// status sends a body-less request and returns the status.
func status(c *apptest.Client, method, path string) int {
	return c.Do(method, path, nil, "").Status
}
