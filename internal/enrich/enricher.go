package enrich

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/openclaw-vca/openclaw-vca/internal/config"
	"github.com/openclaw-vca/openclaw-vca/internal/parse"
)

// Config locates the catalog.
type Config struct {
	// File is the catalog JSON (terraform output -json policy_catalog);
	// empty enriches with the controller's system objects only.
	File string `yaml:"file"`
	// CheckInterval is how often the file is checked for changes; SIGHUP
	// reloads at once.
	CheckInterval config.Duration `yaml:"check_interval"`
	// Controller, when set, is polled for rule and group UUIDs and for
	// rules other teams manage on a shared controller.
	Controller *ControllerConfig `yaml:"controller"`
	// MissingSessionEndAfter is how long, in gateway time, a rule may log
	// session starts on a gateway without one end before the collector
	// warns that its log profile leaves ends out (default 15m; a negative
	// value turns the check off).
	MissingSessionEndAfter config.Duration `yaml:"missing_session_end_after"`
}

func (c *Config) SetDefaults() {
	if c.CheckInterval == 0 {
		c.CheckInterval = config.Duration(2 * time.Second)
	}
	if c.MissingSessionEndAfter == 0 {
		c.MissingSessionEndAfter = config.Duration(15 * time.Minute)
	}
}

func (c *Config) Validate() error {
	if c.CheckInterval < config.Duration(100*time.Millisecond) {
		return config.FieldError("check_interval", errors.New("must be at least 100ms"))
	}
	return nil
}

// Enricher holds the current catalog and replaces it when the file
// changes. Workers read it with one atomic load per batch.
type Enricher struct {
	cfg     Config
	log     zerolog.Logger
	current atomic.Pointer[Index]

	mu        sync.Mutex // serialises reloads
	stamp     fileStamp
	file      *Index    // the file catalog alone
	ctl       *Snapshot // the controller's last answer, if any
	ctlSeen   []byte    // its JSON, to notice changes
	ctlClient *Controller
	polls     *prometheus.CounterVec
	onLoad    []func(*Index)
	reloads   *prometheus.CounterVec
	unknown   prometheus.Counter
	info      *prometheus.GaugeVec
	sessions  *sessionWatch
}

type fileStamp struct {
	mod  time.Time
	size int64
	ino  uint64
}

func stampOf(fi os.FileInfo) fileStamp {
	s := fileStamp{mod: fi.ModTime(), size: fi.Size()}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		s.ino = st.Ino
	}
	return s
}

// New loads the catalog file, if one is configured; a bad one stops
// start-up with the reason.
func New(cfg Config, reg prometheus.Registerer, log zerolog.Logger) (*Enricher, error) {
	e := &Enricher{cfg: cfg, log: log, sessions: newSessionWatch(time.Duration(cfg.MissingSessionEndAfter), log),
		reloads: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vca_collector_catalog_reloads_total", Help: "Policy catalog loads, by result (ok, error).",
		}, []string{"result"}),
		unknown: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "vca_collector_unknown_rule_events_total", Help: "Events whose rule UUID the policy catalog does not name.",
		}),
		info: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "vca_collector_catalog_info", Help: "The policy catalog in use (value 1), by version, mode and agent class.",
		}, []string{"version", "mode", "agent_class"}),
	}
	e.polls = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "vca_collector_catalog_controller_polls_total", Help: "Polls of the Aviatrix controller's policy list, by result (ok, error).",
	}, []string{"result"})
	e.reloads.WithLabelValues("ok")
	e.reloads.WithLabelValues("error")
	if reg != nil {
		reg.MustRegister(e.reloads, e.unknown, e.info, e.sessions.gauge)
	}
	if cfg.Controller != nil {
		c, err := NewController(*cfg.Controller)
		if err != nil {
			return nil, err
		}
		e.ctlClient = c
		e.polls.WithLabelValues("ok")
		e.polls.WithLabelValues("error")
		if reg != nil {
			reg.MustRegister(e.polls)
		}
	}
	ix := Empty()
	if cfg.File != "" {
		fi, err := os.Stat(cfg.File)
		if err == nil {
			e.stamp = stampOf(fi)
			ix, err = LoadFile(cfg.File)
		}
		if err != nil {
			return nil, err
		}
		e.reloads.WithLabelValues("ok").Inc()
	}
	e.file = ix
	e.set(ix)
	return e, nil
}

// rebuildLocked compiles the file catalog merged with the controller's
// answer and makes it current.
func (e *Enricher) rebuildLocked() *Index {
	ix := e.file
	if e.ctl != nil {
		merged := Merge(e.file.Catalog, e.ctl)
		raw, _ := json.Marshal(merged)
		ix = compile(merged, raw)
	}
	e.set(ix)
	return ix
}

func (e *Enricher) set(ix *Index) {
	e.info.Reset()
	c := ix.Catalog
	e.info.WithLabelValues(c.Version, c.Mode, c.AgentClass).Set(1)
	e.current.Store(ix)
}

// Current is the catalog in use.
func (e *Enricher) Current() *Index { return e.current.Load() }

// OnLoad registers f to run with the catalog file in use now and after
// every successful reload (the ClickHouse sink snapshots it into
// policy_rules).
func (e *Enricher) OnLoad(f func(*Index)) {
	e.mu.Lock()
	e.onLoad = append(e.onLoad, f)
	e.mu.Unlock()
	if e.cfg.File != "" {
		f(e.Current())
	}
}

// EnrichBatch stamps every event with the current catalog.
func (e *Enricher) EnrichBatch(events []parse.Event) {
	ix := e.current.Load()
	var out Outcome
	for i := range events {
		ix.Enrich(&events[i], &out)
	}
	if out.UnknownRules > 0 {
		e.unknown.Add(float64(out.UnknownRules))
	}
	e.sessions.observe(events)
}

// Reload reads the file again. A catalog that does not load is logged and
// counted, and the one in use stays.
func (e *Enricher) Reload() error {
	if e.cfg.File == "" {
		return nil
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	fi, err := os.Stat(e.cfg.File)
	var ix *Index
	if err == nil {
		e.stamp = stampOf(fi)
		ix, err = LoadFile(e.cfg.File)
	}
	if err != nil {
		e.reloads.WithLabelValues("error").Inc()
		e.log.Error().Err(err).Str("in_use", e.Current().Version()).Msg("policy catalog rejected; the one in use stays")
		return err
	}
	old := e.Current().Version()
	e.file = ix
	ix = e.rebuildLocked()
	e.reloads.WithLabelValues("ok").Inc()
	e.log.Info().Str("version", ix.Version()).Str("previous", old).Int("rules", len(ix.Catalog.Rules)).
		Int("smart_groups", len(ix.Catalog.SmartGroups)).Int("web_groups", len(ix.Catalog.WebGroups)).
		Msg("policy catalog loaded")
	for _, f := range e.onLoad {
		f(ix)
	}
	return nil
}

// Watch reloads the catalog when the file changes (a new modification
// time, size or inode: editors and Terraform replace it by rename), until
// ctx ends. SIGHUP reaches Reload through the daemon.
func (e *Enricher) Watch(ctx context.Context) {
	if e.ctlClient != nil {
		go e.pollController(ctx)
	}
	if e.cfg.File == "" {
		return
	}
	t := time.NewTicker(time.Duration(e.cfg.CheckInterval))
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			fi, err := os.Stat(e.cfg.File)
			if err != nil {
				continue // mid-replace, or gone: keep the one in use
			}
			e.mu.Lock()
			changed := stampOf(fi) != e.stamp
			e.mu.Unlock()
			if changed {
				e.Reload()
			}
		}
	}
}

// pollController asks the controller at once and then every poll
// interval; a failed poll keeps the last answer.
func (e *Enricher) pollController(ctx context.Context) {
	t := time.NewTicker(time.Duration(e.cfg.Controller.PollInterval))
	defer t.Stop()
	for {
		e.PollController(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// PollController fetches the controller's policies and groups once and,
// when they changed, rebuilds the catalog in use.
func (e *Enricher) PollController(ctx context.Context) error {
	snap, err := e.ctlClient.Fetch(ctx)
	if err != nil {
		e.polls.WithLabelValues("error").Inc()
		e.log.Error().Err(err).Msg("controller poll failed; keeping what is known")
		return err
	}
	e.polls.WithLabelValues("ok").Inc()
	seen, _ := json.Marshal(snap)
	e.mu.Lock()
	defer e.mu.Unlock()
	if bytes.Equal(seen, e.ctlSeen) {
		return nil
	}
	e.ctl, e.ctlSeen = snap, seen
	ix := e.rebuildLocked()
	e.log.Info().Str("version", ix.Version()).Int("controller_rules", len(snap.Rules)).
		Int("rules", len(ix.Catalog.Rules)).Msg("policy catalog merged with the controller's policy list")
	for _, f := range e.onLoad {
		f(ix)
	}
	return nil
}
