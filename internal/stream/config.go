// Package stream is the Kafka side that edge and writer collectors share:
// the configuration of the brokers, topic and credentials (TLS, SASL PLAIN
// or SCRAM), the connections built from it, and the message format (one
// event as one JSON object whose keys are the audit store's column names,
// keyed by gateway), with its decoder.
package stream

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/sasl"
	"github.com/segmentio/kafka-go/sasl/plain"
	"github.com/segmentio/kafka-go/sasl/scram"

	"github.com/openclaw-vca/openclaw-vca/internal/config"
)

// Config is the kafka section of the collector configuration;
// examples/collector.yaml documents every key.
type Config struct {
	Brokers  []string          `yaml:"brokers"`
	Topic    string            `yaml:"topic"`
	ClientID string            `yaml:"client_id"`
	TLS      *config.ClientTLS `yaml:"tls"`
	SASL     *SASL             `yaml:"sasl"`
	Producer ProducerConfig    `yaml:"producer"`
	Consumer ConsumerConfig    `yaml:"consumer"`
}

// SASL authenticates to the brokers.
type SASL struct {
	Mechanism    string `yaml:"mechanism"` // plain, scram-sha-256 or scram-sha-512
	Username     string `yaml:"username"`
	Password     string `yaml:"password"` // prefer password_file or VCA_KAFKA_SASL_PASSWORD
	PasswordFile string `yaml:"password_file"`
}

// ProducerConfig shapes the edge's writes.
type ProducerConfig struct {
	// Compression of record batches: none, gzip, snappy, lz4 or zstd.
	Compression string `yaml:"compression"`
	// Linger bounds how long a partly filled record batch waits for more.
	Linger config.Duration `yaml:"linger"`
	// BatchMessages caps the records of one partition's batch.
	BatchMessages int `yaml:"batch_messages"`
	// InFlight pipeline batches may be waiting for the brokers' acks at
	// once; past that, the pipeline (and behind it, the spool) waits.
	InFlight int `yaml:"in_flight"`
	// Timeout of one produce request; a timed-out request is retried.
	Timeout config.Duration `yaml:"timeout"`
	// MaxRetryBackoff caps the wait between retries while the brokers
	// are unreachable.
	MaxRetryBackoff config.Duration `yaml:"max_retry_backoff"`
}

// ConsumerConfig shapes the writers' reads.
type ConsumerConfig struct {
	// Group is the consumer group the writers share.
	Group string `yaml:"group"`
	// SessionTimeout: a writer silent this long loses its partitions.
	SessionTimeout config.Duration `yaml:"session_timeout"`
	// RebalanceTimeout bounds how long a member may take to rejoin, which
	// includes finishing the inserts of the partitions it gives up.
	RebalanceTimeout config.Duration `yaml:"rebalance_timeout"`
	// MaxWait is the longest a fetch waits for new records.
	MaxWait config.Duration `yaml:"max_wait"`
	// FetchMessages records are decoded and handed to ClickHouse at once.
	FetchMessages int `yaml:"fetch_messages"`
	// ChainPrefix names the hash chains: one per partition,
	// "<prefix><topic>/<partition>".
	ChainPrefix string `yaml:"chain_prefix"`
	// DedupeWindow is how many of a partition's latest records a writer
	// remembers the edge event ids of, to drop a record an edge produced
	// twice; -1 turns it off.
	DedupeWindow int `yaml:"dedupe_window"`
}

func (c *Config) SetDefaults() {
	if c.Topic == "" {
		c.Topic = "vca-dcf-events"
	}
	if c.ClientID == "" {
		c.ClientID = "vca-collector"
	}
	p := &c.Producer
	if p.Compression == "" {
		p.Compression = "lz4"
	}
	if p.Linger == 0 {
		p.Linger = config.Duration(5 * time.Millisecond)
	}
	if p.BatchMessages == 0 {
		// kafka-go allocates room for this many records with every
		// partition batch it starts: with 10 000 that was 1.5 MB zeroed
		// per batch of a few hundred records and a third of the edge's
		// CPU (make bench-kafka). A pipeline batch is at most 1 024
		// records, spread over the partitions.
		p.BatchMessages = 1000
	}
	if p.InFlight == 0 {
		p.InFlight = 4
	}
	if p.Timeout == 0 {
		p.Timeout = config.Duration(10 * time.Second)
	}
	if p.MaxRetryBackoff == 0 {
		p.MaxRetryBackoff = config.Duration(10 * time.Second)
	}
	k := &c.Consumer
	if k.Group == "" {
		k.Group = "vca-writers"
	}
	if k.SessionTimeout == 0 {
		k.SessionTimeout = config.Duration(10 * time.Second)
	}
	if k.RebalanceTimeout == 0 {
		k.RebalanceTimeout = config.Duration(60 * time.Second)
	}
	if k.MaxWait == 0 {
		k.MaxWait = config.Duration(250 * time.Millisecond)
	}
	if k.FetchMessages == 0 {
		k.FetchMessages = 2000
	}
	if k.ChainPrefix == "" {
		k.ChainPrefix = "kafka:"
	}
	if k.DedupeWindow == 0 {
		k.DedupeWindow = 50000
	}
}

func (c *Config) Validate() error {
	if len(c.Brokers) == 0 {
		return config.FieldError("brokers", errors.New("list at least one broker host:port"))
	}
	for i, b := range c.Brokers {
		if _, _, err := net.SplitHostPort(b); err != nil {
			return config.FieldError(fmt.Sprintf("brokers[%d]", i), fmt.Errorf("%q is not host:port", b))
		}
	}
	if strings.ContainsAny(c.Topic, " /\\,") || len(c.Topic) > 249 {
		return config.FieldError("topic", fmt.Errorf("%q is not a valid topic name", c.Topic))
	}
	if _, err := compression(c.Producer.Compression); err != nil {
		return config.FieldError("producer.compression", err)
	}
	switch {
	case c.Producer.BatchMessages < 1:
		return config.FieldError("producer.batch_messages", errors.New("must be at least 1"))
	case c.Producer.InFlight < 1 || c.Producer.InFlight > 64:
		return config.FieldError("producer.in_flight", fmt.Errorf("%d is outside 1..64", c.Producer.InFlight))
	case time.Duration(c.Producer.Timeout) < 100*time.Millisecond:
		return config.FieldError("producer.timeout", fmt.Errorf("%v is below 100ms", c.Producer.Timeout))
	case c.Consumer.DedupeWindow < -1:
		return config.FieldError("consumer.dedupe_window", errors.New("must be a record count, or -1 to turn it off"))
	case c.Consumer.FetchMessages < 1:
		return config.FieldError("consumer.fetch_messages", errors.New("must be at least 1"))
	case time.Duration(c.Consumer.SessionTimeout) < time.Second:
		return config.FieldError("consumer.session_timeout", fmt.Errorf("%v is below 1s", c.Consumer.SessionTimeout))
	case time.Duration(c.Consumer.RebalanceTimeout) < time.Duration(c.Consumer.SessionTimeout):
		return config.FieldError("consumer.rebalance_timeout", errors.New("must not be shorter than session_timeout"))
	}
	if c.TLS != nil {
		if _, err := c.TLS.Build(); err != nil {
			return config.FieldError("tls", err)
		}
	}
	if c.SASL != nil {
		if _, err := c.SASL.mechanism(); err != nil {
			return config.FieldError("sasl", err)
		}
	}
	return nil
}

func compression(name string) (kafka.Compression, error) {
	switch name {
	case "none":
		return 0, nil
	case "gzip":
		return kafka.Gzip, nil
	case "snappy":
		return kafka.Snappy, nil
	case "lz4":
		return kafka.Lz4, nil
	case "zstd":
		return kafka.Zstd, nil
	}
	return 0, fmt.Errorf("%q: want none, gzip, snappy, lz4 or zstd", name)
}

func (s *SASL) mechanism() (sasl.Mechanism, error) {
	pw := s.Password
	if s.PasswordFile != "" {
		if s.Password != "" {
			return nil, errors.New("set either password or password_file, not both")
		}
		var err error
		if pw, err = config.ReadSecret(s.PasswordFile); err != nil {
			return nil, fmt.Errorf("password_file: %w", err)
		}
	}
	if s.Username == "" {
		return nil, errors.New("username: is required")
	}
	switch strings.ToLower(s.Mechanism) {
	case "plain":
		return plain.Mechanism{Username: s.Username, Password: pw}, nil
	case "scram-sha-256":
		return scram.Mechanism(scram.SHA256, s.Username, pw)
	case "scram-sha-512":
		return scram.Mechanism(scram.SHA512, s.Username, pw)
	}
	return nil, fmt.Errorf("mechanism: %q is not plain, scram-sha-256 or scram-sha-512", s.Mechanism)
}

// security returns the TLS configuration and SASL mechanism, either nil
// when not configured.
func (c *Config) security() (*tls.Config, sasl.Mechanism, error) {
	var t *tls.Config
	var m sasl.Mechanism
	var err error
	if c.TLS != nil {
		if t, err = c.TLS.Build(); err != nil {
			return nil, nil, fmt.Errorf("kafka tls: %w", err)
		}
	}
	if c.SASL != nil {
		if m, err = c.SASL.mechanism(); err != nil {
			return nil, nil, fmt.Errorf("kafka sasl: %w", err)
		}
	}
	return t, m, nil
}

// Dialer is what readers and the consumer group connect with.
func (c *Config) Dialer() (*kafka.Dialer, error) {
	t, m, err := c.security()
	if err != nil {
		return nil, err
	}
	return &kafka.Dialer{ClientID: c.ClientID, Timeout: 10 * time.Second, DualStack: true, TLS: t, SASLMechanism: m}, nil
}

// Writer is the producer of the edge: every record acknowledged by all
// in-sync replicas, the balancer hashing the key (the gateway) as Java
// clients do, so a gateway's records share a partition.
func (c *Config) Writer() (*kafka.Writer, error) {
	t, m, err := c.security()
	if err != nil {
		return nil, err
	}
	codec, _ := compression(c.Producer.Compression)
	return &kafka.Writer{
		Addr:         kafka.TCP(c.Brokers...),
		Topic:        c.Topic,
		Balancer:     &kafka.Murmur2Balancer{},
		RequiredAcks: kafka.RequireAll,
		Compression:  codec,
		BatchSize:    c.Producer.BatchMessages,
		BatchBytes:   64 << 20,
		BatchTimeout: time.Duration(c.Producer.Linger),
		WriteTimeout: time.Duration(c.Producer.Timeout),
		ReadTimeout:  time.Duration(c.Producer.Timeout),
		MaxAttempts:  1, // the sink retries, with backoff, for as long as it takes
		Transport:    &kafka.Transport{ClientID: c.ClientID, TLS: t, SASL: m, DialTimeout: 5 * time.Second, IdleTimeout: time.Minute},
	}, nil
}
