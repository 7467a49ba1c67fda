// Command tfjson helps the offline Terraform checks without other tools:
//
//	tfjson console            reads `tofu console` output of a jsonencode()
//	                          call and prints the JSON indented, keys sorted
//	tfjson compare-schema REF SERVED DECLARED
//	                          compares the stub provider's served schema with
//	                          the pinned release's, for the provider block and
//	                          every resource the stub declares
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
	default:
		err = fmt.Errorf("usage: tfjson console | tfjson compare-schema REF SERVED DECLARED")
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

type schemas struct {
	ProviderSchemas map[string]struct {
		Provider        any            `json:"provider"`
		ResourceSchemas map[string]any `json:"resource_schemas"`
	} `json:"provider_schemas"`
}

func load(path string, v any) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}

func compareSchema(refPath, servedPath, declaredPath string) error {
	var ref, served schemas
	var declared struct {
		ResourceSchemas map[string]any `json:"resource_schemas"`
	}
	for p, v := range map[string]any{refPath: &ref, servedPath: &served, declaredPath: &declared} {
		if err := load(p, v); err != nil {
			return err
		}
	}
	const key = "registry.opentofu.org/aviatrixsystems/aviatrix"
	r, s := ref.ProviderSchemas[key], served.ProviderSchemas[key]
	var problems []string
	if !reflect.DeepEqual(r.Provider, s.Provider) {
		problems = append(problems, "provider block")
	}
	var names []string
	for n := range declared.ResourceSchemas {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if !reflect.DeepEqual(r.ResourceSchemas[n], s.ResourceSchemas[n]) {
			problems = append(problems, n)
			a, _ := json.MarshalIndent(r.ResourceSchemas[n], "", " ")
			b, _ := json.MarshalIndent(s.ResourceSchemas[n], "", " ")
			fmt.Printf("--- release %s\n%s\n+++ stub %s\n%s\n", n, a, n, b)
		}
	}
	if len(problems) > 0 {
		return fmt.Errorf("stub schema differs from the release for: %s", strings.Join(problems, ", "))
	}
	fmt.Printf("stub schema matches the release for the provider block and %d resources\n", len(names))
	return nil
}
