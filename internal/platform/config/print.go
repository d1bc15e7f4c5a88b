package config

import (
	"fmt"
	"io"
	"reflect"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Print writes the configuration as YAML, in the shape and with the key names
// of the config files, so that a printed value can be found in (or copied to)
// a file. Durations print as in the files ("6h"). Secrets print masked, under
// their key, so that the output shows whether a secret is set without showing
// it; the loader refuses those keys in a file, so the output cannot be fed
// back with masks in place of secrets.
func (c Config) Print(w io.Writer) error {
	root := &yaml.Node{
		Kind:        yaml.MappingNode,
		HeadComment: "Effective configuration. Secrets are masked.",
	}
	mappings := map[string]*yaml.Node{"": root}

	cfg := reflect.ValueOf(c)
	for _, f := range schema().fields {
		parent, name := splitKey(f.Key)
		value, err := printNode(cfg.FieldByIndex(f.index))
		if err != nil {
			return fmt.Errorf("print config: %s: %w", f.Key, err)
		}
		m := mappingFor(mappings, parent)
		m.Content = append(m.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: name}, value)
	}

	enc := yaml.NewEncoder(w)
	enc.SetIndent(2)
	if err := enc.Encode(root); err != nil {
		return fmt.Errorf("print config: %w", err)
	}
	if err := enc.Close(); err != nil {
		return fmt.Errorf("print config: %w", err)
	}
	return nil
}

// printNode encodes one value. Secret and SecretList encode as their mask,
// because they implement encoding.TextMarshaler.
func printNode(v reflect.Value) (*yaml.Node, error) {
	value := v.Interface()
	if d, ok := value.(time.Duration); ok {
		value = shortDuration(d) // yaml.v3 would write 6h0m0s
	}
	var n yaml.Node
	if err := n.Encode(value); err != nil {
		return nil, err
	}
	if n.Kind == yaml.SequenceNode {
		n.Style = yaml.FlowStyle // addrs: [127.0.0.1:6379], as in the files
	}
	return &n, nil
}

// mappingFor returns the mapping node for the dotted key, adding it and its
// parents to the tree on first use. Keys come in struct order, so the
// printed order matches the struct and the files.
func mappingFor(mappings map[string]*yaml.Node, key string) *yaml.Node {
	if m, ok := mappings[key]; ok {
		return m
	}
	parentKey, name := splitKey(key)
	parent := mappingFor(mappings, parentKey)
	m := &yaml.Node{Kind: yaml.MappingNode}
	parent.Content = append(parent.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: name}, m)
	mappings[key] = m
	return m
}

// splitKey splits "core.http.addr" into "core.http" and "addr".
func splitKey(key string) (parent, name string) {
	i := strings.LastIndexByte(key, '.')
	if i < 0 {
		return "", key
	}
	return key[:i], key[i+1:]
}
