package tests

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hexchi/starter/internal/apptest"
)

// prometheusBinary is where Debian's prometheus package puts the server.
const prometheusBinary = "/usr/bin/prometheus"

// TestPrometheusScrapesTheApp runs the app on Redis with its admin
// listener, and a real Prometheus that scrapes it every second; the
// requests the test sends must show up in Prometheus's query API, under
// their route.
func TestPrometheusScrapesTheApp(t *testing.T) {
	bin := prometheusBinary
	if _, err := os.Stat(bin); err != nil {
		if bin, err = exec.LookPath("prometheus"); err != nil {
			unavailable(t, "no Prometheus server (%s, or prometheus on PATH): apt-get install prometheus", prometheusBinary)
		}
	}
	adminAddr := "127.0.0.1:" + strconv.Itoa(freePort(t))
	t.Setenv("CORE_ADMIN_ADDR", adminAddr)
	srv, _ := appOnRedis(t, redisAddr(t))
	prom := startPrometheus(t, bin, adminAddr)

	const route, requests = "/api/v1/auth/session", 5
	c := apptest.NewClient(t, srv.URL)
	for range requests {
		if got := status(c, http.MethodGet, route); got != http.StatusOK {
			t.Fatalf("GET %s = %d", route, got)
		}
	}

	query := fmt.Sprintf(`sum(http_server_request_duration_seconds_count{job="hexchi",http_route=%q,http_request_method="GET",http_response_status_code="200"})`, route)
	deadline := time.Now().Add(60 * time.Second)
	var last string
	for {
		value, raw, err := prom.query(t, query)
		last = raw
		if err == nil && value >= requests {
			break
		}
		if err != nil {
			last = err.Error()
		}
		if time.Now().After(deadline) {
			t.Fatalf("Prometheus never counted %d requests of GET %s (last answer: %s)\nprometheus log:\n%s\napp log:\n%s",
				requests, route, last, prom.logs, srv.Logs)
		}
		time.Sleep(250 * time.Millisecond)
	}
	if up, raw, err := prom.query(t, `up{job="hexchi"}`); err != nil || up != 1 {
		t.Errorf("up{job=\"hexchi\"} = %v (%s, %v), want 1", up, raw, err)
	}

	// What a scrape of /metrics says about the route, for the record.
	res := apptest.Get(t, "http://"+adminAddr+"/metrics", nil)
	var lines []string
	for line := range strings.Lines(string(res.Body)) {
		if strings.Contains(line, `http_route="`+route+`"`) {
			lines = append(lines, strings.TrimSpace(line))
		}
	}
	if len(lines) == 0 {
		t.Errorf("/metrics has no series for %s:\n%s", route, res.Body)
	}
	t.Logf("/metrics for %s:\n%s", route, strings.Join(lines, "\n"))
}

// prometheus is a Prometheus server that a test started.
type prometheus struct {
	url  string // http://127.0.0.1:port
	logs *lockedBuffer
}

// startPrometheus runs bin on a free loopback port, with a configuration
// that scrapes target every second and storage in a directory of the
// test's, and waits until it is ready. It is killed when the test ends,
// and after three minutes in any case.
func startPrometheus(t *testing.T, bin, target string) *prometheus {
	t.Helper()
	dir := t.TempDir()
	config := fmt.Sprintf(`global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: hexchi
    static_configs:
      - targets: [%q]
`, target)
	configFile := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(configFile, []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	listen := "127.0.0.1:" + strconv.Itoa(freePort(t))

	ctx, cancel := context.WithTimeout(context.WithoutCancel(t.Context()), 3*time.Minute)
	cmd := exec.CommandContext(ctx, bin,
		"--config.file="+configFile,
		"--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+listen,
	)
	logs := &lockedBuffer{}
	cmd.Stdout, cmd.Stderr = logs, logs
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatalf("start %s: %v", bin, err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	// Registered after t.TempDir's, so it runs first: the server is gone
	// before its storage is removed.
	t.Cleanup(func() {
		cancel() // kills it
		<-exited
		if t.Failed() {
			t.Logf("prometheus log:\n%s", logs)
		}
	})

	p := &prometheus{url: "http://" + listen, logs: logs}
	client := &http.Client{Timeout: 2 * time.Second}
	deadline := time.Now().Add(30 * time.Second)
	for {
		select {
		case err := <-exited:
			exited <- err // for the cleanup
			t.Fatalf("prometheus exited before it was ready: %v\n%s", err, logs)
		default:
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.url+"/-/ready", nil)
		if err != nil {
			t.Fatal(err)
		}
		if res, err := client.Do(req); err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return p
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("prometheus not ready at %s within 30s:\n%s", p.url, logs)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// query runs an instant query whose result is one sample, and returns its
// value and the raw answer. An empty result is an error.
func (p *prometheus) query(t *testing.T, q string) (float64, string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.url+"/api/v1/query?query="+url.QueryEscape(q), nil)
	if err != nil {
		return 0, "", err
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		return 0, "", err
	}
	var answer struct {
		Status string `json:"status"`
		Data   struct {
			Result []struct {
				Value [2]any `json:"value"` // [unix time, "value"]
			} `json:"result"`
		} `json:"data"`
	}
	if err := json.Unmarshal(body, &answer); err != nil {
		return 0, string(body), err
	}
	if answer.Status != "success" || len(answer.Data.Result) != 1 {
		return 0, string(body), fmt.Errorf("want one sample: %s", body)
	}
	s, _ := answer.Data.Result[0].Value[1].(string)
	v, err := strconv.ParseFloat(s, 64)
	return v, string(body), err
}

// lockedBuffer collects a child process's output while the test reads it.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// String returns the last 60 lines: enough to see why, short enough to read.
func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	var lines []string
	sc := bufio.NewScanner(bytes.NewReader(b.buf.Bytes()))
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	if len(lines) > 60 {
		lines = lines[len(lines)-60:]
	}
	return strings.Join(lines, "\n")
}
