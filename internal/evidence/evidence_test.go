package evidence

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parquet-go/parquet-go"
	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/openclaw-vca/openclaw-vca/internal/parse"
	"github.com/openclaw-vca/openclaw-vca/internal/testsupport/gatewaysim"
	"github.com/openclaw-vca/openclaw-vca/internal/testsupport/testch"
	"github.com/openclaw-vca/openclaw-vca/internal/testsupport/testch/seed"
	"github.com/openclaw-vca/openclaw-vca/internal/testsupport/testwait"
)

// Three hours of the simulated fleet; the monitor-mode gateway falls
// silent for 40 minutes in the middle.
var (
	simStart = time.Date(2026, 11, 20, 8, 0, 0, 0, time.UTC)
	simEnd   = simStart.Add(3 * time.Hour)
	gapFrom  = simStart.Add(70 * time.Minute)
	gapTo    = gapFrom.Add(40 * time.Minute)
)

var (
	simOnce sync.Once
	simData *gatewaysim.Dataset
	simErr  error
)

func simulated(t *testing.T) *gatewaysim.Dataset {
	t.Helper()
	simOnce.Do(func() {
		simData, simErr = gatewaysim.Simulate(gatewaysim.Options{Start: simStart, Duration: simEnd.Sub(simStart), Seed: 8, MalformedEvery: 250,
			Gaps: []gatewaysim.Gap{{Gateway: gatewaysim.Gateways[1].Name, From: gapFrom, To: gapTo}}})
	})
	if simErr != nil {
		t.Fatal(simErr)
	}
	return simData
}

// seeded writes the dataset into a fresh database of the test server.
func seeded(t *testing.T) (*Source, *gatewaysim.Dataset) {
	t.Helper()
	ds := simulated(t)
	addr := testch.Addr(t)
	conn := testch.Conn(t, addr)
	db := testch.Database(t, conn)
	seed.Write(t, addr, db, "evidence", ds.Index, ds.Events, 1000)
	src, err := NewSource(conn, db)
	if err != nil {
		t.Fatal(err)
	}
	return src, ds
}

func testKey(t *testing.T) ed25519.PrivateKey {
	t.Helper()
	_, k, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// export builds a bundle and checks every line of its OCSF file against
// the OCSF 1.3.0 class 4001 schema, so no test bundle leaves that unchecked.
func export(t *testing.T, src *Source, f Filter, key ed25519.PrivateKey, out string, stamp time.Time) *Result {
	t.Helper()
	res, err := Export(context.Background(), src, ExportOptions{Filter: f, Out: out, Key: key, Now: func() time.Time { return stamp }})
	if err != nil {
		t.Fatal(err)
	}
	validateOCSF(t, bundleOCSF(t, out))
	return res
}

// bundleOCSF returns the lines of a bundle's OCSF file, from a directory
// or a .tar.gz.
func bundleOCSF(t *testing.T, bundle string) [][]byte {
	t.Helper()
	var lines [][]byte
	found := false
	err := walkBundle(bundle, func(name string, r io.Reader) error {
		if name != OCSFFile {
			return nil
		}
		found = true
		zr, err := gzip.NewReader(r)
		if err != nil {
			return err
		}
		sc := bufio.NewScanner(zr)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			lines = append(lines, append([]byte(nil), sc.Bytes()...))
		}
		return sc.Err()
	})
	if err != nil {
		t.Fatal(err)
	}
	if !found {
		t.Fatalf("%s has no %s", bundle, OCSFFile)
	}
	return lines
}

// validOCSF holds the SHA-256 of each line that validated: the tests
// export the same range many times over, and a line identical to one
// already checked needs no second look (validation is a third of a
// millisecond a line, many times that under the race detector).
var validOCSF sync.Map

// validateOCSF checks each line against the schema and returns the
// documents.
func validateOCSF(t *testing.T, lines [][]byte) []map[string]any {
	t.Helper()
	schema := ocsfSchema(t)
	docs := make([]map[string]any, 0, len(lines))
	for _, l := range lines {
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(l))
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(l)
		if _, ok := validOCSF.Load(sum); !ok {
			if err := schema.Validate(doc); err != nil {
				t.Fatalf("OCSF event does not validate: %v\n%s", err, l)
			}
			validOCSF.Store(sum, true)
		}
		docs = append(docs, doc.(map[string]any))
	}
	return docs
}

func readGzipLines(t *testing.T, path string) [][]byte {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	var out [][]byte
	sc := bufio.NewScanner(zr)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		out = append(out, append([]byte(nil), sc.Bytes()...))
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestExportBundle builds a bundle of the whole range and checks every
// document against the dataset, then that it verifies, that a second
// export is byte-identical apart from the manifest's time, and that the
// .tar.gz form verifies too.
func TestExportBundle(t *testing.T) {
	src, ds := seeded(t)
	key := testKey(t)
	dir := filepath.Join(t.TempDir(), "bundle")
	f := Filter{From: simStart, To: simEnd}
	res := export(t, src, f, key, dir, time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC))

	var stored, failed int
	scenarios := map[string]int{}
	for i := range ds.Events {
		switch e := &ds.Events[i]; {
		case e.Status == parse.StatusFailed:
			failed++
		default:
			stored++
			s := e.Enriched.Scenario
			if s == "" {
				s = "other"
			}
			scenarios[s]++
		}
	}
	if res.Manifest.Decisions != stored || res.Manifest.Unparsed != failed || !res.Manifest.ChainsVerified {
		t.Fatalf("manifest: %d decisions, %d unparsed, chains verified %v; want %d, %d, true",
			res.Manifest.Decisions, res.Manifest.Unparsed, res.Manifest.ChainsVerified, stored, failed)
	}

	// events.jsonl.gz: every stored decision once, in time order, raw intact.
	lines := readGzipLines(t, filepath.Join(dir, EventsFile))
	if len(lines) != stored {
		t.Fatalf("%d lines in %s, want %d", len(lines), EventsFile, stored)
	}
	raws := map[string]bool{}
	for i := range ds.Events {
		raws[string(ds.Events[i].Raw)] = true
	}
	var lastTime string
	for _, l := range lines {
		var d struct {
			EventID, EventTime, Raw string
			RawBase64               []byte `json:"raw_base64"`
		}
		if err := json.Unmarshal(l, &d); err != nil {
			t.Fatal(err)
		}
		raw := d.Raw
		if d.RawBase64 != nil {
			raw = string(d.RawBase64)
		}
		if !raws[raw] || d.EventTime < lastTime {
			t.Fatalf("line out of order or raw line altered: %s", l)
		}
		lastTime = d.EventTime
	}

	// events.parquet holds the same rows.
	pf, err := os.Open(filepath.Join(dir, ParquetFile))
	if err != nil {
		t.Fatal(err)
	}
	defer pf.Close()
	pr := parquet.NewGenericReader[Decision](pf)
	rows := make([]Decision, 500)
	var n int
	for {
		k, err := pr.Read(rows)
		n += k
		if err != nil {
			break
		}
	}
	if n != stored {
		t.Errorf("%s has %d rows, want %d", ParquetFile, n, stored)
	}

	// events.ocsf.jsonl.gz: every line validated by export; each says what
	// its decision in events.jsonl.gz says.
	ocsf := validateOCSF(t, readGzipLines(t, filepath.Join(dir, OCSFFile)))
	if len(ocsf)+res.Manifest.OCSFOmitted != stored || res.Manifest.OCSFOmitted > failed+stored/100 {
		t.Fatalf("%d OCSF events and %d omitted, want %d in all", len(ocsf), res.Manifest.OCSFOmitted, stored)
	}
	checkOCSFAgainstDecisions(t, ocsf, lines)

	// The summary counts each scenario and names the silent gateway.
	md, err := os.ReadFile(filepath.Join(dir, SummaryMDFile))
	if err != nil {
		t.Fatal(err)
	}
	for s, n := range scenarios {
		if !strings.Contains(string(md), fmt.Sprintf("| %s | %d |", s, n)) {
			t.Errorf("summary.md lacks %d decisions for %s", n, s)
		}
	}
	for _, want := range []string{"| deny-cloud-metadata |", "| deny-dns-exfil-tcp |", "LLM01 Prompt Injection",
		fmt.Sprintf("| %s | %s | %s | 40 |", gatewaysim.Gateways[1].Name, gapFrom.Format(time.RFC3339), gapTo.Format(time.RFC3339))} {
		if !strings.Contains(string(md), want) {
			t.Errorf("summary.md lacks %q", want)
		}
	}
	if html, err := os.ReadFile(filepath.Join(dir, SummaryHTML)); err != nil || !bytes.Contains(html, []byte("<td>deny-cloud-metadata</td>")) {
		t.Errorf("summary.html: %v", err)
	}

	rep, err := VerifyBundle(dir, res.PublicKey)
	if err != nil || !rep.OK() {
		t.Fatalf("fresh bundle does not verify: %v %v", err, rep.Problems)
	}
	if rep.Batches == 0 || rep.Files < 9 {
		t.Errorf("verified %d files, %d batches", rep.Files, rep.Batches)
	}

	// Same data, same range: the same bytes, the manifest's stamp aside.
	again := filepath.Join(t.TempDir(), "again")
	export(t, src, f, key, again, time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC))
	for _, fe := range res.Manifest.Files {
		a, _ := os.ReadFile(filepath.Join(dir, fe.Name))
		b, _ := os.ReadFile(filepath.Join(again, fe.Name))
		if !bytes.Equal(a, b) {
			t.Errorf("%s differs between two exports of the same range", fe.Name)
		}
	}

	tarball := filepath.Join(t.TempDir(), "evidence-2026-11-20.tar.gz")
	export(t, src, f, key, tarball, time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC))
	if rep, err := VerifyBundle(tarball, res.PublicKey); err != nil || !rep.OK() {
		t.Fatalf(".tar.gz bundle does not verify: %v %v", err, rep.Problems)
	}
}

var (
	ocsfSchemaOnce sync.Once
	ocsfSchemaDoc  *jsonschema.Schema
	ocsfSchemaErr  error
)

func ocsfSchema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	ocsfSchemaOnce.Do(func() {
		c := jsonschema.NewCompiler()
		c.AssertFormat()
		ocsfSchemaDoc, ocsfSchemaErr = c.Compile("testdata/ocsf-1.3.0-network-activity-4001.schema.json")
	})
	if ocsfSchemaErr != nil {
		t.Fatal(ocsfSchemaErr)
	}
	return ocsfSchemaDoc
}

// checkOCSFAgainstDecisions matches each OCSF event to its decision in
// events.jsonl.gz by metadata.uid and checks the verdict, the SNI, the URL
// and the gateway came across; the simulated fleet must show enforced,
// monitor-mode and permitted decisions.
func checkOCSFAgainstDecisions(t *testing.T, ocsf []map[string]any, decisionLines [][]byte) {
	t.Helper()
	byID := make(map[string]*Decision, len(decisionLines))
	for _, l := range decisionLines {
		d := new(Decision)
		if err := json.Unmarshal(l, d); err != nil {
			t.Fatal(err)
		}
		byID[d.EventID] = d
	}
	num := func(v any) int {
		n, _ := v.(json.Number).Int64()
		return int(n)
	}
	seen := map[string]int{}
	activities := map[int]int{}
	for _, e := range ocsf {
		md := e["metadata"].(map[string]any)
		d := byID[md["uid"].(string)]
		if d == nil {
			t.Fatalf("OCSF event %v has no decision", md["uid"])
		}
		verdict := [2]int{num(e["action_id"]), num(e["disposition_id"])}
		var want [2]int
		switch {
		case d.Action == "DENY" && d.Enforced != nil && *d.Enforced:
			want, seen["blocked"] = [2]int{2, 2}, seen["blocked"]+1
		case d.Action == "DENY" && d.Enforced != nil:
			want, seen["monitor"] = [2]int{1, 15}, seen["monitor"]+1
		case d.Action == "PERMIT":
			want, seen["permitted"] = [2]int{1, 1}, seen["permitted"]+1
		default:
			want = [2]int{0, 0}
		}
		if verdict != want {
			t.Fatalf("%s %v (enforced %v) became action_id, disposition_id %v, want %v", d.EventID, d.Action, d.Enforced, verdict, want)
		}
		activities[num(e["activity_id"])]++
		dst := e["dst_endpoint"].(map[string]any)
		switch {
		case isHostname(d.SNI):
			seen["sni"]++
			if dst["hostname"] != d.SNI {
				t.Fatalf("%s: SNI %q, dst_endpoint %v", d.EventID, d.SNI, dst)
			}
		case d.SNI != "":
			if u := e["unmapped"].(map[string]any); u["sni"] != d.SNI {
				t.Fatalf("%s: SNI %q is no hostname and not in unmapped %v", d.EventID, d.SNI, u)
			}
		}
		if d.URL != "" {
			seen["url"]++
			if u, _ := e["url"].(map[string]any); u == nil || u["url_string"] != d.URL {
				t.Fatalf("%s: url %q, OCSF url %v", d.EventID, d.URL, e["url"])
			}
		}
		dev, _ := e["device"].(map[string]any)
		hasGateway := d.Gateway != "" || d.GatewayIP != ""
		if hasGateway != (dev != nil) || hasGateway && (d.Gateway != "" && dev["name"] != d.Gateway || !slices.Contains(md["profiles"].([]any), any("host"))) {
			t.Fatalf("%s: gateway %q, device %v, profiles %v", d.EventID, d.Gateway, dev, md["profiles"])
		}
	}
	for _, k := range []string{"blocked", "monitor", "permitted", "sni"} {
		if seen[k] == 0 {
			t.Errorf("no %s decision among the OCSF events", k)
		}
	}
	t.Logf("OCSF activities %v, decisions %v", activities, seen)
}

// TestFilteredExport selects one agent: only its decisions, no unparsed
// lines (they have no agent), and still a verified chain over their batches.
func TestFilteredExport(t *testing.T) {
	src, ds := seeded(t)
	dir := filepath.Join(t.TempDir(), "hermes")
	res := export(t, src, Filter{From: simStart, To: simEnd, Agent: gatewaysim.Hermes, Scenario: "default_deny"}, testKey(t), dir, time.Now())
	var want int
	for i := range ds.Events {
		e := &ds.Events[i]
		if e.Status != parse.StatusFailed && slices.Contains(e.Enriched.SrcGroups, gatewaysim.Hermes) && e.Enriched.Scenario == "default_deny" {
			want++
		}
	}
	if res.Manifest.Decisions != want || want == 0 {
		t.Errorf("%d decisions exported, want %d", res.Manifest.Decisions, want)
	}
	if _, err := os.Stat(filepath.Join(dir, UnparsedFile)); !os.IsNotExist(err) {
		t.Errorf("a filtered export carries %s", UnparsedFile)
	}
	if rep, err := VerifyBundle(dir, nil); err != nil || !rep.OK() {
		t.Errorf("filtered bundle: %v %v", err, rep.Problems)
	}
}

// TestVerifyDetectsTampering changes a bundle the ways an auditor must
// catch: a file edited, the signature altered, another signer, a batch
// dropped from integrity.json and the manifest re-signed, and a batch
// removed from ClickHouse before the export.
func TestVerifyDetectsTampering(t *testing.T) {
	src, _ := seeded(t)
	key := testKey(t)
	f := Filter{From: simStart, To: simEnd}
	fresh := func() string {
		dir := filepath.Join(t.TempDir(), "b")
		export(t, src, f, key, dir, time.Now())
		return dir
	}
	pub := key.Public().(ed25519.PublicKey)
	expectFailure := func(name, dir string, pub ed25519.PublicKey, want string) {
		t.Helper()
		rep, err := VerifyBundle(dir, pub)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if rep.OK() || !strings.Contains(rep.Problems[0], want) {
			t.Errorf("%s: problems %q, want the first to mention %q", name, rep.Problems, want)
		}
	}

	dir := fresh()
	edit(t, filepath.Join(dir, SummaryMDFile), func(b []byte) []byte { return bytes.Replace(b, []byte("blocked"), []byte("allowed"), 1) })
	expectFailure("edited summary", dir, pub, SummaryMDFile+": SHA-256")

	dir = fresh()
	edit(t, filepath.Join(dir, SignatureFile), func(b []byte) []byte {
		sig, _ := base64.StdEncoding.DecodeString(strings.TrimSpace(string(b)))
		sig[0] ^= 1
		return []byte(base64.StdEncoding.EncodeToString(sig) + "\n")
	})
	expectFailure("altered signature", dir, pub, "signature")

	dir = fresh()
	expectFailure("another signer", dir, testKey(t).Public().(ed25519.PublicKey), "another signing key")

	// An insider drops a batch from integrity.json, fixes the manifest and
	// signs it with a key of their own.
	dir = fresh()
	edit(t, filepath.Join(dir, IntegrityFile), func(b []byte) []byte {
		var doc integrityDoc
		json.Unmarshal(b, &doc)
		recs := doc.Chains[0].Records
		doc.Chains[0].Records = append(recs[:3:3], recs[4:]...)
		out, _ := json.MarshalIndent(doc, "", "  ")
		return append(out, '\n')
	})
	resign(t, dir, testKey(t))
	expectFailure("batch dropped and re-signed", dir, nil, "batches 4..4 are missing")
	expectFailure("batch dropped and re-signed, checked with the real key", dir, pub, "another signing key")

	// A batch removed from ClickHouse itself: the export says so and the
	// bundle does not verify.
	if err := src.Conn.Exec(context.Background(), fmt.Sprintf("ALTER TABLE `%s`.ingest_batches DELETE WHERE seq = 5", src.Database)); err != nil {
		t.Fatal(err)
	}
	waitMutations(t, src)
	dir = fresh()
	expectFailure("batch removed in ClickHouse", dir, pub, "did not verify at export: batches 5..5 are missing")
}

func edit(t *testing.T, path string, change func([]byte) []byte) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, change(b), 0o644); err != nil {
		t.Fatal(err)
	}
}

// resign recomputes the manifest's hashes and signs it with key.
func resign(t *testing.T, dir string, key ed25519.PrivateKey) {
	t.Helper()
	b, _ := os.ReadFile(filepath.Join(dir, ManifestFile))
	var m Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	for i, fe := range m.Files {
		data, _ := os.ReadFile(filepath.Join(dir, fe.Name))
		m.Files[i].SHA256, m.Files[i].Bytes = sha256Hex(data), int64(len(data))
	}
	m.PublicKey = base64.StdEncoding.EncodeToString(key.Public().(ed25519.PublicKey))
	mb, _ := json.MarshalIndent(m, "", "  ")
	mb = append(mb, '\n')
	os.WriteFile(filepath.Join(dir, ManifestFile), mb, 0o644)
	os.WriteFile(filepath.Join(dir, SignatureFile), []byte(base64.StdEncoding.EncodeToString(ed25519.Sign(key, mb))+"\n"), 0o644)
}

func sha256Hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func waitMutations(t *testing.T, src *Source) {
	t.Helper()
	open := func() uint64 {
		return testch.Count(t, src.Conn, "SELECT count() FROM system.mutations WHERE database = ? AND is_done = 0", src.Database)
	}
	testwait.For(t, "the mutation to finish", testwait.Idle, func() bool { return open() == 0 },
		func() string { return fmt.Sprintf("%d mutations open", open()) })
}

// An export of a range far wider than the data reads only the windows
// that hold decisions, merged into as few queries as their rows allow:
// its cost follows the rows, not the calendar.
func TestDecisionsReadOnlyWindowsWithRows(t *testing.T) {
	src, ds := seeded(t)
	wide := Filter{From: time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC), To: time.Now().UTC()}
	spans, err := src.spans(context.Background(), wide)
	if err != nil {
		t.Fatal(err)
	}
	if len(spans) != 1 || spans[0].from.Before(simStart.Add(-window)) || spans[0].to.After(simEnd.Add(window)) {
		t.Fatalf("a %v range over %v of data is read as %v, want one query within the data", wide.To.Sub(wide.From).Round(time.Hour), simEnd.Sub(simStart), spans)
	}
	var n int
	if err := src.Decisions(context.Background(), wide, func(*Decision) error { n++; return nil }); err != nil {
		t.Fatal(err)
	}
	var want int
	for _, e := range ds.Events {
		if e.Status != parse.StatusFailed {
			want++
		}
	}
	if n != want {
		t.Fatalf("%d decisions read, want %d", n, want)
	}
}

// An export that fails part-way leaves nothing behind: no files in the
// bundle directory, no archive, no temporary directory, and no file of
// it still open.
func TestFailedExportLeavesNothing(t *testing.T) {
	for _, tc := range []struct {
		name, drop string // the table dropped before the export
		tarball    bool
	}{
		{"unparsed lines fail while their file is open", "raw_unparsed", false},
		{"integrity fails after the data files are written", "ingest_batches", false},
		{"the same into an archive", "ingest_batches", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src, _ := seeded(t)
			if err := src.Conn.Exec(context.Background(), "DROP TABLE "+src.Database+"."+tc.drop); err != nil {
				t.Fatal(err)
			}
			parent := t.TempDir()
			out := filepath.Join(parent, "bundle")
			if tc.tarball {
				out += ".tar.gz"
			}
			_, err := Export(context.Background(), src, ExportOptions{Filter: Filter{From: simStart, To: simEnd}, Out: out, Key: testKey(t)})
			if err == nil {
				t.Fatalf("export succeeded without %s", tc.drop)
			}
			var left []string
			filepath.WalkDir(parent, func(p string, d os.DirEntry, err error) error {
				if p != parent && !(p == out && d.IsDir()) {
					left = append(left, p)
				}
				return nil
			})
			if len(left) > 0 {
				t.Fatalf("after the failed export (%v), left: %q", err, left)
			}
			fds, _ := os.ReadDir("/proc/self/fd")
			for _, fd := range fds {
				if target, _ := os.Readlink("/proc/self/fd/" + fd.Name()); strings.HasPrefix(target, parent) {
					t.Errorf("after the failed export, descriptor %s is still open on %s", fd.Name(), target)
				}
			}
		})
	}
}
