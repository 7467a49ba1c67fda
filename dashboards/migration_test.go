package dashboards

import (
	"encoding/json"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strconv"
	"testing"
)

// The plugin's query editor passes every target through migrateCHQuery
// (clickhouse-datasource src/data/migration.ts) and builds each change
// from the result. Ported here on the target as JSON, so the test sees
// what the editor would: a target it would rewrite is a provisioned
// dashboard that shows as modified.

// semVersion is the plugin's SemVersion (src/utils/version.ts): the
// numbers of the leading major[.minor[.patch]], zero when absent or
// unparsable.
var semVersionRE = regexp.MustCompile(`^(\d+)(?:\.(\d+))?(?:\.(\d+))?(?:-([0-9A-Za-z.]+))?`)

func semVersion(v string) [3]int {
	var out [3]int
	if m := semVersionRE.FindStringSubmatch(v); m != nil {
		for i := range out {
			out[i], _ = strconv.Atoi(m[i+1])
		}
	}
	return out
}

// isVersionGtOrEq is the plugin's.
func isVersionGtOrEq(a, b string) bool {
	x, y := semVersion(a), semVersion(b)
	for i := range x {
		if x[i] != y[i] {
			return x[i] > y[i]
		}
	}
	return true
}

// truthy is JavaScript's truthiness for what JSON can hold.
func truthy(v any) bool {
	switch x := v.(type) {
	case nil:
		return false
	case bool:
		return x
	case string:
		return x != ""
	case float64:
		return x != 0
	}
	return true
}

// isV3CHQuery is the plugin's: no pluginVersion, one below 4.0.0, or a
// queryType of v3 (sql or builder).
func isV3CHQuery(q map[string]any) bool {
	pv, _ := q["pluginVersion"].(string)
	oldPluginVersion := !truthy(q["pluginVersion"]) || !isVersionGtOrEq(pv, "4.0.0")
	oldQueryType := q["queryType"] == "sql" || q["queryType"] == "builder"
	return oldPluginVersion || oldQueryType
}

// mapGrafanaFormatToQueryType and mapQueryTypeToGrafanaFormat are the
// plugin's (src/data/utils.ts).
func mapGrafanaFormatToQueryType(f any) string {
	switch f {
	case 0.0:
		return "timeseries"
	case 1.0:
		return "table"
	case 2.0:
		return "logs"
	case 3.0:
		return "traces"
	}
	return "table"
}

func mapQueryTypeToGrafanaFormat(t any) float64 {
	switch t {
	case "table":
		return 1
	case "logs":
		return 2
	case "timeseries":
		return 0
	case "traces":
		return 3
	}
	return 1 << 8
}

// migrateCHQuery is the plugin's for SQL targets (migrateV3CHQuery's raw
// SQL branch); a v3 builder target is not something these dashboards
// have, and reports false.
func migrateCHQuery(saved map[string]any) (map[string]any, bool) {
	if _, ok := saved["rawSql"]; !ok { // Grafana's default query
		return saved, true
	}
	if !isV3CHQuery(saved) {
		return saved, true
	}
	if saved["queryType"] == "builder" {
		return nil, false
	}
	q := maps.Clone(saved)
	q["pluginVersion"] = PluginVersion
	q["editorType"] = "sql"
	if !truthy(saved["rawSql"]) {
		q["rawSql"] = ""
	}
	if !truthy(saved["refId"]) {
		q["refId"] = ""
	}
	q["queryType"] = mapGrafanaFormatToQueryType(saved["format"])
	meta := map[string]any{}
	if m, ok := saved["meta"].(map[string]any); ok {
		if truthy(m["timezone"]) {
			meta["timezone"] = m["timezone"]
		}
		if truthy(m["builderOptions"]) {
			return nil, false // builder options kept for the editor, not ported
		}
	}
	q["meta"] = meta
	delete(q, "builderOptions")
	delete(q, "selectedFormat")
	return q, true
}

// rawPanel is a dashboard or panel with its targets as plain JSON.
type rawPanel struct {
	Title   string           `json:"title"`
	Targets []map[string]any `json:"targets"`
	Panels  []rawPanel       `json:"panels"`
}

// flat is every panel under p, rows' panels included.
func (p rawPanel) flat() []rawPanel {
	var out []rawPanel
	for _, c := range p.Panels {
		out = append(append(out, c), c.flat()...)
	}
	return out
}

// TestTargetsSurviveTheQueryEditor fails when the plugin's migration
// would rewrite a committed target, or when saving it unchanged in the
// SQL editor would change its format (SqlEditor.saveChanges sets format
// from queryType).
func TestTargetsSurviveTheQueryEditor(t *testing.T) {
	files, err := filepath.Glob("json/*.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("no dashboards: %v", err)
	}
	n := 0
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var d rawPanel
		if err := json.Unmarshal(b, &d); err != nil {
			t.Fatal(err)
		}
		for _, p := range d.flat() {
			for _, target := range p.Targets {
				if ds, _ := target["datasource"].(map[string]any); ds["type"] != DatasourceType {
					continue
				}
				n++
				migrated, ok := migrateCHQuery(target)
				if !ok || !reflect.DeepEqual(migrated, target) {
					t.Errorf("%s/%s: the query editor would rewrite the target\n was %v\n  to %v", f, p.Title, target, migrated)
				}
				if format := mapQueryTypeToGrafanaFormat(target["queryType"]); format != target["format"] {
					t.Errorf("%s/%s: saving in the SQL editor would set format %v, not %v", f, p.Title, format, target["format"])
				}
				// Without its pluginVersion the same target is a v3 query.
				old := maps.Clone(target)
				delete(old, "pluginVersion")
				if migrated, _ := migrateCHQuery(old); reflect.DeepEqual(migrated, old) {
					t.Errorf("%s/%s: the port does not see a target without pluginVersion as v3", f, p.Title)
				}
			}
		}
	}
	if n == 0 {
		t.Error("no ClickHouse targets")
	}
}
