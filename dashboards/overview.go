package dashboards

import (
	"github.com/grafana/grafana-foundation-sdk/go/barchart"
	"github.com/grafana/grafana-foundation-sdk/go/common"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
	"github.com/grafana/grafana-foundation-sdk/go/stat"
	"github.com/grafana/grafana-foundation-sdk/go/table"
	"github.com/grafana/grafana-foundation-sdk/go/timeseries"
)

// Filters the gateway and agent variables add; "All" makes them 1=1.
const (
	rollupFilter = `$__conditionalAll(gateway IN (${gateway}), $gateway)
  AND $__conditionalAll(src_group IN (${agent}), $agent)`
	eventFilter = `$__conditionalAll(gateway IN (${gateway}), $gateway)
  AND $__conditionalAll(src_groups[1] IN (${agent}), $agent)`
	// gatewayFilter is for IDS alerts, whose source is the server as often
	// as the agent (Suricata logs the packet's direction).
	gatewayFilter = `$__conditionalAll(gateway IN (${gateway}), $gateway)`
	// destination is the SNI when there is one, else the address.
	destination = `if(sni != '', sni, replaceRegexpOne(IPv6NumToString(dst_ip), '^::ffff:', ''))`
)

// threatVectors are the seed's four containment stories, each the
// scenario of the rules that stop it.
var threatVectors = []struct{ title, scenario, question string }{
	{"Prompt-injection exfiltration (default deny)", "default_deny", "How often did an agent try a destination no allow-list names (the POST_RULES default deny), and when last?"},
	{"Shadow model", "shadow_model", "How often did an agent call an unapproved model provider, and when last?"},
	{"DNS exfiltration", "dns_exfiltration", "How often did an agent try a resolver other than the VPC's, and when last?"},
	{"East-west", "east_west", "How often did an agent try to reach private networks or other workloads, and when last?"},
}

func threatVectorSQL(scenario string) string {
	return `
SELECT sum(events) AS attempts,
  if(attempts = 0, 'never', toString(toDateTime(max(last_seen)))) AS last_attempt
FROM ${database}.dcf_rollup_minute
WHERE $__timeFilter(bucket) AND action = 'DENY'
  AND rule_uuid IN (SELECT rule_uuid FROM ${database}.policy_rules WHERE scenario = '` + scenario + `')
  AND ` + rollupFilter
}

func overview() *dashboard.DashboardBuilder {
	d := newDashboard("vca-containment-overview", "Agent containment overview",
		"What the contained agents tried to reach and which named DCF rule decided it.").
		WithVariable(datasourceVar()).WithVariable(databaseVar()).WithVariable(gatewayVar()).WithVariable(agentVar(true))

	d = d.WithRow(dashboard.NewRowBuilder("Threat vectors"))
	for _, v := range threatVectors {
		d = d.WithPanel(panel(stat.NewPanelBuilder(), v.title, v.question, 6, 5, sql(Table, threatVectorSQL(v.scenario))).
			ReduceOptions(everyField()).
			TextMode(common.BigValueTextModeValueAndName).Orientation(common.VizOrientationAuto).ColorMode(common.BigValueColorModeNone))
	}

	d = d.WithRow(dashboard.NewRowBuilder("Decisions"))
	d = d.WithPanel(panel(timeseries.NewPanelBuilder(), "Decisions over time",
		"How many decisions did the gateways log, by action and by enforce or monitor mode?", 16, 9, sql(TimeSeries, `
SELECT toDateTime(intDiv(toUInt32(bucket), $__interval_s) * $__interval_s) AS time,
  concat(action, multiIf(enforced = 1, ' (enforced)', enforced = 0, ' (monitor)', '')) AS decision,
  sum(events) AS decisions
FROM ${database}.dcf_rollup_minute
WHERE $__timeFilter(bucket) AND kind NOT IN ('other', 'alert') AND `+rollupFilter+`
GROUP BY time, decision
ORDER BY time, decision`)).Legend(legend()).Tooltip(tooltip()).Unit("short"))
	d = d.WithPanel(panel(barchart.NewPanelBuilder(), "Blocked flows by rule",
		"Which named rules blocked traffic (DENY, enforced), and how many flows each?", 8, 9, sql(Table, `
SELECT if(rule_name != '', rule_name, rule_uuid) AS rule, sum(events) AS blocked
FROM ${database}.dcf_rollup_minute
WHERE $__timeFilter(bucket) AND action = 'DENY' AND enforced = 1 AND `+rollupFilter+`
GROUP BY rule
ORDER BY blocked DESC, rule`)).Orientation(common.VizOrientationHorizontal).Legend(legend()).Tooltip(tooltip()).XField("rule"))
	d = d.WithPanel(panel(table.NewPanelBuilder(), "Top denied destinations per agent",
		"For each agent SmartGroup, which names (SNI) or addresses were denied most, by which rule, and when last?", 16, 10, sql(Table, `
SELECT if(empty(src_groups), '(no SmartGroup)', src_groups[1]) AS agent,
  `+destination+` AS destination,
  dst_port AS port,
  if(rule_name != '', rule_name, rule_uuid) AS rule,
  count() AS denied,
  toString(toDateTime(max(event_time))) AS last_seen
FROM ${database}.dcf_events
WHERE $__timeFilter(event_time) AND action = 'DENY' AND kind NOT IN ('other', 'alert') AND `+eventFilter+`
GROUP BY agent, destination, port, rule
ORDER BY denied DESC, agent, destination, port, rule
LIMIT 50`)))
	d = d.WithPanel(panel(table.NewPanelBuilder(), "Rules that never fired",
		"Which rules of the newest policy catalog logged no decision in the range (a rule without logging never can)?", 8, 10, sql(Table, `
SELECT priority, rule_name AS rule, action, scenario, if(logging = 1, 'on', 'off') AS logging
FROM ${database}.policy_rules
WHERE catalog_version = (SELECT argMax(catalog_version, loaded_at) FROM ${database}.policy_rules)
  AND rule_uuid NOT IN (
    SELECT rule_uuid FROM ${database}.dcf_rollup_minute WHERE $__timeFilter(bucket) AND `+rollupFilter+`)
GROUP BY priority, rule, action, scenario, logging
ORDER BY priority`)))
	d = d.WithRow(dashboard.NewRowBuilder("IDS alerts"))
	d = d.WithPanel(panel(stat.NewPanelBuilder(), "IDS alerts",
		"How many IDS alerts did the gateways' Suricata raise, and how many did IPS block?", 6, 8, sql(Table, `
SELECT count() AS alerts, countIf(action = 'DENY') AS blocked
FROM ${database}.dcf_events
WHERE $__timeFilter(event_time) AND kind = 'alert' AND `+gatewayFilter)).
		ReduceOptions(everyField()).
		TextMode(common.BigValueTextModeValueAndName).Orientation(common.VizOrientationAuto).ColorMode(common.BigValueColorModeNone))
	d = d.WithPanel(panel(table.NewPanelBuilder(), "IDS alerts by signature",
		"Which signatures fired on which gateway, how severe, how often blocked, and which DCF rules' IDS inspection logged the same signature (L7 IDS verdicts)?", 18, 8, sql(Table, `
SELECT gateway, signature_id, signature, category, severity, alerts, blocked, last_seen,
  verdicts AS l7_verdicts, arrayStringConcat(rules, ', ') AS rules
FROM (
  SELECT gateway, signature_id, any(alert_signature) AS signature, any(alert_category) AS category,
    min(alert_severity) AS severity, count() AS alerts, countIf(action = 'DENY') AS blocked,
    toString(toDateTime(max(event_time))) AS last_seen
  FROM ${database}.dcf_events
  WHERE $__timeFilter(event_time) AND kind = 'alert' AND `+gatewayFilter+`
  GROUP BY gateway, signature_id
) AS alerts
LEFT JOIN (
  SELECT gateway, signature_id, count() AS verdicts, arraySort(groupUniqArray(if(rule_name != '', rule_name, rule_uuid))) AS rules
  FROM ${database}.dcf_events
  WHERE $__timeFilter(event_time) AND kind = 'l7' AND signature_id != '' AND `+gatewayFilter+`
  GROUP BY gateway, signature_id
) AS verdicts USING (gateway, signature_id)
ORDER BY alerts DESC, gateway, signature_id
LIMIT 50`)))
	return d
}
