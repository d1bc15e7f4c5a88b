// Package auth is the demo app's authentication: its session data type, a
// user directory, and the login and logout logic that the JSON API and the
// HTML pages share. The session mechanism itself is package session, which
// knows nothing of this one.
package auth

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
)

// SessionData is what the demo app keeps in a session. Each top-level field
// is stored, and change-tracked, on its own.
//
// When the user logged in is not here: the session module keeps it
// (Session.AuthTime), because it is what RequireRecentAuth checks.
type SessionData struct {
	UserID   string `json:"userId,omitempty"`
	Username string `json:"username,omitempty"`
	// Theme is a per-session preference, the demo's example of a request
	// that changes session data.
	Theme string `json:"theme,omitempty"`
	// Counter is the demo's second field that requests change: a field of
	// its own, so that an increment and a concurrent change of the theme
	// on the same session never overwrite each other.
	Counter int `json:"counter,omitempty"`
}

// Themes are the values SessionData.Theme may hold ("" is the default).
var Themes = []string{"light", "dark"}

// IsAuthenticated reports whether a user is logged in.
func (d *SessionData) IsAuthenticated() bool { return d.UserID != "" }

// SessionGroupID groups sessions by user, so that a user can list their
// sessions and log out everywhere.
func (d *SessionData) SessionGroupID() string { return d.UserID }

// NewSessionData returns the data of a new, anonymous session.
func NewSessionData() *SessionData { return &SessionData{} }

// DecodeSessionData turns stored JSON back into SessionData and rejects what
// this version of the app cannot trust (@hexancore/auth's c(plain)): the
// session module then deletes the record and starts a new session, rather
// than serving a half-valid one. Fields it does not know (the authAt of
// sessions stored by earlier versions) are ignored.
func DecodeSessionData(b []byte) (*SessionData, error) {
	d := &SessionData{}
	if err := json.Unmarshal(b, d); err != nil {
		return nil, fmt.Errorf("decode session data: %w", err)
	}
	if err := d.validate(); err != nil {
		return nil, fmt.Errorf("decode session data: %w", err)
	}
	return d, nil
}

func (d *SessionData) validate() error {
	if d.IsAuthenticated() && d.Username == "" {
		return errors.New("authenticated session without a username")
	}
	if !d.IsAuthenticated() && d.Username != "" {
		return errors.New("anonymous session with a username")
	}
	if d.Theme != "" && !ValidTheme(d.Theme) {
		return fmt.Errorf("unknown theme %q", d.Theme)
	}
	// Only increments change the counter, from 0: a negative value was
	// not written by this app.
	if d.Counter < 0 {
		return fmt.Errorf("negative counter %d", d.Counter)
	}
	return nil
}

// ValidTheme reports whether t is one of Themes.
func ValidTheme(t string) bool { return slices.Contains(Themes, t) }
