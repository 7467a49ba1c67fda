package main

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// floorFile is provider-floor.json: for what the modules may use, the
// first provider release that has it, read from the provider's source at
// its tags.
type floorFile struct {
	Provider string `json:"provider"` // the required_providers local name
	Source   string `json:"source"`   // where the versions were read
	// Since maps "resource.TYPE", "data.TYPE" and "TYPE.PATH.ARGUMENT"
	// (an argument of that resource, matched as "ARGUMENT =" in a module
	// that uses the resource) to a version.
	Since map[string]string `json:"since"`
}

type version [3]int

func parseVersion(s string) (version, error) {
	var v version
	parts := strings.Split(strings.TrimPrefix(strings.TrimSpace(s), "v"), ".")
	if len(parts) == 0 || len(parts) > 3 {
		return v, fmt.Errorf("version %q", s)
	}
	for i, p := range parts {
		n, err := strconv.Atoi(p)
		if err != nil {
			return v, fmt.Errorf("version %q", s)
		}
		v[i] = n
	}
	return v, nil
}

func (v version) less(w version) bool {
	for i := range v {
		if v[i] != w[i] {
			return v[i] < w[i]
		}
	}
	return false
}

func (v version) String() string { return fmt.Sprintf("%d.%d.%d", v[0], v[1], v[2]) }

// lowerBound is the oldest version a constraint admits ("~> 8.2" admits
// 8.2.0, ">= 8.2.10, < 8.3.0" admits 8.2.10); a constraint without one
// (only "<" or "!=") admits any, and is an error here.
func lowerBound(constraint string) (version, error) {
	var low version
	found := false
	for _, c := range strings.Split(constraint, ",") {
		c = strings.TrimSpace(c)
		var v version
		var err error
		switch {
		case strings.HasPrefix(c, ">="), strings.HasPrefix(c, "~>"):
			v, err = parseVersion(c[2:])
		case strings.HasPrefix(c, "="):
			v, err = parseVersion(c[1:])
		case strings.HasPrefix(c, ">"):
			if v, err = parseVersion(c[1:]); err == nil {
				v[2]++ // the next patch release at the least
			}
		case strings.HasPrefix(c, "<"), strings.HasPrefix(c, "!="):
			continue
		default:
			v, err = parseVersion(c)
		}
		if err != nil {
			return low, fmt.Errorf("constraint %q: %w", constraint, err)
		}
		if !found || low.less(v) {
			low, found = v, true
		}
	}
	if !found {
		return low, fmt.Errorf("constraint %q has no lower bound", constraint)
	}
	return low, nil
}

var (
	blockRe = regexp.MustCompile(`(?m)^\s*(resource|data)\s+"([a-z0-9_]+)"`)
	// required_providers { NAME = { source = ..., version = "..." } }
	requiredRe = regexp.MustCompile(`(?s)(\w+)\s*=\s*\{[^{}]*?version\s*=\s*"([^"]+)"[^{}]*?\}`)
)

// checkFloor fails when a module (a directory of .tf files) uses a
// resource, data source or argument that the oldest provider release its
// version constraint admits does not have.
func checkFloor(floorPath string, dirs []string) error {
	var f floorFile
	if err := load(floorPath, &f); err != nil {
		return err
	}
	var problems []string
	for _, dir := range dirs {
		files, err := filepath.Glob(filepath.Join(dir, "*.tf"))
		if err != nil {
			return err
		}
		var src strings.Builder
		for _, file := range files {
			b, err := os.ReadFile(file)
			if err != nil {
				return err
			}
			src.Write(b)
			src.WriteByte('\n')
		}
		text := src.String()
		constraint := ""
		for _, m := range requiredRe.FindAllStringSubmatch(text, -1) {
			if m[1] == f.Provider {
				constraint = m[2]
			}
		}
		used := map[string]bool{}
		for _, m := range blockRe.FindAllStringSubmatch(text, -1) {
			if strings.HasPrefix(m[2], f.Provider+"_") {
				used[m[1]+"."+m[2]] = true
			}
		}
		if len(used) == 0 {
			continue
		}
		if constraint == "" {
			problems = append(problems, fmt.Sprintf("%s uses the %s provider without a version constraint", dir, f.Provider))
			continue
		}
		low, err := lowerBound(constraint)
		if err != nil {
			problems = append(problems, fmt.Sprintf("%s: %v", dir, err))
			continue
		}
		for item := range used {
			if _, ok := f.Since[item]; !ok {
				problems = append(problems, fmt.Sprintf("%s: %s is not in %s: add the first release that has it", dir, item, filepath.Base(floorPath)))
			}
		}
		for item, since := range f.Since {
			min, err := parseVersion(since)
			if err != nil {
				return fmt.Errorf("%s: %s: %w", floorPath, item, err)
			}
			if !low.less(min) || !uses(text, used, item) {
				continue
			}
			problems = append(problems, fmt.Sprintf("%s: %s needs %s provider %s or later, but the constraint %q admits %s",
				dir, item, f.Provider, min, constraint, low))
		}
	}
	sort.Strings(problems)
	if len(problems) > 0 {
		return fmt.Errorf("provider floor:\n  %s", strings.Join(problems, "\n  "))
	}
	fmt.Printf("every module's %s constraint admits only releases that have what it uses (%d modules)\n", f.Provider, len(dirs))
	return nil
}

// uses reports whether a module uses an item of the floor table.
func uses(text string, used map[string]bool, item string) bool {
	if used[item] {
		return true
	}
	kind, _, _ := strings.Cut(item, ".")
	if kind == "resource" || kind == "data" {
		return false
	}
	typ, path, ok := strings.Cut(item, ".")
	if !ok || !used["resource."+typ] {
		return false
	}
	attr := path[strings.LastIndexByte(path, '.')+1:] // "policies.log_profile": the argument is log_profile
	return regexp.MustCompile(`(?m)^\s*` + regexp.QuoteMeta(attr) + `\s*=`).MatchString(text)
}
