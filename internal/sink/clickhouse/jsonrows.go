package clickhouse

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/openclaw-vca/openclaw-vca/internal/enrich"
	"github.com/openclaw-vca/openclaw-vca/internal/parse"
)

// JSONEachRowInserts renders events as INSERT statements of dcf_events and
// raw_unparsed with inline JSONEachRow data, built by the encoder the sink
// uses. It serves servers the native protocol cannot reach (libchdb in the
// tests). JSON carries FixedString(16) values as text, so every event id and
// batchID must be 16 printable ASCII bytes. settings, if any, are added to
// each INSERT's SETTINGS clause.
func JSONEachRowInserts(o Options, p Profile, events []parse.Event, batchID string, settings ...string) ([]string, error) {
	if !printable16(batchID) {
		return nil, fmt.Errorf("batch id %q is not 16 printable bytes", batchID)
	}
	tables := []*table{
		newTable("dcf_events", eventFields, eventColumns, p, 0),
		newTable("raw_unparsed", unparsedFields, unparsedColumns, p, 0),
	}
	var a arena
	for i := range events {
		e := &events[i]
		if !printable16(string(e.EventID[:])) {
			return nil, fmt.Errorf("event %d: id %q is not 16 printable bytes", i, e.EventID[:])
		}
		if e.Status == parse.StatusFailed {
			tables[1].add(e, &a)
		} else {
			tables[0].add(e, &a)
		}
	}
	var out []string
	for _, tbl := range tables {
		if tbl.rows == 0 {
			continue
		}
		var body strings.Builder
		row := make(map[string]any, len(tbl.cols))
		for i := 0; i < tbl.rows; i++ {
			for _, c := range tbl.cols {
				v := c.jsonValue(i)
				switch c.name {
				case "event_id":
					v = string(c.b16[i])
				case "batch_id":
					v = batchID
				}
				if s, ok := v.([]string); ok && s == nil {
					v = []string{}
				}
				row[c.name] = v
			}
			b, err := json.Marshal(row)
			if err != nil {
				return nil, err
			}
			body.Write(b)
			body.WriteByte('\n')
		}
		out = append(out, fmt.Sprintf("INSERT INTO %s.%s (%s) SETTINGS %s FORMAT JSONEachRow\n%s",
			quoteIdent(o.Database), quoteIdent(tbl.name), joinIdents(tbl.columnNames()),
			strings.Join(append([]string{"date_time_input_format = 'best_effort'"}, settings...), ", "), body.String()))
	}
	return out, nil
}

// PolicyRulesInsert renders the policy_rules snapshot of a catalog loaded
// at the given time as one JSONEachRow INSERT, for the same servers as
// JSONEachRowInserts. catalog_sha256 is binary and left at its default.
func PolicyRulesInsert(o Options, p Profile, ix *enrich.Index, loadedAt time.Time) (string, error) {
	var cols []string
	for _, c := range insertColumns(policyColumns, p) {
		if c != "catalog_sha256" {
			cols = append(cols, c)
		}
	}
	var body strings.Builder
	for _, vals := range policyRows(ix, loadedAt.UTC()) {
		row := make(map[string]any, len(cols))
		for _, c := range cols {
			row[c] = vals[c]
		}
		b, err := json.Marshal(row)
		if err != nil {
			return "", err
		}
		body.Write(b)
		body.WriteByte('\n')
	}
	return fmt.Sprintf("INSERT INTO %s.policy_rules (%s) SETTINGS date_time_input_format = 'best_effort' FORMAT JSONEachRow\n%s",
		quoteIdent(o.Database), joinIdents(cols), body.String()), nil
}

func printable16(s string) bool {
	if len(s) != 16 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e || s[i] == '"' || s[i] == '\\' {
			return false
		}
	}
	return true
}
