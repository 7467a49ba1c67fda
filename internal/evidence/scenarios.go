package evidence

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/netip"
	"net/url"
	"strings"
	"text/tabwriter"
	"time"
)

// ScenarioCheck is one line verify-egress.sh prints.
type ScenarioCheck struct {
	Check       string `json:"check"`
	Destination string `json:"destination"`
	Mode        string `json:"mode"`
	Expected    string `json:"expected"`
	Observed    string `json:"observed"`
	Rule        string `json:"rule"`
	Attempts    int    `json:"attempts"`
	Pass        bool   `json:"pass"`
	Time        string `json:"time,omitempty"`   // RFC 3339, when the probe ran
	Source      string `json:"source,omitempty"` // the agent host's address
}

// ScenarioResult is what ClickHouse holds for a check.
type ScenarioResult struct {
	ScenarioCheck
	WantRule   string `json:"want_rule"`
	WantAction string `json:"want_action"`
	Found      string `json:"found"`   // the decisions seen for the destination
	Matches    uint64 `json:"matches"` // decisions with the expected rule and action
	OK         bool   `json:"ok"`
	Reason     string `json:"reason,omitempty"`
}

// ScenarioReport is the outcome of verify-scenarios; the evidence bundle
// can carry it.
type ScenarioReport struct {
	Window string           `json:"window"`
	Checks []ScenarioResult `json:"checks"`
	Passed int              `json:"passed"`
	Failed int              `json:"failed"`
}

// anyAllowRule is what verify-egress.sh names for a destination admitted
// by whichever allow rule holds its WebGroup.
const anyAllowRule = "allow rule of its WebGroup"

// ReadScenarioChecks reads verify-egress.sh's JSON lines; other lines
// (a shell's noise) are an error naming the line.
func ReadScenarioChecks(r io.Reader) ([]ScenarioCheck, error) {
	var out []ScenarioCheck
	sc := bufio.NewScanner(r)
	n := 0
	for sc.Scan() {
		n++
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		var c ScenarioCheck
		if err := json.Unmarshal([]byte(line), &c); err != nil {
			return nil, fmt.Errorf("line %d: not a verify-egress.sh result: %v", n, err)
		}
		if c.Check == "" || c.Destination == "" || c.Rule == "" {
			return nil, fmt.Errorf("line %d: check, destination and rule are required", n)
		}
		out = append(out, c)
	}
	return out, sc.Err()
}

// destinationHost is the name or address a check probed: a URL's host, or
// host[:port] for a resolver.
func destinationHost(d string) string {
	if u, err := url.Parse(d); err == nil && u.Host != "" {
		return u.Hostname()
	}
	if h, _, err := net.SplitHostPort(d); err == nil {
		return h
	}
	return d
}

// VerifyScenarios looks, for each check, for the decision the probe must
// have caused: the destination (SNI or address, from the agent's address
// when the check names it) within window of the probe's time, decided by
// the expected rule with the expected action: PERMIT for an allow rule,
// DENY enforced in enforce mode, DENY in monitor mode for a deny rule.
func VerifyScenarios(ctx context.Context, src *Source, checks []ScenarioCheck, window time.Duration, now time.Time) (*ScenarioReport, error) {
	rep := &ScenarioReport{Window: window.String()}
	for _, c := range checks {
		res := ScenarioResult{ScenarioCheck: c, WantRule: c.Rule}
		at := now
		if c.Time != "" {
			t, err := time.Parse(time.RFC3339, c.Time)
			if err != nil {
				return nil, fmt.Errorf("check %s: time %q: %v", c.Check, c.Time, err)
			}
			at = t
		}
		allow := c.Rule == anyAllowRule || strings.HasPrefix(c.Rule, "allow")
		res.WantAction = "DENY"
		if allow {
			res.WantAction = "PERMIT"
		} else if c.Mode == "monitor" {
			res.WantAction += " (monitor)"
		} else {
			res.WantAction += " (enforced)"
		}
		host := destinationHost(c.Destination)
		conds := []string{"event_time >= toDateTime(?)", "event_time <= toDateTime(?)"}
		args := []any{at.Add(-window).Unix(), at.Add(window).Unix()}
		if a, err := netip.ParseAddr(host); err == nil {
			conds = append(conds, "IPv6NumToString(dst_ip) IN (?, ?)")
			args = append(args, a.String(), netip.AddrFrom16(a.As16()).String())
		} else {
			conds = append(conds, "sni = ?")
			args = append(args, strings.ToLower(host))
		}
		if s, err := netip.ParseAddr(c.Source); err == nil {
			conds = append(conds, "IPv6NumToString(src_ip) IN (?, ?)")
			args = append(args, s.String(), netip.AddrFrom16(s.As16()).String())
		}
		rows, err := src.Conn.Query(ctx, fmt.Sprintf(`SELECT if(rule_name != '', rule_name, rule_uuid) AS rule, action, ifNull(enforced, 2) AS mode, uniqExact(event_id) AS n
FROM %s WHERE %s GROUP BY rule, action, mode ORDER BY n DESC, rule`, src.table("dcf_events"), strings.Join(conds, " AND ")), args...)
		if err != nil {
			return nil, fmt.Errorf("check %s: %w", c.Check, err)
		}
		var found []string
		for rows.Next() {
			var rule, action string
			var mode uint8
			var n uint64
			if err := rows.Scan(&rule, &action, &mode, &n); err != nil {
				rows.Close()
				return nil, err
			}
			found = append(found, fmt.Sprintf("%s %s%s ×%d", action, rule, modeSuffix(action, mode), n))
			ruleOK := rule == c.Rule || (c.Rule == anyAllowRule && strings.HasPrefix(rule, "allow"))
			actionOK := action == "PERMIT" && allow ||
				action == "DENY" && !allow && (c.Mode == "monitor") == (mode == 0)
			if ruleOK && actionOK {
				res.Matches += n
			}
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return nil, err
		}
		res.Found = strings.Join(found, "; ")
		switch {
		case res.Matches > 0 && c.Pass:
			res.OK = true
		case res.Matches > 0:
			res.Reason = fmt.Sprintf("the probe saw %q, expected %q", c.Observed, c.Expected)
		case len(found) == 0:
			res.Reason = fmt.Sprintf("no decision for %s within %s of %s", host, window, at.UTC().Format(time.RFC3339))
		default:
			res.Reason = "decided by another rule or action"
		}
		if res.OK {
			rep.Passed++
		} else {
			rep.Failed++
		}
		rep.Checks = append(rep.Checks, res)
	}
	return rep, nil
}

func modeSuffix(action string, mode uint8) string {
	if action != "DENY" {
		return ""
	}
	switch mode {
	case 1:
		return " (enforced)"
	case 0:
		return " (monitor)"
	}
	return ""
}

// WriteTable prints the report for a terminal.
func (r *ScenarioReport) WriteTable(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "CHECK\tDESTINATION\tEXPECTED\tIN CLICKHOUSE\tRESULT")
	for _, c := range r.Checks {
		result := "ok"
		if !c.OK {
			result = "FAIL: " + c.Reason
		}
		found := c.Found
		if found == "" {
			found = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s %s\t%s\t%s\n", c.Check, destinationHost(c.Destination), c.WantAction, c.WantRule, found, result)
	}
	fmt.Fprintf(tw, "\n%d passed, %d failed (window ±%s)\n", r.Passed, r.Failed, r.Window)
	return tw.Flush()
}
