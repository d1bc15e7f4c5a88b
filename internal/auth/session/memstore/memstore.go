// Package memstore is the in-memory session.Store, for development and for
// unit tests: sessions live in one process and are lost when it stops, so
// it is no store for production or for more than one instance.
//
// It keeps the whole session.Store contract and passes the conformance
// suite (package sessiontest) that the Redis store passes, so code tested
// against it behaves the same on Redis.
//
// # Reclaiming memory
//
// There is no background goroutine, so a Store needs no Close and leaks
// nothing when a test forgets it. A record is dead once the store's clock
// reaches its ExpireAt; it is never returned after that, and its memory is
// reclaimed in two ways:
//
//   - any access to a dead record (Load, Create, Patch, ListGroup,
//     DeleteGroup) removes it and its group index entry;
//   - a write (Create, Patch, Delete, DeleteGroup) sweeps the whole store
//     for dead records, and their index entries, when the last sweep is
//     at least SweepInterval ago on the store's clock.
//
// A sweep holds the lock for a walk over every record, which is fine for
// the few thousand sessions of a dev server or a test.
package memstore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/hexchi/starter/internal/auth/session"
)

// SweepInterval is the least time, on the store's clock, between two
// sweeps of the whole store.
const SweepInterval = time.Minute

// Store is a session.Store in memory. It is safe for concurrent use; one
// mutex guards everything, since every operation is a few map accesses.
// Records and their Values are copied on the way in and out, so no caller
// can change what the store holds.
type Store struct {
	now func() time.Time

	mu        sync.Mutex
	records   map[string]*session.Record      // by handle; dead ones until reclaimed
	groups    map[string]map[string]time.Time // group -> handle -> the member's deadline
	nextSweep time.Time                       // no sweep before this
}

var _ session.Store = (*Store)(nil)

// An Option changes a default of New.
type Option func(*Store)

// WithClock sets the store's clock (default time.Now), which decides when
// a record's ExpireAt has come. Tests pass a fake clock to cross an expiry
// without sleeping. A nil clock leaves the default.
func WithClock(now func() time.Time) Option {
	return func(s *Store) {
		if now != nil {
			s.now = now
		}
	}
}

// New returns an empty store.
func New(opts ...Option) *Store {
	s := &Store{
		now:     time.Now,
		records: make(map[string]*session.Record),
		groups:  make(map[string]map[string]time.Time),
	}
	for _, opt := range opts {
		opt(s)
	}
	return s
}

// Load returns a copy of the live record under handle and applies a due
// idle touch to the stored one (see session.Store.Load).
func (s *Store) Load(ctx context.Context, handle string, touch session.Touch) (*session.Record, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("memstore: load: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	rec, ok := s.live(handle, s.now())
	if !ok {
		return nil, fmt.Errorf("memstore: load: %w", session.ErrNotFound)
	}
	if touchDue(rec, touch) {
		rec.LastSeen = touch.Now
		rec.ExpireAt = earlier(rec.Expires, touch.Now.Add(touch.Idle))
	}
	return clone(rec), nil
}

// touchDue reports whether touch refreshes rec: an idle timeout is set,
// the record is live at touch.Now by both its deadlines, and its LastSeen
// is at least touch.Every old.
func touchDue(rec *session.Record, touch session.Touch) bool {
	return touch.Idle > 0 &&
		touch.Now.Before(rec.Expires) &&
		touch.Now.Before(rec.LastSeen.Add(touch.Idle)) &&
		touch.Now.Sub(rec.LastSeen) >= touch.Every
}

// Create stores a copy of rec under handle unless a live record has it
// (session.ErrExists), deletes opts.Replaces and, past opts.GroupLimit,
// the group's members with the earliest deadlines, all in one critical
// section. A refused Create changes nothing. A rec that is dead already is
// not stored, though opts.Replaces is still deleted.
func (s *Store) Create(ctx context.Context, handle string, rec *session.Record, opts session.CreateOptions) ([]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("memstore: create: %w", err)
	}
	if rec == nil {
		return nil, errors.New("memstore: create: nil record") // never from the Manager; no panic either
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	s.sweepIfDue(now)
	if _, ok := s.live(handle, now); ok {
		return nil, fmt.Errorf("memstore: create: %w", session.ErrExists)
	}
	if opts.Replaces.Handle != "" {
		s.remove(opts.Replaces.Handle)
	}
	if expired(rec.ExpireAt, now) {
		return nil, nil
	}
	s.records[handle] = clone(rec)
	s.index(handle, rec)
	return s.evict(rec.Group, handle, opts.GroupLimit, now), nil
}

// Patch applies p to the live record under handle, or returns
// session.ErrNotFound. An ExpireAt that is not after the store's clock
// deletes the record.
func (s *Store) Patch(ctx context.Context, handle string, p *session.Patch) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("memstore: patch: %w", err)
	}
	if p == nil {
		return errors.New("memstore: patch: nil patch") // never from the Manager; no panic either
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	s.sweepIfDue(now)
	rec, ok := s.live(handle, now)
	if !ok {
		return fmt.Errorf("memstore: patch: %w", session.ErrNotFound)
	}
	if !p.ExpireAt.IsZero() {
		if expired(p.ExpireAt, now) {
			s.remove(handle)
			return nil
		}
		rec.ExpireAt = p.ExpireAt
	}
	for k, v := range p.Set {
		rec.Values[k] = bytes.Clone(v)
	}
	for _, k := range p.Del {
		delete(rec.Values, k)
	}
	if !p.LastSeen.IsZero() {
		rec.LastSeen = p.LastSeen
	}
	return nil
}

// Delete removes the record ref.Handle and its index entry. The store
// knows the record's group, so ref.Group is not needed.
func (s *Store) Delete(ctx context.Context, ref session.Ref) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("memstore: delete: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sweepIfDue(s.now())
	s.remove(ref.Handle)
	return nil
}
