package session

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"
)

// maxUserAgent bounds the User-Agent kept for session listings.
const maxUserAgent = 256

// commit writes the session's changes to the store and sets or clears the
// cookies in h. It runs once, just before the response header is written.
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
			return m.storeError(ctx, "destroy", err)
		}
		m.event(ctx, Event{Kind: EventDestroyed, Handle: s.ended.Handle, Group: s.ended.Group})
		s.ended = nil
		if m.clearSiteData {
			h.Set("Clear-Site-Data", `"cookies"`)
		}
	}

	set, del, snapshot, err := s.diff()
	if err != nil {
		return err
	}
	auth, group := s.data.IsAuthenticated(), s.data.SessionGroupID()
	privilege := auth != s.authAtLoad || group != s.groupAtLoad
	// Flashes alone never store a session: those of a visitor without one
	// go in the flash cookie.
	dataChanged := changesData(set, del)

	newCookie := false
	switch {
	case !s.stored && (dataChanged || s.renew || privilege):
		err, newCookie = s.create(ctx, r, now, auth, group, Ref{}), true
	case s.stored && (s.renew || privilege):
		err, newCookie = s.create(ctx, r, now, auth, group, Ref{Handle: s.handle, Group: s.groupAtLoad}), true
	case s.stored && (len(set) > 0 || len(del) > 0):
		err = s.patch(ctx, now, set, del, snapshot)
		if errors.Is(err, ErrNotFound) {
			// Destroyed or renewed by a concurrent request: that one wins,
			// and these changes must not bring the old session back.
			m.log.InfoContext(ctx, "session ended concurrently, changes dropped", "session", ShortHandle(s.handle))
			s.stored, s.clear, err = false, true, nil
		}
	}
	if err != nil {
		return err
	}
	switch {
	case newCookie || s.stored && s.reissue:
		m.setCookie(h, s.id, s.rec, now)
		s.reissue = false
	case s.clear && len(r.CookiesNamed(m.cookie.Name)) > 0:
		m.clearCookie(h, m.cookie.Name)
	}
	s.commitFlashCookie(r, h, now)
	return nil
}

// changesData reports whether a change sets or removes a field of the app's
// data, not only the flashes.
func changesData(set map[string][]byte, del []string) bool {
	for name := range set {
		if isDataField(name) {
			return true
		}
	}
	return slices.ContainsFunc(del, isDataField)
}

// isDataField reports whether a store field holds app data (not flashes).
func isDataField(name string) bool { return strings.HasPrefix(name, dataPrefix) }

// create stores the whole session under a new id, replacing old when it is
// set (login and renew: the fixation defence), and updates the group index.
//
// A login (Login, or data that turns authenticated or changes group) gets
// a fresh Lifetime and AuthTime from now, whatever the session had before;
// any other renew keeps the deadline and the AuthTime, and a session that
// stops being authenticated is cut down to InitialLifetime.
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
	login := auth && (s.login || !s.authAtLoad || group != s.groupAtLoad)
	rec := Record{Created: now, Group: group, UserAgent: userAgent(r), Values: values}
	switch {
	case login:
		rec.Expires, rec.AuthTime = now.Add(m.lifetime), now
		rec.Persistence = s.persistence
	case !s.stored:
		rec.Expires = now.Add(m.initial)
	case auth: // a privilege change within a login
		rec.Expires, rec.AuthTime, rec.Persistence = s.rec.Expires, s.rec.AuthTime, s.rec.Persistence
	default: // no longer authenticated
		rec.Expires = earlier(s.rec.Expires, now.Add(m.initial))
	}
	rec.LastSeen, rec.ExpireAt = now, m.storeExpiry(rec.Expires, now)
	id := newID()
	handle := handleOf(id)
	evicted, err := m.store.Create(ctx, handle, &rec, CreateOptions{Replaces: old, GroupLimit: m.maxPerGroup})
	switch {
	case errors.Is(err, ErrEvictionFailed):
		// The login is stored; only the cap is late. The next login of
		// the group tries again.
		m.log.WarnContext(ctx, "sessions past the group limit not ended", "session", ShortHandle(handle), "err", err)
	case err != nil:
		return m.storeError(ctx, "create", err)
	}
	if !s.login && auth && s.authAtLoad && group != s.groupAtLoad {
		// Without Login the Manager cannot tell the new user's fields from
		// the last one's, so the data goes along: a leak Login prevents.
		m.log.WarnContext(ctx, "session changed group without Session.Login: the data of the previous group was kept",
			"session", ShortHandle(handle))
	}
	kind := EventCreated
	switch {
	case login:
		kind = EventAuthenticated
	case old.Handle != "":
		kind = EventRenewed
	}
	m.event(ctx, Event{Kind: kind, Handle: handle, Group: group}, "replaces", ShortHandle(old.Handle))
	for _, h := range evicted {
		m.event(ctx, Event{Kind: EventEvicted, Handle: h, Group: group}, "by", ShortHandle(handle), "limit", m.maxPerGroup)
	}
	s.id, s.handle, s.stored, s.rec, s.snapshot = id, handle, true, rec, snapshot
	s.authAtLoad, s.groupAtLoad = auth, group
	s.renew, s.login, s.reissue, s.flashesChanged = false, false, false, false
	return nil
}

// userAgent is the request's User-Agent as a session keeps it for listings.
func userAgent(r *http.Request) string {
	ua := r.UserAgent()
	if len(ua) > maxUserAgent {
		ua = ua[:maxUserAgent]
	}
	return ua
}

func earlier(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// patch writes the changed fields of a stored session.
func (s *Session[D]) patch(ctx context.Context, now time.Time, set map[string][]byte, del []string, snapshot []byte) error {
	m := s.m
	p := &Patch{Set: set, Del: del, LastSeen: now, ExpireAt: m.storeExpiry(s.rec.Expires, now)}
	if err := m.store.Patch(ctx, s.handle, p); err != nil {
		if errors.Is(err, ErrNotFound) {
			return err
		}
		return m.storeError(ctx, "patch", err)
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

// latePatch saves data changed after the header was written (or the
// connection hijacked). Only a patch is possible then: a change that needs a
// cookie is logged as lost, and so is a change that cannot be encoded.
func (s *Session[D]) latePatch(r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ctx := context.WithoutCancel(r.Context())
	set, del, snapshot, err := s.diff()
	switch {
	case err != nil:
		s.m.log.ErrorContext(ctx, "late session change lost", "session", ShortHandle(s.handle), "err", err)
		return
	case !s.stored && s.flashesChanged:
		_ = s.late("late change of the flash cookie") // late logs it; nobody is left to return it to
		return
	case len(set) == 0 && len(del) == 0:
		return
	case !s.stored || s.data.IsAuthenticated() != s.authAtLoad || s.data.SessionGroupID() != s.groupAtLoad:
		_ = s.late("late change needing a new cookie")
		return
	}
	err = s.patch(ctx, s.m.now(), set, del, snapshot)
	switch {
	case errors.Is(err, ErrNotFound):
		// As before the header: a concurrent logout or login won.
		s.m.log.InfoContext(ctx, "session ended concurrently, changes dropped", "session", ShortHandle(s.handle))
	case err != nil:
		s.m.log.ErrorContext(ctx, "late session patch failed", "session", ShortHandle(s.handle), "err", err)
	}
}

// diff compares the data and flashes with what the store holds. snapshot
// is the data's JSON when it changed (to be kept once the change is stored),
// nil when it did not.
func (s *Session[D]) diff() (set map[string][]byte, del []string, snapshot []byte, err error) {
	set = map[string][]byte{}
	if s.accessed {
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

// setCookie sets the session cookie for id, with rec's deadline unless the
// session's cookie is a browser-session one.
func (m *Manager[D]) setCookie(h http.Header, id string, rec Record, now time.Time) {
	value := encodeCookieValue(sign(id, m.secrets[0]))
	browserSession := rec.Persistence == PersistBrowserSession ||
		rec.Persistence == PersistDefault && m.cookie.BrowserSession
	if browserSession {
		addCookie(h, m.newCookie(m.cookie.Name, value, time.Time{}, 0))
		return
	}
	addCookie(h, m.newCookie(m.cookie.Name, value, rec.Expires.UTC(), max(1, int(rec.Expires.Sub(now)/time.Second))))
}

// clearCookie sends an expired cookie named name.
func (m *Manager[D]) clearCookie(h http.Header, name string) {
	addCookie(h, m.newCookie(name, "", time.Unix(0, 0).UTC(), -1))
}

// newCookie returns a cookie with the configured attributes. maxAge follows
// http.Cookie: 0 leaves it out, negative deletes.
func (m *Manager[D]) newCookie(name, value string, expires time.Time, maxAge int) *http.Cookie {
	//nolint:gosec // G124: HttpOnly always; Secure unless Cookie.Insecure, which New allows only without the __Host-/__Secure- prefixes, SameSite=None and Partitioned (for http://localhost).
	return &http.Cookie{
		Name: name, Value: value, Path: m.cookie.Path, Domain: m.cookie.Domain,
		Expires: expires, MaxAge: maxAge,
		Secure: !m.cookie.Insecure, HttpOnly: true, SameSite: m.cookie.SameSite,
		Partitioned: m.cookie.Partitioned,
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
