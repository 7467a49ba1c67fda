package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/openclaw-vca/openclaw-vca/internal/collector"
	"github.com/openclaw-vca/openclaw-vca/internal/config"
	"github.com/openclaw-vca/openclaw-vca/internal/enrich"
	"github.com/openclaw-vca/openclaw-vca/internal/evidence"
	"github.com/openclaw-vca/openclaw-vca/internal/sink/clickhouse"
)

// storeFlags locate the collector's ClickHouse: the sinks.clickhouse of a
// collector configuration, or an address and database.
type storeFlags struct {
	config, addr, database, user, passwordFile string
}

func (s *storeFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&s.config, "config", "", "collector configuration whose sinks.clickhouse to read")
	fs.StringVar(&s.addr, "clickhouse", "", "ClickHouse native address host:port (instead of --config)")
	fs.StringVar(&s.database, "database", "vca", "database, with --clickhouse")
	fs.StringVar(&s.user, "user", "", "ClickHouse user, with --clickhouse")
	fs.StringVar(&s.passwordFile, "password-file", "", "file holding the ClickHouse password, with --clickhouse")
}

func (s *storeFlags) open(ctx context.Context) (*evidence.Source, func(), error) {
	var cfg clickhouse.Config
	switch {
	case s.config != "":
		var c collector.Config
		if err := config.LoadFile(s.config, os.Environ(), &c); err != nil {
			return nil, nil, fmt.Errorf("configuration: %w", err)
		}
		if c.Sinks.ClickHouse == nil {
			return nil, nil, fmt.Errorf("%s: sinks.clickhouse is not configured", s.config)
		}
		cfg = *c.Sinks.ClickHouse
	case s.addr != "":
		cfg = clickhouse.Config{Addresses: []string{s.addr}, Database: s.database, Username: s.user, PasswordFile: s.passwordFile}
		cfg.SetDefaults()
	default:
		return nil, nil, errors.New("name the ClickHouse with --config FILE or --clickhouse host:port")
	}
	conn, err := clickhouse.Open(ctx, cfg)
	if err != nil {
		return nil, nil, err
	}
	src, err := evidence.NewSource(conn, cfg.Database)
	if err != nil {
		conn.Close()
		return nil, nil, err
	}
	return src, func() { conn.Close() }, nil
}

// rangeFlags select decisions.
type rangeFlags struct {
	from, to, last                 string
	agent, rule, scenario, gateway string
}

func (r *rangeFlags) register(fs *flag.FlagSet, narrow bool) {
	fs.StringVar(&r.from, "from", "", "start of the range, RFC 3339 (inclusive)")
	fs.StringVar(&r.to, "to", "", "end of the range, RFC 3339 (exclusive; default now)")
	fs.StringVar(&r.last, "last", "", "the range ending now, e.g. 24h (instead of --from)")
	fs.StringVar(&r.agent, "agent", "", "only this agent SmartGroup")
	fs.StringVar(&r.gateway, "gateway", "", "only this gateway")
	if narrow {
		fs.StringVar(&r.rule, "rule", "", "only this rule (name or UUID)")
		fs.StringVar(&r.scenario, "scenario", "", "only this scenario (shadow_model, dns_exfiltration, ...)")
	}
}

func (r *rangeFlags) filter(now time.Time) (evidence.Filter, error) {
	f := evidence.Filter{To: now.UTC().Truncate(time.Second), Agent: r.agent, Rule: r.rule, Scenario: r.scenario, Gateway: r.gateway}
	var err error
	if r.to != "" {
		if f.To, err = time.Parse(time.RFC3339, r.to); err != nil {
			return f, fmt.Errorf("--to: %w", err)
		}
	}
	switch {
	case r.from != "" && r.last != "":
		return f, errors.New("give --from or --last, not both")
	case r.from != "":
		if f.From, err = time.Parse(time.RFC3339, r.from); err != nil {
			return f, fmt.Errorf("--from: %w", err)
		}
	case r.last != "":
		d, err := time.ParseDuration(r.last)
		if err != nil || d <= 0 {
			return f, fmt.Errorf("--last %q: want a positive duration such as 24h", r.last)
		}
		f.From = f.To.Add(-d)
	default:
		return f, errors.New("give the range with --from (and --to) or --last")
	}
	return f, nil
}

func evidenceCmd(args []string, out io.Writer) error {
	if len(args) == 0 {
		return errors.New("usage: vca-collector evidence export|verify|keygen ...")
	}
	switch args[0] {
	case "keygen":
		fs := flag.NewFlagSet("evidence keygen", flag.ExitOnError)
		path := fs.String("out", "evidence-signing-key.pem", "where to write the private key (mode 0600)")
		fs.Parse(args[1:])
		pub, err := evidence.GenerateKey(*path)
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "private key: %s\npublic key (give it to the auditor):\n%s", *path, evidence.PublicKeyPEM(pub))
		return nil
	case "export":
		return exportCmd(args[1:], out)
	case "verify":
		fs := flag.NewFlagSet("evidence verify", flag.ExitOnError)
		pubPath := fs.String("pubkey", "", "the signer's public key (PEM, or the base64 of its 32 bytes); default: the key the bundle names")
		fs.Parse(reorder(args[1:]))
		if fs.NArg() != 1 {
			return errors.New("usage: vca-collector evidence verify BUNDLE [--pubkey FILE]")
		}
		var pub []byte
		if *pubPath != "" {
			b, err := os.ReadFile(*pubPath)
			if err != nil {
				return err
			}
			k, err := evidence.ParsePublicKey(b)
			if err != nil {
				return fmt.Errorf("%s: %w", *pubPath, err)
			}
			pub = k
		}
		rep, err := evidence.VerifyBundle(fs.Arg(0), pub)
		if err != nil {
			return err
		}
		if !rep.OK() {
			for _, p := range rep.Problems[1:] {
				fmt.Fprintln(out, "also:", p)
			}
			return fmt.Errorf("%s does not verify: %s", fs.Arg(0), rep.Problems[0])
		}
		m := rep.Manifest
		signer := "the key the bundle names (give --pubkey to pin the signer)"
		if pub != nil {
			signer = *pubPath
		}
		fmt.Fprintf(out, "%s: verified\n  signed by %s at %s\n  %d files, hashes match\n  %d decisions, %d unparsed lines, %s to %s\n  hash chain: %d chain(s), %d batch(es), linked and verified at export\n",
			fs.Arg(0), signer, m.CreatedAt, rep.Files, m.Decisions, m.Unparsed, m.From, m.To, rep.Chains, rep.Batches)
		return nil
	}
	return fmt.Errorf("unknown evidence command %q (export, verify, keygen)", args[0])
}

// reorder puts flags before positional arguments, so that "verify BUNDLE
// --pubkey F" reads like "verify --pubkey F BUNDLE".
func reorder(args []string) []string {
	var flags, rest []string
	for i := 0; i < len(args); i++ {
		if strings.HasPrefix(args[i], "-") {
			flags = append(flags, args[i])
			if !strings.Contains(args[i], "=") && i+1 < len(args) {
				flags = append(flags, args[i+1])
				i++
			}
			continue
		}
		rest = append(rest, args[i])
	}
	return append(flags, rest...)
}

// queryFlags is the flag set of a command that reads a range of
// decisions from ClickHouse.
func queryFlags(name string, narrow bool) (*flag.FlagSet, *storeFlags, *rangeFlags) {
	fs := flag.NewFlagSet(name, flag.ExitOnError)
	var store storeFlags
	var rng rangeFlags
	store.register(fs)
	rng.register(fs, narrow)
	return fs, &store, &rng
}

func exportCmd(args []string, out io.Writer) error {
	fs, store, rng := queryFlags("evidence export", true)
	keyPath := fs.String("key", "", "Ed25519 private key, PKCS #8 PEM (vca-collector evidence keygen)")
	outPath := fs.String("out", "", "bundle directory (new or empty) or FILE.tar.gz")
	gap := fs.Duration("gap", 15*time.Minute, "report a gateway silent for at least this long")
	scenarios := fs.String("scenarios", "", "include a verify-scenarios --json result")
	fs.Parse(args)
	if *outPath == "" || *keyPath == "" {
		return errors.New("usage: vca-collector evidence export --from T [--to T] | --last D  --key FILE --out DIR|FILE.tar.gz [--agent --rule --scenario --gateway] (--config FILE | --clickhouse ADDR)")
	}
	f, err := rng.filter(time.Now())
	if err != nil {
		return err
	}
	key, err := evidence.LoadPrivateKey(*keyPath)
	if err != nil {
		return err
	}
	o := evidence.ExportOptions{Filter: f, Out: *outPath, Key: key, GapThreshold: *gap}
	if *scenarios != "" {
		b, err := os.ReadFile(*scenarios)
		if err != nil {
			return err
		}
		o.Scenarios = &evidence.ScenarioReport{}
		if err := json.Unmarshal(b, o.Scenarios); err != nil {
			return fmt.Errorf("%s: %w", *scenarios, err)
		}
	}
	if fi, err := os.Stderr.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
		start := time.Now()
		o.Progress = func(n int) {
			fmt.Fprintf(os.Stderr, "\r%d decisions written (%.0f/s)   ", n, float64(n)/max(time.Since(start).Seconds(), 0.001))
		}
	}
	ctx := context.Background()
	src, closeFn, err := store.open(ctx)
	if err != nil {
		return err
	}
	defer closeFn()
	res, err := evidence.Export(ctx, src, o)
	if o.Progress != nil {
		fmt.Fprintln(os.Stderr)
	}
	if err != nil {
		return err
	}
	m := res.Manifest
	fmt.Fprintf(out, "%s: %d decisions, %d unparsed lines, %s to %s; hash chain %s\n", res.Path, m.Decisions, m.Unparsed, m.From, m.To, verdict(m.ChainsVerified))
	fmt.Fprintf(out, "signed with the Ed25519 key:\n%s", evidence.PublicKeyPEM(res.PublicKey))
	if !m.ChainsVerified {
		return errors.New("the ingest hash chain did not verify for this range: see integrity.json in the bundle")
	}
	return nil
}

func verdict(ok bool) string {
	if ok {
		return "verified"
	}
	return "NOT verified"
}

func verifyScenariosCmd(args []string, in io.Reader, out io.Writer) error {
	fs := flag.NewFlagSet("verify-scenarios", flag.ExitOnError)
	var store storeFlags
	store.register(fs)
	window := fs.Duration("window", 2*time.Minute, "how far from the probe's time the decision may be")
	jsonOut := fs.String("json", "", "also write the result as JSON (for evidence export --scenarios)")
	fs.Parse(reorder(args))
	r := in
	if fs.NArg() == 1 && fs.Arg(0) != "-" {
		f, err := os.Open(fs.Arg(0))
		if err != nil {
			return err
		}
		defer f.Close()
		r = f
	}
	checks, err := evidence.ReadScenarioChecks(r)
	if err != nil {
		return err
	}
	if len(checks) == 0 {
		return errors.New("no verify-egress.sh results to check")
	}
	ctx := context.Background()
	src, closeFn, err := store.open(ctx)
	if err != nil {
		return err
	}
	defer closeFn()
	rep, err := evidence.VerifyScenarios(ctx, src, checks, *window, time.Now())
	if err != nil {
		return err
	}
	if *jsonOut != "" {
		b, _ := json.MarshalIndent(rep, "", "  ")
		if err := os.WriteFile(*jsonOut, append(b, '\n'), 0o644); err != nil {
			return err
		}
	}
	if err := rep.WriteTable(out); err != nil {
		return err
	}
	if rep.Failed > 0 {
		return fmt.Errorf("%d of %d checks did not find the expected decision", rep.Failed, len(rep.Checks))
	}
	return nil
}

func promoteCmd(args []string, out io.Writer) error {
	fs, store, rng := queryFlags("promote", false)
	catalogPath := fs.String("catalog", "", "the policy catalog (terraform output -json policy_catalog): current allow-lists and categories")
	tfvars := fs.String("tfvars", "", "write the Terraform variables that add the accepted domains to this file")
	accept := fs.String("accept", "", "comma-separated registrable domains to accept (default: every suggestion but investigate)")
	asJSON := fs.Bool("json", false, "print the report as JSON")
	fs.Parse(args)
	f, err := rng.filter(time.Now())
	if err != nil {
		return err
	}
	var catalog *enrich.Catalog
	if *catalogPath != "" {
		ix, err := enrich.LoadFile(*catalogPath)
		if err != nil {
			return err
		}
		catalog = ix.Catalog
	}
	if *tfvars != "" && catalog == nil {
		return errors.New("--tfvars needs --catalog: a list in tfvars replaces the current one, which the catalog holds")
	}
	ctx := context.Background()
	src, closeFn, err := store.open(ctx)
	if err != nil {
		return err
	}
	defer closeFn()
	p, err := evidence.Promote(ctx, src, f, catalog)
	if err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		if err := enc.Encode(p); err != nil {
			return err
		}
	} else if err := p.WriteTable(out); err != nil {
		return err
	}
	if *tfvars != "" {
		var accepted []string
		if *accept != "" {
			accepted = strings.Split(*accept, ",")
		}
		var buf bytes.Buffer
		n, err := p.WriteTFVars(&buf, catalog, accepted)
		if err != nil {
			return err
		}
		if err := os.WriteFile(*tfvars, buf.Bytes(), 0o644); err != nil {
			return err
		}
		fmt.Fprintf(out, "\n%s: %d domains added to their allow-lists\n", *tfvars, n)
	}
	return nil
}
