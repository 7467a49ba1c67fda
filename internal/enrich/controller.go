package enrich

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/openclaw-vca/openclaw-vca/internal/config"
)

// ControllerConfig enables polling the Aviatrix controller (v2.5 API) for
// what Terraform cannot know: the UUIDs the controller assigned, and rules
// and groups other teams manage on a shared controller.
type ControllerConfig struct {
	URL                string          `yaml:"url"` // https://controller.example.com
	Username           string          `yaml:"username"`
	Password           string          `yaml:"password"` // prefer password_file or VCA_CATALOG_CONTROLLER_PASSWORD
	PasswordFile       string          `yaml:"password_file"`
	CAFile             string          `yaml:"ca_file"`
	InsecureSkipVerify bool            `yaml:"insecure_skip_verify"`
	PollInterval       config.Duration `yaml:"poll_interval"`
	Timeout            config.Duration `yaml:"timeout"`
}

func (c *ControllerConfig) SetDefaults() {
	if c.PollInterval == 0 {
		c.PollInterval = config.Duration(5 * time.Minute)
	}
	if c.Timeout == 0 {
		c.Timeout = config.Duration(15 * time.Second)
	}
}

func (c *ControllerConfig) Validate() error {
	u, err := url.Parse(c.URL)
	switch {
	case err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http"):
		return config.FieldError("url", fmt.Errorf("%q is not an http(s) URL", c.URL))
	case c.Username == "":
		return config.FieldError("username", errors.New("is required with a controller url"))
	case c.Password == "" && c.PasswordFile == "":
		return config.FieldError("password_file", errors.New("password or password_file is required"))
	case c.PollInterval < config.Duration(10*time.Second):
		return config.FieldError("poll_interval", errors.New("must be at least 10s"))
	case c.Timeout < config.Duration(time.Second):
		return config.FieldError("timeout", errors.New("must be at least 1s"))
	}
	return nil
}

// Controller reads policies and groups from the controller's API.
type Controller struct {
	cfg    ControllerConfig
	base   string
	client *http.Client

	mu  sync.Mutex
	cid string
}

// ErrLogin is a refused login: wrong credentials or a locked account.
var ErrLogin = errors.New("controller login refused")

// NewController prepares a client; nothing is sent until Fetch.
func NewController(cfg ControllerConfig) (*Controller, error) {
	tc := &tls.Config{InsecureSkipVerify: cfg.InsecureSkipVerify, MinVersion: tls.VersionTLS12}
	if cfg.CAFile != "" {
		pem, err := os.ReadFile(cfg.CAFile)
		if err != nil {
			return nil, config.FieldError("ca_file", err)
		}
		tc.RootCAs = x509.NewCertPool()
		if !tc.RootCAs.AppendCertsFromPEM(pem) {
			return nil, config.FieldError("ca_file", errors.New("no PEM certificate in it"))
		}
	}
	if cfg.PasswordFile != "" {
		b, err := os.ReadFile(cfg.PasswordFile)
		if err != nil {
			return nil, config.FieldError("password_file", err)
		}
		cfg.Password = strings.TrimSpace(string(b))
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = tc
	return &Controller{cfg: cfg, base: strings.TrimSuffix(cfg.URL, "/"),
		client: &http.Client{Transport: tr, Timeout: time.Duration(cfg.Timeout)}}, nil
}

// Snapshot is what the controller knows, reduced to catalog terms.
type Snapshot struct {
	Rules       []Rule
	SmartGroups []SmartGroup
	WebGroups   []WebGroup
}

type controllerPolicy struct {
	UUID       string   `json:"uuid"`
	Name       string   `json:"name"`
	Action     string   `json:"action"`
	Priority   uint32   `json:"priority"`
	Protocol   string   `json:"protocol"`
	SrcADs     []string `json:"src_ads"`
	DstADs     []string `json:"dst_ads"`
	WebFilters []string `json:"web_filters"`
	PortRanges []struct {
		Lo int `json:"lo"`
		Hi int `json:"hi"`
	} `json:"port_ranges"`
	Logging bool `json:"logging"`
	Watch   bool `json:"watch"`
}

type controllerAppDomain struct {
	UUID     string `json:"uuid"`
	Name     string `json:"name"`
	Selector struct {
		Expressions []map[string]any `json:"match_expressions"`
	} `json:"selector"`
}

// Fetch logs in when needed and reads the policy list and the app
// domains (SmartGroups and WebGroups). An expired session is renewed once.
func (c *Controller) Fetch(ctx context.Context) (*Snapshot, error) {
	var pl struct {
		Policies []controllerPolicy `json:"policies"`
	}
	if err := c.get(ctx, "microseg/policy-list", &pl); err != nil {
		return nil, err
	}
	var ad struct {
		AppDomains []controllerAppDomain `json:"app_domains"`
	}
	if err := c.get(ctx, "app-domains", &ad); err != nil {
		return nil, err
	}
	return snapshotOf(pl.Policies, ad.AppDomains), nil
}

func snapshotOf(policies []controllerPolicy, domains []controllerAppDomain) *Snapshot {
	s := &Snapshot{}
	groupName := map[string]string{}
	for k, v := range SystemObjects {
		groupName[k] = v
	}
	for _, d := range domains {
		groupName[strings.ToLower(d.UUID)] = d.Name
		var sg SmartGroup
		var wg WebGroup
		for _, e := range d.Selector.Expressions {
			if v, ok := e["snifilter"].(string); ok && v != "" {
				wg.Domains = append(wg.Domains, strings.ToLower(v))
			}
			if v, ok := e["cidr"].(string); ok && v != "" {
				if p, err := netip.ParsePrefix(v); err == nil {
					sg.CIDRs = append(sg.CIDRs, p.String())
				} else if a, err := netip.ParseAddr(v); err == nil {
					sg.MemberIPs = append(sg.MemberIPs, a.String())
				}
			}
			if tags, ok := e["tags"].(map[string]any); ok {
				sg.Tags = map[string]string{}
				for k, v := range tags {
					sg.Tags[k] = fmt.Sprint(v)
				}
			}
		}
		if len(wg.Domains) > 0 {
			wg.Name, wg.UUID = d.Name, strings.ToLower(d.UUID)
			s.WebGroups = append(s.WebGroups, wg)
		} else {
			sg.Name, sg.UUID = d.Name, strings.ToLower(d.UUID)
			s.SmartGroups = append(s.SmartGroups, sg)
		}
	}
	names := func(uuids []string) []string {
		var out []string
		for _, u := range uuids {
			if n, ok := groupName[strings.ToLower(u)]; ok {
				out = append(out, n)
			}
		}
		return out
	}
	for _, p := range policies {
		r := Rule{Name: p.Name, UUID: strings.ToLower(p.UUID), Priority: p.Priority, Action: strings.ToUpper(p.Action),
			Protocol: strings.ToUpper(p.Protocol), SrcSmartGroups: names(p.SrcADs), DstSmartGroups: names(p.DstADs),
			WebGroups: names(p.WebFilters), Logging: p.Logging, Scenario: "other"}
		if r.Protocol == "" {
			r.Protocol = "ANY"
		}
		enforced := !p.Watch
		r.Enforced = &enforced
		for _, pr := range p.PortRanges {
			if pr.Hi > pr.Lo {
				r.Ports = append(r.Ports, fmt.Sprintf("%d:%d", pr.Lo, pr.Hi))
			} else {
				r.Ports = append(r.Ports, fmt.Sprint(pr.Lo))
			}
		}
		s.Rules = append(s.Rules, r)
	}
	sort.SliceStable(s.Rules, func(i, j int) bool { return s.Rules[i].Priority < s.Rules[j].Priority })
	return s
}

// errExpired marks a response that says the session is no longer valid.
var errExpired = errors.New("controller session expired")

func (c *Controller) get(ctx context.Context, path string, into any) error {
	for attempt := 0; ; attempt++ {
		cid, err := c.session(ctx)
		if err != nil {
			return err
		}
		err = c.getOnce(ctx, cid, path, into)
		if errors.Is(err, errExpired) && attempt == 0 {
			c.mu.Lock()
			if c.cid == cid {
				c.cid = ""
			}
			c.mu.Unlock()
			continue
		}
		return err
	}
}

func (c *Controller) getOnce(ctx context.Context, cid, path string, into any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+"/v2.5/api/"+path, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "cid "+cid)
	resp, err := c.client.Do(req)
	if err != nil {
		return fmt.Errorf("controller %s: %w", path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return fmt.Errorf("controller %s: %w", path, err)
	}
	if resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden {
		return fmt.Errorf("controller %s: %s: %w", path, resp.Status, errExpired)
	}
	var envelope struct {
		Return  *bool           `json:"return"`
		Reason  string          `json:"reason"`
		Results json.RawMessage `json:"results"`
	}
	if json.Unmarshal(body, &envelope) == nil && envelope.Return != nil && !*envelope.Return {
		if strings.Contains(strings.ToLower(envelope.Reason), "cid") {
			return fmt.Errorf("controller %s: %s: %w", path, envelope.Reason, errExpired)
		}
		return fmt.Errorf("controller %s: %s", path, envelope.Reason)
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("controller %s: %s", path, resp.Status)
	}
	if len(envelope.Results) > 0 && envelope.Results[0] == '{' {
		body = envelope.Results // some versions wrap the answer in "results"
	}
	if err := json.Unmarshal(body, into); err != nil {
		return fmt.Errorf("controller %s: unexpected answer: %w", path, err)
	}
	return nil
}

// session returns the current CID, logging in when there is none.
func (c *Controller) session(ctx context.Context) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cid != "" {
		return c.cid, nil
	}
	form := url.Values{"action": {"login"}, "username": {c.cfg.Username}, "password": {c.cfg.Password}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+"/v2/api", strings.NewReader(form.Encode()))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := c.client.Do(req)
	if err != nil {
		return "", fmt.Errorf("controller login: %w", err)
	}
	defer resp.Body.Close()
	var ans struct {
		Return bool   `json:"return"`
		Reason string `json:"reason"`
		CID    string `json:"CID"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&ans); err != nil {
		return "", fmt.Errorf("controller login: %s, unexpected answer: %w", resp.Status, err)
	}
	if !ans.Return || ans.CID == "" {
		return "", fmt.Errorf("%w: %s", ErrLogin, ans.Reason)
	}
	c.cid = ans.CID
	return c.cid, nil
}

// Merge returns the file catalog completed with what the controller
// knows: UUIDs for rules and groups matched by name, and the rules and
// groups only the controller has (other teams' on a shared controller).
// The file's names, order, scenarios and tags win.
func Merge(file *Catalog, ctl *Snapshot) *Catalog {
	if ctl == nil {
		return file
	}
	out := *file
	out.Rules = append([]Rule(nil), file.Rules...)
	out.SmartGroups = append([]SmartGroup(nil), file.SmartGroups...)
	out.WebGroups = append([]WebGroup(nil), file.WebGroups...)
	out.Version = file.Version + "+controller"

	usedUUID := map[string]bool{}
	for _, r := range out.Rules {
		if r.UUID != "" {
			usedUUID[strings.ToLower(r.UUID)] = true
		}
	}
	byName := map[string]*Rule{}
	for i := range out.Rules {
		byName[out.Rules[i].Name] = &out.Rules[i]
	}
	var extra []Rule
	for _, cr := range ctl.Rules {
		if _, sys := SystemObjects[cr.UUID]; sys || cr.UUID == "" {
			continue
		}
		if r := byName[cr.Name]; r != nil {
			if r.UUID == "" && !usedUUID[cr.UUID] {
				r.UUID = cr.UUID
				usedUUID[cr.UUID] = true
			}
			continue
		}
		if !usedUUID[cr.UUID] {
			usedUUID[cr.UUID] = true
			extra = append(extra, cr)
		}
	}
	// Rules only the controller has keep their own priorities; the file's
	// order stays the evaluation order of its rules.
	out.Rules = append(out.Rules, extra...)
	sort.SliceStable(out.Rules, func(i, j int) bool { return out.Rules[i].Priority < out.Rules[j].Priority })

	out.SmartGroups = mergeGroups(out.SmartGroups, ctl.SmartGroups, func(g *SmartGroup) (string, *string) { return g.Name, &g.UUID })
	out.WebGroups = mergeGroups(out.WebGroups, ctl.WebGroups, func(g *WebGroup) (string, *string) { return g.Name, &g.UUID })
	return &out
}

// mergeGroups gives own groups the controller's UUID when they have none,
// and adds the groups only the controller has.
func mergeGroups[G any](own, theirs []G, key func(*G) (name string, uuid *string)) []G {
	byName := map[string]int{}
	for i := range own {
		name, _ := key(&own[i])
		byName[name] = i
	}
	for i := range theirs {
		name, uuid := key(&theirs[i])
		if j, ok := byName[name]; ok {
			if _, u := key(&own[j]); *u == "" {
				*u = *uuid
			}
		} else if !isSystemGroup(name) {
			own = append(own, theirs[i])
		}
	}
	return own
}
