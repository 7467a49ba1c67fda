package collector

import (
	"context"
	"errors"
	"net"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/openclaw-vca/openclaw-vca/internal/enrich"
	"github.com/openclaw-vca/openclaw-vca/internal/listen"
	"github.com/openclaw-vca/openclaw-vca/internal/parse"
	"github.com/openclaw-vca/openclaw-vca/internal/pipeline"
	"github.com/openclaw-vca/openclaw-vca/internal/sink"
	"github.com/openclaw-vca/openclaw-vca/internal/sink/clickhouse"
	"github.com/openclaw-vca/openclaw-vca/internal/sink/file"
	kafkasink "github.com/openclaw-vca/openclaw-vca/internal/sink/kafka"
	"github.com/openclaw-vca/openclaw-vca/internal/spool"
)

// receiver is the half that takes syslog in: listeners → spool →
// pipeline → sinks (the file, and Kafka at an edge or ClickHouse itself in
// mode all without Kafka).
type receiver struct {
	log      zerolog.Logger
	spool    *spool.Spool
	pipeline *pipeline.Pipeline
	sinks    []sink.Sink
	udp      []*listen.UDPServer
	tcp      []*listen.TCPServer
	serving  sync.WaitGroup
}

// newReceiver opens the sinks and the spool and binds every listener, so
// that a wrong address or permission fails the start; on error it closes
// what it opened.
func newReceiver(cfg Config, parser *parse.Parser, en *enrich.Enricher, reg prometheus.Registerer, log zerolog.Logger) (*receiver, error) {
	r := &receiver{log: log}
	if err := r.open(cfg, parser, en, reg); err != nil {
		r.Shutdown(context.Background())
		return nil, err
	}
	return r, nil
}

func (r *receiver) open(cfg Config, parser *parse.Parser, en *enrich.Enricher, reg prometheus.Registerer) error {
	if cfg.Sinks.File != nil {
		fs, err := file.New(*cfg.Sinks.File)
		if err != nil {
			return err
		}
		r.sinks = append(r.sinks, fs)
	}
	if cfg.Kafka != nil {
		ks, err := kafkasink.New(*cfg.Kafka, reg, r.log)
		if err != nil {
			return err
		}
		r.sinks = append(r.sinks, ks)
	}
	if cfg.direct() && cfg.Sinks.ClickHouse != nil {
		ctx, cancel := context.WithTimeout(context.Background(), openTimeout(cfg.Sinks.ClickHouse))
		chs, err := clickhouse.New(ctx, *cfg.Sinks.ClickHouse, reg, r.log)
		cancel()
		if err != nil {
			return err
		}
		r.sinks = append(r.sinks, chs)
		en.OnLoad(chs.Store().RecordCatalog)
	}
	sp, err := spool.Open(cfg.Spool, reg, r.log)
	if err != nil {
		return err
	}
	r.spool = sp
	r.pipeline = pipeline.New(cfg.Pipeline, parser, en, sp, r.sinks, reg, r.log)
	lm := listen.NewMetrics(reg)
	for _, lc := range cfg.Listeners.UDP {
		s, err := listen.NewUDPServer(lc, r.pipeline, lm, r.log)
		if err != nil {
			return err
		}
		r.udp = append(r.udp, s)
	}
	for _, lc := range cfg.Listeners.TCP {
		s, err := listen.NewTCPServer(lc, r.pipeline, lm, r.log)
		if err != nil {
			return err
		}
		r.tcp = append(r.tcp, s)
	}
	return nil
}

func (r *receiver) Name() string { return "receiver" }

// Start runs the pipeline, then serves every listener.
func (r *receiver) Start(context.Context) error {
	r.pipeline.Start()
	for _, s := range r.udp {
		r.serving.Add(1)
		go func() { defer r.serving.Done(); s.Serve() }()
		r.log.Info().Str("listener", s.Source().Listener).Str("address", s.Addr().String()).
			Int("receive_buffer", s.ReceiveBuffer()).Msg("listening (udp)")
	}
	for _, s := range r.tcp {
		r.serving.Add(1)
		go func() { defer r.serving.Done(); s.Serve() }()
		r.log.Info().Str("listener", s.Source().Listener).Str("address", s.Addr().String()).
			Str("transport", s.Source().Transport).Msg("listening")
	}
	return nil
}

// Shutdown stops reading from the network, closes the spool to appends,
// delivers what it holds until ctx ends, shuts the sinks down (their last
// batches become durable and are committed) and closes the spool. What is
// not delivered by then stays in the spool for the next start. It is safe
// on a receiver that never started, or only half opened.
func (r *receiver) Shutdown(ctx context.Context) error {
	closed := make(chan struct{})
	go func() {
		for _, s := range r.udp {
			s.Close()
		}
		for _, s := range r.tcp {
			s.Close()
		}
		r.serving.Wait()
		close(closed)
	}()
	var wait time.Duration // no deadline: close the spool to appends at once
	if deadline, ok := ctx.Deadline(); ok {
		wait = time.Until(deadline) / 2
	}
	select {
	case <-closed:
	case <-time.After(wait):
		// Readers blocked on a full spool: refuse their last messages.
		r.log.Warn().Msg("listeners still blocked on a full spool; closing it to appends")
	}
	if r.spool != nil {
		r.spool.CloseWriter()
	}
	<-closed
	var err error
	if r.pipeline != nil {
		err = r.pipeline.Stop(ctx)
	}
	for _, s := range r.sinks {
		if d, ok := s.(sink.Shutdowner); ok {
			err = errors.Join(err, d.Shutdown(ctx))
		} else {
			err = errors.Join(err, s.Close())
		}
	}
	if r.spool != nil {
		err = errors.Join(err, r.spool.Close())
	}
	return err
}

// Stall reports the pipeline's sinks not making events durable.
func (r *receiver) Stall(after time.Duration) error { return r.pipeline.Stall(after) }

// reloadTLS re-reads every TLS listener's certificate; a listener that
// fails keeps the one it has.
func (r *receiver) reloadTLS() {
	for _, s := range r.tcp {
		if err := s.ReloadTLS(); err != nil {
			r.log.Error().Err(err).Str("listener", s.Source().Listener).Msg("TLS reload failed; keeping the previous certificate")
		} else if s.Source().Transport == "tls" {
			r.log.Info().Str("listener", s.Source().Listener).Msg("TLS certificate reloaded")
		}
	}
}

// addrs adds the bound listener addresses by name to m.
func (r *receiver) addrs(m map[string]net.Addr) {
	for _, s := range r.udp {
		m[s.Source().Listener] = s.Addr()
	}
	for _, s := range r.tcp {
		m[s.Source().Listener] = s.Addr()
	}
}
