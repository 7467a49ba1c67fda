package clickhouse

import (
	"context"
	"encoding/hex"
	"fmt"
	"slices"
	"testing"

	"github.com/openclaw-vca/openclaw-vca/internal/enrich"
	"github.com/openclaw-vca/openclaw-vca/internal/parse"
	"github.com/openclaw-vca/openclaw-vca/internal/testsupport/testch"
)

// TestEnrichmentColumnsAndPolicySnapshot: what the catalog adds to an event
// is stored with it, and a loaded catalog is snapshotted into policy_rules.
func TestEnrichmentColumnsAndPolicySnapshot(t *testing.T) {
	addr := testch.Addr(t)
	conn := testch.Conn(t, addr)
	db := testch.Database(t, conn)
	ix, err := enrich.LoadFile("../../enrich/testdata/catalog-coding.json")
	if err != nil {
		t.Fatal(err)
	}
	events := corpusEvents(t, 1)
	var out enrich.Outcome
	named := 0
	for i := range events {
		ix.Enrich(&events[i], &out)
		if events[i].Enriched.RuleName != "" {
			named++
		}
	}
	if named == 0 || out.UnknownRules == 0 {
		t.Fatalf("the corpus should hit both named and unknown rules: %d named, %d unknown", named, out.UnknownRules)
	}
	s, _ := newSink(t, testConfigIn(t, addr, db))
	s.Store().RecordCatalog(ix)
	if err := s.Write(context.Background(), events, func() {}); err != nil {
		t.Fatal(err)
	}
	shutdown(t, s)

	for i := range events {
		e := &events[i]
		if e.Status == parse.StatusFailed {
			continue
		}
		var (
			name, scenario, web, action, admitting, version string
			prio                                            uint32
			wbd                                             uint8
			src, dst, tags                                  []string
		)
		err := conn.QueryRow(context.Background(), `SELECT rule_name, scenario, web_group, rule_action, admitting_web_group, catalog_version,
  rule_priority, would_be_denied, src_groups, dst_groups, rule_tags FROM `+db+`.dcf_events WHERE event_id = unhex(?)`,
			hex.EncodeToString(e.EventID[:])).Scan(&name, &scenario, &web, &action, &admitting, &version, &prio, &wbd, &src, &dst, &tags)
		if err != nil {
			t.Fatal(err)
		}
		x := e.Enriched
		got := fmt.Sprint(name, scenario, web, action, admitting, version, prio, wbd == 1)
		want := fmt.Sprint(x.RuleName, x.Scenario, x.WebGroup, x.RuleAction, x.AdmittingWebGroup, x.CatalogVersion, x.RulePriority, x.WouldBeDenied)
		if got != want || !slices.Equal(src, nonNil(x.SrcGroups)) || !slices.Equal(dst, nonNil(x.DstGroups)) || !slices.Equal(tags, nonNil(x.Tags)) {
			t.Errorf("event %x: stored %s %v %v %v, want %s %v %v %v", e.EventID[8:], got, src, dst, tags, want, x.SrcGroups, x.DstGroups, x.Tags)
		}
	}

	if n := testch.Count(t, conn, "SELECT count() FROM "+db+".policy_rules WHERE catalog_version = 'coding-2026-11-26-a'"); n != uint64(len(ix.Catalog.Rules)+1) {
		t.Fatalf("policy_rules holds %d rows of the catalog, want %d rules and the default action", n, len(ix.Catalog.Rules)+1)
	}
	var name, action, scenario string
	var prio uint32
	var webs []string
	if err := conn.QueryRow(context.Background(), "SELECT rule_name, action, scenario, priority, web_groups FROM "+db+
		".policy_rules WHERE rule_uuid = '11111111-0000-4000-8000-000000000010'").Scan(&name, &action, &scenario, &prio, &webs); err != nil {
		t.Fatal(err)
	}
	if name != "vca-openclaw-shadow-model-deny" || action != "DENY" || scenario != "shadow_model" || prio != 10 || !slices.Equal(webs, []string{"wg-unapproved-model-providers"}) {
		t.Fatalf("shadow-model rule stored as %s %s %s %d %v", name, action, scenario, prio, webs)
	}
	if n := testch.Count(t, conn, "SELECT count() FROM "+db+".policy_rules WHERE rule_uuid = '"+enrich.DefaultRuleUUID+"' AND rule_name = 'POST_RULES default' AND action = 'DENY'"); n != 1 {
		t.Fatalf("default action rows: %d", n)
	}
}
