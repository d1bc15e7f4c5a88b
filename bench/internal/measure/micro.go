package measure

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/hexchi/starter/bench/internal/apps"
)

// MicroRequests are the requests the micro-benchmarks measure.
var MicroRequests = []Request{ReadOnly, Modifying, Forged, Login}

// CPUMetric is the unit of the CPU time per request the micro-benchmarks
// report besides ns/op: the process's user and system time, which includes
// go-redis and the garbage collector but not Redis, divided by b.N.
const CPUMetric = "cpu-ns/op"

// Micro is an app ready for micro-benchmarks: requests are served
// in-process (httptest request and recorder, no network between client and
// server), and the app's store talks to a real Redis.
type Micro struct {
	handler    http.Handler
	cookieName string
	// login returns a cookie of a logged-in user; forged, one that names
	// no session; visitor, one of a stored anonymous session.
	login, forged, visitor func(ctx context.Context) (string, error)
	app                    *apps.App
	client                 *redis.Client
}

// NewMicro builds setup's app on the Redis at redisAddr.
func NewMicro(ctx context.Context, redisAddr string, setup Setup) (*Micro, error) {
	client := NewClient(redisAddr)
	app, err := setup.newApp(ctx, setup.config(client))
	if err != nil {
		_ = client.Close()
		return nil, err
	}
	if err := warmUp(ctx, app, &clock{}); err != nil {
		_ = closeApp(app, client)
		return nil, fmt.Errorf("%s: warm-up: %w", setup, err)
	}
	return &Micro{
		app:        app,
		handler:    app.Handler,
		cookieName: app.CookieName,
		login: func(ctx context.Context) (string, error) {
			b, err := loggedIn(ctx, app, "ann")
			if err != nil {
				return "", err
			}
			return b.cookie, nil
		},
		forged: func(context.Context) (string, error) { return app.Forged(), nil },
		visitor: func(ctx context.Context) (string, error) {
			b, err := visitor(ctx, app)
			if err != nil {
				return "", err
			}
			return b.cookie, nil
		},
		client: client,
	}, nil
}

// NewBaselineMicro returns the routes with no session library, the floor
// under every library's cost.
func NewBaselineMicro() *Micro {
	none := func(context.Context) (string, error) { return "none", nil }
	return &Micro{handler: apps.NewBaseline(), cookieName: "SID", login: none, forged: none, visitor: none}
}

// Close releases the app and its Redis client.
func (m *Micro) Close() error {
	if m.client == nil {
		return nil
	}
	return closeApp(m.app, m.client)
}

// Run is the body of a benchmark of req. It returns an error rather than
// fail b, so that a program calling testing.Benchmark can report it.
//
// Each iteration builds a new request and recorder, as a server does per
// request (gorilla also keeps its registry in the request, so reusing one
// would skip its store load). Only a login needs a new session each time:
// those are made before the timer starts.
func (m *Micro) Run(b *testing.B, req Request) error {
	ctx := context.Background()
	method, target, want := http.MethodGet, "/read", "ann"
	cookieOf := m.login
	switch req {
	case ReadOnly:
	case Modifying:
		method, target, want = http.MethodPost, "/write?f=n", ""
	case Forged:
		cookieOf, want = m.forged, ""
	case Login:
		method, target, want = http.MethodPost, "/login?user=ann", ""
		cookieOf = m.visitor
	default:
		return fmt.Errorf("no micro-benchmark for %q", req)
	}
	n := 1
	if req == Login {
		n = b.N
	}
	cookies := make([]string, n)
	for i := range cookies {
		c, err := cookieOf(ctx)
		if err != nil {
			return err
		}
		cookies[i] = m.cookieName + "=" + c
	}
	b.ReportAllocs()
	cpu0, cpuErr := processCPU()
	b.ResetTimer()
	for i := range b.N {
		r := httptest.NewRequestWithContext(ctx, method, target, nil)
		r.Header.Set("Cookie", cookies[i%n])
		w := httptest.NewRecorder()
		m.handler.ServeHTTP(w, r)
		if w.Code != http.StatusOK || want != "" && w.Body.String() != want {
			b.StopTimer()
			return fmt.Errorf("%s %s: status %d, body %q", method, target, w.Code, w.Body.String())
		}
	}
	b.StopTimer()
	if cpu1, err := processCPU(); cpuErr == nil && err == nil {
		b.ReportMetric(float64(cpu1-cpu0)/float64(b.N), CPUMetric)
	}
	return nil
}
