package memstore

import (
	"bytes"
	"cmp"
	"slices"
	"strings"
	"time"

	"github.com/hexchi/starter/internal/auth/session"
)

// The helpers below run with s.mu held. They keep one invariant: a group's
// index holds handle exactly when records holds a record under handle in
// that group. Only index and remove change either map, and a record's
// Group never changes, so every index entry points at a stored record.

// expired reports whether a record whose ExpireAt is at is dead at now. A
// record dies at its ExpireAt, not after it, so a zero ExpireAt is always
// dead: nothing is kept forever by accident.
func expired(at, now time.Time) bool {
	return !now.Before(at)
}

// live returns the record stored under handle if it is live at now. A
// dead one is removed on the way, which is how an access reclaims memory.
func (s *Store) live(handle string, now time.Time) (*session.Record, bool) {
	rec, ok := s.records[handle]
	if !ok {
		return nil, false
	}
	if expired(rec.ExpireAt, now) {
		s.remove(handle)
		return nil, false
	}
	return rec, true
}

// index adds handle to the index of rec.Group with its deadline; "" is no
// group and has none.
func (s *Store) index(handle string, rec *session.Record) {
	if rec.Group == "" {
		return
	}
	members, ok := s.groups[rec.Group]
	if !ok {
		members = make(map[string]time.Time)
		s.groups[rec.Group] = members
	}
	members[handle] = deadline(rec)
}

// deadline is how long a record's index entry must last: the later of its
// absolute deadline and its ExpireAt (which idle touches move, never beyond
// Expires, but the store does not rely on that).
func deadline(rec *session.Record) time.Time {
	if rec.ExpireAt.After(rec.Expires) {
		return rec.ExpireAt
	}
	return rec.Expires
}

// evict removes the live members of group with the earliest deadlines
// (never keep) until at most limit are left, and returns their handles;
// limit 0 is no limit. Ties go by Created, then handle, so the choice is
// stable.
func (s *Store) evict(group, keep string, limit int, now time.Time) []string {
	if limit <= 0 || len(s.groups[group]) <= limit {
		return nil
	}
	type member struct {
		handle   string
		deadline time.Time
		created  time.Time
	}
	var candidates []member
	for handle, dl := range s.groups[group] {
		if rec, ok := s.live(handle, now); ok && handle != keep {
			candidates = append(candidates, member{handle, dl, rec.Created})
		}
	}
	excess := len(candidates) + 1 - limit // +1: keep is a member too
	if excess <= 0 {
		return nil
	}
	slices.SortFunc(candidates, func(a, b member) int {
		return cmp.Or(a.deadline.Compare(b.deadline), a.created.Compare(b.created), strings.Compare(a.handle, b.handle))
	})
	evicted := make([]string, excess)
	for i, m := range candidates[:excess] {
		s.remove(m.handle)
		evicted[i] = m.handle
	}
	return evicted
}

// remove deletes the record under handle, if any, and its index entry. It
// uses the group stored in the record, not the caller's idea of it, so no
// entry is left behind.
func (s *Store) remove(handle string) {
	rec, ok := s.records[handle]
	if !ok {
		return
	}
	delete(s.records, handle)
	if members, ok := s.groups[rec.Group]; ok {
		delete(members, handle)
		if len(members) == 0 {
			delete(s.groups, rec.Group)
		}
	}
}

// sweepIfDue removes every dead record when the last sweep is at least
// SweepInterval ago. It runs on writes only, so a store nobody writes to
// does no work; dead records it has not reached yet are never returned.
func (s *Store) sweepIfDue(now time.Time) {
	if now.Before(s.nextSweep) {
		return
	}
	s.nextSweep = now.Add(SweepInterval)
	for handle, rec := range s.records {
		if expired(rec.ExpireAt, now) {
			s.remove(handle)
		}
	}
}

// clone returns a deep copy of rec, with a non-nil Values map, so that the
// store and its callers never share a map or a byte slice.
func clone(rec *session.Record) *session.Record {
	c := *rec
	c.Values = make(map[string][]byte, len(rec.Values))
	for k, v := range rec.Values {
		c.Values[k] = bytes.Clone(v)
	}
	return &c
}

// earlier returns the earlier of a and b.
func earlier(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}
