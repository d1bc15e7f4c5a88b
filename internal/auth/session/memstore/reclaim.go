package memstore

import (
	"bytes"
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

// index adds handle to the index of group; "" is no group and has none.
func (s *Store) index(handle, group string) {
	if group == "" {
		return
	}
	members, ok := s.groups[group]
	if !ok {
		members = make(map[string]struct{})
		s.groups[group] = members
	}
	members[handle] = struct{}{}
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
