package dashboards

import (
	"github.com/grafana/grafana-foundation-sdk/go/barchart"
	"github.com/grafana/grafana-foundation-sdk/go/common"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
	"github.com/grafana/grafana-foundation-sdk/go/stat"
	"github.com/grafana/grafana-foundation-sdk/go/table"
	"github.com/grafana/grafana-foundation-sdk/go/timeseries"
)

// wouldBeDenied selects DENY decisions logged in monitor mode.
const wouldBeDenied = `$__timeFilter(event_time) AND would_be_denied = 1 AND ` + eventFilter

// admittedBy names the allow-list a would-be-denied name belongs in, or
// says it needs a look.
const admittedBy = `if(admitting_web_group != '', admitting_web_group, 'investigate')`

// rollout is the monitor-to-enforce dashboard: what enforce mode would
// block if it were switched on today. It reads the hour rollup for the
// long ranges a rollout spans, the event table for names.
func rollout() *dashboard.DashboardBuilder {
	d := newDashboard("vca-monitor-to-enforce", "Monitor-to-enforce rollout",
		"Decisions logged in monitor mode (enforced = false): what enforce mode would block, and which allow-list each destination belongs in.").
		Time("now-7d", "now").
		WithVariable(datasourceVar()).WithVariable(databaseVar()).WithVariable(gatewayVar()).WithVariable(agentVar(true))

	d = d.WithPanel(panel(stat.NewPanelBuilder(), "Share enforce mode would block",
		"Of the decisions logged in monitor mode, what share were DENY, that is, would be blocked if the policy were enforced today?", 6, 6, sql(Table, `
SELECT round(100 * sumIf(n, action = 'DENY') / greatest(sum(n), 1), 2) AS would_block_percent
FROM (
  SELECT action, sum(events) AS n
  FROM ${database}.dcf_rollup_hour
  WHERE $__timeFilter(bucket) AND enforced = 0 AND kind NOT IN ('other', 'alert') AND `+rollupFilter+`
  GROUP BY action)`)).Unit("percent").Decimals(2).Orientation(common.VizOrientationAuto))
	d = d.WithPanel(panel(stat.NewPanelBuilder(), "Would-be-denied decisions",
		"How many monitor-mode DENY decisions, to how many destinations, from how many agents?", 6, 6, sql(Table, `
SELECT count() AS decisions, uniqExact(`+destination+`) AS destinations, uniqExact(src_ip) AS agents
FROM ${database}.dcf_events
WHERE `+wouldBeDenied)).
		ReduceOptions(everyField()).TextMode(common.BigValueTextModeValueAndName).Orientation(common.VizOrientationAuto))
	d = d.WithPanel(panel(timeseries.NewPanelBuilder(), "Would-be-denied over time by rule",
		"Which rules would block traffic once enforced, and is that traffic going down as the allow-lists grow?", 12, 6, sql(TimeSeries, `
SELECT toDateTime(intDiv(toUInt32(bucket), $__interval_s) * $__interval_s) AS time,
  if(rule_name != '', rule_name, rule_uuid) AS rule,
  sum(events) AS would_be_denied
FROM ${database}.dcf_rollup_hour
WHERE $__timeFilter(bucket) AND enforced = 0 AND action = 'DENY' AND `+rollupFilter+`
GROUP BY time, rule
ORDER BY time, rule`)).Legend(legend()).Tooltip(tooltip()))

	d = d.WithPanel(panel(table.NewPanelBuilder(), "Would-be-denied destinations",
		"Which names and addresses would enforce mode block, which allow-list WebGroup would admit each (or 'investigate'), first and last seen, and which agents needed them?", 24, 11, sql(Table, `
SELECT `+destination+` AS destination,
  `+admittedBy+` AS admitted_by,
  if(rule_name != '', rule_name, rule_uuid) AS rule,
  count() AS hits,
  toString(toDateTime(min(event_time))) AS first_seen,
  toString(toDateTime(max(event_time))) AS last_seen,
  arrayStringConcat(arraySort(groupUniqArray(if(empty(src_groups), '(no SmartGroup)', src_groups[1]))), ', ') AS agents,
  uniqExact(src_ip) AS agent_hosts
FROM ${database}.dcf_events
WHERE `+wouldBeDenied+`
GROUP BY destination, admitted_by, rule
ORDER BY hits DESC, destination
LIMIT 200`)))
	d = d.WithPanel(panel(barchart.NewPanelBuilder(), "Would-be-denied by admitting category",
		"Grouped by the category of the allow-list that would admit them (the allow rule's scenario), how many decisions and names would enforce mode block?", 12, 9, sql(Table, `
SELECT if(category = '', 'investigate', category) AS category, sum(hits) AS hits, sum(names) AS names
FROM (
  SELECT `+admittedBy+` AS web_group, count() AS hits, uniqExact(`+destination+`) AS names
  FROM ${database}.dcf_events
  WHERE `+wouldBeDenied+`
  GROUP BY web_group) AS denied
ANY LEFT JOIN (
  SELECT arrayJoin(web_groups) AS web_group, any(scenario) AS category
  FROM ${database}.policy_rules
  WHERE action = 'PERMIT'
  GROUP BY web_group) AS allow_lists USING web_group
GROUP BY category
ORDER BY hits DESC, category`)).Orientation(common.VizOrientationHorizontal).Legend(legend()).Tooltip(tooltip()).XField("category"))
	d = d.WithPanel(panel(table.NewPanelBuilder(), "Agents that would be blocked",
		"Which agent hosts would lose access under enforce mode, to how many destinations, and what share of their traffic is that?", 12, 9, sql(Table, `
SELECT if(empty(src_groups), '(no SmartGroup)', src_groups[1]) AS agent,
  replaceRegexpOne(IPv6NumToString(src_ip), '^::ffff:', '') AS host,
  countIf(action = 'DENY') AS would_be_denied,
  count() AS decisions,
  round(100 * would_be_denied / decisions, 2) AS percent,
  uniqExactIf(`+destination+`, action = 'DENY') AS destinations
FROM ${database}.dcf_events
WHERE $__timeFilter(event_time) AND enforced = 0 AND kind NOT IN ('other', 'alert') AND `+eventFilter+`
GROUP BY agent, host
HAVING would_be_denied > 0
ORDER BY would_be_denied DESC, agent, host`)))
	return d
}
