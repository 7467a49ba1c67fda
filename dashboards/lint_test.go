package dashboards

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The expansion in expand_test.go forgives what the plugin forgives: a
// misspelt macro or variable goes to ClickHouse as it is written, and
// $__conditionalAll with a variable the dashboard does not declare keeps
// its condition. This lint refuses both in the dashboards' SQL, so a typo
// fails here instead of hiding behind a faithful expansion.

// pluginMacro is a $__ name the plugin implements.
type pluginMacro struct {
	// since is the first release, from MinPluginVersion on, whose source
	// expands the name as PluginVersion does.
	since string
	// refuse says why the dashboards may not use it even so.
	refuse string
	// browser: expanded in the browser (CHDatasource.ts), else by the
	// backend's macropro, whose argument parsing is ported.
	browser bool
}

// pluginMacros are every $__ name the plugin expands, from its source at
// PluginVersion: the backend's ClickHouseMacros (pkg/macros/macros.go; its
// own handlers merged over macropro's DefaultMacros) and the browser's
// applyConditionalAll and applyAdHocFiltersMacro (src/data/CHDatasource.ts).
// since comes from the same files at each release tag from 4.0.3 on.
var pluginMacros = map[string]pluginMacro{
	// pkg/macros since 4.0.3 with today's output; 4.0.0 to 4.0.2 expanded
	// $__timeFilter, $__fromTime and $__toTime to DateTime64 and
	// $__timeFilter_ms to a string comparison, and had no $__fromTime_ms
	// or $__toTime_ms.
	"timeFilter": {since: "4.0.3"}, "timeFilter_ms": {since: "4.0.3"},
	"fromTime": {since: "4.0.3"}, "toTime": {since: "4.0.3"},
	"fromTime_ms": {since: "4.0.3"}, "toTime_ms": {since: "4.0.3"},
	"dateFilter": {since: "4.0.3"}, "timeInterval": {since: "4.0.3"},
	"timeInterval_ms": {since: "4.0.3"}, "interval_s": {since: "4.0.3"},
	"dateTimeFilter": {since: "4.2.0"}, "dt": {since: "4.2.0"},
	// ClickHouse versions since 4.19.0, when macropro replaced sqlds's
	// macro engine; before, sqlds's own defaults expanded these names.
	"timeFrom": {since: "4.19.0"}, "timeTo": {since: "4.19.0"}, "timeGroup": {since: "4.19.0"},
	// macropro's defaults the plugin keeps.
	"interval":    {since: "4.19.0", refuse: "Grafana replaces it in the browser with its own interval text, which the tests do not reproduce; use $__interval_s"},
	"interval_ms": {since: "4.19.0", refuse: "Grafana replaces it in the browser, which the tests do not reproduce; use $__interval_s"},
	"table":       {since: "4.19.0", refuse: "it expands the target's table field, which a SQL target has not"},
	"column":      {since: "4.19.0", refuse: "it expands the target's column field, which a SQL target has not"},
	// The browser's; applyConditionalAll is the same from 4.0.3 to 4.20.0.
	"conditionalAll": {since: "4.0.3", browser: true},
	"adHocFilters":   {since: "4.13.0", browser: true},
}

var (
	macroRE = regexp.MustCompile(`\$__(\w+)`)
	// plainArgs are arguments every release from 4.0.3 parses alike:
	// column names. Releases before 4.19.0 left argument parsing to sqlds,
	// whose regular expressions the tests do not reproduce.
	plainArgs = regexp.MustCompile(`^\s*[\w.]+\s*(,\s*[\w.]+\s*)*$`)
)

// lintSQL lists what in one ClickHouse query would be expanded other than
// its author meant, given the dashboard's variables.
func lintSQL(sql string, declared map[string]bool) []string {
	var problems []string
	add := func(f string, a ...any) { problems = append(problems, fmt.Sprintf(f, a...)) }

	for _, m := range grafanaVariableRE.FindAllStringSubmatch(sql, -1) {
		name := m[1] + m[2] + m[4]
		switch {
		case strings.HasPrefix(m[0], "$__"):
			// a macro, checked below
		case strings.HasPrefix(name, "__"):
			add("%s is one of Grafana's built-in variables, which the tests do not reproduce", m[0])
		case !declared[name]:
			add("%s: the dashboard declares no variable %q, so it reaches ClickHouse as written", m[0], name)
		case m[3]+m[5]+m[6] != "":
			add("%s: Grafana's formats and field paths replace the plugin's quoting and are not reproduced", m[0])
		}
	}

	for _, m := range macroRE.FindAllStringSubmatchIndex(sql, -1) {
		name := sql[m[2]:m[3]]
		info, known := pluginMacros[name]
		switch {
		case !known:
			add("$__%s: no such macro in the plugin, which leaves it in the SQL", name)
			continue
		case info.refuse != "":
			add("$__%s: %s", name, info.refuse)
		case versionLess(MinPluginVersion, info.since):
			add("$__%s: the plugin has it from %s on, the dashboards require only %s", name, info.since, MinPluginVersion)
		}
		if info.browser {
			continue
		}
		if rest := sql[m[1]:]; strings.HasPrefix(rest, "(") {
			end, err := findClosingParen(rest, 0)
			if err != nil {
				add("$__%s: its argument list is not closed, so the plugin calls it without arguments", name)
			} else if args := rest[1:end]; !plainArgs.MatchString(args) {
				add("$__%s(%s): arguments other than column names parse differently in plugin releases before 4.19.0", name, args)
			}
		}
	}

	for i := strings.Index(sql, conditionalAllMacro); i >= 0; {
		params := getMacroArgs(sql, i+len(conditionalAllMacro)-1)
		call := sql[i:min(len(sql), i+60)]
		switch {
		case len(params) != 2:
			add("%q...: $__conditionalAll takes a condition and a variable; otherwise the plugin leaves it and every earlier one in the SQL", call)
		default:
			ref := strings.TrimSpace(params[1])
			name, ok := conditionalAllVariable(ref)
			switch {
			case !ok || (ref != "$"+name && ref != "${"+name+"}"):
				add("%q...: the second argument must be just the variable, $name or ${name}", call)
			case !declared[name]:
				add("%q...: no variable %q is declared, so the condition always applies", call, name)
			case !referencesVariable(params[0], name):
				add("%q...: the condition does not use $%s, the variable whose All drops it", call, name)
			}
			for _, p := range []string{"$$", "$&", "$`", "$'"} {
				if strings.Contains(params[0], p) {
					add("%q...: %s in the condition is a replacement pattern of JavaScript's String.replace, which the plugin's substitution goes through", call, p)
				}
			}
		}
		next := strings.Index(sql[i+1:], conditionalAllMacro)
		if next < 0 {
			break
		}
		i += 1 + next
	}
	return problems
}

// referencesVariable says whether Grafana would replace name in s.
func referencesVariable(s, name string) bool {
	for _, m := range grafanaVariableRE.FindAllStringSubmatch(s, -1) {
		if m[1]+m[2]+m[4] == name {
			return true
		}
	}
	return false
}

// versionLess compares dotted release numbers.
func versionLess(a, b string) bool {
	pa, pb := strings.Split(a, "."), strings.Split(b, ".")
	for i := range max(len(pa), len(pb)) {
		var x, y int
		if i < len(pa) {
			x, _ = strconv.Atoi(pa[i])
		}
		if i < len(pb) {
			y, _ = strconv.Atoi(pb[i])
		}
		if x != y {
			return x < y
		}
	}
	return false
}

// clickHouseSQL is every ClickHouse query of a dashboard, panels' and
// query variables', by where it is.
func clickHouseSQL(d jsonDashboard) map[string]string {
	out := map[string]string{}
	for _, v := range d.Templating.List {
		if v.Type == "query" && v.Datasource != nil && v.Datasource.Type == DatasourceType {
			out["variable "+v.Name] = v.queryText()
		}
	}
	for _, p := range flatPanels(d.Panels) {
		for _, q := range p.Targets {
			if q.Datasource != nil && q.Datasource.Type == DatasourceType {
				out[fmt.Sprintf("panel %q query %s", p.Title, q.RefID)] = q.RawSQL
			}
		}
	}
	return out
}

// TestPanelSQLLint runs the lint over every ClickHouse query of the
// committed dashboards and expands each as the plugin would, with every
// variable set, so a macro called with the wrong arguments fails without
// a server.
func TestPanelSQLLint(t *testing.T) {
	for uid, d := range loadCommitted(t) {
		declared := map[string]bool{}
		vars := map[string]variable{}
		for _, v := range d.Templating.List {
			declared[v.Name] = true
			vars[v.Name] = variable{value: []string{"x"}, multi: v.Multi}
		}
		queries := clickHouseSQL(d)
		if len(queries) == 0 {
			t.Errorf("%s: no ClickHouse queries", uid)
		}
		for where, sql := range queries {
			for _, p := range lintSQL(sql, declared) {
				t.Errorf("%s, %s: %s", uid, where, p)
			}
			r := request{from: time.Unix(1795132800, 0), to: time.Unix(1795154400, 0), interval: time.Minute, vars: vars}
			if _, err := render(sql, r); err != nil {
				t.Errorf("%s, %s: %v", uid, where, err)
			}
		}
	}
}

// TestLintFindsMistakes keeps the lint honest: each of these is a typo
// the faithful expansion lets through.
func TestLintFindsMistakes(t *testing.T) {
	declared := map[string]bool{"database": true, "gateway": true, "agent": true}
	good := `SELECT 1 FROM ${database}.t WHERE $__timeFilter(bucket) AND $__conditionalAll(gateway IN (${gateway}), $gateway)
  AND $__conditionalAll(src_group IN (${agent}), ${agent}) AND x < intDiv(toUInt32($__toTime), $__interval_s)`
	if p := lintSQL(good, declared); len(p) != 0 {
		t.Errorf("lintSQL(good) = %q", p)
	}
	for _, c := range []struct{ sql, want string }{
		{"WHERE $__timeFilte(bucket)", "no such macro"},
		{"WHERE $__timefilter(bucket)", "no such macro"},
		{"FROM ${databse}.t", `no variable "databse"`},
		{"FROM $databse.t", `no variable "databse"`},
		{"$__conditionalAll(gateway IN (${gateway}), $gatway)", `no variable "gatway" is declared`},
		{"$__conditionalAll(gateway IN (${agent}), $gateway)", "does not use $gateway"},
		{"$__conditionalAll(gateway IN (${gateway}), $gateway, x)", "takes a condition and a variable"},
		{"$__conditionalAll(gateway IN (${gateway}), gateway)", "must be just the variable"},
		{"$__conditionalAll(gateway = '$' OR g IN (${gateway}), $gateway)", "replacement pattern"},
		{"$__timeFilter(toDateTime(bucket))", "parse differently"},
		{"$__timeFilter(bucket", "not closed"},
		{"$__dt(d, t)", "from 4.2.0 on"},
		{"$__timeGroup(t, 5m)", "from 4.19.0 on"},
		{"$__interval", "Grafana replaces it"},
		{"$__table", "table field"},
		{"${__from}", "built-in"},
		{"IN (${gateway:csv})", "formats"},
	} {
		p := strings.Join(lintSQL(c.sql, declared), "\n")
		if !strings.Contains(p, c.want) {
			t.Errorf("lintSQL(%q) = %q, want a problem saying %q", c.sql, p, c.want)
		}
	}
}
