package report

import (
	"bufio"
	"bytes"
	"context"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"strings"
	"time"
)

// Machine describes where the run happened.
type Machine struct {
	CPUs       int    // logical CPUs (nproc)
	GOMAXPROCS int    // what the Go process used
	CPUModel   string // from /proc/cpuinfo, "" if unknown
	Kernel     string // from /proc/sys/kernel/osrelease, "" if unknown
	Go         string // runtime.Version and GOOS/GOARCH
	Redis      string // redis_version of the server the run used
}

// Module is a module the run was built with.
type Module struct {
	Path    string
	Version string
}

// ThisMachine describes the machine the program runs on; redisVersion
// comes from the server.
func ThisMachine(redisVersion string) Machine {
	m := Machine{
		CPUs:       runtime.NumCPU(),
		GOMAXPROCS: runtime.GOMAXPROCS(0),
		Go:         runtime.Version() + " " + runtime.GOOS + "/" + runtime.GOARCH,
		Redis:      redisVersion,
	}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		sc := bufio.NewScanner(bytes.NewReader(b))
		for sc.Scan() {
			if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPUModel = strings.TrimSpace(v)
				break
			}
		}
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = strings.TrimSpace(string(b))
	}
	return m
}

// reportedModules are the modules whose versions the report lists, in
// order: the session libraries and what they run on.
var reportedModules = []string{
	"github.com/hexchi/starter",
	"github.com/alexedwards/scs/v2",
	"github.com/alexedwards/scs/goredisstore",
	"github.com/gorilla/sessions",
	"github.com/rbcervilla/redisstore/v9",
	"github.com/redis/go-redis/v9",
	"github.com/go-chi/chi/v5",
}

// BuildModules returns the versions of reportedModules from the program's
// build information. hexchi is replaced by the working tree (../), so its
// version is the tree's git commit when git can tell it.
func BuildModules(ctx context.Context) []Module {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return nil
	}
	found := map[string]string{}
	for _, d := range info.Deps {
		v := d.Version
		if d.Replace != nil {
			v = "replaced by " + d.Replace.Path
			if d.Replace.Version != "" {
				v += " " + d.Replace.Version
			}
			if d.Path == "github.com/hexchi/starter" {
				v = "this working tree" + gitDescribe(ctx)
			}
		}
		found[d.Path] = v
	}
	var out []Module
	for _, p := range reportedModules {
		if v, ok := found[p]; ok {
			out = append(out, Module{Path: p, Version: v})
		}
	}
	return out
}

// gitDescribe returns " (commit abc1234)" or " (commit abc1234 plus
// uncommitted changes)" for the repository above the working directory, or
// "" if git is not there to ask.
func gitDescribe(ctx context.Context) string {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	rev, err := exec.CommandContext(ctx, "git", "rev-parse", "--short", "HEAD").Output()
	if err != nil {
		return ""
	}
	s := " (commit " + strings.TrimSpace(string(rev))
	if dirty, err := exec.CommandContext(ctx, "git", "status", "--porcelain", "--untracked-files=no").Output(); err == nil && len(dirty) > 0 {
		s += " plus uncommitted changes"
	}
	return s + ")"
}
