package dashboards

import (
	"github.com/grafana/grafana-foundation-sdk/go/common"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
	"github.com/grafana/grafana-foundation-sdk/go/logs"
	"github.com/grafana/grafana-foundation-sdk/go/stat"
	"github.com/grafana/grafana-foundation-sdk/go/table"
	"github.com/grafana/grafana-foundation-sdk/go/timeseries"
)

// agentEvents selects one agent's decisions in the event table.
const agentEvents = `$__timeFilter(event_time) AND has(src_groups, '${agent}')
  AND $__conditionalAll(gateway IN (${gateway}), $gateway)
  AND $__conditionalAll(rule_name IN (${rule}), $rule)`

// agentDecisions leaves out IDS alerts, which are detections, not
// decisions; the raw lines keep them.
const agentDecisions = agentEvents + `
  AND kind != 'alert'`

func agentDrillDown() *dashboard.DashboardBuilder {
	d := newDashboard("vca-agent-drill-down", "Agent drill-down",
		"Every decision for one agent SmartGroup, down to the raw gateway line.").
		Time("now-6h", "now").
		WithVariable(datasourceVar()).WithVariable(databaseVar()).WithVariable(agentVar(false)).WithVariable(gatewayVar()).
		WithVariable(queryVar("rule", "Rule", `SELECT DISTINCT rule_name FROM ${database}.dcf_rollup_minute WHERE $__timeFilter(bucket) AND src_group = '${agent}' AND rule_name != '' ORDER BY rule_name`, true))

	d = d.WithPanel(panel(stat.NewPanelBuilder(), "Decisions",
		"How many decisions did the gateways log for this agent, how many denied, to how many destinations?", 8, 5, sql(Table, `
SELECT count() AS decisions, countIf(action = 'DENY') AS denied,
  uniqExact(`+destination+`) AS destinations
FROM ${database}.dcf_events
WHERE `+agentDecisions)).
		ReduceOptions(everyField()).TextMode(common.BigValueTextModeValueAndName).Orientation(common.VizOrientationAuto))
	d = d.WithPanel(panel(timeseries.NewPanelBuilder(), "Decisions over time by rule",
		"When did this agent hit which rule?", 16, 5, sql(TimeSeries, `
SELECT toDateTime(intDiv(toUInt32(event_time), $__interval_s) * $__interval_s) AS time,
  concat(if(rule_name != '', rule_name, rule_uuid), ' ', action) AS rule,
  count() AS decisions
FROM ${database}.dcf_events
WHERE `+agentDecisions+`
GROUP BY time, rule
ORDER BY time, rule`)).Legend(legend()).Tooltip(tooltip()))
	d = d.WithPanel(panel(table.NewPanelBuilder(), "Every decision",
		"What exactly did the agent try, and which named rule decided it (newest first)?", 24, 12, sql(Table, `
SELECT toString(toDateTime(event_time)) AS time, gateway,
  replaceRegexpOne(IPv6NumToString(src_ip), '^::ffff:', '') AS source,
  `+destination+` AS destination, dst_port AS port, proto,
  if(rule_name != '', rule_name, rule_uuid) AS rule, action,
  multiIf(enforced = 1, 'enforced', enforced = 0, 'monitor', '') AS mode,
  scenario, web_group, admitting_web_group
FROM ${database}.dcf_events
WHERE `+agentDecisions+`
ORDER BY event_time DESC, event_id
LIMIT 1000`)))
	d = d.WithPanel(panel(logs.NewPanelBuilder(), "Raw gateway lines",
		"What did the gateway send, byte for byte?", 24, 12, sql(Logs, `
SELECT event_time AS log_time, raw AS body,
  if(action = 'DENY', 'warning', 'info') AS level,
  if(rule_name != '', rule_name, rule_uuid) AS rule, gateway
FROM ${database}.dcf_events
WHERE `+agentEvents+`
ORDER BY log_time DESC, event_id
LIMIT 1000`)).ShowTime(true).WrapLogMessage(true).EnableLogDetails(true).
		SortOrder(common.LogsSortOrderDescending).DedupStrategy(common.LogsDedupStrategyNone))
	return d
}
