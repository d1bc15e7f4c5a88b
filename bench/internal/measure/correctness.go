package measure

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/hexchi/starter/bench/internal/apps"
	"github.com/hexchi/starter/bench/internal/rtproxy"
)

// Check is a row of the correctness table: a property from the acceptance
// table of the session research (§6.9), checked on a live app.
type Check string

// The checks, in the order the report shows them.
const (
	CheckRenew      Check = "Login moves the session to a new id, and the old id is dead"
	CheckFields     Check = "Concurrent changes to different fields both persist"
	CheckLogoutRead Check = "Logout during an in-flight read-only request stays logged out"
	CheckLogoutMod  Check = "Logout during an in-flight modifying request stays logged out"
	CheckLoginRead  Check = "Login during an in-flight read-only request: the old id stays dead"
	CheckLoginMod   Check = "Login during an in-flight modifying request: the old id stays dead"
	CheckForged     Check = "Forged cookie: no store round trip, and the cookie is cleared"
	CheckStale      Check = "Stale cookie (session ended elsewhere) is cleared"
	CheckDeadline   Check = "A request that commits after the absolute deadline does not revive the session"
)

// Checks lists every check in order.
var Checks = []Check{
	CheckRenew, CheckFields, CheckLogoutRead, CheckLogoutMod,
	CheckLoginRead, CheckLoginMod, CheckForged, CheckStale, CheckDeadline,
}

// Outcome is the result of one check on one setup.
type Outcome struct {
	Ran      bool // false if the check was skipped
	Pass     bool
	Observed string // what happened, in a few words
}

// deadlineLifetime is the session lifetime of CheckDeadline. One second is
// the shortest gorilla can express (MaxAge is in seconds).
const deadlineLifetime = time.Second

// CheckCorrectness runs every check on setup, on a Redis at redisAddr
// reached through a counting proxy. CheckDeadline waits for a session to
// pass its deadline (about 1.3 s); withDeadline false skips it.
func CheckCorrectness(ctx context.Context, redisAddr string, setup Setup, withDeadline bool) (_ map[Check]Outcome, err error) {
	proxy, err := rtproxy.Start(ctx, redisAddr)
	if err != nil {
		return nil, err
	}
	defer proxy.Close()
	client := NewClient(proxy.Addr())
	g := newGate()
	cfg := setup.config(client)
	cfg.Hold = g.hold
	app, err := setup.newApp(ctx, cfg)
	if err != nil {
		_ = client.Close()
		return nil, err
	}
	defer func() { err = errors.Join(err, closeApp(app, client)) }()
	c := &checker{app: app, gate: g, proxy: proxy, client: client}
	if err := warmUp(ctx, app, &clock{}); err != nil {
		return nil, fmt.Errorf("%s: warm-up: %w", setup, err)
	}
	runs := map[Check]checkFunc{
		CheckRenew:      c.renew,
		CheckFields:     c.fields,
		CheckLogoutRead: c.logoutDuring(http.MethodGet, "/hold/read"),
		CheckLogoutMod:  c.logoutDuring(http.MethodPost, "/hold/write?f=a"),
		CheckLoginRead:  c.loginDuring(http.MethodGet, "/hold/read"),
		CheckLoginMod:   c.loginDuring(http.MethodPost, "/hold/write?f=a"),
		CheckForged:     c.forged,
		CheckStale:      c.stale,
		CheckDeadline:   c.deadline(setup, cfg),
	}
	out := map[Check]Outcome{}
	for _, check := range Checks {
		if check == CheckDeadline && !withDeadline {
			out[check] = Outcome{Observed: "skipped"}
			continue
		}
		o, err := runs[check](ctx)
		if err != nil {
			return nil, fmt.Errorf("%s: %s: %w", setup, check, err)
		}
		o.Ran = true
		out[check] = o
	}
	return out, nil
}

// checker runs the checks on one app.
type checker struct {
	app    *apps.App
	gate   *gate
	proxy  *rtproxy.Proxy
	client *redis.Client
}

// checkFunc runs one check.
type checkFunc func(ctx context.Context) (Outcome, error)
