package evidence

import (
	"encoding/json"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/openclaw-vca/openclaw-vca/internal/parse"
	"github.com/openclaw-vca/openclaw-vca/internal/testsupport/testch"
	"github.com/openclaw-vca/openclaw-vca/internal/testsupport/testch/seed"
	"github.com/openclaw-vca/openclaw-vca/internal/testsupport/testcorpus"
)

// The corpus holds IDS alerts (C-09, C-32, C-33, C-36), an L7 IDS verdict
// with C-09's signature on C-09's gateway (C-06) and one with a signature
// no alert has (L7-28). A bundle of it counts the alerts apart from the
// decisions, summarises them by signature, links 2027865 to C-06's rule
// and keeps the alerts in events.jsonl.gz, out of the OCSF file.
func TestExportSummarisesIDSAlerts(t *testing.T) {
	p := parse.NewParser(parse.Options{})
	rx := time.Date(2026, 3, 15, 0, 0, 0, 0, time.UTC)
	var events []parse.Event
	alerts, blocked := 0, 0
	for i, l := range testcorpus.All() {
		var e parse.Event
		e.EventID = parse.NewEventID(e.EventID.Origin(), uint64(i+1))
		e.ReceivedAt, e.Listener, e.Transport = rx, "tcp", "tcp"
		e.Peer = netip.MustParseAddrPort("10.1.0.5:41000")
		p.Parse(l.Message, &e)
		if e.Kind == parse.KindAlert {
			alerts++
			if e.Action == parse.ActionDeny {
				blocked++
			}
		}
		events = append(events, *e.Clone())
	}
	addr := testch.Addr(t)
	conn := testch.Conn(t, addr)
	db := testch.Database(t, conn)
	seed.Write(t, addr, db, "alerts", nil, events, 1000)
	src, err := NewSource(conn, db)
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "bundle")
	res := export(t, src, Filter{From: time.Date(2015, 1, 1, 0, 0, 0, 0, time.UTC), To: rx.Add(24 * time.Hour)}, testKey(t), dir, rx)
	if res.Manifest.IDSAlerts != alerts || alerts < 4 {
		t.Fatalf("manifest counts %d IDS alerts, the corpus has %d", res.Manifest.IDSAlerts, alerts)
	}
	md, err := os.ReadFile(filepath.Join(dir, SummaryMDFile))
	if err != nil {
		t.Fatal(err)
	}
	summary := string(md)
	for _, want := range []string{
		"- IDS alerts: " + itoa(alerts) + "; blocked by IPS: " + itoa(blocked),
		// C-09 (frontend-eks-spoke) and C-33 (prod-use1-spoke1) share
		// 2027865; only C-06 on frontend-eks-spoke carries it as a verdict.
		"| 2027865 | ET MALWARE example download | A Network Trojan was detected | 1 | 2 | 1 | frontend-eks-spoke, prod-use1-spoke1 |",
		"| 1 | 1b513efd-dcb0-4bb5-8ea7-a43b482cad7a (1) |",
		"| 2013028 | ET POLICY example signature | Potential Corporate Privacy Violation | 2 | 1 | 0 | egress-gw-1 |",
		// C-36 was cut before its signature.
		"| (none) |  |  | 0 | 1 | 0 | prod-use1-spoke1 |",
	} {
		if !strings.Contains(summary, want) {
			t.Errorf("summary.md lacks %q:\n%s", want, section(summary, "## IDS alerts"))
		}
	}
	var inEvents int
	for _, l := range readGzipLines(t, filepath.Join(dir, EventsFile)) {
		var d struct{ Kind, SignatureID, AlertSignature string }
		if err := json.Unmarshal(l, &d); err != nil {
			t.Fatal(err)
		}
		if d.Kind == "alert" {
			inEvents++
		}
	}
	if inEvents != alerts {
		t.Errorf("%d alerts in %s, want %d", inEvents, EventsFile, alerts)
	}
	for _, l := range readGzipLines(t, filepath.Join(dir, OCSFFile)) {
		if strings.Contains(string(l), `"dcf-alert"`) {
			t.Fatalf("an alert in the OCSF file: %s", l)
		}
	}
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }

// section is the part of a markdown document from heading to the next one.
func section(doc, heading string) string {
	_, after, _ := strings.Cut(doc, heading)
	if i := strings.Index(after, "\n## "); i >= 0 {
		after = after[:i]
	}
	return heading + after
}
