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
// insert script on the new key, the group-add script on rec.Group's set,
// and, when replaces.Handle is set, DEL of the old key and SREM of it from
// replaces.Group's set. Every command touches one key, so on Cluster
// go-redis splits the pipeline by node and sends the parts in parallel.
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
// which is a logout.
//
// The handle is the digest of 256 random bits, so ErrExists means a bug (a
// handle reused), not bad luck. If it happens, the insert writes nothing,
// the old session is still deleted (the caller was leaving it), and if the
// group-add put the handle into rec.Group's set, a second command takes it
// out again, so that the index never lists another session under this
// group (and DeleteGroup never deletes it).
//
// A record whose ExpireAt is not after the store's clock is not stored:
// Create returns nil, as if it had been stored and expired at once, and
// only deletes the session it replaces.
func (s *Store) Create(ctx context.Context, handle string, rec *session.Record, replaces session.Ref) error {
	switch {
	case rec == nil:
		return fmt.Errorf("redis create %s: nil record", short(handle))
	case handle == "":
		return errors.New("redis create: empty handle")
	case replaces.Handle == handle:
		return fmt.Errorf("redis create %s: a session cannot replace itself", short(handle))
	}
	live := rec.ExpireAt.After(s.now())

	pipe := s.client.Pipeline()
	var insert, groupAdd *redis.Cmd
	if live {
		insert = pipe.Eval(ctx, insertSrc, []string{s.sessionKey(handle)}, recordArgs(rec)...)
		if rec.Group != "" {
			// The index must outlive the session even after idle touches
			// move its ExpireAt up to Expires.
			deadline := max(millis(rec.Expires), millis(rec.ExpireAt))
			groupAdd = pipe.Eval(ctx, groupAddSrc, []string{s.groupKey(rec.Group)}, handle, deadline)
		}
	}
	if replaces.Handle != "" {
		pipe.Del(ctx, s.sessionKey(replaces.Handle))
		if replaces.Group != "" {
			pipe.SRem(ctx, s.groupKey(replaces.Group), replaces.Handle)
		}
	}
	// Exec returns the first error of any command, not only of the
	// connection, so no failed write is ever reported as success.
	if _, err := pipe.Exec(ctx); err != nil {
		return fmt.Errorf("redis create %s: %w", short(handle), err)
	}
	if !live {
		return nil
	}
	inserted, err := insert.Int()
	if err != nil {
		return fmt.Errorf("redis create %s: %w", short(handle), err)
	}
	if inserted == 1 {
		return nil
	}
	err = fmt.Errorf("redis create %s: %w", short(handle), session.ErrExists)
	if groupAdd != nil {
		if added, _ := groupAdd.Int(); added == 1 {
			if undo := s.client.SRem(ctx, s.groupKey(rec.Group), handle).Err(); undo != nil {
				err = errors.Join(err, fmt.Errorf("undo group add: %w", undo))
			}
		}
	}
	return err
}

// recordArgs are the ARGV of insertSrc for rec: its ExpireAt, then the
// fields of its hash as documented in the package comment.
func recordArgs(rec *session.Record) []any {
	args := make([]any, 0, 1+2*(6+len(rec.Values)))
	args = append(args, millis(rec.ExpireAt),
		"c", millis(rec.Created),
		"e", millis(rec.Expires),
		"s", millis(rec.LastSeen),
		"x", millis(rec.ExpireAt))
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
		return fmt.Errorf("redis patch %s: nil patch", short(handle))
	}
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
		return fmt.Errorf("redis patch %s: %w", short(handle), err)
	}
	if found == 0 {
		return fmt.Errorf("redis patch %s: %w", short(handle), session.ErrNotFound)
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
