package config

import (
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// KeyInfo describes one configuration key.
type KeyInfo struct {
	// Key is the dotted path of the key, as in the YAML files and in the
	// names of secret files: "core.http.addr".
	Key string
	// Env is the environment variable that overrides the key:
	// "CORE_HTTP_ADDR".
	Env string
	// Default is the value in [Default], written as the environment variable
	// would hold it: durations like "5s", lists comma separated. It is empty
	// for secrets.
	Default string
	// Secret is true for keys read from the secrets directory, never from
	// YAML.
	Secret bool
	// Required is true for keys that [Load] refuses to leave empty.
	Required bool
}

// Keys lists every configuration key in the order of the Config struct. It is
// the source for documentation, such as the table of environment variables in
// the README.
func Keys() []KeyInfo {
	defaults := reflect.ValueOf(Default())
	fields := schema().fields
	keys := make([]KeyInfo, len(fields))
	for i, f := range fields {
		keys[i] = f.KeyInfo
		if !f.Secret {
			keys[i].Default = envForm(defaults.FieldByIndex(f.index))
		}
	}
	return keys
}

// field is one key of Config: a leaf of the struct tree.
type field struct {
	KeyInfo
	index []int        // for reflect.Value.FieldByIndex
	typ   reflect.Type // the Go type of the value
}

// keySchema is the shape of Config, read once from its struct tags.
type keySchema struct {
	fields   []field          // the leaves, in struct order
	byKey    map[string]field // the leaves by dotted key
	branches map[string]bool  // the dotted keys of nested structs: "core", "core.http", ...
}

// schema reads the struct tags of Config. The result never changes, so it is
// computed on first use only.
var schema = sync.OnceValue(func() keySchema {
	s := keySchema{byKey: map[string]field{}, branches: map[string]bool{}}
	s.walk(reflect.TypeFor[Config](), "", "", nil)
	for _, f := range s.fields {
		s.byKey[f.Key] = f
	}
	return s
})

// walk adds the fields of struct type t, whose dotted key is key and whose
// accumulated env-prefix is envPrefix. It mirrors what cleanenv does with
// env-prefix, so that Keys reports the variables cleanenv really reads.
func (s *keySchema) walk(t reflect.Type, key, envPrefix string, index []int) {
	for i := range t.NumField() {
		sf := t.Field(i)
		name, _, _ := strings.Cut(sf.Tag.Get("yaml"), ",")
		fieldKey := joinKey(key, name)
		fieldIndex := append(slices.Clone(index), i)

		if sf.Type.Kind() == reflect.Struct {
			s.branches[fieldKey] = true
			s.walk(sf.Type, fieldKey, envPrefix+sf.Tag.Get("env-prefix"), fieldIndex)
			continue
		}

		info := KeyInfo{
			Key:      fieldKey,
			Env:      envPrefix + sf.Tag.Get("env"),
			Required: sf.Tag.Get("required") == "true",
		}
		// A secret has yaml:"-", so its key comes from the secret tag.
		if secretKey := sf.Tag.Get("secret"); secretKey != "" {
			info.Key = secretKey
			info.Secret = true
		}
		s.fields = append(s.fields, field{KeyInfo: info, index: fieldIndex, typ: sf.Type})
	}
}

// joinKey appends name to the dotted key parent.
func joinKey(parent, name string) string {
	if parent == "" {
		return name
	}
	return parent + "." + name
}

// envForm writes a value the way its environment variable would hold it.
func envForm(v reflect.Value) string {
	switch x := v.Interface().(type) {
	case time.Duration:
		return shortDuration(x)
	case []string:
		return strings.Join(x, ",")
	case string:
		return x
	case bool:
		return strconv.FormatBool(x)
	case int:
		return strconv.Itoa(x)
	default:
		// A type added to Config later. fmt is safe even for a secret type,
		// because Secret and SecretList mask themselves.
		return fmt.Sprint(x)
	}
}

// shortDuration formats d like time.Duration.String without the zero units
// that String appends: "6h" rather than "6h0m0s", "5m" rather than "5m0s".
func shortDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}
