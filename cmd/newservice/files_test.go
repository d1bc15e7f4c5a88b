package main

import (
	"bytes"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
)

func TestExcluded(t *testing.T) {
	tests := map[string]bool{ // path: excluded
		"go.mod":                       false,
		"bench/go.mod":                 false,
		"scripts/build-redis-image.sh": false,
		"config/dev/secrets/core.auth.session.cookie.sign":  false,
		"config/test/secrets/core.auth.session.cookie.sign": false,
		"config/prod/secrets/core.auth.session.cookie.sign": true,
		"config/staging/secrets/core.redis.password":        true,
		"secrets/key":                   true,
		"internal/x/secrets/key":        true,
		"config/dev/nested/secrets/key": true,
		"config/dev/secrets":            false, // a file, as config/dev's secrets dir is fine
		"deploy/secrets":                true,
		"config/dev/secretsfile":        false,
		".git/config":                   true,
		"bench/.git/config":             true,
		"bin/app":                       true,
		"internal/bin/tool.go":          false,
		"binary.go":                     false,
		"cmd/newservice/main.go":        true,
		"cmd/newservicex/main.go":       false,
		"cmd/app/main.go":               false,
	}
	for path, want := range tests {
		if got := excluded(path); (got != "") != want {
			t.Errorf("excluded(%q) = %q, want excluded %v", path, got, want)
		}
	}
}

func TestCheckDest(t *testing.T) {
	root := t.TempDir()
	parent := t.TempDir()
	empty := filepath.Join(parent, "empty")
	full := filepath.Join(parent, "full")
	file := filepath.Join(parent, "file")
	mustMkdir(t, empty)
	writeFile(t, filepath.Join(full, "x.txt"), "x", 0o644)
	writeFile(t, file, "x", 0o644)

	for _, ok := range []string{filepath.Join(parent, "new"), filepath.Join(parent, "a", "b"), empty} {
		if got, err := checkDest(root, ok); err != nil || !filepath.IsAbs(got) {
			t.Errorf("checkDest(%s) = %q, %v; want it accepted", ok, got, err)
		}
	}
	refused := map[string]string{
		full:                         "is not empty (it has x.txt)",
		file:                         "is not a directory",
		root:                         "inside the template",
		filepath.Join(root, "copy"):  "inside the template",
		filepath.Join(root, "a/b/c"): "inside the template",
		"":                           "empty destination",
	}
	for dest, want := range refused {
		if _, err := checkDest(root, dest); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("checkDest(%q) = %v, want an error saying %q", dest, err, want)
		}
	}
}

func TestFindTemplateRoot(t *testing.T) {
	root := fakeTemplate(t)
	mustMkdir(t, filepath.Join(root, "bench", "cmd", "report"))
	for _, from := range []string{root, filepath.Join(root, "bench"), filepath.Join(root, "bench", "cmd", "report"), filepath.Join(root, "scripts")} {
		if got, err := findTemplateRoot(from); err != nil || got != root {
			t.Errorf("findTemplateRoot(%s) = %q, %v; want %s", from, got, err, root)
		}
	}

	other := t.TempDir()
	writeFile(t, filepath.Join(other, "go.mod"), "module example.com/other\n", 0o644)
	if _, err := findTemplateRoot(other); err == nil || !strings.Contains(err.Error(), "example.com/other") {
		t.Errorf("findTemplateRoot(another module) = %v, want an error naming its module", err)
	}
	if _, err := findTemplateRoot(filepath.Join(root, "go.mod")); err == nil || !strings.Contains(err.Error(), "not a directory") {
		t.Errorf("findTemplateRoot(a file) = %v, want 'not a directory'", err)
	}
	if _, err := findTemplateRoot(filepath.Join(root, "missing")); err == nil {
		t.Error("findTemplateRoot(a missing directory): no error")
	}
}

// TestCopyWithoutGit copies a tree that is no git checkout: every file but
// .git (a nested one here: a .git at the root makes a git checkout), bin/, cmd/newservice and secrets other than dev's and test's.
func TestCopyWithoutGit(t *testing.T) {
	root := fakeTemplate(t)
	writeFile(t, filepath.Join(root, "bench", ".git", "HEAD"), "ref\n", 0o644)
	writeFile(t, filepath.Join(root, "bin", "app"), "\x7fELF\x00", 0o755)
	writeFile(t, filepath.Join(root, "config", "prod", "secrets", "core.auth.session.cookie.sign"), "prod secret\n", 0o600)
	writeFile(t, filepath.Join(root, "internal", "x", "secrets", "key"), "secret\n", 0o600)
	writeFile(t, filepath.Join(root, "cmd", "newservice", "main.go"), "package main\n", 0o644)
	if runtime.GOOS != "windows" {
		if err := os.Symlink("build-redis-image.sh", filepath.Join(root, "scripts", "link.sh")); err != nil {
			t.Fatal(err)
		}
	}
	dest := filepath.Join(t.TempDir(), "yourservice")

	res, err := copyTemplate(root, dest, "example.com/yourservice", "yourservice")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(res.source, "not a git checkout") {
		t.Errorf("source = %q, want it to say it is not a git checkout", res.source)
	}
	want := []string{
		".golangci.yml", "README.md", "bench/go.mod", "config/config.yaml",
		"config/dev/secrets/core.auth.session.cookie.sign", "config/test/secrets/core.auth.session.cookie.sign",
		"go.mod", "internal/app/app.go", "scripts/build-redis-image.sh",
	}
	if runtime.GOOS != "windows" {
		want = append(want, "scripts/link.sh")
	}
	slices.Sort(want)
	if got := treeFiles(t, dest); !slices.Equal(got, want) {
		t.Errorf("copied files:\n%q\nwant:\n%q", got, want)
	}
	if res.copied != len(want) {
		t.Errorf("copied = %d, want %d", res.copied, len(want))
	}
	checkFakeCopy(t, root, dest)
	if runtime.GOOS != "windows" {
		if target, err := os.Readlink(filepath.Join(dest, "scripts", "link.sh")); err != nil || target != "build-redis-image.sh" {
			t.Errorf("symlink: %q, %v", target, err)
		}
	}
}

// TestCopyGit copies a git checkout: tracked and untracked-not-ignored
// files, never ignored ones, never a secret outside dev and test even when
// it was force-added, with git's exec bit.
func TestCopyGit(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("no git:", err)
	}
	root := fakeTemplate(t)
	writeFile(t, filepath.Join(root, ".gitignore"), "/bin/\n/coverage.out\n/config/*/secrets/\n!/config/dev/secrets/\n!/config/test/secrets/\n", 0o644)
	writeFile(t, filepath.Join(root, "scripts", "no-x-on-disk.sh"), "#!/bin/sh\n", 0o644)
	writeFile(t, filepath.Join(root, "internal", "gone", "gone.go"), "package gone\n", 0o644)
	writeFile(t, filepath.Join(root, "config", "staging", "secrets", "core.redis.password"), "forced\n", 0o600)
	runGit(t, root, "init", "-q")
	runGit(t, root, "add", "-A")
	runGit(t, root, "add", "-f", "config/staging/secrets/core.redis.password")
	runGit(t, root, "update-index", "--chmod=+x", "scripts/no-x-on-disk.sh")
	// After the index: untracked, ignored, and a tracked file deleted.
	writeFile(t, filepath.Join(root, "internal", "app", "new.go"), "package app\n\nimport _ \"github.com/hexchi/starter/internal/x\"\n", 0o644)
	writeFile(t, filepath.Join(root, "coverage.out"), "mode: set\n", 0o644)
	writeFile(t, filepath.Join(root, "bin", "app"), "\x7fELF\x00", 0o755)
	writeFile(t, filepath.Join(root, "config", "prod", "secrets", "core.auth.session.cookie.sign"), "prod secret\n", 0o600)
	if err := os.Remove(filepath.Join(root, "internal", "gone", "gone.go")); err != nil {
		t.Fatal(err)
	}
	dest := filepath.Join(t.TempDir(), "yourservice")

	res, err := copyTemplate(root, dest, "example.com/yourservice", "yourservice")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(res.source, "git") {
		t.Errorf("source = %q, want git", res.source)
	}
	want := []string{
		".gitignore", ".golangci.yml", "README.md", "bench/go.mod", "config/config.yaml",
		"config/dev/secrets/core.auth.session.cookie.sign", "config/test/secrets/core.auth.session.cookie.sign",
		"go.mod", "internal/app/app.go", "internal/app/new.go", "scripts/build-redis-image.sh", "scripts/no-x-on-disk.sh",
	}
	if got := treeFiles(t, dest); !slices.Equal(got, want) {
		t.Errorf("copied files:\n%q\nwant:\n%q", got, want)
	}
	checkFakeCopy(t, root, dest)
	if b := readFile(t, filepath.Join(dest, "internal", "app", "new.go")); !strings.Contains(b, `"example.com/yourservice/internal/x"`) {
		t.Errorf("untracked new.go not rewritten:\n%s", b)
	}
	if runtime.GOOS != "windows" {
		if fi, err := os.Stat(filepath.Join(dest, "scripts", "no-x-on-disk.sh")); err != nil || fi.Mode().Perm() != 0o755 {
			t.Errorf("git's exec bit: mode %v, %v; want 0755", fi.Mode(), err)
		}
	}
	if !slices.ContainsFunc(res.skipped, func(s string) bool { return strings.HasPrefix(s, "config/staging/secrets/") }) {
		t.Errorf("skipped = %q, want the force-added staging secret listed", res.skipped)
	}
	if !slices.ContainsFunc(res.warnings, func(s string) bool { return strings.HasPrefix(s, "internal/gone/gone.go") }) {
		t.Errorf("warnings = %q, want the deleted file named", res.warnings)
	}
}

func TestRun(t *testing.T) {
	root := fakeTemplate(t)
	dest := filepath.Join(t.TempDir(), "yourservice")
	var stdout, stderr bytes.Buffer
	if err := run([]string{"-from", filepath.Join(root, "bench"), "example.com/yourservice", dest}, &stdout, &stderr); err != nil {
		t.Fatalf("run: %v\n%s", err, stderr.String())
	}
	out := stdout.String()
	for _, want := range []string{
		"Copied 9 files from " + root, "Rewrote 7 files", "bench/go.mod", "module path", "README title",
		"Next steps:", "cd " + dest, "go run ./cmd/app", "go test ./...",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	checkFakeCopy(t, root, dest)
}

func TestRunRefuses(t *testing.T) {
	root := fakeTemplate(t)
	parent := t.TempDir()
	full := filepath.Join(parent, "full")
	writeFile(t, filepath.Join(full, "keep.txt"), "mine", 0o644)
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no arguments", nil, "want 2 arguments"},
		{"one argument", []string{"example.com/yourservice"}, "want 2 arguments"},
		{"bad flag", []string{"-nope", "example.com/yourservice", filepath.Join(parent, "a")}, "flag provided but not defined"},
		{"bad module path", []string{"example.com/your service", filepath.Join(parent, "b")}, "invalid character"},
		{"bad name", []string{"example.com/YourService", filepath.Join(parent, "c")}, "must start with a lower-case letter"},
		{"non-empty destination", []string{"example.com/yourservice", full}, "is not empty"},
		{"destination inside", []string{"example.com/yourservice", filepath.Join(root, "copy")}, "inside the template"},
		{"not the template", []string{"-from", parent, "example.com/yourservice", filepath.Join(parent, "d")}, "go.mod"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := tt.args
			if !slices.Contains(args, "-from") {
				args = append([]string{"-from", root}, args...)
			}
			var stdout, stderr bytes.Buffer
			err := run(args, &stdout, &stderr)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("run(%q) = %v, want an error saying %q", tt.args, err, tt.want)
			}
			if stdout.Len() > 0 {
				t.Errorf("a refused run printed:\n%s", stdout.String())
			}
		})
	}
	entries, err := os.ReadDir(parent)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 || entries[0].Name() != "full" {
		t.Errorf("refused runs left %v in %s, want only full/", entries, parent)
	}
	if got := treeFiles(t, full); !slices.Equal(got, []string{"keep.txt"}) || readFile(t, filepath.Join(full, "keep.txt")) != "mine" {
		t.Errorf("non-empty destination changed: %q", got)
	}
	if _, err := os.Stat(filepath.Join(root, "copy")); err == nil {
		t.Error("a copy was made inside the template")
	}
}

// fakeTemplate writes a small tree with what the rules rewrite.
func fakeTemplate(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	files := map[string]string{
		"go.mod":              "module github.com/hexchi/starter\n\ngo 1.26.0\n",
		"bench/go.mod":        "module github.com/hexchi/starter/bench\n\ngo 1.26.0\n\nreplace github.com/hexchi/starter => ../\n\nrequire github.com/hexchi/starter v0.0.0-00010101000000-000000000000\n",
		".golangci.yml":       "formatters:\n  settings:\n    goimports:\n      local-prefixes:\n        - github.com/hexchi/starter\n",
		"README.md":           "# hexchi\n\nhexchi is a template. `docker build -t hexchi .`\n",
		"config/config.yaml":  "core:\n  redis:\n    keyPrefix: \"hexchi:\"\n",
		"internal/app/app.go": "package app\n\nimport _ \"github.com/hexchi/starter/internal/x\"\n",
		"config/dev/secrets/core.auth.session.cookie.sign":  "dev secret\n",
		"config/test/secrets/core.auth.session.cookie.sign": "test secret\n",
	}
	for name, content := range files {
		writeFile(t, filepath.Join(root, filepath.FromSlash(name)), content, 0o644)
	}
	writeFile(t, filepath.Join(root, "scripts", "build-redis-image.sh"), "#!/bin/sh\necho hexchi/redis:local\n", 0o755)
	return root
}

// checkFakeCopy checks the rewrites and modes of a copy of fakeTemplate.
func checkFakeCopy(t *testing.T, root, dest string) {
	t.Helper()
	want := map[string]string{
		"go.mod":                       "module example.com/yourservice\n\ngo 1.26.0\n",
		"bench/go.mod":                 "module example.com/yourservice/bench\n\ngo 1.26.0\n\nreplace example.com/yourservice => ../\n\nrequire example.com/yourservice v0.0.0-00010101000000-000000000000\n",
		".golangci.yml":                "formatters:\n  settings:\n    goimports:\n      local-prefixes:\n        - example.com/yourservice\n",
		"README.md":                    "# yourservice\n\nhexchi is a template. `docker build -t yourservice .`\n",
		"config/config.yaml":           "core:\n  redis:\n    keyPrefix: \"yourservice:\"\n",
		"internal/app/app.go":          "package app\n\nimport _ \"example.com/yourservice/internal/x\"\n",
		"scripts/build-redis-image.sh": "#!/bin/sh\necho yourservice/redis:local\n",
		"config/dev/secrets/core.auth.session.cookie.sign": "dev secret\n",
	}
	for name, content := range want {
		if got := readFile(t, filepath.Join(dest, filepath.FromSlash(name))); got != content {
			t.Errorf("%s:\n%s\nwant:\n%s", name, got, content)
		}
	}
	if runtime.GOOS == "windows" {
		return
	}
	for _, name := range []string{"scripts/build-redis-image.sh", "go.mod", "config/dev/secrets/core.auth.session.cookie.sign"} {
		src, err := os.Stat(filepath.Join(root, filepath.FromSlash(name)))
		if err != nil {
			t.Fatal(err)
		}
		dst, err := os.Stat(filepath.Join(dest, filepath.FromSlash(name)))
		if err != nil || dst.Mode() != src.Mode() {
			t.Errorf("%s: mode %v (%v), want the source's %v", name, dst.Mode(), err, src.Mode())
		}
	}
}

// treeFiles lists the files and symlinks under dir, slash-separated, sorted.
func treeFiles(t *testing.T, dir string) []string {
	t.Helper()
	var files []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		files = append(files, filepath.ToSlash(rel))
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(files)
	return files
}

func writeFile(t *testing.T, name, content string, perm os.FileMode) {
	t.Helper()
	mustMkdir(t, filepath.Dir(name))
	if err := os.WriteFile(name, []byte(content), perm); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(name, perm); err != nil { // past the umask
		t.Fatal(err)
	}
}

func readFile(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func mustMkdir(t *testing.T, dir string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
}

// runGit runs git in a test's own repository, away from the user's and the
// system's git configuration.
func runGit(t *testing.T, dir string, args ...string) {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_CONFIG_GLOBAL="+os.DevNull, "GIT_CONFIG_NOSYSTEM=1")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// TestCopyFileRefusesPathsOutside: a path that leaves the tree is never
// written, whatever git's index says.
func TestCopyFileRefusesPathsOutside(t *testing.T) {
	root, dest := t.TempDir(), t.TempDir()
	for _, rel := range []string{"../outside", "/etc/passwd", "a/../../b"} {
		if _, _, err := copyFile(root, dest, rel, "100644", nil); err == nil {
			t.Errorf("copyFile(%q) = nil error, want a refusal", rel)
		}
	}
}
