package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/hexchi/starter/internal/auth"
)

// TestRun: the entry it prints logs the user in through the demo
// directory, as the app reads core.auth.users.
func TestRun(t *testing.T) {
	var out bytes.Buffer
	if err := run([]string{"-cost", "4", "alice"}, strings.NewReader("s3cret horse\n"), &out); err != nil {
		t.Fatal(err)
	}
	entry := strings.TrimSpace(out.String())
	if !strings.HasPrefix(entry, "alice:$2a$04$") {
		t.Fatalf("entry %q, want alice:<bcrypt hash of cost 4>", entry)
	}
	dir, err := auth.NewDemoDirectory([]string{entry})
	if err != nil {
		t.Fatalf("the directory refuses the entry: %v", err)
	}
	if _, err := dir.Authenticate(context.Background(), "alice", "s3cret horse"); err != nil {
		t.Errorf("the printed entry does not log alice in: %v", err)
	}
	if _, err := dir.Authenticate(context.Background(), "alice", "s3cret"); err == nil {
		t.Error("a wrong password logs alice in")
	}
}

func TestRunRefuses(t *testing.T) {
	tests := map[string]struct {
		args  []string
		stdin string
	}{
		"no username":              {nil, "pw\n"},
		"a colon in the name":      {[]string{"al:ice"}, "pw\n"},
		"a comma in the name":      {[]string{"al,ice"}, "pw\n"},
		"no password":              {[]string{"alice"}, "\n"},
		"a password over 72 bytes": {[]string{"alice"}, strings.Repeat("x", 73) + "\n"},
		"a cost out of range":      {[]string{"-cost", "99", "alice"}, "pw\n"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			var out bytes.Buffer
			if err := run(tc.args, strings.NewReader(tc.stdin), &out); err == nil || out.Len() != 0 {
				t.Errorf("run = %v, printed %q; want an error and nothing printed", err, out.String())
			}
		})
	}
}
