package session

import (
	"crypto/hkdf"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"time"
)

// Flash messages of a visitor who has no stored session ("Please log in.",
// "You have been logged out.") travel in a cookie of their own, signed like
// the session cookie, instead of a new store record: a crowd of anonymous
// visitors, or a bot that requests a protected page in a loop, never makes
// the store write. Only an app's own change to the session data stores an
// anonymous session.
//
// The flash cookie is short-lived (the page it is meant for is the one the
// response redirects to) and is cleared once its messages are popped, or
// moved into the session when the visitor has one.

const (
	// flashCookieLifetime is how long a flash waits in its cookie.
	flashCookieLifetime = time.Minute
	// maxFlashCookieLen bounds the cookie's value: browsers keep 4096
	// bytes per cookie, name and attributes included, and a request
	// carries every cookie of the site.
	maxFlashCookieLen = 2048
)

var errFlashCookie = errors.New("invalid flash cookie")

// flashKeySalt is HKDF's salt for the flash cookie keys.
const flashKeySalt = "hexchi session flash cookie v1"

// flashKey derives the key that signs the flash cookie of cookieName from a
// cookie secret, with HKDF-SHA256. A key of its own keeps the two cookies
// apart: no flash cookie's signature verifies as a session cookie's, or the
// other way round. HKDF rather than an HMAC of a fixed string under the
// secret: that would be exactly what any @fastify/cookie signer sharing the
// secret produces for that string, so signing it would hand out the key.
// The cookie name in the info keeps two Managers' flash cookies apart.
func flashKey(secret []byte, cookieName string) []byte {
	// Key fails only for a key length beyond what HKDF-SHA256 can give.
	k, _ := hkdf.Key(sha256.New, secret, []byte(flashKeySalt), cookieName, sha256.Size)
	return k
}

// flashCookieName is the session cookie's name with a suffix, so that it
// keeps a __Host- or __Secure- prefix and the rules that come with it.
func (m *Manager[D]) flashCookieName() string { return m.cookie.Name + "_flash" }

// flashCookie is the signed content of the flash cookie.
type flashCookie struct {
	Expires int64   `json:"x"` // unix seconds: the value is dead at and after it
	Flashes []Flash `json:"f"`
}

// encodeFlashCookie returns the flash cookie's value for flashes, leaving
// out the oldest while it is too long, and how many it left out.
func (m *Manager[D]) encodeFlashCookie(flashes []Flash, now time.Time) (value string, dropped int) {
	for ; dropped < len(flashes); dropped++ {
		// A Flash is two strings: Marshal cannot fail.
		b, _ := json.Marshal(flashCookie{Expires: now.Add(flashCookieLifetime).Unix(), Flashes: flashes[dropped:]})
		v := encodeCookieValue(sign(base64.RawURLEncoding.EncodeToString(b), m.flashKeys[0]))
		if len(v) <= maxFlashCookieLen {
			return v, dropped
		}
	}
	return "", dropped
}

// decodeFlashCookie returns the flashes in a flash cookie's value, or
// errFlashCookie when it is malformed, forged or past its lifetime.
func (m *Manager[D]) decodeFlashCookie(raw string, now time.Time) ([]Flash, error) {
	if len(raw) > 3*maxFlashCookieLen { // percent-encoding at most triples it
		return nil, errFlashCookie
	}
	v, err := unescapeCookieValue(raw)
	if err != nil {
		return nil, errFlashCookie
	}
	payload, _, err := unsign(v, m.flashKeys)
	if err != nil {
		return nil, errFlashCookie
	}
	b, err := base64.RawURLEncoding.Strict().DecodeString(payload)
	if err != nil {
		return nil, errFlashCookie
	}
	var c flashCookie
	if err := json.Unmarshal(b, &c); err != nil || !now.Before(time.Unix(c.Expires, 0)) {
		return nil, errFlashCookie
	}
	return c.Flashes, nil
}

// readFlashCookie takes the flashes a visitor was left in the flash cookie.
// A bad one is dropped; either way the commit clears or replaces it.
func (s *Session[D]) readFlashCookie(r *http.Request) {
	cookies := r.CookiesNamed(s.m.flashCookieName())
	if len(cookies) == 0 {
		return
	}
	s.flashIn = true
	f, err := s.m.decodeFlashCookie(cookies[0].Value, s.m.now())
	if err != nil {
		s.m.log.DebugContext(r.Context(), "flash cookie dropped", "reason", err.Error())
		return
	}
	s.flashes = f
}

// commitFlashCookie leaves the flash cookie holding the flashes of a
// visitor who has no stored session after this response, and nothing
// otherwise: a stored session keeps its flashes in the store.
func (s *Session[D]) commitFlashCookie(r *http.Request, h http.Header, now time.Time) {
	m := s.m
	name := m.flashCookieName()
	if !s.stored {
		// From here the cookie holds the flashes: a later change to them
		// is one the late patch cannot save.
		defer func() { s.flashesChanged = false }()
	}
	switch {
	case s.stored || len(s.flashes) == 0:
		if s.flashIn {
			m.clearCookie(h, name)
		}
	case s.flashesChanged:
		v, dropped := m.encodeFlashCookie(s.flashes, now)
		if dropped > 0 {
			m.log.WarnContext(r.Context(), "flash messages dropped: too long for the flash cookie", "dropped", dropped)
		}
		if v == "" {
			m.clearCookie(h, name)
			return
		}
		addCookie(h, m.newCookie(name, v, now.Add(flashCookieLifetime).UTC(), int(flashCookieLifetime/time.Second)))
	}
	// Otherwise the request brought the flashes in the cookie and left them
	// there (a redirect that shows nothing): the cookie still holds them.
}
