package collector

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/pprof"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/rs/zerolog"

	"github.com/openclaw-vca/openclaw-vca/internal/enrich"
	"github.com/openclaw-vca/openclaw-vca/internal/parse"
	"github.com/openclaw-vca/openclaw-vca/internal/sdnotify"
	"github.com/openclaw-vca/openclaw-vca/internal/sink/clickhouse"
	"github.com/openclaw-vca/openclaw-vca/internal/version"
)

// Collector is a configured daemon, bound to its addresses: the halves
// its mode runs, in start order (the Kafka writer before the receiver
// that feeds it), and the admin endpoints.
type Collector struct {
	cfg      Config
	log      zerolog.Logger
	reg      *prometheus.Registry
	enricher *enrich.Enricher
	receiver *receiver    // nil in writer mode
	writer   *kafkaWriter // nil at an edge and in mode all without Kafka
	parts    []component
	admin    *http.Server
	adminLn  net.Listener
	ready    atomic.Bool
	started  chan struct{} // closed once Run serves
}

// New opens both halves its mode needs and binds every listener, so
// configuration and permission problems surface before Run.
func New(cfg Config, log zerolog.Logger) (*Collector, error) {
	c := &Collector{cfg: cfg, log: log, reg: prometheus.NewRegistry(), started: make(chan struct{})}
	c.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	c.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "vca_collector_build_info", Help: "Build of the running collector.",
		ConstLabels: prometheus.Labels{"version": version.Version, "revision": version.Revision()},
	}, func() float64 { return 1 }))
	loc, _ := time.LoadLocation(cfg.Parse.TimeZone) // Validate checked it
	parseOpts := parse.Options{Location: loc}
	en, err := enrich.New(cfg.Catalog, c.reg, log)
	if err != nil {
		return nil, err
	}
	c.enricher = en
	if cfg.consumes() {
		if c.writer, err = newKafkaWriter(cfg, en, parseOpts, c.reg, log); err != nil {
			return nil, err
		}
		c.parts = append(c.parts, c.writer)
	}
	if cfg.receives() {
		if c.receiver, err = newReceiver(cfg, parse.NewParser(parseOpts), en, c.reg, log); err != nil {
			shutdownAll(context.Background(), c.parts)
			return nil, err
		}
		c.parts = append(c.parts, c.receiver)
	}
	if err := c.listenAdmin(); err != nil {
		shutdownAll(context.Background(), c.parts)
		return nil, err
	}
	return c, nil
}

// openTimeout bounds opening a ClickHouse store: the dial, then the
// schema checks and migrations.
func openTimeout(cfg *clickhouse.Config) time.Duration {
	return time.Duration(cfg.DialTimeout) + 30*time.Second
}

func (c *Collector) listenAdmin() error {
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

// Run starts the halves, serves until ctx is cancelled, then shuts them
// down in reverse within the shutdown timeout (see receiver.Shutdown and
// kafkaWriter.Shutdown for what each leaves for the next start) and the
// admin endpoints last.
func (c *Collector) Run(ctx context.Context) error {
	watchCtx, stopWatching := context.WithCancel(context.Background())
	defer stopWatching()
	go c.enricher.Watch(watchCtx)
	if err := startAll(ctx, c.parts); err != nil {
		sctx, cancel := context.WithTimeout(context.Background(), time.Duration(c.cfg.ShutdownTimeout))
		defer cancel()
		if c.adminLn != nil {
			c.adminLn.Close()
		}
		return errors.Join(err, shutdownAll(sctx, c.parts))
	}
	if c.admin != nil {
		go c.admin.Serve(c.adminLn)
		c.log.Info().Str("address", c.adminLn.Addr().String()).Msg("admin endpoints on /metrics /healthz /readyz")
	}
	c.ready.Store(true)
	close(c.started)
	if err := sdnotify.Ready(); err != nil {
		c.log.Warn().Err(err).Msg("telling systemd the collector is ready")
	}
	go c.watchStalls(watchCtx)
	<-ctx.Done()

	c.ready.Store(false)
	sdnotify.Stopping()
	c.log.Info().Msg("shutting down: closing listeners")
	sctx, cancel := context.WithTimeout(context.Background(), time.Duration(c.cfg.ShutdownTimeout))
	defer cancel()
	err := shutdownAll(sctx, c.parts)
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
	for _, p := range c.parts {
		errs = append(errs, p.Stall(time.Duration(c.cfg.Admin.StallAfter)))
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

// Started is closed once Run has started every half and serves the admin
// endpoints.
func (c *Collector) Started() <-chan struct{} { return c.started }

// Reload re-reads what can change without a restart: the policy catalog
// and TLS certificates.
func (c *Collector) Reload() {
	c.enricher.Reload() // a rejected catalog is logged; the one in use stays
	if c.receiver != nil {
		c.receiver.reloadTLS()
	}
}

// Addrs lists the bound listener addresses by name, and the admin
// endpoints' as "admin".
func (c *Collector) Addrs() map[string]net.Addr {
	m := map[string]net.Addr{}
	if c.receiver != nil {
		c.receiver.addrs(m)
	}
	if c.adminLn != nil {
		m["admin"] = c.adminLn.Addr()
	}
	return m
}
