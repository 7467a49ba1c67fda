package evidence

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
)

// VerifyReport is what VerifyBundle found; Problems[0] is the first
// mismatch.
type VerifyReport struct {
	Manifest Manifest
	Files    int
	Chains   int
	Batches  int
	Problems []string
}

// OK reports whether the bundle verified.
func (r *VerifyReport) OK() bool { return len(r.Problems) == 0 }

func (r *VerifyReport) fail(format string, a ...any) {
	r.Problems = append(r.Problems, fmt.Sprintf(format, a...))
}

// small are the files verification reads whole; the rest are only hashed.
var small = map[string]bool{ManifestFile: true, SignatureFile: true, IntegrityFile: true, PublicKeyFile: true}

type seenFile struct {
	sha   string
	bytes int64
}

// VerifyBundle checks a bundle (directory or .tar.gz) offline: the
// manifest's signature (with pub, or else the key the manifest names),
// every file's SHA-256 and size, no file added or missing, and the ingest
// hash chain in integrity.json: verified at export, batches contiguous,
// each chain hash SHA-256(prev || content) and linked to the batch before.
func VerifyBundle(bundle string, pub ed25519.PublicKey) (*VerifyReport, error) {
	files := map[string]seenFile{}
	content := map[string][]byte{}
	visit := func(name string, r io.Reader) error {
		h := sha256.New()
		var keep bytes.Buffer
		w := io.Writer(h)
		if small[name] {
			w = io.MultiWriter(h, &keep)
		}
		n, err := io.Copy(w, r)
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		files[name] = seenFile{hex.EncodeToString(h.Sum(nil)), n}
		if small[name] {
			content[name] = keep.Bytes()
		}
		return nil
	}
	if err := walkBundle(bundle, visit); err != nil {
		return nil, err
	}
	rep := &VerifyReport{}
	mb, ok := content[ManifestFile]
	if !ok {
		rep.fail("%s is missing", ManifestFile)
		return rep, nil
	}
	if err := json.Unmarshal(mb, &rep.Manifest); err != nil {
		rep.fail("%s: %v", ManifestFile, err)
		return rep, nil
	}
	m := rep.Manifest
	if m.Format != BundleFormat {
		rep.fail("%s: format %q, want %q", ManifestFile, m.Format, BundleFormat)
	}
	embedded, err := base64.StdEncoding.DecodeString(m.PublicKey)
	if err != nil || len(embedded) != ed25519.PublicKeySize {
		rep.fail("%s: public_key is not an Ed25519 key", ManifestFile)
	}
	key := pub
	if key == nil {
		key = ed25519.PublicKey(embedded)
	} else if !bytes.Equal(key, embedded) {
		rep.fail("signature: the bundle names another signing key than the one given")
	}
	sig, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(content[SignatureFile])))
	switch {
	case content[SignatureFile] == nil:
		rep.fail("%s is missing", SignatureFile)
	case err != nil || len(sig) != ed25519.SignatureSize:
		rep.fail("%s: not a base64 Ed25519 signature", SignatureFile)
	case len(key) != ed25519.PublicKeySize || !ed25519.Verify(key, mb, sig):
		rep.fail("signature: %s does not verify against the signing key", ManifestFile)
	}
	listed := map[string]bool{ManifestFile: true, SignatureFile: true}
	for _, f := range m.Files {
		listed[f.Name] = true
		got, ok := files[f.Name]
		switch {
		case !ok:
			rep.fail("%s is listed in the manifest but missing", f.Name)
		case got.sha != f.SHA256 || got.bytes != f.Bytes:
			rep.fail("%s: SHA-256 %s (%d bytes), manifest says %s (%d bytes)", f.Name, got.sha, got.bytes, f.SHA256, f.Bytes)
		}
		rep.Files++
	}
	var extra []string
	for name := range files {
		if !listed[name] {
			extra = append(extra, name)
		}
	}
	slices.Sort(extra)
	for _, name := range extra {
		rep.fail("%s is in the bundle but not in the manifest", name)
	}
	if ib, ok := content[IntegrityFile]; ok {
		verifyIntegrity(rep, ib)
	} else {
		rep.fail("%s is missing", IntegrityFile)
	}
	if !m.ChainsVerified {
		rep.fail("%s: the ingest hash chain did not verify at export", ManifestFile)
	}
	return rep, nil
}

func verifyIntegrity(rep *VerifyReport, b []byte) {
	var doc integrityDoc
	if err := json.Unmarshal(b, &doc); err != nil {
		rep.fail("%s: %v", IntegrityFile, err)
		return
	}
	for _, c := range doc.Chains {
		rep.Chains++
		if !c.Verified {
			first := "no reason given"
			if len(c.Problems) > 0 {
				first = c.Problems[0]
			}
			rep.fail("%s: chain %s did not verify at export: %s", IntegrityFile, c.ChainID, first)
		}
		for i, r := range c.Records {
			rep.Batches++
			content, err1 := hex.DecodeString(r.ContentSHA)
			prev, err2 := hex.DecodeString(r.PrevSHA)
			linked, err3 := hex.DecodeString(r.ChainSHA)
			if err := errors.Join(err1, err2, err3); err != nil || len(content) != 32 || len(prev) != 32 {
				rep.fail("%s: chain %s batch %d: bad hash", IntegrityFile, c.ChainID, r.Seq)
				continue
			}
			if sum := sha256.Sum256(append(prev, content...)); !bytes.Equal(sum[:], linked) {
				rep.fail("%s: chain %s batch %d: chain_sha256 is not SHA-256(prev_sha256 || content_sha256)", IntegrityFile, c.ChainID, r.Seq)
			}
			if i == 0 {
				if r.Seq != c.FirstSeq {
					rep.fail("%s: chain %s starts at batch %d, not %d", IntegrityFile, c.ChainID, r.Seq, c.FirstSeq)
				}
				continue
			}
			before := c.Records[i-1]
			if r.Seq != before.Seq+1 {
				rep.fail("%s: chain %s: batches %d..%d are missing", IntegrityFile, c.ChainID, before.Seq+1, r.Seq-1)
			}
			if r.PrevSHA != before.ChainSHA {
				rep.fail("%s: chain %s: batch %d does not link to batch %d", IntegrityFile, c.ChainID, r.Seq, before.Seq)
			}
		}
		if n := len(c.Records); n == 0 || c.Records[n-1].Seq != c.LastSeq {
			rep.fail("%s: chain %s does not reach its last batch %d", IntegrityFile, c.ChainID, c.LastSeq)
		}
	}
	if n := len(doc.Unchained); n > 0 {
		rep.fail("%s: %d batches hold exported rows but are in no chain (removed from ingest_batches?), first %s", IntegrityFile, n, doc.Unchained[0])
	}
}

// walkBundle calls visit for each file of a bundle directory or .tar.gz.
func walkBundle(bundle string, visit func(name string, r io.Reader) error) error {
	fi, err := os.Stat(bundle)
	if err != nil {
		return err
	}
	if fi.IsDir() {
		entries, err := os.ReadDir(bundle)
		if err != nil {
			return err
		}
		for _, e := range entries {
			if e.IsDir() {
				return fmt.Errorf("%s: unexpected directory %s", bundle, e.Name())
			}
			f, err := os.Open(filepath.Join(bundle, e.Name()))
			if err != nil {
				return err
			}
			err = visit(e.Name(), f)
			f.Close()
			if err != nil {
				return err
			}
		}
		return nil
	}
	f, err := os.Open(bundle)
	if err != nil {
		return err
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return fmt.Errorf("%s: %w", bundle, err)
	}
	tr := tar.NewReader(zr)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("%s: %w", bundle, err)
		}
		if hdr.Typeflag != tar.TypeReg {
			continue
		}
		if err := visit(path.Base(hdr.Name), tr); err != nil {
			return err
		}
	}
}
