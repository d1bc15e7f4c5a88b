package redisstore

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"

	"github.com/redis/go-redis/v9"

	"github.com/hexchi/starter/internal/auth/session"
)

// memberFields are the fields ListGroup reads of each member, in the order
// HMGET returns them.
var memberFields = []string{"c", "e", "s", "x", "ua"}

// ListGroup returns the live sessions of group, oldest Created first (ties
// by handle, so the order is stable). It costs two round trips: ZRANGE of
// the members whose deadline is still ahead, then one pipeline of HMGET, one
// per member and each on one key. Members whose session is gone or past its
// ExpireAt are then removed from the index with one ZREM, a third round trip
// that is only paid when there is something to prune (on Cluster a fourth
// first checks that a missing record is still missing: see prune). A member whose hash is
// corrupt is left out of the list but kept in the index, so that
// DeleteGroup still deletes it.
func (s *Store) ListGroup(ctx context.Context, group string) ([]session.Member, error) {
	gkey := s.groupKey(group)
	now := s.now()
	handles, err := s.members(ctx, gkey, "("+strconv.FormatInt(millis(now), 10))
	if err != nil {
		return nil, fmt.Errorf("redis list group: %w", err)
	}
	if len(handles) == 0 {
		return nil, nil
	}

	pipe := s.client.Pipeline()
	cmds := make([]*redis.SliceCmd, len(handles))
	for i, h := range handles {
		cmds[i] = pipe.HMGet(ctx, s.sessionKey(h), memberFields...)
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return nil, fmt.Errorf("redis list group: %w", err)
	}

	var members []session.Member
	var gone, stale []string
	for i, h := range handles {
		rec, err := readMember(cmds[i].Val())
		switch {
		case err != nil:
			continue // corrupt: see the doc comment
		case rec == nil:
			gone = append(gone, h)
		case !rec.ExpireAt.After(now):
			stale = append(stale, h)
		default:
			members = append(members, session.Member{
				Handle:    h,
				Created:   rec.Created,
				Expires:   rec.Expires,
				LastSeen:  rec.LastSeen,
				UserAgent: rec.UserAgent,
			})
		}
	}
	if err := s.prune(ctx, gkey, gone, stale); err != nil {
		return nil, fmt.Errorf("redis list group: prune: %w", err)
	}
	slices.SortFunc(members, func(a, b session.Member) int {
		return cmp.Or(a.Created.Compare(b.Created), cmp.Compare(a.Handle, b.Handle))
	})
	return members, nil
}

// prune removes from the index gkey the handles whose record is gone and
// those whose record is past its ExpireAt. On Cluster a Create sends a new
// session's record and its index entry to two nodes at once, so a listing
// can find the entry before the record: there a gone handle is removed only
// if its record is still missing a round trip later, when that Create is
// long done. (On one node the record is written first, in the same
// pipeline.)
func (s *Store) prune(ctx context.Context, gkey string, gone, stale []string) error {
	if s.cluster && len(gone) > 0 {
		pipe := s.client.Pipeline()
		exists := make([]*redis.IntCmd, len(gone))
		for i, h := range gone {
			exists[i] = pipe.Exists(ctx, s.sessionKey(h))
		}
		if _, err := pipe.Exec(ctx); err != nil {
			return err
		}
		var still []string
		for i, h := range gone {
			if exists[i].Val() == 0 {
				still = append(still, h)
			}
		}
		gone = still
	}
	if dead := append(gone, stale...); len(dead) > 0 {
		return s.client.ZRem(ctx, gkey, stringsToAny(dead)...).Err()
	}
	return nil
}

// members returns the handles in the index gkey whose deadline is above min
// ("-inf" for all, "(<ms>" for those still ahead of a time). An index an
// earlier version of the store wrote as a plain set is migrated first, once.
func (s *Store) members(ctx context.Context, gkey, min string) ([]string, error) {
	read := func() ([]string, error) {
		return s.client.ZRangeArgs(ctx, redis.ZRangeArgs{Key: gkey, Start: min, Stop: "+inf", ByScore: true}).Result()
	}
	handles, err := read()
	if redis.HasErrorPrefix(err, "WRONGTYPE") {
		if err := migrateScript.Run(ctx, s.client, []string{gkey}).Err(); err != nil && !errors.Is(err, redis.Nil) {
			return nil, fmt.Errorf("migrate the index to a sorted set: %w", err)
		}
		handles, err = read()
	}
	return handles, err
}

// readMember reads the HMGET reply for memberFields into a record that
// holds those fields only. It returns nil, nil when the session no longer
// exists (every field nil) and session.ErrCorrupt when it exists but the store
// cannot read it.
func readMember(vals []any) (*session.Record, error) {
	if len(vals) != len(memberFields) {
		return nil, fmt.Errorf("%w: HMGET returned %d fields", session.ErrCorrupt, len(vals))
	}
	fields := make(map[string]string, len(vals))
	for i, v := range vals {
		if str, ok := v.(string); ok {
			fields[memberFields[i]] = str
		}
	}
	if len(fields) == 0 {
		return nil, nil
	}
	return decodeRecord(fields)
}

// DeleteGroup deletes every session of group except the one under except
// ("" for none) and returns how many live ones it deleted. It costs two
// round trips: ZRANGE of every member, then one pipeline of HGET x and DEL
// per member (each on one key, so Cluster can route them) and one ZREM of
// the same members. A session counts as live if DEL removed it and its
// ExpireAt was after the store's clock; HGET x reads that just before, on
// the same connection. Members whose session was already gone are pruned
// by the same ZREM and not counted.
//
// The index is emptied with ZREM rather than DEL even when except is "": a
// login that adds a session to the group between the two round trips keeps
// its index entry, so a later DeleteGroup still reaches it.
func (s *Store) DeleteGroup(ctx context.Context, group, except string) (int, error) {
	gkey := s.groupKey(group)
	handles, err := s.members(ctx, gkey, "-inf")
	if err != nil {
		return 0, fmt.Errorf("redis delete group: %w", err)
	}
	handles = slices.DeleteFunc(handles, func(h string) bool { return h == except })
	if len(handles) == 0 {
		return 0, nil
	}
	defer s.forget(handles...)

	pipe := s.client.Pipeline()
	expireAts := make([]*redis.StringCmd, len(handles))
	dels := make([]*redis.IntCmd, len(handles))
	members := make([]any, len(handles))
	for i, h := range handles {
		key := s.sessionKey(h)
		expireAts[i] = pipe.HGet(ctx, key, "x")
		dels[i] = pipe.Del(ctx, key)
		members[i] = h
	}
	pipe.ZRem(ctx, gkey, members...)
	// HGET of a gone session answers redis.Nil, which Exec would report as
	// the pipeline's error, hiding any real one behind it; so look at every
	// command.
	cmds, _ := pipe.Exec(ctx)
	for _, cmd := range cmds {
		if err := cmd.Err(); err != nil && !errors.Is(err, redis.Nil) {
			return 0, fmt.Errorf("redis delete group: %w", err)
		}
	}
	now := millis(s.now())
	n := 0
	for i, d := range dels {
		x, err := expireAts[i].Int64()
		if d.Val() == 1 && err == nil && x > now {
			n++
		}
	}
	return n, nil
}
