package apptest

import "testing"

func TestLogsFindsListeningAddr(t *testing.T) {
	const listening = `{"level":"INFO","msg":"listening","addr":"127.0.0.1:4321"}` + "\n"
	tests := map[string]struct {
		writes   []string
		wantAddr string
	}{
		"one write":                 {writes: []string{listening}, wantAddr: "127.0.0.1:4321"},
		"split across writes":       {writes: []string{listening[:20], listening[20:40], listening[40:]}, wantAddr: "127.0.0.1:4321"},
		"after other records":       {writes: []string{"plain text\n", `{"msg":"starting"}` + "\n" + listening}, wantAddr: "127.0.0.1:4321"},
		"line not finished yet":     {writes: []string{listening[:len(listening)-1]}},
		"listening without addr":    {writes: []string{`{"msg":"listening"}` + "\n"}},
		"text format is not parsed": {writes: []string{"level=INFO msg=listening addr=127.0.0.1:4321\n"}},
		"first record wins": {
			writes:   []string{listening, `{"msg":"listening","addr":"127.0.0.1:9"}` + "\n"},
			wantAddr: "127.0.0.1:4321",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			logs := NewLogs()
			want := ""
			for _, w := range tc.writes {
				if n, err := logs.Write([]byte(w)); n != len(w) || err != nil {
					t.Fatalf("Write = %d, %v", n, err)
				}
				want += w
			}
			if got := logs.Addr(); got != tc.wantAddr {
				t.Errorf("Addr = %q, want %q", got, tc.wantAddr)
			}
			select {
			case <-logs.Listening():
				if tc.wantAddr == "" {
					t.Error("Listening closed without an address")
				}
			default:
				if tc.wantAddr != "" {
					t.Error("Listening not closed")
				}
			}
			if logs.String() != want {
				t.Errorf("String = %q, want everything written", logs.String())
			}
		})
	}
}

func TestLogsRecords(t *testing.T) {
	logs := NewLogs()
	_, _ = logs.Write([]byte("{\"msg\":\"a\"}\nnot json\n{\"msg\":\"b\"}\n"))
	records := logs.Records()
	if len(records) != 2 || records[0]["msg"] != "a" || records[1]["msg"] != "b" {
		t.Errorf("Records = %v, want the two JSON records", records)
	}
}
