// Package app is the composition root: it reads the configuration, builds
// every part of the app, wires them into one chi router and runs the HTTP
// server until its context ends.
//
// It is the only package that knows all the others. The wiring lives in
// Run, the routes in routes, the server lifecycle in serve, and the one
// mapping from errors to HTTP answers in respondError.
package app

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/hexchi/starter/internal/auth"
	"github.com/hexchi/starter/internal/platform/config"
	"github.com/hexchi/starter/internal/platform/redis"
	"github.com/hexchi/starter/internal/platform/telemetry"
	"github.com/hexchi/starter/internal/platform/web"
)

// app holds what the handlers and the server lifecycle share.
type app struct {
	log *slog.Logger
	// tel holds the tracer and meter providers (telemetry.go); nil in
	// tests that build an app by hand.
	tel      *telemetry.Telemetry
	sessions *auth.Sessions
	auth     *auth.Service
	// recentAuth is how recent a login must be to end other sessions
	// (core.auth.recentAuth).
	recentAuth time.Duration
	// rememberByDefault is "remember me" for a login that does not say
	// (core.auth.session.cookie.persistent).
	rememberByDefault bool
	// loginHint is shown under the login form (core.auth.loginHint).
	loginHint string
	// hsts is the Strict-Transport-Security header, "" for none.
	hsts string
	// trustedProxies are the peers whose X-Forwarded-For names the client.
	trustedProxies []netip.Prefix
	// replicaHeader and replicaName are the header that names this
	// replica on every response and its value, the host name; "" for none
	// (core.http.replicaHeader, replica.go).
	replicaHeader, replicaName string
	// storeReady checks the session store. It is nil for the memory store,
	// which is ready whenever the process is.
	storeReady func(context.Context) error
	// shuttingDown is set when shutdown begins, so that /readyz fails and
	// load balancers stop sending new requests while the old ones finish.
	shuttingDown atomic.Bool
	// after is the clock of the shutdown delay: time.After when nil, a
	// channel of the test's in the drain test.
	after func(time.Duration) <-chan time.Time
}

// Run is the program: main adds only the signal context and the exit code.
// It reads flags from args (args[0] is the program name), the APP_*
// variables through getenv, and logs to stdout. It serves until ctx ends,
// then shuts down gracefully and returns nil, or the first error that
// stopped it. It never exits the process.
func Run(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) (err error) {
	name, flagArgs := "app", []string(nil)
	if len(args) > 0 {
		name, flagArgs = args[0], args[1:]
	}
	flags := flag.NewFlagSet(name, flag.ContinueOnError)
	// Parse errors are returned (main prints them); only -h prints usage.
	flags.SetOutput(io.Discard)
	printConfig := flags.Bool("print-config", false, "print the effective configuration, secrets masked, and exit")
	healthcheck := flags.Bool("healthcheck", false, "ask the running server's /readyz (at core.http.addr) and exit 0 if it is ready: a container health check that needs no shell or curl")
	if err := flags.Parse(flagArgs); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			flags.SetOutput(stdout)
			flags.Usage()
			return nil
		}
		return fmt.Errorf("parse flags: %w", err)
	}
	if flags.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", flags.Args())
	}

	cfg, err := config.Load(config.OptionsFromEnv(getenv))
	if err != nil {
		return fmt.Errorf("load config: %w", err)
	}
	if *printConfig {
		if err := cfg.Print(stdout); err != nil {
			return fmt.Errorf("print config: %w", err)
		}
		return nil
	}
	if *healthcheck {
		return checkHealth(ctx, cfg.Core.HTTP.Addr, stdout)
	}

	log, err := web.NewLogger(stdout, cfg.Core.Log.Level, cfg.Core.Log.Format)
	if err != nil {
		return fmt.Errorf("core.log: %w", err)
	}
	// Telemetry (telemetry.go): the OTLP exporters follow the standard
	// OTEL_* variables, which the OpenTelemetry SDK reads from the process
	// environment itself, not through getenv. Deferred first, so that the
	// providers are flushed last, once the servers have stopped.
	tel, err := newTelemetry(ctx, cfg.Core.Admin, log)
	if err != nil {
		return err
	}
	defer shutdownTelemetry(ctx, tel, log)
	a := &app{log: log, tel: tel}
	if err := a.setReplicaHeader(cfg.Core.HTTP.ReplicaHeader, os.Hostname); err != nil {
		return err
	}

	var rdb *redis.Client
	switch store := cfg.Core.Auth.Session.Store; store {
	case "memory":
	case "redis":
		redis.RouteLogs(log)
		rdb, err = redis.New(cfg.Core.Redis)
		if err != nil {
			return fmt.Errorf("redis: %w", err)
		}
		// Deferred, so it runs after serve has returned: Redis closes
		// last, once no request can use it any more.
		defer func() {
			if cerr := rdb.Close(); cerr != nil {
				err = errors.Join(err, fmt.Errorf("close redis: %w", cerr))
			}
		}()
		a.storeReady = rdb.Ready
		if err := rdb.Instrument(tel.TracerProvider(), tel.MeterProvider()); err != nil {
			return err
		}
	default:
		return fmt.Errorf("core.auth.session.store: unknown store %q, want memory or redis", store)
	}
	closeStore, err := a.wireAuth(cfg.Core, rdb)
	if err != nil {
		return err
	}
	// Deferred after rdb's Close, so it runs before it: the store's own
	// connection (the near cache's subscriber) ends first.
	defer func() {
		if cerr := closeStore(); cerr != nil {
			err = errors.Join(err, fmt.Errorf("close session store: %w", cerr))
		}
	}()

	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", cfg.Core.HTTP.Addr)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	// Tests and scripts find the port of a ":0" address in this record.
	log.InfoContext(ctx, "listening", slog.String("addr", ln.Addr().String()),
		slog.String("store", cfg.Core.Auth.Session.Store))

	// The admin listener (/metrics, pprof) starts after the main one and
	// stops after it, so that it answers throughout the drain.
	stopAdmin, err := a.startAdmin(ctx, cfg.Core.Admin)
	if err != nil {
		_ = ln.Close()
		return err
	}

	srv := newServer(ctx, cfg.Core.HTTP, a.routes(), log)
	err = a.serve(ctx, srv, ln, cfg.Core.HTTP.ShutdownDelay, cfg.Core.HTTP.ShutdownTimeout)
	return errors.Join(err, stopAdmin())
}

// newServer returns an http.Server with every limit set from cfg, so that
// no client can hold a connection or a goroutine for long by sending slowly
// (ReadHeaderTimeout, ReadTimeout), reading slowly (WriteTimeout), idling
// (IdleTimeout) or sending huge headers (MaxHeaderBytes).
func newServer(ctx context.Context, cfg config.HTTP, h http.Handler, log *slog.Logger) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: cfg.ReadHeaderTimeout,
		ReadTimeout:       cfg.ReadTimeout,
		WriteTimeout:      cfg.WriteTimeout,
		IdleTimeout:       cfg.IdleTimeout,
		MaxHeaderBytes:    cfg.MaxHeaderBytes,
		// net/http's own complaints (bad TLS handshakes, superfluous
		// WriteHeader calls) go to the structured log too.
		ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelError),
		// Requests inherit the values of ctx but not its cancellation: ctx
		// ends when shutdown begins, and in-flight requests must be allowed
		// to finish. They are cancelled only when the shutdown deadline
		// passes and Close drops their connections.
		BaseContext: func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
}

// wireAuth builds the session manager, the user directory and the login
// service from cfg. closeStore ends the connections the session store and
// the login limits opened of their own.
func (a *app) wireAuth(cfg config.Core, rdb *redis.Client) (closeStore func() error, err error) {
	users, err := auth.NewDemoDirectory(cfg.Auth.Users)
	if err != nil {
		return nil, fmt.Errorf("core.auth.users: %w", err)
	}
	for _, p := range cfg.HTTP.TrustedProxies {
		prefix, err := config.ParseProxy(p)
		if err != nil {
			return nil, fmt.Errorf("core.http.trustedProxies: %w", err)
		}
		a.trustedProxies = append(a.trustedProxies, prefix)
	}
	// Last, once nothing else can fail: the limits and the store may own
	// connections.
	limits, closeLimits, err := loginLimits(cfg, rdb, a.log)
	if err != nil {
		return nil, err
	}
	sessions, closeSessions, err := newSessions(cfg, rdb, a.log, a.respondError, a.tel)
	if err != nil {
		return nil, errors.Join(err, closeLimits())
	}
	closeStore = func() error { return errors.Join(closeSessions(), closeLimits()) }
	a.sessions = sessions
	a.auth = auth.NewService(users, limits, a.log)
	a.recentAuth = cfg.Auth.RecentAuth
	a.rememberByDefault = cfg.Auth.Session.Cookie.Persistent
	a.loginHint = cfg.Auth.LoginHint
	// Over HTTPS only: a Secure cookie says the site is served so. No
	// includeSubDomains: that would bind sibling hosts this app knows
	// nothing of.
	if cfg.Auth.Session.Cookie.Secure && cfg.HTTP.HSTSMaxAge > 0 {
		a.hsts = "max-age=" + strconv.Itoa(int(cfg.HTTP.HSTSMaxAge/time.Second))
	}
	return closeStore, nil
}
