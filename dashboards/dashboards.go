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
)

// DatasourceType is the ClickHouse plugin's id (grafana-clickhouse-datasource v4).
const DatasourceType = "grafana-clickhouse-datasource"

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

var queryTypes = map[Format]string{TimeSeries: "timeseries", Table: "table", Logs: "logs"}

// Query is one SQL target of the ClickHouse plugin. The foundation SDK has
// no ClickHouse query type, so this is it.
type Query struct {
	RefID      string               `json:"refId"`
	Datasource common.DataSourceRef `json:"datasource"`
	EditorType string               `json:"editorType"`
	QueryType  string               `json:"queryType"`
	Format     Format               `json:"format"`
	RawSQL     string               `json:"rawSql"`
}

func (Query) ImplementsDataqueryVariant() {}
func (Query) DataqueryType() string       { return DatasourceType }
func (q Query) Equals(o variants.Dataquery) bool {
	other, ok := o.(Query)
	return ok && reflect.DeepEqual(q, other)
}
func (q Query) Validate() error {
	if strings.TrimSpace(q.RawSQL) == "" {
		return fmt.Errorf("query %s has no SQL", q.RefID)
	}
	return nil
}

// Build makes a Query its own builder.
func (q Query) Build() (variants.Dataquery, error) { return q, q.Validate() }

var chDatasource = common.DataSourceRef{Type: cog.ToPtr(DatasourceType), Uid: cog.ToPtr("${datasource}")}

func sql(f Format, text string) Query {
	return Query{RefID: "A", Datasource: chDatasource, EditorType: "sql", QueryType: queryTypes[f], Format: f, RawSQL: strings.TrimSpace(text)}
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
		b, err := json.MarshalIndent(built, "", "  ")
		if err != nil {
			return nil, fmt.Errorf("%s: %w", d.file, err)
		}
		out = append(out, Dashboard{File: d.file, JSON: append(b, '\n')})
	}
	return out, nil
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
