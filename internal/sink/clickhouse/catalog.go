package clickhouse

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/openclaw-vca/openclaw-vca/internal/delivery"
	"github.com/openclaw-vca/openclaw-vca/internal/enrich"
)

// RecordCatalog snapshots a loaded policy catalog into policy_rules, so
// that old evidence reads with the names in force at the time. It returns
// at once; the newest snapshot is written in the background, retried
// until ClickHouse takes it.
func (s *Store) RecordCatalog(ix *enrich.Index) {
	s.catalogMu.Lock()
	s.catalogPending = ix
	s.catalogMu.Unlock()
	select {
	case s.catalogKick <- struct{}{}:
	default:
	}
}

func (s *Store) catalogWriter() {
	defer s.bg.Done()
	for {
		select {
		case <-s.quit:
			s.writePendingCatalog() // one last try: a snapshot taken just before shutdown
			return
		case <-s.catalogKick:
		}
		backoff := delivery.NewBackoff(time.Second, time.Duration(s.cfg.MaxRetryBackoff))
		for !s.writePendingCatalog() {
			wait := backoff.Next()
			s.log.Warn().Dur("retry_in", wait).Msg("policy_rules snapshot failed; retrying")
			select {
			case <-s.quit:
				s.writePendingCatalog()
				return
			case <-time.After(wait):
			}
		}
	}
}

// writePendingCatalog writes the newest snapshot not yet written, and
// reports whether nothing is left to write.
func (s *Store) writePendingCatalog() bool {
	s.catalogMu.Lock()
	ix := s.catalogPending
	s.catalogMu.Unlock()
	if ix == nil {
		return true
	}
	if err := s.insertCatalog(ix); err != nil {
		s.log.Warn().Err(err).Str("catalog_version", ix.Version()).Msg("policy_rules snapshot not written")
		return false
	}
	s.catalogMu.Lock()
	if s.catalogPending == ix {
		s.catalogPending = nil
	}
	s.catalogMu.Unlock()
	s.log.Info().Str("catalog_version", ix.Version()).Int("rules", len(ix.Catalog.Rules)).Msg("policy catalog recorded in policy_rules")
	return true
}

func (s *Store) insertCatalog(ix *enrich.Index) error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Duration(s.cfg.InsertTimeout))
	defer cancel()
	cols := insertColumns(policyColumns)
	pb, err := s.conn.PrepareBatch(ctx, fmt.Sprintf("INSERT INTO %s.policy_rules (%s)", quoteIdent(s.cfg.Database), joinIdents(cols)))
	if err != nil {
		return err
	}
	defer pb.Abort()
	row := make([]any, len(cols))
	for _, vals := range policyRows(ix, time.Now().UTC()) {
		for i, col := range cols {
			row[i] = vals[col]
		}
		if err := pb.Append(row...); err != nil {
			return &encodeError{column: "policy_rules", err: err}
		}
	}
	return pb.Send()
}

// policyRows are the policy_rules rows of a catalog loaded at now: its
// rules in order, then the POST_RULES default action.
func policyRows(ix *enrich.Index, now time.Time) []map[string]any {
	c := ix.Catalog
	var rows []map[string]any
	add := func(vals map[string]any) {
		for k, v := range map[string]any{"catalog_version": c.Version, "loaded_at": now,
			"catalog_sha256": ix.SHA256[:], "mode": c.Mode, "agent_class": c.AgentClass} {
			vals[k] = v
		}
		rows = append(rows, vals)
	}
	enforced := func(r enrich.Rule) uint8 {
		if (r.Enforced == nil && c.Mode == "enforce") || (r.Enforced != nil && *r.Enforced) {
			return 1
		}
		return 0
	}
	for _, r := range c.Rules {
		add(map[string]any{"rule_uuid": strings.ToLower(r.UUID), "rule_name": r.Name, "priority": r.Priority,
			"action": r.Action, "protocol": r.Protocol, "ports": nonNil(r.Ports), "src_groups": nonNil(r.SrcSmartGroups),
			"dst_groups": nonNil(r.DstSmartGroups), "web_groups": nonNil(r.WebGroups), "logging": b2u(r.Logging),
			"enforced": enforced(r), "scenario": r.Scenario, "tags": append(append([]string{}, r.OWASPLLM...), r.MITREATLAS...)})
	}
	def := enrich.Rule{Action: "", Logging: false}
	if c.DefaultAction != nil {
		def.Action, def.Logging = c.DefaultAction.Action, c.DefaultAction.Logging
	} else if c.Mode == "enforce" {
		def.Action, def.Logging = "DENY", true
	}
	add(map[string]any{"rule_uuid": enrich.DefaultRuleUUID, "rule_name": enrich.DefaultRuleName, "priority": ^uint32(0),
		"action": def.Action, "protocol": "ANY", "ports": []string{}, "src_groups": []string{"Anywhere"}, "dst_groups": []string{"Anywhere"},
		"web_groups": []string{}, "logging": b2u(def.Logging), "enforced": enforced(def), "scenario": "default_deny", "tags": []string{}})
	return rows
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
