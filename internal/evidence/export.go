package evidence

import (
	"archive/tar"
	"bufio"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/klauspost/compress/gzip"

	"github.com/parquet-go/parquet-go"

	"github.com/openclaw-vca/openclaw-vca/internal/version"
)

// Bundle file names.
const (
	ManifestFile  = "MANIFEST.json"
	SignatureFile = "MANIFEST.sig"
	PublicKeyFile = "signing-key.pub"
	EventsFile    = "events.jsonl.gz"
	ParquetFile   = "events.parquet"
	OCSFFile      = "events.ocsf.jsonl.gz"
	UnparsedFile  = "unparsed.jsonl.gz"
	PolicyFile    = "policy.json"
	SummaryMDFile = "summary.md"
	SummaryHTML   = "summary.html"
	IntegrityFile = "integrity.json"
	ScenariosFile = "scenarios.json"
	BundleFormat  = "openclaw-vca/evidence-bundle"
)

// ExportOptions shape an export.
type ExportOptions struct {
	Filter Filter
	// Out is a directory (created, must be empty) or a path ending in
	// .tar.gz.
	Out string
	Key ed25519.PrivateKey
	// GapThreshold is the silence after which a gateway's quiet stretch is
	// reported (default 15 minutes).
	GapThreshold time.Duration
	// Scenarios, when set, is a verify-scenarios result put in the bundle.
	Scenarios *ScenarioReport
	// Progress, when set, is told the running count of decisions written.
	Progress func(decisions int)
	// Now stamps the manifest (default time.Now).
	Now func() time.Time
}

// FileEntry is one file of the manifest.
type FileEntry struct {
	Name   string `json:"name"`
	SHA256 string `json:"sha256"`
	Bytes  int64  `json:"bytes"`
}

// Manifest lists every file of a bundle with its hash; it is what the
// signature covers.
type Manifest struct {
	Format           string `json:"format"`
	FormatVersion    int    `json:"format_version"`
	CreatedAt        string `json:"created_at"`
	CollectorVersion string `json:"collector_version"`
	Database         string `json:"database"`
	From             string `json:"from"`
	To               string `json:"to"`
	Agent            string `json:"agent,omitempty"`
	Rule             string `json:"rule,omitempty"`
	Scenario         string `json:"scenario,omitempty"`
	Gateway          string `json:"gateway,omitempty"`
	// Decisions counts the rows of events.jsonl.gz and events.parquet:
	// the policy decisions and the IDS alerts, which IDSAlerts counts.
	Decisions int `json:"decisions"`
	IDSAlerts int `json:"ids_alerts"`
	Unparsed  int `json:"unparsed"`
	// OCSFOmitted counts rows OCSF Network Activity cannot describe: those
	// without an address on each side (lines that parsed only in part) and
	// those of a kind the mapping does not cover (IDS alerts); they are in
	// events.jsonl.gz and events.parquet.
	OCSFOmitted    int         `json:"ocsf_omitted"`
	ChainsVerified bool        `json:"chains_verified"`
	PublicKey      string      `json:"public_key"` // base64 Ed25519
	Files          []FileEntry `json:"files"`
}

// Result is what Export reports.
type Result struct {
	Path      string
	Manifest  Manifest
	PublicKey ed25519.PublicKey
}

// Export writes a signed evidence bundle for the filter. Decisions stream
// from ClickHouse into the JSON lines, Parquet and OCSF files in one pass;
// the same data and filter give byte-identical files, the manifest's
// created_at (and so its signature) aside.
func Export(ctx context.Context, src *Source, o ExportOptions) (res *Result, err error) {
	if err := o.check(); err != nil {
		return nil, err
	}
	tarball := strings.HasSuffix(o.Out, ".tar.gz")
	dir := o.Out
	if tarball {
		if _, err := os.Lstat(o.Out); err == nil {
			return nil, fmt.Errorf("%s exists: a bundle is never overwritten", o.Out)
		}
		tmp, err := os.MkdirTemp(filepath.Dir(o.Out), ".evidence-*")
		if err != nil {
			return nil, err
		}
		defer os.RemoveAll(tmp)
		dir = tmp
	} else if err := emptyDir(dir); err != nil {
		return nil, err
	}
	w := &bundleWriter{dir: dir}
	defer func() {
		if err != nil {
			w.abort() // no half-written bundle is left for anyone to mistake for evidence
		}
	}()
	sum := newSummary(o.Filter)
	batches := map[string]bool{}
	ocsfOmitted, err := w.writeDecisions(ctx, src, o, sum, batches)
	if err != nil {
		return nil, err
	}
	// Lines that did not parse have no rule, agent or gateway to filter
	// on: they belong to an export of the whole range.
	if !o.Filter.Narrowed() {
		if err := w.writeUnparsed(ctx, src, o.Filter, sum, batches); err != nil {
			return nil, err
		}
	}
	if err := w.writeReports(ctx, src, o, sum, batches); err != nil {
		return nil, err
	}
	m, err := w.sign(o, src.Database, sum, ocsfOmitted)
	if err != nil {
		return nil, err
	}
	if tarball {
		if err := packTarGz(dir, o.Out, o.Now()); err != nil {
			return nil, err
		}
	}
	return &Result{Path: o.Out, Manifest: m, PublicKey: o.Key.Public().(ed25519.PublicKey)}, nil
}

// check refuses what cannot make a bundle and fills in the defaults.
func (o *ExportOptions) check() error {
	if err := o.Filter.validate(); err != nil {
		return err
	}
	if len(o.Key) != ed25519.PrivateKeySize {
		return fmt.Errorf("no Ed25519 signing key")
	}
	if o.GapThreshold <= 0 {
		o.GapThreshold = 15 * time.Minute
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return nil
}

// writeDecisions streams the decisions into the JSON lines, OCSF and
// Parquet files in one pass, and returns how many OCSF could not describe.
func (w *bundleWriter) writeDecisions(ctx context.Context, src *Source, o ExportOptions, sum *summary, batches map[string]bool) (ocsfOmitted int, err error) {
	events, err := w.gzipFile(EventsFile)
	if err != nil {
		return 0, err
	}
	ocsf, err := w.gzipFile(OCSFFile)
	if err != nil {
		return 0, err
	}
	pf, err := w.create(ParquetFile)
	if err != nil {
		return 0, err
	}
	pw := parquet.NewGenericWriter[Decision](pf, parquet.Compression(&parquet.Zstd), parquet.MaxRowsPerRowGroup(50000),
		parquet.CreatedBy("vca-collector", "evidence", ""))
	row := make([]Decision, 1)
	var line []byte
	err = src.Decisions(ctx, o.Filter, func(d *Decision) error {
		sum.add(d)
		batches[d.BatchID] = true
		var err error
		if line, err = appendDecisionJSON(line[:0], d); err != nil {
			return err
		}
		if _, err := events.Write(line); err != nil {
			return err
		}
		if ev, ok := toOCSF(d); ok {
			b, err := json.Marshal(ev)
			if err != nil {
				return err
			}
			if _, err := ocsf.Write(append(b, '\n')); err != nil {
				return err
			}
		} else {
			ocsfOmitted++
		}
		row[0] = *d
		if _, err := pw.Write(row); err != nil {
			return fmt.Errorf("parquet: %w", err)
		}
		if o.Progress != nil && sum.Decisions%10000 == 0 {
			o.Progress(sum.Decisions)
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	if err := pw.Close(); err != nil {
		return 0, fmt.Errorf("parquet: %w", err)
	}
	for _, f := range []interface{ Close() error }{events, ocsf, pf} {
		if err := f.Close(); err != nil {
			return 0, err
		}
	}
	if o.Progress != nil {
		o.Progress(sum.Decisions)
	}
	return ocsfOmitted, nil
}

// writeUnparsed writes the lines that did not parse, raw bytes intact.
func (w *bundleWriter) writeUnparsed(ctx context.Context, src *Source, f Filter, sum *summary, batches map[string]bool) error {
	un, err := w.gzipFile(UnparsedFile)
	if err != nil {
		return err
	}
	err = src.UnparsedLines(ctx, f, func(u *Unparsed) error {
		sum.Unparsed++
		batches[u.BatchID] = true
		b, err := json.Marshal(struct {
			ReceivedAt string `json:"received_at"`
			*Unparsed
			Raw       string `json:"raw,omitempty"`
			RawBase64 []byte `json:"raw_base64,omitempty"`
		}{millisUTC(u.ReceivedAt), u, rawText(u.Raw), rawBinary(u.Raw)})
		if err != nil {
			return err
		}
		_, err = un.Write(append(b, '\n'))
		return err
	})
	if err != nil {
		return err
	}
	return un.Close()
}

// writeReports writes what the rows are read against: the policy in
// force, the hash chains of the batches they came in and the gaps, and
// the summaries.
func (w *bundleWriter) writeReports(ctx context.Context, src *Source, o ExportOptions, sum *summary, batches map[string]bool) error {
	policy, err := src.policy(ctx, o.Filter, sum.catalogs)
	if err != nil {
		return err
	}
	if err := w.json(PolicyFile, policy); err != nil {
		return err
	}
	gaps, err := src.gaps(ctx, o.Filter, o.GapThreshold)
	if err != nil {
		return err
	}
	chains, unchained, err := src.integrity(ctx, batches)
	if err != nil {
		return err
	}
	if err := w.json(IntegrityFile, integrityDoc{Method: integrityMethod, Chains: chains, Unchained: unchained, Gaps: gaps}); err != nil {
		return err
	}
	var rules []policyRule
	var versions []string
	for _, v := range policy.Versions {
		versions = append(versions, v.CatalogVersion)
		rules = append(rules, v.Rules...)
	}
	sum.finish(rules, gaps, chains, versions)
	sum.Unchained = len(unchained)
	sum.Verified = sum.Verified && len(unchained) == 0
	if err := w.write(SummaryMDFile, sum.writeMarkdown); err != nil {
		return err
	}
	if err := w.write(SummaryHTML, sum.writeHTML); err != nil {
		return err
	}
	if o.Scenarios != nil {
		return w.json(ScenariosFile, o.Scenarios)
	}
	return nil
}

// sign writes the public key, the manifest of every file's hash and the
// manifest's Ed25519 signature.
func (w *bundleWriter) sign(o ExportOptions, database string, sum *summary, ocsfOmitted int) (Manifest, error) {
	pub := o.Key.Public().(ed25519.PublicKey)
	if err := w.write(PublicKeyFile, func(wr io.Writer) error { return writePublicKey(wr, pub) }); err != nil {
		return Manifest{}, err
	}
	m := Manifest{Format: BundleFormat, FormatVersion: 1, CreatedAt: o.Now().UTC().Format(time.RFC3339), CollectorVersion: version.Version,
		Database: database, From: o.Filter.From.UTC().Format(time.RFC3339), To: o.Filter.To.UTC().Format(time.RFC3339),
		Agent: o.Filter.Agent, Rule: o.Filter.Rule, Scenario: o.Filter.Scenario, Gateway: o.Filter.Gateway,
		Decisions: sum.Decisions, IDSAlerts: sum.Alerts, Unparsed: sum.Unparsed, OCSFOmitted: ocsfOmitted, ChainsVerified: sum.Verified,
		PublicKey: base64.StdEncoding.EncodeToString(pub), Files: w.files}
	slices.SortFunc(m.Files, func(a, b FileEntry) int { return strings.Compare(a.Name, b.Name) })
	mb, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return Manifest{}, err
	}
	mb = append(mb, '\n')
	if err := w.plainFile(ManifestFile, mb); err != nil {
		return Manifest{}, err
	}
	sig := base64.StdEncoding.EncodeToString(ed25519.Sign(o.Key, mb)) + "\n"
	return m, w.plainFile(SignatureFile, []byte(sig))
}

func emptyDir(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	if len(entries) > 0 {
		return fmt.Errorf("%s exists and is not empty: a bundle is never overwritten", dir)
	}
	return nil
}

// appendDecisionJSON is one line of events.jsonl: times as RFC 3339 UTC
// with milliseconds, the raw line as text or, when it is not UTF-8, as
// base64 so that every byte survives.
func appendDecisionJSON(dst []byte, d *Decision) ([]byte, error) {
	b, err := json.Marshal(struct {
		EventTime  string `json:"event_time"`
		ReceivedAt string `json:"received_at"`
		*Decision
		Raw       string `json:"raw,omitempty"`
		RawBase64 []byte `json:"raw_base64,omitempty"`
	}{millisUTC(d.EventTime), millisUTC(d.ReceivedAt), d, rawText(d.Raw), rawBinary(d.Raw)})
	if err != nil {
		return dst, err
	}
	return append(append(dst, b...), '\n'), nil
}

func rawText(b []byte) string {
	if utf8.Valid(b) {
		return string(b)
	}
	return ""
}

func rawBinary(b []byte) []byte {
	if utf8.Valid(b) {
		return nil
	}
	return b
}

// bundleWriter creates the bundle's files and records their hashes as
// they are written.
type bundleWriter struct {
	dir     string
	files   []FileEntry
	created []string      // every path made, for abort
	open    []*hashedFile // not closed yet, for abort
}

type hashedFile struct {
	f    *os.File
	buf  *bufio.Writer
	h    hashWriter
	name string
	w    *bundleWriter
}

type hashWriter struct {
	sha hash.Hash
	n   int64
}

func (h *hashWriter) Write(p []byte) (int, error) {
	h.n += int64(len(p))
	return h.sha.Write(p)
}

func (hf *hashedFile) Write(p []byte) (int, error) { return hf.buf.Write(p) }

func (hf *hashedFile) Close() error {
	if err := hf.buf.Flush(); err != nil {
		return err
	}
	if err := hf.f.Sync(); err != nil {
		return err
	}
	if err := hf.f.Close(); err != nil {
		return err
	}
	hf.w.open = slices.DeleteFunc(hf.w.open, func(o *hashedFile) bool { return o == hf })
	hf.w.files = append(hf.w.files, FileEntry{Name: hf.name, SHA256: hex.EncodeToString(hf.h.sha.Sum(nil)), Bytes: hf.h.n})
	return nil
}

func (w *bundleWriter) create(name string) (*hashedFile, error) {
	path := filepath.Join(w.dir, name)
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
	if err != nil {
		return nil, err
	}
	w.created = append(w.created, path)
	hf := &hashedFile{f: f, name: name, w: w, h: hashWriter{sha: sha256.New()}}
	hf.buf = bufio.NewWriterSize(io.MultiWriter(f, &hf.h), 256<<10)
	w.open = append(w.open, hf)
	return hf, nil
}

// plainFile writes a file the manifest does not list: the manifest and
// its signature.
func (w *bundleWriter) plainFile(name string, data []byte) error {
	path := filepath.Join(w.dir, name)
	w.created = append(w.created, path)
	return os.WriteFile(path, data, 0o644)
}

// abort closes what is still open and removes every file made, after a
// failed export.
func (w *bundleWriter) abort() {
	for _, hf := range w.open {
		hf.f.Close()
	}
	w.open = nil
	for _, p := range w.created {
		os.Remove(p)
	}
}

// gzipWriter closes the gzip stream, then the file beneath it.
type gzipWriter struct {
	*gzip.Writer
	file *hashedFile
}

func (g gzipWriter) Close() error {
	if err := g.Writer.Close(); err != nil {
		return err
	}
	return g.file.Close()
}

// gzipFile has no name or time in its header, so equal content gives
// equal bytes.
func (w *bundleWriter) gzipFile(name string) (gzipWriter, error) {
	f, err := w.create(name)
	if err != nil {
		return gzipWriter{}, err
	}
	zw, err := gzip.NewWriterLevel(f, gzip.DefaultCompression)
	return gzipWriter{zw, f}, err
}

func (w *bundleWriter) write(name string, fill func(io.Writer) error) error {
	f, err := w.create(name)
	if err != nil {
		return err
	}
	if err := fill(f); err != nil {
		return err // abort closes it
	}
	return f.Close()
}

func (w *bundleWriter) json(name string, v any) error {
	return w.write(name, func(wr io.Writer) error {
		b, err := json.MarshalIndent(v, "", "  ")
		if err != nil {
			return err
		}
		_, err = wr.Write(append(b, '\n'))
		return err
	})
}

// packTarGz writes the bundle directory as one .tar.gz, files in name
// order under a directory named after the archive.
func packTarGz(dir, out string, stamp time.Time) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	tmp := out + ".partial"
	f, err := os.Create(tmp)
	if err != nil {
		return err
	}
	defer os.Remove(tmp)
	defer f.Close() // on the error paths; closed and synced below otherwise
	zw := gzip.NewWriter(f)
	tw := tar.NewWriter(zw)
	base := strings.TrimSuffix(filepath.Base(out), ".tar.gz")
	for _, e := range entries {
		fi, err := e.Info()
		if err != nil {
			return err
		}
		hdr := &tar.Header{Name: base + "/" + e.Name(), Mode: 0o644, Size: fi.Size(), ModTime: stamp.UTC().Truncate(time.Second), Format: tar.FormatPAX}
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		src, err := os.Open(filepath.Join(dir, e.Name()))
		if err != nil {
			return err
		}
		_, err = io.Copy(tw, src)
		src.Close()
		if err != nil {
			return err
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	if err := zw.Close(); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	// A link, unlike a rename, fails when out appeared meanwhile.
	if err := os.Link(tmp, out); err != nil {
		return err
	}
	return nil
}
