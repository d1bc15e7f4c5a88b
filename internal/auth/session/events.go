package session

import (
	"context"
	"log/slog"
)

// An Event is something that happened to a session. The Manager logs each
// one and hands it to Options.OnEvent, where an app writes its audit lines
// and counts its metrics.
type Event struct {
	Kind EventKind
	// Handle is the session's handle, "" where there is none (an invalid
	// cookie). It is no credential, but logs should carry ShortHandle of it,
	// as the Manager's own do, and metrics none of it.
	Handle string
	// Group is the session's group ("" for none): the user id in the demo,
	// so personal data. It is not in the Manager's own log lines.
	Group string
	// Count is how many sessions EventGroupDestroyed ended, besides the
	// current one.
	Count int
}

// EventKind names an Event. The values are short and stable, fit for a
// metric label.
type EventKind string

// The kinds of Event.
const (
	EventCreated        EventKind = "created"         // stored for the first time
	EventAuthenticated  EventKind = "authenticated"   // logged in, committed: a new id, a fresh lifetime
	EventRenewed        EventKind = "renewed"         // moved to a new id without a login (privilege change)
	EventDestroyed      EventKind = "destroyed"       // logged out
	EventRevoked        EventKind = "revoked"         // ended by another session of its group
	EventGroupDestroyed EventKind = "group_destroyed" // "log out everywhere"
	EventEvicted        EventKind = "evicted"         // ended by MaxSessionsPerGroup at a login
	EventExpired        EventKind = "expired"         // loaded past its absolute or idle deadline, and deleted
	EventInvalidCookie  EventKind = "invalid_cookie"  // a malformed, forged or stale-secret cookie, cleared
	EventRejected       EventKind = "rejected"        // a record the store could not read or Decode refused, deleted
	EventUnavailable    EventKind = "store_unavailable"
)

// eventLog is how the Manager logs each kind: the message and its level.
// EventUnavailable has no line of its own: the error reaches the app's
// error mapping, which logs it once, with the request.
var eventLog = map[EventKind]struct {
	msg   string
	level slog.Level
}{
	EventCreated:        {"session created", slog.LevelInfo},
	EventAuthenticated:  {"session authenticated", slog.LevelInfo},
	EventRenewed:        {"session renewed", slog.LevelInfo},
	EventDestroyed:      {"session destroyed", slog.LevelInfo},
	EventRevoked:        {"session revoked", slog.LevelInfo},
	EventGroupDestroyed: {"session group destroyed", slog.LevelInfo},
	EventEvicted:        {"session evicted: too many sessions in its group", slog.LevelInfo},
	EventExpired:        {"session expired", slog.LevelInfo},
	EventInvalidCookie:  {"invalid session cookie", slog.LevelInfo},
	EventRejected:       {"session record rejected", slog.LevelWarn},
}

// event logs e with attrs, then hands it to OnEvent.
func (m *Manager[D]) event(ctx context.Context, e Event, attrs ...any) {
	if l, ok := eventLog[e.Kind]; ok {
		if e.Handle != "" {
			attrs = append([]any{"session", ShortHandle(e.Handle)}, attrs...)
		}
		m.log.Log(ctx, l.level, l.msg, attrs...)
	}
	if m.onEvent != nil {
		m.onEvent(ctx, e)
	}
}
