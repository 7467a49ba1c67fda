// Package collector assembles the vca-collector daemon from one
// configuration: the halves its mode runs — the receiver (listeners →
// spool → pipeline → sinks) and the Kafka writer (consumer group →
// ClickHouse store), each a component with Start and Shutdown — and the
// admin endpoints; it starts them in order and stops them in reverse.
package collector

import (
	"errors"
	"fmt"
	"time"

	"github.com/openclaw-vca/openclaw-vca/internal/config"
	"github.com/openclaw-vca/openclaw-vca/internal/enrich"
	"github.com/openclaw-vca/openclaw-vca/internal/listen"
	"github.com/openclaw-vca/openclaw-vca/internal/pipeline"
	"github.com/openclaw-vca/openclaw-vca/internal/sink/clickhouse"
	"github.com/openclaw-vca/openclaw-vca/internal/sink/file"
	"github.com/openclaw-vca/openclaw-vca/internal/spool"
	"github.com/openclaw-vca/openclaw-vca/internal/stream"
)

// Config is the whole collector configuration; examples/collector.yaml
// documents every key.
type Config struct {
	// Mode is edge (receive, produce to Kafka), writer (consume Kafka,
	// insert into ClickHouse) or all (both in one process; without a kafka
	// section, receive straight into the sinks).
	Mode            string          `yaml:"mode"`
	Kafka           *stream.Config  `yaml:"kafka"`
	Listeners       Listeners       `yaml:"listeners"`
	Parse           ParseConfig     `yaml:"parse"`
	Catalog         enrich.Config   `yaml:"catalog"`
	Spool           spool.Config    `yaml:"spool"`
	Pipeline        pipeline.Config `yaml:"pipeline"`
	Sinks           Sinks           `yaml:"sinks"`
	Admin           AdminConfig     `yaml:"admin"`
	Log             LogConfig       `yaml:"log"`
	ShutdownTimeout config.Duration `yaml:"shutdown_timeout"`
}

type Listeners struct {
	UDP []listen.UDPConfig `yaml:"udp"`
	TCP []listen.TCPConfig `yaml:"tcp"`
}

type ParseConfig struct {
	// TimeZone of timestamps that carry none (RFC3164 headers, the L4 inner
	// time). Aviatrix gateways log in UTC.
	TimeZone string `yaml:"time_zone"`
}

type Sinks struct {
	File       *file.Config       `yaml:"file"`
	ClickHouse *clickhouse.Config `yaml:"clickhouse"`
}

type AdminConfig struct {
	// Address serves /metrics, /healthz and /readyz; empty disables it.
	Address string `yaml:"address"`
	// StallAfter is how long events may wait with none becoming durable
	// (the pipeline's sinks, or a writer's partition) before /readyz
	// answers 503 and a warning names what is stuck.
	StallAfter config.Duration `yaml:"stall_after"`
}

type LogConfig struct {
	Level  string `yaml:"level"`  // debug, info, warn, error
	Format string `yaml:"format"` // json or console
}

// Modes.
const (
	ModeAll    = "all"
	ModeEdge   = "edge"
	ModeWriter = "writer"
)

// receives: listeners, spool and pipeline run. consumes: a Kafka writer
// runs. direct: the pipeline's sinks include ClickHouse itself.
func (c *Config) receives() bool { return c.Mode != ModeWriter }
func (c *Config) consumes() bool {
	return c.Mode == ModeWriter || (c.Mode == ModeAll && c.Kafka != nil)
}
func (c *Config) direct() bool { return c.Mode == ModeAll && c.Kafka == nil }

func (c *Config) SetDefaults() {
	if c.Mode == "" {
		c.Mode = ModeAll
	}
	if c.direct() && c.Sinks.File == nil && c.Sinks.ClickHouse == nil {
		c.Sinks.File = &file.Config{Path: "./data/events.jsonl"}
	}
	if c.Parse.TimeZone == "" {
		c.Parse.TimeZone = "UTC"
	}
	if c.Log.Level == "" {
		c.Log.Level = "info"
	}
	if c.Log.Format == "" {
		c.Log.Format = "json"
	}
	if c.ShutdownTimeout == 0 {
		c.ShutdownTimeout = config.Duration(15 * time.Second)
	}
	if c.Admin.StallAfter == 0 {
		c.Admin.StallAfter = config.Duration(2 * time.Minute)
	}
}

func (c *Config) Validate() error {
	switch c.Mode {
	case ModeAll, ModeEdge, ModeWriter:
	default:
		return config.FieldError("mode", fmt.Errorf("%q is not edge, writer or all", c.Mode))
	}
	if c.Mode != ModeAll && c.Kafka == nil {
		return config.FieldError("kafka", fmt.Errorf("is required in %s mode", c.Mode))
	}
	if c.Mode == ModeEdge && c.Sinks.ClickHouse != nil {
		return config.FieldError("sinks.clickhouse", errors.New("edge collectors produce to Kafka and writers insert into ClickHouse: remove this section or use mode all"))
	}
	if c.consumes() && c.Sinks.ClickHouse == nil {
		return config.FieldError("sinks.clickhouse", fmt.Errorf("is required: the %s mode inserts what it consumes from Kafka into ClickHouse", c.Mode))
	}
	switch n := len(c.Listeners.UDP) + len(c.Listeners.TCP); {
	case !c.receives() && (n > 0 || c.Sinks.File != nil):
		return config.FieldError("listeners", errors.New("writer collectors do not receive syslog: remove listeners and sinks.file, or use mode edge or all"))
	case c.receives() && n == 0:
		return config.FieldError("listeners", errors.New("configure at least one udp or tcp listener"))
	}
	seen := map[string]bool{}
	for i, l := range c.Listeners.UDP {
		if seen[l.Name] {
			return config.FieldError(fmt.Sprintf("listeners.udp[%d].name", i), fmt.Errorf("%q is used twice", l.Name))
		}
		seen[l.Name] = true
	}
	for i, l := range c.Listeners.TCP {
		if seen[l.Name] {
			return config.FieldError(fmt.Sprintf("listeners.tcp[%d].name", i), fmt.Errorf("%q is used twice", l.Name))
		}
		seen[l.Name] = true
	}
	if _, err := time.LoadLocation(c.Parse.TimeZone); err != nil {
		return config.FieldError("parse.time_zone", fmt.Errorf("%q is not a known time zone", c.Parse.TimeZone))
	}
	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		return config.FieldError("log.level", fmt.Errorf("%q is not one of debug, info, warn, error", c.Log.Level))
	}
	if time.Duration(c.Admin.StallAfter) < time.Second {
		return config.FieldError("admin.stall_after", fmt.Errorf("%v is below 1s", c.Admin.StallAfter))
	}
	if c.Log.Format != "json" && c.Log.Format != "console" {
		return config.FieldError("log.format", fmt.Errorf("%q is not json or console", c.Log.Format))
	}
	return nil
}
