// Package dashboards defines the Grafana dashboards of the audit store as
// code: the SQL of every panel, its layout and the template variables. The
// JSON Grafana imports (dashboards/json) is rendered from here; a test fails
// when the two drift, and another runs every panel's SQL against ClickHouse.
package dashboards

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"

	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/cog/variants"
	"github.com/grafana/grafana-foundation-sdk/go/common"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
	"github.com/grafana/grafana-foundation-sdk/go/table"
)

// DatasourceType is the ClickHouse plugin's id (grafana-clickhouse-datasource).
const DatasourceType = "grafana-clickhouse-datasource"

// PluginVersion is the plugin release whose query handling the tests
// reproduce (expand_test.go); every query target carries it. The plugin's
// query editor (clickhouse-datasource, src/views/CHQueryEditor.tsx) passes
// each target through migrateCHQuery (src/data/migration.ts), which treats a
// target without pluginVersion, or with one below 4.0.0, as a v3 query and
// returns a rewritten copy: pluginVersion set, queryType recomputed from
// format, meta reset to {}. The editor builds every change from that copy,
// so a provisioned panel merely opened and touched would come back as
// modified.
const PluginVersion = "4.20.0"

// MinPluginVersion is the oldest plugin release the dashboards work on.
// 4.0.0 to 4.0.2 expanded $__timeFilter(col) to
// col >= toDateTime64(<ms>/1000, 3), a DateTime64(3) comparison that 4.0.3
// replaced as a performance problem (the plugin's CHANGELOG); from 4.0.3
// on it is col >= toDateTime(<s>), as the tests expand it, and
// $__conditionalAll and the template variables are applied as in
// PluginVersion. lint_test.go allows only the macros 4.0.3 already
// expands that way.
const MinPluginVersion = "4.0.3"

// DefaultDatasourceUID is the UID the provisioning file gives the ClickHouse
// data source; dashboards reach it through the ${datasource} variable.
const DefaultDatasourceUID = "vca-clickhouse"

// Format is the plugin's result shape (its "format" field).
type Format int

const (
	TimeSeries Format = 0
	Table      Format = 1
	Logs       Format = 2
)

// queryTypes is the plugin's mapGrafanaFormatToQueryType for the formats
// used here (src/data/utils.ts; its QueryType values in
// src/types/queryBuilder.ts).
var queryTypes = map[Format]string{TimeSeries: "timeseries", Table: "table", Logs: "logs"}

// Query is one SQL target of the ClickHouse plugin (its CHSqlQuery,
// src/types/sql.ts). The foundation SDK has no ClickHouse query type, so
// this is it. The fields are exactly those the plugin's migration
// (migrateCHQuery) leaves alone: pluginVersion at or above 4.0.0, editorType
// sql, and a queryType that is neither the v3 "sql" nor "builder" and agrees
// with format both ways (mapGrafanaFormatToQueryType and
// mapQueryTypeToGrafanaFormat in src/data/utils.ts), so saving the panel in
// the SQL editor rewrites nothing either.
type Query struct {
	RefID         string               `json:"refId"`
	Datasource    common.DataSourceRef `json:"datasource"`
	PluginVersion string               `json:"pluginVersion"`
	EditorType    string               `json:"editorType"`
	QueryType     string               `json:"queryType"`
	Format        Format               `json:"format"`
	RawSQL        string               `json:"rawSql"`
}

func (Query) ImplementsDataqueryVariant() {}
func (Query) DataqueryType() string       { return DatasourceType }
func (q Query) Equals(o variants.Dataquery) bool {
	other, ok := o.(Query)
	return ok && reflect.DeepEqual(q, other)
}

// Validate refuses a target the plugin's query editor would rewrite or
// whose result shape is not the one its panel asks for.
func (q Query) Validate() error {
	if strings.TrimSpace(q.RawSQL) == "" {
		return fmt.Errorf("query %s has no SQL", q.RefID)
	}
	if q.PluginVersion != PluginVersion || q.EditorType != "sql" {
		return fmt.Errorf("query %s: pluginVersion %q, editorType %q", q.RefID, q.PluginVersion, q.EditorType)
	}
	if qt, ok := queryTypes[q.Format]; !ok || q.QueryType != qt {
		return fmt.Errorf("query %s: queryType %q does not match format %d", q.RefID, q.QueryType, q.Format)
	}
	return nil
}

// Build makes a Query its own builder.
func (q Query) Build() (variants.Dataquery, error) { return q, q.Validate() }

var chDatasource = common.DataSourceRef{Type: cog.ToPtr(DatasourceType), Uid: cog.ToPtr("${datasource}")}

// sql is the one place a ClickHouse target is made: every panel's query
// goes through it, so all of them carry the same plugin fields.
func sql(f Format, text string) Query {
	return Query{RefID: "A", Datasource: chDatasource, PluginVersion: PluginVersion, EditorType: "sql",
		QueryType: queryTypes[f], Format: f, RawSQL: strings.TrimSpace(text)}
}

// panelBuilder is what every panel kind's builder has in common.
type panelBuilder[T any] interface {
	cog.Builder[dashboard.Panel]
	Title(string) T
	Description(string) T
	Datasource(common.DataSourceRef) T
	Span(uint32) T
	Height(uint32) T
	WithTarget(cog.Builder[variants.Dataquery]) T
}

// panel gives b a title, the question it answers, a size and its query.
func panel[T panelBuilder[T]](b T, title, question string, w, h uint32, q Query) T {
	return b.Title(title).Description(question).Datasource(chDatasource).Span(w).Height(h).WithTarget(q)
}

// Common template variables.
func datasourceVar() cog.Builder[dashboard.VariableModel] {
	return dashboard.NewDatasourceVariableBuilder("datasource").Label("ClickHouse").Type(DatasourceType).
		Current(dashboard.VariableOption{Text: dashboard.StringOrArrayOfString{String: cog.ToPtr(DefaultDatasourceUID)},
			Value: dashboard.StringOrArrayOfString{String: cog.ToPtr(DefaultDatasourceUID)}})
}

func databaseVar() cog.Builder[dashboard.VariableModel] {
	return dashboard.NewTextBoxVariableBuilder("database").Label("Database").DefaultValue(dashboard.StringOrMap{String: cog.ToPtr("vca")}).
		Current(dashboard.VariableOption{Text: dashboard.StringOrArrayOfString{String: cog.ToPtr("vca")},
			Value: dashboard.StringOrArrayOfString{String: cog.ToPtr("vca")}}).
		Description("the collector's ClickHouse database (sinks.clickhouse.database)")
}

// queryVar is a variable whose options come from ClickHouse.
func queryVar(name, label, query string, multi bool) cog.Builder[dashboard.VariableModel] {
	q := strings.TrimSpace(query)
	b := dashboard.NewQueryVariableBuilder(name).Label(label).Datasource(chDatasource).
		Query(dashboard.StringOrMap{String: &q}).Definition(q).
		Refresh(dashboard.VariableRefreshOnTimeRangeChanged).Sort(dashboard.VariableSortAlphabeticalAsc)
	if multi {
		all := "$__all"
		b = b.Multi(true).IncludeAll(true).Current(dashboard.VariableOption{
			Text: dashboard.StringOrArrayOfString{String: cog.ToPtr("All")}, Value: dashboard.StringOrArrayOfString{ArrayOfString: []string{all}}})
	}
	return b
}

// gatewayVar and agentVar read the minute rollup, which holds every
// gateway and source group that sent a decision.
func gatewayVar() cog.Builder[dashboard.VariableModel] {
	return queryVar("gateway", "Gateway", `SELECT DISTINCT gateway FROM ${database}.dcf_rollup_minute WHERE $__timeFilter(bucket) AND gateway != '' ORDER BY gateway`, true)
}

func agentVar(multi bool) cog.Builder[dashboard.VariableModel] {
	return queryVar("agent", "Agent SmartGroup", `SELECT DISTINCT src_group FROM ${database}.dcf_rollup_minute WHERE $__timeFilter(bucket) AND src_group != '' ORDER BY src_group`, multi)
}

// legend and tooltip suit series split by a group column.
func legend() *common.VizLegendOptionsBuilder {
	return common.NewVizLegendOptionsBuilder().ShowLegend(true).DisplayMode(common.LegendDisplayModeList).Placement(common.LegendPlacementBottom)
}

func tooltip() *common.VizTooltipOptionsBuilder {
	return common.NewVizTooltipOptionsBuilder().Mode(common.TooltipDisplayModeMulti).Sort(common.SortOrderDescending)
}

// everyField makes a stat panel show each column of its one row.
func everyField() *common.ReduceDataOptionsBuilder {
	return common.NewReduceDataOptionsBuilder().Calcs([]string{"lastNotNull"}).Fields("/.*/").Values(false)
}

// newDashboard is the frame every dashboard shares.
func newDashboard(uid, title, description string) *dashboard.DashboardBuilder {
	return dashboard.NewDashboardBuilder(title).Uid(uid).Description(description).
		Tags([]string{"openclaw-vca", "aviatrix-dcf"}).Timezone("utc").Refresh("1m").Time("now-24h", "now").
		Tooltip(dashboard.DashboardCursorSyncCrosshair).Editable()
}

// Dashboard is one rendered dashboard.
type Dashboard struct {
	File string // name under dashboards/json
	JSON []byte
}

// All renders every dashboard.
func All() ([]Dashboard, error) {
	var out []Dashboard
	for _, d := range []struct {
		file  string
		build func() *dashboard.DashboardBuilder
	}{
		{"containment-overview.json", overview},
		{"monitor-to-enforce.json", rollout},
		{"agent-drill-down.json", agentDrillDown},
		{"collector-health.json", health},
	} {
		built, err := d.build().Build()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", d.file, err)
		}
		numberPanels(&built)
		completeTableFooters(&built)
		b, err := json.MarshalIndent(built, "", "  ")
		if err != nil {
			return nil, fmt.Errorf("%s: %w", d.file, err)
		}
		out = append(out, Dashboard{File: d.file, JSON: append(b, '\n')})
	}
	return out, nil
}

// completeTableFooters gives every table panel's footer an empty reducer
// list. The SDK's table defaults (table.NewOptions) leave it nil, which
// marshals as null, and the SDK's own strict reader refuses that (reducer
// is a required list in common.TableFooterOptions). Done here rather than
// in each panel so a table panel added anywhere gets it.
func completeTableFooters(d *dashboard.Dashboard) {
	for _, p := range d.Panels {
		var panels []*dashboard.Panel
		switch {
		case p.Panel != nil:
			panels = append(panels, p.Panel)
		case p.RowPanel != nil:
			for i := range p.RowPanel.Panels {
				panels = append(panels, &p.RowPanel.Panels[i])
			}
		}
		for _, panel := range panels {
			if o, ok := panel.Options.(*table.Options); ok && o.Footer != nil && o.Footer.Reducer == nil {
				o.Footer.Reducer = []string{}
			}
		}
	}
}

// numberPanels gives every panel and row a stable id, in layout order, so
// links and the panel inspector keep working across imports.
func numberPanels(d *dashboard.Dashboard) {
	var id uint32
	next := func() *uint32 { id++; v := id; return &v }
	for _, p := range d.Panels {
		switch {
		case p.Panel != nil:
			p.Panel.Id = next()
		case p.RowPanel != nil:
			p.RowPanel.Id = *next()
			for i := range p.RowPanel.Panels {
				p.RowPanel.Panels[i].Id = next()
			}
		}
	}
}
