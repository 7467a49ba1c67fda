package evidence

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/openclaw-vca/openclaw-vca/internal/sink/clickhouse"
)

// policyRule is one rule of a catalog version, as policy_rules holds it.
type policyRule struct {
	CatalogVersion string   `json:"-"`
	RuleUUID       string   `json:"rule_uuid"`
	RuleName       string   `json:"rule_name"`
	Priority       uint32   `json:"priority"`
	Action         string   `json:"action"`
	Protocol       string   `json:"protocol"`
	Ports          []string `json:"ports"`
	SrcGroups      []string `json:"src_groups"`
	DstGroups      []string `json:"dst_groups"`
	WebGroups      []string `json:"web_groups"`
	Logging        bool     `json:"logging"`
	Enforced       bool     `json:"enforced"`
	Scenario       string   `json:"scenario"`
	Tags           []string `json:"tags"`
}

type policyVersion struct {
	CatalogVersion string       `json:"catalog_version"`
	FirstLoadedAt  string       `json:"first_loaded_at"`
	CatalogSHA256  string       `json:"catalog_sha256"`
	Mode           string       `json:"mode"`
	AgentClass     string       `json:"agent_class"`
	Rules          []policyRule `json:"rules"`
}

type policyDoc struct {
	Note     string          `json:"note"`
	Versions []policyVersion `json:"catalog_versions"`
}

// policy is the catalog versions in force during the range: those the
// exported decisions were enriched with, every version first loaded inside
// the range and the last one loaded before it.
func (s *Source) policy(ctx context.Context, f Filter, used map[string]bool) (policyDoc, error) {
	doc := policyDoc{Note: "policy catalog versions the collector recorded (policy_rules) that were in force during the range"}
	rows, err := s.Conn.Query(ctx, fmt.Sprintf(`SELECT catalog_version, toInt64(toUnixTimestamp(min(loaded_at))) AS first
FROM %s GROUP BY catalog_version ORDER BY first, catalog_version`, s.table("policy_rules")))
	if err != nil {
		return doc, fmt.Errorf("query policy_rules: %w", err)
	}
	type loaded struct {
		version string
		first   int64
	}
	var all []loaded
	for rows.Next() {
		var l loaded
		if err := rows.Scan(&l.version, &l.first); err != nil {
			rows.Close()
			return doc, err
		}
		all = append(all, l)
	}
	rows.Close()
	// Each version is listed once (GROUP BY), so the one before the range
	// and those chosen after it never repeat.
	var before *loaded // the last version loaded before the range
	var chosen []loaded
	for _, l := range all {
		switch {
		case l.first <= f.From.Unix():
			before = &l
		case l.first < f.To.Unix() || used[l.version]:
			chosen = append(chosen, l)
		}
	}
	if before != nil {
		chosen = append([]loaded{*before}, chosen...)
	}
	for _, l := range chosen {
		v := policyVersion{CatalogVersion: l.version, FirstLoadedAt: time.Unix(l.first, 0).UTC().Format(time.RFC3339)}
		// Every collector that loads a catalog records it, so a version is
		// there once per load until merges collapse the copies: FINAL.
		rows, err := s.Conn.Query(ctx, fmt.Sprintf(`SELECT lower(hex(catalog_sha256)), mode, agent_class, rule_uuid, rule_name, priority, action, protocol,
  ports, src_groups, dst_groups, web_groups, logging, enforced, scenario, tags
FROM %s FINAL WHERE catalog_version = ? ORDER BY priority, rule_name, rule_uuid`, s.table("policy_rules")), l.version)
		if err != nil {
			return doc, fmt.Errorf("query policy_rules: %w", err)
		}
		for rows.Next() {
			r := policyRule{CatalogVersion: l.version}
			var logging, enforced uint8
			if err := rows.Scan(&v.CatalogSHA256, &v.Mode, &v.AgentClass, &r.RuleUUID, &r.RuleName, &r.Priority, &r.Action, &r.Protocol,
				&r.Ports, &r.SrcGroups, &r.DstGroups, &r.WebGroups, &logging, &enforced, &r.Scenario, &r.Tags); err != nil {
				rows.Close()
				return doc, err
			}
			r.Logging, r.Enforced = logging == 1, enforced == 1
			v.Rules = append(v.Rules, r)
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return doc, err
		}
		doc.Versions = append(doc.Versions, v)
	}
	return doc, nil
}

// gaps finds, from the minute rollup, stretches of at least threshold in
// which a gateway that had been sending (in the range or the hour before
// it) sent nothing.
func (s *Source) gaps(ctx context.Context, f Filter, threshold time.Duration) ([]Gap, error) {
	lookback := max(time.Hour, 2*threshold)
	rows, err := s.Conn.Query(ctx, fmt.Sprintf(`SELECT gateway, toInt64(toUnixTimestamp(bucket)) AS minute
FROM %s WHERE bucket >= toDateTime(?) AND bucket < toDateTime(?) AND gateway != ''
GROUP BY gateway, minute ORDER BY gateway, minute`, s.table("dcf_rollup_minute")), f.From.Add(-lookback).Unix(), f.To.Unix())
	if err != nil {
		return nil, fmt.Errorf("query dcf_rollup_minute: %w", err)
	}
	defer rows.Close()
	var out []Gap
	from, to := f.From.Unix(), f.To.Unix()
	add := func(gw string, start, end int64, atEnd bool) {
		start, end = max(start, from), min(end, to)
		if end-start >= int64(threshold.Seconds()) {
			out = append(out, Gap{Gateway: gw, From: time.Unix(start, 0).UTC().Format(time.RFC3339), To: time.Unix(end, 0).UTC().Format(time.RFC3339),
				Minutes: int((end - start) / 60), AtTheEnd: atEnd})
		}
	}
	var gw string
	var last int64
	for rows.Next() {
		var g string
		var m int64
		if err := rows.Scan(&g, &m); err != nil {
			return nil, err
		}
		if g != gw {
			if gw != "" {
				add(gw, last+60, to, true)
			}
			gw = g
		} else {
			add(gw, last+60, m, false)
		}
		last = m
	}
	if gw != "" {
		add(gw, last+60, to, true)
	}
	return out, rows.Err()
}

// ChainIntegrity is the verification of one collector's hash chain over
// the batches that hold exported rows.
type ChainIntegrity struct {
	ChainID  string                   `json:"chain_id"`
	FirstSeq uint64                   `json:"first_seq"`
	LastSeq  uint64                   `json:"last_seq"`
	Batches  int                      `json:"batches"`
	Rows     uint64                   `json:"rows"`
	Verified bool                     `json:"verified"`
	Problems []string                 `json:"problems"`
	Records  []clickhouse.BatchRecord `json:"records"`
}

type integrityDoc struct {
	Method string           `json:"method"`
	Chains []ChainIntegrity `json:"chains"`
	// Unchained are batches (hex ids) that hold exported rows but have no
	// ingest_batches row: removed from the chain, or never recorded.
	Unchained []string `json:"unchained_batches"`
	Gaps      []Gap    `json:"gaps"`
}

const integrityMethod = "each chain below was walked in ClickHouse at export time over the batches holding exported rows: " +
	"sequence numbers contiguous, chain_sha256 = SHA-256(prev_sha256 || content_sha256), each batch linked to the one before, " +
	"and content_sha256 recomputed from the stored rows (event_id, length and raw line, in event_id order)"

// integrity verifies, chain by chain, the batches that hold the exported
// rows (their hex ids) and the batches between them, and lists those
// batches no chain holds.
func (s *Source) integrity(ctx context.Context, batchIDs map[string]bool) ([]ChainIntegrity, []string, error) {
	ids := make([]string, 0, len(batchIDs))
	for id := range batchIDs {
		ids = append(ids, strings.ToUpper(id))
	}
	slices.Sort(ids)
	found := map[string]bool{}
	span := map[string]*ChainIntegrity{}
	for len(ids) > 0 {
		chunk := ids[:min(len(ids), 1000)]
		ids = ids[len(chunk):]
		rows, err := s.Conn.Query(ctx, fmt.Sprintf(`SELECT chain_id, seq, hex(batch_id) FROM %s WHERE has(?, hex(batch_id))`, s.table("ingest_batches")), chunk)
		if err != nil {
			return nil, nil, fmt.Errorf("query ingest_batches: %w", err)
		}
		for rows.Next() {
			var chain, id string
			var seq uint64
			if err := rows.Scan(&chain, &seq, &id); err != nil {
				rows.Close()
				return nil, nil, err
			}
			found[id] = true
			c := span[chain]
			if c == nil {
				c = &ChainIntegrity{ChainID: chain, FirstSeq: seq, LastSeq: seq}
				span[chain] = c
			}
			c.FirstSeq, c.LastSeq = min(c.FirstSeq, seq), max(c.LastSeq, seq)
		}
		rows.Close()
	}
	var out []ChainIntegrity
	for _, c := range span {
		rep, err := clickhouse.VerifyRange(ctx, s.Conn, s.Database, c.ChainID, c.FirstSeq, c.LastSeq)
		if err != nil {
			return nil, nil, fmt.Errorf("verify chain %s: %w", c.ChainID, err)
		}
		if len(rep.Records) > 0 && rep.Records[len(rep.Records)-1].Seq != c.LastSeq {
			rep.Problems = append(rep.Problems, fmt.Sprintf("batch %d is missing", c.LastSeq))
		}
		c.Batches, c.Rows, c.Records, c.Problems, c.Verified = rep.Batches, rep.Rows, rep.Records, rep.Problems, rep.OK()
		if c.Problems == nil {
			c.Problems = []string{}
		}
		out = append(out, *c)
	}
	lost := []string{}
	for id := range batchIDs {
		if !found[strings.ToUpper(id)] {
			lost = append(lost, strings.ToLower(id))
		}
	}
	slices.Sort(lost)
	slices.SortFunc(out, func(a, b ChainIntegrity) int { return strings.Compare(a.ChainID, b.ChainID) })
	return out, lost, nil
}
