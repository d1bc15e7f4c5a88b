package session

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// maxUserAgent bounds the User-Agent kept for session listings.
const maxUserAgent = 256

// commit writes the session's changes to the store and sets or clears the
// cookie in h. It runs once, just before the response header is written.
// A 5xx response commits nothing: a failed request must not half-save.
func (s *Session[D]) commit(r *http.Request, h http.Header, status int) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.committed = true
	if status >= http.StatusInternalServerError {
		return nil
	}
	m := s.m
	// A client that hangs up must not leave a login or logout half done:
	// StoreTimeout and the store client's own timeouts bound these calls,
	// not the request's cancellation.
	ctx := context.WithoutCancel(r.Context())
	now := m.now()

	if s.ended != nil {
		if err := m.store.Delete(ctx, *s.ended); err != nil {
			return m.unavailable("destroy", err)
		}
		m.log.InfoContext(ctx, "session destroyed", "session", short(s.ended.Handle))
		s.ended = nil
	}

	set, del, snapshot, err := s.diff()
	if err != nil {
		return err
	}
	auth, group := s.data.IsAuthenticated(), s.data.SessionGroupID()
	privilege := auth != s.authAtLoad || group != s.groupAtLoad
	changed := len(set) > 0 || len(del) > 0

	newCookie := false
	switch {
	case !s.stored && (changed || s.renew || privilege):
		err, newCookie = s.create(ctx, r, now, auth, group, Ref{}), true
	case s.stored && (s.renew || privilege):
		err, newCookie = s.create(ctx, r, now, auth, group, Ref{Handle: s.handle, Group: s.groupAtLoad}), true
	case s.stored && changed:
		err = s.patch(ctx, now, set, del, snapshot)
		if errors.Is(err, ErrNotFound) {
			// Destroyed or renewed by a concurrent request: that one wins,
			// and these changes must not bring the old session back.
			m.log.InfoContext(ctx, "session ended concurrently, changes dropped", "session", short(s.handle))
			s.stored, s.clear, err = false, true, nil
		}
	}
	if err != nil {
		return err
	}
	switch {
	case newCookie || s.stored && s.reissue:
		m.setCookie(h, s.id, s.rec.Expires, now)
		s.reissue = false
	case s.clear && len(r.CookiesNamed(m.cookie.Name)) > 0:
		m.clearCookie(h)
	}
	return nil
}

// create stores the whole session under a new id, replacing old when it is
// set (login and renew: the fixation defence), and updates the group index.
func (s *Session[D]) create(ctx context.Context, r *http.Request, now time.Time, auth bool, group string, old Ref) error {
	m := s.m
	snapshot, err := json.Marshal(s.data)
	if err != nil {
		return fmt.Errorf("encode session data: %w", err)
	}
	values, err := splitFields(snapshot)
	if err != nil {
		return err
	}
	if len(s.flashes) > 0 {
		if values[flashField], err = json.Marshal(s.flashes); err != nil {
			return err
		}
	}
	expires := now.Add(m.initial)
	switch {
	case auth && (!s.authAtLoad || !s.stored):
		expires = now.Add(m.lifetime) // login: the authenticated lifetime starts now
	case s.stored:
		expires = s.rec.Expires // renew keeps the deadline
	}
	ua := r.UserAgent()
	if len(ua) > maxUserAgent {
		ua = ua[:maxUserAgent]
	}
	rec := Record{
		Created: now, Expires: expires, LastSeen: now, ExpireAt: m.storeExpiry(expires, now),
		Group: group, UserAgent: ua, Values: values,
	}
	id := newID()
	handle := handleOf(id)
	if err := m.store.Create(ctx, handle, &rec, old); err != nil {
		return m.unavailable("create", err)
	}
	event := "session created"
	switch {
	case auth && !s.authAtLoad:
		event = "session authenticated"
	case old.Handle != "":
		event = "session renewed"
	}
	m.log.InfoContext(ctx, event, "session", short(handle), "replaces", short(old.Handle))
	s.id, s.handle, s.stored, s.rec, s.snapshot = id, handle, true, rec, snapshot
	s.authAtLoad, s.groupAtLoad = auth, group
	s.renew, s.reissue, s.flashesChanged = false, false, false
	return nil
}

// patch writes the changed fields of a stored session.
func (s *Session[D]) patch(ctx context.Context, now time.Time, set map[string][]byte, del []string, snapshot []byte) error {
	m := s.m
	p := &Patch{Set: set, Del: del, LastSeen: now, ExpireAt: m.storeExpiry(s.rec.Expires, now)}
	if err := m.store.Patch(ctx, s.handle, p); err != nil {
		if errors.Is(err, ErrNotFound) {
			return err
		}
		return m.unavailable("patch", err)
	}
	for k, v := range set {
		s.rec.Values[k] = v
	}
	for _, k := range del {
		delete(s.rec.Values, k)
	}
	s.rec.LastSeen = now
	s.flashesChanged = false
	if snapshot != nil {
		s.snapshot = snapshot
	}
	return nil
}

// latePatch saves data changed after the header was written. Only a patch
// is possible then: a change that needs a cookie is logged as lost.
func (s *Session[D]) latePatch(r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	set, del, snapshot, err := s.diff()
	if err != nil || len(set) == 0 && len(del) == 0 {
		return
	}
	ctx := context.WithoutCancel(r.Context())
	if !s.stored || s.data.IsAuthenticated() != s.authAtLoad || s.data.SessionGroupID() != s.groupAtLoad {
		_ = s.late("late change needing a new cookie") // late logs it; nobody is left to return it to
		return
	}
	err = s.patch(ctx, s.m.now(), set, del, snapshot)
	if err != nil {
		s.m.log.ErrorContext(ctx, "late session patch failed", "session", short(s.handle), "err", err)
	}
}

// diff compares the data and flashes with what the store holds. snapshot
// is the data's JSON when it changed (to be kept once the change is stored),
// nil when it did not.
func (s *Session[D]) diff() (set map[string][]byte, del []string, snapshot []byte, err error) {
	set = map[string][]byte{}
	if s.touched {
		b, err := json.Marshal(s.data)
		if err != nil {
			return nil, nil, nil, fmt.Errorf("encode session data: %w", err)
		}
		if !bytes.Equal(b, s.snapshot) {
			cur, err := splitFields(b)
			if err != nil {
				return nil, nil, nil, err
			}
			if s.rec.Values == nil { // a new session: compare with its initial data
				if s.rec.Values, err = splitFields(s.snapshot); err != nil {
					return nil, nil, nil, err
				}
			}
			for k, v := range cur {
				if old, ok := s.rec.Values[k]; !ok || !bytes.Equal(old, v) {
					set[k] = v
				}
			}
			for k := range s.rec.Values {
				if _, ok := cur[k]; !ok && strings.HasPrefix(k, dataPrefix) {
					del = append(del, k)
				}
			}
			snapshot = b
		}
	}
	if s.flashesChanged {
		if len(s.flashes) == 0 {
			if _, ok := s.rec.Values[flashField]; ok {
				del = append(del, flashField)
			}
		} else if b, err := json.Marshal(s.flashes); err != nil {
			return nil, nil, nil, err
		} else if !bytes.Equal(b, s.rec.Values[flashField]) {
			set[flashField] = b
		}
	}
	return set, del, snapshot, nil
}

// expired reports whether rec is past its absolute or idle deadline.
func (m *Manager[D]) expired(rec *Record, now time.Time) bool {
	return !now.Before(rec.Expires) || m.idle > 0 && !now.Before(rec.LastSeen.Add(m.idle))
}

// storeExpiry is when the store may forget a session: its absolute deadline
// or, with an idle timeout, the idle deadline if that comes first.
func (m *Manager[D]) storeExpiry(expires, now time.Time) time.Time {
	if m.idle > 0 {
		if idle := now.Add(m.idle); idle.Before(expires) {
			return idle
		}
	}
	return expires
}

func (m *Manager[D]) setCookie(h http.Header, id string, expires, now time.Time) {
	value := encodeCookieValue(sign(id, m.secrets[0]))
	if m.cookie.Session {
		addCookie(h, m.newCookie(value, time.Time{}, 0))
		return
	}
	addCookie(h, m.newCookie(value, expires.UTC(), max(1, int(expires.Sub(now)/time.Second))))
}

func (m *Manager[D]) clearCookie(h http.Header) {
	addCookie(h, m.newCookie("", time.Unix(0, 0).UTC(), -1))
}

// newCookie returns the session cookie with the configured attributes.
// maxAge follows http.Cookie: 0 leaves it out, negative deletes.
func (m *Manager[D]) newCookie(value string, expires time.Time, maxAge int) *http.Cookie {
	//nolint:gosec // G124: HttpOnly always; Secure unless Cookie.Insecure, which New allows only without the __Host-/__Secure- prefixes and SameSite=None (for http://localhost).
	return &http.Cookie{
		Name: m.cookie.Name, Value: value, Path: m.cookie.Path, Domain: m.cookie.Domain,
		Expires: expires, MaxAge: maxAge,
		Secure: !m.cookie.Insecure, HttpOnly: true, SameSite: m.cookie.SameSite,
	}
}

// addCookie sets the cookie and, because a response that carries a session
// cookie must never be cached and replayed to someone else, no-store.
func addCookie(h http.Header, c *http.Cookie) {
	if v := c.String(); v != "" {
		h.Add("Set-Cookie", v)
		h.Set("Cache-Control", "no-store")
	}
}
