package main

import (
	"io"
	"strings"
	"testing"
	"time"
)

func TestParseFlags(t *testing.T) {
	o, err := parseFlags(nil, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if o.run.Clients != 16 || o.run.Duration != 3*time.Second || o.run.Reps != 5 || o.run.LagTrials != 1000 || o.run.Quick {
		t.Errorf("defaults: %+v", o.run)
	}
	o, err = parseFlags([]string{"-quick", "-gorilla-reps", "9"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if !o.run.Quick || o.run.Reps != 1 || o.run.GorillaReps != 1 || o.run.LagTrials != 50 || o.run.Command != "cd bench && go run ./cmd/report -quick" {
		t.Errorf("quick: %+v", o.run)
	}
	for _, args := range [][]string{{"-clients", "0"}, {"-lag-trials", "0"}, {"-duration", "-1s"}, {"extra"}, {"-nope"}} {
		if _, err := parseFlags(args, io.Discard); err == nil {
			t.Errorf("%q: no error", args)
		}
	}
}

// Every load round runs hexchi with and without the near cache beside scs
// and the ceiling; gorilla only when due and with the idle timeout off.
func TestRoundSetups(t *testing.T) {
	names := func(idle, gorilla bool) string {
		var out []string
		for _, s := range roundSetups(idle, gorilla) {
			out = append(out, s.String())
		}
		return strings.Join(out, "; ")
	}
	for _, tc := range []struct {
		idle, gorilla bool
		want          string
	}{
		{false, true, "hexchi; hexchi, near cache; scs; gorilla; no session"},
		{false, false, "hexchi; hexchi, near cache; scs; no session"},
		{true, true, "hexchi, idle; hexchi, near cache, idle; scs, idle; no session (idle rounds)"},
	} {
		if got := names(tc.idle, tc.gorilla); got != tc.want {
			t.Errorf("idle %v, gorilla %v: %s, want %s", tc.idle, tc.gorilla, got, tc.want)
		}
	}
}
