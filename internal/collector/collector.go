package collector

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/pprof"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/rs/zerolog"

	"github.com/openclaw-vca/openclaw-vca/internal/enrich"
	"github.com/openclaw-vca/openclaw-vca/internal/listen"
	"github.com/openclaw-vca/openclaw-vca/internal/parse"
	"github.com/openclaw-vca/openclaw-vca/internal/pipeline"
	"github.com/openclaw-vca/openclaw-vca/internal/sdnotify"
	"github.com/openclaw-vca/openclaw-vca/internal/sink"
	"github.com/openclaw-vca/openclaw-vca/internal/sink/clickhouse"
	"github.com/openclaw-vca/openclaw-vca/internal/sink/file"
	kafkasink "github.com/openclaw-vca/openclaw-vca/internal/sink/kafka"
	"github.com/openclaw-vca/openclaw-vca/internal/spool"
	"github.com/openclaw-vca/openclaw-vca/internal/version"
	"github.com/openclaw-vca/openclaw-vca/internal/writer"
)

// Collector is a configured daemon, bound to its addresses.
type Collector struct {
	cfg      Config
	log      zerolog.Logger
	reg      *prometheus.Registry
	spool    *spool.Spool
	pipeline *pipeline.Pipeline
	sinks    []sink.Sink
	udp      []*listen.UDPServer
	tcp      []*listen.TCPServer
	admin    *http.Server
	adminLn  net.Listener
	ready    atomic.Bool
	enricher *enrich.Enricher
	store    *clickhouse.Store // writer side
	writer   *writer.Writer
}

// New binds every listener and opens every sink, so configuration and
// permission problems surface before Run.
func New(cfg Config, log zerolog.Logger) (*Collector, error) {
	c := &Collector{cfg: cfg, log: log, reg: prometheus.NewRegistry()}
	c.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	c.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "vca_collector_build_info", Help: "Build of the running collector.",
		ConstLabels: prometheus.Labels{"version": version.Version, "revision": version.Revision()},
	}, func() float64 { return 1 }))
	loc, _ := time.LoadLocation(cfg.Parse.TimeZone)
	parser := parse.NewParser(parse.Options{Location: loc})
	en, err := enrich.New(cfg.Catalog, c.reg, log)
	if err != nil {
		return nil, err
	}
	c.enricher = en

	if err := c.openSinks(cfg, en); err != nil {
		c.closeSinks()
		return nil, err
	}
	if cfg.consumes() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Duration(cfg.Sinks.ClickHouse.DialTimeout)+30*time.Second)
		st, err := clickhouse.OpenStore(ctx, *cfg.Sinks.ClickHouse, c.reg, log)
		cancel()
		if err != nil {
			c.closeSinks()
			return nil, err
		}
		c.store = st
		en.OnLoad(st.RecordCatalog)
		if c.writer, err = writer.New(*cfg.Kafka, st, parse.Options{Location: loc}, c.reg, log); err != nil {
			c.closeAll()
			return nil, err
		}
	}
	if !cfg.receives() {
		return c, c.serveAdmin()
	}
	sp, err := spool.Open(cfg.Spool, c.reg, log)
	if err != nil {
		c.closeAll()
		return nil, err
	}
	c.spool = sp
	c.pipeline = pipeline.New(cfg.Pipeline, parser, c.enricher, sp, c.sinks, c.reg, log)

	lm := listen.NewMetrics(c.reg)
	for _, lc := range cfg.Listeners.UDP {
		s, err := listen.NewUDPServer(lc, c.pipeline, lm, log)
		if err != nil {
			c.closeAll()
			return nil, err
		}
		c.udp = append(c.udp, s)
	}
	for _, lc := range cfg.Listeners.TCP {
		s, err := listen.NewTCPServer(lc, c.pipeline, lm, log)
		if err != nil {
			c.closeAll()
			return nil, err
		}
		c.tcp = append(c.tcp, s)
	}
	if err := c.serveAdmin(); err != nil {
		c.closeAll()
		return nil, err
	}
	return c, nil
}

// openSinks opens the pipeline's sinks: the file, then Kafka (edge) or
// ClickHouse (all without Kafka).
func (c *Collector) openSinks(cfg Config, en *enrich.Enricher) error {
	if !cfg.receives() {
		return nil
	}
	if cfg.Sinks.File != nil {
		fs, err := file.New(*cfg.Sinks.File)
		if err != nil {
			return err
		}
		c.sinks = append(c.sinks, fs)
	}
	if cfg.Kafka != nil {
		ks, err := kafkasink.New(*cfg.Kafka, c.reg, c.log)
		if err != nil {
			return err
		}
		c.sinks = append(c.sinks, ks)
	}
	if cfg.direct() && cfg.Sinks.ClickHouse != nil {
		ctx, cancel := context.WithTimeout(context.Background(), time.Duration(cfg.Sinks.ClickHouse.DialTimeout)+30*time.Second)
		chs, err := clickhouse.New(ctx, *cfg.Sinks.ClickHouse, c.reg, c.log)
		cancel()
		if err != nil {
			return err
		}
		c.sinks = append(c.sinks, chs)
		en.OnLoad(chs.RecordCatalog)
	}
	return nil
}

func (c *Collector) serveAdmin() error {
	if c.cfg.Admin.Address == "" {
		return nil
	}
	ln, err := net.Listen("tcp", c.cfg.Admin.Address)
	if err != nil {
		return err
	}
	c.adminLn = ln
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(c.reg, promhttp.HandlerOpts{Registry: c.reg}))
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte("ok\n")) })
	mux.HandleFunc("/readyz", func(w http.ResponseWriter, _ *http.Request) {
		if !c.ready.Load() {
			http.Error(w, "not ready", http.StatusServiceUnavailable)
			return
		}
		if err := c.stall(); err != nil {
			http.Error(w, "not ready: "+err.Error(), http.StatusServiceUnavailable)
			return
		}
		w.Write([]byte("ready\n"))
	})
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	c.admin = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	return nil
}

// Run serves until ctx is cancelled, then shuts down in order: stop
// reading from the network, close the spool to appends, deliver what it
// holds within the shutdown timeout, close the sinks (their last batches
// become durable and are committed), close the spool. What is not
// delivered by then stays in the spool for the next start.
func (c *Collector) Run(ctx context.Context) error {
	if c.pipeline != nil {
		c.pipeline.Start()
	}
	wctx, stopWatch := context.WithCancel(context.Background())
	defer stopWatch()
	go c.enricher.Watch(wctx)
	consumeCtx, stopConsuming := context.WithCancel(context.Background())
	defer stopConsuming()
	consumed := make(chan error, 1)
	if c.writer != nil {
		go func() { consumed <- c.writer.Run(consumeCtx) }()
		c.log.Info().Str("topic", c.cfg.Kafka.Topic).Str("group", c.cfg.Kafka.Consumer.Group).Msg("consuming from kafka into clickhouse")
	}
	var wg sync.WaitGroup
	for _, s := range c.udp {
		wg.Add(1)
		go func() { defer wg.Done(); s.Serve() }()
		c.log.Info().Str("listener", s.Source().Listener).Str("address", s.Addr().String()).
			Int("receive_buffer", s.ReceiveBuffer()).Msg("listening (udp)")
	}
	for _, s := range c.tcp {
		wg.Add(1)
		go func() { defer wg.Done(); s.Serve() }()
		c.log.Info().Str("listener", s.Source().Listener).Str("address", s.Addr().String()).
			Str("transport", s.Source().Transport).Msg("listening")
	}
	if c.admin != nil {
		go c.admin.Serve(c.adminLn)
		c.log.Info().Str("address", c.adminLn.Addr().String()).Msg("admin endpoints on /metrics /healthz /readyz")
	}
	c.ready.Store(true)
	if err := sdnotify.Ready(); err != nil {
		c.log.Warn().Err(err).Msg("telling systemd the collector is ready")
	}
	go c.watchStalls(wctx)
	<-ctx.Done()

	c.ready.Store(false)
	sdnotify.Stopping()
	c.log.Info().Msg("shutting down: closing listeners")
	sctx, cancel := context.WithTimeout(context.Background(), time.Duration(c.cfg.ShutdownTimeout))
	defer cancel()
	closed := make(chan struct{})
	go func() {
		for _, s := range c.udp {
			s.Close()
		}
		for _, s := range c.tcp {
			s.Close()
		}
		wg.Wait()
		close(closed)
	}()
	select {
	case <-closed:
	case <-time.After(time.Duration(c.cfg.ShutdownTimeout) / 2):
		// Readers blocked on a full spool: refuse their last messages.
		c.log.Warn().Msg("listeners still blocked on a full spool; closing it to appends")
	}
	var err error
	if c.spool != nil {
		c.spool.CloseWriter()
	}
	<-closed
	if c.pipeline != nil {
		err = c.pipeline.Stop(sctx)
	}
	for _, s := range c.sinks {
		var cerr error
		if d, ok := s.(sink.Shutdowner); ok {
			cerr = d.Shutdown(sctx)
		} else {
			cerr = s.Close()
		}
		if cerr != nil {
			err = errors.Join(err, cerr)
		}
	}
	if c.spool != nil {
		if cerr := c.spool.Close(); cerr != nil {
			err = errors.Join(err, cerr)
		}
	}
	if c.writer != nil {
		// After the edge side: in mode all, what it just produced is read
		// by the next start (offsets are committed only once inserted).
		stopConsuming()
		select {
		case werr := <-consumed:
			err = errors.Join(err, werr)
		case <-sctx.Done():
			err = errors.Join(err, errors.New("kafka writer: shutdown deadline passed with partitions still flushing; uncommitted records are read again"))
		}
		err = errors.Join(err, c.store.Close())
	}
	if c.admin != nil {
		c.admin.Shutdown(sctx)
	}
	c.log.Info().Msg("stopped")
	return err
}

// stall is why the collector is not getting events to where they are
// durable, or nil.
func (c *Collector) stall() error {
	var errs []error
	after := time.Duration(c.cfg.Admin.StallAfter)
	if c.pipeline != nil {
		errs = append(errs, c.pipeline.Stall(after))
	}
	if c.writer != nil {
		errs = append(errs, c.writer.Stall(after))
	}
	return errors.Join(errs...)
}

// watchStalls logs when a stall begins and when it ends.
func (c *Collector) watchStalls(ctx context.Context) {
	t := time.NewTicker(min(time.Duration(c.cfg.Admin.StallAfter)/4, 5*time.Second))
	defer t.Stop()
	var was string
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		now := ""
		if err := c.stall(); err != nil {
			now = err.Error()
		}
		switch {
		case now != "" && was == "":
			c.log.Warn().Str("stall", now).Msg("events are waiting and none became durable; /readyz reports not ready")
		case now == "" && was != "":
			c.log.Info().Msg("events are becoming durable again; /readyz reports ready")
		}
		was = now
	}
}

// Reload re-reads what can change without a restart: the policy catalog
// and TLS certificates.
func (c *Collector) Reload() {
	c.enricher.Reload() // a rejected catalog is logged; the one in use stays
	for _, s := range c.tcp {
		if err := s.ReloadTLS(); err != nil {
			c.log.Error().Err(err).Str("listener", s.Source().Listener).Msg("TLS reload failed; keeping the previous certificate")
		} else if s.Source().Transport == "tls" {
			c.log.Info().Str("listener", s.Source().Listener).Msg("TLS certificate reloaded")
		}
	}
}

// Addrs lists the bound listener addresses by name.
func (c *Collector) Addrs() map[string]net.Addr {
	m := map[string]net.Addr{}
	for _, s := range c.udp {
		m[s.Source().Listener] = s.Addr()
	}
	for _, s := range c.tcp {
		m[s.Source().Listener] = s.Addr()
	}
	if c.adminLn != nil {
		m["admin"] = c.adminLn.Addr()
	}
	return m
}

func (c *Collector) closeAll() {
	for _, s := range c.udp {
		s.Close()
	}
	for _, s := range c.tcp {
		s.Close()
	}
	c.closeSinks()
	if c.spool != nil {
		c.spool.Close()
	}
	if c.store != nil {
		c.store.Close()
	}
}

func (c *Collector) closeSinks() {
	for _, s := range c.sinks {
		s.Close()
	}
}
