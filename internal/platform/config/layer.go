package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/ilyakaznacheev/cleanenv"
	"gopkg.in/yaml.v3"
)

// readYAML applies one YAML file over l.cfg: keys the file sets replace
// earlier values, nested structs merge key by key, and lists are replaced
// whole.
//
// yaml.v3, which cleanenv.ParseYAML uses, silently ignores unknown keys and
// reports a bad value without naming its key. So the file is first checked
// node by node against the keys of Config, which also records the file and
// line that set each key, and only then decoded.
func (l *loader) readYAML(path string) error {
	// The path is the operator's config directory and a checked APP_ENV,
	// not user input.
	data, err := os.ReadFile(path) //nolint:gosec // G304, see above
	if err != nil {
		return err // *fs.PathError names the operation and the path
	}
	root, err := parseDocument(path, data)
	if err != nil {
		return err
	}
	if root == nil {
		return nil // no keys: the layer changes nothing
	}
	if err := errors.Join(l.checkMapping(path, root, "")...); err != nil {
		return err
	}
	if err := cleanenv.ParseYAML(bytes.NewReader(data), &l.cfg); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

// parseDocument returns the top-level mapping of a config file, or nil for a
// file with no keys (empty, or comments only), which is a valid layer.
func parseDocument(path string, data []byte) (*yaml.Node, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	switch err := dec.Decode(&doc); {
	case errors.Is(err, io.EOF):
		return nil, nil // an empty file
	case err != nil:
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	// cleanenv.ParseYAML reads the first document only; a second one would
	// be ignored without a word.
	var next yaml.Node
	switch err := dec.Decode(&next); {
	case err == nil:
		return nil, fmt.Errorf("%s:%d: only one YAML document is allowed in a config file", path, next.Line)
	case !errors.Is(err, io.EOF):
		return nil, fmt.Errorf("%s: %w", path, err)
	}

	if len(doc.Content) == 0 {
		return nil, nil
	}
	root := doc.Content[0]
	switch {
	case isNull(root):
		return nil, nil
	case root.Kind != yaml.MappingNode:
		return nil, fmt.Errorf("%s:%d: want a mapping of keys at the top level, such as \"core:\"", path, root.Line)
	}
	return root, nil
}

// checkMapping checks the keys of the mapping node n, whose dotted key is
// parent, and records where each leaf key was set. It returns every problem
// it finds, so that one run shows all the mistakes in a file.
func (l *loader) checkMapping(path string, n *yaml.Node, parent string) []error {
	var errs []error
	firstLine := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		keyNode, value := n.Content[i], resolveAlias(n.Content[i+1])
		key := joinKey(parent, keyNode.Value)
		at := fmt.Sprintf("%s:%d", path, keyNode.Line)

		if first, dup := firstLine[keyNode.Value]; dup {
			errs = append(errs, fmt.Errorf("%s: duplicate key %s (first set at line %d)", at, key, first))
			continue
		}
		firstLine[keyNode.Value] = keyNode.Line

		if schema().branches[key] {
			switch {
			case value.Kind == yaml.MappingNode:
				errs = append(errs, l.checkMapping(path, value, key)...)
			case !isNull(value): // a key with nothing under it sets nothing
				errs = append(errs, fmt.Errorf("%s: %s: want a mapping of keys, got %s", at, key, describe(value)))
			}
			continue
		}

		f, ok := schema().byKey[key]
		switch {
		case !ok:
			errs = append(errs, fmt.Errorf("%s: unknown key %s%s", at, key, suggest(key)))
		case f.Secret:
			errs = append(errs, fmt.Errorf("%s: %s is a secret and may not be set in a config file: secrets belong in the secrets directory, as the file %s, or in %s",
				at, key, filepath.Join(l.opts.SecretsDir, key), f.Env))
		default:
			if err := checkValue(value, f.typ); err != nil {
				errs = append(errs, fmt.Errorf("%s: %s: %w", at, key, err))
				continue
			}
			l.src[key] = at
		}
	}
	return errs
}

// checkValue reports whether node decodes into a value of type t, with an
// error that says what the key wants.
func checkValue(node *yaml.Node, t reflect.Type) error {
	if isNull(node) {
		// yaml.v3 would empty a list but leave a string unchanged: refuse
		// both rather than explain the difference.
		return errors.New(`no value: delete the key to keep the default, or write "" or [] for an empty value`)
	}
	if err := node.Decode(reflect.New(t).Interface()); err != nil {
		return fmt.Errorf("invalid value %s: want %s", describe(node), wantOf(t))
	}
	return nil
}

// wantOf describes the values a key of type t accepts.
func wantOf(t reflect.Type) string {
	switch {
	case t == reflect.TypeFor[time.Duration]():
		return "a duration such as 500ms, 15s, 5m or 6h"
	case t.Kind() == reflect.Bool:
		return "true or false"
	case t.Kind() == reflect.Int:
		return "an integer"
	case t.Kind() == reflect.Slice:
		return `a list such as ["a", "b"]`
	default:
		return "a string"
	}
}

// describe names what a node holds, for an error message.
func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	default:
		return strconv.Quote(n.Value)
	}
}

// isNull reports whether n is an explicit or implicit YAML null ("key:" with
// nothing after it).
func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

// resolveAlias follows a YAML alias (*name) to the node it names.
func resolveAlias(n *yaml.Node) *yaml.Node {
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	return n
}

// suggest returns " (did you mean core.http.readTimeout?)" when an unknown key
// differs from a real one only in case, "_" or "-": the usual slips when a key
// is copied from an environment variable or another tool's config.
func suggest(key string) string {
	fold := func(k string) string {
		return strings.ToLower(strings.NewReplacer("_", "", "-", "").Replace(k))
	}
	want := fold(key)
	for branch := range schema().branches {
		if fold(branch) == want {
			return " (did you mean " + branch + "?)"
		}
	}
	for _, f := range schema().fields {
		if fold(f.Key) == want {
			return " (did you mean " + f.Key + "?)"
		}
	}
	return ""
}
