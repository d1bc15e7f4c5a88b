package main

import (
	"bytes"
	"go/format"
	"regexp"
	"strings"
)

// A rule rewrites one kind of occurrence of the template's identity in a
// text file. path is slash-separated and relative to the module root.
type rule struct {
	name  string
	apply func(path, text string) string
}

// rules returns the rewriting rules for a new module path and its service
// name, in the order they run.
func rules(newModule, name string) []rule {
	return []rule{
		{"module path", func(_, s string) string { return replaceModulePath(s, newModule) }},
		{"Redis key prefix", func(_, s string) string { return replaceKeyPrefix(s, name) }},
		{"Docker image name", func(_, s string) string { return replaceImageNames(s, name) }},
		{"README title", func(p, s string) string {
			if p != "README.md" {
				return s
			}
			return replaceTitle(s, name)
		}},
	}
}

// rewriteFile applies rs to the contents of the file at path and returns
// the new contents and the names of the rules that changed something. A
// binary file (one with a NUL byte, as git judges) is left alone. A Go file
// that was gofmt-clean is formatted again, so that a renamed import sorts
// into its place in its group and the copy stays gofmt-clean.
func rewriteFile(path string, data []byte, rs []rule) ([]byte, []string) {
	if bytes.IndexByte(data, 0) >= 0 {
		return data, nil
	}
	text := string(data)
	var fired []string
	for _, r := range rs {
		if out := r.apply(path, text); out != text {
			text = out
			fired = append(fired, r.name)
		}
	}
	if fired == nil {
		return data, nil
	}
	out := []byte(text)
	if strings.HasSuffix(path, ".go") {
		if clean, err := format.Source(data); err == nil && bytes.Equal(clean, data) {
			if formatted, err := format.Source(out); err == nil {
				out = formatted
			}
		}
	}
	return out, fired
}

// replaceModulePath replaces the template's module path as a whole token:
// github.com/hexchi/starter, .../starter/internal/app and
// .../starter@v1.0.0 change, github.com/hexchi/starterkit does not. A line
// that mentions gonew keeps it, since there it names the template to copy
// from, not this module.
func replaceModulePath(s, newModule string) string {
	return replaceToken(s, templateModule, newModule, func(s string, i, j int) bool {
		if i > 0 && isPathByte(s[i-1]) {
			return false
		}
		// A following path byte continues the element (starterkit), except
		// a dot that ends a sentence.
		if j < len(s) && isPathByte(s[j]) && (s[j] != '.' || j+1 < len(s) && isPathByte(s[j+1])) {
			return false
		}
		return !strings.Contains(lineAt(s, i), "gonew")
	})
}

// replaceKeyPrefix replaces the Redis key prefixes "hexchi:" and the
// tests' "hexchi-test:" (in YAML, Go, README tables, "~hexchi:*" ACLs and
// "hexchi:s:<handle>" keys). A colon followed by a space or a line end is
// punctuation in prose ("hexchi: setting it ...") and stays.
func replaceKeyPrefix(s, name string) string {
	match := func(s string, i, j int) bool {
		return startsName(s, i) && j < len(s) && !isSpace(s[j])
	}
	s = replaceToken(s, templateName+":", name+":", match)
	return replaceToken(s, templateName+"-test:", name+"-test:", match)
}

// dockerCommand matches a line that runs a docker command naming an image.
var dockerCommand = regexp.MustCompile(`\bdocker\s+(build|run|create|push|pull|tag|rmi)\b`)

// replaceImageNames replaces the Docker image repository "hexchi/" where
// it is tagged or quoted ("hexchi/redis:local", "hexchi/app"), leaving prose
// such as "hexchi/scs load runs" alone; and on the lines of a docker
// command (with its backslash continuations), the image "hexchi" as a word
// of its own ("docker build -t hexchi .", "docker run ... hexchi"; from the
// command on, and in Markdown to the end of its `code`). The
// docker network of the image test, "hexchi-image-test-", is a Docker name
// too.
func replaceImageNames(s, name string) string {
	s = replaceToken(s, templateName+"/", name+"/", func(s string, i, j int) bool {
		if !startsName(s, i) {
			return false
		}
		k := j
		for k < len(s) && (isLowerAlnum(s[k]) || strings.IndexByte("._-", s[k]) >= 0) {
			k++
		}
		return k > j && k < len(s) && strings.IndexByte(":@\"'`", s[k]) >= 0
	})
	s = replaceToken(s, `"`+templateName+`-image-test-"`, `"`+name+`-image-test-"`, nil)

	lines := strings.SplitAfter(s, "\n")
	inCommand := false // a continuation line of a docker command
	for n, line := range lines {
		from, to := 0, len(line)
		if !inCommand {
			loc := dockerCommand.FindStringIndex(line)
			if loc == nil {
				continue
			}
			// From the command on; in Markdown `code`, to its end.
			from = loc[0]
			if end := strings.IndexByte(line[from:], '`'); from > 0 && line[from-1] == '`' && end >= 0 {
				to = from + end
			}
		}
		words := replaceToken(line[from:to], templateName, name, func(s string, i, j int) bool {
			before := i == 0 || strings.IndexByte(" \t=\"", s[i-1]) >= 0
			after := j == len(s) || strings.IndexByte(" \t\r\n:/\"", s[j]) >= 0
			return before && after
		})
		lines[n] = line[:from] + words + line[to:]
		inCommand = to == len(line) && strings.HasSuffix(strings.TrimRight(line, " \t\r\n"), `\`)
	}
	return strings.Join(lines, "")
}

// replaceTitle renames the project in the first Markdown heading ("# hexchi"
// becomes "# yourservice"), and only there.
func replaceTitle(s, name string) string {
	start := 0
	for start < len(s) {
		end := strings.IndexByte(s[start:], '\n')
		if end < 0 {
			end = len(s)
		} else {
			end += start
		}
		if line := s[start:end]; strings.HasPrefix(line, "# ") {
			heading := replaceToken(line, "# "+templateName, "# "+name, func(s string, i, j int) bool {
				return i == 0 && (j == len(s) || !isPathByte(s[j]))
			})
			return s[:start] + heading + s[end:]
		}
		start = end + 1
	}
	return s
}

// replaceToken replaces each occurrence s[i:j] of old for which match(s,
// i, j) holds (every occurrence if match is nil) with repl.
func replaceToken(s, old, repl string, match func(s string, i, j int) bool) string {
	var b strings.Builder
	last, changed := 0, false
	for from := 0; ; {
		k := strings.Index(s[from:], old)
		if k < 0 {
			break
		}
		i, j := from+k, from+k+len(old)
		if match == nil || match(s, i, j) {
			b.WriteString(s[last:i])
			b.WriteString(repl)
			last, changed = j, true
		}
		from = j
	}
	if !changed {
		return s
	}
	b.WriteString(s[last:])
	return b.String()
}

// startsName reports whether a name starts at s[i]: whether s[i-1] is not
// part of a longer name or path (as in "myhexchi:" or "github.com/hexchi/").
// A dash after a letter or digit joins ("foo-hexchi"), other dashes do not
// (the shell's "${1:-hexchi/redis:local}"); a tilde does not (the Redis ACL
// "~hexchi:*").
func startsName(s string, i int) bool {
	if i == 0 {
		return true
	}
	switch c := s[i-1]; c {
	case '-':
		return i < 2 || !isAlnum(s[i-2])
	case '~':
		return true
	default:
		return !isPathByte(c) && c != '/'
	}
}

// lineAt returns the line of s that holds byte i.
func lineAt(s string, i int) string {
	start := strings.LastIndexByte(s[:i], '\n') + 1
	end := strings.IndexByte(s[i:], '\n')
	if end < 0 {
		return s[start:]
	}
	return s[start : i+end]
}

func isPathByte(c byte) bool { return c < 0x80 && isPathChar(rune(c)) }

func isAlnum(c byte) bool { return isLowerAlnum(c) || c >= 'A' && c <= 'Z' }

func isLowerAlnum(c byte) bool { return c >= 'a' && c <= 'z' || c >= '0' && c <= '9' }

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }
