package clickhouse

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strings"
	"time"

	"github.com/openclaw-vca/openclaw-vca/internal/config"
)

// Config is the sinks.clickhouse section; examples/collector.yaml documents
// every key.
type Config struct {
	Addresses    []string `yaml:"addresses"` // native protocol host:port
	Database     string   `yaml:"database"`
	Username     string   `yaml:"username"`
	Password     string   `yaml:"password"` // prefer password_file or VCA_SINKS_CLICKHOUSE_PASSWORD
	PasswordFile string   `yaml:"password_file"`
	TLS          *TLS     `yaml:"tls"`
	Compression  string   `yaml:"compression"` // auto, lz4, zstd or none

	BatchSize     int             `yaml:"batch_size"`
	FlushInterval config.Duration `yaml:"flush_interval"`
	Inserters     int             `yaml:"inserters"`
	// MaxPendingBatches sealed batches may wait for an inserter; past that,
	// Write blocks and the pipeline pushes back on the listeners.
	MaxPendingBatches int `yaml:"max_pending_batches"`
	// MaxConnections caps the pool of connections for DDL, queries and
	// policy_rules; 0 means 4. Each inserter and the recorder keep one
	// native connection of their own besides.
	MaxConnections  int             `yaml:"max_connections"`
	DialTimeout     config.Duration `yaml:"dial_timeout"`
	InsertTimeout   config.Duration `yaml:"insert_timeout"`
	MaxRetryBackoff config.Duration `yaml:"max_retry_backoff"`

	// Cluster names the ClickHouse cluster (remote_servers) to create the
	// schema on: Replicated tables on every shard behind Distributed ones,
	// migrations ON CLUSTER. Needs Keeper.
	Cluster       string `yaml:"cluster"`
	CreateSchema  *bool  `yaml:"create_schema"`
	RetentionDays int    `yaml:"retention_days"`
	// InsertSettings are ClickHouse settings sent with every INSERT of
	// events (for example async_insert); the deduplication settings the
	// sink relies on cannot be overridden.
	InsertSettings map[string]string `yaml:"insert_settings"`
	// ChainID names this collector's ingest_batches hash chain.
	ChainID       string `yaml:"chain_id"`
	DeadLetterDir string `yaml:"dead_letter_dir"`
}

// TLS configures an encrypted connection to ClickHouse (its tcp_port_secure).
type TLS = config.ClientTLS

func (c *Config) SetDefaults() {
	if len(c.Addresses) == 0 {
		c.Addresses = []string{"127.0.0.1:9000"}
	}
	if c.Database == "" {
		c.Database = "vca"
	}
	if c.Username == "" {
		c.Username = "default"
	}
	if c.Compression == "" {
		c.Compression = "auto"
	}
	if c.BatchSize == 0 {
		c.BatchSize = 20000
	}
	if c.FlushInterval == 0 {
		c.FlushInterval = config.Duration(time.Second)
	}
	if c.Inserters == 0 {
		// One inserter keeps a batch building while the previous one is
		// sent; a second costs a batch and ch-go's encode and compress
		// buffers (about 35 MB at 20 000 rows) and gained nothing when
		// the server shares the host (bench/README.md).
		c.Inserters = 1
	}
	if c.MaxPendingBatches == 0 {
		c.MaxPendingBatches = 1
	}
	if c.DialTimeout == 0 {
		c.DialTimeout = config.Duration(5 * time.Second)
	}
	if c.InsertTimeout == 0 {
		c.InsertTimeout = config.Duration(time.Minute)
	}
	if c.MaxRetryBackoff == 0 {
		c.MaxRetryBackoff = config.Duration(30 * time.Second)
	}
	if c.CreateSchema == nil {
		t := true
		c.CreateSchema = &t
	}
	if c.ChainID == "" {
		c.ChainID, _ = os.Hostname()
	}
	if c.DeadLetterDir == "" {
		c.DeadLetterDir = "./data/dead-letter"
	}
}

func (c *Config) Validate() error {
	for i, a := range c.Addresses {
		if _, _, err := net.SplitHostPort(a); err != nil {
			return config.FieldError(fmt.Sprintf("addresses[%d]", i), fmt.Errorf("%q is not host:port", a))
		}
	}
	if strings.ContainsAny(c.Cluster, "`'\" ") {
		return config.FieldError("cluster", fmt.Errorf("%q: quotes and spaces are not allowed", c.Cluster))
	}
	if strings.ContainsAny(c.Database, "`'\" ") {
		return config.FieldError("database", fmt.Errorf("%q: quotes and spaces are not allowed", c.Database))
	}
	if c.Password != "" && c.PasswordFile != "" {
		return config.FieldError("password_file", errors.New("set either password or password_file, not both"))
	}
	switch c.Compression {
	case "auto", "lz4", "zstd", "none":
	default:
		return config.FieldError("compression", fmt.Errorf("%q: want auto, lz4, zstd or none", c.Compression))
	}
	switch {
	case c.BatchSize < 1 || c.BatchSize > 10_000_000:
		return config.FieldError("batch_size", fmt.Errorf("%d is outside 1..10000000", c.BatchSize))
	case time.Duration(c.FlushInterval) < 10*time.Millisecond:
		return config.FieldError("flush_interval", fmt.Errorf("%v is below 10ms", c.FlushInterval))
	case c.Inserters < 1 || c.Inserters > 64:
		return config.FieldError("inserters", fmt.Errorf("%d is outside 1..64", c.Inserters))
	case c.MaxConnections < 0 || c.MaxConnections > 1024:
		return config.FieldError("max_connections", fmt.Errorf("%d is outside 0..1024", c.MaxConnections))
	case c.MaxPendingBatches < 1:
		return config.FieldError("max_pending_batches", errors.New("must be at least 1"))
	case c.RetentionDays < 0:
		return config.FieldError("retention_days", errors.New("must not be negative"))
	case c.ChainID == "":
		return config.FieldError("chain_id", errors.New("is required (the host name could not be read)"))
	}
	if c.TLS != nil {
		if _, err := c.TLS.Build(); err != nil {
			return config.FieldError("tls", err)
		}
	}
	for k := range c.InsertSettings {
		switch k {
		case "insert_deduplication_token", "deduplicate_blocks_in_dependent_materialized_views", "insert_deduplicate", "deduplicate_insert", "insert_distributed_sync":
			return config.FieldError("insert_settings."+k, errors.New("is set by the sink: every event once depends on it"))
		}
	}
	if c.PasswordFile != "" {
		if _, err := os.ReadFile(c.PasswordFile); err != nil {
			return config.FieldError("password_file", err)
		}
	}
	return nil
}

// wireCompression is the compression the connections use. auto means none
// when every server is on this host, where LZ4 saves no bandwidth and
// costs both ends CPU (a fifth of the collector's at 100 000 events/s,
// bench/README.md), and lz4 otherwise.
func (c *Config) wireCompression() string {
	if c.Compression != "auto" {
		return c.Compression
	}
	for _, a := range c.Addresses {
		host, _, err := net.SplitHostPort(a)
		if err != nil {
			return "lz4"
		}
		if ip, err := netip.ParseAddr(host); host != "localhost" && (err != nil || !ip.IsLoopback()) {
			return "lz4"
		}
	}
	return "none"
}

func (c *Config) password() (string, error) {
	if c.PasswordFile == "" {
		return c.Password, nil
	}
	return config.ReadSecret(c.PasswordFile)
}
