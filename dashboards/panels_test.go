package dashboards

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/openclaw-vca/openclaw-vca/internal/testsupport/golden"
	"github.com/openclaw-vca/openclaw-vca/internal/testsupport/testch"
)

// The committed JSON, as Grafana reads it.
type jsonDashboard struct {
	UID           string `json:"uid"`
	Title         string `json:"title"`
	SchemaVersion int    `json:"schemaVersion"`
	Time          *struct {
		From string `json:"from"`
		To   string `json:"to"`
	} `json:"time"`
	Templating struct {
		List []jsonVariable `json:"list"`
	} `json:"templating"`
	Panels []jsonPanel `json:"panels"`
}

type jsonRef struct {
	Type string `json:"type"`
	UID  string `json:"uid"`
}

type jsonVariable struct {
	Name       string   `json:"name"`
	Type       string   `json:"type"`
	Query      any      `json:"query"`
	Multi      bool     `json:"multi"`
	IncludeAll bool     `json:"includeAll"`
	Datasource *jsonRef `json:"datasource"`
}

type jsonPanel struct {
	ID          *int     `json:"id"`
	Type        string   `json:"type"`
	Title       string   `json:"title"`
	Description string   `json:"description"`
	Datasource  *jsonRef `json:"datasource"`
	GridPos     *struct {
		H, W, X, Y int
	} `json:"gridPos"`
	Targets []jsonTarget `json:"targets"`
	Panels  []jsonPanel  `json:"panels"`
}

type jsonTarget struct {
	RefID         string   `json:"refId"`
	Datasource    *jsonRef `json:"datasource"`
	PluginVersion string   `json:"pluginVersion"`
	EditorType    string   `json:"editorType"`
	QueryType     string   `json:"queryType"`
	Format        *int     `json:"format"`
	RawSQL        string   `json:"rawSql"`
	Expr          string   `json:"expr"`
}

func loadCommitted(t *testing.T) map[string]jsonDashboard {
	t.Helper()
	files, err := filepath.Glob("json/*.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("no dashboards in json/: %v", err)
	}
	out := map[string]jsonDashboard{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var d jsonDashboard
		if err := json.Unmarshal(b, &d); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		out[d.UID] = d
	}
	return out
}

// flatPanels lists the panels of a dashboard, rows' panels included.
func flatPanels(ps []jsonPanel) []jsonPanel {
	var out []jsonPanel
	for _, p := range ps {
		out = append(out, p)
		out = append(out, flatPanels(p.Panels)...)
	}
	return out
}

func (v jsonVariable) queryText() string {
	switch q := v.Query.(type) {
	case string:
		return q
	case map[string]any:
		s, _ := q["query"].(string)
		return s
	}
	return ""
}

// wallClock are panels over ingest_batches, whose insert times are the
// real ones: they are checked by their invariants, not goldens.
func wallClock(sql string) bool { return strings.Contains(sql, ".ingest_batches") }

type panelResult struct {
	Columns []string   `json:"columns"`
	Rows    int        `json:"rows"`
	SHA256  string     `json:"sha256"`
	Head    [][]string `json:"head"`
}

func summarize(cols []string, rows [][]string) panelResult {
	h := sha256.New()
	for _, r := range rows {
		for _, v := range r {
			h.Write([]byte(v))
			h.Write([]byte{0})
		}
		h.Write([]byte{'\n'})
	}
	head := rows[:min(len(rows), 12)]
	if head == nil {
		head = [][]string{}
	}
	return panelResult{Columns: cols, Rows: len(rows), SHA256: hex.EncodeToString(h.Sum(nil)), Head: head}
}

var slugRE = regexp.MustCompile(`[^a-z0-9]+`)

func goldenPath(uid string, p jsonPanel) string {
	return filepath.Join("testdata", uid, fmt.Sprintf("%02d-%s.json", *p.ID, strings.Trim(slugRE.ReplaceAllString(strings.ToLower(p.Title), "-"), "-")))
}

// TestPanelSQL runs every panel's SQL and every variable query, expanded
// as the plugin expands them, over the native protocol on the test server,
// where the collector's sink wrote the simulated fleet. Each result must
// match its golden file (panels over ingest_batches, whose times are the
// real insert times, are checked by their invariants instead) and, where
// the panel answers a question the dataset can answer on its own, the
// answer computed here from the events.
func TestPanelSQL(t *testing.T) {
	ds := simulated(t)
	eng, db, batches := seed(t, ds)
	checkDashboards(t, loadCommitted(t), eng, db, ds, batches)
}

// selections are the variable values each dashboard is checked with.
var selections = map[string]map[string][]string{
	"vca-agent-drill-down": {"agent": {"sg-openclaw-agents"}},
}

// TestPanelsAgainstServer runs every panel and variable query on a live
// server, VCA_DASHBOARDS_CHECK=host:port/database, over the last 24 hours
// and fails on an error or an empty panel: make demo runs it on what it
// leaves behind.
func TestPanelsAgainstServer(t *testing.T) {
	target := os.Getenv("VCA_DASHBOARDS_CHECK")
	if target == "" {
		t.Skip("VCA_DASHBOARDS_CHECK=host:port/database names the server")
	}
	addr, db, _ := strings.Cut(target, "/")
	eng := nativeEngine{testch.Conn(t, addr)}
	now := time.Now().UTC()
	for uid, d := range loadCommitted(t) {
		req := request{from: now.Add(-24 * time.Hour), to: now, interval: 10 * time.Minute}
		req.vars = bindVariables(t, eng, uid, d, db, req, func(v jsonVariable, options []string, _ map[string]variable) []string {
			if !v.IncludeAll && len(options) > 0 {
				return options[:1]
			}
			return []string{"$__all"}
		})
		for _, p := range flatPanels(d.Panels) {
			for _, target := range p.Targets {
				if target.Datasource == nil || target.Datasource.Type != DatasourceType {
					continue
				}
				sql, err := render(target.RawSQL, req)
				if err == nil {
					var rows [][]string
					if _, rows, err = eng.query(sql); err == nil && len(rows) == 0 {
						err = fmt.Errorf("no rows")
					}
				}
				if err != nil {
					t.Errorf("%s/%s: %v", uid, p.Title, err)
				} else {
					t.Logf("%s/%s: %v", uid, p.Title, errOr(err, "rows"))
				}
			}
		}
	}
}

func errOr(err error, ok string) string {
	if err != nil {
		return strings.SplitN(err.Error(), "\n", 2)[0]
	}
	return ok
}

// bindVariables gives each template variable a value in dashboard order,
// running the query variables (a later one may use an earlier one's
// value); pick chooses from a query variable's options.
func bindVariables(t *testing.T, eng engine, uid string, d jsonDashboard, db string, req request, pick func(v jsonVariable, options []string, vars map[string]variable) []string) map[string]variable {
	t.Helper()
	req.vars = map[string]variable{}
	for _, v := range d.Templating.List {
		switch v.Type {
		case "datasource":
			continue
		case "textbox":
			req.vars[v.Name] = variable{value: []string{db}}
			continue
		}
		options := runVariable(t, eng, uid, v, req)
		req.vars[v.Name] = variable{value: pick(v, options, req.vars), multi: v.Multi, options: options}
	}
	return req.vars
}

func runVariable(t *testing.T, eng engine, uid string, v jsonVariable, req request) []string {
	t.Helper()
	sql, err := render(v.queryText(), req)
	if err != nil {
		t.Fatalf("%s: variable %s: %v", uid, v.Name, err)
	}
	_, rows, err := eng.query(sql)
	if err != nil {
		t.Fatalf("%s: variable %s: %v\n%s", uid, v.Name, err, sql)
	}
	var options []string
	for _, r := range rows {
		options = append(options, r[0])
	}
	return options
}

func checkDashboards(t *testing.T, all map[string]jsonDashboard, eng engine, db string, ds *dataset, batches int) {
	update := golden.Update()
	for uid, d := range all {
		req := request{from: simStart, to: simEnd, interval: 5 * time.Minute}
		req.vars = bindVariables(t, eng, uid, d, db, req, func(v jsonVariable, options []string, vars map[string]variable) []string {
			if want := expectedOptions(ds, v.Name, vars); !slices.Equal(options, want) {
				t.Errorf("%s: variable %s offers %q, want %q", uid, v.Name, options, want)
			}
			if sel, ok := selections[uid][v.Name]; ok {
				return sel
			}
			return []string{"$__all"}
		})
		for _, p := range flatPanels(d.Panels) {
			for _, target := range p.Targets {
				if target.Datasource == nil || target.Datasource.Type != DatasourceType {
					continue
				}
				name := uid + "/" + p.Title
				r := req
				if wallClock(target.RawSQL) {
					r.to = time.Now().Add(time.Hour)
				}
				sql, err := render(target.RawSQL, r)
				if err != nil {
					t.Errorf("%s: %v", name, err)
					continue
				}
				cols, rows, err := eng.query(sql)
				if err != nil {
					t.Errorf("%s: %v\n%s", name, err, sql)
					continue
				}
				if len(rows) == 0 {
					t.Errorf("%s returned no rows over the simulated fleet\n%s", name, sql)
				}
				got := summarize(cols, rows)
				if wallClock(target.RawSQL) {
					// checked below by its invariants
				} else if update {
					b, _ := json.MarshalIndent(got, "", "  ")
					os.MkdirAll(filepath.Dir(goldenPath(uid, p)), 0o755)
					if err := os.WriteFile(goldenPath(uid, p), append(b, '\n'), 0o644); err != nil {
						t.Fatal(err)
					}
				} else {
					var want panelResult
					b, err := os.ReadFile(goldenPath(uid, p))
					if err == nil {
						err = json.Unmarshal(b, &want)
					}
					if err != nil {
						t.Errorf("%s: golden: %v (UPDATE_GOLDEN=1 writes it)", name, err)
					} else if g, w := mustJSON(got), mustJSON(want); g != w {
						t.Errorf("%s differs from %s\n got %s\nwant %s", name, goldenPath(uid, p), g, w)
					}
				}
				if check, ok := oracles[p.Title]; ok {
					if err := check(ds, cols, rows, r, batches); err != nil {
						t.Errorf("%s: %v", name, err)
					}
				}
			}
		}
	}
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
