package session

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Errors a Store returns for the two conditions the Manager acts on. Any
// other error from a store means the store could not answer (down, timed
// out, cancelled); the Manager reports it as ErrStoreUnavailable.
var (
	// ErrNotFound: no live record has that handle (never stored, deleted,
	// or past its ExpireAt).
	ErrNotFound = errors.New("session: record not found")
	// ErrExists: Create found a record under the new handle already.
	ErrExists = errors.New("session: record exists")
	// ErrCorrupt: a record exists but the store cannot read it (a field
	// missing or garbled). It wraps ErrNotFound, so code that only asks
	// "is it there?" gets no; the Manager also logs it and deletes the
	// record, as it does with data the app's Decode rejects.
	ErrCorrupt = fmt.Errorf("%w: record is corrupt", ErrNotFound)
	// ErrEvictionFailed: Create stored the new record but could not end
	// every session past CreateOptions.GroupLimit; the handles it returns
	// are the ones it did end. The group stays over its limit until the
	// next Create. The Manager logs it and goes on with the login.
	ErrEvictionFailed = errors.New("session: ending sessions past the group limit failed")
)

// A Store keeps session records under their handles. The Manager never
// passes a raw session id to a store: a handle is base64url(SHA-256(id)), so
// the contents of a store (a Redis dump, say) yield no usable cookie.
//
// The contract below is what makes concurrent requests safe; the
// conformance suite in package sessiontest checks every point of it.
//
//   - Create is insert-only and Patch is update-only. A request that is still
//     running when its session is deleted (logout) or moved to a new handle
//     (login) can therefore never write the old record back.
//   - Patch applies its fields atomically and leaves every other field as it
//     is, so two requests that change different fields both persist.
//   - An ExpireAt at or before the store's current time, or zero, means
//     "delete": never "keep forever".
//   - A group's index keeps each member's deadline (the later of its Expires
//     and ExpireAt) and never holds a member past it: every Create into a
//     group prunes the members whose deadline has passed, so the index of a
//     user who logs in every hour for a year stays as small as their live
//     sessions.
//   - Methods honour ctx: a cancelled or expired ctx returns an error that
//     wraps ctx.Err() (or the store's own timeout error) promptly.
//   - A nil record or patch is an error, never a panic.
//   - A Store is safe for concurrent use.
type Store interface {
	// Load returns the record stored under handle, or ErrNotFound.
	//
	// If touch.Idle > 0 the store also refreshes the record's idle deadline
	// in the same round trip, but only when the touch is due: the record is
	// still live at touch.Now (before ExpireAt, Expires and LastSeen+Idle) and
	// LastSeen is at least touch.Every old. A due touch sets LastSeen to
	// touch.Now and ExpireAt to min(Expires, touch.Now+Idle); it never
	// rewrites Values. The returned record reflects the touch, carries its
	// ExpireAt, and has a non-nil Values.
	Load(ctx context.Context, handle string, touch Touch) (*Record, error)

	// Create stores rec under handle only if no live record has that handle
	// (ErrExists otherwise), and adds handle to the index of rec.Group, with
	// its deadline, when rec.Group is not empty. If opts.Replaces.Handle is
	// not empty, the record under it is deleted and removed from the index
	// of opts.Replaces.Group in the same call: this is how a session moves to
	// a new id at login.
	//
	// If opts.GroupLimit > 0 and the group's index then holds more than
	// GroupLimit members, the members with the earliest deadlines (never
	// handle itself) are deleted, records and index entries, until it holds
	// GroupLimit; Create returns their handles. If that fails after the
	// record is stored, Create returns the handles it did end and an error
	// wrapping ErrEvictionFailed. With an idle timeout, a member that died
	// of idleness may keep its index entry until its absolute deadline or
	// the next ListGroup, and count toward the limit until then (the Redis
	// store's index cannot follow idle touches, which write another key).
	//
	// On success the replaced record is gone and out of its index. The steps
	// need not be atomic with each other (on Redis Cluster the records live
	// in different slots): an error, ErrExists included, may leave some of
	// them done, but never overwrites an existing record.
	Create(ctx context.Context, handle string, rec *Record, opts CreateOptions) (evicted []string, err error)

	// Patch applies p to the record stored under handle, only if it is live
	// (stored, and its ExpireAt after the store's current time; ErrNotFound
	// otherwise): it writes p.Set, removes p.Del and updates
	// LastSeen and ExpireAt when they are not zero. A name in both Set and
	// Del ends deleted: Del applies after Set.
	Patch(ctx context.Context, handle string, p *Patch) error

	// Delete removes the record ref.Handle and its entry in the index of
	// ref.Group. Deleting a record that does not exist is not an error.
	Delete(ctx context.Context, ref Ref) error

	// ListGroup returns the live members of a group's index, oldest Created
	// first, then by handle. Entries whose record is gone are pruned as a
	// side effect. On Redis Cluster a ListGroup or DeleteGroup that runs in
	// the instant between a Create's index entry and its record (two slots,
	// sent in parallel) may miss that newest session.
	ListGroup(ctx context.Context, group string) ([]Member, error)

	// DeleteGroup deletes every record in a group's index except the one
	// under except (which may be ""), and returns how many live records it
	// deleted.
	DeleteGroup(ctx context.Context, group, except string) (int, error)
}

// CreateOptions are the parts of a Create besides the new record.
type CreateOptions struct {
	// Replaces names the session the new record takes the place of (login,
	// renew); its record and index entry are deleted. Zero for none.
	Replaces Ref
	// GroupLimit, if above 0, is how many members the group's index may
	// hold once the new one is in: see Store.Create.
	GroupLimit int
}

// Record is one session as a store keeps it.
type Record struct {
	// Created is when the session was first stored.
	Created time.Time
	// Expires is the absolute deadline: the session is dead at and after it,
	// whatever the store's TTL says.
	Expires time.Time
	// LastSeen is the last write or idle touch. With an idle timeout the
	// session is dead at and after LastSeen + idle timeout.
	LastSeen time.Time
	// ExpireAt is when the store may forget the record: the earlier of
	// Expires and the idle deadline. It is garbage collection only; the
	// Manager checks Expires and LastSeen itself on every load.
	ExpireAt time.Time
	// AuthTime is when the user last logged in with this session (a
	// password typed, not a cookie presented); zero for a session that is
	// not authenticated. Renewing the id keeps it.
	AuthTime time.Time
	// Persistence is how long the browser keeps the session's cookie, as
	// chosen at login ("remember me").
	Persistence Persistence
	// Group is the session group (the user id in the demo), "" for none.
	Group string
	// UserAgent is the User-Agent of the request that created the session,
	// shown when a user lists their sessions.
	UserAgent string
	// Values maps each field name to its JSON value. The Manager stores the
	// top-level fields of the app's data type here, one entry each, so that
	// a Patch can change one field without touching the others.
	Values map[string][]byte
}

// Persistence is how long the browser keeps a session cookie.
type Persistence uint8

const (
	// PersistDefault leaves it to the Manager's Cookie.BrowserSession.
	PersistDefault Persistence = iota
	// PersistBrowserSession makes a browser-session cookie, gone when the
	// browser closes ("remember me" left unticked).
	PersistBrowserSession
	// PersistUntilExpiry keeps the cookie until the session's absolute
	// deadline ("remember me" ticked).
	PersistUntilExpiry
)

// Patch is a change to an existing record.
type Patch struct {
	Set      map[string][]byte // fields to write
	Del      []string          // fields to remove
	LastSeen time.Time         // the new LastSeen, if not zero
	ExpireAt time.Time         // the new ExpireAt, if not zero; in the past it deletes the record
}

// Touch asks Load to refresh the idle deadline; see Store.Load.
type Touch struct {
	Now   time.Time
	Idle  time.Duration // 0: no touch
	Every time.Duration // touch only when LastSeen is at least this old
}

// Ref names a stored session and the group whose index lists it.
type Ref struct {
	Handle string
	Group  string
}

// Member is one live session in a group's index.
type Member struct {
	Handle    string
	Created   time.Time
	Expires   time.Time
	LastSeen  time.Time
	UserAgent string
}
