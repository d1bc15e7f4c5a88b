package redisproc

import (
	"os"
	"os/exec"
	"syscall"
	"testing"
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
