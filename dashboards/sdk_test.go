package dashboards

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/grafana/grafana-foundation-sdk/go/barchart"
	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/cog/plugins"
	"github.com/grafana/grafana-foundation-sdk/go/cog/variants"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
	"github.com/grafana/grafana-foundation-sdk/go/logs"
	"github.com/grafana/grafana-foundation-sdk/go/prometheus"
	"github.com/grafana/grafana-foundation-sdk/go/stat"
	"github.com/grafana/grafana-foundation-sdk/go/table"
	"github.com/grafana/grafana-foundation-sdk/go/timeseries"
)

// The SDK's strict readers (v0.0.22) return their list of errors as the
// error even when it is empty: a nil cog.BuildErrors in a non-nil error.
// Several of its callers take that for a failure and drop what was read:
// PanelOrRowPanel.UnmarshalJSONStrict returns before keeping the panel,
// so Dashboard.UnmarshalJSONStrict yields a dashboard without panels and
// no error, and the panel and query variants' strict unmarshalers return
// nil options and queries. The test reads through the same methods but
// takes an empty list for success, so everything the JSON holds is read
// strictly and can be compared on the way back out.

// buildErrors is err unless it is an empty cog.BuildErrors.
func buildErrors(err error) error {
	var errs cog.BuildErrors
	if errors.As(err, &errs) && len(errs) == 0 {
		return nil
	}
	return err
}

type strictReader interface{ UnmarshalJSONStrict([]byte) error }

// strictAny reads raw into a new T with T's UnmarshalJSONStrict, as the
// SDK's variant configs do, but keeps the value when nothing failed.
func strictAny[T any, P interface {
	*T
	strictReader
}](raw []byte) (any, error) {
	v := P(new(T))
	return v, buildErrors(v.UnmarshalJSONStrict(raw))
}

// strictQuery reads a ClickHouse target as the SDK's strict readers read
// their own types: every field present, none unknown.
func strictQuery(raw []byte) (variants.Dataquery, error) {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(raw, &fields); err != nil {
		return nil, err
	}
	want := []string{"datasource", "editorType", "format", "pluginVersion", "queryType", "rawSql", "refId"}
	if got := slices.Sorted(maps.Keys(fields)); !slices.Equal(got, want) {
		return nil, fmt.Errorf("ClickHouse target has fields %v, want %v", got, want)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	var q Query
	if err := dec.Decode(&q); err != nil {
		return nil, err
	}
	return q, nil
}

// registerVariants gives the SDK's runtime the panel and query types the
// dashboards use: the SDK's own (plugins.RegisterDefaultPlugins), those
// the dashboards use with their strict readers mended, and the ClickHouse
// query, which the SDK does not know and would keep as an unchecked map
// (cog.Runtime.StrictUnmarshalDataquery).
var registerVariants = sync.OnceFunc(func() {
	plugins.RegisterDefaultPlugins()
	rt := cog.NewRuntime()
	panel := func(cfg variants.PanelcfgConfig, options, fieldConfig func([]byte) (any, error)) {
		cfg.StrictOptionsUnmarshaler = options
		if fieldConfig != nil {
			cfg.StrictFieldConfigUnmarshaler = fieldConfig
		}
		rt.RegisterPanelcfgVariant(cfg)
	}
	panel(stat.VariantConfig(), strictAny[stat.Options], nil)
	panel(logs.VariantConfig(), strictAny[logs.Options], nil)
	panel(timeseries.VariantConfig(), strictAny[timeseries.Options], strictAny[timeseries.FieldConfig])
	panel(table.VariantConfig(), strictAny[table.Options], strictAny[table.FieldConfig])
	panel(barchart.VariantConfig(), strictAny[barchart.Options], strictAny[barchart.FieldConfig])
	prom := prometheus.VariantConfig()
	prom.StrictDataqueryUnmarshaler = func(raw []byte) (variants.Dataquery, error) {
		q := &prometheus.Dataquery{}
		return q, buildErrors(q.UnmarshalJSONStrict(raw))
	}
	rt.RegisterDataqueryVariant(prom)
	rt.RegisterDataqueryVariant(variants.DataqueryConfig{
		Identifier: DatasourceType,
		DataqueryUnmarshaler: func(raw []byte) (variants.Dataquery, error) {
			var q Query
			err := json.Unmarshal(raw, &q)
			return q, err
		},
		StrictDataqueryUnmarshaler: strictQuery,
	})
})

// readStrict is Dashboard.UnmarshalJSONStrict with the panels read one by
// one as PanelOrRowPanel.UnmarshalJSONStrict reads them (by "type": a row
// or a panel), keeping each that reads without errors.
func readStrict(b []byte) (dashboard.Dashboard, error) {
	var d dashboard.Dashboard
	var top map[string]json.RawMessage
	if err := json.Unmarshal(b, &top); err != nil {
		return d, err
	}
	var panels []json.RawMessage
	if err := json.Unmarshal(top["panels"], &panels); err != nil {
		return d, err
	}
	delete(top, "panels")
	rest, err := json.Marshal(top)
	if err != nil {
		return d, err
	}
	errs := []error{buildErrors(d.UnmarshalJSONStrict(rest))}
	for i, raw := range panels {
		var kind struct {
			Type string `json:"type"`
		}
		if err := json.Unmarshal(raw, &kind); err != nil {
			return d, err
		}
		var p dashboard.PanelOrRowPanel
		var r strictReader
		if kind.Type == "row" {
			p.RowPanel = &dashboard.RowPanel{}
			r = p.RowPanel
		} else {
			p.Panel = &dashboard.Panel{}
			r = p.Panel
		}
		if err := buildErrors(r.UnmarshalJSONStrict(raw)); err != nil {
			errs = append(errs, fmt.Errorf("panels[%d]: %w", i, err))
		}
		if p.RowPanel != nil && p.RowPanel.Panels == nil {
			// An empty list reads as nil; the builder writes it as [].
			p.RowPanel.Panels = []dashboard.Panel{}
		}
		d.Panels = append(d.Panels, p)
	}
	return d, errors.Join(errs...)
}

// TestDashboardsRoundTripThroughSDK reads every committed dashboard with
// the foundation SDK's strict unmarshalling (required fields present, no
// unexpected ones, panel options and queries by their registered types),
// validates it (Dashboard.Validate) and writes it back: the JSON must come
// out as it went in, so nothing in it is outside the SDK's model.
func TestDashboardsRoundTripThroughSDK(t *testing.T) {
	registerVariants()
	files, err := filepath.Glob("json/*.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("no dashboards: %v", err)
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		d, err := readStrict(b)
		if err != nil {
			t.Errorf("%s: strict unmarshal: %v", f, err)
			continue
		}
		if err := d.Validate(); err != nil {
			t.Errorf("%s: %v", f, err)
		}
		var targets int
		for _, p := range d.Panels {
			var panels []dashboard.Panel
			switch {
			case p.Panel != nil:
				panels = append(panels, *p.Panel)
			case p.RowPanel != nil:
				panels = append(panels, p.RowPanel.Panels...)
			}
			for _, panel := range panels {
				for _, q := range panel.Targets {
					targets++
					switch q.(type) {
					case Query, prometheus.Dataquery, *prometheus.Dataquery:
					default:
						t.Errorf("%s: panel %v: target decoded as %T", f, panel.Title, q)
					}
				}
			}
		}
		if targets == 0 {
			t.Errorf("%s: no targets", f)
		}
		out, err := json.MarshalIndent(d, "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		if out = append(out, '\n'); !bytes.Equal(out, b) {
			t.Errorf("%s changes on a round trip through the SDK's dashboard type:\n%s", f, firstDifference(b, out))
		}
	}
}

// firstDifference shows the first line where two JSON texts differ.
func firstDifference(a, b []byte) string {
	la, lb := bytes.Split(a, []byte("\n")), bytes.Split(b, []byte("\n"))
	for i := range min(len(la), len(lb)) {
		if !bytes.Equal(la[i], lb[i]) {
			return fmt.Sprintf("line %d\n was %s\n now %s", i+1, la[i], lb[i])
		}
	}
	return fmt.Sprintf("%d lines, now %d", len(la), len(lb))
}

// TestSDKReadIsStrict keeps the round trip honest: the SDK's own reader
// still drops the panels (so readStrict's mending is still needed), and
// with it a stray field or a target the plugin would migrate fails.
func TestSDKReadIsStrict(t *testing.T) {
	registerVariants()
	b, err := os.ReadFile("json/agent-drill-down.json")
	if err != nil {
		t.Fatal(err)
	}
	var plain dashboard.Dashboard
	err = buildErrors(plain.UnmarshalJSONStrict(b))
	if err != nil || len(plain.Panels) != 4 || slices.ContainsFunc(plain.Panels, func(p dashboard.PanelOrRowPanel) bool { return p.Panel != nil }) {
		t.Errorf("the SDK's Dashboard.UnmarshalJSONStrict now keeps panels (error %v): readStrict's mending may go", err)
	}
	for _, c := range []struct{ old, new, want string }{
		{`"editorType": "sql",`, `"editorType": "sql", "meta": {},`, "fields"},
		{`"refId": "A",`, `"refId": "A", "hide": false,`, "fields"},
		{`"title": "Decisions",`, `"title": "Decisions", "colour": "red",`, "unexpected field"},
		{`"reducer": []`, `"reducer": null`, "reducer"},
	} {
		if _, err := readStrict(bytes.Replace(b, []byte(c.old), []byte(c.new), 1)); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: read error %v, want one about %q", c.new, err, c.want)
		}
	}
	d, err := readStrict(bytes.Replace(b, []byte(`"pluginVersion": "4.20.0"`), []byte(`"pluginVersion": "3.3.0"`), 1))
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Validate(); err == nil || !strings.Contains(err.Error(), "pluginVersion") {
		t.Errorf("Validate with an old pluginVersion: %v", err)
	}
}
