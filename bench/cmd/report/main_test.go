package main

import (
	"io"
	"testing"
	"time"
)

func TestParseFlags(t *testing.T) {
	o, err := parseFlags(nil, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if o.run.Clients != 16 || o.run.Duration != 3*time.Second || o.run.Reps != 5 || o.run.Quick {
		t.Errorf("defaults: %+v", o.run)
	}
	o, err = parseFlags([]string{"-quick", "-gorilla-reps", "9"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if !o.run.Quick || o.run.Reps != 1 || o.run.GorillaReps != 1 || o.run.Command != "cd bench && go run ./cmd/report -quick" {
		t.Errorf("quick: %+v", o.run)
	}
	for _, args := range [][]string{{"-clients", "0"}, {"-duration", "-1s"}, {"extra"}, {"-nope"}} {
		if _, err := parseFlags(args, io.Discard); err == nil {
			t.Errorf("%q: no error", args)
		}
	}
}
