package redisstore

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/hexchi/starter/internal/auth/session"
)

// valuePrefix marks the fields of a session hash that hold Values; every
// other field is metadata. It keeps an app field called "e" from ever
// overwriting the Expires field.
const valuePrefix = "v:"

// Load returns the session under handle in one round trip: HGETALL, or the
// touch script when touch.Idle > 0 (see touchSrc). A record whose ExpireAt
// is not after the store's clock is not returned, even if Redis has not
// collected it yet.
//
// With the near cache, a record this process read before is served from
// memory: 0 round trips, unless the idle touch is due, which runs the touch
// script (1). A miss is 1, and fills the cache.
func (s *Store) Load(ctx context.Context, handle string, touch session.Touch) (*session.Record, error) {
	key := s.sessionKey(handle)
	if s.near == nil {
		return s.load(ctx, handle, key, touch)
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("redis load %s: %w", session.ShortHandle(handle), err)
	}
	if rec, ok := s.near.get(key); ok {
		if !rec.ExpireAt.After(s.now()) {
			s.near.drop(key)
			return nil, fmt.Errorf("redis load %s: %w", session.ShortHandle(handle), session.ErrNotFound)
		}
		if !touchDue(rec, touch) {
			return rec, nil
		}
		// The touch writes: what comes back is the new state, and the
		// cached one is out of date.
		s.near.drop(key)
	}
	token := s.near.reserve(key)
	fetchedAt := s.now()
	rec, err := s.load(ctx, handle, key, touch)
	if err != nil {
		s.near.cancel(key, token)
		return nil, err
	}
	if !s.near.fill(key, token, rec, fetchedAt) && touch.Idle > 0 {
		// The touch script may have written, and a load that reserved the
		// key after this one (its reservation replaced this one's) may have
		// read the record before the write and filled it: drop whatever is
		// there, as every write does once it has run.
		s.near.drop(key)
	}
	return rec, nil
}

// touchDue reports whether a Load with touch would refresh rec's idle
// deadline: the condition of session.Store.Load, plus the record's own
// ExpireAt, which the touch script checks too.
func touchDue(rec *session.Record, touch session.Touch) bool {
	return touch.Idle > 0 &&
		touch.Now.Before(rec.Expires) &&
		touch.Now.Before(rec.ExpireAt) &&
		touch.Now.Before(rec.LastSeen.Add(touch.Idle)) &&
		touch.Now.Sub(rec.LastSeen) >= touch.Every
}

// load reads the record from Redis: HGETALL, or the touch script.
func (s *Store) load(ctx context.Context, handle, key string, touch session.Touch) (*session.Record, error) {
	var (
		fields map[string]string
		err    error
	)
	if touch.Idle > 0 {
		fields, err = s.loadTouch(ctx, key, touch)
	} else {
		fields, err = s.client.HGetAll(ctx, key).Result()
	}
	if err != nil {
		return nil, fmt.Errorf("redis load %s: %w", session.ShortHandle(handle), err)
	}
	if len(fields) == 0 {
		return nil, fmt.Errorf("redis load %s: %w", session.ShortHandle(handle), session.ErrNotFound)
	}
	rec, err := decodeRecord(fields)
	if err != nil {
		return nil, fmt.Errorf("redis load %s: %w", session.ShortHandle(handle), err)
	}
	if !rec.ExpireAt.After(s.now()) {
		return nil, fmt.Errorf("redis load %s: %w", session.ShortHandle(handle), session.ErrNotFound)
	}
	return rec, nil
}

// loadTouch runs the touch script and returns the hash it answers with.
// Times are the Manager's (touch.Now), not Redis's TIME, so the store and
// the Manager agree on whether the session is live and the touch due.
func (s *Store) loadTouch(ctx context.Context, key string, touch session.Touch) (map[string]string, error) {
	now := touch.Now.UnixMilli()
	idle := touch.Idle.Milliseconds()
	reply, err := touchScript.Run(ctx, s.client, []string{key},
		now, idle, touch.Every.Milliseconds(), now+idle).Slice()
	if err != nil {
		return nil, err
	}
	return pairs(reply)
}

// pairs turns a script's flat field, value list into a map, as HGETALL
// would have.
func pairs(reply []any) (map[string]string, error) {
	if len(reply)%2 != 0 {
		return nil, fmt.Errorf("touch script: odd reply length %d", len(reply))
	}
	m := make(map[string]string, len(reply)/2)
	for i := 1; i < len(reply); i += 2 {
		k, ok1 := reply[i-1].(string)
		v, ok2 := reply[i].(string)
		if !ok1 || !ok2 {
			return nil, fmt.Errorf("touch script: reply pair %d is not two strings", i/2)
		}
		m[k] = v
	}
	return m, nil
}

// decodeRecord reads a session hash. It is strict about the metadata the
// store relies on and ignores fields it does not know, so a later version
// of the app can add fields without breaking this one during a deploy.
func decodeRecord(fields map[string]string) (*session.Record, error) {
	rec := &session.Record{
		Group:     fields["g"],
		UserAgent: fields["ua"],
		Values:    make(map[string][]byte, len(fields)),
	}
	for _, f := range []struct {
		name string
		dst  *time.Time
	}{
		{"c", &rec.Created},
		{"e", &rec.Expires},
		{"s", &rec.LastSeen},
		{"x", &rec.ExpireAt},
	} {
		ms, err := parseMillis(fields, f.name)
		if err != nil {
			return nil, err
		}
		*f.dst = fromMillis(ms)
	}
	if _, ok := fields["a"]; ok {
		ms, err := parseMillis(fields, "a")
		if err != nil {
			return nil, err
		}
		rec.AuthTime = fromMillis(ms)
	}
	if v, ok := fields["p"]; ok {
		p, known := persistenceOf[v]
		if !known {
			return nil, fmt.Errorf("%w: field \"p\" is not one of b, e", session.ErrCorrupt)
		}
		rec.Persistence = p
	}
	for k, v := range fields {
		if name, ok := strings.CutPrefix(k, valuePrefix); ok {
			rec.Values[name] = []byte(v)
		}
	}
	return rec, nil
}

// persistenceField is how a hash spells a Record's Persistence; the
// default is no field at all.
var persistenceField = map[session.Persistence]string{
	session.PersistBrowserSession: "b",
	session.PersistUntilExpiry:    "e",
}

// persistenceOf reads the p field back.
var persistenceOf = map[string]session.Persistence{
	"b": session.PersistBrowserSession,
	"e": session.PersistUntilExpiry,
}

// parseMillis reads a time field. The error names the field but never
// quotes its content.
func parseMillis(fields map[string]string, name string) (int64, error) {
	v, ok := fields[name]
	if !ok {
		return 0, fmt.Errorf("%w: field %q is missing", session.ErrCorrupt, name)
	}
	ms, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%w: field %q is not a decimal integer", session.ErrCorrupt, name)
	}
	return ms, nil
}

// millis is how the store writes a time: unix milliseconds, which is what
// PEXPIREAT takes. The zero time becomes a large negative number and reads
// back as the zero time.
func millis(t time.Time) int64 { return t.UnixMilli() }

// fromMillis is the inverse of millis, in UTC so that a record reads the
// same on every server whatever its time zone.
func fromMillis(ms int64) time.Time { return time.UnixMilli(ms).UTC() }
