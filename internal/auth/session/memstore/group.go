package memstore

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/hexchi/starter/internal/auth/session"
)

// ListGroup returns the live members of group, oldest Created first (by
// handle among equals, so the order is stable). Dead members are removed
// on the way.
func (s *Store) ListGroup(ctx context.Context, group string) ([]session.Member, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("memstore: list group: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	members := make([]session.Member, 0, len(s.groups[group]))
	for handle := range s.groups[group] {
		if rec, ok := s.live(handle, now); ok {
			members = append(members, session.Member{
				Handle:    handle,
				Created:   rec.Created,
				Expires:   rec.Expires,
				LastSeen:  rec.LastSeen,
				UserAgent: rec.UserAgent,
			})
		}
	}
	slices.SortFunc(members, func(a, b session.Member) int {
		return cmp.Or(a.Created.Compare(b.Created), strings.Compare(a.Handle, b.Handle))
	})
	return members, nil
}

// DeleteGroup deletes every live member of group but except, and returns
// how many it deleted; dead members are removed too but not counted.
func (s *Store) DeleteGroup(ctx context.Context, group, except string) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, fmt.Errorf("memstore: delete group: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	s.sweepIfDue(now)
	deleted := 0
	for handle := range s.groups[group] {
		if handle == except {
			continue
		}
		if _, ok := s.live(handle, now); ok {
			s.remove(handle)
			deleted++
		}
	}
	return deleted, nil
}
