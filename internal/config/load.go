// Package config loads the collector's YAML configuration into the structs
// each component declares (with `yaml` tags), strictly: an unknown key or a
// value of the wrong type fails with the key's path and the reason. VCA_*
// environment variables override file values (VCA_LISTENERS_TCP_0_ADDRESS
// sets listeners.tcp[0].address); then every struct that has SetDefaults()
// fills its defaults, and every struct that has Validate() checks itself.
package config

import (
	"bytes"
	"encoding"
	"errors"
	"fmt"
	"os"
	"reflect"
	"sort"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Defaulter is implemented by config structs with default values.
type Defaulter interface{ SetDefaults() }

// Validator is implemented by config structs that check their values.
// Errors made with FieldError get the struct's path prepended.
type Validator interface{ Validate() error }

// EnvPrefix starts every environment override.
const EnvPrefix = "VCA_"

// LoadFile reads path and applies env (as from os.Environ) into dst, a
// pointer to a struct.
func LoadFile(path string, env []string, dst any) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if err := Load(data, env, dst); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

// Load decodes YAML data and env into dst, then defaults and validates it.
func Load(data []byte, env []string, dst any) error {
	v := reflect.ValueOf(dst)
	if v.Kind() != reflect.Pointer || v.Elem().Kind() != reflect.Struct {
		return errors.New("config: destination must be a pointer to a struct")
	}
	if len(bytes.TrimSpace(data)) > 0 {
		var doc yaml.Node
		if err := yaml.Unmarshal(data, &doc); err != nil {
			return fmt.Errorf("not valid YAML: %w", err)
		}
		if len(doc.Content) > 0 {
			if err := decode(doc.Content[0], v.Elem(), ""); err != nil {
				return err
			}
		}
	}
	if err := applyEnv(v.Elem(), env); err != nil {
		return err
	}
	walk(v.Elem(), "", func(path string, sv reflect.Value) error {
		if d, ok := sv.Addr().Interface().(Defaulter); ok {
			d.SetDefaults()
		}
		return nil
	})
	return walk(v.Elem(), "", func(path string, sv reflect.Value) error {
		if val, ok := sv.Addr().Interface().(Validator); ok {
			if err := val.Validate(); err != nil {
				return prefix(path, err)
			}
		}
		return nil
	})
}

var textUnmarshaler = reflect.TypeFor[encoding.TextUnmarshaler]()

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// fields maps yaml keys to struct field indexes.
func fields(t reflect.Type) (map[string]int, []string) {
	m := map[string]int{}
	var keys []string
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if name == "-" {
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		m[name] = i
		keys = append(keys, name)
	}
	return m, keys
}

func decode(n *yaml.Node, v reflect.Value, path string) error {
	if n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	if n.Tag == "!!null" && n.Kind == yaml.ScalarNode {
		v.Set(reflect.Zero(v.Type()))
		return nil
	}
	if v.CanAddr() && v.Addr().Type().Implements(textUnmarshaler) {
		if n.Kind != yaml.ScalarNode {
			return &PathError{Path: path, Err: errors.New("expected a single value")}
		}
		if err := v.Addr().Interface().(encoding.TextUnmarshaler).UnmarshalText([]byte(n.Value)); err != nil {
			return &PathError{Path: path, Err: err}
		}
		return nil
	}
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			v.Set(reflect.New(v.Type().Elem()))
		}
		return decode(n, v.Elem(), path)
	case reflect.Struct:
		if n.Kind != yaml.MappingNode {
			return &PathError{Path: path, Err: fmt.Errorf("expected a mapping of keys, got %s", nodeKind(n))}
		}
		idx, keys := fields(v.Type())
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i].Value
			fi, ok := idx[k]
			if !ok {
				sort.Strings(keys)
				return &PathError{Path: join(path, k), Err: fmt.Errorf("unknown key (known here: %s)", strings.Join(keys, ", "))}
			}
			if err := decode(n.Content[i+1], v.Field(fi), join(path, k)); err != nil {
				return err
			}
		}
		return nil
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			return &PathError{Path: path, Err: fmt.Errorf("expected a list, got %s", nodeKind(n))}
		}
		s := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
		for i, c := range n.Content {
			if err := decode(c, s.Index(i), fmt.Sprintf("%s[%d]", path, i)); err != nil {
				return err
			}
		}
		v.Set(s)
		return nil
	case reflect.Map:
		if n.Kind != yaml.MappingNode || v.Type().Key().Kind() != reflect.String {
			return &PathError{Path: path, Err: fmt.Errorf("expected a mapping, got %s", nodeKind(n))}
		}
		m := reflect.MakeMap(v.Type())
		for i := 0; i+1 < len(n.Content); i += 2 {
			ev := reflect.New(v.Type().Elem()).Elem()
			if err := decode(n.Content[i+1], ev, join(path, n.Content[i].Value)); err != nil {
				return err
			}
			m.SetMapIndex(reflect.ValueOf(n.Content[i].Value), ev)
		}
		v.Set(m)
		return nil
	}
	if n.Kind != yaml.ScalarNode {
		return &PathError{Path: path, Err: fmt.Errorf("expected a single value, got %s", nodeKind(n))}
	}
	return setScalar(v, n.Value, path)
}

func nodeKind(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	}
	return "a single value"
}

func setScalar(v reflect.Value, s, path string) error {
	if v.CanAddr() && v.Addr().Type().Implements(textUnmarshaler) {
		if err := v.Addr().Interface().(encoding.TextUnmarshaler).UnmarshalText([]byte(s)); err != nil {
			return &PathError{Path: path, Err: err}
		}
		return nil
	}
	switch v.Kind() {
	case reflect.String:
		v.SetString(s)
	case reflect.Bool:
		b, err := strconv.ParseBool(s)
		if err != nil {
			return &PathError{Path: path, Err: fmt.Errorf("%q is not true or false", s)}
		}
		v.SetBool(b)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		i, err := strconv.ParseInt(s, 10, v.Type().Bits())
		if err != nil {
			return &PathError{Path: path, Err: fmt.Errorf("%q is not a whole number", s)}
		}
		v.SetInt(i)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		u, err := strconv.ParseUint(s, 10, v.Type().Bits())
		if err != nil {
			return &PathError{Path: path, Err: fmt.Errorf("%q is not a non-negative whole number", s)}
		}
		v.SetUint(u)
	case reflect.Float32, reflect.Float64:
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return &PathError{Path: path, Err: fmt.Errorf("%q is not a number", s)}
		}
		v.SetFloat(f)
	case reflect.Slice:
		// From the environment: a comma-separated list.
		parts := strings.Split(s, ",")
		out := reflect.MakeSlice(v.Type(), 0, len(parts))
		for i, p := range parts {
			if p = strings.TrimSpace(p); p == "" {
				continue
			}
			e := reflect.New(v.Type().Elem()).Elem()
			if err := setScalar(e, p, fmt.Sprintf("%s[%d]", path, i)); err != nil {
				return err
			}
			out = reflect.Append(out, e)
		}
		v.Set(out)
	default:
		return &PathError{Path: path, Err: fmt.Errorf("cannot be set from text (%s)", v.Type())}
	}
	return nil
}

// walk calls fn for every struct reachable from v (v first), with its path.
func walk(v reflect.Value, path string, fn func(string, reflect.Value) error) error {
	switch v.Kind() {
	case reflect.Pointer:
		if !v.IsNil() {
			return walk(v.Elem(), path, fn)
		}
	case reflect.Struct:
		if err := fn(path, v); err != nil {
			return err
		}
		idx, keys := fields(v.Type())
		for _, k := range keys {
			if err := walk(v.Field(idx[k]), join(path, k), fn); err != nil {
				return err
			}
		}
	case reflect.Slice:
		for i := 0; i < v.Len(); i++ {
			if err := walk(v.Index(i), fmt.Sprintf("%s[%d]", path, i), fn); err != nil {
				return err
			}
		}
	}
	return nil
}

// applyEnv sets every leaf that has a VCA_ variable and refuses VCA_
// variables that name no key, so a misspelt override cannot pass unseen.
func applyEnv(root reflect.Value, env []string) error {
	vars := map[string]string{}
	for _, kv := range env {
		if k, val, ok := strings.Cut(kv, "="); ok && strings.HasPrefix(k, EnvPrefix) {
			vars[k] = val
		}
	}
	if len(vars) == 0 {
		return nil
	}
	used := map[string]bool{}
	var set func(v reflect.Value, name, path string) error
	set = func(v reflect.Value, name, path string) error {
		structList := v.Kind() == reflect.Slice && v.Type().Elem().Kind() == reflect.Struct &&
			!reflect.PointerTo(v.Type().Elem()).Implements(textUnmarshaler)
		isLeaf := v.Kind() != reflect.Struct && v.Kind() != reflect.Pointer && !structList
		if v.CanAddr() && v.Addr().Type().Implements(textUnmarshaler) {
			isLeaf = true
		}
		if isLeaf {
			if s, ok := vars[name]; ok {
				used[name] = true
				return setScalar(v, s, path+" (from "+name+")")
			}
			return nil
		}
		switch v.Kind() {
		case reflect.Pointer:
			if v.IsNil() {
				if !hasPrefixed(vars, name+"_") {
					return nil
				}
				v.Set(reflect.New(v.Type().Elem()))
			}
			return set(v.Elem(), name, path)
		case reflect.Slice:
			for i := 0; i < v.Len(); i++ {
				if err := set(v.Index(i), fmt.Sprintf("%s_%d", name, i), fmt.Sprintf("%s[%d]", path, i)); err != nil {
					return err
				}
			}
			return nil
		case reflect.Struct:
			idx, keys := fields(v.Type())
			for _, k := range keys {
				if err := set(v.Field(idx[k]), name+"_"+strings.ToUpper(k), join(path, k)); err != nil {
					return err
				}
			}
		}
		return nil
	}
	if err := set(root, strings.TrimSuffix(EnvPrefix, "_"), ""); err != nil {
		return err
	}
	var unknown []string
	for k := range vars {
		if !used[k] {
			unknown = append(unknown, k)
		}
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		return &PathError{Path: unknown[0], Err: errors.New("environment variable names no configuration key")}
	}
	return nil
}

func hasPrefixed(vars map[string]string, p string) bool {
	for k := range vars {
		if strings.HasPrefix(k, p) {
			return true
		}
	}
	return false
}
