package dashboards

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// builtins are the names Grafana resolves itself in the PromQL and the
// data source references. The ClickHouse SQL is lint_test.go's.
var builtins = map[string]bool{
	"__all": true, "__interval": true, "__interval_ms": true, "__rate_interval": true, "__range": true,
	"__from": true, "__to": true, "__dashboard": true,
}

var panelTypes = map[string]bool{"row": true, "stat": true, "timeseries": true, "table": true, "barchart": true, "logs": true}

// TestDashboardModel checks what Grafana needs to import the committed
// JSON as it is: a schema version, unique ids and a sane grid, every panel
// and query bound to a data source, every query the plugin's fields, and
// no reference to a variable the dashboard does not define outside the
// ClickHouse SQL (which TestPanelSQLLint checks).
func TestDashboardModel(t *testing.T) {
	uids := map[string]bool{}
	for file, d := range loadCommitted(t) {
		where := func(f string, a ...any) string { return file + ": " + fmt.Sprintf(f, a...) }
		if d.UID == "" || uids[d.UID] || len(d.UID) > 40 {
			t.Errorf("%s", where("uid %q is empty, repeated or longer than Grafana allows", d.UID))
		}
		uids[d.UID] = true
		if d.Title == "" || d.SchemaVersion < 36 || d.Time == nil || d.Time.From == "" {
			t.Errorf("%s", where("title %q, schemaVersion %d, time %v", d.Title, d.SchemaVersion, d.Time))
		}
		defined := map[string]bool{}
		for _, v := range d.Templating.List {
			if defined[v.Name] || v.Name == "" {
				t.Errorf("%s", where("variable %q defined twice or unnamed", v.Name))
			}
			defined[v.Name] = true
		}
		var texts []string // everything Grafana interpolates but the ClickHouse SQL
		for _, v := range d.Templating.List {
			if v.Datasource == nil || v.Datasource.Type != DatasourceType {
				texts = append(texts, v.queryText())
			}
			if v.Type == "query" && (v.Datasource == nil || v.Datasource.UID == "") {
				t.Errorf("%s", where("query variable %s has no data source", v.Name))
			}
			if v.Datasource != nil {
				texts = append(texts, v.Datasource.UID)
			}
		}
		ids := map[int]bool{}
		var bottom int
		for _, p := range flatPanels(d.Panels) {
			if p.ID == nil || ids[*p.ID] {
				t.Errorf("%s", where("panel %q has no id or a repeated one", p.Title))
				continue
			}
			ids[*p.ID] = true
			if !panelTypes[p.Type] {
				t.Errorf("%s", where("panel %q has type %q", p.Title, p.Type))
			}
			if g := p.GridPos; g == nil || g.W <= 0 || g.H <= 0 || g.X+g.W > 24 || g.Y < 0 {
				t.Errorf("%s", where("panel %q grid position %+v", p.Title, p.GridPos))
			} else {
				bottom = max(bottom, g.Y+g.H)
			}
			if p.Type == "row" {
				continue
			}
			if p.Description == "" {
				t.Errorf("%s", where("panel %q does not say what it answers", p.Title))
			}
			if p.Datasource == nil || p.Datasource.Type == "" || p.Datasource.UID == "" || len(p.Targets) == 0 {
				t.Errorf("%s", where("panel %q: data source %v, %d queries", p.Title, p.Datasource, len(p.Targets)))
				continue
			}
			texts = append(texts, p.Datasource.UID)
			refs := map[string]bool{}
			for _, q := range p.Targets {
				if q.RefID == "" || refs[q.RefID] || q.Datasource == nil || *q.Datasource != *p.Datasource {
					t.Errorf("%s", where("panel %q: query %q has no unique refId or another data source", p.Title, q.RefID))
				}
				refs[q.RefID] = true
				switch q.Datasource.Type {
				case DatasourceType:
					want := map[string]int{"table": 1, "timeseries": 0, "logs": 2}
					f, ok := want[q.QueryType]
					if q.EditorType != "sql" || !ok || q.Format == nil || *q.Format != f || q.RawSQL == "" || q.PluginVersion != PluginVersion {
						t.Errorf("%s", where("panel %q: pluginVersion %q editorType %q queryType %q format %v", p.Title, q.PluginVersion, q.EditorType, q.QueryType, q.Format))
					}
					checkShape(t, where, p, q)
				case "prometheus":
					if q.Expr == "" {
						t.Errorf("%s", where("panel %q: empty PromQL", p.Title))
					}
					texts = append(texts, q.Expr)
				default:
					t.Errorf("%s", where("panel %q: unexpected data source type %q", p.Title, q.Datasource.Type))
				}
			}
		}
		if len(ids) == 0 || bottom > 200 {
			t.Errorf("%s", where("%d panels, grid ends at row %d", len(ids), bottom))
		}
		refRE := regexp.MustCompile(`\$\{(\w+)(?::\w+)?\}|\$(\w+)|\[\[(\w+)\]\]`)
		for _, s := range texts {
			for _, m := range refRE.FindAllStringSubmatch(s, -1) {
				name := m[1] + m[2] + m[3]
				if !defined[name] && !builtins[name] {
					t.Errorf("%s", where("$%s is used but no variable defines it: %.80q", name, s))
				}
			}
		}
	}
}

// checkShape holds each query to the result shape its panel needs: a time
// series starts with a column named time, a logs query has log_time and
// body.
func checkShape(t *testing.T, where func(string, ...any) string, p jsonPanel, q jsonTarget) {
	sql := strings.ToLower(q.RawSQL)
	switch q.QueryType {
	case "timeseries":
		if !regexp.MustCompile(`^select\s+todatetime\([^\n]*\)\s+as\s+time,`).MatchString(sql) {
			t.Errorf("%s", where("panel %q: a time series must select time first", p.Title))
		}
	case "logs":
		if !strings.Contains(sql, " as log_time") || !strings.Contains(sql, " as body") {
			t.Errorf("%s", where("panel %q: a logs query needs log_time and body", p.Title))
		}
	}
}

// TestPrometheusPanelsQueryCollectorMetrics fails when a Prometheus panel
// names a metric the collector does not register (a rename would leave
// the panel empty without an error).
func TestPrometheusPanelsQueryCollectorMetrics(t *testing.T) {
	registered := map[string]bool{}
	nameRE := regexp.MustCompile(`"(vca_collector_[a-z0-9_]+)"`)
	err := filepath.WalkDir("../internal", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return err
		}
		b, err := os.ReadFile(path)
		for _, m := range nameRE.FindAllStringSubmatch(string(b), -1) {
			registered[m[1]] = true
		}
		return err
	})
	if err != nil || len(registered) < 10 {
		t.Fatalf("found %d collector metrics: %v", len(registered), err)
	}
	var used []string
	for _, d := range loadCommitted(t) {
		for _, p := range flatPanels(d.Panels) {
			for _, q := range p.Targets {
				for _, m := range regexp.MustCompile(`vca_collector_[a-z0-9_]+`).FindAllString(q.Expr, -1) {
					m = strings.TrimSuffix(strings.TrimSuffix(strings.TrimSuffix(m, "_bucket"), "_sum"), "_count")
					used = append(used, m)
					if !registered[m] {
						t.Errorf("%s/%s queries %s, which the collector does not register", d.UID, p.Title, m)
					}
				}
			}
		}
	}
	if len(used) == 0 {
		t.Error("no Prometheus panel queries a collector metric")
	}
	slices.Sort(used)
	t.Logf("metrics used: %v", slices.Compact(used))
}

// TestReadmeListsEveryPanel keeps the panel tables in README.md in step
// with the dashboards.
func TestReadmeListsEveryPanel(t *testing.T) {
	b, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	readme := string(b)
	for _, d := range loadCommitted(t) {
		for _, p := range flatPanels(d.Panels) {
			if p.Type != "row" && !strings.Contains(readme, "| "+p.Title+" | "+p.Description+" |") {
				t.Errorf("README.md does not list %s/%q with its question", d.UID, p.Title)
			}
		}
	}
}
