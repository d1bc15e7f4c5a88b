package web

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

// decodeRecords parses the JSON log lines in buf.
func decodeRecords(t *testing.T, buf *bytes.Buffer) []map[string]any {
	t.Helper()
	var records []map[string]any
	for line := range strings.Lines(buf.String()) {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("log line %q is not JSON: %v", line, err)
		}
		records = append(records, rec)
	}
	return records
}

func TestLoggerAddsRequestID(t *testing.T) {
	var buf bytes.Buffer
	log, err := NewLogger(&buf, "info", "json")
	if err != nil {
		t.Fatal(err)
	}
	ctx := withRequestID(t.Context(), "req-42")

	log.InfoContext(ctx, "plain")
	log.With("k", "v").InfoContext(ctx, "with attrs")
	log.WithGroup("g").InfoContext(ctx, "in group")
	log.InfoContext(t.Context(), "no request")
	log.DebugContext(ctx, "below the level")

	records := decodeRecords(t, &buf)
	if len(records) != 4 {
		t.Fatalf("got %d records, want 4: %s", len(records), buf.String())
	}
	tests := []struct {
		msg  string
		want any // request_id, at the top level or inside group g
	}{
		{"plain", "req-42"},
		{"with attrs", "req-42"},
		{"in group", map[string]any{"request_id": "req-42"}},
		{"no request", nil},
	}
	for i, tc := range tests {
		rec := records[i]
		if rec["msg"] != tc.msg {
			t.Fatalf("record %d msg = %v, want %q", i, rec["msg"], tc.msg)
		}
		got := rec["request_id"]
		if tc.msg == "in group" {
			got = rec["g"]
		}
		if !jsonEqual(got, tc.want) {
			t.Errorf("%s: request_id = %v, want %v", tc.msg, got, tc.want)
		}
	}
}

func jsonEqual(a, b any) bool {
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return bytes.Equal(ja, jb)
}

func TestNewLogger(t *testing.T) {
	tests := map[string]struct {
		level, format string
		wantErr       string
		wantOut       string // substring of the output of one Info record
	}{
		"json":           {level: "info", format: "json", wantOut: `"msg":"hello"`},
		"text":           {level: "debug", format: "text", wantOut: "msg=hello"},
		"upper level":    {level: "WARN", format: "json", wantOut: ""},
		"unknown level":  {level: "loud", format: "json", wantErr: `log level "loud"`},
		"unknown format": {level: "info", format: "xml", wantErr: `log format "xml": want json or text`},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			var buf bytes.Buffer
			log, err := NewLogger(&buf, tc.level, tc.format)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want it to contain %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			log.InfoContext(withRequestID(t.Context(), "r1"), "hello")
			if !strings.Contains(buf.String(), tc.wantOut) {
				t.Errorf("output %q does not contain %q", buf.String(), tc.wantOut)
			}
			if tc.wantOut == "" && buf.Len() != 0 {
				t.Errorf("info record written below level %s: %q", tc.level, buf.String())
			}
		})
	}
}
