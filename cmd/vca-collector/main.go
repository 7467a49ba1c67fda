// Command vca-collector receives Aviatrix gateway syslog, parses every DCF
// decision and writes it as audit evidence.
//
//	vca-collector run --config FILE     run the daemon
//	vca-collector parse [FILE|-]        show what the collector makes of raw lines
//	vca-collector schema print          print the ClickHouse DDL (--cluster for a cluster)
//	vca-collector schema kafka-engine   print the Kafka-engine alternative to writer collectors
//	vca-collector catalog check|schema  validate a policy catalog, print its JSON Schema
//	vca-collector spool inspect DIR     describe a spool directory
//	vca-collector evidence ...          signed evidence bundles: export, verify, keygen
//	vca-collector verify-scenarios      check verify-egress.sh results against ClickHouse
//	vca-collector promote               what enforce mode would block, as allow-list changes
//	vca-collector version               print the build
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"
	"time"

	"github.com/rs/zerolog"
	"go.uber.org/automaxprocs/maxprocs"

	"github.com/openclaw-vca/openclaw-vca/internal/collector"
	"github.com/openclaw-vca/openclaw-vca/internal/config"
	"github.com/openclaw-vca/openclaw-vca/internal/enrich"
	"github.com/openclaw-vca/openclaw-vca/internal/listen"
	"github.com/openclaw-vca/openclaw-vca/internal/parse"
	"github.com/openclaw-vca/openclaw-vca/internal/sink/clickhouse"
	"github.com/openclaw-vca/openclaw-vca/internal/spool"
	"github.com/openclaw-vca/openclaw-vca/internal/version"
)

const usage = `usage:
  vca-collector run --config FILE [--addresses FILE]
                                       receive syslog and write events, or produce them to Kafka (mode edge), or
                                       consume them into ClickHouse (mode writer); SIGTERM drains and exits,
                                       SIGHUP reloads the policy catalog and TLS; --addresses writes the bound
                                       listener and admin addresses as JSON once it serves (for port 0)
  vca-collector parse [flags] [FILE|-] print one JSON event per raw syslog line or octet-counted frame
  vca-collector schema print [--database NAME] [--retention-days N] [--cluster NAME]
                                       print the ClickHouse DDL (for create_schema: false)
  vca-collector schema kafka-engine --brokers H:P,... [--topic T] [--group G] [--cluster NAME]
                                       print ClickHouse's Kafka-engine tables and views (the alternative to writers)
  vca-collector catalog check FILE     validate a policy catalog and summarise it
  vca-collector catalog schema         print the catalog's JSON Schema
  vca-collector spool inspect DIR      check every record of a spool directory and print what it holds (JSON)
  vca-collector evidence keygen [--out FILE]
                                       create an Ed25519 signing key for evidence bundles
  vca-collector evidence export (--config FILE | --clickhouse ADDR) --from T [--to T] | --last D --key FILE --out DIR|FILE.tar.gz
                               [--agent SG] [--rule NAME] [--scenario S] [--gateway GW] [--scenarios FILE]
                                       write a signed evidence bundle for a time range
  vca-collector evidence verify BUNDLE [--pubkey FILE]
                                       check a bundle's signature, file hashes and hash chain
  vca-collector verify-scenarios (--config FILE | --clickhouse ADDR) [--window 2m] [--json FILE] [FILE|-]
                                       check that each verify-egress.sh probe reached ClickHouse under the expected rule
  vca-collector promote (--config FILE | --clickhouse ADDR) --last D | --from T [--catalog FILE --tfvars FILE] [--accept D,...]
                                       monitor-mode destinations enforce mode would block, grouped by domain, as a tfvars patch
  vca-collector version                print the build
`

func main() {
	if len(os.Args) < 2 {
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "run":
		err = runCmd(os.Args[2:])
	case "parse":
		err = parseCmd(os.Args[2:], os.Stdin, os.Stdout)
	case "schema":
		err = schemaCmd(os.Args[2:], os.Stdout)
	case "spool":
		err = spoolCmd(os.Args[2:], os.Stdout)
	case "catalog":
		err = catalogCmd(os.Args[2:], os.Stdout)
	case "evidence":
		err = evidenceCmd(os.Args[2:], os.Stdout)
	case "verify-scenarios":
		err = verifyScenariosCmd(os.Args[2:], os.Stdin, os.Stdout)
	case "promote":
		err = promoteCmd(os.Args[2:], os.Stdout)
	case "version", "--version", "-v":
		fmt.Println(version.String())
	case "help", "-h", "--help":
		fmt.Print(usage)
	default:
		fmt.Fprintf(os.Stderr, "unknown command %q\n%s", os.Args[1], usage)
		os.Exit(2)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "vca-collector:", err)
		os.Exit(1)
	}
}

func catalogCmd(args []string, out io.Writer) error {
	switch {
	case len(args) == 1 && args[0] == "schema":
		_, err := out.Write(enrich.SchemaJSON)
		return err
	case len(args) == 2 && args[0] == "check":
		ix, err := enrich.LoadFile(args[1])
		if err != nil {
			return err
		}
		c := ix.Catalog
		fmt.Fprintf(out, "catalog %s: valid; mode %s, agent class %q; %d rules, %d SmartGroups, %d WebGroups\n",
			c.Version, c.Mode, c.AgentClass, len(c.Rules), len(c.SmartGroups), len(c.WebGroups))
		for _, r := range c.Rules {
			uuid := r.UUID
			if uuid == "" {
				uuid = "(UUID not known yet)"
			}
			fmt.Fprintf(out, "  %5d  %-6s  %-40s  %-18s  %s\n", r.Priority, r.Action, r.Name, r.Scenario, uuid)
		}
		return nil
	}
	return errors.New("usage: vca-collector catalog check FILE | vca-collector catalog schema")
}

func spoolCmd(args []string, out io.Writer) error {
	if len(args) != 2 || args[0] != "inspect" {
		return errors.New("usage: vca-collector spool inspect DIR")
	}
	info, err := spool.Inspect(args[1])
	if err != nil {
		return err
	}
	enc := json.NewEncoder(out)
	enc.SetIndent("", "  ")
	return enc.Encode(info)
}

func runCmd(args []string) error {
	fs := flag.NewFlagSet("run", flag.ExitOnError)
	path := fs.String("config", "examples/collector.yaml", "configuration file")
	addrFile := fs.String("addresses", "", "once serving, write the bound addresses as JSON {name: host:port} to this file (listeners by name, and admin)")
	fs.Parse(args)

	var cfg collector.Config
	if err := config.LoadFile(*path, os.Environ(), &cfg); err != nil {
		return fmt.Errorf("configuration: %w", err)
	}
	log := newLogger(cfg.Log)
	maxprocs.Set(maxprocs.Logger(func(f string, a ...any) { log.Info().Msgf(f, a...) }))
	setGCPercent(log)
	log.Info().Str("version", version.String()).Str("config", *path).Msg("starting")

	c, err := collector.New(cfg, log)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	go func() {
		for range hup {
			c.Reload()
		}
	}()
	if *addrFile != "" {
		go func() {
			<-c.Started()
			if err := writeAddresses(*addrFile, c.Addrs()); err != nil {
				log.Error().Err(err).Str("file", *addrFile).Msg("writing the bound addresses")
			}
		}()
	}
	return c.Run(ctx)
}

// writeAddresses replaces path with the addresses as JSON, atomically, so
// that a reader never sees half of it.
func writeAddresses(path string, addrs map[string]net.Addr) error {
	m := make(map[string]string, len(addrs))
	for name, a := range addrs {
		m[name] = a.String()
	}
	b, err := json.Marshal(m)
	if err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, append(b, '\n'), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

func newLogger(cfg collector.LogConfig) zerolog.Logger {
	zerolog.TimeFieldFormat = time.RFC3339Nano
	var w io.Writer = os.Stderr
	if cfg.Format == "console" {
		w = zerolog.ConsoleWriter{Out: os.Stderr}
	}
	lvl, err := zerolog.ParseLevel(cfg.Level)
	if err != nil {
		lvl = zerolog.InfoLevel
	}
	return zerolog.New(w).Level(lvl).With().Timestamp().Logger()
}

func parseCmd(args []string, stdin io.Reader, stdout io.Writer) error {
	fs := flag.NewFlagSet("parse", flag.ExitOnError)
	tz := fs.String("time-zone", "UTC", "zone of timestamps that carry none")
	rxFlag := fs.String("received-at", "", "receive time to assume (RFC3339; default now), which also anchors RFC3164 year inference")
	maxSize := fs.Int("max-message-size", listen.DefaultMaxMessageSize, "longer messages are cut and flagged, as the listeners do")
	catalog := fs.String("catalog", "", "policy catalog JSON: add rule names, groups and scenarios as the collector does")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: vca-collector parse [flags] [FILE|-]\n\nReads LF-separated lines or RFC 6587 octet-counted frames and prints one JSON event per message;\nthe keys are the audit store's column names.\n\n")
		fs.PrintDefaults()
	}
	fs.Parse(args)
	loc, err := time.LoadLocation(*tz)
	if err != nil {
		return fmt.Errorf("--time-zone: %w", err)
	}
	var rx time.Time
	if *rxFlag != "" {
		if rx, err = time.Parse(time.RFC3339Nano, *rxFlag); err != nil {
			return fmt.Errorf("--received-at: %w", err)
		}
	}
	in := stdin
	if name := fs.Arg(0); name != "" && name != "-" {
		f, err := os.Open(name)
		if err != nil {
			return err
		}
		defer f.Close()
		in = f
	}
	ix := enrich.Empty() // as the daemon without a catalog: system objects only
	if *catalog != "" {
		if ix, err = enrich.LoadFile(*catalog); err != nil {
			return err
		}
	}
	p := parse.NewParser(parse.Options{Location: loc})
	fr := listen.NewFrameReader(in, *maxSize)
	out := bufio.NewWriterSize(stdout, 64<<10)
	defer out.Flush()
	var ev parse.Event
	var buf []byte
	for seq := uint64(1); ; seq++ {
		msg, truncated, err := fr.Next()
		if err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		}
		ev.ReceivedAt = rx
		if rx.IsZero() {
			ev.ReceivedAt = time.Now().UTC()
		}
		ev.EventID = parse.NewEventID([8]byte{}, seq)
		p.Parse(msg, &ev)
		if truncated {
			ev.MarkTruncated()
		}
		ix.Enrich(&ev, &enrich.Outcome{})
		buf = append(ev.AppendJSON(buf[:0]), '\n')
		if _, err := out.Write(buf); err != nil {
			return err
		}
	}
}

func schemaCmd(args []string, out io.Writer) error {
	usage := errors.New("usage: vca-collector schema print [--database NAME] [--retention-days N] [--cluster NAME]\n" +
		"       vca-collector schema kafka-engine --brokers H:P,... [--topic T] [--group G] [--consumers N] [--database NAME] [--cluster NAME]")
	if len(args) == 0 || (args[0] != "print" && args[0] != "kafka-engine") {
		return usage
	}
	fs := flag.NewFlagSet("schema "+args[0], flag.ContinueOnError)
	database := fs.String("database", "vca", "database name")
	retention := fs.Int("retention-days", 0, "TTL in days; 0 keeps everything")
	cluster := fs.String("cluster", "", "render for this ClickHouse cluster: Replicated tables behind Distributed ones, ON CLUSTER")
	brokers := fs.String("brokers", "", "kafka-engine: comma-separated broker list")
	topic := fs.String("topic", "vca-dcf-events", "kafka-engine: the edge collectors' topic")
	group := fs.String("group", "clickhouse-vca", "kafka-engine: ClickHouse's consumer group")
	consumers := fs.Int("consumers", 1, "kafka-engine: consumers per server")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	o := clickhouse.Options{Database: *database, RetentionDays: *retention, Cluster: *cluster}
	if args[0] == "print" {
		_, err := io.WriteString(out, clickhouse.SchemaSQL(o))
		return err
	}
	if *brokers == "" {
		return errors.New("schema kafka-engine: --brokers is required")
	}
	fmt.Fprintf(out, "-- ClickHouse consumes the edge collectors' topic itself (instead of writer collectors).\n-- Create the schema first (vca-collector schema print --database %s).\n", *database)
	for _, sql := range clickhouse.KafkaEngineSQL(o, clickhouse.KafkaEngineOptions{Brokers: strings.Split(*brokers, ","), Topic: *topic, Group: *group, Consumers: *consumers}) {
		fmt.Fprintf(out, "\n%s;\n", sql)
	}
	return nil
}

// defaultGCPercent is the collector's GOGC unless the environment sets one.
// Its heap is mostly long-lived batch and encode buffers that are reused,
// so it allocates little once warm and a lower target costs little CPU
// while cutting peak RSS by about a third at 100 000 events/s (bench/README.md);
// VictoriaMetrics' components make the same choice.
const defaultGCPercent = 30

func setGCPercent(log zerolog.Logger) {
	if os.Getenv("GOGC") != "" {
		return
	}
	debug.SetGCPercent(defaultGCPercent)
	log.Debug().Int("gogc", defaultGCPercent).Msg("garbage collection target set (GOGC overrides it)")
}
