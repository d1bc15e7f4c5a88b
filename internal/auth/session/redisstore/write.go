package redisstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/hexchi/starter/internal/auth/session"
)

// Create stores rec under handle in one round trip: a pipeline of the
// insert script on the new key, the group-add script on rec.Group's index,
// and, when opts.Replaces.Handle is set, DEL of the old key and the
// group-remove script on its group's index (the group-add script removes it
// itself when the group is the same). Every command touches one key, so on
// Cluster go-redis splits the pipeline by node and sends the parts in
// parallel. Past opts.GroupLimit the sessions the group-add script picks
// are deleted afterwards, records before index entries (see evict): one
// more round trip, two on Cluster.
//
// The scripts go out as EVAL, not EVALSHA. A NOSCRIPT error in a pipeline is
// only seen after Exec, when the DEL of the old session has already run;
// retrying would be safe but would turn a login into two round trips and a
// branch that is hard to test. EVAL costs the script's few hundred bytes per
// login, and Redis caches the compiled script by its digest anyway.
//
// A pipeline is not a transaction: when one command fails, the others may
// have run. Create then returns the error and the caller issues no cookie
// for the new handle, so the worst a half-done Create leaves is a record
// nobody can reach, which its TTL collects, or the old session deleted,
// which is a logout. A failed eviction is no failed Create: the new record
// is stored, Create returns the handles it did end with an error wrapping
// session.ErrEvictionFailed, and the group stays over its limit until the
// next login.
//
// The handle is the digest of 256 random bits, so ErrExists means a bug (a
// handle reused), not bad luck. If it happens, the insert writes nothing,
// the old session is still deleted (the caller was leaving it), nothing is
// evicted, and if the group-add put the handle into rec.Group's index, a
// second command takes it out again, so that the index never lists another
// session under this group (and DeleteGroup never deletes it).
//
// A record whose ExpireAt is not after the store's clock is not stored:
// Create returns nil, as if it had been stored and expired at once, and
// only deletes the session it replaces.
func (s *Store) Create(ctx context.Context, handle string, rec *session.Record, opts session.CreateOptions) ([]string, error) {
	old := opts.Replaces
	switch {
	case rec == nil:
		return nil, fmt.Errorf("redis create %s: nil record", session.ShortHandle(handle))
	case handle == "":
		return nil, errors.New("redis create: empty handle")
	case old.Handle == handle:
		return nil, fmt.Errorf("redis create %s: a session cannot replace itself", session.ShortHandle(handle))
	}
	defer s.forget(handle, old.Handle)
	now := millis(s.now())
	live := millis(rec.ExpireAt) > now

	pipe := s.client.Pipeline()
	var insert, groupAdd *redis.Cmd
	sameGroup := live && rec.Group != "" && old.Group == rec.Group
	if live {
		insert = pipe.Eval(ctx, insertSrc, []string{s.sessionKey(handle)}, append([]any{now}, recordArgs(rec)...)...)
		if rec.Group != "" {
			replaced := ""
			if sameGroup {
				replaced = old.Handle
			}
			groupAdd = pipe.Eval(ctx, groupAddSrc, []string{s.groupKey(rec.Group)},
				now, handle, millis(deadline(rec)), max(opts.GroupLimit, 0), replaced)
		}
	}
	if old.Handle != "" {
		pipe.Del(ctx, s.sessionKey(old.Handle))
		if old.Group != "" && !sameGroup {
			s.removeFromGroup(ctx, pipe, old.Group, old.Handle)
		}
	}
	// Exec returns the first error of any command, not only of the
	// connection, so no failed write is ever reported as success.
	if _, err := pipe.Exec(ctx); err != nil {
		return nil, fmt.Errorf("redis create %s: %w", session.ShortHandle(handle), err)
	}
	if !live {
		return nil, nil
	}
	inserted, err := insert.Int()
	if err != nil {
		return nil, fmt.Errorf("redis create %s: %w", session.ShortHandle(handle), err)
	}
	added, evict, err := groupAddReply(groupAdd)
	if err != nil {
		return nil, fmt.Errorf("redis create %s: %w", session.ShortHandle(handle), err)
	}
	if inserted != 1 {
		err = fmt.Errorf("redis create %s: %w", session.ShortHandle(handle), session.ErrExists)
		if added {
			if undo := s.client.ZRem(ctx, s.groupKey(rec.Group), handle).Err(); undo != nil {
				err = errors.Join(err, fmt.Errorf("undo group add: %w", undo))
			}
		}
		return nil, err
	}
	if len(evict) == 0 {
		return nil, nil
	}
	defer s.forget(evict...)
	ended, err := s.evict(ctx, rec.Group, evict)
	if err != nil {
		return ended, fmt.Errorf("redis create %s: %w: %w", session.ShortHandle(handle), session.ErrEvictionFailed, err)
	}
	return ended, nil
}

// groupAddReply reads the group-add script's {added, {handles}}; a nil cmd
// (no group) is "not added, nothing to evict".
func groupAddReply(cmd *redis.Cmd) (added bool, evict []string, err error) {
	if cmd == nil {
		return false, nil, nil
	}
	reply, err := cmd.Slice()
	if err != nil {
		return false, nil, err
	}
	if len(reply) != 2 {
		return false, nil, fmt.Errorf("group-add script: %d values in its reply, want 2", len(reply))
	}
	n, ok1 := reply[0].(int64)
	list, ok2 := reply[1].([]any)
	if !ok1 || !ok2 {
		return false, nil, fmt.Errorf("group-add script: unexpected reply %v", reply)
	}
	for _, h := range list {
		str, ok := h.(string)
		if !ok {
			return false, nil, fmt.Errorf("group-add script: handle %v is not a string", h)
		}
		evict = append(evict, str)
	}
	return n == 1, evict, nil
}

// evict deletes the sessions the group-add script picked: their records,
// then their index entries, and returns the handles it ended. An index
// entry must outlive its record, or a failed delete would leave a live
// session that "log out everywhere" cannot reach. On one node a pipeline
// runs in order, so one round trip does both; a Cluster pipeline runs on
// several nodes at once, so there the entries of the records actually
// deleted are removed in a second round trip.
func (s *Store) evict(ctx context.Context, group string, handles []string) ([]string, error) {
	pipe := s.client.Pipeline()
	dels := make([]*redis.IntCmd, len(handles))
	for i, h := range handles {
		dels[i] = pipe.Del(ctx, s.sessionKey(h))
	}
	if !s.cluster {
		pipe.ZRem(ctx, s.groupKey(group), stringsToAny(handles)...)
		if _, err := pipe.Exec(ctx); err != nil {
			return nil, fmt.Errorf("evict %d over the group limit: %w", len(handles), err)
		}
		return handles, nil
	}
	_, err := pipe.Exec(ctx)
	var ended []string
	for i, d := range dels {
		if d.Err() == nil {
			ended = append(ended, handles[i])
		}
	}
	if len(ended) > 0 {
		if zerr := s.client.ZRem(ctx, s.groupKey(group), stringsToAny(ended)...).Err(); zerr != nil {
			err = errors.Join(err, zerr)
		}
	}
	if err != nil {
		return ended, fmt.Errorf("evict %d over the group limit: %w", len(handles), err)
	}
	return ended, nil
}

// stringsToAny is strs as the variadic arguments go-redis takes.
func stringsToAny(strs []string) []any {
	out := make([]any, len(strs))
	for i, s := range strs {
		out[i] = s
	}
	return out
}

// deadline is how long a record's index entry must last: the later of its
// absolute deadline and its ExpireAt (idle touches move ExpireAt up to
// Expires, never beyond, but the index does not rely on that).
func deadline(rec *session.Record) time.Time {
	if rec.ExpireAt.After(rec.Expires) {
		return rec.ExpireAt
	}
	return rec.Expires
}

// recordArgs are the field, value pairs of the hash that holds rec, as
// documented in the package comment, after its ExpireAt (insertSrc's ARGV
// from the second on).
func recordArgs(rec *session.Record) []any {
	args := make([]any, 0, 1+2*(8+len(rec.Values)))
	args = append(args, millis(rec.ExpireAt),
		"c", millis(rec.Created),
		"e", millis(rec.Expires),
		"s", millis(rec.LastSeen),
		"x", millis(rec.ExpireAt))
	if !rec.AuthTime.IsZero() {
		args = append(args, "a", millis(rec.AuthTime))
	}
	if p, ok := persistenceField[rec.Persistence]; ok {
		args = append(args, "p", p)
	}
	if rec.Group != "" {
		args = append(args, "g", rec.Group)
	}
	if rec.UserAgent != "" {
		args = append(args, "ua", rec.UserAgent)
	}
	for name, v := range rec.Values {
		args = append(args, valuePrefix+name, v)
	}
	return args
}

// Patch applies p to the session under handle with one script, so the
// fields change together and only if the session is still live: a request
// that outlives a logout or a login cannot write the old session back.
// Fields that p does not name keep their values, so two requests that
// change different fields both persist. A session past its ExpireAt by the
// store's clock counts as gone even if Redis, whose clock may lag, still
// holds it, as in Load.
func (s *Store) Patch(ctx context.Context, handle string, p *session.Patch) error {
	if p == nil {
		return fmt.Errorf("redis patch %s: nil patch", session.ShortHandle(handle))
	}
	defer s.forget(handle)
	args := make([]any, 0, 4+2*len(p.Set)+len(p.Del))
	args = append(args, millis(s.now()), optMillis(p.LastSeen), optMillis(p.ExpireAt), len(p.Set))
	for name, v := range p.Set {
		args = append(args, valuePrefix+name, v)
	}
	for _, name := range p.Del {
		args = append(args, valuePrefix+name)
	}
	found, err := patchScript.Run(ctx, s.client, []string{s.sessionKey(handle)}, args...).Int()
	if err != nil {
		return fmt.Errorf("redis patch %s: %w", session.ShortHandle(handle), err)
	}
	if found == 0 {
		return fmt.Errorf("redis patch %s: %w", session.ShortHandle(handle), session.ErrNotFound)
	}
	return nil
}

// optMillis is a time argument of patchSrc that may be absent: "" for the
// zero time, which a Patch uses for "leave it as it is".
func optMillis(t time.Time) any {
	if t.IsZero() {
		return ""
	}
	return millis(t)
}
