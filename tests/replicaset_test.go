package tests

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ory/dockertest/v3"
	dc "github.com/ory/dockertest/v3/docker"

	"github.com/hexchi/starter/internal/apptest"
)

// The replicas' settings that the tests assert on, set explicitly so that
// a change of a default in config/ does not move what the tests check.
const (
	// replicaHeader is core.http.replicaHeader: each replica names itself.
	replicaHeader = "X-Replica"
	// replicaMaxStaleness is core.auth.session.nearCache.maxStaleness:
	// the most the config allows, so that only Redis's invalidations can
	// make a replica refuse an ended session within replicaLagBound. With
	// the default 2 s, a replica that never heard of the ending would
	// refuse it within the bound all the same, once its entry expired.
	replicaMaxStaleness = time.Minute
	// replicaLagBound bounds how long after a session ends elsewhere a
	// replica may still serve it: far above the lags measured (2–31 ms,
	// a request's round trip on a busy machine), far below
	// replicaMaxStaleness, so that passing proves the invalidation came.
	replicaLagBound = 10 * time.Second
	// replicaPerUsername is core.auth.login.perUsername.
	replicaPerUsername = 5
)

const (
	// replicaCount is how many app containers run behind the balancer.
	replicaCount = 3
	// replicaSetTimeout bounds a test's requests to a replica set, the
	// wait for the balancer to reach every replica, and HAProxy's image
	// build (without HAPROXY_IMAGE). Not the app's image build (without
	// APP_IMAGE), which buildAppImage bounds by 3 minutes of its own, nor
	// each replica's start, which waitUntilReady bounds by pool.MaxWait.
	replicaSetTimeout = 3 * time.Minute
	// logTailLines is how much of each container's log a failed test shows.
	logTailLines = 40
	// haproxyConfigDir is where the HAProxy image reads haproxy.cfg, in
	// scripts/build-haproxy-image.sh's image and the official one alike.
	haproxyConfigDir = "/usr/local/etc/haproxy"
)

// replica is one app container.
type replica struct {
	Name  string // its host name, which it sends in replicaHeader
	URL   string // http://127.0.0.1:port, to this replica alone
	Admin string // http://127.0.0.1:port of its admin listener (/metrics)
}

// replicaSet is the app running as replicas behind HAProxy.
type replicaSet struct {
	LB       string // http://127.0.0.1:port, HAProxy's frontend
	Replicas []replica
}

// names returns the replicas' names, sorted.
func (s *replicaSet) names() []string {
	names := make([]string, len(s.Replicas))
	for i, r := range s.Replicas {
		names[i] = r.Name
	}
	slices.Sort(names)
	return names
}

// startReplicaSet starts, on a Docker network of the test's own, a Redis,
// replicaCount containers of the app image on it, each also published on
// a loopback port, and HAProxy balancing round robin over them, published
// on loopback too. It returns once the balancer has reached every replica.
// Everything is removed when the test ends, failed or not, and a failed
// test shows the end of each container's log first.
//
// The app image is APP_IMAGE, or one built from this tree as TestCompose
// builds it; HAProxy's is HAPROXY_IMAGE, or one built from the Debian
// haproxy package with scripts/build-haproxy-image.sh.
func startReplicaSet(ctx context.Context, t *testing.T) *replicaSet {
	t.Helper()
	start := time.Now()
	pool := dockerPool(t)
	root := filepath.Dir(apptest.ConfigDir(t))
	suffix := strings.ToLower(rand.Text()[:10])

	// Redis first: a missing Redis image skips (or, under CI, fails) the
	// test before it spends seconds building.
	network := createTestNetwork(t, pool, "hexchi-replicas-test-"+suffix)
	redisIP := startRedisOnNetwork(t, pool, network)
	appImage := replicaAppImage(t, root, suffix)
	lbImage := haproxyImage(ctx, t, root, suffix)

	env := []string{
		"CORE_REDIS_ADDRS=" + net.JoinHostPort(redisIP, "6379"),
		// config/prod defines no users: borrow config/test's demo user.
		"CORE_AUTH_USERS=" + strings.Join(testUsers(t, root), ","),
		// Plain http on loopback, as compose.yaml's demo settings: a
		// cookie that is not Secure, under a name without __Host-.
		"CORE_AUTH_SESSION_COOKIE_NAME=" + sessionCookie,
		"CORE_AUTH_SESSION_COOKIE_SECURE=false",
		"CORE_HTTP_HSTS_MAX_AGE=0s",
		"CORE_HTTP_REPLICA_HEADER=" + replicaHeader,
		"CORE_AUTH_SESSION_NEAR_CACHE_ENABLED=true",
		// A minute, so that the lags measure invalidation, not expiry.
		"CORE_AUTH_SESSION_NEAR_CACHE_MAX_STALENESS=" + replicaMaxStaleness.String(),
		"CORE_AUTH_LOGIN_PER_USERNAME=" + strconv.Itoa(replicaPerUsername),
		// The metrics say whether the near cache serves.
		"CORE_ADMIN_ADDR=:9464",
	}
	// One signing secret for all: a cookie one replica signs must verify
	// on every other.
	secrets := dc.HostMount{Type: "bind", Source: writeSigningSecret(t), Target: "/run/secrets", ReadOnly: true}
	repo, tag := splitImage(appImage)
	set := &replicaSet{}
	apps := make([]*dockertest.Resource, replicaCount)
	servers := make([]string, replicaCount) // HAProxy's "name ip:port"
	for i := range apps {
		name := "replica-" + strconv.Itoa(i+1)
		apps[i] = runOnLoopback(t, pool, name, &dockertest.RunOptions{
			// The host name is what the replica names itself by.
			Hostname: name, Repository: repo, Tag: tag, Env: env,
			Networks: []*dockertest.Network{network}, ExposedPorts: []string{"8080/tcp", "9464/tcp"},
		}, secrets)
		set.Replicas = append(set.Replicas, replica{Name: name,
			URL: "http://" + apps[i].GetHostPort("8080/tcp"), Admin: "http://" + apps[i].GetHostPort("9464/tcp")})
		// By address on the network: nothing to resolve in HAProxy's image.
		servers[i] = name + " " + net.JoinHostPort(apps[i].GetIPInNetwork(network), "8080")
	}
	// Started together, waited for in turn: they boot at the same time.
	for i, rep := range set.Replicas {
		waitUntilReady(t, pool, apps[i], rep.URL)
	}

	cfgDir := writeHaproxyConfig(t, haproxyConfig(servers))
	repo, tag = splitImage(lbImage)
	lb := runOnLoopback(t, pool, "haproxy", &dockertest.RunOptions{
		Repository: repo, Tag: tag,
		Networks: []*dockertest.Network{network}, ExposedPorts: []string{"8080/tcp"},
	}, dc.HostMount{Type: "bind", Source: cfgDir, Target: haproxyConfigDir, ReadOnly: true})
	set.LB = "http://" + lb.GetHostPort("8080/tcp")
	waitForBalancer(ctx, t, pool, lb, set)
	t.Logf("Redis, %d replicas and HAProxy up in %v", replicaCount, time.Since(start).Round(time.Millisecond))
	return set
}

// replicaAppImage returns APP_IMAGE, or an app image built from this tree
// for this test alone, removed when it ends.
func replicaAppImage(t *testing.T, root, suffix string) string {
	t.Helper()
	if image := os.Getenv("APP_IMAGE"); image != "" {
		if err := run(t.Context(), 30*time.Second, nil, "docker", "image", "inspect", image); err != nil {
			t.Fatalf("APP_IMAGE=%s: %v: build it with scripts/build-app-image.sh", image, err)
		}
		return image
	}
	return buildAppImage(t, root, appImageRepo+":test-replicas-"+suffix)
}

// haproxyImage returns HAPROXY_IMAGE, or an image built here from the
// Debian haproxy package with scripts/build-haproxy-image.sh, removed when
// the test ends.
func haproxyImage(ctx context.Context, t *testing.T, root, suffix string) string {
	t.Helper()
	if image := os.Getenv("HAPROXY_IMAGE"); image != "" {
		ensureImage(t, image, "build one with scripts/build-haproxy-image.sh and set HAPROXY_IMAGE")
		return image
	}
	// Debian installs haproxy in /usr/sbin, which is not on the PATH of
	// its non-root users; the script looks there too.
	if _, err := exec.LookPath("haproxy"); err != nil {
		if _, err := os.Stat("/usr/sbin/haproxy"); err != nil {
			unavailable(t, "no HAPROXY_IMAGE, and no haproxy binary to build one from: apt-get install haproxy, or set HAPROXY_IMAGE (haproxy:2.6 with a registry)")
		}
	}
	tag := "hexchi/haproxy:test-" + suffix
	// Registered first: a build cut short here may still tag the image.
	t.Cleanup(func() { removeImage(t, tag) })
	start := time.Now()
	if err := run(ctx, 2*time.Minute, nil, "bash", filepath.Join(root, "scripts", "build-haproxy-image.sh"), tag); err != nil {
		t.Fatal(err)
	}
	t.Logf("built %s in %v", tag, time.Since(start).Round(time.Millisecond))
	return tag
}

// runOnLoopback runs a container of opts with its exposed ports published
// on 127.0.0.1 only and mounts bind-mounted. The container is purged when
// the test ends; if the test failed, the end of its log is shown first.
func runOnLoopback(t *testing.T, pool *dockertest.Pool, what string, opts *dockertest.RunOptions, mounts ...dc.HostMount) *dockertest.Resource {
	t.Helper()
	opts.PortBindings = map[dc.Port][]dc.PortBinding{}
	for _, p := range opts.ExposedPorts {
		opts.PortBindings[dc.Port(p)] = []dc.PortBinding{{HostIP: "127.0.0.1"}}
	}
	res, err := pool.RunWithOptions(opts, func(hc *dc.HostConfig) {
		hc.PublishAllPorts = false // only the loopback bindings above
		hc.Mounts = mounts
		// No AutoRemove: a container that exits at start must leave its
		// log behind for the failure message.
	})
	if err != nil {
		t.Fatalf("run %s (%s:%s): %v", what, opts.Repository, opts.Tag, err)
	}
	// A backstop for a test binary that dies before its cleanup runs.
	_ = res.Expire(600)
	t.Cleanup(func() {
		if err := pool.Purge(res); err != nil {
			t.Errorf("purge %s container: %v", what, err)
		}
	})
	// Registered last, so it runs first, while the container still exists.
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("%s container, last %d lines of its log:\n%s", what, logTailLines, logTail(pool, res.Container.ID, logTailLines))
		}
	})
	return res
}

// logTail returns the last n lines of a container's stdout and of its
// stderr, or why it cannot.
func logTail(pool *dockertest.Pool, id string, n int) string {
	ctx, cancel := context.WithTimeout(context.Background(), cleanupTimeout)
	defer cancel()
	stdout, stderr, err := containerLogs(ctx, pool, id)
	if err != nil {
		return err.Error()
	}
	last := func(s string) string {
		lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
		return strings.Join(lines[max(0, len(lines)-n):], "\n")
	}
	return "stdout:\n" + last(stdout) + "\nstderr:\n" + last(stderr)
}

// haproxyConfig is an HAProxy configuration that balances HTTP requests
// round robin over servers ("name ip:port" each), and takes a server out
// while its /readyz fails, as a load balancer in production does.
func haproxyConfig(servers []string) string {
	var b strings.Builder
	// No user, group, chroot or daemon: the container is the sandbox, and
	// the image has no users to switch to (scripts/build-haproxy-image.sh).
	b.WriteString(`global
    log stdout format raw local0 info

defaults
    mode http
    log global
    option httplog
    timeout connect 2s
    timeout client 10s
    timeout server 10s

frontend web
    bind :8080
    default_backend replicas

backend replicas
    balance roundrobin
    option httpchk
    http-check send meth GET uri /readyz
    http-check expect status 200
`)
	for _, s := range servers {
		fmt.Fprintf(&b, "    server %s check inter 1s\n", s)
	}
	return b.String()
}

// writeHaproxyConfig writes cfg as haproxy.cfg into a directory of its own
// and returns the directory, readable by HAProxy's unprivileged user.
func writeHaproxyConfig(t *testing.T, cfg string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "haproxy")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "haproxy.cfg")
	writeFile(t, file, []byte(cfg))
	// As in writeSigningSecret: no umask may lock the container's user out.
	for name, mode := range map[string]os.FileMode{dir: 0o755, file: 0o644} {
		if err := os.Chmod(name, mode); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// waitForBalancer asks the balancer for /readyz until every replica has
// answered through it. It gives up at once if HAProxy stops (a config it
// rejects), and after pool.MaxWait otherwise.
func waitForBalancer(ctx context.Context, t *testing.T, pool *dockertest.Pool, lb *dockertest.Resource, set *replicaSet) {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, pool.MaxWait)
	defer cancel()
	start := time.Now()
	seen := map[string]bool{}
	var last error
	for len(seen) < len(set.Replicas) {
		c, err := pool.Client.InspectContainerWithContext(lb.Container.ID, ctx)
		switch {
		case err != nil:
			t.Fatalf("inspect the haproxy container: %v (last answer: %v)", err, last)
		case !c.State.Running:
			t.Fatalf("haproxy stopped before it served: %s (exit code %d)", c.State.String(), c.State.ExitCode)
		}
		if name, err := readyVia(ctx, set.LB); err != nil {
			last = err
		} else {
			seen[name] = true
		}
		select {
		case <-ctx.Done():
			t.Fatalf("the balancer reached %v of %v in %v: %v", seen, set.names(), time.Since(start).Round(time.Millisecond), last)
		case <-time.After(50 * time.Millisecond):
		}
	}
	t.Logf("the balancer reached every replica in %v", time.Since(start).Round(time.Millisecond))
}

// readyVia sends GET /readyz to base and returns the name of the replica
// that answered 200.
func readyVia(ctx context.Context, base string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/readyz", nil)
	if err != nil {
		return "", fmt.Errorf("new request: %w", err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", fmt.Errorf("GET %s/readyz: %w", base, err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body) // lets the connection be reused
	name := resp.Header.Get(replicaHeader)
	switch {
	case resp.StatusCode != http.StatusOK:
		return "", fmt.Errorf("GET %s/readyz: %s from %q", base, resp.Status, name)
	case name == "":
		return "", errors.New("GET /readyz: 200 without " + replicaHeader)
	}
	return name, nil
}
