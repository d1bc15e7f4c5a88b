package main

import (
	"errors"
	"fmt"
	"strings"
)

// serviceName checks that path is a valid Go module path and returns the
// service's name: its last element, or the one before a major version
// suffix (example.com/yourservice/v2 is "yourservice"). The name becomes
// the Redis key prefix ("yourservice:") and the Docker image repository
// ("yourservice/app"), so it must be [a-z][a-z0-9-]* and not end in a dash.
func serviceName(path string) (string, error) {
	if err := checkModulePath(path); err != nil {
		return "", fmt.Errorf("module path %q: %w", path, err)
	}
	elems := strings.Split(path, "/")
	name := elems[len(elems)-1]
	if isMajorSuffix(name) && len(elems) > 1 {
		if name == "v1" || name[1] == '0' {
			return "", fmt.Errorf("module path %q: major version suffix /%s is not allowed (only /v2, /v3, ...)", path, name)
		}
		name = elems[len(elems)-2]
	}
	if err := checkName(name); err != nil {
		return "", fmt.Errorf("module path %q: service name %q (its last element): %w", path, name, err)
	}
	if path == templateModule {
		return "", fmt.Errorf("module path %q is the template's own", path)
	}
	return name, nil
}

// checkModulePath applies the rules of golang.org/x/mod/module.CheckImportPath
// that matter here: slash-separated non-empty elements of ASCII letters,
// digits and "-._~", none of them "." or "..", none starting or ending
// with a dot, and a first element in lower case that does not start with
// a dash.
func checkModulePath(path string) error {
	if path == "" {
		return errors.New("empty")
	}
	if strings.HasPrefix(path, "/") || strings.HasSuffix(path, "/") {
		return errors.New("leading or trailing slash")
	}
	for i, elem := range strings.Split(path, "/") {
		if elem == "" {
			return errors.New("double slash")
		}
		if elem == "." || elem == ".." {
			return fmt.Errorf("element %q is not allowed", elem)
		}
		if strings.HasPrefix(elem, ".") || strings.HasSuffix(elem, ".") {
			return fmt.Errorf("element %q starts or ends with a dot", elem)
		}
		for _, r := range elem {
			if !isPathChar(r) {
				return fmt.Errorf("element %q has invalid character %q (allowed: ASCII letters, digits, and - . _ ~)", elem, r)
			}
		}
		if i == 0 {
			if elem != strings.ToLower(elem) {
				return fmt.Errorf("first element %q must be lower case", elem)
			}
			if strings.HasPrefix(elem, "-") {
				return fmt.Errorf("first element %q starts with a dash", elem)
			}
		}
	}
	return nil
}

// checkName accepts [a-z][a-z0-9-]* without a trailing dash (which a Docker
// repository name may not have).
func checkName(name string) error {
	if name == "" || name[0] < 'a' || name[0] > 'z' {
		return errors.New("must start with a lower-case letter a-z")
	}
	for _, r := range name {
		if (r < 'a' || r > 'z') && (r < '0' || r > '9') && r != '-' {
			return fmt.Errorf("has %q: only lower-case letters, digits and dashes are allowed ([a-z][a-z0-9-]*)", r)
		}
	}
	if strings.HasSuffix(name, "-") {
		return errors.New("ends with a dash, which a Docker image name may not")
	}
	return nil
}

// isMajorSuffix reports whether elem looks like a major version suffix:
// "v" and digits ("v2", "v10", and the invalid "v0", "v1", "v02").
func isMajorSuffix(elem string) bool {
	if len(elem) < 2 || elem[0] != 'v' {
		return false
	}
	for _, r := range elem[1:] {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// isPathChar reports whether r may appear in a module path element.
func isPathChar(r rune) bool {
	return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' ||
		r == '-' || r == '.' || r == '_' || r == '~'
}
