package dashboards

import (
	"fmt"
	"maps"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/openclaw-vca/openclaw-vca/internal/enrich"
	"github.com/openclaw-vca/openclaw-vca/internal/parse"
)

// The answers the dataset gives on its own, computed from the parsed and
// enriched events without ClickHouse: what a panel must show.

// oracle checks a panel's rows; batches is how many ingest batches the
// engine holds.
type oracle func(ds *dataset, cols []string, rows [][]string, r request, batches int) error

const stamp = "2006-01-02 15:04:05"

func stored(ds *dataset) []*parse.Event {
	var out []*parse.Event
	for i := range ds.Events {
		if ds.Events[i].Status != parse.StatusFailed {
			out = append(out, &ds.Events[i])
		}
	}
	return out
}

func ruleUUID(e *parse.Event) string {
	if e.Has&parse.HasRuleUUID == 0 {
		return ""
	}
	return e.RuleUUID.String()
}

func ruleLabel(e *parse.Event) string {
	if e.Enriched.RuleName != "" {
		return e.Enriched.RuleName
	}
	return ruleUUID(e)
}

func denied(e *parse.Event) bool  { return e.Action == parse.ActionDeny }
func monitor(e *parse.Event) bool { return e.Has&parse.HasEnforced != 0 && !e.Enforced }
func enforced(e *parse.Event) bool {
	return e.Has&parse.HasEnforced != 0 && e.Enforced
}

func destinationOf(e *parse.Event) string {
	if len(e.SNI) > 0 {
		return string(e.SNI)
	}
	return e.DstIP.Unmap().String()
}

func agentOf(e *parse.Event) string {
	if len(e.Enriched.SrcGroups) == 0 {
		return "(no SmartGroup)"
	}
	return e.Enriched.SrcGroups[0]
}

// scenarioOf is the scenario policy_rules gives the event's rule.
func scenarioOf(ix *enrich.Index, e *parse.Event) string {
	u := ruleUUID(e)
	if u == enrich.DefaultRuleUUID {
		return "default_deny"
	}
	for _, r := range ix.Catalog.Rules {
		if strings.EqualFold(r.UUID, u) {
			return r.Scenario
		}
	}
	return ""
}

func inRange(e *parse.Event, r request) bool {
	t := e.EventTime.Truncate(time.Second)
	return !t.Before(r.from) && !t.After(r.to)
}

func col(cols []string, name string) (int, error) {
	if i := slices.Index(cols, name); i >= 0 {
		return i, nil
	}
	return 0, fmt.Errorf("no column %q in %q", name, cols)
}

// sameRows compares rows with want, both as [][]string in the panel's order.
func sameRows(rows, want [][]string) error {
	if len(rows) != len(want) {
		return fmt.Errorf("%d rows, want %d\n got %q\nwant %q", len(rows), len(want), head(rows), head(want))
	}
	for i := range rows {
		if !slices.Equal(rows[i], want[i]) {
			return fmt.Errorf("row %d is %q, want %q", i, rows[i], want[i])
		}
	}
	return nil
}

func head(rows [][]string) [][]string { return rows[:min(len(rows), 5)] }

func round2(f float64) string {
	return strconv.FormatFloat(math.Round(f*100)/100, 'f', -1, 64)
}

func threatVector(scenario string) oracle {
	return func(ds *dataset, cols []string, rows [][]string, r request, _ int) error {
		n, last := 0, time.Time{}
		for _, e := range stored(ds) {
			if inRange(e, r) && denied(e) && scenarioOf(ds.Index, e) == scenario {
				n++
				if e.EventTime.After(last) {
					last = e.EventTime
				}
			}
		}
		if n == 0 {
			return fmt.Errorf("the dataset has no %s denial", scenario)
		}
		return sameRows(rows, [][]string{{strconv.Itoa(n), last.UTC().Format(stamp)}})
	}
}

// expectedOptions are the values a variable query must offer.
func expectedOptions(ds *dataset, name string, vars map[string]variable) []string {
	set := map[string]bool{}
	for _, e := range stored(ds) {
		switch name {
		case "gateway":
			set[string(e.Gateway)] = len(e.Gateway) > 0
		case "agent":
			if len(e.Enriched.SrcGroups) > 0 {
				set[e.Enriched.SrcGroups[0]] = true
			}
		case "rule":
			if len(e.Enriched.SrcGroups) > 0 && e.Enriched.SrcGroups[0] == vars["agent"].value[0] && e.Enriched.RuleName != "" {
				set[e.Enriched.RuleName] = true
			}
		}
	}
	var out []string
	for k, ok := range set {
		if ok {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}

var oracles = map[string]oracle{
	"Prompt-injection exfiltration (default deny)": threatVector("default_deny"),
	"Shadow model":     threatVector("shadow_model"),
	"DNS exfiltration": threatVector("dns_exfiltration"),
	"East-west":        threatVector("east_west"),

	"Blocked flows by rule": func(ds *dataset, cols []string, rows [][]string, r request, _ int) error {
		count := map[string]int{}
		for _, e := range stored(ds) {
			if inRange(e, r) && denied(e) && enforced(e) {
				count[ruleLabel(e)]++
			}
		}
		var want [][]string
		for k, n := range count {
			want = append(want, []string{k, strconv.Itoa(n)})
		}
		sortByCount(want, 1)
		return sameRows(rows, want)
	},

	"Rules that never fired": func(ds *dataset, cols []string, rows [][]string, r request, _ int) error {
		fired := map[string]bool{}
		for _, e := range stored(ds) {
			if inRange(e, r) {
				fired[ruleUUID(e)] = true
			}
		}
		var want []string
		for _, rule := range ds.Index.Catalog.Rules {
			if !fired[strings.ToLower(rule.UUID)] {
				want = append(want, rule.Name)
			}
		}
		i, err := col(cols, "rule")
		if err != nil {
			return err
		}
		var got []string
		for _, row := range rows {
			got = append(got, row[i])
		}
		if !slices.Equal(got, want) || len(want) != 2 {
			return fmt.Errorf("never fired: %q, want %q (the simulator leaves exactly two rules unused)", got, want)
		}
		return nil
	},

	"Share enforce mode would block": func(ds *dataset, cols []string, rows [][]string, r request, _ int) error {
		var all, deny int
		for _, e := range stored(ds) {
			if inRange(e, r) && monitor(e) && e.Kind != parse.KindOther && e.Kind != parse.KindAlert {
				all++
				if denied(e) {
					deny++
				}
			}
		}
		if deny == 0 {
			return fmt.Errorf("no monitor-mode denial in the dataset")
		}
		return sameRows(rows, [][]string{{round2(100 * float64(deny) / float64(all))}})
	},

	"Would-be-denied destinations": func(ds *dataset, cols []string, rows [][]string, r request, _ int) error {
		type key struct{ dest, admitted, rule string }
		type agg struct {
			hits        int
			first, last time.Time
			agents      map[string]bool
			hosts       map[string]bool
		}
		groups := map[key]*agg{}
		for _, e := range stored(ds) {
			if !inRange(e, r) || !e.Enriched.WouldBeDenied {
				continue
			}
			admitted := e.Enriched.AdmittingWebGroup
			if admitted == "" {
				admitted = "investigate"
			}
			k := key{destinationOf(e), admitted, ruleLabel(e)}
			g := groups[k]
			if g == nil {
				g = &agg{first: e.EventTime, last: e.EventTime, agents: map[string]bool{}, hosts: map[string]bool{}}
				groups[k] = g
			}
			g.hits++
			g.first = minTime(g.first, e.EventTime)
			g.last = maxTime(g.last, e.EventTime)
			g.agents[agentOf(e)] = true
			g.hosts[e.SrcIP.String()] = true
		}
		var want [][]string
		for k, g := range groups {
			agents := slices.Sorted(maps.Keys(g.agents))
			want = append(want, []string{k.dest, k.admitted, k.rule, strconv.Itoa(g.hits), g.first.UTC().Format(stamp), g.last.UTC().Format(stamp),
				strings.Join(agents, ", "), strconv.Itoa(len(g.hosts))})
		}
		sortByCount(want, 3)
		return sameRows(rows, want[:min(len(want), 200)])
	},

	"Decisions": func(ds *dataset, cols []string, rows [][]string, r request, _ int) error {
		agent := r.vars["agent"].value[0]
		all, deny := map[string]bool{}, 0
		var n int
		for _, e := range stored(ds) {
			if inRange(e, r) && slices.Contains(e.Enriched.SrcGroups, agent) && e.Kind != parse.KindAlert {
				n++
				if denied(e) {
					deny++
				}
				all[destinationOf(e)] = true
			}
		}
		return sameRows(rows, [][]string{{strconv.Itoa(n), strconv.Itoa(deny), strconv.Itoa(len(all))}})
	},

	"Gateways last heard": func(ds *dataset, cols []string, rows [][]string, r request, _ int) error {
		count, last := map[string]int{}, map[string]time.Time{}
		for _, e := range stored(ds) {
			if inRange(e, r) {
				g := string(e.Gateway)
				count[g]++
				last[g] = maxTime(last[g], e.EventTime)
			}
		}
		var want [][]string
		for _, g := range slices.Sorted(maps.Keys(count)) {
			want = append(want, []string{g, strconv.Itoa(count[g]), last[g].UTC().Format(stamp),
				strconv.Itoa(int(r.to.Unix()-last[g].Unix()) / 60)})
		}
		return sameRows(rows, want)
	},

	"Parse errors by kind": func(ds *dataset, cols []string, rows [][]string, r request, _ int) error {
		want := map[string]int{}
		for i := range ds.Events {
			if e := &ds.Events[i]; e.Status != parse.StatusOK {
				want[e.Status.String()]++
			}
		}
		got := map[string]int{}
		for _, row := range rows {
			n, _ := strconv.Atoi(row[2])
			got[row[0]] += n
		}
		if fmt.Sprint(got) != fmt.Sprint(want) || len(want) < 2 {
			return fmt.Errorf("messages by status %v, want %v (partial and failed lines)", got, want)
		}
		return nil
	},

	"Hash chains": func(ds *dataset, cols []string, rows [][]string, r request, batches int) error {
		var parsed, failed int
		for i := range ds.Events {
			if ds.Events[i].Status == parse.StatusFailed {
				failed++
			} else {
				parsed++
			}
		}
		if len(rows) != 1 {
			return fmt.Errorf("%d chains, want 1", len(rows))
		}
		got := rows[0][1:4]
		want := []string{strconv.Itoa(batches), strconv.Itoa(parsed), strconv.Itoa(failed)}
		if !slices.Equal(got, want) || rows[0][5] != "0" {
			return fmt.Errorf("batches, rows, unparsed = %q, missing %s; want %q and none missing", got, rows[0][5], want)
		}
		return nil
	},

	"Ingest rate": func(ds *dataset, cols []string, rows [][]string, r request, _ int) error {
		var sum float64
		for _, row := range rows {
			f, _ := strconv.ParseFloat(row[2], 64)
			sum += f * r.interval.Seconds()
		}
		if math.Abs(sum-float64(len(ds.Events))) > 0.5 {
			return fmt.Errorf("rows/s × interval sums to %.1f, want %d", sum, len(ds.Events))
		}
		return nil
	},
}

// sortByCount orders rows by the count in column n, largest first, then
// by the first column: the panels' ORDER BY.
func sortByCount(rows [][]string, n int) {
	slices.SortFunc(rows, func(a, b []string) int {
		na, _ := strconv.Atoi(a[n])
		nb, _ := strconv.Atoi(b[n])
		if na != nb {
			return nb - na
		}
		return strings.Compare(a[0], b[0])
	})
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}
