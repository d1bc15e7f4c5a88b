package redisproc

import (
	"os"
	"os/exec"
	"syscall"
	"testing"
	"time"
)

func TestStartAndClose(t *testing.T) {
	if _, err := exec.LookPath("redis-server"); err != nil {
		t.Skip("no redis-server in PATH (apt-get install redis-server)")
	}
	s, err := Start(t.Context(), "")
	if err != nil {
		t.Fatal(err)
	}
	if s.Version() == "" {
		t.Error("no version")
	}
	if _, err := s.CPUTime(); err != nil {
		t.Error(err)
	}
	if st, err := s.Stats(t.Context()); err != nil || st.CPU <= 0 {
		t.Errorf("Stats = %+v, %v", st, err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.cmd.Process.Signal(syscall.Signal(0)); err == nil {
		t.Error("redis-server still running after Close")
	}
	if _, err := os.Stat(s.dir); !os.IsNotExist(err) {
		t.Errorf("temp dir %s not removed: %v", s.dir, err)
	}
	if err := s.Close(); err != nil { // a second Close is harmless
		t.Fatal(err)
	}
}

func TestStartNamesAMissingBinary(t *testing.T) {
	if _, err := Start(t.Context(), "no-such-redis-server-binary"); err == nil {
		t.Fatal("no error for a missing binary")
	}
}

func TestInfoField(t *testing.T) {
	info := "# Server\r\nredis_version:7.0.15\r\nredis_mode:standalone\r\n"
	if v := infoField(info, "redis_version"); v != "7.0.15" {
		t.Errorf("got %q", v)
	}
	if v := infoField(info, "missing"); v != "" {
		t.Errorf("got %q", v)
	}
}

func TestParseStats(t *testing.T) {
	info := "# CPU\r\nused_cpu_sys:1.500000\r\nused_cpu_user:0.250001\r\nused_cpu_sys_children:9.0\r\n" +
		"# Commandstats\r\ncmdstat_get:calls=5,usec=50,usec_per_call=10.00,rejected_calls=0,failed_calls=0\r\n" +
		"cmdstat_evalsha:calls=3,usec=30,usec_per_call=10.00,rejected_calls=0,failed_calls=0\r\n" +
		"cmdstat_eval:calls=1,usec=7,usec_per_call=7.00,rejected_calls=0,failed_calls=0\r\n"
	st, err := parseStats(info)
	if err != nil {
		t.Fatal(err)
	}
	if want := 1750001 * time.Microsecond; st.CPU != want {
		t.Errorf("CPU %v, want %v", st.CPU, want)
	}
	if st.Scripts != 37*time.Microsecond || st.ScriptCalls != 4 {
		t.Errorf("scripts %v in %d calls, want 37µs in 4", st.Scripts, st.ScriptCalls)
	}
	if _, err := parseStats("# CPU\r\n"); err == nil {
		t.Error("no error for a reply without CPU times")
	}
}
