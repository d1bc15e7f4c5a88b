package sessiontest_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"slices"
	"testing"
	"time"

	"github.com/hexchi/starter/internal/auth/session"
	"github.com/hexchi/starter/internal/auth/session/memstore"
	"github.com/hexchi/starter/internal/auth/session/sessiontest"
)

// A check that cannot fail proves nothing, so this file runs the suite
// against mutants: the memory store with one bug that session stores are
// known to have. The suite must fail each mutant in the subtest that
// guards against its bug, and say what went wrong. A failing suite fails
// its test, so each mutant runs in a child process (this test binary
// again, with mutantEnv set) and the parent reads its output.

// mutantEnv names the mutant a child process runs the suite against.
const mutantEnv = "SESSIONTEST_MUTANT"

var mutants = map[string]struct {
	wrap     func(s *memstore.Store, now func() time.Time) session.Store
	caughtBy string // the suite's subtest that must fail
	says     string // a piece of its failure message
}{
	"Create overwrites": {
		wrap:     func(s *memstore.Store, _ func() time.Time) session.Store { return createOverwrites{s} },
		caughtBy: "InsertOnly",
		says:     "Create over a live record returned nil, want session: record exists",
	},
	"Patch creates": {
		wrap:     func(s *memstore.Store, _ func() time.Time) session.Store { return patchCreates{s} },
		caughtBy: "UpdateOnly",
		says:     "created one; Patch must be update-only",
	},
	"Patch rewrites every value": {
		wrap:     func(s *memstore.Store, _ func() time.Time) session.Store { return patchRewrites{s} },
		caughtBy: "PatchMerge",
		says:     `Values["gamma"] is missing`,
	},
	"past expiry kept forever": {
		wrap:     func(s *memstore.Store, now func() time.Time) session.Store { return pastExpiryKept{s, now} },
		caughtBy: "PastExpiryDeletes",
		says:     "must store nothing, but the record is there",
	},
	"expiry ignored": {
		wrap:     func(s *memstore.Store, _ func() time.Time) session.Store { return expiryIgnored{s} },
		caughtBy: "Expiry",
		says:     "has come is dead, but the store still returns it",
	},
	"replaces ignored": {
		wrap:     func(s *memstore.Store, _ func() time.Time) session.Store { return replacesIgnored{s} },
		caughtBy: "PatchAfterLogin",
		says:     "the old handle after login",
	},
	"touch ignored": {
		wrap:     func(s *memstore.Store, _ func() time.Time) session.Store { return touchIgnored{s} },
		caughtBy: "Touch",
		says:     "the record Load returned with the touch",
	},
	"context ignored": {
		wrap:     func(s *memstore.Store, _ func() time.Time) session.Store { return contextIgnored{s} },
		caughtBy: "ContextCancelled",
		says:     "Load with a cancelled context returned nil",
	},
	"group listed newest first": {
		wrap:     func(s *memstore.Store, _ func() time.Time) session.Store { return listUnsorted{s} },
		caughtBy: "GroupIndex",
		says:     "oldest Created first",
	},
	"DeleteGroup ignores except": {
		wrap:     func(s *memstore.Store, _ func() time.Time) session.Store { return exceptIgnored{s} },
		caughtBy: "GroupIndex",
		says:     "DeleteGroup deleted the member it was told to keep",
	},
	"group limit ignored": {
		wrap:     func(s *memstore.Store, _ func() time.Time) session.Store { return limitIgnored{s} },
		caughtBy: "GroupLimit",
		says:     "the member with the earliest deadline must end at the limit",
	},
	"login time dropped": {
		wrap:     func(s *memstore.Store, _ func() time.Time) session.Store { return authTimeDropped{s} },
		caughtBy: "RoundTrip",
		says:     "AuthTime = zero time",
	},
}

func TestRunCatchesBrokenStores(t *testing.T) {
	if name := os.Getenv(mutantEnv); name != "" {
		runMutant(t, name)
		return
	}
	for name, m := range mutants {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			// #nosec G204 -- the test binary re-runs itself.
			cmd := exec.CommandContext(t.Context(), os.Args[0],
				"-test.run=^TestRunCatchesBrokenStores$/^"+m.caughtBy+"$")
			cmd.Env = append(os.Environ(), mutantEnv+"="+name)
			out, err := cmd.CombinedOutput()
			if exit := (*exec.ExitError)(nil); !errors.As(err, &exit) {
				t.Fatalf("the suite passed a store whose %s (or the child did not run: %v); output:\n%s", name, err, out)
			}
			if !bytes.Contains(out, []byte("--- FAIL: TestRunCatchesBrokenStores/"+m.caughtBy+" ")) {
				t.Errorf("subtest %s did not fail; output:\n%s", m.caughtBy, out)
			}
			if !bytes.Contains(out, []byte(m.says)) {
				t.Errorf("the failure does not say %q; output:\n%s", m.says, out)
			}
		})
	}
}

// runMutant is the child process: the suite against the mutant name.
func runMutant(t *testing.T, name string) {
	m, ok := mutants[name]
	if !ok {
		t.Fatalf("%s=%q names no mutant", mutantEnv, name)
	}
	clock := sessiontest.NewClock(time.Date(2026, 3, 14, 15, 9, 26, 535_000_000, time.UTC))
	sessiontest.Run(t, sessiontest.Harness{
		New:     func(*testing.T) session.Store { return m.wrap(memstore.New(memstore.WithClock(clock.Now)), clock.Now) },
		Now:     clock.Now,
		Advance: func(_ *testing.T, d time.Duration) { clock.Advance(d) },
	})
}

// createOverwrites upserts: a Create lands on a live record.
type createOverwrites struct{ *memstore.Store }

func (m createOverwrites) Create(ctx context.Context, handle string, rec *session.Record, opts session.CreateOptions) ([]string, error) {
	if err := m.Delete(ctx, session.Ref{Handle: handle}); err != nil {
		return nil, err
	}
	return m.Store.Create(ctx, handle, rec, opts)
}

// patchCreates upserts: a Patch of a deleted session writes it back.
type patchCreates struct{ *memstore.Store }

func (m patchCreates) Patch(ctx context.Context, handle string, p *session.Patch) error {
	err := m.Store.Patch(ctx, handle, p)
	if errors.Is(err, session.ErrNotFound) {
		rec := &session.Record{LastSeen: p.LastSeen, ExpireAt: p.ExpireAt, Values: p.Set}
		_, err := m.Create(ctx, handle, rec, session.CreateOptions{})
		return err
	}
	return err
}

// patchRewrites writes the patched fields and drops every other value, as
// a store that saves the whole session would.
type patchRewrites struct{ *memstore.Store }

func (m patchRewrites) Patch(ctx context.Context, handle string, p *session.Patch) error {
	rec, err := m.Load(ctx, handle, session.Touch{})
	if err != nil {
		return err
	}
	q := *p
	for k := range rec.Values {
		if _, ok := p.Set[k]; !ok {
			q.Del = append(q.Del, k)
		}
	}
	return m.Store.Patch(ctx, handle, &q)
}

// forever is the ExpireAt of a record that never expires.
var forever = time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)

// pastExpiryKept is scs's goredisstore: an expiry in the past becomes no
// expiry at all.
type pastExpiryKept struct {
	*memstore.Store
	now func() time.Time
}

func (m pastExpiryKept) Create(ctx context.Context, handle string, rec *session.Record, opts session.CreateOptions) ([]string, error) {
	if !rec.ExpireAt.After(m.now()) {
		r := *rec
		r.ExpireAt = forever
		rec = &r
	}
	return m.Store.Create(ctx, handle, rec, opts)
}

func (m pastExpiryKept) Patch(ctx context.Context, handle string, p *session.Patch) error {
	if !p.ExpireAt.IsZero() && !p.ExpireAt.After(m.now()) {
		q := *p
		q.ExpireAt = forever
		p = &q
	}
	return m.Store.Patch(ctx, handle, p)
}

// expiryIgnored never lets a record expire, like @hexancore/auth's memory store,
// whose inverted check returned expired sessions.
type expiryIgnored struct{ *memstore.Store }

func (m expiryIgnored) Create(ctx context.Context, handle string, rec *session.Record, opts session.CreateOptions) ([]string, error) {
	r := *rec
	r.ExpireAt = forever
	return m.Store.Create(ctx, handle, &r, opts)
}

// replacesIgnored leaves the old session in place at login.
type replacesIgnored struct{ *memstore.Store }

func (m replacesIgnored) Create(ctx context.Context, handle string, rec *session.Record, opts session.CreateOptions) ([]string, error) {
	opts.Replaces = session.Ref{}
	return m.Store.Create(ctx, handle, rec, opts)
}

// touchIgnored never refreshes the idle deadline.
type touchIgnored struct{ *memstore.Store }

func (m touchIgnored) Load(ctx context.Context, handle string, _ session.Touch) (*session.Record, error) {
	return m.Store.Load(ctx, handle, session.Touch{})
}

// contextIgnored loads even when the request is gone.
type contextIgnored struct{ *memstore.Store }

func (m contextIgnored) Load(_ context.Context, handle string, touch session.Touch) (*session.Record, error) {
	return m.Store.Load(context.Background(), handle, touch)
}

// listUnsorted lists a group in the reverse of the right order.
type listUnsorted struct{ *memstore.Store }

func (m listUnsorted) ListGroup(ctx context.Context, group string) ([]session.Member, error) {
	members, err := m.Store.ListGroup(ctx, group)
	slices.Reverse(members)
	return members, err
}

// exceptIgnored logs out everywhere, the current session included.
type exceptIgnored struct{ *memstore.Store }

func (m exceptIgnored) DeleteGroup(ctx context.Context, group, _ string) (int, error) {
	return m.Store.DeleteGroup(ctx, group, "")
}

// limitIgnored never ends a session for the group limit.
type limitIgnored struct{ *memstore.Store }

func (m limitIgnored) Create(ctx context.Context, handle string, rec *session.Record, opts session.CreateOptions) ([]string, error) {
	opts.GroupLimit = 0
	return m.Store.Create(ctx, handle, rec, opts)
}

// authTimeDropped forgets when the session logged in, as a store written
// before the field existed would.
type authTimeDropped struct{ *memstore.Store }

func (m authTimeDropped) Create(ctx context.Context, handle string, rec *session.Record, opts session.CreateOptions) ([]string, error) {
	r := *rec
	r.AuthTime = time.Time{}
	return m.Store.Create(ctx, handle, &r, opts)
}
