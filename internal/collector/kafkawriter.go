package collector

import (
	"context"
	"errors"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/openclaw-vca/openclaw-vca/internal/enrich"
	"github.com/openclaw-vca/openclaw-vca/internal/parse"
	"github.com/openclaw-vca/openclaw-vca/internal/sink/clickhouse"
	"github.com/openclaw-vca/openclaw-vca/internal/writer"
)

// kafkaWriter is the half that stores what edges produced: the Kafka
// consumer group → the ClickHouse store, one hash chain per partition.
type kafkaWriter struct {
	log          zerolog.Logger
	topic, group string
	store        *clickhouse.Store
	writer       *writer.Writer
	stop         context.CancelFunc // nil until Start
	done         chan error         // Run's result
}

// newKafkaWriter opens the store (checking the schema and the server) and
// the consumer's configuration; on error it closes what it opened.
func newKafkaWriter(cfg Config, en *enrich.Enricher, parseOpts parse.Options, reg prometheus.Registerer, log zerolog.Logger) (*kafkaWriter, error) {
	ctx, cancel := context.WithTimeout(context.Background(), openTimeout(cfg.Sinks.ClickHouse))
	st, err := clickhouse.OpenStore(ctx, *cfg.Sinks.ClickHouse, reg, log)
	cancel()
	if err != nil {
		return nil, err
	}
	en.OnLoad(st.RecordCatalog)
	w, err := writer.New(*cfg.Kafka, st, parseOpts, reg, log)
	if err != nil {
		st.Close()
		return nil, err
	}
	return &kafkaWriter{log: log, topic: cfg.Kafka.Topic, group: cfg.Kafka.Consumer.Group, store: st, writer: w, done: make(chan error, 1)}, nil
}

func (k *kafkaWriter) Name() string { return "kafka writer" }

// Start joins the consumer group. The consumer runs until Shutdown, not
// until ctx ends: ctx bounds only the start.
func (k *kafkaWriter) Start(context.Context) error {
	ctx, stop := context.WithCancel(context.Background())
	k.stop = stop
	go func() { k.done <- k.writer.Run(ctx) }()
	k.log.Info().Str("topic", k.topic).Str("group", k.group).Msg("consuming from kafka into clickhouse")
	return nil
}

// Shutdown leaves the group once every partition's inserted records are
// committed, then closes the store. Records not committed by the end of
// ctx are read again by the next start.
func (k *kafkaWriter) Shutdown(ctx context.Context) error {
	var err error
	if k.stop != nil {
		k.stop()
		select {
		case err = <-k.done:
		case <-ctx.Done():
			err = errors.New("kafka writer: shutdown deadline passed with partitions still flushing; uncommitted records are read again")
		}
	}
	return errors.Join(err, k.store.Close())
}

// Stall reports a partition whose records are not becoming durable.
func (k *kafkaWriter) Stall(after time.Duration) error { return k.writer.Stall(after) }
