package memstore

import (
	"context"
	"errors"
	"strconv"
	"testing"
	"time"

	"github.com/hexchi/starter/internal/auth/session"
	"github.com/hexchi/starter/internal/auth/session/sessiontest"
)

// start is where the tests' clocks stand: a fixed instant, so failures
// are reproducible.
var start = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// TestConformance runs the suite with a fake clock, so crossing an expiry
// costs no sleep. The suite's own tests run it on this store with the real
// clock too.
func TestConformance(t *testing.T) {
	clock := sessiontest.NewClock(start)
	sessiontest.Run(t, sessiontest.Harness{
		New:     func(*testing.T) session.Store { return New(WithClock(clock.Now)) },
		Now:     clock.Now,
		Advance: func(_ *testing.T, d time.Duration) { clock.Advance(d) },
	})
}

// held counts what s holds, dead or live: records, and index entries over
// all groups.
func held(s *Store) (records, indexed int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, members := range s.groups {
		indexed += len(members)
	}
	return len(s.records), indexed
}

// fill stores n records that die in a second, half of them in a group,
// and one that lives for an hour, in group "keep".
func fill(t *testing.T, s *Store, now time.Time, n int) {
	t.Helper()
	for i := range n {
		rec := &session.Record{Expires: now.Add(time.Hour), ExpireAt: now.Add(time.Second)}
		if i%2 == 0 {
			rec.Group = "group" + strconv.Itoa(i%3)
		}
		if _, err := s.Create(t.Context(), "dead"+strconv.Itoa(i), rec, session.CreateOptions{}); err != nil {
			t.Fatalf("Create: %v", err)
		}
	}
	keep := &session.Record{Expires: now.Add(time.Hour), ExpireAt: now.Add(time.Hour), Group: "keep"}
	if _, err := s.Create(t.Context(), "keep", keep, session.CreateOptions{}); err != nil {
		t.Fatalf("Create: %v", err)
	}
}

func TestSweepReclaimsDeadRecords(t *testing.T) {
	const n = 100
	clock := sessiontest.NewClock(start)
	s := New(WithClock(clock.Now))
	fill(t, s, clock.Now(), n) // the first Create swept the empty store
	if records, indexed := held(s); records != n+1 || indexed != n/2+1 {
		t.Fatalf("after fill: %d records, %d index entries; want %d, %d", records, indexed, n+1, n/2+1)
	}

	clock.Advance(SweepInterval - time.Second) // every "dead" record has died
	if err := s.Delete(t.Context(), session.Ref{Handle: "unknown"}); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if records, _ := held(s); records != n+1 {
		t.Errorf("a write within SweepInterval of the last sweep swept: %d records left, want all %d", records, n+1)
	}

	clock.Advance(time.Second)
	if err := s.Delete(t.Context(), session.Ref{Handle: "unknown"}); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if records, indexed := held(s); records != 1 || indexed != 1 {
		t.Errorf("after a sweep: %d records, %d index entries; want only the live one (1, 1)", records, indexed)
	}
	if len(s.groups) != 1 {
		t.Errorf("after a sweep %d group indexes are left, want 1: an empty index must go", len(s.groups))
	}
}

func TestAccessReclaimsDeadRecord(t *testing.T) {
	tests := map[string]func(ctx context.Context, s *Store) error{
		"Load": func(ctx context.Context, s *Store) error {
			_, err := s.Load(ctx, "dead0", session.Touch{})
			return ignore(err, session.ErrNotFound)
		},
		"Patch": func(ctx context.Context, s *Store) error {
			return ignore(s.Patch(ctx, "dead0", &session.Patch{}), session.ErrNotFound)
		},
		"Create": func(ctx context.Context, s *Store) error {
			return createErr(s.Create(ctx, "dead0", &session.Record{}, session.CreateOptions{})) // dead on arrival: stores nothing
		},
		"ListGroup": func(ctx context.Context, s *Store) error {
			_, err := s.ListGroup(ctx, "group0")
			return err
		},
		"DeleteGroup": func(ctx context.Context, s *Store) error {
			_, err := s.DeleteGroup(ctx, "group0", "")
			return err
		},
	}
	for name, access := range tests {
		t.Run(name, func(t *testing.T) {
			clock := sessiontest.NewClock(start)
			s := New(WithClock(clock.Now))
			fill(t, s, clock.Now(), 1)
			clock.Advance(2 * time.Second) // dead0 is dead, and no sweep is due
			if err := access(t.Context(), s); err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			if records, indexed := held(s); records != 1 || indexed != 1 {
				t.Errorf("after %s of a dead record: %d records, %d index entries; want only the live one (1, 1)", name, records, indexed)
			}
		})
	}
}

// ignore returns nil for an error that is target, else err.
func ignore(err, target error) error {
	if errors.Is(err, target) {
		return nil
	}
	return err
}

func TestNilArguments(t *testing.T) {
	s := New()
	tests := map[string]func() error{
		"Create": func() error { return createErr(s.Create(t.Context(), "h", nil, session.CreateOptions{})) },
		"Patch":  func() error { return s.Patch(t.Context(), "h", nil) },
	}
	for name, call := range tests {
		t.Run(name, func(t *testing.T) {
			if err := call(); err == nil {
				t.Errorf("%s with a nil argument returned nil, want an error", name)
			}
		})
	}
}

func TestClock(t *testing.T) {
	tests := map[string][]Option{
		"default":   nil,
		"nil clock": {WithClock(nil)},
	}
	for name, opts := range tests {
		t.Run(name, func(t *testing.T) {
			s := New(opts...)
			now := time.Now()
			live := &session.Record{Expires: now.Add(time.Hour), ExpireAt: now.Add(time.Hour)}
			dead := &session.Record{Expires: now.Add(time.Hour), ExpireAt: now.Add(-time.Second)}
			for handle, rec := range map[string]*session.Record{"live": live, "dead": dead} {
				if _, err := s.Create(t.Context(), handle, rec, session.CreateOptions{}); err != nil {
					t.Fatalf("Create(%s): %v", handle, err)
				}
			}
			if _, err := s.Load(t.Context(), "live", session.Touch{}); err != nil {
				t.Errorf("Load of a record live by time.Now = %v, want it: the store does not use time.Now", err)
			}
			if _, err := s.Load(t.Context(), "dead", session.Touch{}); !errors.Is(err, session.ErrNotFound) {
				t.Errorf("Load of a record dead by time.Now = %v, want ErrNotFound: the store does not use time.Now", err)
			}
		})
	}
}

// benchStore returns a store holding one record, with n values of 64 bytes,
// under the handle "h".
func benchStore(b *testing.B, n int) *Store {
	s := New()
	now := time.Now()
	rec := &session.Record{
		Created: now, Expires: now.Add(time.Hour), LastSeen: now, ExpireAt: now.Add(time.Hour),
		Group: "user-1", UserAgent: "bench", Values: make(map[string][]byte, n),
	}
	for i := range n {
		rec.Values["field"+strconv.Itoa(i)] = make([]byte, 64)
	}
	if _, err := s.Create(b.Context(), "h", rec, session.CreateOptions{}); err != nil {
		b.Fatal(err)
	}
	return s
}

func BenchmarkLoad(b *testing.B) {
	s := benchStore(b, 8)
	for b.Loop() {
		if _, err := s.Load(b.Context(), "h", session.Touch{}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkLoadTouch(b *testing.B) {
	s := benchStore(b, 8)
	for b.Loop() {
		touch := session.Touch{Now: time.Now(), Idle: time.Hour}
		if _, err := s.Load(b.Context(), "h", touch); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkPatch(b *testing.B) {
	s := benchStore(b, 8)
	p := &session.Patch{Set: map[string][]byte{"field0": []byte(`"changed"`)}, LastSeen: time.Now()}
	for b.Loop() {
		if err := s.Patch(b.Context(), "h", p); err != nil {
			b.Fatal(err)
		}
	}
}

// createErr is the error of a Create, for tests that check only that.
func createErr(_ []string, err error) error { return err }
