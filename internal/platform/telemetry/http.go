package telemetry

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"
	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	metricnoop "go.opentelemetry.io/otel/metric/noop"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
)

// scope names this package's instruments (the otel_scope_name label).
const scope = "github.com/hexchi/starter/internal/platform/telemetry"

// unmatched stands for the route in the span name of a request that
// matched none (404, 405): "GET unmatched".
const unmatched = "unmatched"

// newHTTPInstruments makes the instruments of InstrumentRouter.
func (t *Telemetry) newHTTPInstruments() error {
	var err error
	// The semantic conventions' name, unit and buckets (the ones otelhttp
	// uses), with attributes of bounded values only: see InstrumentRouter.
	t.httpDuration, err = t.meterProvider.Meter(scope).Float64Histogram("http.server.request.duration",
		metric.WithUnit("s"),
		metric.WithDescription("Duration of HTTP server requests."),
		metric.WithExplicitBucketBoundaries(0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10),
	)
	return err
}

// InstrumentRouter instruments mux and returns the handler to serve in its
// place. Every request gets
//
//   - a server span (otelhttp), continuing the trace of an inbound
//     traceparent header, and named after the route chi matched, "GET
//     /api/v1/auth/sessions/{handle}", or "GET unmatched" when none did;
//   - a measurement of http.server.request.duration with three attributes:
//     http.request.method (_OTHER for a method that is not standard),
//     http.route (absent when no route matched) and
//     http.response.status_code.
//
// The route is known only once chi has routed the request, so a
// middleware that InstrumentRouter adds to mux, ahead of all others, names
// the span and records the duration as the request ends. Call it before
// any route is added: chi refuses middleware after routes.
//
// The span has otelhttp's attributes (http.request.method, url.scheme,
// server.address, http.response.status_code, user_agent.original...) and
// http.route, but not url.path: a path such as
// /api/v1/auth/sessions/{handle} holds a session handle, which no span may
// carry. Nor client.address, which otelhttp takes from X-Forwarded-For
// whoever sent it; network.peer.address is the peer. otelhttp's own
// metrics are off: their attributes include the Host header, which a
// client could vary without end.
//
// An app that is exposed to the internet without a proxy that starts the
// traces may prefer otelhttp.WithPublicEndpointFn, so that clients cannot
// choose trace ids (or, with a ratio sampler, force sampling).
func (t *Telemetry) InstrumentRouter(mux *chi.Mux) http.Handler {
	mux.Use(t.routeTelemetry(mux))
	return otelhttp.NewHandler(mux, "http.server",
		otelhttp.WithTracerProvider(withoutAttributes{t.tracerProvider, []attribute.Key{semconv.URLPathKey, semconv.ClientAddressKey}}),
		otelhttp.WithPropagators(t.propagator),
		otelhttp.WithMeterProvider(metricnoop.NewMeterProvider()),
	)
}

// routeTelemetry is the middleware of InstrumentRouter.
func (t *Telemetry) routeTelemetry(routes chi.Routes) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			start := time.Now()
			rec := &statusRecorder{ResponseWriter: w}
			// Deferred, so that a request whose handler aborts
			// (panic(http.ErrAbortHandler)) is named and counted too.
			completed := false
			defer func() {
				t.endRequest(r, routeOf(routes, r), rec.status, completed, time.Since(start))
			}()
			next.ServeHTTP(rec, r)
			completed = true
		})
	}
}

// endRequest names the request's span and records its duration.
func (t *Telemetry) endRequest(r *http.Request, route string, status int, completed bool, d time.Duration) {
	method, known := standardMethod(r.Method)
	attrs := make([]attribute.KeyValue, 0, 3)
	spanName := "HTTP" // the conventions' name for a method that is not standard
	if known {
		attrs = append(attrs, semconv.HTTPRequestMethodKey.String(method))
		spanName = method
	} else {
		attrs = append(attrs, semconv.HTTPRequestMethodOther)
	}
	span := trace.SpanFromContext(r.Context())
	if route != "" {
		attrs = append(attrs, semconv.HTTPRoute(route))
		span.SetAttributes(semconv.HTTPRoute(route))
		span.SetName(spanName + " " + route)
	} else {
		span.SetName(spanName + " " + unmatched)
	}
	if status == 0 && completed {
		status = http.StatusOK // what net/http sends for a handler that wrote nothing
	}
	if status != 0 { // 0: aborted before any answer
		attrs = append(attrs, semconv.HTTPResponseStatusCode(status))
	}
	t.httpDuration.Record(r.Context(), d.Seconds(), metric.WithAttributes(attrs...))
}

// routeOf returns the pattern of the route chi matched for r, "" if none.
//
// chi joins the patterns of the routers on the way, a mount's and then its
// sub-router's ("/api/v1/*" and "/auth/sessions/{handle}" make
// "/api/v1/auth/sessions/{handle}"). A request that the sub-router could
// not route keeps the mount's alone, "/api/v1/*", which is no route: a
// pattern that ends in a wildcard is therefore checked against the routes
// (where "/static/*" is one).
func routeOf(routes chi.Routes, r *http.Request) string {
	pattern := chi.RouteContext(r.Context()).RoutePattern()
	if strings.HasSuffix(pattern, "*") {
		path := r.URL.RawPath // chi routes on the raw path when there is one
		if path == "" {
			path = r.URL.Path
		}
		if !routes.Match(chi.NewRouteContext(), r.Method, path) {
			return ""
		}
	}
	return pattern
}

// standardMethod returns the method and true if it is one of HTTP's, so
// that a client cannot add series or span names by inventing methods.
func standardMethod(m string) (string, bool) {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodConnect, http.MethodOptions, http.MethodTrace:
		return m, true
	}
	return "", false
}

// statusRecorder remembers the status of a response. Like the access log's
// recorder it implements only the ResponseWriter methods and Unwrap, for
// http.ResponseController.
type statusRecorder struct {
	http.ResponseWriter
	status int // final status; 0 until WriteHeader or Write
}

func (rec *statusRecorder) WriteHeader(code int) {
	// Only the first final status counts (1xx may precede it).
	if rec.status == 0 && code >= 200 {
		rec.status = code
	}
	rec.ResponseWriter.WriteHeader(code)
}

func (rec *statusRecorder) Write(b []byte) (int, error) {
	if rec.status == 0 {
		rec.status = http.StatusOK
	}
	return rec.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (rec *statusRecorder) Unwrap() http.ResponseWriter { return rec.ResponseWriter }

// withoutAttributes is a TracerProvider whose spans start without the
// attributes keyed drop: otelhttp's options cannot leave any out.
type withoutAttributes struct {
	trace.TracerProvider
	drop []attribute.Key
}

func (p withoutAttributes) Tracer(name string, opts ...trace.TracerOption) trace.Tracer {
	return tracerWithout{p.TracerProvider.Tracer(name, opts...), p.drop}
}

type tracerWithout struct {
	trace.Tracer
	drop []attribute.Key
}

// Start starts the span with the options it was given, less the dropped
// attributes. The options are opaque, so they are read into a SpanConfig
// and rebuilt from it: every field a span starts with.
func (t tracerWithout) Start(ctx context.Context, name string, opts ...trace.SpanStartOption) (context.Context, trace.Span) {
	cfg := trace.NewSpanStartConfig(opts...)
	attrs := slices.DeleteFunc(slices.Clone(cfg.Attributes()), func(kv attribute.KeyValue) bool {
		return slices.Contains(t.drop, kv.Key)
	})
	rebuilt := []trace.SpanStartOption{
		trace.WithAttributes(attrs...),
		trace.WithSpanKind(cfg.SpanKind()),
		trace.WithLinks(cfg.Links()...),
	}
	if ts := cfg.Timestamp(); !ts.IsZero() {
		rebuilt = append(rebuilt, trace.WithTimestamp(ts))
	}
	if cfg.NewRoot() {
		rebuilt = append(rebuilt, trace.WithNewRoot())
	}
	return t.Tracer.Start(ctx, name, rebuilt...)
}
