package app

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/hexchi/starter/internal/platform/config"
	"github.com/hexchi/starter/internal/platform/redis"
	"github.com/hexchi/starter/internal/platform/telemetry"
)

// telDemoLogin logs in as the demo user of config/test; telDemoUser is
// its user name and id, which no span or metric may hold.
const (
	telDemoLogin = `{"username":"demo","password":"hexchi-demo"}`
	telDemoUser  = "demo"
)

// recorded is where a test's telemetry goes.
type recorded struct {
	tel    *telemetry.Telemetry
	spans  *tracetest.InMemoryExporter
	reader *sdkmetric.ManualReader
}

// newRecordedTelemetry returns providers that record into memory, with
// the Prometheus exporter when prometheus is set.
func newRecordedTelemetry(t *testing.T, prometheus bool) recorded {
	t.Helper()
	rec := recorded{spans: tracetest.NewInMemoryExporter(), reader: sdkmetric.NewManualReader()}
	tel, err := telemetry.New(t.Context(), telemetry.Options{
		ServiceName: serviceName, Prometheus: prometheus, SpanExporter: rec.spans, MetricReader: rec.reader,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := tel.Shutdown(context.WithoutCancel(t.Context())); err != nil {
			t.Errorf("shutdown: %v", err)
		}
	})
	rec.tel = tel
	return rec
}

// serveInstrumented builds the app as Run does, on config/test with
// telemetry that records into memory, on the Redis store at redisAddr or
// the memory store if it is "", and serves its routes over TLS (the test
// config's cookies are Secure).
func serveInstrumented(t *testing.T, redisAddr string) (*httptest.Server, recorded) {
	t.Helper()
	cfg, err := config.Load(config.Options{Env: "test", Dir: filepath.Join("..", "..", "config")})
	if err != nil {
		t.Fatal(err)
	}
	rec := newRecordedTelemetry(t, false)
	a := &app{log: slog.New(slog.DiscardHandler), tel: rec.tel}
	var rdb *redis.Client
	if redisAddr != "" {
		cfg.Core.Redis.Addrs = []string{redisAddr}
		if rdb, err = redis.New(cfg.Core.Redis); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = rdb.Close() })
		if err := rdb.Instrument(rec.tel.TracerProvider(), rec.tel.MeterProvider()); err != nil {
			t.Fatal(err)
		}
	}
	closeStore, err := a.wireAuth(cfg.Core, rdb)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = closeStore() })
	srv := httptest.NewTLSServer(a.routes())
	t.Cleanup(srv.Close)
	return srv, rec
}

// telClient is a browser of srv: its own cookies, no redirects followed.
type telClient struct {
	t   *testing.T
	srv *httptest.Server
	hc  *http.Client
}

func newTelClient(t *testing.T, srv *httptest.Server) *telClient {
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &telClient{t: t, srv: srv, hc: &http.Client{
		Transport:     srv.Client().Transport,
		Jar:           jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		Timeout:       10 * time.Second,
	}}
}

// do sends a request and returns the status and the body.
func (c *telClient) do(method, path, body, contentType string) (int, []byte) {
	c.t.Helper()
	req, err := http.NewRequestWithContext(c.t.Context(), method, c.srv.URL+path, strings.NewReader(body))
	if err != nil {
		c.t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	res, err := c.hc.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		c.t.Fatal(err)
	}
	return res.StatusCode, b
}

// want sends a request and fails the test unless it answers status.
func (c *telClient) want(status int, method, path, body, contentType string) []byte {
	c.t.Helper()
	got, b := c.do(method, path, body, contentType)
	if got != status {
		c.t.Fatalf("%s %s = %d, want %d: %s", method, path, got, status, b)
	}
	return b
}

// cookies returns the values of the client's cookies.
func (c *telClient) cookies() []string {
	var values []string
	for _, ck := range c.hc.Jar.Cookies(mustParseURL(c.t, c.srv.URL)) {
		values = append(values, ck.Value)
	}
	return values
}

// TestTelemetry drives the real router through a login, a revoke, a
// logout and requests that match no route, and checks what the spans and
// metrics say and that none of them holds a session handle, a cookie or
// the user's name.
func TestTelemetry(t *testing.T) {
	for _, store := range []string{"memory", "redis"} {
		t.Run(store, func(t *testing.T) {
			var redisAddr string
			if store == "redis" {
				redisAddr = miniredis.RunT(t).Addr()
			}
			srv, rec := serveInstrumented(t, redisAddr)
			requests, handles, secrets := telemetryFlow(t, srv)

			var spans tracetest.SpanStubs
			eventually(t, 5*time.Second, "a server span per request", func() bool {
				spans = rec.spans.GetSpans()
				return countKind(spans, trace.SpanKindServer) >= requests
			})
			checkServerSpans(t, spans)
			if store == "redis" {
				checkRedisSpans(t, spans)
			}
			var rm metricdata.ResourceMetrics
			if err := rec.reader.Collect(t.Context(), &rm); err != nil {
				t.Fatal(err)
			}
			checkMetrics(t, rm)
			checkNothingPersonal(t, spans, rm, append(handles, secrets...))
		})
	}
}

// telemetryFlow logs two clients in, lists, revokes, logs out and tries
// routes that do not exist. It returns how many requests it sent, the
// session handles it saw and the cookie values the clients held.
func telemetryFlow(t *testing.T, srv *httptest.Server) (requests int, handles, secrets []string) {
	a, b := newTelClient(t, srv), newTelClient(t, srv)
	const jsonType = "application/json"
	steps := []struct {
		c            *telClient
		status       int
		method, path string
		body         string
	}{
		{a, 200, "GET", "/", ""},
		{a, 200, "POST", "/api/v1/auth/login", telDemoLogin},
		{b, 200, "POST", "/api/v1/auth/login", telDemoLogin},
	}
	for _, s := range steps {
		ct := ""
		if s.body != "" {
			ct = jsonType
		}
		s.c.want(s.status, s.method, s.path, s.body, ct)
	}
	secrets = append(a.cookies(), b.cookies()...)

	var list sessionList
	if err := json.Unmarshal(a.want(200, "GET", "/api/v1/auth/sessions", "", ""), &list); err != nil {
		t.Fatal(err)
	}
	var own, other string
	for _, s := range list.Sessions {
		handles = append(handles, s.Handle)
		if s.Current {
			own = s.Handle
		} else {
			other = s.Handle
		}
	}
	if own == "" || other == "" {
		t.Fatalf("sessions %+v: want the current one and another", list.Sessions)
	}

	a.want(204, "DELETE", "/api/v1/auth/sessions/"+other, "", "")
	b.want(401, "GET", "/api/v1/me", "", "") // revoked: the load finds nothing
	a.want(200, "POST", "/api/v1/me/counter", "", "")
	a.want(200, "POST", "/api/v1/auth/logout-all", "", "")
	// No route: a wrong method on a path with a handle, a path under the
	// API and one outside it.
	a.want(405, "GET", "/api/v1/auth/sessions/"+own, "", "")
	a.want(404, "GET", "/api/v1/nope/"+own, "", "")
	a.want(404, "GET", "/nope/"+own, "", "")
	// The page that ends a session by its handle; the current one: logout.
	a.want(303, "POST", "/account/sessions/"+own+"/revoke", "", "application/x-www-form-urlencoded")
	return len(steps) + 9, handles, secrets
}

func countKind(spans tracetest.SpanStubs, kind trace.SpanKind) int {
	n := 0
	for _, s := range spans {
		if s.SpanKind == kind {
			n++
		}
	}
	return n
}

// checkServerSpans checks the names and the status codes of the request
// spans.
func checkServerSpans(t *testing.T, spans tracetest.SpanStubs) {
	t.Helper()
	statuses := map[string][]int64{} // span name: the status codes
	for _, s := range spans {
		if s.SpanKind != trace.SpanKindServer {
			continue
		}
		attrs := attribute.NewSet(s.Attributes...)
		status, _ := attrs.Value(semconv.HTTPResponseStatusCodeKey)
		statuses[s.Name] = append(statuses[s.Name], status.AsInt64())
	}
	want := map[string][]int64{
		"GET /":                                  {200},
		"POST /api/v1/auth/login":                {200, 200},
		"GET /api/v1/auth/sessions":              {200},
		"DELETE /api/v1/auth/sessions/{handle}":  {204},
		"GET /api/v1/me":                         {401},
		"POST /api/v1/me/counter":                {200},
		"POST /api/v1/auth/logout-all":           {200},
		"GET unmatched":                          {404, 404, 405},
		"POST /account/sessions/{handle}/revoke": {303},
	}
	for name, codes := range statuses {
		slices.Sort(codes)
		if !slices.Equal(codes, want[name]) {
			t.Errorf("spans %q with statuses %v, want %v", name, codes, want[name])
		}
	}
	for name := range want {
		if _, ok := statuses[name]; !ok {
			t.Errorf("no span %q; have %v", name, statuses)
		}
	}
}

// checkRedisSpans checks that go-redis's spans are there, under the store
// call spans, without the commands' arguments.
func checkRedisSpans(t *testing.T, spans tracetest.SpanStubs) {
	t.Helper()
	byID := map[trace.SpanID]tracetest.SpanStub{}
	for _, s := range spans {
		byID[s.SpanContext.SpanID()] = s
	}
	var commands int
	for _, s := range spans {
		if s.SpanKind != trace.SpanKindClient || !strings.Contains(s.InstrumentationScope.Name, "redisotel") {
			continue
		}
		attrs := attribute.NewSet(s.Attributes...)
		if v, ok := attrs.Value("db.statement"); ok {
			t.Errorf("span %q records the command: %q", s.Name, v.String())
		}
		if s.Name == "redis.dial" {
			continue // the pool dials outside any request: a trace of its own
		}
		commands++
		// The first command on a connection dials it and sends HELLO and
		// CLIENT SETINFO: those spans are under the command's.
		ancestor := byID[s.Parent.SpanID()]
		for strings.Contains(ancestor.InstrumentationScope.Name, "redisotel") {
			ancestor = byID[ancestor.Parent.SpanID()]
		}
		if !strings.HasPrefix(ancestor.Name, "session.store.") {
			t.Errorf("redis span %q is under %q, want a session.store.* span", s.Name, ancestor.Name)
		}
	}
	if commands == 0 {
		t.Error("no go-redis spans")
	}
}

// checkMetrics checks the HTTP, session event and store metrics.
func checkMetrics(t *testing.T, rm metricdata.ResourceMetrics) {
	t.Helper()
	metrics := map[string]metricdata.Metrics{}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			metrics[m.Name] = m
		}
	}

	httpPoints := metrics["http.server.request.duration"].Data.(metricdata.Histogram[float64]).DataPoints
	found := false
	for _, p := range httpPoints {
		route, _ := p.Attributes.Value(semconv.HTTPRouteKey)
		method, _ := p.Attributes.Value(semconv.HTTPRequestMethodKey)
		status, _ := p.Attributes.Value(semconv.HTTPResponseStatusCodeKey)
		if route.AsString() == "/api/v1/auth/sessions/{handle}" && method.AsString() == "DELETE" && status.AsInt64() == 204 && p.Count == 1 {
			found = true
		}
	}
	if !found {
		t.Errorf("no http.server.request.duration point for DELETE /api/v1/auth/sessions/{handle} 204 in %+v", httpPoints)
	}

	events := map[string]int64{}
	if m, ok := metrics["hexchi.session.events"]; ok {
		for _, p := range m.Data.(metricdata.Sum[int64]).DataPoints {
			kind, _ := p.Attributes.Value("kind")
			events[kind.AsString()] += p.Value
		}
	}
	if events["authenticated"] != 2 || events["revoked"] != 1 || events["group_destroyed"] != 1 || events["destroyed"] != 1 {
		t.Errorf("session events %v, want authenticated 2, revoked 1, group_destroyed 1, destroyed 1", events)
	}

	ops := map[string]bool{}
	if m, ok := metrics["hexchi.session.store.duration"]; ok {
		if m.Unit != "s" {
			t.Errorf("store duration unit %q, want s", m.Unit)
		}
		for _, p := range m.Data.(metricdata.Histogram[float64]).DataPoints {
			op, _ := p.Attributes.Value("operation")
			outcome, _ := p.Attributes.Value("outcome")
			ops[op.AsString()+" "+outcome.AsString()] = true
		}
	}
	for _, want := range []string{"load ok", "load not_found", "create ok", "patch ok", "delete ok", "list_group ok", "delete_group ok"} {
		if !ops[want] {
			t.Errorf("no hexchi.session.store.duration point for %s; have %v", want, ops)
		}
	}
}

// checkNothingPersonal fails the test if a span (its name, attributes,
// events, status, resource) or a metric's attributes holds the user name
// or any of secrets.
func checkNothingPersonal(t *testing.T, spans tracetest.SpanStubs, rm metricdata.ResourceMetrics, secrets []string) {
	t.Helper()
	check := func(where, value string) {
		for _, s := range append([]string{telDemoUser}, secrets...) {
			if s != "" && strings.Contains(value, s) {
				t.Errorf("%s holds %q: %q", where, s, value)
			}
		}
	}
	checkAttrs := func(where string, attrs []attribute.KeyValue) {
		for _, kv := range attrs {
			check(where+" "+string(kv.Key), kv.Value.String())
		}
	}
	for _, s := range spans {
		check("span name", s.Name)
		check("span "+s.Name+" status", s.Status.Description)
		checkAttrs("span "+s.Name, s.Attributes)
		checkAttrs("span "+s.Name+" resource", s.Resource.Attributes())
		for _, e := range s.Events {
			check("span "+s.Name+" event", e.Name)
			checkAttrs("span "+s.Name+" event "+e.Name, e.Attributes)
		}
	}
	checkAttrs("metrics resource", rm.Resource.Attributes())
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			for _, attrs := range pointAttributes(m) {
				checkAttrs("metric "+m.Name, attrs.ToSlice())
			}
		}
	}
}

// pointAttributes returns the attribute sets of a metric's data points.
func pointAttributes(m metricdata.Metrics) []attribute.Set {
	var sets []attribute.Set
	switch d := m.Data.(type) {
	case metricdata.Sum[int64]:
		for _, p := range d.DataPoints {
			sets = append(sets, p.Attributes)
		}
	case metricdata.Sum[float64]:
		for _, p := range d.DataPoints {
			sets = append(sets, p.Attributes)
		}
	case metricdata.Gauge[int64]:
		for _, p := range d.DataPoints {
			sets = append(sets, p.Attributes)
		}
	case metricdata.Gauge[float64]:
		for _, p := range d.DataPoints {
			sets = append(sets, p.Attributes)
		}
	case metricdata.Histogram[float64]:
		for _, p := range d.DataPoints {
			sets = append(sets, p.Attributes)
		}
	case metricdata.Histogram[int64]:
		for _, p := range d.DataPoints {
			sets = append(sets, p.Attributes)
		}
	}
	return sets
}

// TestAdminServesThroughTheDrain: the admin listener answers /metrics
// while the main server drains and after it has stopped, until Run stops
// it, in the order Run does.
func TestAdminServesThroughTheDrain(t *testing.T) {
	rec := newRecordedTelemetry(t, true)
	a := &app{log: slog.New(slog.DiscardHandler), tel: rec.tel}
	drained := make(chan time.Time)
	a.after = func(time.Duration) <-chan time.Time { return drained }

	adminLn := listen(t)
	metricsURL := "http://" + adminLn.Addr().String() + "/metrics"
	stopAdmin := a.serveAdmin(t.Context(), adminLn, false)
	ln := listen(t)
	mainURL := "http://" + ln.Addr().String()
	srv := &http.Server{Handler: a.routes(), ReadHeaderTimeout: time.Second}
	ctx, cancel := context.WithCancel(t.Context())
	served := make(chan error, 1)
	go func() { served <- a.serve(ctx, srv, ln, time.Hour, 5*time.Second) }()

	fresh := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 5 * time.Second}
	get := func(url string) (int, string) {
		res, err := fresh.Get(url)
		if err != nil {
			return 0, ""
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b)
	}
	if got, _ := get(mainURL + "/readyz"); got != http.StatusOK {
		t.Fatalf("/readyz = %d", got)
	}

	cancel() // SIGTERM
	eventually(t, 5*time.Second, "/readyz turns 503", func() bool {
		got, _ := get(mainURL + "/readyz")
		return got == http.StatusServiceUnavailable
	})
	// The 503 is counted once its span ends: poll.
	const during = `http_server_request_duration_seconds_count{http_request_method="GET",http_response_status_code="503",http_route="/readyz"`
	eventually(t, 5*time.Second, "/metrics during the drain counts the 503s", func() bool {
		status, body := get(metricsURL)
		return status == http.StatusOK && strings.Contains(body, during)
	})

	close(drained)
	if err := <-served; err != nil {
		t.Fatalf("serve = %v", err)
	}
	if got, _ := get(mainURL + "/readyz"); got != 0 {
		t.Errorf("the main server still answers: %d", got)
	}
	if got, _ := get(metricsURL); got != http.StatusOK {
		t.Errorf("/metrics after the main server stopped = %d, want 200 until stopAdmin", got)
	}
	if err := stopAdmin(); err != nil {
		t.Errorf("stopAdmin = %v", err)
	}
	if got, _ := get(metricsURL); got != 0 {
		t.Errorf("/metrics after stopAdmin = %d, want the connection refused", got)
	}
}

// TestRunAdminListener runs the whole app with the admin listener and
// pprof on: /metrics and /debug/pprof/ are there and only there, Run logs
// where, and the admin listener is closed when Run returns.
func TestRunAdminListener(t *testing.T) {
	mainAddr, adminAddr := freeAddr(t), freeAddr(t)
	t.Setenv("CORE_HTTP_ADDR", mainAddr)
	t.Setenv("CORE_ADMIN_ADDR", adminAddr)
	t.Setenv("CORE_ADMIN_PPROF", "true")
	getenv := func(k string) string {
		return map[string]string{"APP_ENV": "test", "APP_CONFIG_DIR": filepath.Join("..", "..", "config")}[k]
	}
	var logs syncBuffer
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- Run(ctx, []string{"app"}, getenv, &logs) }()

	client := &http.Client{Timeout: 5 * time.Second}
	get := func(url string) (int, string) {
		res, err := client.Get(url)
		if err != nil {
			return 0, ""
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b)
	}
	eventually(t, 10*time.Second, "the app answers /livez", func() bool {
		got, _ := get("http://" + mainAddr + "/livez")
		return got == http.StatusOK
	})
	eventually(t, 5*time.Second, "/metrics counts /livez", func() bool {
		_, body := get("http://" + adminAddr + "/metrics")
		return strings.Contains(body, `http_route="/livez"`)
	})
	for _, tc := range []struct {
		url  string
		want int
	}{
		{"http://" + adminAddr + "/debug/pprof/", 200},
		{"http://" + adminAddr + "/debug/pprof/cmdline", 200},
		{"http://" + adminAddr + "/debug/pprof/goroutine?debug=1", 200},
		{"http://" + adminAddr + "/", 404},
		{"http://" + mainAddr + "/metrics", 404},
		{"http://" + mainAddr + "/debug/pprof/", 404},
		{"http://" + mainAddr + "/debug/pprof/cmdline", 404},
	} {
		if got, body := get(tc.url); got != tc.want {
			t.Errorf("GET %s = %d, want %d: %.200s", tc.url, got, tc.want, body)
		}
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run = %v\n%s", err, logs.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Run did not return")
	}
	if got, _ := get("http://" + adminAddr + "/metrics"); got != 0 {
		t.Errorf("the admin listener answers after Run returned: %d", got)
	}
	var found bool
	for line := range strings.Lines(logs.String()) {
		var r struct{ Msg, Addr, Metrics string }
		if json.Unmarshal([]byte(line), &r) == nil && r.Msg == "admin listening" {
			found = r.Addr == adminAddr && r.Metrics == "http://"+adminAddr+"/metrics"
		}
	}
	if !found {
		t.Errorf("no \"admin listening\" record with addr %s and its /metrics URL:\n%s", adminAddr, logs.String())
	}
}

// TestPprofOff: without core.admin.pprof the admin listener has /metrics
// only.
func TestPprofOff(t *testing.T) {
	rec := newRecordedTelemetry(t, true)
	mux := newAdminMux(rec.tel.MetricsHandler(), false)
	for path, want := range map[string]int{"/metrics": 200, "/debug/pprof/": 404, "/debug/pprof/cmdline": 404} {
		w := httptest.NewRecorder()
		mux.ServeHTTP(w, httptest.NewRequestWithContext(t.Context(), http.MethodGet, path, nil))
		if w.Code != want {
			t.Errorf("GET %s = %d, want %d", path, w.Code, want)
		}
	}
}

func mustParseURL(t *testing.T, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// freeAddr returns a loopback address whose port was free a moment ago.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln := listen(t)
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).String()
}

// syncBuffer is a bytes.Buffer that the app may write while the test
// reads.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
