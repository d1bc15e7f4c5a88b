package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net"
	"net/http"
	"net/http/pprof"
	"time"

	"github.com/go-chi/chi/v5"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"

	"github.com/hexchi/starter/internal/auth/session"
	"github.com/hexchi/starter/internal/auth/session/redisstore"
	"github.com/hexchi/starter/internal/platform/config"
	"github.com/hexchi/starter/internal/platform/telemetry"
)

// The app's telemetry: where it goes is set by the standard OTEL_*
// variables (see package telemetry), what it holds here. Spans and
// metrics carry no session id, handle, cookie, user name or user id.
//
// Metrics (Prometheus names in brackets):
//
//   - http.server.request.duration [http_server_request_duration_seconds],
//     by http.request.method, http.route and http.response.status_code:
//     see telemetry.InstrumentRouter;
//   - hexchi.session.events [hexchi_session_events_total], by kind (the
//     session.EventKind): a counter fed by the session module's OnEvent;
//   - hexchi.session.store.duration [hexchi_session_store_duration_seconds],
//     by operation (load, create, patch, delete, list_group, delete_group)
//     and outcome (ok, not_found, error): every session.Store call;
//   - hexchi.session.near_cache.lookups [hexchi_session_near_cache_lookups_total],
//     by result (hit, miss), hexchi.session.near_cache.invalidations and
//     hexchi.session.near_cache.flushes [..._total], and the gauges
//     hexchi.session.near_cache.entries, hexchi.session.near_cache.size
//     [hexchi_session_near_cache_size_bytes] and
//     hexchi.session.near_cache.tracking (1 while invalidations flow): the
//     Redis store's near cache, read from its counters at each collection;
//   - go-redis's connection pool (db.client.connections.*) with the Redis
//     store, and, on the Prometheus endpoint, go_* and process_*.
//
// Spans: one per request ("GET /api/v1/auth/sessions/{handle}"), one per
// session store call ("session.store.load") and one per Redis command.
const (
	// serviceName is service.name unless OTEL_SERVICE_NAME says otherwise.
	serviceName = "hexchi"
	// instrumentationScope names the instruments and the tracer of this
	// file (the otel_scope_name label).
	instrumentationScope = "github.com/hexchi/starter/internal/app"
	// metricPrefix starts the names of the app's own metrics.
	metricPrefix = "hexchi."

	// telemetryShutdownTimeout bounds the final flush of the exporters
	// when Run returns: a collector that is down must not hold the exit.
	telemetryShutdownTimeout = 5 * time.Second
)

// newTelemetry builds the app's providers, with the Prometheus exporter
// when the admin listener is on.
func newTelemetry(ctx context.Context, admin config.Admin, log *slog.Logger) (*telemetry.Telemetry, error) {
	telemetry.RouteErrors(log)
	tel, err := telemetry.New(ctx, telemetry.Options{ServiceName: serviceName, Prometheus: admin.Addr != ""})
	if err != nil {
		return nil, fmt.Errorf("telemetry: %w", err)
	}
	return tel, nil
}

// shutdownTelemetry flushes and stops the providers, within
// telemetryShutdownTimeout.
//
// A flush that fails (the collector is down) is logged, not returned: the
// service has stopped cleanly, and an orchestrator that sees exit 1 after
// every SIGTERM while the collector is away would take it for a crash.
func shutdownTelemetry(ctx context.Context, tel *telemetry.Telemetry, log *slog.Logger) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), telemetryShutdownTimeout)
	defer cancel()
	if err := tel.Shutdown(ctx); err != nil {
		log.WarnContext(ctx, "telemetry not flushed at shutdown", "err", err)
	}
}

// instrumentRouter instruments mux, before its routes are added, and
// returns the handler to serve. An app that a test built by hand has no
// telemetry: the router is served as it is.
func (a *app) instrumentRouter(mux *chi.Mux) http.Handler {
	if a.tel == nil {
		return mux
	}
	return a.tel.InstrumentRouter(mux)
}

// sessionTelemetry instruments the session module from the outside: the
// module itself depends on nothing but the standard library.
type sessionTelemetry struct {
	tracer        trace.Tracer
	events        metric.Int64Counter
	storeDuration metric.Float64Histogram
}

// newSessionTelemetry makes the session module's instruments, and those of
// cached's near cache when it is not nil.
func newSessionTelemetry(tel *telemetry.Telemetry, cached *redisstore.Store) (*sessionTelemetry, error) {
	meter := tel.MeterProvider().Meter(instrumentationScope)
	if cached != nil {
		if err := observeNearCache(meter, cached); err != nil {
			return nil, err
		}
	}
	events, err := meter.Int64Counter(metricPrefix+"session.events",
		metric.WithUnit("{event}"),
		metric.WithDescription("Session events (session.EventKind), counted once the change is stored."))
	if err != nil {
		return nil, err
	}
	// Buckets from half a millisecond (a Redis round trip on the same
	// host) to the store timeout's order of magnitude.
	storeDuration, err := meter.Float64Histogram(metricPrefix+"session.store.duration",
		metric.WithUnit("s"),
		metric.WithDescription("Duration of session store calls."),
		metric.WithExplicitBucketBoundaries(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5))
	if err != nil {
		return nil, err
	}
	return &sessionTelemetry{
		tracer:        tel.TracerProvider().Tracer(instrumentationScope),
		events:        events,
		storeDuration: storeDuration,
	}, nil
}

// observeNearCache reports the near cache's counters of rs, read at each
// collection. The registration lives as long as the meter provider, which
// Run shuts down last.
func observeNearCache(meter metric.Meter, rs *redisstore.Store) error {
	const p = metricPrefix + "session.near_cache."
	lookups, err := meter.Int64ObservableCounter(p+"lookups", metric.WithUnit("{lookup}"),
		metric.WithDescription("Session loads by the near cache's answer: hit (served from memory) or miss (read from Redis)."))
	if err != nil {
		return err
	}
	invalidations, err := meter.Int64ObservableCounter(p+"invalidations", metric.WithUnit("{record}"),
		metric.WithDescription("Cached sessions, or reads of them in flight, dropped by Redis's invalidations: changes on other replicas, and the echo of this replica's own changes when it finds a copy."))
	if err != nil {
		return err
	}
	flushes, err := meter.Int64ObservableCounter(p+"flushes", metric.WithUnit("{flush}"),
		metric.WithDescription("Times the whole near cache was dropped: its connection to Redis lost or back."))
	if err != nil {
		return err
	}
	entries, err := meter.Int64ObservableGauge(p+"entries", metric.WithUnit("{record}"),
		metric.WithDescription("Sessions held by the near cache."))
	if err != nil {
		return err
	}
	size, err := meter.Int64ObservableGauge(p+"size", metric.WithUnit("By"),
		metric.WithDescription("Approximate memory of the sessions held by the near cache."))
	if err != nil {
		return err
	}
	// No unit: "1" would make Prometheus call it a ratio.
	tracking, err := meter.Int64ObservableGauge(p+"tracking",
		metric.WithDescription("1 while Redis's invalidations reach the near cache and it serves, 0 otherwise."))
	if err != nil {
		return err
	}
	hit := metric.WithAttributes(attribute.String("result", "hit"))
	miss := metric.WithAttributes(attribute.String("result", "miss"))
	_, err = meter.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		s := rs.NearCacheStats()
		o.ObserveInt64(lookups, asInt64(s.Hits), hit)
		o.ObserveInt64(lookups, asInt64(s.Misses), miss)
		o.ObserveInt64(invalidations, asInt64(s.Invalidations))
		o.ObserveInt64(flushes, asInt64(s.Flushes))
		o.ObserveInt64(entries, int64(s.Entries))
		o.ObserveInt64(size, s.Bytes)
		var on int64
		if s.Tracking {
			on = 1
		}
		o.ObserveInt64(tracking, on)
		return nil
	}, lookups, invalidations, flushes, entries, size, tracking)
	return err
}

// asInt64 is n for an OpenTelemetry counter, which is signed. (It would
// take centuries at a million loads a second to pass its maximum.)
func asInt64(n uint64) int64 { return int64(min(n, math.MaxInt64)) } //nolint:gosec // G115: clamped just before

// onEvent counts each session event by its kind, then hands it to next
// (the audit lines). The handle and the group (a user id) are no labels.
func (st *sessionTelemetry) onEvent(next func(context.Context, session.Event)) func(context.Context, session.Event) {
	return func(ctx context.Context, e session.Event) {
		st.events.Add(ctx, 1, metric.WithAttributes(attribute.String("kind", string(e.Kind))))
		next(ctx, e)
	}
}

// store returns s with every call timed and traced.
func (st *sessionTelemetry) store(s session.Store) session.Store {
	return observedStore{next: s, st: st}
}

// call starts a store call: a span, and the clock of its duration. The
// function it returns ends both with the call's outcome.
func (st *sessionTelemetry) call(ctx context.Context, op string) (context.Context, func(error)) {
	start := time.Now()
	ctx, span := st.tracer.Start(ctx, "session.store."+op)
	return ctx, func(err error) {
		outcome := storeOutcome(err)
		span.SetAttributes(attribute.String("outcome", outcome))
		if outcome == "error" {
			// No description: store errors name the session's short handle.
			span.SetStatus(codes.Error, "")
		}
		span.End()
		st.storeDuration.Record(ctx, time.Since(start).Seconds(),
			metric.WithAttributes(attribute.String("operation", op), attribute.String("outcome", outcome)))
	}
}

// storeOutcome classifies a store call's error: ok, not_found (a corrupt
// record too, which the Manager reports as a "rejected" event) or error.
func storeOutcome(err error) string {
	switch {
	case err == nil:
		return "ok"
	case errors.Is(err, session.ErrNotFound):
		return "not_found"
	default:
		return "error"
	}
}

// observedStore is a session.Store whose calls sessionTelemetry observes.
type observedStore struct {
	next session.Store
	st   *sessionTelemetry
}

func (s observedStore) Load(ctx context.Context, handle string, touch session.Touch) (*session.Record, error) {
	ctx, done := s.st.call(ctx, "load")
	rec, err := s.next.Load(ctx, handle, touch)
	done(err)
	return rec, err
}

func (s observedStore) Create(ctx context.Context, handle string, rec *session.Record, opts session.CreateOptions) ([]string, error) {
	ctx, done := s.st.call(ctx, "create")
	evicted, err := s.next.Create(ctx, handle, rec, opts)
	done(err)
	return evicted, err
}

func (s observedStore) Patch(ctx context.Context, handle string, p *session.Patch) error {
	ctx, done := s.st.call(ctx, "patch")
	err := s.next.Patch(ctx, handle, p)
	done(err)
	return err
}

func (s observedStore) Delete(ctx context.Context, ref session.Ref) error {
	ctx, done := s.st.call(ctx, "delete")
	err := s.next.Delete(ctx, ref)
	done(err)
	return err
}

func (s observedStore) ListGroup(ctx context.Context, group string) ([]session.Member, error) {
	ctx, done := s.st.call(ctx, "list_group")
	members, err := s.next.ListGroup(ctx, group)
	done(err)
	return members, err
}

func (s observedStore) DeleteGroup(ctx context.Context, group, except string) (int, error) {
	ctx, done := s.st.call(ctx, "delete_group")
	n, err := s.next.DeleteGroup(ctx, group, except)
	done(err)
	return n, err
}

// The admin listener's limits. Its clients are Prometheus and operators,
// not the public; the write timeout leaves room for a CPU profile of a
// minute (/debug/pprof/profile?seconds=60), which net/http/pprof refuses
// past it.
const (
	adminReadHeaderTimeout = 5 * time.Second
	adminReadTimeout       = 10 * time.Second
	adminWriteTimeout      = 90 * time.Second
	adminIdleTimeout       = 2 * time.Minute
	adminMaxHeaderBytes    = 64 << 10
	// adminShutdownTimeout bounds its shutdown, after the main server's:
	// a scrape takes milliseconds, and a profile still running is cut.
	adminShutdownTimeout = 2 * time.Second
)

// startAdmin starts the admin listener at cfg.Addr, if it is not "", and
// returns the function that stops it. Run stops it after the main server,
// so that /metrics answers throughout the main server's drain and
// shutdown.
func (a *app) startAdmin(ctx context.Context, cfg config.Admin) (stop func() error, err error) {
	if cfg.Addr == "" {
		return func() error { return nil }, nil
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("admin listen: %w", err)
	}
	addr := ln.Addr().String()
	a.log.InfoContext(ctx, "admin listening", slog.String("addr", addr),
		slog.String("metrics", "http://"+addr+"/metrics"), slog.Bool("pprof", cfg.Pprof))
	return a.serveAdmin(ctx, ln, cfg.Pprof), nil
}

// serveAdmin serves the admin routes on ln in a goroutine of its own,
// which the returned stop waits for. If accepting fails the app goes on
// without its admin listener: the error is logged at once, and stop
// returns it.
func (a *app) serveAdmin(ctx context.Context, ln net.Listener, withPprof bool) (stop func() error) {
	srv := &http.Server{
		Handler:           newAdminMux(a.tel.MetricsHandler(), withPprof),
		ReadHeaderTimeout: adminReadHeaderTimeout,
		ReadTimeout:       adminReadTimeout,
		WriteTimeout:      adminWriteTimeout,
		IdleTimeout:       adminIdleTimeout,
		MaxHeaderBytes:    adminMaxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(a.log.Handler(), slog.LevelError),
	}
	served := make(chan error, 1)
	go func() {
		err := srv.Serve(ln)
		if !errors.Is(err, http.ErrServerClosed) {
			a.log.ErrorContext(ctx, "admin listener failed", slog.Any("err", err))
		}
		served <- err
	}()
	return func() error {
		if err := shutdown(ctx, srv, served, adminShutdownTimeout); err != nil {
			return fmt.Errorf("admin listener: %w", err)
		}
		return nil
	}
}

// newAdminMux returns the admin routes: /metrics, and net/http/pprof under
// /debug/pprof/ when withPprof is set. The pprof handlers are registered
// here, by hand; the public router never has them. (Importing
// net/http/pprof also registers them on http.DefaultServeMux, which no
// server of the app serves: each has a Handler of its own.)
func newAdminMux(metrics http.Handler, withPprof bool) *http.ServeMux {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", metrics)
	if withPprof {
		mux.HandleFunc("/debug/pprof/", pprof.Index) // and the named profiles: heap, goroutine...
		mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
		mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
		mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	}
	return mux
}
