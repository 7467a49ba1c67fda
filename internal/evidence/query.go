// Package evidence turns what the collector stored in ClickHouse into
// documents an auditor can keep: signed export bundles (decisions as JSON
// lines, Parquet and OCSF, the policy in force, a summary, the ingest hash
// chain), their offline verification, the check that verify-egress.sh's
// probes reached ClickHouse under the expected rule, and the
// monitor-to-enforce promotion report.
package evidence

import (
	"context"
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	chsink "github.com/openclaw-vca/openclaw-vca/internal/sink/clickhouse"
)

// Source is the collector's ClickHouse database.
type Source struct {
	Conn     driver.Conn
	Database string
}

// NewSource refuses a server older than the collector supports, as the
// sink does.
func NewSource(conn driver.Conn, database string) (*Source, error) {
	v, err := conn.ServerVersion()
	if err != nil {
		return nil, err
	}
	if err := chsink.CheckServerVersion(int(v.Version.Major), int(v.Version.Minor)); err != nil {
		return nil, fmt.Errorf("clickhouse server %d.%d.%d: %w", v.Version.Major, v.Version.Minor, v.Version.Patch, err)
	}
	return &Source{Conn: conn, Database: database}, nil
}

// Filter selects decisions: [From, To) by the gateway's event time, and
// optionally one agent SmartGroup, rule (name or UUID), scenario or gateway.
type Filter struct {
	From, To time.Time
	Agent    string
	Rule     string
	Scenario string
	Gateway  string
}

// Narrowed reports whether anything beyond the time range is selected.
func (f Filter) Narrowed() bool {
	return f.Agent != "" || f.Rule != "" || f.Scenario != "" || f.Gateway != ""
}

func (f Filter) validate() error {
	if f.From.IsZero() || f.To.IsZero() || !f.From.Before(f.To) {
		return fmt.Errorf("the time range %s .. %s is empty", f.From.Format(time.RFC3339), f.To.Format(time.RFC3339))
	}
	return nil
}

// where renders the filter; times bind as whole seconds since the epoch.
func (f Filter) where() (string, []any) {
	conds := []string{"event_time >= toDateTime(?)", "event_time < toDateTime(?)"}
	args := []any{f.From.Unix(), f.To.Unix()}
	if f.Agent != "" {
		conds, args = append(conds, "has(src_groups, ?)"), append(args, f.Agent)
	}
	if f.Rule != "" {
		conds, args = append(conds, "(rule_name = ? OR rule_uuid = ?)"), append(args, f.Rule, strings.ToLower(f.Rule))
	}
	if f.Scenario != "" {
		conds, args = append(conds, "scenario = ?"), append(args, f.Scenario)
	}
	if f.Gateway != "" {
		conds, args = append(conds, "gateway = ?"), append(args, f.Gateway)
	}
	return strings.Join(conds, " AND "), args
}

// millis is a time column as epoch milliseconds.
func (s *Source) millis(col string) string { return fmt.Sprintf("toUnixTimestamp64Milli(%s)", col) }

func (s *Source) table(name string) string { return "`" + s.Database + "`." + name }

// Decision is one stored decision, as an export writes it.
type Decision struct {
	EventID           string   `json:"event_id" parquet:"event_id"`
	BatchID           string   `json:"batch_id" parquet:"batch_id"`
	ReceivedAt        int64    `json:"-" parquet:"received_at,timestamp(millisecond)"`
	EventTime         int64    `json:"-" parquet:"event_time,timestamp(millisecond)"`
	Gateway           string   `json:"gateway" parquet:"gateway,dict"`
	GatewayIP         string   `json:"gateway_ip" parquet:"gateway_ip,dict"`
	Kind              string   `json:"kind" parquet:"kind,dict"`
	ParseStatus       string   `json:"parse_status" parquet:"parse_status,dict"`
	ParseError        string   `json:"parse_error,omitempty" parquet:"parse_error,optional"`
	RuleUUID          string   `json:"rule_uuid" parquet:"rule_uuid,dict"`
	RuleName          string   `json:"rule_name" parquet:"rule_name,dict"`
	RulePriority      uint32   `json:"rule_priority" parquet:"rule_priority"`
	RuleAction        string   `json:"rule_action" parquet:"rule_action,dict"`
	RuleTags          []string `json:"rule_tags" parquet:"rule_tags,list"`
	Scenario          string   `json:"scenario" parquet:"scenario,dict"`
	SrcGroups         []string `json:"src_groups" parquet:"src_groups,list"`
	DstGroups         []string `json:"dst_groups" parquet:"dst_groups,list"`
	WebGroup          string   `json:"web_group" parquet:"web_group,dict"`
	AdmittingWebGroup string   `json:"admitting_web_group" parquet:"admitting_web_group,dict"`
	Action            string   `json:"action" parquet:"action,dict"`
	Enforced          *bool    `json:"enforced" parquet:"enforced,optional"`
	WouldBeDenied     bool     `json:"would_be_denied" parquet:"would_be_denied"`
	Proto             string   `json:"proto" parquet:"proto,dict"`
	SrcIP             string   `json:"src_ip" parquet:"src_ip"`
	SrcPort           uint16   `json:"src_port" parquet:"src_port"`
	DstIP             string   `json:"dst_ip" parquet:"dst_ip"`
	DstPort           uint16   `json:"dst_port" parquet:"dst_port"`
	SNI               string   `json:"sni" parquet:"sni"`
	URL               string   `json:"url" parquet:"url"`
	SessionID         uint64   `json:"session_id" parquet:"session_id"`
	SessionEvent      uint8    `json:"session_event" parquet:"session_event"`
	SessionBytes      uint64   `json:"session_bytes" parquet:"session_bytes"`
	SessionPackets    uint64   `json:"session_pkts" parquet:"session_pkts"`
	CatalogVersion    string   `json:"catalog_version" parquet:"catalog_version,dict"`
	// SignatureID is the IDS signature of an L7 IDS verdict or of an alert
	// (kind "alert"), which the fields after it describe.
	SignatureID    string `json:"signature_id,omitempty" parquet:"signature_id,dict"`
	AlertSignature string `json:"alert_signature,omitempty" parquet:"alert_signature,dict"`
	AlertCategory  string `json:"alert_category,omitempty" parquet:"alert_category,dict"`
	AlertSeverity  uint8  `json:"alert_severity,omitempty" parquet:"alert_severity"`
	AppProto       string `json:"app_proto,omitempty" parquet:"app_proto,dict"`
	FlowID         uint64 `json:"flow_id,omitempty" parquet:"flow_id"`
	SrcWorkload    string `json:"src_workload,omitempty" parquet:"src_workload,dict"`
	Raw            []byte `json:"-" parquet:"raw,zstd"`
}

const decisionColumns = `hex(event_id), hex(batch_id), %s, %s, gateway, IPv6NumToString(gateway_ip), kind, parse_status, parse_error,
  rule_uuid, rule_name, rule_priority, rule_action, rule_tags, scenario, src_groups, dst_groups, web_group, admitting_web_group,
  action, enforced, would_be_denied, proto, IPv6NumToString(src_ip), src_port, IPv6NumToString(dst_ip), dst_port, sni, url,
  session_id, session_event, session_bytes, session_pkts, catalog_version,
  signature_id, alert_signature, alert_category, alert_severity, app_proto, flow_id, src_workload, raw`

// streaming asks for small blocks, since clickhouse-go reads a few blocks
// ahead of the consumer and the server's default of 65 536 rows of raw
// lines is tens of megabytes a block, and lets the server sort on disk
// what does not fit in memory.
func streaming(ctx context.Context) context.Context {
	return clickhouse.Context(ctx, clickhouse.WithSettings(clickhouse.Settings{
		"max_block_size": 4096, "max_bytes_before_external_sort": 256 << 20}))
}

// window is the smallest slice of the range one query sorts: the table is
// ordered by rule and gateway first, so time order costs a sort per query.
const window = 15 * time.Minute

// maxRowsPerQuery bounds what one query sorts: consecutive windows are
// read together up to it, so that a sparse range costs a few queries and a
// dense one a sort of bounded size each.
const maxRowsPerQuery = 1 << 20

// Decisions streams the selected decisions in (event_time, event_id)
// order, each once: ClickHouse sends them block by block, and fn sees one
// reused Decision at a time, so no range is ever held in memory, here or
// (beyond one query's sort) in the server. The export's cost follows the
// rows: a first query counts the decisions per window (reading only the
// partitions the range touches), and only windows that hold any are read,
// several at a time up to maxRowsPerQuery rows.
func (s *Source) Decisions(ctx context.Context, f Filter, fn func(*Decision) error) error {
	if err := f.validate(); err != nil {
		return err
	}
	spans, err := s.spans(ctx, f)
	if err != nil {
		return err
	}
	var d Decision
	var last string
	for _, sp := range spans {
		w := f
		w.From, w.To = sp.from, sp.to
		if err := s.decisionsIn(ctx, w, &d, &last, fn); err != nil {
			return err
		}
	}
	return nil
}

// span is a part of the range read by one query.
type span struct{ from, to time.Time }

// spans are the parts of the range that hold decisions, windows merged
// up to maxRowsPerQuery rows each.
func (s *Source) spans(ctx context.Context, f Filter) ([]span, error) {
	where, args := f.where()
	q := fmt.Sprintf("SELECT toUnixTimestamp(toStartOfInterval(event_time, INTERVAL %d SECOND)) AS w, count() FROM %s WHERE %s GROUP BY w ORDER BY w",
		int(window.Seconds()), s.table("dcf_events"), where)
	rows, err := s.Conn.Query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("count dcf_events by window: %w", err)
	}
	defer rows.Close()
	var out []span
	var rowsIn uint64
	for rows.Next() {
		var start uint32
		var n uint64
		if err := rows.Scan(&start, &n); err != nil {
			return nil, fmt.Errorf("count dcf_events by window: %w", err)
		}
		from := time.Unix(int64(start), 0).UTC()
		to := from.Add(window)
		if from.Before(f.From) {
			from = f.From
		}
		if to.After(f.To) {
			to = f.To
		}
		if k := len(out) - 1; k >= 0 && rowsIn+n <= maxRowsPerQuery { // the gap between holds nothing
			out[k].to, rowsIn = to, rowsIn+n
			continue
		}
		out, rowsIn = append(out, span{from, to}), n
	}
	return out, rows.Err()
}

func (s *Source) decisionsIn(ctx context.Context, f Filter, d *Decision, last *string, fn func(*Decision) error) error {
	where, args := f.where()
	q := fmt.Sprintf("SELECT "+decisionColumns+"\nFROM %s WHERE %s ORDER BY event_time, event_id",
		s.millis("received_at"), s.millis("event_time"), s.table("dcf_events"), where)
	rows, err := s.Conn.Query(streaming(ctx), q, args...)
	if err != nil {
		return fmt.Errorf("query dcf_events: %w", err)
	}
	defer rows.Close()
	var enforced *uint8
	var wouldBe uint8
	var srcIP, dstIP, gwIP, raw string
	for rows.Next() {
		d.RuleTags, d.SrcGroups, d.DstGroups = d.RuleTags[:0], d.SrcGroups[:0], d.DstGroups[:0]
		err := rows.Scan(&d.EventID, &d.BatchID, &d.ReceivedAt, &d.EventTime, &d.Gateway, &gwIP, &d.Kind, &d.ParseStatus, &d.ParseError,
			&d.RuleUUID, &d.RuleName, &d.RulePriority, &d.RuleAction, &d.RuleTags, &d.Scenario, &d.SrcGroups, &d.DstGroups, &d.WebGroup, &d.AdmittingWebGroup,
			&d.Action, &enforced, &wouldBe, &d.Proto, &srcIP, &d.SrcPort, &dstIP, &d.DstPort, &d.SNI, &d.URL,
			&d.SessionID, &d.SessionEvent, &d.SessionBytes, &d.SessionPackets, &d.CatalogVersion,
			&d.SignatureID, &d.AlertSignature, &d.AlertCategory, &d.AlertSeverity, &d.AppProto, &d.FlowID, &d.SrcWorkload, &raw)
		if err != nil {
			return fmt.Errorf("read dcf_events: %w", err)
		}
		if d.EventID == *last { // a row a crashed collector inserted again, not merged away yet
			continue
		}
		*last = d.EventID
		d.SrcIP, d.DstIP, d.GatewayIP = plainIP(srcIP), plainIP(dstIP), plainIP(gwIP)
		d.Enforced = nil
		if enforced != nil {
			b := *enforced == 1
			d.Enforced = &b
		}
		d.WouldBeDenied = wouldBe == 1
		d.Raw = append(d.Raw[:0], raw...)
		if err := fn(d); err != nil {
			return err
		}
	}
	return rows.Err()
}

// plainIP shows an IPv4 address without its IPv6 mapping; the unspecified
// address (a column the line did not fill) becomes empty.
func plainIP(s string) string {
	a, err := netip.ParseAddr(s)
	if err != nil || a.IsUnspecified() {
		return ""
	}
	return a.Unmap().String()
}

// Unparsed is a stored line that did not parse.
type Unparsed struct {
	EventID     string `json:"event_id"`
	BatchID     string `json:"batch_id"`
	ReceivedAt  int64  `json:"-"`
	ParseStatus string `json:"parse_status"`
	ParseError  string `json:"parse_error"`
	PeerIP      string `json:"peer_ip"`
	Raw         []byte `json:"-"`
}

// UnparsedLines streams raw_unparsed rows received in the range, each once.
func (s *Source) UnparsedLines(ctx context.Context, f Filter, fn func(*Unparsed) error) error {
	q := fmt.Sprintf(`SELECT hex(event_id), hex(batch_id), %s, parse_status, parse_error, IPv6NumToString(peer_ip), raw
FROM %s WHERE received_at >= toDateTime(?) AND received_at < toDateTime(?) ORDER BY received_at, event_id`,
		s.millis("received_at"), s.table("raw_unparsed"))
	rows, err := s.Conn.Query(streaming(ctx), q, f.From.Unix(), f.To.Unix())
	if err != nil {
		return fmt.Errorf("query raw_unparsed: %w", err)
	}
	defer rows.Close()
	var u Unparsed
	var peer, raw, last string
	for rows.Next() {
		if err := rows.Scan(&u.EventID, &u.BatchID, &u.ReceivedAt, &u.ParseStatus, &u.ParseError, &peer, &raw); err != nil {
			return fmt.Errorf("read raw_unparsed: %w", err)
		}
		if u.EventID == last {
			continue
		}
		last = u.EventID
		u.PeerIP, u.Raw = plainIP(peer), append(u.Raw[:0], raw...)
		if err := fn(&u); err != nil {
			return err
		}
	}
	return rows.Err()
}
