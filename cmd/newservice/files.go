package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
)

// findTemplateRoot returns the module root of the template: the nearest
// directory at or above dir whose go.mod declares templateModule. (The
// nearest go.mod is not enough: from bench/ it is bench's own.)
func findTemplateRoot(dir string) (string, error) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return "", fmt.Errorf("template directory: %w", err)
	}
	if fi, err := os.Stat(dir); err != nil {
		return "", fmt.Errorf("template directory: %w", err)
	} else if !fi.IsDir() {
		return "", fmt.Errorf("template directory %s is not a directory", dir)
	}
	var seen []string
	for d := dir; ; d = filepath.Dir(d) {
		data, err := os.ReadFile(filepath.Join(d, "go.mod")) //nolint:gosec // G304: reading the go.mod files above the user's own directory is the point
		if err == nil {
			mod := modulePath(data)
			if mod == templateModule {
				return d, nil
			}
			seen = append(seen, fmt.Sprintf("%s (module %s)", filepath.Join(d, "go.mod"), mod))
		} else if !errors.Is(err, fs.ErrNotExist) {
			return "", fmt.Errorf("read %s: %w", filepath.Join(d, "go.mod"), err)
		}
		if filepath.Dir(d) == d {
			break
		}
	}
	if len(seen) == 0 {
		return "", fmt.Errorf("no go.mod in %s or above: run newservice inside the template, or give -from", dir)
	}
	return "", fmt.Errorf("no go.mod of module %s in %s or above (found %s): newservice copies the hexchi template only",
		templateModule, dir, strings.Join(seen, ", "))
}

// modulePath returns the path of a go.mod's module directive, or "".
func modulePath(gomod []byte) string {
	sc := bufio.NewScanner(bytes.NewReader(gomod))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) >= 2 && f[0] == "module" {
			return strings.Trim(f[1], `"`+"`")
		}
	}
	return ""
}

// checkDest returns dest as an absolute path after checking that it does
// not exist or is an empty directory, and is not inside root.
func checkDest(root, dest string) (string, error) {
	if dest == "" {
		return "", errors.New("empty destination directory")
	}
	abs, err := filepath.Abs(dest)
	if err != nil {
		return "", fmt.Errorf("destination %s: %w", dest, err)
	}
	if within(root, abs) {
		return "", fmt.Errorf("destination %s is inside the template %s: pick a directory outside it (e.g. %s)",
			abs, root, filepath.Join(filepath.Dir(root), filepath.Base(abs)))
	}
	fi, err := os.Stat(abs)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return abs, nil
	case err != nil:
		return "", fmt.Errorf("destination: %w", err)
	case !fi.IsDir():
		return "", fmt.Errorf("destination %s exists and is not a directory", abs)
	}
	entries, err := os.ReadDir(abs)
	if err != nil {
		return "", fmt.Errorf("destination: %w", err)
	}
	if len(entries) > 0 {
		return "", fmt.Errorf("destination %s is not empty (it has %s%s): give a new or empty directory",
			abs, entries[0].Name(), map[bool]string{true: ", ...", false: ""}[len(entries) > 1])
	}
	return abs, nil
}

// within reports whether path is root or below it, comparing symlink-free
// paths where they exist.
func within(root, path string) bool {
	root, path = resolve(root), resolve(path)
	rel, err := filepath.Rel(root, path)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator))
}

// resolve resolves the symlinks of the longest existing prefix of path.
func resolve(path string) string {
	var rest []string
	for p := filepath.Clean(path); ; p = filepath.Dir(p) {
		if r, err := filepath.EvalSymlinks(p); err == nil {
			return filepath.Join(append([]string{r}, rest...)...)
		}
		if filepath.Dir(p) == p {
			return path
		}
		rest = append([]string{filepath.Base(p)}, rest...)
	}
}

// excluded says why the file at rel (slash-separated, relative to the
// template's root) must not be copied, or "" if it may be.
func excluded(rel string) string {
	parts := strings.Split(rel, "/")
	for i, p := range parts {
		switch p {
		case ".git":
			return "git metadata"
		case "secrets":
			if dir := strings.Join(parts[:i], "/"); dir != "config/dev" && dir != "config/test" {
				return "secrets (only config/dev and config/test secrets are copied)"
			}
		}
	}
	switch {
	case parts[0] == "bin":
		return "build output"
	case strings.HasPrefix(rel, "cmd/newservice/"):
		return "template tooling"
	}
	return ""
}

// listing is the set of files to copy, by slash-separated relative path,
// with the file mode git records for tracked files ("100755"; none for
// untracked ones).
type listing struct {
	source  string // how the list was made, for the report
	files   []string
	gitMode map[string]string
}

// listFiles lists the template's files as git sees them (tracked, plus
// untracked but not ignored), or, outside a git checkout, every file.
func listFiles(root string) (listing, error) {
	if !inGitCheckout(root) {
		l, err := walkFiles(root)
		l.source = "not a git checkout: every file but .git/"
		return l, err
	}
	if _, err := exec.LookPath("git"); err != nil {
		return listing{}, fmt.Errorf("%s is a git checkout, and telling its ignored files needs git: %w", root, err)
	}
	l := listing{source: "git: tracked and untracked-not-ignored files", gitMode: map[string]string{}}
	staged, err := git(root, "ls-files", "--stage", "-z")
	if err != nil {
		return listing{}, err
	}
	seen := map[string]bool{}
	for _, entry := range strings.Split(string(staged), "\x00") {
		// "<mode> <object> <stage>\t<path>"; merge conflicts list a path
		// once per stage.
		meta, p, ok := strings.Cut(entry, "\t")
		if !ok || seen[p] {
			continue
		}
		seen[p] = true
		l.files = append(l.files, p)
		if f := strings.Fields(meta); len(f) > 0 {
			l.gitMode[p] = f[0]
		}
	}
	others, err := git(root, "ls-files", "--others", "--exclude-standard", "-z")
	if err != nil {
		return listing{}, err
	}
	for _, p := range strings.Split(string(others), "\x00") {
		if p != "" && !seen[p] && !strings.HasSuffix(p, "/") {
			seen[p] = true
			l.files = append(l.files, p)
		}
	}
	sort.Strings(l.files)
	return l, nil
}

// inGitCheckout reports whether dir or a directory above it has a .git.
func inGitCheckout(dir string) bool {
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Lstat(filepath.Join(d, ".git")); err == nil {
			return true
		}
		if filepath.Dir(d) == d {
			return false
		}
	}
}

// git runs git in dir and returns its standard output.
func git(dir string, args ...string) ([]byte, error) {
	//nolint:gosec,noctx // G204: git with arguments of this program's own; a command-line tool's short query, nothing to cancel it
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("git %s in %s: %w: %s", strings.Join(args, " "), dir, err, strings.TrimSpace(stderr.String()))
	}
	return out, nil
}

// walkFiles lists every file and symlink under root, skipping .git
// directories.
func walkFiles(root string) (listing, error) {
	var l listing
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if d.Name() == ".git" {
				return filepath.SkipDir
			}
			return nil
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		l.files = append(l.files, filepath.ToSlash(rel))
		return nil
	})
	if err != nil {
		return listing{}, fmt.Errorf("list %s: %w", root, err)
	}
	return l, nil
}

// result is what copyTemplate did.
type result struct {
	source    string
	copied    int
	skipped   []string // "path: reason"
	rewritten []rewritten
	warnings  []string
}

type rewritten struct {
	path  string
	rules []string
}

// copyTemplate copies the template at root to dest (new, or empty) and
// renames it to newModule and name. On an error it removes what it wrote.
func copyTemplate(root, dest, newModule, name string) (res result, err error) {
	l, err := listFiles(root)
	if err != nil {
		return result{}, err
	}
	res.source = l.source

	created := false
	if _, statErr := os.Stat(dest); errors.Is(statErr, fs.ErrNotExist) {
		//nolint:gosec // G301: a source tree, as git checks out one
		if err := os.MkdirAll(dest, 0o755); err != nil {
			return result{}, fmt.Errorf("create destination: %w", err)
		}
		created = true
	}
	defer func() {
		if err != nil {
			cleanUp(dest, created)
		}
	}()

	rs := rules(newModule, name)
	for _, rel := range l.files {
		if why := excluded(rel); why != "" {
			res.skipped = append(res.skipped, rel+": "+why)
			continue
		}
		fired, ok, err := copyFile(root, dest, rel, l.gitMode[rel], rs)
		if err != nil {
			return result{}, err
		}
		if !ok {
			res.warnings = append(res.warnings, rel+" is listed by git but missing (deleted, not committed?): not copied")
			continue
		}
		res.copied++
		if fired != nil {
			res.rewritten = append(res.rewritten, rewritten{rel, fired})
		}
	}
	for _, must := range []string{"go.mod", "bench/go.mod"} {
		if _, err := os.Stat(filepath.Join(dest, filepath.FromSlash(must))); err != nil {
			res.warnings = append(res.warnings, must+" was not copied: is it tracked?")
		}
	}
	return res, nil
}

// copyFile copies one file (or symlink) and rewrites it with rs. It reports
// false if the file does not exist (listed by git, deleted since).
func copyFile(root, dest, rel, gitMode string, rs []rule) ([]string, bool, error) {
	if gitMode == "160000" { // a submodule: a commit, not a file
		return nil, false, nil
	}
	// git lists paths inside the tree; anything else (a "../x" from a
	// tampered index) is refused rather than written outside dest.
	if !filepath.IsLocal(filepath.FromSlash(rel)) {
		return nil, false, fmt.Errorf("copy %s: not a path inside the template", rel)
	}
	src := filepath.Join(root, filepath.FromSlash(rel))
	dst := filepath.Join(dest, filepath.FromSlash(rel))
	fi, err := os.Lstat(src)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("copy %s: %w", rel, err)
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil { //nolint:gosec // G301: a source tree, as git checks out one
		return nil, false, fmt.Errorf("copy %s: %w", rel, err)
	}
	switch {
	case fi.Mode()&fs.ModeSymlink != 0:
		target, err := os.Readlink(src)
		if err != nil {
			return nil, false, fmt.Errorf("copy %s: %w", rel, err)
		}
		if err := os.Symlink(target, dst); err != nil {
			return nil, false, fmt.Errorf("copy %s: %w", rel, err)
		}
		return nil, true, nil
	case !fi.Mode().IsRegular():
		return nil, false, fmt.Errorf("copy %s: not a regular file (%s)", rel, fi.Mode().Type())
	}
	data, err := os.ReadFile(src) //nolint:gosec // G304: a file git lists in the template, the copy's source
	if err != nil {
		return nil, false, fmt.Errorf("copy %s: %w", rel, err)
	}
	data, fired := rewriteFile(rel, data, rs)
	perm := fi.Mode().Perm()
	if gitMode == "100755" { // git says executable, whatever the checkout kept (core.fileMode=false)
		perm |= 0o111 & (perm >> 2) // x wherever r is set
	}
	if err := os.WriteFile(dst, data, perm); err != nil { //nolint:gosec // G703: dst is dest joined with a local path (checked above)
		return nil, false, fmt.Errorf("copy %s: %w", rel, err)
	}
	// WriteFile's mode is masked by the umask: set the source's exactly.
	if err := os.Chmod(dst, perm); err != nil {
		return nil, false, fmt.Errorf("copy %s: %w", rel, err)
	}
	return fired, true, nil
}

// cleanUp removes what a failed copy wrote: dest itself if copyTemplate
// created it, its contents if it was an empty directory before.
func cleanUp(dest string, created bool) {
	if created {
		_ = os.RemoveAll(dest)
		return
	}
	entries, _ := os.ReadDir(dest)
	for _, e := range entries {
		_ = os.RemoveAll(filepath.Join(dest, e.Name()))
	}
}
