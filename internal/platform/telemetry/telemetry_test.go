package telemetry

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/go-chi/chi/v5"
	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
)

// handle stands for a session handle in the paths below.
const handle = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"

// newTest returns a Telemetry that records into memory.
func newTest(t *testing.T, opts Options) (*Telemetry, *tracetest.InMemoryExporter, *sdkmetric.ManualReader) {
	t.Helper()
	spans, reader := tracetest.NewInMemoryExporter(), sdkmetric.NewManualReader()
	opts.ServiceName, opts.SpanExporter, opts.MetricReader = "test", spans, reader
	tel, err := New(t.Context(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := tel.Shutdown(context.WithoutCancel(t.Context())); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
	})
	return tel, spans, reader
}

// testRouter is shaped like the app's: routes at the top, a wildcard
// route, and a sub-router mounted in a group with middleware.
func testRouter(tel *Telemetry) http.Handler {
	mux := chi.NewRouter()
	h := tel.InstrumentRouter(mux)
	ok := func(w http.ResponseWriter, r *http.Request) {}
	mux.Get("/", ok)
	mux.Get("/static/*", func(w http.ResponseWriter, r *http.Request) { http.NotFound(w, r) })
	mux.Get("/abort", func(http.ResponseWriter, *http.Request) { panic(http.ErrAbortHandler) })
	mux.Group(func(r chi.Router) {
		r.Use(func(next http.Handler) http.Handler { return next })
		r.Route("/api/v1", func(r chi.Router) {
			r.Get("/", ok)
			r.Delete("/auth/sessions/{handle}", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) })
		})
		r.Post("/account/sessions/{handle}/revoke", func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, "/account", http.StatusSeeOther)
		})
	})
	return h
}

// serve runs one request through h, as net/http would: a handler that
// aborts panics with http.ErrAbortHandler, which net/http swallows.
func serve(h http.Handler, method, path string) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	r := httptest.NewRequest(method, path, nil)
	r.Header.Set("X-Forwarded-For", "203.0.113.9, "+handle)
	defer func() {
		if p := recover(); p != nil && p != http.ErrAbortHandler { //nolint:errorlint // net/http compares it so
			panic(p)
		}
	}()
	h.ServeHTTP(w, r)
	return w
}

func TestInstrumentRouter(t *testing.T) {
	tel, spans, reader := newTest(t, Options{})
	h := testRouter(tel)
	tests := []struct {
		method, path string
		wantName     string
		wantRoute    string // "": no http.route attribute
		wantStatus   int    // 0: no status attribute
	}{
		{"GET", "/", "GET /", "/", 200},
		{"GET", "/static/app.css", "GET /static/*", "/static/*", 404},
		{"GET", "/api/v1/", "GET /api/v1", "/api/v1", 200},
		{"DELETE", "/api/v1/auth/sessions/" + handle, "DELETE /api/v1/auth/sessions/{handle}", "/api/v1/auth/sessions/{handle}", 204},
		{"POST", "/account/sessions/" + handle + "/revoke", "POST /account/sessions/{handle}/revoke", "/account/sessions/{handle}/revoke", 303},
		// No route: at the top, in the sub-router, and a path with the
		// wrong method (405).
		{"GET", "/nope/" + handle, "GET unmatched", "", 404},
		{"GET", "/api/v1/nope/" + handle, "GET unmatched", "", 404},
		{"GET", "/api/v1/auth/sessions/" + handle, "GET unmatched", "", 405},
		{"BREW", "/api/v1/auth/sessions/" + handle, "HTTP unmatched", "", 405},
		{"GET", "/abort", "GET /abort", "/abort", 0},
	}
	for _, tc := range tests {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			spans.Reset()
			serve(h, tc.method, tc.path)
			got := spans.GetSpans()
			if len(got) != 1 {
				t.Fatalf("%d spans, want 1", len(got))
			}
			span := got[0]
			if span.Name != tc.wantName || span.SpanKind != trace.SpanKindServer {
				t.Errorf("span %q (%v), want %q (server)", span.Name, span.SpanKind, tc.wantName)
			}
			attrs := attribute.NewSet(span.Attributes...)
			if v, _ := attrs.Value(semconv.HTTPRouteKey); v.AsString() != tc.wantRoute {
				t.Errorf("http.route = %q, want %q", v.AsString(), tc.wantRoute)
			}
			if v, _ := attrs.Value(semconv.HTTPResponseStatusCodeKey); tc.wantStatus != 0 && v.AsInt64() != int64(tc.wantStatus) {
				t.Errorf("http.response.status_code = %v, want %d", v.AsInt64(), tc.wantStatus)
			}
			for _, key := range []attribute.Key{semconv.HTTPRequestMethodKey, semconv.URLSchemeKey, semconv.ServerAddressKey} {
				if !attrs.HasValue(key) {
					t.Errorf("no %s in %v", key, span.Attributes)
				}
			}
			for _, key := range []attribute.Key{semconv.URLPathKey, semconv.ClientAddressKey} {
				if attrs.HasValue(key) {
					t.Errorf("%s is recorded: %v", key, span.Attributes)
				}
			}
			for _, kv := range span.Attributes {
				if strings.Contains(kv.Value.String(), handle) {
					t.Errorf("attribute %s holds the handle: %q", kv.Key, kv.Value.String())
				}
			}
		})
	}

	// One series per route, method and status, and nothing else.
	points := durationPoints(t, reader)
	want := []string{
		"DELETE /api/v1/auth/sessions/{handle} 204",
		"GET / 200",
		"GET /abort -",
		"GET /api/v1 200",
		"GET /static/* 404",
		"GET - 404",
		"GET - 405",
		"POST /account/sessions/{handle}/revoke 303",
		"_OTHER - 405",
	}
	var got []string
	for _, p := range points {
		method, _ := p.Attributes.Value(semconv.HTTPRequestMethodKey)
		route, ok := p.Attributes.Value(semconv.HTTPRouteKey)
		r := route.AsString()
		if !ok {
			r = "-"
		}
		status := "-"
		if s, ok := p.Attributes.Value(semconv.HTTPResponseStatusCodeKey); ok {
			status = s.String()
		}
		if p.Attributes.Len() > 3 {
			t.Errorf("attributes %v: want at most method, route and status", p.Attributes.ToSlice())
		}
		got = append(got, method.AsString()+" "+r+" "+status)
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("http.server.request.duration series:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// durationPoints collects the data points of http.server.request.duration.
func durationPoints(t *testing.T, reader *sdkmetric.ManualReader) []metricdata.HistogramDataPoint[float64] {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := reader.Collect(t.Context(), &rm); err != nil {
		t.Fatal(err)
	}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if m.Name == "http.server.request.duration" {
				if m.Unit != "s" {
					t.Errorf("unit %q, want s", m.Unit)
				}
				return m.Data.(metricdata.Histogram[float64]).DataPoints
			}
		}
	}
	t.Fatal("no http.server.request.duration")
	return nil
}

// TestTraceparentContinues: an inbound W3C traceparent is the parent of
// the server span.
func TestTraceparentContinues(t *testing.T) {
	tel, spans, _ := newTest(t, Options{})
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	r.Header.Set("Traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
	testRouter(tel).ServeHTTP(httptest.NewRecorder(), r)
	got := spans.GetSpans()
	if len(got) != 1 || got[0].Parent.TraceID().String() != "4bf92f3577b34da6a3ce929d0e0e4736" || !got[0].Parent.IsRemote() {
		t.Errorf("spans %+v, want one whose parent is the remote span of the traceparent", got)
	}
}

func TestMetricsHandler(t *testing.T) {
	t.Run("prometheus", func(t *testing.T) {
		tel, _, _ := newTest(t, Options{Prometheus: true})
		serve(testRouter(tel), http.MethodDelete, "/api/v1/auth/sessions/"+handle)
		w := serve(tel.MetricsHandler(), http.MethodGet, "/metrics")
		body := w.Body.String()
		for _, want := range []string{
			`http_server_request_duration_seconds_count{http_request_method="DELETE",http_response_status_code="204",http_route="/api/v1/auth/sessions/{handle}"`,
			"go_goroutines ",
			"process_cpu_seconds_total ",
			`target_info{service_name="test"`,
		} {
			if !strings.Contains(body, want) {
				t.Errorf("/metrics has no %s:\n%s", want, body)
			}
		}
		if strings.Contains(body, handle) {
			t.Error("/metrics holds the handle")
		}
	})
	t.Run("off", func(t *testing.T) {
		tel, _, _ := newTest(t, Options{})
		if w := serve(tel.MetricsHandler(), http.MethodGet, "/metrics"); w.Code != http.StatusNotFound {
			t.Errorf("/metrics without Prometheus = %d, want 404", w.Code)
		}
	})
}

func TestOTLPEndpointSet(t *testing.T) {
	tests := []struct {
		env             map[string]string
		traces, metrics bool
	}{
		{nil, false, false},
		{map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"}, true, true},
		{map[string]string{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://collector:4318/v1/traces"}, true, false},
		{map[string]string{"OTEL_EXPORTER_OTLP_METRICS_ENDPOINT": "http://collector:4318/v1/metrics"}, false, true},
	}
	for _, tc := range tests {
		getenv := func(k string) string { return tc.env[k] }
		if got := otlpEndpointSet(getenv, "TRACES"); got != tc.traces {
			t.Errorf("%v: traces %v, want %v", tc.env, got, tc.traces)
		}
		if got := otlpEndpointSet(getenv, "METRICS"); got != tc.metrics {
			t.Errorf("%v: metrics %v, want %v", tc.env, got, tc.metrics)
		}
	}
}

// TestOTLPExport: with OTEL_EXPORTER_OTLP_ENDPOINT set, spans and metrics
// are posted there over OTLP/HTTP, at the latest by Shutdown.
func TestOTLPExport(t *testing.T) {
	var (
		mu    sync.Mutex
		posts = map[string]int{}
	)
	collector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		mu.Lock()
		posts[r.Method+" "+r.URL.Path+" "+r.Header.Get("Content-Type")]++
		mu.Unlock()
		w.Header().Set("Content-Type", "application/x-protobuf")
	}))
	defer collector.Close()
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", collector.URL)

	tel, err := New(t.Context(), Options{ServiceName: "test"})
	if err != nil {
		t.Fatal(err)
	}
	serve(testRouter(tel), http.MethodGet, "/")
	if err := tel.Shutdown(t.Context()); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	for _, want := range []string{"POST /v1/traces application/x-protobuf", "POST /v1/metrics application/x-protobuf"} {
		if posts[want] == 0 {
			t.Errorf("no %s; the collector got %v", want, posts)
		}
	}
}

// TestNoExporterNoSpans: without an endpoint or a test exporter the
// TracerProvider is a no-op one.
func TestNoExporterNoSpans(t *testing.T) {
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "")
	t.Setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "")
	tel, err := New(t.Context(), Options{ServiceName: "test"})
	if err != nil {
		t.Fatal(err)
	}
	defer tel.Shutdown(t.Context())
	_, span := tel.TracerProvider().Tracer("test").Start(t.Context(), "x")
	defer span.End()
	if span.IsRecording() {
		t.Error("the span records, with nowhere to send it")
	}
}
