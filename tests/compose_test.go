package tests

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/hexchi/starter/internal/apptest"
)

// composeTimeout bounds TestCompose once its images are there: compose up
// and the health checks, the HTTP session, everything but the cleanup.
const composeTimeout = 90 * time.Second

// composeWait bounds the wait for both services to be healthy.
const composeWait = 60 * time.Second

// TestCompose runs compose.yaml as the README does, with Compose v2
// (`docker compose`) or else docker-compose 1.29, and logs in, reads a
// protected route and logs out through it, over plain http on loopback, as
// curl does: the demo's settings in compose.yaml (a cookie that is not
// Secure, the demo user) are what makes that work.
//
// It uses the images named by APP_IMAGE and REDIS_IMAGE, as compose.yaml
// does. Without APP_IMAGE it builds one of its own with
// scripts/build-app-image.sh (and removes it at the end), so that it never
// tests a stale hexchi/app:local; without REDIS_IMAGE it runs the suite's
// TEST_REDIS_IMAGE, else compose.yaml's redis:7-alpine. TEST_COMPOSE
// ("docker compose" or "docker-compose") picks the Compose command.
func TestCompose(t *testing.T) {
	t.Parallel()
	dockerPool(t) // skips, or fails under CI, without a Docker engine
	compose := findCompose(t)
	root := filepath.Dir(apptest.ConfigDir(t))
	suffix := strings.ToLower(rand.Text()[:10])

	redisImage := firstNonEmpty(os.Getenv("REDIS_IMAGE"), os.Getenv("TEST_REDIS_IMAGE"), defaultRedisImage)
	ensureImage(t, redisImage, "build one with scripts/build-redis-image.sh and set REDIS_IMAGE")
	appImage := os.Getenv("APP_IMAGE")
	if appImage == "" {
		appImage = buildAppImage(t, root, appImageRepo+":test-compose-"+suffix)
	} else if err := run(t.Context(), 30*time.Second, nil, "docker", "image", "inspect", appImage); err != nil {
		t.Fatalf("APP_IMAGE=%s: %v: build it with scripts/build-app-image.sh", appImage, err)
	}

	ctx, cancel := context.WithTimeout(t.Context(), composeTimeout)
	defer cancel()
	start := time.Now()
	port := freePort(t)
	p := &composeProject{
		t:       t,
		cmd:     compose,
		name:    "hexchi-compose-test-" + suffix,
		file:    filepath.Join(root, "compose.yaml"),
		started: start,
		env: []string{
			"APP_IMAGE=" + appImage,
			"REDIS_IMAGE=" + redisImage,
			"APP_PORT=" + strconv.Itoa(port),
			// A fresh signing secret, readable by the app's uid 65532.
			"SECRETS_DIR=" + writeSigningSecret(t),
		},
	}
	// Registered before up, so that whatever up got to is taken down.
	t.Cleanup(p.down)
	p.up(ctx)
	t.Logf("%s up, both services healthy, in %v", compose.name, time.Since(start).Round(time.Millisecond))

	base := "http://127.0.0.1:" + strconv.Itoa(port)
	c := newCurlClient(t, base)
	r := c.do(ctx, http.MethodPost, "/api/v1/auth/login", demoLogin, nil)
	if r.Status != http.StatusOK {
		t.Fatalf("login: %d %s", r.Status, r.Body)
	}
	sid := checkDemoSessionCookie(t, r.Header)
	r = c.do(ctx, http.MethodGet, "/api/v1/me", nil, nil)
	var who struct {
		ID string `json:"id"`
	}
	if r.Status != http.StatusOK || json.Unmarshal(r.Body, &who) != nil || who.ID != "demo" {
		t.Fatalf("GET /api/v1/me after login: %d %s, want 200 and id demo", r.Status, r.Body)
	}
	// The session is in the compose file's Redis, and redis-cli runs there.
	if out, err := p.output(ctx, "exec", "-T", "redis", "redis-cli", "dbsize"); err != nil || strings.TrimSpace(out) == "0" {
		t.Errorf("redis-cli dbsize in the redis service: %q, %v: want the session's keys", out, err)
	}
	if r = c.do(ctx, http.MethodPost, "/api/v1/auth/logout", nil, nil); r.Status != http.StatusNoContent {
		t.Fatalf("logout: %d %s, want 204", r.Status, r.Body)
	}
	if r = c.do(ctx, http.MethodGet, "/api/v1/me", nil, nil); r.Status != http.StatusUnauthorized {
		t.Fatalf("GET /api/v1/me after logout: %d %s, want 401", r.Status, r.Body)
	}
	// The cookie the client dropped at logout, sent again: the session is
	// gone from Redis, not only from the client.
	replay := http.Header{"Cookie": {"SID=" + sid}}
	if r = c.do(ctx, http.MethodGet, "/api/v1/me", nil, replay); r.Status != http.StatusUnauthorized {
		t.Fatalf("GET /api/v1/me with the logged-out session's cookie: %d %s, want 401", r.Status, r.Body)
	}
	t.Logf("login, /me, logout done in %v since compose up", time.Since(start).Round(time.Millisecond))
}

// composeCommand is a Compose command line: args[0] and its first arguments.
type composeCommand struct {
	name string   // "docker compose v2.40.3", for the log
	args []string // ["docker", "compose"] or ["docker-compose"]
	v2   bool     // up has --wait
}

// findCompose returns TEST_COMPOSE when set, else `docker compose` (Compose
// v2) when it answers, else docker-compose (1.29 answers too).
func findCompose(t *testing.T) composeCommand {
	t.Helper()
	candidates := [][]string{{"docker", "compose"}, {"docker-compose"}}
	if s := os.Getenv("TEST_COMPOSE"); s != "" {
		candidates = [][]string{strings.Fields(s)}
	}
	var tried []string
	for _, args := range candidates {
		out, err := outputOf(t.Context(), 20*time.Second, nil, append(slices.Clone(args), "version", "--short")...)
		version := strings.TrimSpace(out)
		if err != nil {
			tried = append(tried, fmt.Sprintf("%s: %v", strings.Join(args, " "), err))
			continue
		}
		// "2.40.3" (v2 says v2.40.3 in some builds) or "1.29.2".
		major := strings.SplitN(strings.TrimPrefix(version, "v"), ".", 2)[0]
		return composeCommand{name: strings.Join(args, " ") + " " + version, args: args, v2: major != "1"}
	}
	unavailable(t, "no Compose (%s): run scripts/install-compose.sh for Compose v2, or install docker-compose", strings.Join(tried, "; "))
	return composeCommand{}
}

// composeProject is one run of compose.yaml, under a project name of its
// own, so that parallel runs and the developer's own `docker compose up`
// never meet.
type composeProject struct {
	t       *testing.T
	cmd     composeCommand
	name    string
	file    string
	env     []string // added to the environment compose.yaml reads
	started time.Time
}

// command returns the compose command line for args.
func (p *composeProject) command(args ...string) []string {
	return append(slices.Concat(p.cmd.args, []string{"-p", p.name, "-f", p.file}), args...)
}

// output runs a compose command and returns its standard output.
func (p *composeProject) output(ctx context.Context, args ...string) (string, error) {
	return outputOf(ctx, 30*time.Second, p.env, p.command(args...)...)
}

// up starts the project and waits until both services are healthy. It
// never builds or pulls: the images are there already.
func (p *composeProject) up(ctx context.Context) {
	t := p.t
	t.Helper()
	args := []string{"up", "-d", "--no-build"}
	if p.cmd.v2 {
		args = append(args, "--wait", "--wait-timeout", strconv.Itoa(int(composeWait/time.Second)))
	}
	if err := run(ctx, composeWait+15*time.Second, p.env, p.command(args...)...); err != nil {
		t.Fatal(err)
	}
	// docker-compose 1.29 has no --wait; after Compose v2's, this confirms
	// that both services have a health check, and pass it.
	p.waitHealthy(ctx, "redis", "app")
}

// waitHealthy polls the project's containers until each service in
// services has a healthy one, and fails at once if one exits or turns
// unhealthy.
func (p *composeProject) waitHealthy(ctx context.Context, services ...string) {
	t := p.t
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, composeWait)
	defer cancel()
	for {
		states, err := p.containerStates(ctx)
		if err != nil {
			t.Fatal(err)
		}
		healthy := 0
		for _, service := range services {
			s, ok := states[service]
			switch {
			case !ok:
				t.Fatalf("service %s has no container (containers: %v)", service, states)
			case s.status == "exited" || s.status == "dead":
				t.Fatalf("service %s stopped before it was healthy: %s, exit code %d", service, s.status, s.exitCode)
			case s.health == "":
				t.Fatalf("service %s has no health check: compose.yaml must give it one", service)
			case s.health == "unhealthy":
				t.Fatalf("service %s is unhealthy", service)
			case s.health == "healthy":
				healthy++
			}
		}
		if healthy == len(services) {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("services not healthy after %v: %v", composeWait, states)
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// containerState is what waitHealthy looks at in a container.
type containerState struct {
	status   string // running, exited, ...
	health   string // starting, healthy, unhealthy, or "" without a health check
	exitCode int
}

// containerStates returns the state of the project's containers by service,
// found by the label that Compose v1 and v2 both put on them.
func (p *composeProject) containerStates(ctx context.Context) (map[string]containerState, error) {
	ids, err := outputOf(ctx, 10*time.Second, nil, "docker", "ps", "-aq", "--filter", "label=com.docker.compose.project="+p.name)
	if err != nil {
		return nil, err
	}
	states := map[string]containerState{}
	if len(strings.Fields(ids)) == 0 {
		return states, nil
	}
	const format = `{{index .Config.Labels "com.docker.compose.service"}} {{.State.Status}} {{.State.ExitCode}} {{if .State.Health}}{{.State.Health.Status}}{{end}}`
	out, err := outputOf(ctx, 10*time.Second, nil, append([]string{"docker", "inspect", "--format", format}, strings.Fields(ids)...)...)
	if err != nil {
		return nil, err
	}
	for line := range strings.Lines(out) {
		f := strings.Fields(line)
		if len(f) < 3 {
			continue
		}
		s := containerState{status: f[1]}
		s.exitCode, _ = strconv.Atoi(f[2])
		if len(f) > 3 {
			s.health = f[3]
		}
		states[f[0]] = s
	}
	return states, nil
}

// down prints the project's logs and states if the test failed, then
// removes its containers, network and volumes, and checks that nothing of
// it is left. It runs as a cleanup, after t.Context is cancelled: its
// commands have contexts of their own.
func (p *composeProject) down() {
	t := p.t
	ctx := context.Background()
	if t.Failed() {
		logs, err := outputOf(ctx, 30*time.Second, p.env, p.command("logs", "--no-color")...)
		t.Logf("compose logs (%v):\n%s", err, logs)
		ps, err := outputOf(ctx, 30*time.Second, p.env, p.command("ps", "-a")...)
		t.Logf("compose ps (%v):\n%s", err, ps)
		ids, _ := outputOf(ctx, 10*time.Second, nil, "docker", "ps", "-aq", "--filter", "label=com.docker.compose.project="+p.name)
		if ids := strings.Fields(ids); len(ids) > 0 {
			health, err := outputOf(ctx, 10*time.Second, nil, append([]string{"docker", "inspect", "--format", "{{.Name}}: {{json .State.Health}}"}, ids...)...)
			t.Logf("health checks (%v):\n%s", err, health)
		}
	}
	start := time.Now()
	if err := run(ctx, 60*time.Second, p.env, p.command("down", "-v", "--remove-orphans")...); err != nil {
		t.Error(err)
	}
	t.Logf("compose down in %v; %v in all since compose up", time.Since(start).Round(time.Millisecond), time.Since(p.started).Round(time.Millisecond))
	label := "label=com.docker.compose.project=" + p.name
	for _, kind := range []string{"container", "network", "volume"} {
		args := []string{"docker", kind, "ls", "-q", "--filter", label}
		if kind == "container" {
			args = []string{"docker", "ps", "-aq", "--filter", label}
		}
		out, err := outputOf(ctx, 10*time.Second, nil, args...)
		if err != nil || strings.TrimSpace(out) != "" {
			t.Errorf("after compose down, the project's %ss: %q (%v), want none", kind, out, err)
		}
	}
}

// ensureImage makes sure image is in the engine, pulling it if it is not;
// a failed pull skips the test (or fails it, under CI) with how to build
// one instead.
func ensureImage(t *testing.T, image, howto string) {
	t.Helper()
	if run(t.Context(), 30*time.Second, nil, "docker", "image", "inspect", image) == nil {
		return
	}
	if err := run(t.Context(), 2*time.Minute, nil, "docker", "pull", "--quiet", image); err != nil {
		unavailable(t, "no image %s, and cannot pull it (%v): %s", image, err, howto)
	}
}

// buildAppImage builds the app image tagged tag with
// scripts/build-app-image.sh, as CI does, and removes it when the test ends.
func buildAppImage(t *testing.T, root, tag string) string {
	t.Helper()
	start := time.Now()
	// Registered first: a build cut short here may still tag the image.
	t.Cleanup(func() { removeImage(t, tag) })
	if err := run(t.Context(), 3*time.Minute, nil, "bash", filepath.Join(root, "scripts", "build-app-image.sh"), tag); err != nil {
		t.Fatal(err)
	}
	t.Logf("built %s in %v", tag, time.Since(start).Round(time.Millisecond))
	return tag
}

// removeImage removes image; one that is not there is no error. It runs in
// cleanups, when the test's context has ended: hence context.Background.
func removeImage(t *testing.T, image string) {
	t.Helper()
	out, err := outputOf(context.Background(), cleanupTimeout, nil, "docker", "image", "rm", image)
	if err != nil && !strings.Contains(out+err.Error(), "No such image") {
		t.Errorf("remove %s: %v", image, err)
	}
}

// run runs a command, bounded by timeout, with env added to the
// environment, and returns an error that holds its output if it fails.
func run(ctx context.Context, timeout time.Duration, env []string, args ...string) error {
	_, err := outputOf(ctx, timeout, env, args...)
	return err
}

// outputOf runs a command, bounded by timeout, with env added to the
// environment, and returns its standard output; a failure's error holds
// its standard error too. An interrupt, then a kill 10 s later, stops a
// command that outlives its context: the Docker CLI passes the interrupt on
// to the compose plugin, so that it stops too.
func outputOf(ctx context.Context, timeout time.Duration, env []string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, args[0], args[1:]...)
	cmd.Env = append(os.Environ(), env...) // later entries win
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
	cmd.WaitDelay = 10 * time.Second
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	err := cmd.Run()
	if ctx.Err() != nil {
		err = fmt.Errorf("%w (%w, after %v)", err, ctx.Err(), time.Since(start).Round(time.Millisecond))
	}
	if err != nil {
		return stdout.String(), fmt.Errorf("%s: %w\n%s%s", strings.Join(args, " "), err, &stdout, &stderr)
	}
	return stdout.String(), nil
}

// firstNonEmpty returns the first of values that is not "".
func firstNonEmpty(values ...string) string {
	for _, v := range values {
		if v != "" {
			return v
		}
	}
	return ""
}

// curlClient is an HTTP client with a plain cookie jar, which, as curl's
// -c/-b and browsers, never sends a Secure cookie over http: unlike
// apptest.Client, it cannot hide a cookie that plain http cannot use.
type curlClient struct {
	t    *testing.T
	base string
	hc   *http.Client
}

func newCurlClient(t *testing.T, base string) *curlClient {
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &curlClient{t: t, base: base, hc: &http.Client{
		Jar:           jar,
		Timeout:       5 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

// do sends a request, with a JSON body unless body is nil and with header
// added, and reads the whole response; a transport error fails the test.
func (c *curlClient) do(ctx context.Context, method, path string, body []byte, header http.Header) apptest.Response {
	c.t.Helper()
	var r io.Reader
	if body != nil {
		r = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, r)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		c.t.Fatalf("%s %s: read body: %v", method, path, err)
	}
	return apptest.Response{Status: resp.StatusCode, Header: resp.Header, Body: b}
}

// checkDemoSessionCookie checks the session cookie that compose.yaml's demo
// settings give over plain http: named SID, not Secure, still HttpOnly and
// SameSite=Lax. It returns the cookie's value.
func checkDemoSessionCookie(t *testing.T, h http.Header) string {
	t.Helper()
	for _, line := range h.Values("Set-Cookie") {
		ck, err := http.ParseSetCookie(line)
		if err != nil {
			t.Errorf("Set-Cookie %q: %v", line, err)
			continue
		}
		if ck.Name != "SID" {
			continue
		}
		if ck.Secure || !ck.HttpOnly || ck.SameSite != http.SameSiteLaxMode || ck.Path != "/" {
			t.Errorf("session cookie %q: want HttpOnly, SameSite=Lax, Path=/ and not Secure (compose.yaml's demo settings)", line)
		}
		return ck.Value
	}
	t.Fatalf("login set no SID cookie: %q", h.Values("Set-Cookie"))
	return ""
}

// TestComposeFile checks, without Docker, what compose.yaml promises: Redis
// publishes no port, the app's port is on loopback only, both services have
// a health check, the signing secret is mounted where the image looks, and
// the demo user is config/dev's.
func TestComposeFile(t *testing.T) {
	t.Parallel()
	root := filepath.Dir(apptest.ConfigDir(t))
	data, err := os.ReadFile(filepath.Join(root, "compose.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	type service struct {
		Image       string            `yaml:"image"`
		Ports       []string          `yaml:"ports"`
		Environment map[string]string `yaml:"environment"`
		Healthcheck struct {
			Test []string `yaml:"test"`
		} `yaml:"healthcheck"`
		Secrets []struct {
			Source string `yaml:"source"`
			Target string `yaml:"target"`
		} `yaml:"secrets"`
	}
	var f struct {
		Services map[string]service `yaml:"services"`
	}
	if err := yaml.Unmarshal(data, &f); err != nil {
		t.Fatalf("parse compose.yaml: %v", err)
	}
	redisSvc, app := f.Services["redis"], f.Services["app"]
	if redisSvc.Image != "${REDIS_IMAGE:-"+defaultRedisImage+"}" || app.Image != "${APP_IMAGE:-hexchi/app:local}" {
		t.Errorf("images %q and %q: want REDIS_IMAGE and APP_IMAGE, defaulting to %s and hexchi/app:local", redisSvc.Image, app.Image, defaultRedisImage)
	}
	if len(redisSvc.Ports) != 0 {
		t.Errorf("redis publishes %q: want no port", redisSvc.Ports)
	}
	if len(app.Ports) != 1 || !strings.HasPrefix(app.Ports[0], "127.0.0.1:") {
		t.Errorf("app publishes %q: want one port, on 127.0.0.1", app.Ports)
	}
	if !slices.Equal(redisSvc.Healthcheck.Test, []string{"CMD", "redis-cli", "ping"}) ||
		!slices.Equal(app.Healthcheck.Test, []string{"CMD", "/app/app", "-healthcheck"}) {
		t.Errorf("health checks %q and %q", redisSvc.Healthcheck.Test, app.Healthcheck.Test)
	}
	const sign = "core.auth.session.cookie.sign"
	if len(app.Secrets) != 1 || app.Secrets[0].Source != sign || app.Secrets[0].Target != "/run/secrets/"+sign {
		t.Errorf("app secrets %+v: want %s at /run/secrets/%s", app.Secrets, sign, sign)
	}

	// $$ is Compose's escape for $.
	users := strings.ReplaceAll(app.Environment["CORE_AUTH_USERS"], "$$", "$")
	devUsers := configUsers(t, filepath.Join(root, "config", "dev", "config.yaml"))
	if users != strings.Join(devUsers, ",") {
		t.Errorf("compose.yaml's CORE_AUTH_USERS (unescaped) %q, want config/dev's %q", users, devUsers)
	}
}

// configUsers returns the core.auth.users of a config file.
func configUsers(t *testing.T, name string) []string {
	t.Helper()
	data, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	var cfg struct {
		Core struct {
			Auth struct {
				Users []string `yaml:"users"`
			} `yaml:"auth"`
		} `yaml:"core"`
	}
	if err := yaml.Unmarshal(data, &cfg); err != nil {
		t.Fatalf("parse %s: %v", name, err)
	}
	if len(cfg.Core.Auth.Users) == 0 {
		t.Fatalf("%s: no core.auth.users", name)
	}
	return cfg.Core.Auth.Users
}
