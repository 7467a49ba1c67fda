package dashboards

import (
	"fmt"
	"math"
	"regexp"
	"strings"
	"testing"
	"time"
)

// The ClickHouse plugin turns a panel's rawSql into the statement the
// server runs in two steps, reproduced here so tests run what Grafana
// would: the browser applies $__conditionalAll and the template variables
// (CHDatasource.applyTemplateVariables), then the plugin's backend expands
// its macros (pkg/macros).

// variable is a template variable's current state.
type variable struct {
	value   []string // the selection; ["$__all"] for All
	multi   bool
	options []string // what All stands for
}

// request is what Grafana sends along with a query.
type request struct {
	from, to time.Time
	interval time.Duration
	vars     map[string]variable
}

const conditionalAll = "$__conditionalAll("

// applyConditionalAll is the plugin's: the phrase when the variable has a
// selection, 1=1 when it is All or empty.
func applyConditionalAll(sql string, vars map[string]variable) string {
	varName := regexp.MustCompile(`\$\{(\w+)\}|\$(\w+)`)
	for i := strings.LastIndex(sql, conditionalAll); i >= 0; i = strings.LastIndex(sql, conditionalAll) {
		args := macroArgs(sql[i+len(conditionalAll)-1:])
		if len(args) != 2 {
			return sql
		}
		phrase := args[0]
		if m := varName.FindStringSubmatch(strings.TrimSpace(args[1])); m != nil {
			name := m[1] + m[2]
			v := strings.Join(vars[name].value, ",") // JavaScript's Array.toString
			if v == "" || v == "$__all" {
				phrase = "1=1"
			}
		}
		sql = strings.Replace(sql, conditionalAll+args[0]+","+args[1]+")", phrase, 1)
	}
	return sql
}

// macroArgs splits "(a, f(b, c))..." at its top-level commas, as the
// plugin's getMacroArgs does.
func macroArgs(s string) []string {
	var args []string
	depth, last := 0, 1
	for i, r := range s {
		switch r {
		case '(':
			depth++
		case ')':
			depth--
		case ',':
			if depth == 1 {
				args = append(args, s[last:i])
				last = i + 1
			}
		}
		if depth == 0 && (r == '(' || r == ')') {
			return append(args, s[last:i])
		}
	}
	return args
}

var templateVar = regexp.MustCompile(`\$(\w+)|\$\{(\w+)\}`)

// interpolate is Grafana's templateSrv.replace with the plugin's format
// function: a multi-value selection becomes 'a','b'; a single value goes
// in as it is. Unknown names ($__timeFilter, ...) stay for the backend.
func interpolate(sql string, vars map[string]variable) string {
	return templateVar.ReplaceAllStringFunc(sql, func(m string) string {
		sub := templateVar.FindStringSubmatch(m)
		v, ok := vars[sub[1]+sub[2]]
		if !ok {
			return m
		}
		values := v.value
		if len(values) == 1 && values[0] == "$__all" {
			values = v.options
		}
		if !v.multi && len(values) == 1 {
			return values[0]
		}
		return "'" + strings.Join(values, "','") + "'"
	})
}

var backendMacro = regexp.MustCompile(`\$__(\w+)`)

// expandMacros is the plugin backend's macro expansion.
func expandMacros(sql string, r request) (string, error) {
	from, to := r.from.UTC(), r.to.UTC()
	seconds := int(math.Max(r.interval.Seconds(), 1))
	var out strings.Builder
	for {
		loc := backendMacro.FindStringSubmatchIndex(sql)
		if loc == nil {
			out.WriteString(sql)
			return out.String(), nil
		}
		out.WriteString(sql[:loc[0]])
		name := sql[loc[2]:loc[3]]
		rest := sql[loc[1]:]
		var args []string
		if strings.HasPrefix(rest, "(") {
			args = macroArgs(rest)
			end := strings.IndexByte(rest, ')') // no macro argument nests parentheses here
			for i := range args {
				args[i] = strings.TrimSpace(args[i])
			}
			rest = rest[end+1:]
		}
		need := func(n int) error {
			if len(args) != n {
				return fmt.Errorf("$__%s takes %d arguments, got %d", name, n, len(args))
			}
			return nil
		}
		var s string
		switch name {
		case "timeFilter":
			if err := need(1); err != nil {
				return "", err
			}
			s = fmt.Sprintf("%s >= toDateTime(%d) AND %s <= toDateTime(%d)", args[0], from.Unix(), args[0], to.Unix())
		case "timeFilter_ms":
			if err := need(1); err != nil {
				return "", err
			}
			s = fmt.Sprintf("%s >= fromUnixTimestamp64Milli(%d) AND %s <= fromUnixTimestamp64Milli(%d)", args[0], from.UnixMilli(), args[0], to.UnixMilli())
		case "dateFilter":
			if err := need(1); err != nil {
				return "", err
			}
			s = fmt.Sprintf("%s >= toDate('%s') AND %s <= toDate('%s')", args[0], from.Format("2006-01-02"), args[0], to.Format("2006-01-02"))
		case "fromTime":
			s = fmt.Sprintf("toDateTime(%d)", from.Unix())
		case "toTime":
			s = fmt.Sprintf("toDateTime(%d)", to.Unix())
		case "fromTime_ms":
			s = fmt.Sprintf("fromUnixTimestamp64Milli(%d)", from.UnixMilli())
		case "toTime_ms":
			s = fmt.Sprintf("fromUnixTimestamp64Milli(%d)", to.UnixMilli())
		case "interval_s":
			s = fmt.Sprint(seconds)
		case "timeInterval":
			if err := need(1); err != nil {
				return "", err
			}
			s = fmt.Sprintf("toStartOfInterval(toDateTime(%s), INTERVAL %d second)", args[0], seconds)
		default:
			return "", fmt.Errorf("unknown macro $__%s", name)
		}
		out.WriteString(s)
		sql = rest
	}
}

// render is the statement the server receives for a panel's rawSql.
func render(sql string, r request) (string, error) {
	s, err := expandMacros(interpolate(applyConditionalAll(sql, r.vars), r.vars), r)
	if err != nil {
		return "", err
	}
	if m := templateVar.FindString(s); m != "" {
		return "", fmt.Errorf("%s is left in the statement: no such variable", m)
	}
	return s, nil
}

func TestRenderLikeThePlugin(t *testing.T) {
	r := request{
		from: time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC), to: time.Date(2026, 11, 20, 6, 0, 0, 0, time.UTC), interval: 5 * time.Minute,
		vars: map[string]variable{
			"database": {value: []string{"vca"}},
			"gateway":  {value: []string{"$__all"}, multi: true, options: []string{"gw1", "gw2"}},
			"agent":    {value: []string{"sg-a", "sg-b"}, multi: true},
			"one":      {value: []string{"sg-a"}, multi: true},
			"single":   {value: []string{"sg-a"}},
		},
	}
	for _, c := range []struct{ in, want string }{
		{"SELECT 1 FROM ${database}.t WHERE $__timeFilter(ts)", "SELECT 1 FROM vca.t WHERE ts >= toDateTime(1795132800) AND ts <= toDateTime(1795154400)"},
		{"$__conditionalAll(gateway IN (${gateway}), $gateway)", "1=1"},
		{"$__conditionalAll(g IN (${agent}), $agent) AND x", "g IN ('sg-a','sg-b') AND x"},
		{"$__conditionalAll(g IN (${one}), $one)", "g IN ('sg-a')"},
		{"has(g, '${single}')", "has(g, 'sg-a')"},
		{"g IN (${gateway})", "g IN ('gw1','gw2')"},
		{"intDiv(toUInt32(t), $__interval_s) * $__interval_s", "intDiv(toUInt32(t), 300) * 300"},
		{"$__timeInterval(t)", "toStartOfInterval(toDateTime(t), INTERVAL 300 second)"},
		{"$__timeFilter_ms(t)", "t >= fromUnixTimestamp64Milli(1795132800000) AND t <= fromUnixTimestamp64Milli(1795154400000)"},
		{"$__fromTime < $__toTime", "toDateTime(1795132800) < toDateTime(1795154400)"},
		{"$__dateFilter(d)", "d >= toDate('2026-11-20') AND d <= toDate('2026-11-20')"},
	} {
		got, err := render(c.in, r)
		if err != nil || got != c.want {
			t.Errorf("render(%q)\n got %q, %v\nwant %q", c.in, got, err, c.want)
		}
	}
	for _, bad := range []string{"$__timeFilter(a, b)", "$__nosuch(x)", "SELECT ${nosuch}"} {
		if got, err := render(bad, r); err == nil {
			t.Errorf("render(%q) = %q, want an error", bad, got)
		}
	}
}
