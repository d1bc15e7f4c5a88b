package sessiontest

import (
	"bytes"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hexchi/starter/internal/auth/session"
)

// mustCreate stores rec under handle, and stops the subtest if the store
// refuses: every check after it would be meaningless.
func mustCreate(t *testing.T, st session.Store, handle string, rec *session.Record) {
	t.Helper()
	if _, err := st.Create(t.Context(), handle, rec, session.CreateOptions{}); err != nil {
		t.Fatalf("Create(%s) of a new, live record = %v, want nil", session.ShortHandle(handle), err)
	}
}

// mustLoad returns the live record under handle; why says why it must be
// there.
func mustLoad(t *testing.T, st session.Store, handle, why string) *session.Record {
	t.Helper()
	rec, err := st.Load(t.Context(), handle, session.Touch{})
	if err != nil {
		t.Fatalf("%s: Load(%s) = %v, want the record", why, session.ShortHandle(handle), err)
	}
	if rec == nil {
		t.Fatalf("%s: Load(%s) returned a nil record and a nil error", why, session.ShortHandle(handle))
	}
	return rec
}

// wantNotFound checks that no live record has handle; why says why it
// must be gone.
func wantNotFound(t *testing.T, st session.Store, handle, why string) {
	t.Helper()
	_, err := st.Load(t.Context(), handle, session.Touch{})
	switch {
	case err == nil:
		t.Errorf("%s: Load(%s) returned the record (nil error), want ErrNotFound", why, session.ShortHandle(handle))
	case !errors.Is(err, session.ErrNotFound):
		t.Errorf("%s: Load(%s) error = %v, want ErrNotFound", why, session.ShortHandle(handle), err)
	}
}

// wantErrIs checks that errors.Is(err, want) holds for the result of call.
func wantErrIs(t *testing.T, err, want error, call string) {
	t.Helper()
	switch {
	case errors.Is(err, want):
	case err == nil:
		t.Errorf("%s returned nil, want %v", call, want)
	default:
		t.Errorf("%s = %v, want %v", call, err, want)
	}
}

// wantRecord checks that got is want, times at millisecond precision.
func wantRecord(t *testing.T, got, want *session.Record, why string) {
	t.Helper()
	if d := diffRecord(got, want); d != "" {
		t.Errorf("%s: the record is not what it should be:\n%s", why, d)
	}
}

// listed returns the handles ListGroup returns for group, in its order.
func listed(t *testing.T, st session.Store, group string) []string {
	t.Helper()
	members, err := st.ListGroup(t.Context(), group)
	if err != nil {
		t.Fatalf("ListGroup(%q) = %v, want the members", group, err)
	}
	handles := make([]string, len(members))
	for i, m := range members {
		handles[i] = m.Handle
	}
	return handles
}

// wantListed checks that ListGroup returns exactly the handles want, in
// that order.
func wantListed(t *testing.T, st session.Store, group string, want []string, why string) {
	t.Helper()
	if got := listed(t, st, group); !slices.Equal(got, want) {
		t.Errorf("%s: ListGroup lists %s, want %s", why, shorts(got), shorts(want))
	}
}

// diffRecord describes, one line per field, how got differs from want; it
// is "" when they are the same.
func diffRecord(got, want *session.Record) string {
	if got == nil {
		return "  the record is nil"
	}
	var d []string
	times := []struct {
		name      string
		got, want time.Time
	}{
		{"Created", got.Created, want.Created},
		{"Expires", got.Expires, want.Expires},
		{"LastSeen", got.LastSeen, want.LastSeen},
		{"ExpireAt", got.ExpireAt, want.ExpireAt},
		{"AuthTime", got.AuthTime, want.AuthTime},
	}
	for _, f := range times {
		if !sameMilli(f.got, f.want) {
			d = append(d, fmt.Sprintf("  %s = %s, want %s", f.name, stamp(f.got), stamp(f.want)))
		}
	}
	if got.Persistence != want.Persistence {
		d = append(d, fmt.Sprintf("  Persistence = %d, want %d", got.Persistence, want.Persistence))
	}
	if got.Group != want.Group {
		d = append(d, fmt.Sprintf("  Group = %q, want %q", got.Group, want.Group))
	}
	if got.UserAgent != want.UserAgent {
		d = append(d, fmt.Sprintf("  UserAgent = %q, want %q", got.UserAgent, want.UserAgent))
	}
	return strings.Join(append(d, diffValues(got.Values, want.Values)...), "\n")
}

// diffValues lists the values that are missing, extra or different.
func diffValues(got, want map[string][]byte) []string {
	var d []string
	for _, k := range slices.Sorted(maps.Keys(want)) {
		g, ok := got[k]
		switch {
		case !ok:
			d = append(d, fmt.Sprintf("  Values[%q] is missing, want %s", k, show(want[k])))
		case !bytes.Equal(g, want[k]):
			d = append(d, fmt.Sprintf("  Values[%q] = %s, want %s", k, show(g), show(want[k])))
		}
	}
	for _, k := range slices.Sorted(maps.Keys(got)) {
		if _, ok := want[k]; !ok {
			d = append(d, fmt.Sprintf("  Values[%q] = %s should not be there", k, show(got[k])))
		}
	}
	return d
}

// sameMilli reports whether a and b are the same instant at millisecond
// precision, the precision the Harness promises.
func sameMilli(a, b time.Time) bool {
	return a.UnixMilli() == b.UnixMilli()
}

// stamp formats a time for a failure message.
func stamp(t time.Time) string {
	if t.IsZero() {
		return "zero time"
	}
	return t.UTC().Format("15:04:05.000 (2006-01-02)")
}

// show quotes a value for a failure message, cut short if it is long.
func show(b []byte) string {
	const n = 48
	if len(b) > n {
		return fmt.Sprintf("%q... (%d bytes)", b[:n], len(b))
	}
	return fmt.Sprintf("%q", b)
}

// shorts formats handles for a failure message.
func shorts(handles []string) string {
	s := make([]string, len(handles))
	for i, h := range handles {
		s[i] = session.ShortHandle(h)
	}
	return "[" + strings.Join(s, " ") + "]"
}
