package evidence

import (
	"strings"
	"testing"
)

// FuzzReadScenarioChecks feeds arbitrary text as verify-egress.sh output:
// it is an error or checks with the required fields, never a panic.
func FuzzReadScenarioChecks(f *testing.F) {
	f.Add(`{"check":"shadow_model_blocked","destination":"https://api.openai.com/","mode":"enforce","expected":"blocked","observed":"blocked","rule":"deny-shadow-models","attempts":1,"pass":true,"time":"2026-11-26T12:05:49Z","source":"10.20.2.10"}`)
	f.Add("+ curl -s https://x\n{}\n")
	f.Add(`{"check":"x","destination":"8.8.8.8:53","rule":"r"}`)
	f.Fuzz(func(t *testing.T, in string) {
		checks, err := ReadScenarioChecks(strings.NewReader(in))
		if err != nil {
			return
		}
		for _, c := range checks {
			if c.Check == "" || c.Destination == "" || c.Rule == "" {
				t.Fatalf("accepted an incomplete check %+v", c)
			}
			_ = destinationHost(c.Destination)
		}
	})
}

// FuzzBundleDocuments feeds arbitrary bytes as a bundle's integrity.json
// and public key, the parts verify reads from an untrusted bundle.
func FuzzBundleDocuments(f *testing.F) {
	f.Add([]byte(`{"chains":[{"chain_id":"c","first_seq":1,"last_seq":2,"verified":true,"records":[{"seq":1,"content_sha256":"00","prev_sha256":"00","chain_sha256":"00"}]}]}`))
	f.Add([]byte("-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEAsgyBudrhO9eGC4E+zT/lrlacb4G63ajziFLqQgIxoF4=\n-----END PUBLIC KEY-----\n"))
	f.Add([]byte(`{"chains":[{"records":[{},{}]}],"unchained_batches":["ab"]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		rep := &VerifyReport{}
		verifyIntegrity(rep, b)
		if k, err := ParsePublicKey(b); err == nil && len(k) != 32 {
			t.Fatalf("a %d-byte Ed25519 public key", len(k))
		}
	})
}
