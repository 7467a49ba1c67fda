package dashboards

import (
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The ClickHouse plugin turns a panel's rawSql into the statement the
// server runs in two steps, ported here from its source so the tests run
// what Grafana would:
//
//  1. in the browser, CHDatasource.applyTemplateVariables
//     (clickhouse-datasource src/data/CHDatasource.ts): applyConditionalAll,
//     then Grafana's templateSrv.replace with the plugin's format function,
//     then the ad hoc filters;
//  2. in the backend, macros.Interpolate (pkg/macros/macros.go), which is
//     grafana/macropro's Interpolate over the plugin's ClickHouseMacros
//     (installed as the sqlds Interpolator in pkg/plugin/datasource.go).
//
// The port follows plugin release PluginVersion (4.20.0) and the macropro
// release its go.mod requires (v1.0.1). It is faithful, so it forgives what
// the plugin forgives: an unknown macro or an undeclared variable stays in
// the SQL as written. lint_test.go keeps those out of the dashboards.

// variable is a template variable's current state as Grafana holds it.
type variable struct {
	value   []string // the selection; ["$__all"] for All
	multi   bool     // current.value is an array (multi-value), else one string
	options []string // the option values after All, what All stands for
}

// current is current.value as JavaScript sees it.
func (v variable) current() jsValue {
	if v.multi {
		return jsValue{array: true, items: v.value}
	}
	if len(v.value) == 0 {
		return jsValue{items: []string{""}}
	}
	return jsValue{items: v.value[:1]}
}

// jsValue is a string or an array of strings.
type jsValue struct {
	array bool
	items []string
}

// toString is JavaScript's: an array joins its items with commas.
func (v jsValue) toString() string { return strings.Join(v.items, ",") }

// request is what Grafana sends along with a query.
type request struct {
	from, to time.Time
	interval time.Duration
	vars     map[string]variable // the dashboard's variables, by name
}

// render is the statement the server receives for a panel's rawSql.
func render(sql string, r request) (string, error) {
	s := applyConditionalAll(sql, r.vars)
	s, err := interpolate(s, r.vars)
	if err != nil {
		return "", err
	}
	// The dashboards have no ad hoc filter variable, so Grafana passes no
	// filters: adHocFilter.apply returns the SQL as it is and only the
	// $__adHocFilters macro changes.
	s = applyAdHocFiltersMacro(s)
	return expandMacros(s, macroContext{from: r.from.UTC(), to: r.to.UTC(), interval: r.interval})
}

// ---- Browser: CHDatasource.ts ----

const conditionalAllMacro = "$__conditionalAll("

// applyConditionalAll is CHDatasource.applyConditionalAll. From the last
// $__conditionalAll( backwards: split its arguments (getMacroArgs); with
// other than two, return the SQL as it is, leaving this and every earlier
// one in place. Otherwise the second argument names a variable
// ($var or ${var}, the first match of the plugin's regex anywhere in it);
// the call becomes 1=1 when that variable is declared and its
// current.value.toString() is empty (an empty selection) or $__all (All).
// In every other case the condition stays: a multi-value selection, a
// single value, no variable in the argument, and a variable the dashboard
// does not declare (templateVars.find returns undefined, so
// key?.current.value.toString() is undefined). The replacement goes
// through String.prototype.replace with a string pattern: the first
// occurrence of the call's text is replaced, and $$, $&, $` and $' in the
// condition are replacement patterns, not text.
func applyConditionalAll(rawQuery string, vars map[string]variable) string {
	if rawQuery == "" {
		return rawQuery
	}
	macroIndex := strings.LastIndex(rawQuery, conditionalAllMacro)
	for macroIndex != -1 {
		params := getMacroArgs(rawQuery, macroIndex+len(conditionalAllMacro)-1)
		if len(params) != 2 {
			return rawQuery
		}
		phrase := params[0]
		if name, ok := conditionalAllVariable(strings.TrimSpace(params[1])); ok {
			if v, declared := vars[name]; declared {
				if value := v.current().toString(); value == "" || value == "$__all" {
					phrase = "1=1"
				}
			}
		}
		rawQuery = jsReplaceFirst(rawQuery, conditionalAllMacro+params[0]+","+params[1]+")", phrase)
		macroIndex = strings.LastIndex(rawQuery, conditionalAllMacro)
	}
	return rawQuery
}

// getMacroArgs is CHDatasource.getMacroArgs: from the '(' at argsIndex,
// the text between commas at depth one, up to the ')' that closes it.
// Brackets are counted everywhere, inside string literals too; no closing
// bracket gives no arguments.
func getMacroArgs(query string, argsIndex int) []string {
	var args []string
	bracketCount, lastArgEndIndex := 0, 1
	s := query[argsIndex:]
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch c {
		case '(':
			bracketCount++
		case ')':
			bracketCount--
		case ',':
		default:
			continue
		}
		if c == ',' && bracketCount == 1 {
			args = append(args, s[lastArgEndIndex:i])
			lastArgEndIndex = i + 1
		}
		if bracketCount == 0 {
			return append(args, s[lastArgEndIndex:i])
		}
	}
	return []string{}
}

// conditionalAllVariable is the plugin's
// /(?<=\$\{)[\w\d]+(?=\})|(?<=\$)[\w\d]+/ applied with exec: the leftmost
// word that follows "${" and ends at "}", or follows "$".
func conditionalAllVariable(s string) (string, bool) {
	for i := range len(s) {
		end := wordEnd(s, i)
		if end == i {
			continue
		}
		if i >= 2 && s[i-2:i] == "${" && end < len(s) && s[end] == '}' {
			return s[i:end], true
		}
		if i >= 1 && s[i-1] == '$' {
			return s[i:end], true
		}
	}
	return "", false
}

// wordEnd is where the run of JavaScript \w characters at i ends.
func wordEnd(s string, i int) int {
	for i < len(s) && isWordChar(s[i]) {
		i++
	}
	return i
}

func isWordChar(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// jsReplaceFirst is s.replace(pattern, replacement) with a string pattern:
// the first occurrence only, and the replacement's $$, $& (the match), $`
// (what precedes it) and $' (what follows it) substituted
// (GetSubstitution; a string pattern has no capture groups, so $1 and $<
// stay as they are).
func jsReplaceFirst(s, pattern, replacement string) string {
	i := strings.Index(s, pattern)
	if i < 0 {
		return s
	}
	before, after := s[:i], s[i+len(pattern):]
	var b strings.Builder
	b.WriteString(before)
	for j := 0; j < len(replacement); j++ {
		if replacement[j] == '$' && j+1 < len(replacement) {
			sub, special := map[byte]string{'$': "$", '&': pattern, '`': before, '\'': after}[replacement[j+1]]
			if special {
				b.WriteString(sub)
				j++
				continue
			}
		}
		b.WriteByte(replacement[j])
	}
	b.WriteString(after)
	return b.String()
}

// grafanaVariableRE is Grafana's variableRegex
// (public/app/features/variables/utils.ts): $var, [[var]] or [[var:fmt]],
// ${var}, ${var.field} or ${var:fmt}.
var grafanaVariableRE = regexp.MustCompile(`\$(\w+)|\[\[([\s\S]+?)(?::(\w+))?\]\]|\$\{(\w+)(?:\.([^:^\}]+))?(?::([^\}]+))?\}`)

// grafanaResolved are the $__ names Grafana itself replaces in the browser
// before the plugin's backend sees the SQL: the request's scoped variables
// (__interval, __interval_ms), the time range templateSrv indexes
// (__from, __to) and the macros of its macroRegistry. The tests do not
// reproduce those values, so rendering them is an error rather than a
// guess.
var grafanaResolved = map[string]bool{
	"__interval": true, "__interval_ms": true, "__from": true, "__to": true,
	"__value": true, "__data": true, "__series": true, "__field": true, "__all_variables": true, "__url_time_range": true,
}

// interpolate is Grafana's templateSrv.replace
// (public/app/features/templating/template_srv.ts,
// _evaluateVariableExpression) with the plugin's format function
// (CHDatasource.format): a name the dashboard does not declare stays as it
// is, $__timeFilter and the plugin's other macros included; All becomes
// every option (getAllValue) and is always an array; an array becomes
// 'a','b' and a single value goes in as it is. A format or field path
// written in the SQL (${var:csv}, ${var.field}) replaces the plugin's
// format with Grafana's, which is not reproduced here.
func interpolate(sql string, vars map[string]variable) (string, error) {
	var b strings.Builder
	last := 0
	for _, m := range grafanaVariableRE.FindAllStringSubmatchIndex(sql, -1) {
		group := func(n int) string {
			if m[2*n] < 0 {
				return ""
			}
			return sql[m[2*n]:m[2*n+1]]
		}
		match := sql[m[0]:m[1]]
		name := group(1) + group(2) + group(4)
		b.WriteString(sql[last:m[0]])
		last = m[1]
		if grafanaResolved[name] {
			return "", fmt.Errorf("%s is replaced by Grafana, which the tests do not reproduce", match)
		}
		v, ok := vars[name]
		if !ok {
			b.WriteString(match)
			continue
		}
		if group(3)+group(5)+group(6) != "" {
			return "", fmt.Errorf("%s: Grafana's formats and field paths are not reproduced", match)
		}
		value := v.current()
		if len(value.items) > 0 && value.items[0] == "$__all" { // isAllValue
			value = jsValue{array: true, items: v.options}
		}
		if value.array {
			b.WriteString("'" + strings.Join(value.items, "','") + "'")
		} else {
			b.WriteString(value.items[0])
		}
	}
	b.WriteString(sql[last:])
	return b.String(), nil
}

// adHocFiltersRE and tableNameRE are CHDatasource.applyAdHocFiltersMacro's.
var (
	adHocFiltersRE = regexp.MustCompile(`\$__adHocFilters\s*\(([^)]+)\)`)
	tableNameRE    = regexp.MustCompile(`['"]([^'"]+)['"]`)
)

// applyAdHocFiltersMacro is CHDatasource.applyAdHocFiltersMacro without
// filters: a call that names a table becomes additional_table_filters={}
// (buildFilterString of no filters is empty), any other stays.
func applyAdHocFiltersMacro(rawQuery string) string {
	return adHocFiltersRE.ReplaceAllStringFunc(rawQuery, func(match string) string {
		if !tableNameRE.MatchString(adHocFiltersRE.FindStringSubmatch(match)[1]) {
			return match
		}
		return "additional_table_filters={}"
	})
}

// ---- Backend: macropro.Interpolate over ClickHouseMacros ----

// macroContext is the macropro QueryContext the plugin builds from the
// sqlds query (contextFrom in pkg/macros/macros.go). A raw SQL target has
// no table or column.
type macroContext struct {
	from, to      time.Time
	interval      time.Duration
	table, column string
}

type macroFunc func(c macroContext, args []string) (string, error)

func toDateTime(t time.Time) string { return fmt.Sprintf("toDateTime(%d)", t.Unix()) }
func toDateTime64(t time.Time) string {
	return fmt.Sprintf("fromUnixTimestamp64Milli(%d)", t.UnixMilli())
}

// toDate formats the date in the time's own zone, as timeToDate does.
func toDate(t time.Time) string { return fmt.Sprintf("toDate('%s')", t.Format("2006-01-02")) }

func badArgs(name string, want int, args []string) error {
	return fmt.Errorf("unexpected number of arguments: $__%s expected %d argument(s), received %d", name, want, len(args))
}

// clickHouseMacros is ClickHouseMacros of pkg/macros/macros.go: the
// plugin's handlers merged over macropro.DefaultMacros, of which
// interval, interval_ms, table and column remain (defaults.go).
var clickHouseMacros = map[string]macroFunc{
	"fromTime":    func(c macroContext, _ []string) (string, error) { return toDateTime(c.from), nil },
	"toTime":      func(c macroContext, _ []string) (string, error) { return toDateTime(c.to), nil },
	"fromTime_ms": func(c macroContext, _ []string) (string, error) { return toDateTime64(c.from), nil },
	"toTime_ms":   func(c macroContext, _ []string) (string, error) { return toDateTime64(c.to), nil },
	"timeFilter": func(c macroContext, a []string) (string, error) {
		if len(a) != 1 {
			return "", badArgs("timeFilter", 1, a)
		}
		return fmt.Sprintf("%s >= %s AND %s <= %s", a[0], toDateTime(c.from), a[0], toDateTime(c.to)), nil
	},
	"timeFilter_ms": func(c macroContext, a []string) (string, error) {
		if len(a) != 1 {
			return "", badArgs("timeFilter_ms", 1, a)
		}
		return fmt.Sprintf("%s >= %s AND %s <= %s", a[0], toDateTime64(c.from), a[0], toDateTime64(c.to)), nil
	},
	"dateFilter": func(c macroContext, a []string) (string, error) {
		if len(a) != 1 {
			return "", badArgs("dateFilter", 1, a)
		}
		return fmt.Sprintf("%s >= %s AND %s <= %s", a[0], toDate(c.from), a[0], toDate(c.to)), nil
	},
	"dateTimeFilter": dateTimeFilter,
	"dt":             dateTimeFilter,
	"timeInterval": func(c macroContext, a []string) (string, error) {
		if len(a) != 1 {
			return "", badArgs("timeInterval", 1, a)
		}
		return fmt.Sprintf("toStartOfInterval(toDateTime(%s), INTERVAL %d second)", a[0], int(math.Max(c.interval.Seconds(), 1))), nil
	},
	"timeInterval_ms": func(c macroContext, a []string) (string, error) {
		if len(a) != 1 {
			return "", badArgs("timeInterval_ms", 1, a)
		}
		return fmt.Sprintf("toStartOfInterval(toDateTime64(%s, 3), INTERVAL %d millisecond)", a[0], int(math.Max(float64(c.interval.Milliseconds()), 1))), nil
	},
	"interval_s": func(c macroContext, _ []string) (string, error) {
		return strconv.Itoa(int(math.Max(c.interval.Seconds(), 1))), nil
	},
	"timeFrom": func(c macroContext, a []string) (string, error) {
		if len(a) != 1 {
			return "", badArgs("timeFrom", 1, a)
		}
		return a[0] + " >= " + toDateTime(c.from), nil
	},
	"timeTo": func(c macroContext, a []string) (string, error) {
		if len(a) != 1 {
			return "", badArgs("timeTo", 1, a)
		}
		return a[0] + " <= " + toDateTime(c.to), nil
	},
	"timeGroup": func(_ macroContext, a []string) (string, error) {
		if len(a) != 2 {
			return "", badArgs("timeGroup", 2, a)
		}
		period := strings.Trim(strings.TrimSpace(a[1]), `'"`)
		d, err := time.ParseDuration(period)
		if err != nil {
			return "", fmt.Errorf("$__timeGroup: invalid interval %q: %w", period, err)
		}
		secs := int64(math.Round(d.Seconds()))
		if secs <= 0 {
			return "", fmt.Errorf("$__timeGroup: interval must be positive, got %q", period)
		}
		return fmt.Sprintf("toStartOfInterval(toDateTime(%s), INTERVAL %d second)", strings.TrimSpace(a[0]), secs), nil
	},
	// macropro's defaults. In a dashboard Grafana has already replaced
	// $__interval and $__interval_ms (grafanaResolved); the backend's
	// expansion matters for queries that reach it unreplaced.
	"interval": func(c macroContext, _ []string) (string, error) { return formatDuration(c.interval), nil },
	"interval_ms": func(c macroContext, _ []string) (string, error) {
		return strconv.FormatInt(c.interval.Milliseconds(), 10), nil
	},
	"table": func(c macroContext, _ []string) (string, error) {
		if c.table == "" {
			return "", fmt.Errorf("$__table: no table name in query context")
		}
		return c.table, nil
	},
	"column": func(c macroContext, _ []string) (string, error) {
		if c.column == "" {
			return "", fmt.Errorf("$__column: no column name in query context")
		}
		return c.column, nil
	},
}

func dateTimeFilter(c macroContext, a []string) (string, error) {
	if len(a) != 2 {
		return "", badArgs("dateTimeFilter", 2, a)
	}
	return fmt.Sprintf("(%s >= %s AND %s <= %s) AND (%s >= %s AND %s <= %s)",
		a[0], toDate(c.from), a[0], toDate(c.to), a[1], toDateTime(c.from), a[1], toDateTime(c.to)), nil
}

// formatDuration is macropro's FormatDuration: the largest whole unit of
// h, m, s, else milliseconds.
func formatDuration(d time.Duration) string {
	switch {
	case d == 0:
		return "0s"
	case d < 0:
		d = -d
	}
	switch {
	case d%time.Hour == 0:
		return fmt.Sprintf("%dh", d/time.Hour)
	case d%time.Minute == 0:
		return fmt.Sprintf("%dm", d/time.Minute)
	case d%time.Second == 0:
		return fmt.Sprintf("%ds", d/time.Second)
	}
	return fmt.Sprintf("%dms", d/time.Millisecond)
}

const macroPrefix = "$__"

// expandMacros is macropro.Interpolate with the plugin's comment styles
// (LineComment | BlockComment | BackslashEscape, clickHouseComments). SQL
// without the $__ prefix goes out untouched; otherwise comments are
// blanked with spaces first, so a macro in a comment is never expanded
// and the statement the server gets has no comments. On a handler's error
// the whole query fails.
func expandMacros(query string, c macroContext) (string, error) {
	if !strings.Contains(query, macroPrefix) {
		return query, nil
	}
	work := stripComments(query)
	if !strings.Contains(work, macroPrefix) {
		return work, nil
	}
	return expand(work, c, 0)
}

// expand is macropro's expand: one forward scan; at each $__ the name is
// read greedily ([_a-zA-Z0-9]), so $__interval_s is never $__interval. An
// unknown name is copied with whatever follows it scanned as ordinary
// text, so known macros inside its parentheses still expand. A known one
// takes the argument list if '(' follows at once and its ')' is found
// (quotes respected), else it is called with none; arguments are split at
// top-level commas and trimmed, macros inside them are expanded first, and
// the handler's output is not scanned again.
func expand(work string, c macroContext, depth int) (string, error) {
	const maxNestingDepth = 128
	if depth > maxNestingDepth {
		return "", fmt.Errorf("macro nesting exceeds %d levels", maxNestingDepth)
	}
	var b strings.Builder
	for i := 0; i < len(work); {
		rel := strings.Index(work[i:], macroPrefix)
		if rel < 0 {
			b.WriteString(work[i:])
			break
		}
		b.WriteString(work[i : i+rel])
		i += rel
		nameStart := i + len(macroPrefix)
		nameEnd := wordEnd(work, nameStart)
		if nameStart == nameEnd {
			b.WriteString(macroPrefix)
			i = nameStart
			continue
		}
		name := work[nameStart:nameEnd]
		fn, ok := clickHouseMacros[name]
		if !ok {
			b.WriteString(work[i:nameEnd])
			i = nameEnd
			continue
		}
		raw, after := "", nameEnd
		if after < len(work) && work[after] == '(' {
			if end, err := findClosingParen(work, after); err == nil {
				raw, after = work[after+1:end], end+1
			}
		}
		args, err := parseArgs(raw)
		if err != nil {
			return "", fmt.Errorf("macro $__%s: %w", name, err)
		}
		for ai, arg := range args {
			if !strings.Contains(arg, macroPrefix) {
				continue
			}
			if args[ai], err = expand(arg, c, depth+1); err != nil {
				return "", fmt.Errorf("macro $__%s argument %d: %w", name, ai+1, err)
			}
		}
		out, err := fn(c, args)
		if err != nil {
			return "", fmt.Errorf("macro $__%s(%s): %w", name, strings.Join(args, ", "), err)
		}
		b.WriteString(out)
		i = after
	}
	return b.String(), nil
}

// findClosingParen is macropro's: the ')' closing the '(' at open, with
// quoted strings skipped (a doubled quote is part of the string; no
// backslash escapes).
func findClosingParen(s string, open int) (int, error) {
	depth := 0
	for i := open; i < len(s); {
		switch s[i] {
		case '\'', '"':
			i = scanStringLiteral(s, i)
			continue
		case '(':
			depth++
		case ')':
			if depth--; depth == 0 {
				return i, nil
			}
		}
		i++
	}
	return -1, fmt.Errorf("unbalanced parentheses")
}

// parseArgs is macropro's: the text between the parentheses split at
// top-level commas outside quotes, each argument trimmed; blank text is
// no argument at all.
func parseArgs(raw string) ([]string, error) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return []string{}, nil
	}
	var args []string
	depth, start := 0, 0
	for i := 0; i < len(raw); {
		switch raw[i] {
		case '\'', '"':
			i = scanStringLiteral(raw, i)
			continue
		case '(':
			depth++
		case ')':
			if depth == 0 {
				return nil, fmt.Errorf("unexpected ')' at position %d", i)
			}
			depth--
		case ',':
			if depth == 0 {
				args = append(args, strings.TrimSpace(raw[start:i]))
				start = i + 1
			}
		}
		i++
	}
	if depth != 0 {
		return nil, fmt.Errorf("unbalanced parentheses in arguments")
	}
	return append(args, strings.TrimSpace(raw[start:])), nil
}

// scanStringLiteral is macropro's: past the quoted string at pos, a
// doubled quote being part of it; unterminated runs to the end.
func scanStringLiteral(s string, pos int) int {
	quote := s[pos]
	for j := pos + 1; j < len(s); j++ {
		if s[j] == quote {
			if j+1 < len(s) && s[j+1] == quote {
				j++
				continue
			}
			return j + 1
		}
	}
	return len(s)
}

// scanStringLiteralBackslash is scanStringLiteral that also skips the
// character after a backslash, ClickHouse's escape ('O\'Brien').
func scanStringLiteralBackslash(s string, pos int) int {
	quote := s[pos]
	for j := pos + 1; j < len(s); j++ {
		switch {
		case s[j] == '\\' && j+1 < len(s):
			j++
		case s[j] == quote:
			if j+1 < len(s) && s[j+1] == quote {
				j++
				continue
			}
			return j + 1
		}
	}
	return len(s)
}

// stripComments is macropro's StripComments with the plugin's styles:
// string literals copied as they are (backslash escapes honoured), -- to
// the end of the line (\n or \r, which stays) and /* */ (through the end
// if unterminated) replaced by as many spaces.
func stripComments(query string) string {
	if !strings.ContainsAny(query, "-/") {
		return query
	}
	var b strings.Builder
	for i := 0; i < len(query); {
		switch c := query[i]; {
		case c == '\'' || c == '"':
			j := scanStringLiteralBackslash(query, i)
			b.WriteString(query[i:j])
			i = j
		case c == '-' && i+1 < len(query) && query[i+1] == '-':
			j := i
			for j < len(query) && query[j] != '\n' && query[j] != '\r' {
				j++
			}
			b.WriteString(strings.Repeat(" ", j-i))
			i = j
		case c == '/' && i+1 < len(query) && query[i+1] == '*':
			j := i + 2
			for j < len(query) && !(j+1 < len(query) && query[j] == '*' && query[j+1] == '/') {
				j++
			}
			j = min(j+2, len(query))
			b.WriteString(strings.Repeat(" ", j-i))
			i = j
		default:
			b.WriteByte(c)
			i++
		}
	}
	return b.String()
}

func spaces(s string) string { return strings.Repeat(" ", len(s)) }

func TestRenderLikeThePlugin(t *testing.T) {
	r := request{
		from: time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC), to: time.Date(2026, 11, 20, 6, 0, 0, 0, time.UTC), interval: 5 * time.Minute,
		vars: map[string]variable{
			"database": {value: []string{"vca"}},
			"gateway":  {value: []string{"$__all"}, multi: true, options: []string{"gw1", "gw2"}},
			"agent":    {value: []string{"sg-a", "sg-b"}, multi: true},
			"one":      {value: []string{"sg-a"}, multi: true},
			"single":   {value: []string{"sg-a"}},
			"none":     {value: []string{}, multi: true},
			"blank":    {value: []string{""}},
			"allOne":   {value: []string{"$__all"}, options: []string{"gw1"}},
		},
	}
	const from, to = "toDateTime(1795132800)", "toDateTime(1795154400)"
	for _, c := range []struct{ in, want string }{
		{"SELECT 1 FROM ${database}.t WHERE $__timeFilter(ts)", "SELECT 1 FROM vca.t WHERE ts >= " + from + " AND ts <= " + to},
		// $__conditionalAll: All and an empty selection drop the
		// condition; a selection, one value or a variable the dashboard
		// does not declare keep it.
		{"$__conditionalAll(gateway IN (${gateway}), $gateway)", "1=1"},
		{"$__conditionalAll(g IN (${none}), $none) AND $__conditionalAll(g = '${blank}', ${blank})", "1=1 AND 1=1"},
		{"$__conditionalAll(g IN (${agent}), $agent) AND x", "g IN ('sg-a','sg-b') AND x"},
		{"$__conditionalAll(g IN (${one}), ${one})", "g IN ('sg-a')"},
		{"$__conditionalAll(g IN (${nosuch}), $nosuch)", "g IN (${nosuch})"},
		{"$__conditionalAll(g IN (1), no variable)", "g IN (1)"},
		// Other than two arguments stop it there: this call and the
		// earlier ones stay.
		{"$__conditionalAll(a, $gateway) AND $__conditionalAll(b, c, $gateway)", "$__conditionalAll(a, 'gw1','gw2') AND $__conditionalAll(b, c, 'gw1','gw2')"},
		// The condition is a JavaScript replacement string: $' is what
		// follows the call.
		{"WHERE $__conditionalAll(x = '$', $agent) AND y", "WHERE x = ' AND y AND y"},
		{"has(g, '${single}')", "has(g, 'sg-a')"},
		{"g IN (${gateway}) OR g IN ($allOne)", "g IN ('gw1','gw2') OR g IN ('gw1')"},
		{"[[database]].t, ${nosuch}, $nosuch", "vca.t, ${nosuch}, $nosuch"},
		{"intDiv(toUInt32(t), $__interval_s) * $__interval_s", "intDiv(toUInt32(t), 300) * 300"},
		{"$__timeInterval(t)", "toStartOfInterval(toDateTime(t), INTERVAL 300 second)"},
		{"$__timeInterval_ms(t)", "toStartOfInterval(toDateTime64(t, 3), INTERVAL 300000 millisecond)"},
		{"$__timeFilter_ms(t)", "t >= fromUnixTimestamp64Milli(1795132800000) AND t <= fromUnixTimestamp64Milli(1795154400000)"},
		{"$__fromTime < $__toTime AND $__fromTime_ms < $__toTime_ms", from + " < " + to + " AND fromUnixTimestamp64Milli(1795132800000) < fromUnixTimestamp64Milli(1795154400000)"},
		{"$__dateFilter(d)", "d >= toDate('2026-11-20') AND d <= toDate('2026-11-20')"},
		{"$__dt(d, t)", "(d >= toDate('2026-11-20') AND d <= toDate('2026-11-20')) AND (t >= " + from + " AND t <= " + to + ")"},
		{"$__timeFrom(t) AND $__timeTo(t)", "t >= " + from + " AND t <= " + to},
		{"$__timeGroup(t, '5m')", "toStartOfInterval(toDateTime(t), INTERVAL 300 second)"},
		// Unknown macros stay, with known ones in their arguments
		// expanded; known ones nest and take nested parentheses.
		{"$__nosuch(x) AND $__nosuch($__fromTime)", "$__nosuch(x) AND $__nosuch(" + from + ")"},
		{"$__timeFilter(toDateTime(t, 'UTC'))", "toDateTime(t, 'UTC') >= " + from + " AND toDateTime(t, 'UTC') <= " + to},
		{"$__timeInterval($__fromTime)", "toStartOfInterval(toDateTime(" + from + "), INTERVAL 300 second)"},
		// Comments go when a macro is present, as spaces; a string
		// literal with a backslash escape is not a comment's start.
		{"SELECT 1 -- $__nosuch\nWHERE $__timeFilter(t) /* x */",
			"SELECT 1 " + spaces("-- $__nosuch") + "\nWHERE t >= " + from + " AND t <= " + to + " " + spaces("/* x */")},
		{"SELECT 'a\\'--' -- c\n, $__fromTime", "SELECT 'a\\'--' " + spaces("-- c") + "\n, " + from},
		{"SELECT 1 -- no macro", "SELECT 1 -- no macro"},
		{"SELECT 1 FROM t WHERE $__adHocFilters('t') AND $__adHocFilters(x)", "SELECT 1 FROM t WHERE additional_table_filters={} AND $__adHocFilters(x)"},
	} {
		got, err := render(c.in, r)
		if err != nil || got != c.want {
			t.Errorf("render(%q)\n got %q, %v\nwant %q", c.in, got, err, c.want)
		}
	}
	for _, bad := range []string{
		"$__timeFilter(a, b)", "$__timeFilter", "$__timeFilter()", "$__timeGroup(t, 1d)", "$__table", "$__column",
		"$__timeFilter(f(x)", // unbalanced: called without arguments
		"$__interval", "$__from", "${agent:csv}", "${agent.x}",
	} {
		if got, err := render(bad, r); err == nil {
			t.Errorf("render(%q) = %q, want an error", bad, got)
		}
	}
}
