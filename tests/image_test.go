package tests

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ory/dockertest/v3"
	dc "github.com/ory/dockertest/v3/docker"

	"github.com/hexchi/starter/internal/apptest"
)

// The runtime stage's binary line, and what the test puts in its place.
// The Dockerfile's build stage needs a registry (FROM golang); the test
// machine has none, so the test builds the binary on the host and copies
// it from the build context instead. Everything else in the stage is used
// as written, so the image under test is the image users build.
const (
	binaryFromBuildStage = "COPY --from=build /out/app /app/app"
	binaryFromContext    = "COPY app /app/app"
)

// appImageRepo is the repository of the images the test builds, each tagged
// test-<random>, so that parallel runs never share (or remove) an image.
const appImageRepo = "hexchi/app"

// cleanupTimeout bounds each Docker call made while cleaning up, when the
// test's context is already cancelled.
const cleanupTimeout = 30 * time.Second

// TestImage builds the container image from the repository's Dockerfile
// (its runtime stage, around a binary built here), runs it next to Redis on
// a Docker network of its own, and logs in, reads a protected route and
// logs out through it: what `docker run` users get, checked end to end.
func TestImage(t *testing.T) {
	t.Parallel()
	pool := dockerPool(t)
	root := filepath.Dir(apptest.ConfigDir(t))
	suffix := strings.ToLower(rand.Text()[:10])

	// Redis first: a missing Redis image skips (or, under CI, fails) the
	// test before it spends seconds building.
	network := createTestNetwork(t, pool, "hexchi-image-test-"+suffix)
	redisIP := startRedisOnNetwork(t, pool, network)

	tag := "test-" + suffix
	image := appImageRepo + ":" + tag
	buildRuntimeImage(t, pool, root, image)
	checkImageConfig(t, pool, image)
	checkImageFiles(t, pool, image, filepath.Join(root, "config"))

	app := runAppImage(t, pool, tag, network, []string{
		// Container to container, on the test's own network: Redis
		// publishes no port at all.
		"CORE_REDIS_ADDRS=" + net.JoinHostPort(redisIP, "6379"),
		"CORE_REDIS_KEY_PREFIX=" + keyPrefix(),
		// config/prod defines no users: a real deployment brings its own
		// user directory. Borrow the demo user of config/test.
		"CORE_AUTH_USERS=" + strings.Join(testUsers(t, root), ","),
	})
	base := "http://" + app.GetHostPort("8080/tcp")
	waitUntilReady(t, pool, app, base)

	c := apptest.NewClient(t, base)
	r := c.Do(http.MethodPost, "/api/v1/auth/login", demoLogin, "application/json")
	if r.Status != http.StatusOK {
		t.Fatalf("login: %d %s", r.Status, r.Body)
	}
	checkProdSessionCookie(t, r.Header)
	r = c.Do(http.MethodGet, "/api/v1/me", nil, "")
	var who struct {
		Name string `json:"name"`
	}
	if r.Status != http.StatusOK || json.Unmarshal(r.Body, &who) != nil || who.Name != "demo" {
		t.Fatalf("GET /api/v1/me after login: %d %s, want 200 and the demo user", r.Status, r.Body)
	}
	if got := status(c, http.MethodPost, "/api/v1/auth/logout"); got != http.StatusNoContent {
		t.Fatalf("logout: %d, want 204", got)
	}
	if got := status(c, http.MethodGet, "/api/v1/me"); got != http.StatusUnauthorized {
		t.Fatalf("GET /api/v1/me after logout: %d, want 401", got)
	}

	checkJSONLogs(t, pool, app)
}

// createTestNetwork creates a bridge network that only this test's
// containers join, removed when the test ends (after its containers, whose
// cleanups run first because they are registered later).
func createTestNetwork(t *testing.T, pool *dockertest.Pool, name string) *dockertest.Network {
	t.Helper()
	network, err := pool.CreateNetwork(name)
	if err != nil {
		t.Fatalf("create network %s: %v", name, err)
	}
	t.Cleanup(func() {
		if err := pool.RemoveNetwork(network); err != nil {
			t.Errorf("remove network %s: %v", name, err)
		}
	})
	return network
}

// startRedisOnNetwork runs a Redis container on network, with no port
// published on the host, and returns its address in the network. The app's
// readiness check (a PING) tells when it answers.
func startRedisOnNetwork(t *testing.T, pool *dockertest.Pool, network *dockertest.Network) string {
	t.Helper()
	repo, tag := redisImage()
	res, err := pool.RunWithOptions(&dockertest.RunOptions{
		Repository: repo,
		Tag:        tag,
		// protected-mode off: the app connects from another container, not
		// from loopback, and this Redis has no password.
		Cmd:      []string{"--save", "", "--appendonly", "no", "--protected-mode", "no"},
		Networks: []*dockertest.Network{network},
	}, func(hc *dc.HostConfig) {
		// dockertest publishes every EXPOSEd port on all interfaces by
		// default; only the app talks to this Redis.
		hc.PublishAllPorts = false
		hc.AutoRemove = true
	})
	if err != nil {
		unavailable(t, "cannot run %s:%s (%v): build a local image with scripts/build-redis-image.sh and set TEST_REDIS_IMAGE", repo, tag, err)
	}
	// A backstop for a test binary that dies before its cleanup runs.
	_ = res.Expire(600)
	t.Cleanup(func() {
		if err := pool.Purge(res); err != nil {
			t.Errorf("purge redis container: %v", err)
		}
	})
	ip := res.GetIPInNetwork(network)
	if ip == "" {
		t.Fatalf("redis container has no address in network %s", network.Network.Name)
	}
	return ip
}

// buildRuntimeImage builds image as the repository's Dockerfile builds its
// runtime stage, from a build context of the derived Dockerfile, the
// repository's .dockerignore, a binary built here and a copy of config/.
// The image is removed when the test ends.
func buildRuntimeImage(t *testing.T, pool *dockertest.Pool, root, image string) {
	t.Helper()
	ctx := t.Context()
	buildCtx := t.TempDir()

	dockerfile, err := os.ReadFile(filepath.Join(root, "Dockerfile"))
	if err != nil {
		t.Fatalf("read Dockerfile: %v", err)
	}
	stage, err := runtimeStage(string(dockerfile))
	if err != nil {
		t.Fatalf("Dockerfile: %v", err)
	}
	writeFile(t, filepath.Join(buildCtx, "Dockerfile"), []byte(stage))

	// The repository's own .dockerignore, not a copy of its rules, filters
	// the context, as it does for `docker build .`: the image check below
	// then proves that the rule users rely on keeps every secrets/ folder
	// out. Its first rule ignores everything, so let the binary back in.
	ignore, err := os.ReadFile(filepath.Join(root, ".dockerignore"))
	if err != nil {
		t.Fatalf("read .dockerignore: %v", err)
	}
	ignore = append(ignore, "\n# Added by tests/image_test.go: the binary built on the host.\n!app\n"...)
	writeFile(t, filepath.Join(buildCtx, ".dockerignore"), ignore)
	// All of config/, secrets included, as `docker build .` finds it. (A
	// developer's config/prod/secrets is copied too, into the test's
	// temporary directory, which only its user can read and which is
	// removed at the end.)
	if err := os.CopyFS(filepath.Join(buildCtx, "config"), os.DirFS(filepath.Join(root, "config"))); err != nil {
		t.Fatalf("copy config into the build context: %v", err)
	}

	start := time.Now()
	buildLinuxBinary(t, pool, root, filepath.Join(buildCtx, "app"))
	t.Logf("built the binary in %v", time.Since(start).Round(time.Millisecond))

	start = time.Now()
	var out bytes.Buffer
	err = pool.Client.BuildImage(dc.BuildImageOptions{
		Context:    ctx,
		Name:       image,
		ContextDir: buildCtx,
		Dockerfile: "Dockerfile",
		// Layers of its own, so that removing the image removes them all,
		// and nothing is pulled: the stage is FROM scratch.
		NoCache:             true,
		Pull:                false,
		RmTmpContainer:      true,
		ForceRmTmpContainer: true,
		OutputStream:        &out,
	})
	// Registered whether or not the build succeeded: a build cut short on
	// this side (a cancelled context) may still finish, and tag the image,
	// in the engine. A missing image is then no error.
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), cleanupTimeout)
		defer cancel()
		err := pool.Client.RemoveImageExtended(image, dc.RemoveImageOptions{Context: ctx})
		if err != nil && !errors.Is(err, dc.ErrNoSuchImage) {
			t.Errorf("remove image %s: %v", image, err)
		}
	})
	if err != nil {
		t.Fatalf("docker build %s: %v\n%s", image, err, &out)
	}
	t.Logf("built %s in %v", image, time.Since(start).Round(time.Millisecond))
}

// TestImageDockerfileShape checks, without Docker, that the repository's
// Dockerfile has the shape TestImage relies on, and that runtimeStage
// rejects each way of losing it.
func TestImageDockerfileShape(t *testing.T) {
	t.Parallel()
	dockerfile, err := os.ReadFile(filepath.Join(filepath.Dir(apptest.ConfigDir(t)), "Dockerfile"))
	if err != nil {
		t.Fatalf("read Dockerfile: %v", err)
	}
	if _, err := runtimeStage(string(dockerfile)); err != nil {
		t.Fatalf("Dockerfile: %v", err)
	}

	const build = "FROM golang:1.26 AS build\nRUN go build -o /out/app ./cmd/app\n"
	tests := []struct {
		name, dockerfile, want string // want: the stage, or "" for an error
	}{
		{"runtime stage", build + "FROM scratch AS runtime\ncopy  --from=build  /out/app   /app/app\nUSER 65532:65532\n",
			"FROM scratch AS runtime\nCOPY app /app/app\nUSER 65532:65532\n"},
		{"platform flag", build + "FROM --platform=linux/amd64 scratch\nCOPY --from=build /out/app /app/app",
			"FROM --platform=linux/amd64 scratch\nCOPY app /app/app"},
		{"no FROM", "COPY --from=build /out/app /app/app\n", ""},
		{"base to pull", build + "FROM gcr.io/distroless/static\nCOPY --from=build /out/app /app/app\n", ""},
		{"binary line renamed", build + "FROM scratch\nCOPY --from=build /out/app /app/server\n", ""},
		{"binary line only in the build stage", "FROM scratch AS build\nCOPY --from=build /out/app /app/app\nFROM scratch\n", ""},
		{"binary line twice", build + "FROM scratch\nCOPY --from=build /out/app /app/app\nCOPY --from=build /out/app /app/app\n", ""},
		{"another file from a stage", build + "FROM scratch\nCOPY --from=build /out/app /app/app\nCOPY --from=build /etc/ssl /etc/ssl\n", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := runtimeStage(tt.dockerfile)
			switch {
			case tt.want == "" && err == nil:
				t.Errorf("runtimeStage accepted:\n%s\nand returned:\n%s", tt.dockerfile, got)
			case tt.want != "" && err != nil:
				t.Errorf("runtimeStage: %v", err)
			case tt.want != "" && got != tt.want:
				t.Errorf("runtimeStage returned:\n%s\nwant:\n%s", got, tt.want)
			}
		})
	}
}

// runtimeStage returns the Dockerfile's last stage, the runtime image, with
// its binary copied from the build context instead of from the build stage.
// It fails unless the stage has exactly the shape this needs: FROM scratch
// (nothing to pull), and exactly one binaryFromBuildStage line and nothing
// else taken from another stage. That failure is what keeps the Dockerfile
// users build and the one this test builds the same.
func runtimeStage(dockerfile string) (string, error) {
	lines := strings.Split(dockerfile, "\n")
	first := -1
	for i, line := range lines {
		if isInstruction(line, "FROM") {
			first = i
		}
	}
	if first < 0 {
		return "", errors.New("no FROM line")
	}
	stage := slices.Clone(lines[first:])
	if base := fromImage(strings.Fields(stage[0])[1:]); base != "scratch" {
		return "", fmt.Errorf("the runtime stage (the last) is %q: it must be FROM scratch, since the test machine has no registry to pull %q from", stage[0], base)
	}

	copies := 0
	for i, line := range stage {
		if sameInstruction(line, binaryFromBuildStage) {
			stage[i] = binaryFromContext
			copies++
		}
	}
	if copies != 1 {
		return "", fmt.Errorf("the runtime stage (the last) has %d lines %q, want exactly 1: tests/image_test.go replaces it with %q to copy the binary it built; keep the line as it is, or change the test with it",
			copies, binaryFromBuildStage, binaryFromContext)
	}
	for _, line := range stage {
		if isInstruction(line, "COPY") && strings.Contains(strings.ToLower(line), "--from=") {
			return "", fmt.Errorf("the runtime stage (the last) copies from another stage in %q: the test builds the runtime stage alone, so only %q may", line, binaryFromBuildStage)
		}
	}
	return strings.Join(stage, "\n"), nil
}

// isInstruction reports whether line is a Dockerfile instruction named name
// (instructions are case-insensitive).
func isInstruction(line, name string) bool {
	fields := strings.Fields(line)
	return len(fields) > 0 && strings.EqualFold(fields[0], name)
}

// sameInstruction reports whether line and want are the same instruction
// with the same arguments: the instruction compared case-insensitively, as
// Docker reads it, the arguments exactly, the spaces between them ignored.
func sameInstruction(line, want string) bool {
	got, w := strings.Fields(line), strings.Fields(want)
	return len(got) == len(w) && len(w) > 0 && strings.EqualFold(got[0], w[0]) && slices.Equal(got[1:], w[1:])
}

// fromImage returns the image of a FROM instruction's arguments, skipping
// flags such as --platform.
func fromImage(args []string) string {
	for _, arg := range args {
		if !strings.HasPrefix(arg, "--") {
			return arg
		}
	}
	return ""
}

// buildLinuxBinary builds ./cmd/app as a static Linux binary at out, for the
// Docker engine's architecture (which need not be the host's: Docker
// Desktop on macOS runs a Linux VM), with the flags of the Dockerfile's
// build stage.
func buildLinuxBinary(t *testing.T, pool *dockertest.Pool, root, out string) {
	t.Helper()
	engine, err := pool.Client.Version()
	if err != nil {
		t.Fatalf("docker version: %v", err)
	}
	if goos := engine.Get("Os"); goos != "linux" {
		unavailable(t, "the Docker engine runs %s containers; the image is a Linux image", goos)
	}
	// go test puts its own GOROOT/bin first in PATH, so this is the go
	// that runs the test.
	cmd := exec.CommandContext(t.Context(), "go", "build", "-trimpath", "-ldflags=-s -w", "-o", out, "./cmd/app")
	cmd.Dir = root
	// Later entries win over the developer's own GOOS, GOARCH and CGO_ENABLED.
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+engine.Get("Arch"))
	if output, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", cmd, err, output)
	}
}

// checkImageConfig checks what the Dockerfile promises about how the image
// runs: as the non-root user 65532 (the empty base has no /etc/passwd, so
// the user is numeric), the binary as its entrypoint, on port 8080.
func checkImageConfig(t *testing.T, pool *dockertest.Pool, image string) {
	t.Helper()
	img, err := pool.Client.InspectImage(image)
	if err != nil {
		t.Fatalf("inspect image %s: %v", image, err)
	}
	if img.Config == nil {
		t.Fatalf("image %s has no config", image)
	}
	if got := img.Config.User; got != "65532:65532" {
		t.Errorf("image user: %q, want 65532:65532", got)
	}
	if got := img.Config.Entrypoint; !slices.Equal(got, []string{"/app/app"}) {
		t.Errorf("image entrypoint: %q, want [/app/app]", got)
	}
	if _, ok := img.Config.ExposedPorts["8080/tcp"]; !ok {
		t.Errorf("image exposes %v, want 8080/tcp", img.Config.ExposedPorts)
	}
}

// checkImageFiles checks the image's file system: it holds the binary and
// every file of configDir except those in a secrets/ folder, and no secret
// anywhere, neither in a secrets/ folder nor under a secret's file name.
// It reads the file system of a container created (never started) from the
// image, so that nothing mounted at run time is in the way.
func checkImageFiles(t *testing.T, pool *dockertest.Pool, image, configDir string) {
	t.Helper()
	ctx := t.Context()

	want := []string{"app/app"}
	var secrets []string             // as config/<env>/secrets/<key>
	secretNames := map[string]bool{} // their base names: secret keys
	err := filepath.WalkDir(configDir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(configDir, p)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		if inSecretsDir(rel) {
			secrets = append(secrets, "config/"+rel)
			secretNames[d.Name()] = true
		} else {
			want = append(want, "app/config/"+rel)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("list %s: %v", configDir, err)
	}
	// config/test/secrets is committed: without a secret in the build
	// context, finding none in the image would prove nothing.
	if len(secrets) == 0 {
		t.Fatalf("no file in a secrets/ folder under %s: the check needs one", configDir)
	}

	c, err := pool.Client.CreateContainer(dc.CreateContainerOptions{Context: ctx, Config: &dc.Config{Image: image}})
	if err != nil {
		t.Fatalf("create a container of %s: %v", image, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), cleanupTimeout)
		defer cancel()
		if err := pool.Client.RemoveContainer(dc.RemoveContainerOptions{Context: ctx, ID: c.ID, Force: true}); err != nil {
			t.Errorf("remove container %s: %v", c.ID, err)
		}
	})
	var rootfs bytes.Buffer
	if err := pool.Client.ExportContainer(dc.ExportContainerOptions{Context: ctx, ID: c.ID, OutputStream: &rootfs}); err != nil {
		t.Fatalf("export a container of %s: %v", image, err)
	}

	var got, leaked []string
	tr := tar.NewReader(&rootfs)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("read the exported file system: %v", err)
		}
		name := path.Clean(strings.TrimPrefix(hdr.Name, "./"))
		// name+"/" looks at the entry itself as a folder too: a secrets/
		// folder in the image is a leak even when it is empty.
		if inSecretsDir(name+"/") || (hdr.Typeflag != tar.TypeDir && secretNames[path.Base(name)]) {
			leaked = append(leaked, name)
		}
		if hdr.Typeflag == tar.TypeReg && strings.HasPrefix(name, "app/") {
			got = append(got, name)
		}
	}
	if len(leaked) > 0 {
		t.Errorf("image %s holds secrets: %q; .dockerignore must keep every secrets/ folder out (%q)", image, leaked, secrets)
	}
	slices.Sort(want)
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Errorf("files under /app in the image:\n%q\nwant the binary and config/ without its secrets:\n%q", got, want)
	}
}

// inSecretsDir reports whether the slash-separated path p lies in a folder
// named secrets, the rule .dockerignore enforces with config/*/secrets/.
func inSecretsDir(p string) bool {
	dirs := strings.Split(p, "/")
	return slices.Contains(dirs[:len(dirs)-1], "secrets")
}

// runAppImage runs the app image tagged tag on network with env, the
// cookie signing secret mounted read-only at /run/secrets (where the
// image's APP_SECRETS_DIR points), and port 8080 published on loopback
// only. The container is purged when the test ends; if the test failed,
// its log is printed first.
func runAppImage(t *testing.T, pool *dockertest.Pool, tag string, network *dockertest.Network, env []string) *dockertest.Resource {
	t.Helper()
	secretsDir := writeSigningSecret(t)
	res, err := pool.RunWithOptions(&dockertest.RunOptions{
		Repository:   appImageRepo,
		Tag:          tag,
		Env:          env,
		Networks:     []*dockertest.Network{network},
		ExposedPorts: []string{"8080/tcp"},
		PortBindings: map[dc.Port][]dc.PortBinding{"8080/tcp": {{HostIP: "127.0.0.1", HostPort: ""}}},
	}, func(hc *dc.HostConfig) {
		hc.PublishAllPorts = false // only the loopback binding above
		hc.Mounts = []dc.HostMount{{Type: "bind", Source: secretsDir, Target: "/run/secrets", ReadOnly: true}}
		// No AutoRemove: an app that exits at start must leave its log
		// behind for the failure message.
	})
	if err != nil {
		t.Fatalf("run %s:%s: %v", appImageRepo, tag, err)
	}
	// A backstop for a test binary that dies before its cleanup runs.
	_ = res.Expire(600)
	t.Cleanup(func() {
		if err := pool.Purge(res); err != nil {
			t.Errorf("purge app container: %v", err)
		}
	})
	// Registered last, so it runs first, while the container still exists.
	t.Cleanup(func() {
		if !t.Failed() {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), cleanupTimeout)
		defer cancel()
		stdout, stderr, err := containerLogs(ctx, pool, res.Container.ID)
		if err != nil {
			t.Logf("app container log: %v", err)
			return
		}
		t.Logf("app container stdout:\n%s\napp container stderr:\n%s", stdout, stderr)
	})
	return res
}

// writeSigningSecret writes a fresh cookie signing secret, 48 random bytes
// in base64, into a directory of its own, and returns the directory. The
// container runs as uid 65532, not as the owner: the directory and the file
// must be readable by others.
func writeSigningSecret(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "secrets")
	file := filepath.Join(dir, "core.auth.session.cookie.sign")
	key := make([]byte, 48)
	if _, err := rand.Read(key); err != nil {
		t.Fatalf("random signing secret: %v", err)
	}
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, file, []byte(base64.StdEncoding.EncodeToString(key)+"\n"))
	// Mkdir and WriteFile apply the umask: set the modes again, so that a
	// umask such as 077 cannot lock the container's user out.
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(file, 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// writeFile writes data to name, readable by all (0644 before the umask).
func writeFile(t *testing.T, name string, data []byte) {
	t.Helper()
	if err := os.WriteFile(name, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// testUsers returns the demo user directory of config/test: the one place
// that holds the demo user's bcrypt hash.
func testUsers(t *testing.T, root string) []string {
	t.Helper()
	return configUsers(t, filepath.Join(root, "config", "test", "config.yaml"))
}

// waitUntilReady waits until the app answers GET /readyz with 200, which
// needs Redis to answer PING. It gives up at once if the container stops:
// an app that exits at start never becomes ready.
func waitUntilReady(t *testing.T, pool *dockertest.Pool, app *dockertest.Resource, base string) {
	t.Helper()
	ctx := t.Context()
	start := time.Now()
	var exited *dc.State
	err := pool.Retry(func() error {
		c, err := pool.Client.InspectContainerWithContext(app.Container.ID, ctx)
		if err != nil {
			return fmt.Errorf("inspect app container: %w", err)
		}
		if !c.State.Running {
			exited = &c.State
			return nil // stop retrying
		}
		return getOK(ctx, base+"/readyz")
	})
	switch {
	case exited != nil:
		t.Fatalf("app container stopped before it was ready: %s (exit code %d)", exited.String(), exited.ExitCode)
	case err != nil:
		t.Fatalf("app never became ready: %v", err)
	}
	t.Logf("app ready in %v", time.Since(start).Round(time.Millisecond))
}

// getOK sends GET url and returns an error unless the answer is 200.
func getOK(ctx context.Context, url string) error {
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return fmt.Errorf("new request: %w", err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("GET %s: %w", url, err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body) // lets the connection be reused
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return nil
}

// checkProdSessionCookie checks the session cookie that config/prod sets at
// login: a __Host- name, so Secure, Path=/ and no Domain, plus HttpOnly and
// SameSite=Lax.
func checkProdSessionCookie(t *testing.T, h http.Header) {
	t.Helper()
	for _, line := range h.Values("Set-Cookie") {
		ck, err := http.ParseSetCookie(line)
		if err != nil {
			t.Errorf("Set-Cookie %q: %v", line, err)
			continue
		}
		if ck.Name != "__Host-SID" {
			continue
		}
		if !ck.Secure || !ck.HttpOnly || ck.SameSite != http.SameSiteLaxMode || ck.Path != "/" || ck.Domain != "" {
			t.Errorf("session cookie %q: want Secure, HttpOnly, SameSite=Lax, Path=/ and no Domain", line)
		}
		return
	}
	t.Errorf("login set no __Host-SID cookie: %q", h.Values("Set-Cookie"))
}

// checkJSONLogs checks that the app in the container logs as config/prod
// says: one JSON object per line on stdout, among them the "listening"
// record, on the image's port 8080, with the Redis store.
func checkJSONLogs(t *testing.T, pool *dockertest.Pool, app *dockertest.Resource) {
	t.Helper()
	stdout, _, err := containerLogs(t.Context(), pool, app.Container.ID)
	if err != nil {
		t.Fatal(err)
	}
	var listening map[string]any
	for line := range strings.Lines(stdout) {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Errorf("log line is not a JSON object (%v): %q", err, line)
			continue
		}
		if rec["msg"] == "listening" {
			listening = rec
		}
	}
	switch addr, _ := listening["addr"].(string); {
	case listening == nil:
		t.Errorf("no %q record in the app's log", "listening")
	case !strings.HasSuffix(addr, ":8080") || listening["store"] != "redis":
		t.Errorf("listening record %v: want addr on port 8080 and store redis", listening)
	}
}

// containerLogs returns what the container has written so far to stdout and
// to stderr.
func containerLogs(ctx context.Context, pool *dockertest.Pool, id string) (stdout, stderr string, err error) {
	var out, errOut bytes.Buffer
	err = pool.Client.Logs(dc.LogsOptions{
		Context:      ctx,
		Container:    id,
		OutputStream: &out,
		ErrorStream:  &errOut,
		Stdout:       true,
		Stderr:       true,
	})
	if err != nil {
		return "", "", fmt.Errorf("logs of container %s: %w", id, err)
	}
	return out.String(), errOut.String(), nil
}
