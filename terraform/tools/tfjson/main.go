// Command tfjson helps the offline Terraform checks without other tools:
//
//	tfjson console            reads `tofu console` output of a jsonencode()
//	                          call and prints the JSON indented, keys sorted
//	tfjson compare-schema REF SERVED DECLARED
//	                          compares a stub provider's served schema with
//	                          the pinned release's, for the provider block and
//	                          every resource and data source the stub declares
//	tfjson cut-schema FULL TYPE...
//	                          prints the provider block and the named resources
//	                          and data sources ("data.NAME") of a release's
//	                          schema dump, as a stub's schema.json
//	tfjson check-floor FLOOR MODULE...
//	                          fails when a module uses a resource, data source
//	                          or argument that the oldest provider release its
//	                          version constraint admits lacks (FLOOR:
//	                          provider-floor.json)
package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"reflect"
	"sort"
	"strings"
)

func main() {
	var err error
	switch {
	case len(os.Args) == 2 && os.Args[1] == "console":
		err = console(os.Stdin, os.Stdout)
	case len(os.Args) == 5 && os.Args[1] == "compare-schema":
		err = compareSchema(os.Args[2], os.Args[3], os.Args[4])
	case len(os.Args) >= 4 && os.Args[1] == "check-floor":
		err = checkFloor(os.Args[2], os.Args[3:])
	case len(os.Args) >= 4 && os.Args[1] == "cut-schema":
		err = cutSchema(os.Args[2], os.Args[3:], os.Stdout)
	default:
		err = fmt.Errorf("usage: tfjson console | tfjson compare-schema REF SERVED DECLARED | tfjson cut-schema FULL TYPE... | tfjson check-floor FLOOR MODULE...")
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "tfjson:", err)
		os.Exit(1)
	}
}

func console(in io.Reader, out io.Writer) error {
	raw, err := io.ReadAll(in)
	if err != nil {
		return err
	}
	var encoded string // tofu console prints the jsonencode() result as a string literal
	if err := json.Unmarshal(bytes.TrimSpace(raw), &encoded); err != nil {
		return fmt.Errorf("console output is not a string: %w: %s", err, raw)
	}
	var v any
	if err := json.Unmarshal([]byte(encoded), &v); err != nil {
		return err
	}
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	_, err = out.Write(append(b, '\n'))
	return err
}

// providerSchemas is one provider's part of `providers schema -json`.
type providerSchemas struct {
	Provider          any            `json:"provider"`
	ResourceSchemas   map[string]any `json:"resource_schemas"`
	DataSourceSchemas map[string]any `json:"data_source_schemas,omitempty"`
}

type schemas struct {
	ProviderSchemas map[string]providerSchemas `json:"provider_schemas"`
}

// only is the one provider of a schema dump, whatever registry host it
// was installed from.
func (s schemas) only(path string) (providerSchemas, error) {
	if len(s.ProviderSchemas) != 1 {
		var keys []string
		for k := range s.ProviderSchemas {
			keys = append(keys, k)
		}
		return providerSchemas{}, fmt.Errorf("%s: want the schema of one provider, found %v", path, keys)
	}
	for _, p := range s.ProviderSchemas {
		return p, nil
	}
	panic("unreachable")
}

// loadSchemas reads one provider's schemas from a `providers schema
// -json` dump or from a stub's schema.json.
func loadSchemas(path string) (providerSchemas, error) {
	var all schemas
	if err := load(path, &all); err != nil {
		return providerSchemas{}, err
	}
	if len(all.ProviderSchemas) > 0 {
		return all.only(path)
	}
	var one providerSchemas
	err := load(path, &one)
	return one, err
}

func load(path string, v any) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}

// compareSchema checks that the stub serves (SERVED) what the release
// (REF) has, for the provider block and every resource and data source
// the stub declares (DECLARED, its schema.json).
func compareSchema(refPath, servedPath, declaredPath string) error {
	r, err := loadSchemas(refPath)
	if err != nil {
		return err
	}
	s, err := loadSchemas(servedPath)
	if err != nil {
		return err
	}
	declared, err := loadSchemas(declaredPath)
	if err != nil {
		return err
	}
	var problems []string
	if !reflect.DeepEqual(r.Provider, s.Provider) {
		problems = append(problems, "provider block")
	}
	n := 0
	for _, part := range []struct {
		what          string
		declared      map[string]any
		release, stub map[string]any
	}{
		{"", declared.ResourceSchemas, r.ResourceSchemas, s.ResourceSchemas},
		{"data ", declared.DataSourceSchemas, r.DataSourceSchemas, s.DataSourceSchemas},
	} {
		var names []string
		for name := range part.declared {
			names = append(names, name)
		}
		sort.Strings(names)
		for _, name := range names {
			n++
			if part.release[name] == nil {
				problems = append(problems, part.what+name+" (not in the release)")
				continue
			}
			if !reflect.DeepEqual(part.release[name], part.stub[name]) {
				problems = append(problems, part.what+name)
				a, _ := json.MarshalIndent(part.release[name], "", " ")
				b, _ := json.MarshalIndent(part.stub[name], "", " ")
				fmt.Printf("--- release %s%s\n%s\n+++ stub %s%s\n%s\n", part.what, name, a, part.what, name, b)
			}
		}
	}
	if len(problems) > 0 {
		return fmt.Errorf("stub schema differs from the release for: %s", strings.Join(problems, ", "))
	}
	fmt.Printf("stub schema matches the release for the provider block and %d resources and data sources\n", n)
	return nil
}

// cutSchema writes the part of a release's schema dump a stub serves: the
// provider block and the named resources ("aws_vpc") and data sources
// ("data.aws_region").
func cutSchema(fullPath string, types []string, out io.Writer) error {
	full, err := loadSchemas(fullPath)
	if err != nil {
		return err
	}
	cut := providerSchemas{Provider: full.Provider, ResourceSchemas: map[string]any{}, DataSourceSchemas: map[string]any{}}
	for _, t := range types {
		if name, ok := strings.CutPrefix(t, "data."); ok {
			if full.DataSourceSchemas[name] == nil {
				return fmt.Errorf("data source %s is not in %s", name, fullPath)
			}
			cut.DataSourceSchemas[name] = full.DataSourceSchemas[name]
		} else {
			if full.ResourceSchemas[t] == nil {
				return fmt.Errorf("resource %s is not in %s", t, fullPath)
			}
			cut.ResourceSchemas[t] = full.ResourceSchemas[t]
		}
	}
	b, err := json.MarshalIndent(cut, "", " ")
	if err != nil {
		return err
	}
	_, err = out.Write(append(b, '\n'))
	return err
}
