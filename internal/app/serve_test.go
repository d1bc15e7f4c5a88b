package app

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// newTestApp returns an app with the memory store that logs nowhere.
func newTestApp() *app {
	return &app{log: slog.New(slog.DiscardHandler)}
}

// listen opens a listener on a free loopback port.
func listen(t *testing.T) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return ln
}

// eventually fails the test unless cond becomes true within timeout.
func eventually(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, timeout)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// blockingHandler answers 200 "done" once release is closed, and closes
// started when the first request arrives.
func blockingHandler(started, release chan struct{}) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(started)
		<-release
		_, _ = io.WriteString(w, "done")
	})
}

type response struct {
	status int
	body   string
	err    error
}

// get runs a GET in the background; the channel delivers its outcome.
func get(t *testing.T, url string) <-chan response {
	out := make(chan response, 1)
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			out <- response{err: err}
			return
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		out <- response{status: resp.StatusCode, body: string(body), err: err}
	}()
	return out
}

func TestServeGracefulShutdown(t *testing.T) {
	a := newTestApp()
	started, release := make(chan struct{}), make(chan struct{})
	ln := listen(t)
	addr := ln.Addr().String()
	srv := &http.Server{Handler: blockingHandler(started, release), ReadHeaderTimeout: time.Second}

	ctx, cancel := context.WithCancel(t.Context())
	served := make(chan error, 1)
	go func() { served <- a.serve(ctx, srv, ln, 0, 10*time.Second) }()

	slow := get(t, "http://"+addr+"/slow")
	<-started
	cancel()

	// 1. Readiness fails first.
	eventually(t, time.Second, "readiness fails", func() bool { return a.shuttingDown.Load() })
	w := httptest.NewRecorder()
	a.routes().ServeHTTP(w, httptest.NewRequestWithContext(t.Context(), http.MethodGet, "/readyz", nil))
	if w.Code != http.StatusServiceUnavailable {
		t.Errorf("/readyz while shutting down = %d, want 503", w.Code)
	}

	// 2. New connections are refused while the old request still runs.
	eventually(t, time.Second, "new connections refused", func() bool {
		c, err := net.DialTimeout("tcp", addr, 100*time.Millisecond)
		if err == nil {
			_ = c.Close()
		}
		return err != nil
	})
	select {
	case res := <-slow:
		t.Fatalf("the slow request ended before it was released: %+v", res)
	case err := <-served:
		t.Fatalf("serve returned with a request in flight: %v", err)
	default:
	}

	// 3. The request in flight completes, then serve returns cleanly.
	close(release)
	if res := <-slow; res.err != nil || res.status != http.StatusOK || res.body != "done" {
		t.Errorf("slow request = %+v, want 200 done", res)
	}
	if err := <-served; err != nil {
		t.Errorf("serve = %v, want nil", err)
	}
}

func TestServeShutdownTimeout(t *testing.T) {
	a := newTestApp()
	started, release := make(chan struct{}), make(chan struct{})
	// The handler outlives the shutdown on purpose; end it with the test.
	t.Cleanup(func() { close(release) })
	ln := listen(t)
	srv := &http.Server{Handler: blockingHandler(started, release), ReadHeaderTimeout: time.Second}

	ctx, cancel := context.WithCancel(t.Context())
	served := make(chan error, 1)
	go func() { served <- a.serve(ctx, srv, ln, 0, 100*time.Millisecond) }()

	slow := get(t, "http://"+ln.Addr().String()+"/slow")
	<-started
	cancel()

	err := <-served
	if err == nil || !strings.Contains(err.Error(), "shutdown (timeout 100ms)") {
		t.Errorf("serve = %v, want a shutdown timeout error", err)
	}
	if res := <-slow; res.err == nil {
		t.Errorf("slow request = %+v, want its connection dropped", res)
	}
}

func TestServeListenerFailure(t *testing.T) {
	ln := listen(t)
	_ = ln.Close()
	srv := &http.Server{Handler: http.NotFoundHandler(), ReadHeaderTimeout: time.Second}

	err := newTestApp().serve(t.Context(), srv, ln, 0, time.Second)
	if err == nil || !strings.HasPrefix(err.Error(), "serve: ") {
		t.Errorf("serve = %v, want a serve error", err)
	}
}

// TestServeDrain: on shutdown, /readyz answers 503 at once, and for the
// shutdown delay the server still serves every request, on new connections
// too; only then does the listener close. The delay runs on the test's
// clock: it ends when the test says so.
func TestServeDrain(t *testing.T) {
	a := newTestApp()
	// The delay the drain asks for, sent from serve's goroutine.
	asked := make(chan time.Duration, 1)
	drained := make(chan time.Time)
	a.after = func(d time.Duration) <-chan time.Time {
		asked <- d
		return drained
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /readyz", a.handleReadyz)
	mux.HandleFunc("GET /work", func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "done") })
	ln := listen(t)
	url := "http://" + ln.Addr().String()
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: time.Second}
	ctx, cancel := context.WithCancel(t.Context())
	served := make(chan error, 1)
	go func() { served <- a.serve(ctx, srv, ln, 5*time.Second, 10*time.Second) }()
	// A new connection per request: a load balancer opens them.
	fresh := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	status := func(path string) int {
		res, err := fresh.Get(url + path)
		if err != nil {
			return 0
		}
		res.Body.Close()
		return res.StatusCode
	}
	if got := status("/readyz"); got != http.StatusOK {
		t.Fatalf("/readyz before the shutdown = %d", got)
	}

	cancel() // SIGTERM
	eventually(t, 5*time.Second, "/readyz turns 503", func() bool { return status("/readyz") == http.StatusServiceUnavailable })
	for i := range 20 {
		if got := status("/work"); got != http.StatusOK {
			t.Fatalf("request %d during the drain = %d, want 200 on a new connection", i+1, got)
		}
	}
	if d := <-asked; d != 5*time.Second {
		t.Errorf("the drain waited for %v, want core.http.shutdownDelay, 5s", d)
	}
	select {
	case err := <-served:
		t.Fatalf("serve returned during the drain: %v", err)
	default:
	}

	close(drained)
	if err := <-served; err != nil {
		t.Fatalf("serve after the drain = %v, want nil", err)
	}
	if got := status("/work"); got != 0 {
		t.Errorf("a request after the drain got %d, want the connection refused", got)
	}
}
