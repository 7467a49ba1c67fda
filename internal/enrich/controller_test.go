package enrich

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/rs/zerolog"

	"github.com/openclaw-vca/openclaw-vca/internal/config"
	"github.com/openclaw-vca/openclaw-vca/internal/parse"
)

// fakeController serves the recorded answers. expireFirst makes the first
// API call answer "CID expired"; down makes every API call fail; delay
// holds every answer.
type fakeController struct {
	logins, calls atomic.Int32
	refuse        bool
	expireFirst   bool
	down          atomic.Bool
	delay         time.Duration
}

func fixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata/controller", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func (f *fakeController) start(t *testing.T) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/v2/api" {
			f.logins.Add(1)
		}
		time.Sleep(f.delay)
		switch {
		case r.URL.Path == "/v2/api" && r.Method == http.MethodPost:
			r.ParseForm()
			if f.refuse || r.Form.Get("action") != "login" || r.Form.Get("username") != "admin" || r.Form.Get("password") != "s3cret" {
				w.Write(fixture(t, "login-refused.json"))
				return
			}
			w.Write(fixture(t, "login-ok.json"))
		case strings.HasPrefix(r.URL.Path, "/v2.5/api/"):
			n := f.calls.Add(1)
			if r.Header.Get("Authorization") != "cid Gx7Kp2mQ9vT4" || (f.expireFirst && n == 1) {
				w.Write(fixture(t, "cid-expired.json"))
				return
			}
			if f.down.Load() {
				http.Error(w, "upstream unavailable", http.StatusBadGateway)
				return
			}
			switch strings.TrimPrefix(r.URL.Path, "/v2.5/api/") {
			case "microseg/policy-list":
				w.Write(fixture(t, "policy-list.json"))
			case "app-domains":
				w.Write(fixture(t, "app-domains.json"))
			default:
				http.NotFound(w, r)
			}
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

func controllerConfig(url string) ControllerConfig {
	c := ControllerConfig{URL: url, Username: "admin", Password: "s3cret"}
	c.SetDefaults()
	return c
}

func TestControllerFetch(t *testing.T) {
	for _, tc := range []struct {
		name       string
		fake       *fakeController
		timeout    time.Duration
		wantErr    string
		wantLogins int32
	}{
		{name: "login, policy list and app domains", fake: &fakeController{}, wantLogins: 1},
		{name: "expired CID: one new login, then the answer", fake: &fakeController{expireFirst: true}, wantLogins: 2},
		{name: "login refused", fake: &fakeController{refuse: true}, wantErr: "controller login refused: Invalid username or password.", wantLogins: 1},
		{name: "controller too slow", fake: &fakeController{delay: 300 * time.Millisecond}, timeout: 100 * time.Millisecond,
			wantErr: "Client.Timeout exceeded", wantLogins: 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := tc.fake.start(t)
			cfg := controllerConfig(srv.URL)
			if tc.timeout > 0 {
				cfg.Timeout = config.Duration(tc.timeout)
			}
			c, err := NewController(cfg)
			if err != nil {
				t.Fatal(err)
			}
			snap, err := c.Fetch(context.Background())
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("got %v, want %q", err, tc.wantErr)
				}
				if tc.fake.refuse && !errors.Is(err, ErrLogin) {
					t.Fatalf("%v is not ErrLogin", err)
				}
			} else {
				if err != nil {
					t.Fatal(err)
				}
				if len(snap.Rules) != 4 || len(snap.SmartGroups) != 2 || len(snap.WebGroups) != 3 {
					t.Fatalf("snapshot: %d rules, %d SmartGroups, %d WebGroups", len(snap.Rules), len(snap.SmartGroups), len(snap.WebGroups))
				}
				jira := snap.Rules[2]
				if jira.Name != "team-b-allow-jira" || *jira.Enforced || !slices.Equal(jira.Ports, []string{"443", "8443:8444"}) ||
					!slices.Equal(jira.SrcSmartGroups, []string{"team-b-support-agents"}) || !slices.Equal(jira.WebGroups, []string{"team-b-jira"}) {
					t.Fatalf("controller-only rule read as %+v", jira)
				}
				if pkg := snap.Rules[1]; !slices.Equal(pkg.DstSmartGroups, []string{"Public Internet"}) {
					t.Fatalf("system group not named: %+v", pkg)
				}
				if sg := snap.SmartGroups[1]; !slices.Equal(sg.CIDRs, []string{"10.40.0.0/16"}) || !slices.Equal(sg.MemberIPs, []string{"10.41.3.9"}) {
					t.Fatalf("CIDR selectors read as %+v", sg)
				}
			}
			if n := tc.fake.logins.Load(); n != tc.wantLogins {
				t.Fatalf("%d logins, want %d", n, tc.wantLogins)
			}
		})
	}
}

// TestControllerMergeAndPollFailure: the controller completes the file
// catalog, and a failed poll keeps what is known.
func TestControllerMergeAndPollFailure(t *testing.T) {
	fake := &fakeController{}
	srv := fake.start(t)
	cc := controllerConfig(srv.URL)
	cfg := Config{File: "testdata/catalog-coding.json", Controller: &cc}
	cfg.SetDefaults()
	reg := prometheus.NewRegistry()
	e, err := New(cfg, reg, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	var loads []string
	e.OnLoad(func(ix *Index) { loads = append(loads, ix.Version()) })
	if err := e.PollController(context.Background()); err != nil {
		t.Fatal(err)
	}
	ix := e.Current()
	if ix.Version() != "coding-2026-11-26-a+controller" || !slices.Equal(loads, []string{"coding-2026-11-26-a", ix.Version()}) {
		t.Fatalf("version %s, loads %v", ix.Version(), loads)
	}
	cases := []struct {
		ev                 *parse.Event
		rule, scenario, wg string
	}{
		// allow-packages has no UUID in the file: the controller supplies it.
		{l7("44444444-0000-4000-8000-000000000060", "10.20.1.15", "registry.npmjs.org", "Permit", true), "allow-packages", "packages", "wg-package-registries"},
		// Another team's rule and groups, known only to the controller.
		{l7("55555555-0000-4000-8000-000000000300", "10.40.7.7", "team-b.atlassian.net", "Permit", true), "team-b-allow-jira", "other", "team-b-jira"},
		// The file's names and scenarios win over the controller's.
		{l7(ruleShadow, "10.20.1.15", "api.openai.com", "Deny", true), "vca-openclaw-shadow-model-deny", "shadow_model", "wg-unapproved-model-providers"},
	}
	for _, c := range cases {
		ix.Enrich(c.ev, &Outcome{})
		x := c.ev.Enriched
		if x.RuleName != c.rule || x.Scenario != c.scenario || x.WebGroup != c.wg {
			t.Errorf("%s: got %q %q %q", c.rule, x.RuleName, x.Scenario, x.WebGroup)
		}
	}
	if got := ix.addrs.lookup(netip.MustParseAddr("10.40.7.7")); !slices.Contains(got, "team-b-support-agents") {
		t.Errorf("controller SmartGroup CIDR not indexed: %v", got)
	}

	fake.down.Store(true)
	if err := e.PollController(context.Background()); err == nil {
		t.Fatal("poll against a failing controller succeeded")
	}
	if e.Current() != ix || testutil.ToFloat64(e.polls.WithLabelValues("error")) != 1 {
		t.Fatal("a failed poll changed the catalog in use or was not counted")
	}
	// The same answer again does not rebuild.
	fake.down.Store(false)
	if err := e.PollController(context.Background()); err != nil || e.Current() != ix {
		t.Fatalf("an unchanged answer rebuilt the catalog: %v", err)
	}
}
