package tests

import (
	"context"
	"crypto/rand"
	"fmt"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ory/dockertest/v3"
	dc "github.com/ory/dockertest/v3/docker"
	"github.com/redis/go-redis/v9"
)

// defaultRedisImage is the image the suite runs when TEST_REDIS_IMAGE is
// unset, pinned to a major version whose commands the store uses
// (PEXPIRETIME needs Redis 7).
const defaultRedisImage = "redis:7-alpine"

// unavailable skips the test with how to enable it, or fails it under
// CI=true, where a skipped integration test would be a false pass. TestMain
// says how many skipped, since go test ./... shows no skip without -v.
func unavailable(t *testing.T, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	if os.Getenv("CI") == "true" {
		t.Fatalf("CI=true, and %s", msg)
	}
	skipped.add(msg)
	t.Skip(msg)
}

// dockerPool returns a dockertest pool on the local engine, or skips.
func dockerPool(t *testing.T) *dockertest.Pool {
	t.Helper()
	pool, err := dockertest.NewPool("")
	if err == nil {
		err = pool.Client.Ping()
	}
	if err != nil {
		unavailable(t, "no Docker engine (%v): start Docker, or set REDIS_ADDR for the tests that need only Redis", err)
	}
	pool.MaxWait = 30 * time.Second
	return pool
}

// redisImage splits TEST_REDIS_IMAGE into repository and tag.
func redisImage() (repo, tag string) {
	image := os.Getenv("TEST_REDIS_IMAGE")
	if image == "" {
		image = defaultRedisImage
	}
	return splitImage(image)
}

// splitImage splits an image name into repository and tag; a registry
// port (localhost:5000/app) is not a tag.
func splitImage(image string) (repo, tag string) {
	if i := strings.LastIndex(image, ":"); i > strings.LastIndex(image, "/") {
		return image[:i], image[i+1:]
	}
	return image, "latest"
}

// TestSplitImage: the tag is after the last colon, unless that colon is a
// registry's port.
func TestSplitImage(t *testing.T) {
	t.Parallel()
	tests := []struct{ image, repo, tag string }{
		{"hexchi/app:local", "hexchi/app", "local"},
		{"haproxy", "haproxy", "latest"},
		{"localhost:5000/hexchi/app", "localhost:5000/hexchi/app", "latest"},
		{"localhost:5000/hexchi/app:v1", "localhost:5000/hexchi/app", "v1"},
	}
	for _, tt := range tests {
		if repo, tag := splitImage(tt.image); repo != tt.repo || tag != tt.tag {
			t.Errorf("splitImage(%q) = %q, %q, want %q, %q", tt.image, repo, tag, tt.repo, tt.tag)
		}
	}
}

// redisContainer is a Redis in Docker that this test owns.
type redisContainer struct {
	pool *dockertest.Pool
	res  *dockertest.Resource
	Addr string // 127.0.0.1:port
}

// startRedisContainer runs a fresh Redis container, published on loopback
// only, and waits until it answers. It is purged when the test ends.
func startRedisContainer(t *testing.T, args ...string) *redisContainer {
	t.Helper()
	pool := dockerPool(t)
	repo, tag := redisImage()
	// A host port chosen here rather than by Docker, so that it stays the
	// same when a test restarts the container.
	port := strconv.Itoa(freePort(t))
	res, err := pool.RunWithOptions(&dockertest.RunOptions{
		Repository:   repo,
		Tag:          tag,
		Cmd:          append([]string{"--save", "", "--appendonly", "no", "--protected-mode", "no"}, args...),
		ExposedPorts: []string{"6379/tcp"},
		PortBindings: map[dc.Port][]dc.PortBinding{"6379/tcp": {{HostIP: "127.0.0.1", HostPort: port}}},
	}, func(hc *dc.HostConfig) {
		hc.PublishAllPorts = false // only the loopback binding above
	})
	if err != nil {
		unavailable(t, "cannot run %s:%s (%v): build a local image with scripts/build-redis-image.sh and set TEST_REDIS_IMAGE, or set REDIS_ADDR", repo, tag, err)
	}
	// A backstop for a test binary that dies before its cleanup runs.
	_ = res.Expire(600)
	t.Cleanup(func() {
		if err := pool.Purge(res); err != nil {
			t.Logf("purge redis container: %v", err)
		}
	})
	c := &redisContainer{pool: pool, res: res, Addr: res.GetHostPort("6379/tcp")}
	waitForRedis(t, pool, c.Addr)
	return c
}

// freePort returns a loopback port that was free a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("find a free port: %v", err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// waitForRedis retries PING until Redis at addr answers.
func waitForRedis(t *testing.T, pool *dockertest.Pool, addr string) {
	t.Helper()
	client := redis.NewClient(&redis.Options{Addr: addr, DialTimeout: time.Second})
	defer client.Close()
	if err := pool.Retry(func() error { return client.Ping(t.Context()).Err() }); err != nil {
		t.Fatalf("redis at %s never answered PING: %v", addr, err)
	}
}

// redisAddr returns a Redis for tests that need only a working Redis:
// REDIS_ADDR when set, else a container of their own.
func redisAddr(t *testing.T) string {
	t.Helper()
	if addr := os.Getenv("REDIS_ADDR"); addr != "" {
		return addr
	}
	return startRedisContainer(t).Addr
}

// newClient returns a go-redis client configured as the app configures its
// own (timeouts honoured), closed when the test ends.
func newClient(t *testing.T, addr string) *redis.Client {
	t.Helper()
	c := redis.NewClient(&redis.Options{Addr: addr, ContextTimeoutEnabled: true, DialTimeout: 2 * time.Second,
		ReadTimeout: time.Second, WriteTimeout: time.Second})
	t.Cleanup(func() { _ = c.Close() })
	if err := c.Ping(t.Context()).Err(); err != nil {
		t.Fatalf("ping %s: %v", addr, err)
	}
	return c
}

// keyPrefix returns a key prefix of its own, so that tests sharing a Redis
// (REDIS_ADDR) never see each other's keys.
func keyPrefix() string {
	return fmt.Sprintf("hexchi-test:%s:", strings.ToLower(rand.Text()[:10]))
}

// keysUnder lists the keys under prefix: on every master of a Cluster, on
// the one server otherwise. KEYS is fine on a test's own small keyspace.
func keysUnder(t *testing.T, c redis.UniversalClient, prefix string) []string {
	t.Helper()
	// Not cancelled when the test ends: cleanups list keys too.
	ctx := context.WithoutCancel(t.Context())
	var (
		mu  sync.Mutex
		all []string
	)
	collect := func(ctx context.Context, c *redis.Client) error {
		ks, err := c.Keys(ctx, prefix+"*").Result()
		mu.Lock()
		defer mu.Unlock()
		all = append(all, ks...)
		return err
	}
	var err error
	if cc, ok := c.(*redis.ClusterClient); ok {
		err = cc.ForEachMaster(ctx, collect)
	} else {
		err = collect(ctx, c.(*redis.Client))
	}
	if err != nil {
		t.Fatalf("KEYS %s*: %v", prefix, err)
	}
	slices.Sort(all)
	return all
}

// deleteKeys deletes keys one DEL each, which works on a Cluster too.
func deleteKeys(t *testing.T, c redis.UniversalClient, keys []string) {
	t.Helper()
	ctx := context.WithoutCancel(t.Context())
	pipe := c.Pipeline()
	for _, k := range keys {
		pipe.Del(ctx, k)
	}
	if _, err := pipe.Exec(ctx); err != nil {
		t.Errorf("delete the test's keys: %v", err)
	}
}
