package sessiontest

import (
	"context"
	"testing"
	"time"

	"github.com/hexchi/starter/internal/auth/session"
)

// contextCancelled: every method gives up on a cancelled context and says
// so. The Manager passes the request's context: a client that went away
// must not keep a store call running, and the error must let the app tell
// "client gone" from "store down".
func (s suite) contextCancelled(t *testing.T) {
	calls := map[string]func(ctx context.Context, st session.Store, live session.Ref) error{
		"Load": func(ctx context.Context, st session.Store, live session.Ref) error {
			_, err := st.Load(ctx, live.Handle, session.Touch{})
			return err
		},
		"Load with a touch": func(ctx context.Context, st session.Store, live session.Ref) error {
			_, err := st.Load(ctx, live.Handle, session.Touch{Now: s.now(), Idle: time.Hour})
			return err
		},
		"Create": func(ctx context.Context, st session.Store, live session.Ref) error {
			_, err := st.Create(ctx, newHandle(), s.record(live.Group), session.CreateOptions{Replaces: live, GroupLimit: 1})
			return err
		},
		"Patch": func(ctx context.Context, st session.Store, live session.Ref) error {
			return st.Patch(ctx, live.Handle, &session.Patch{Set: map[string][]byte{"cart": []byte(`[1]`)}})
		},
		"Delete": func(ctx context.Context, st session.Store, live session.Ref) error {
			return st.Delete(ctx, live)
		},
		"ListGroup": func(ctx context.Context, st session.Store, live session.Ref) error {
			_, err := st.ListGroup(ctx, live.Group)
			return err
		},
		"DeleteGroup": func(ctx context.Context, st session.Store, live session.Ref) error {
			_, err := st.DeleteGroup(ctx, live.Group, "")
			return err
		},
	}
	for name, call := range calls {
		t.Run(name, func(t *testing.T) {
			st := s.New(t)
			live := session.Ref{Handle: newHandle(), Group: newGroup()}
			mustCreate(t, st, live.Handle, s.record(live.Group))
			ctx, cancel := context.WithCancel(t.Context())
			cancel()
			wantErrIs(t, call(ctx, st, live), context.Canceled, name+" with a cancelled context")
		})
	}
}
