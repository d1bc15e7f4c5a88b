package session

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"
)

// Store field names. Each top-level field of the app's data is stored under
// dataPrefix+name; flashes have a field of their own so that the app's type
// needs no field for them.
const (
	dataPrefix = "d."
	flashField = "flash"
)

// A Session is the session of one request. Get it with Manager.From; it is
// created by Manager.Middleware and committed by it before the response's
// first byte.
//
// A Session belongs to its request: use it from the handler's goroutine (or
// synchronise yourself) like the request itself.
type Session[D Data] struct {
	m *Manager[D]

	mu       sync.Mutex
	id       string // the cookie id; "" until a new session needs one
	handle   string // the store key of id
	stored   bool   // a record exists under handle (as far as this request knows)
	rec      Record // meta of the stored record; Values holds the committed fields
	data     D
	accessed bool // Data was called, so the data may have changed
	// snapshot is the data as JSON when it was last known to match the
	// store (first Data call, or last commit): an unchanged session costs
	// one Marshal and a byte comparison, not a field-by-field diff.
	snapshot []byte

	authAtLoad  bool
	groupAtLoad string

	flashes        []Flash
	flashesChanged bool
	flashIn        bool // the request carried a flash cookie, to be cleared or replaced

	renew       bool        // move to a new id at commit
	login       bool        // Login was called: a fresh lifetime and AuthTime at commit
	persistence Persistence // what Login chose
	ended       *Ref        // a stored session Destroy ended: deleted at commit
	reissue     bool        // re-send the cookie (it was signed with an old secret)
	clear       bool        // send an expired cookie (invalid, stale or destroyed)
	committed   bool        // the response headers went out
}

// Flash is a one-time message shown on the next page, such as "logged out".
type Flash struct {
	Kind    string `json:"kind"` // e.g. "info", "error"
	Message string `json:"message"`
}

// Data returns the session data. Change it in place: the Manager compares
// each top-level JSON field with its value at load time when the session is
// committed, writes only the fields that changed, and writes nothing when
// none did (setting a field to the value it already has is not a change).
func (s *Session[D]) Data() D {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.access()
	return s.data
}

// access notes that the data may change from now on, keeping what it was.
func (s *Session[D]) access() {
	if !s.accessed {
		s.accessed = true
		// An error here shows again, and is reported, at commit.
		s.snapshot, _ = json.Marshal(s.data)
	}
}

// IsAuthenticated reports whether the session's data is authenticated.
func (s *Session[D]) IsAuthenticated() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.data.IsAuthenticated()
}

// Handle returns the session's store key, "" for a new session that has not
// been stored. It identifies the session in listings and logs.
func (s *Session[D]) Handle() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.stored {
		return ""
	}
	return s.handle
}

// Expires returns the session's absolute deadline; zero for a new session
// that has not been stored yet.
func (s *Session[D]) Expires() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.rec.Expires
}

// AuthTime returns when the user last logged in with this session: the
// commit of Login, not the last request. It is zero for a session that is
// not authenticated.
func (s *Session[D]) AuthTime() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.rec.AuthTime
}

// Remembered reports whether the session's cookie outlives the browser
// ("remember me"), as its login chose or, without a choice, as
// Cookie.BrowserSession says. A re-login that should keep the cookie the
// user chose passes it to Login.
func (s *Session[D]) Remembered() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch s.rec.Persistence {
	case PersistUntilExpiry:
		return true
	case PersistBrowserSession:
		return false
	}
	return !s.m.cookie.BrowserSession
}

// RecentAuth reports whether the session is authenticated and its login is
// less than maxAge old: what RequireRecentAuth checks, for pages that want
// to ask for the password up front.
func (s *Session[D]) RecentAuth(maxAge time.Duration) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	at := s.rec.AuthTime
	return s.data.IsAuthenticated() && !at.IsZero() && s.m.now().Sub(at) < maxAge
}

// Login logs the session in, once the credentials have been checked: fill
// writes the user into the data (in the demo, the user id that
// SessionGroupID returns). At commit the session moves to a new id (the
// fixation defence), lives Lifetime from now and records now as its
// AuthTime, also when it was logged in already: every login is a fresh
// one.
//
// If the session was logged in as another group (another user), fill gets
// new data from Options.New, and the flashes are dropped: nothing of one
// user survives into the next one's session. Otherwise fill gets the
// current data, so that what a visitor did before logging in (a cart) is
// kept. To tell the two apart, fill may be called twice, once on new data;
// it must only set fields, and not call s.
//
// remember picks the cookie: true keeps it until the session's absolute
// deadline ("remember me"), false makes it a browser-session cookie, gone
// when the browser closes.
func (s *Session[D]) Login(remember bool, fill func(D)) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.committed {
		return s.late("login")
	}
	s.access()
	switched := false
	if s.authAtLoad || s.groupAtLoad != "" {
		d := s.m.newData()
		fill(d)
		if switched = d.SessionGroupID() != s.groupAtLoad; switched {
			s.data = d
			s.flashes, s.flashesChanged = nil, true
		}
	}
	if !switched {
		fill(s.data)
	}
	s.login, s.renew = true, true
	s.persistence = PersistBrowserSession
	if remember {
		s.persistence = PersistUntilExpiry
	}
	return nil
}

// Renew moves the session to a new id when it is committed, keeping its
// data and its deadline: call it on any privilege change. A login is Login;
// a session whose data turns authenticated, or changes group, without it is
// renewed anyway, as a login, but keeps its data (see Login).
func (s *Session[D]) Renew() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.committed {
		return s.late("renew")
	}
	s.renew = true
	return nil
}

// Destroy ends the session (logout): the stored record is deleted when the
// response is committed, and the cookie is cleared. A request still in
// flight with the same session cannot bring it back: the store only patches
// records that exist.
//
// The rest of the request runs with a new, anonymous session, stored only
// if something is written to it: a flash added after Destroy ("you have been
// logged out") lands in a new session with the initial lifetime.
func (s *Session[D]) Destroy() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.committed {
		return s.late("destroy")
	}
	if s.stored {
		s.ended = &Ref{Handle: s.handle, Group: s.groupAtLoad}
	}
	// Start over as a new session; the mutex, the manager and whether a
	// flash cookie came in (it must still be cleared) stay.
	s.id, s.handle, s.stored, s.rec = "", "", false, Record{}
	s.accessed, s.snapshot = false, nil
	s.flashes, s.flashesChanged = nil, false
	s.renew, s.login, s.persistence = false, false, PersistDefault
	s.reissue, s.clear = false, true
	s.fresh()
	return nil
}

// AddFlash adds a message for a later request to pop.
func (s *Session[D]) AddFlash(f Flash) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.flashes = append(s.flashes, f)
	s.flashesChanged = true
}

// PopFlashes returns the pending messages and removes them. For a visitor
// without a stored session they live in the flash cookie, which only the
// response header can clear: pop them before the header goes out (render
// into a buffer), or they show again and the change is logged as lost.
func (s *Session[D]) PopFlashes() []Flash {
	s.mu.Lock()
	defer s.mu.Unlock()
	f := s.flashes
	if len(f) > 0 {
		s.flashes = nil
		s.flashesChanged = true
	}
	return f
}

// late logs and returns the error for a cookie-changing call made after the
// headers went out: it cannot take effect, and must not pass silently.
func (s *Session[D]) late(op string) error {
	err := fmt.Errorf("%s: %w", op, ErrHeadersWritten)
	s.m.log.Error("session change lost", "op", op, "session", ShortHandle(s.handle), "err", err)
	return err
}

// Info describes one session of a group, for a "my sessions" page.
type Info struct {
	Handle    string
	Created   time.Time
	Expires   time.Time
	LastSeen  time.Time
	UserAgent string
	Current   bool // the session of this request
}

// Sessions lists the live sessions of the current session's group.
func (s *Session[D]) Sessions(ctx context.Context) ([]Info, error) {
	group, current := s.groupAndHandle()
	if group == "" {
		return nil, nil
	}
	members, err := s.m.store.ListGroup(ctx, group)
	if err != nil {
		return nil, s.m.storeError(ctx, "list group", err)
	}
	out := make([]Info, len(members))
	for i, mb := range members {
		out[i] = Info{
			Handle: mb.Handle, Created: mb.Created, Expires: mb.Expires,
			LastSeen: mb.LastSeen, UserAgent: mb.UserAgent, Current: mb.Handle == current,
		}
	}
	return out, nil
}

// Revoke deletes a session of the current session's group by its handle;
// ErrNotInGroup if the group has no such session. Revoking the current
// session is Destroy.
func (s *Session[D]) Revoke(ctx context.Context, handle string) error {
	group, current := s.groupAndHandle()
	if handle == current && current != "" {
		return s.Destroy()
	}
	if group == "" {
		return ErrNotInGroup
	}
	// One record tells whether it is in this group: no need to list them all.
	rec, err := s.m.store.Load(ctx, handle, Touch{})
	switch {
	case errors.Is(err, ErrNotFound):
		return ErrNotInGroup
	case err != nil:
		return s.m.storeError(ctx, "load", err)
	case rec.Group != group:
		return ErrNotInGroup
	}
	if err := s.m.store.Delete(ctx, Ref{Handle: handle, Group: group}); err != nil {
		return s.m.storeError(ctx, "revoke", err)
	}
	s.m.event(ctx, Event{Kind: EventRevoked, Handle: handle, Group: group}, "by", ShortHandle(current))
	return nil
}

// DestroyGroup logs out every session of the current session's group
// ("log out everywhere"). With keepCurrent the current session stays;
// otherwise it is destroyed too. It returns how many other sessions ended.
func (s *Session[D]) DestroyGroup(ctx context.Context, keepCurrent bool) (int, error) {
	group, current := s.groupAndHandle()
	if group == "" {
		return 0, nil
	}
	n, err := s.m.store.DeleteGroup(ctx, group, current)
	if err != nil {
		return 0, s.m.storeError(ctx, "delete group", err)
	}
	s.m.event(ctx, Event{Kind: EventGroupDestroyed, Handle: current, Group: group, Count: n}, "ended", n)
	if !keepCurrent {
		return n, s.Destroy()
	}
	return n, nil
}

func (s *Session[D]) groupAndHandle() (group, handle string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stored {
		handle = s.handle
	}
	return s.data.SessionGroupID(), handle
}

// encodeData marshals the data and splits it into store fields.
func encodeData[D Data](d D) (map[string][]byte, error) {
	b, err := json.Marshal(d)
	if err != nil {
		return nil, fmt.Errorf("encode session data: %w", err)
	}
	return splitFields(b)
}

// splitFields splits a marshalled data object into store fields, one per
// top-level JSON field.
func splitFields(b []byte) (map[string][]byte, error) {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(b, &fields); err != nil {
		return nil, fmt.Errorf("session data must encode to a JSON object: %w", err)
	}
	out := make(map[string][]byte, len(fields)+1)
	for k, v := range fields {
		out[dataPrefix+k] = v
	}
	return out, nil
}

// decodeData joins the data fields of a record into one JSON object and
// hands it to decode.
func decodeData[D Data](values map[string][]byte, decode func([]byte) (D, error)) (D, error) {
	n := 2
	for k, v := range values {
		n += len(k) + len(v) + 4
	}
	b := make([]byte, 0, n)
	b = append(b, '{')
	for k, v := range values {
		name, ok := strings.CutPrefix(k, dataPrefix)
		if !ok {
			continue
		}
		if len(b) > 1 {
			b = append(b, ',')
		}
		b, _ = appendJSONString(b, name)
		b = append(b, ':')
		b = append(b, v...)
	}
	b = append(b, '}')
	return decode(b)
}

// appendJSONString appends name as a JSON string. Field names are JSON
// object keys we produced, so only the rare escape goes through json.Marshal.
func appendJSONString(b []byte, name string) ([]byte, error) {
	for i := 0; i < len(name); i++ {
		if c := name[i]; c < 0x20 || c == '"' || c == '\\' || c >= 0x80 || c == '<' || c == '>' || c == '&' {
			q, err := json.Marshal(name)
			return append(b, q...), err
		}
	}
	b = append(b, '"')
	b = append(b, name...)
	return append(b, '"'), nil
}
