// Package telemetry sets up OpenTelemetry for the app: one TracerProvider
// and one MeterProvider, their exporters, and the HTTP instrumentation of a
// chi router ([Telemetry.InstrumentRouter]).
//
// Where the telemetry goes follows the OpenTelemetry conventions, read from
// the process environment by the SDK itself rather than from the app's
// config (the app's own settings come through its getenv; these do not):
//
//   - OTEL_EXPORTER_OTLP_ENDPOINT, or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT and
//     OTEL_EXPORTER_OTLP_METRICS_ENDPOINT for one signal each, turn on the
//     OTLP exporter of that signal, over HTTP with protobuf (whatever
//     OTEL_EXPORTER_OTLP_PROTOCOL says); the exporters read the rest of
//     their settings (OTEL_EXPORTER_OTLP_HEADERS, _TIMEOUT, _CERTIFICATE...)
//     from the environment themselves.
//   - OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES describe the process;
//     the service name defaults to [Options.ServiceName].
//   - OTEL_TRACES_SAMPLER and OTEL_METRIC_EXPORT_INTERVAL tune sampling and
//     the push interval.
//
// With no trace endpoint there is no trace exporter, and the TracerProvider
// is a no-op one: spans cost nothing, and a trace id arriving in a
// traceparent header is still passed on in the request's context.
//
// Metrics are pulled by Prometheus when [Options.Prometheus] is set: the
// OpenTelemetry Prometheus exporter, plus the Go runtime and process
// collectors, on a registry of the Telemetry's own (never the global
// default one), served by [Telemetry.MetricsHandler].
//
// Nothing here sets OpenTelemetry's global providers or propagator: the
// app hands its providers to each instrumentation, so that two apps in one
// process (as in the tests) never share or replace each other's.
package telemetry

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"slices"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/exporters/otlp/otlpmetric/otlpmetrichttp"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/propagation"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
	tracenoop "go.opentelemetry.io/otel/trace/noop"
)

// Options configure New.
type Options struct {
	// ServiceName is the service.name resource attribute, unless
	// OTEL_SERVICE_NAME or OTEL_RESOURCE_ATTRIBUTES set one.
	ServiceName string
	// Prometheus adds the Prometheus exporter, whose registry
	// MetricsHandler serves.
	Prometheus bool
	// SpanExporter, if not nil, receives every span as it ends, on top of
	// whatever the environment selects: tests pass an in-memory one
	// (go.opentelemetry.io/otel/sdk/trace/tracetest).
	SpanExporter sdktrace.SpanExporter
	// MetricReader, if not nil, is one more reader of the MeterProvider:
	// tests pass a manual one (sdkmetric.NewManualReader).
	MetricReader sdkmetric.Reader
}

// Telemetry holds the app's providers. Its zero value is not usable: call
// New, and Shutdown when the app stops.
type Telemetry struct {
	tracerProvider trace.TracerProvider
	meterProvider  metric.MeterProvider
	propagator     propagation.TextMapPropagator
	// metrics serves the Prometheus registry; nil without Options.Prometheus.
	metrics http.Handler
	// httpDuration is http.server.request.duration (see http.go).
	httpDuration metric.Float64Histogram
	// shutdowns flush and stop the providers, in the order they were made.
	shutdowns []func(context.Context) error
}

// New builds the providers. It makes no network connection: the OTLP
// exporters connect when they first export, and report failures to
// OpenTelemetry's error handler (see RouteErrors) rather than failing here.
func New(ctx context.Context, opts Options) (t *Telemetry, err error) {
	t = &Telemetry{propagator: propagation.TraceContext{}}
	defer func() {
		if err != nil {
			// Stop what was started before the failure.
			err = errors.Join(err, t.Shutdown(ctx))
		}
	}()

	// Later options win: the environment's name over the default.
	res, err := resource.New(ctx,
		resource.WithAttributes(semconv.ServiceName(opts.ServiceName)),
		resource.WithTelemetrySDK(),
		resource.WithFromEnv(),
	)
	if err != nil {
		return t, fmt.Errorf("resource: %w", err)
	}

	if err := t.newTracerProvider(ctx, res, opts.SpanExporter); err != nil {
		return t, err
	}
	if err := t.newMeterProvider(ctx, res, opts); err != nil {
		return t, err
	}
	return t, nil
}

// newTracerProvider sets t.tracerProvider: the SDK's when some exporter
// wants spans, a no-op one otherwise.
func (t *Telemetry) newTracerProvider(ctx context.Context, res *resource.Resource, test sdktrace.SpanExporter) error {
	var exporters []sdktrace.TracerProviderOption
	if otlpEndpointSet(os.Getenv, "TRACES") {
		exp, err := otlptracehttp.New(ctx)
		if err != nil {
			return fmt.Errorf("otlp trace exporter: %w", err)
		}
		// Batched: a request never waits for the collector.
		exporters = append(exporters, sdktrace.WithBatcher(exp))
	}
	if test != nil {
		// Synchronous: a span is in the exporter as soon as it ends.
		exporters = append(exporters, sdktrace.WithSyncer(test))
	}
	if len(exporters) == 0 {
		t.tracerProvider = tracenoop.NewTracerProvider()
		return nil
	}
	// The sampler is the SDK's default, ParentBased(AlwaysSample), unless
	// OTEL_TRACES_SAMPLER says otherwise.
	tp := sdktrace.NewTracerProvider(append(exporters, sdktrace.WithResource(res))...)
	t.tracerProvider = tp
	t.shutdowns = append(t.shutdowns, tp.Shutdown)
	return nil
}

// newMeterProvider sets t.meterProvider, with a reader for each place the
// metrics go. With none it still works, and measurements are dropped.
func (t *Telemetry) newMeterProvider(ctx context.Context, res *resource.Resource, opts Options) error {
	readers := []sdkmetric.Option{sdkmetric.WithResource(res)}
	if opts.Prometheus {
		reg := prometheus.NewRegistry()
		err := errors.Join(
			reg.Register(collectors.NewGoCollector()),
			reg.Register(collectors.NewProcessCollector(collectors.ProcessCollectorOpts{})),
		)
		if err != nil {
			return fmt.Errorf("prometheus collectors: %w", err)
		}
		exp, err := otelprom.New(otelprom.WithRegisterer(reg))
		if err != nil {
			return fmt.Errorf("prometheus exporter: %w", err)
		}
		readers = append(readers, sdkmetric.WithReader(exp))
		t.metrics = promhttp.HandlerFor(reg, promhttp.HandlerOpts{})
	}
	if otlpEndpointSet(os.Getenv, "METRICS") {
		exp, err := otlpmetrichttp.New(ctx)
		if err != nil {
			return fmt.Errorf("otlp metric exporter: %w", err)
		}
		// Every minute, or OTEL_METRIC_EXPORT_INTERVAL; and once more at
		// Shutdown.
		readers = append(readers, sdkmetric.WithReader(sdkmetric.NewPeriodicReader(exp)))
	}
	if opts.MetricReader != nil {
		readers = append(readers, sdkmetric.WithReader(opts.MetricReader))
	}
	mp := sdkmetric.NewMeterProvider(readers...)
	t.meterProvider = mp
	t.shutdowns = append(t.shutdowns, mp.Shutdown)
	return t.newHTTPInstruments()
}

// otlpEndpointSet reports whether the environment names an OTLP endpoint
// for signal (TRACES or METRICS): the variable of every signal or the
// signal's own, the ones the OTLP exporters read.
func otlpEndpointSet(getenv func(string) string, signal string) bool {
	return getenv("OTEL_EXPORTER_OTLP_ENDPOINT") != "" || getenv("OTEL_EXPORTER_OTLP_"+signal+"_ENDPOINT") != ""
}

// TracerProvider returns the app's TracerProvider, for instrumentations
// such as go-redis's.
func (t *Telemetry) TracerProvider() trace.TracerProvider { return t.tracerProvider }

// MeterProvider returns the app's MeterProvider.
func (t *Telemetry) MeterProvider() metric.MeterProvider { return t.meterProvider }

// MetricsHandler serves the metrics in Prometheus's text format, or answers
// 404 when New was not asked for the Prometheus exporter.
func (t *Telemetry) MetricsHandler() http.Handler {
	if t.metrics == nil {
		return http.NotFoundHandler()
	}
	return t.metrics
}

// Shutdown flushes what the exporters hold and stops the providers; ctx
// bounds how long that may take. Call it once nothing records any more:
// after the servers have stopped.
func (t *Telemetry) Shutdown(ctx context.Context) error {
	var errs []error
	for _, shutdown := range slices.Backward(t.shutdowns) {
		errs = append(errs, shutdown(ctx))
	}
	t.shutdowns = nil
	return errors.Join(errs...)
}

// RouteErrors sends the errors OpenTelemetry reports on its own (an export
// that failed, a collector that is down) to log at WARN, with
// component=otel, instead of plain-text lines on stderr. Like go-redis's
// logger, OpenTelemetry's error handler is one per process: the app calls
// this once, at start.
func RouteErrors(log *slog.Logger) {
	log = log.With("component", "otel")
	otel.SetErrorHandler(otel.ErrorHandlerFunc(func(err error) {
		log.Warn("telemetry error", "err", err)
	}))
}
