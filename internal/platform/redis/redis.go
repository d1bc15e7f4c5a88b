// Package redis builds the app's go-redis client from config and checks
// that Redis answers.
package redis

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/redis/go-redis/extra/redisotel/v9"
	goredis "github.com/redis/go-redis/v9"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"

	"github.com/hexchi/starter/internal/platform/config"
)

// readyTimeout bounds the readiness PING. A Redis that needs longer than a
// second to answer PING cannot serve sessions either, and a probe must
// answer before the orchestrator's own probe timeout.
const readyTimeout = time.Second

// Client is a go-redis UniversalClient plus the app's readiness check. It is
// a UniversalClient itself, so code that only needs Redis takes that.
type Client struct {
	goredis.UniversalClient
}

// New returns a client for cfg. go-redis picks the topology from the
// options: with MasterName set it is a Sentinel client for that master,
// with several addresses a Redis Cluster client, and with one address a
// plain single-node client. A Cluster client also re-reads the slot map
// when a node stops answering (reloadOnFailure), so that it finds the
// replica that took a failed master's place.
//
// New does not connect; connections are made on first use, so a Redis that
// is down at start makes the app not ready rather than stopping it. opts
// change go-redis's options before the client is made, for a client that
// needs other settings than the app's (the login limits' has no retries).
func New(cfg config.Redis, opts ...func(*goredis.UniversalOptions)) (*Client, error) {
	if len(cfg.Addrs) == 0 {
		// go-redis would silently fall back to 127.0.0.1:6379.
		return nil, errors.New("core.redis.addrs: no address")
	}
	if cfg.MasterName == "" && len(cfg.Addrs) > 1 && cfg.DB != 0 {
		// Cluster has only database 0, and go-redis drops DB without a word.
		return nil, fmt.Errorf("core.redis.db: %d, but Redis Cluster (%d addrs) has only db 0", cfg.DB, len(cfg.Addrs))
	}
	o := &goredis.UniversalOptions{
		Addrs:      cfg.Addrs,
		MasterName: cfg.MasterName,
		DB:         cfg.DB,
		Username:   cfg.Username,
		Password:   cfg.Password.Reveal(),
		// Without this go-redis ignores context deadlines and only the
		// socket timeouts below apply, so a request's deadline and the
		// readiness timeout would not bound a call to a hung server.
		ContextTimeoutEnabled: true,
		DialTimeout:           cfg.DialTimeout,
		ReadTimeout:           cfg.ReadTimeout,
		WriteTimeout:          cfg.WriteTimeout,
		// The rest are go-redis's defaults, which a failover needs as they
		// are. A failed command is retried, up to 3 times after 10 ms to
		// 1 s of backoff (on a Cluster: up to 4 attempts over the nodes), so
		// that one dropped connection costs a retry rather than a 503; the
		// retries end with the request's deadline. Every command goes to
		// a master (ReadOnly, RouteByLatency, RouteRandomly off): a
		// replica may not have the write a request made a moment before.
		// Behind Sentinel the client asks a Sentinel for the master each
		// time it dials, and drops its connections to the old master when
		// a Sentinel announces a new one (+switch-master).
	}
	for _, opt := range opts {
		opt(o)
	}
	c := goredis.NewUniversalClient(o)
	if cluster, ok := c.(*goredis.ClusterClient); ok {
		// After a master's failover no node redirects the client to the
		// promoted replica: see reloadOnFailure.
		cluster.AddHook(newReloadOnFailure(cluster))
	}
	return &Client{c}, nil
}

// Ready reports whether Redis answers PING within a second (less if ctx
// ends sooner). It is the app's readiness check.
func (c *Client) Ready(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, readyTimeout)
	defer cancel()
	if err := c.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("redis ping: %w", err)
	}
	return nil
}

// Instrument adds OpenTelemetry to the client: a span for each command, or
// pipeline, and each dial, under the span of the request that sent it; and
// the connection pool's metrics (db.client.connections.*, with the
// semantic conventions' instrument types). On a Cluster it instruments
// every node's client as go-redis makes it.
//
// The spans carry the command's name ("evalsha", "hgetall"), never its
// arguments: the session store's keys hold session handles. Nor the
// calling function and line, which cost a stack walk per command.
func (c *Client) Instrument(tp trace.TracerProvider, mp metric.MeterProvider) error {
	err := redisotel.InstrumentTracing(c.UniversalClient,
		redisotel.WithTracerProvider(tp),
		redisotel.WithDBStatement(false),
		redisotel.WithCallerEnabled(false),
	)
	if err != nil {
		return fmt.Errorf("redis tracing: %w", err)
	}
	err = redisotel.InstrumentMetrics(c.UniversalClient,
		redisotel.WithMeterProvider(mp),
		redisotel.WithSemConvCompliantMetrics(true),
	)
	if err != nil {
		return fmt.Errorf("redis metrics: %w", err)
	}
	return nil
}

// RouteLogs sends the lines go-redis logs on its own (a dial that failed,
// a pool connection it dropped, a Sentinel it could not ask) to log, at
// WARN, with component=go-redis, instead of go-redis's plain-text lines on
// stderr in the middle of the JSON log. They are about failures a request
// also reports; WARN keeps them visible without raising an ERROR per retry.
//
// go-redis has one logger per process, so this is process-wide: the app
// calls it once, at start.
func RouteLogs(log *slog.Logger) {
	goredis.SetLogger(slogPrinter{log.With("component", "go-redis")})
}

// slogPrinter is go-redis's logging interface on top of slog.
type slogPrinter struct{ log *slog.Logger }

func (p slogPrinter) Printf(ctx context.Context, format string, v ...any) {
	if ctx == nil {
		ctx = context.Background()
	}
	// go-redis starts most lines with its own "redis: " tag, which the
	// component attribute replaces.
	p.log.WarnContext(ctx, strings.TrimPrefix(fmt.Sprintf(format, v...), "redis: "))
}
