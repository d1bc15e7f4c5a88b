package main

import (
	"bytes"
	"go/format"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// TestEndToEnd renames the repository the test runs in into a temporary
// directory as example.com/yourservice, checks the copy's files, then builds
// and vets both of its modules and runs the tests that tie the key prefix
// together. It takes 20 to 40 s with a warm module cache.
func TestEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("copies the repository and builds the copy; skipped under -short")
	}
	start := time.Now()
	root, err := findTemplateRoot(".")
	if err != nil {
		t.Fatal(err)
	}
	dest := filepath.Join(t.TempDir(), "yourservice")
	var stdout, stderr bytes.Buffer
	if err := run([]string{"-from", root, "example.com/yourservice", dest}, &stdout, &stderr); err != nil {
		t.Fatalf("newservice: %v\n%s", err, stderr.String())
	}
	t.Logf("newservice (%s):\n%s", time.Since(start).Round(time.Millisecond), stdout.String())

	for _, name := range []string{
		"go.mod", "go.sum", "bench/go.mod", "bench/go.sum", "README.md", ".golangci.yml", "Dockerfile",
		"scripts/build-redis-image.sh", "cmd/app/main.go",
		"config/dev/secrets/core.auth.session.cookie.sign", "config/test/secrets/core.auth.session.cookie.sign",
	} {
		if _, err := os.Stat(filepath.Join(dest, filepath.FromSlash(name))); err != nil {
			t.Errorf("not copied: %v", err)
		}
	}
	checkCopyTree(t, root, dest)
	checkExecBits(t, root, dest)
	checkContains(t, dest, "go.mod", "module example.com/yourservice\n")
	checkContains(t, dest, "bench/go.mod",
		"module example.com/yourservice/bench\n", "replace example.com/yourservice => ../\n", "\texample.com/yourservice v")
	checkContains(t, dest, ".golangci.yml", "local-prefixes:\n        - example.com/yourservice\n")
	checkContains(t, dest, "config/config.yaml", `keyPrefix: "yourservice:"`)
	checkContains(t, dest, "README.md", "# yourservice\n")
	if b := readFile(t, filepath.Join(dest, "README.md")); !strings.HasPrefix(b, "# yourservice\n") {
		t.Errorf("README.md starts with %q, want # yourservice", strings.SplitN(b, "\n", 2)[0])
	}

	// -mod=mod: the template's go.mod may be mid-edit (a new require
	// whose go.sum lines are not in yet); what is checked here is the
	// renaming, not the template's module graph.
	goRun := func(dir, mod string, args ...string) ([]byte, error) {
		cmd := exec.Command("go", args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GOFLAGS="+strings.TrimSpace(os.Getenv("GOFLAGS")+" -mod="+mod), "GOWORK=off")
		return cmd.CombinedOutput()
	}
	goCmd := func(dir string, args ...string) {
		t.Helper()
		began := time.Now()
		out, err := goRun(dir, "mod", args...)
		if err != nil {
			// Tell a broken rename from a template that is broken itself
			// (say, mid-edit). -mod=readonly: never write the template.
			rel, _ := filepath.Rel(dest, dir)
			diag := "the template passes it: the rename broke the copy"
			if tout, terr := goRun(filepath.Join(root, rel), "readonly", args...); terr != nil {
				diag = "the template fails it too:\n" + string(tout)
			}
			t.Fatalf("in the copy's %s: go %s: %v\n%s\n%s", dir, strings.Join(args, " "), err, out, diag)
		}
		t.Logf("%s: go %s (%s)", dir, strings.Join(args, " "), time.Since(began).Round(time.Millisecond))
	}
	bench := filepath.Join(dest, "bench")
	goCmd(dest, "build", "./...")
	goCmd(dest, "vet", "./...")
	goCmd(bench, "build", "./...")
	goCmd(bench, "vet", "./...")
	// The tests that tie config.yaml, the code's defaults, the store's
	// default and the README's table to one key prefix.
	goCmd(dest, "test", "-count=1",
		"-run", "^(TestBaseFileMatchesDefaults|TestKeysDefaults|TestREADMEListsEveryEnvVar|TestNewDefaults|TestKeyLayout)$",
		"./internal/platform/config/", "./internal/auth/session/redisstore/")
	t.Logf("end to end: %s", time.Since(start).Round(time.Millisecond))
}

// checkCopyTree walks the copy: nothing that must not travel, no old module
// path but where it names the template to gonew, and every Go file
// gofmt-clean that was clean in the template.
func checkCopyTree(t *testing.T, root, dest string) {
	t.Helper()
	err := filepath.WalkDir(dest, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dest, p)
		if err != nil || rel == "." {
			return err
		}
		rel = filepath.ToSlash(rel)
		parts := strings.Split(rel, "/")
		for i, part := range parts {
			dir := strings.Join(parts[:i], "/")
			if part == "secrets" && dir != "config/dev" && dir != "config/test" {
				t.Errorf("copied %s: secrets outside config/dev and config/test", rel)
			}
		}
		switch {
		case d.Name() == ".git", rel == "bin", rel == "cmd/newservice":
			t.Errorf("copied %s", rel)
			return fs.SkipDir
		case d.IsDir() || !d.Type().IsRegular():
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		for n, line := range strings.Split(string(b), "\n") {
			if strings.Contains(line, templateModule) && !strings.Contains(line, "gonew") {
				t.Errorf("%s:%d still has %s: %s", rel, n+1, templateModule, line)
			}
		}
		if strings.HasSuffix(rel, ".go") && !strings.Contains(rel, "testdata/") {
			src, readErr := os.ReadFile(filepath.Join(root, filepath.FromSlash(rel)))
			if readErr != nil {
				return nil //nolint:nilerr // gone from the template since the copy: nothing to compare
			}
			if clean, err := format.Source(src); err == nil && bytes.Equal(clean, src) {
				if clean, err := format.Source(b); err != nil || !bytes.Equal(clean, b) {
					t.Errorf("%s: gofmt-clean in the template, not in the copy (%v)", rel, err)
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// checkExecBits checks that scripts/*.sh and .ci/run have their template
// modes, and that whatever git records as executable is executable.
func checkExecBits(t *testing.T, root, dest string) {
	t.Helper()
	if runtime.GOOS == "windows" {
		return
	}
	scripts, err := filepath.Glob(filepath.Join(root, "scripts", "*.sh"))
	if err != nil || len(scripts) == 0 {
		t.Fatalf("no scripts/*.sh in %s (%v)", root, err)
	}
	for _, src := range append(scripts, filepath.Join(root, ".ci", "run")) {
		rel, _ := filepath.Rel(root, src)
		want, err := os.Stat(src)
		if err != nil {
			continue // gone from the template since the copy
		}
		got, err := os.Stat(filepath.Join(dest, rel))
		if err != nil || got.Mode() != want.Mode() {
			t.Errorf("%s: mode %v (%v), want the template's %v", rel, got.Mode(), err, want.Mode())
		}
	}
	if fi, err := os.Stat(filepath.Join(dest, "scripts", "build-redis-image.sh")); err != nil || fi.Mode()&0o111 == 0 {
		t.Errorf("scripts/build-redis-image.sh is not executable: %v %v", fi.Mode(), err)
	}
	if _, err := exec.LookPath("git"); err != nil {
		return
	}
	out, err := exec.Command("git", "-C", root, "ls-files", "--stage").Output()
	if err != nil {
		t.Fatalf("git ls-files --stage: %v", err)
	}
	for _, line := range strings.Split(string(out), "\n") {
		meta, name, ok := strings.Cut(line, "\t")
		if !ok || !strings.HasPrefix(meta, "100755 ") || excluded(name) != "" {
			continue
		}
		if fi, err := os.Stat(filepath.Join(dest, filepath.FromSlash(name))); err == nil && fi.Mode()&0o111 == 0 {
			t.Errorf("%s: git says executable, the copy's mode is %v", name, fi.Mode())
		}
	}
}

func checkContains(t *testing.T, dest, name string, want ...string) {
	t.Helper()
	b := readFile(t, filepath.Join(dest, filepath.FromSlash(name)))
	for _, w := range want {
		if !strings.Contains(b, w) {
			t.Errorf("%s lacks %q:\n%s", name, w, b)
		}
	}
	if strings.Contains(b, templateModule) && !strings.Contains(b, "gonew") {
		t.Errorf("%s still has %s", name, templateModule)
	}
}
