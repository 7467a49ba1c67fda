package spool

import (
	"errors"
	"fmt"
	"time"

	"github.com/openclaw-vca/openclaw-vca/internal/config"
)

// Config configures the spool.
type Config struct {
	// Dir holds the segment files, the cursor and the spool id. It must be
	// on a local file system that honours fsync.
	Dir string `yaml:"dir"`
	// MaxSize caps the bytes of every segment together; FullPolicy says what
	// happens at the cap (and when the disk is full).
	MaxSize config.ByteSize `yaml:"max_size"`
	// SegmentSize rotates the active segment once it reaches this size.
	SegmentSize config.ByteSize `yaml:"segment_size"`
	// FsyncInterval is the group commit interval: appended records reach
	// the disk at most this long after they were accepted.
	FsyncInterval config.Duration `yaml:"fsync_interval"`
	// FullPolicy is "block" (TCP and TLS readers wait, UDP batches are
	// dropped and counted) or "drop_oldest" (the oldest segment is deleted,
	// its unread records counted and logged by range).
	FullPolicy string `yaml:"full_policy"`
}

// Full policies.
const (
	Block      = "block"
	DropOldest = "drop_oldest"
)

func (c *Config) SetDefaults() {
	if c.Dir == "" {
		c.Dir = "./data/spool"
	}
	if c.MaxSize == 0 {
		c.MaxSize = 10 << 30
	}
	if c.SegmentSize == 0 {
		c.SegmentSize = 64 << 20
	}
	if c.FsyncInterval == 0 {
		c.FsyncInterval = config.Duration(50 * time.Millisecond)
	}
	if c.FullPolicy == "" {
		c.FullPolicy = Block
	}
}

func (c *Config) Validate() error {
	switch {
	case c.Dir == "":
		return config.FieldError("dir", errors.New("is required"))
	case c.SegmentSize < 64<<10:
		return config.FieldError("segment_size", fmt.Errorf("%v is below 64KiB", c.SegmentSize))
	case c.SegmentSize > 1<<30:
		return config.FieldError("segment_size", fmt.Errorf("%v is above 1GiB", c.SegmentSize))
	case c.MaxSize < 2*c.SegmentSize:
		return config.FieldError("max_size", fmt.Errorf("%v is less than two segments (segment_size %v)", c.MaxSize, c.SegmentSize))
	case c.FsyncInterval < config.Duration(time.Millisecond) || c.FsyncInterval > config.Duration(10*time.Second):
		return config.FieldError("fsync_interval", fmt.Errorf("%v is not between 1ms and 10s", c.FsyncInterval))
	case c.FullPolicy != Block && c.FullPolicy != DropOldest:
		return config.FieldError("full_policy", fmt.Errorf("%q is not block or drop_oldest", c.FullPolicy))
	}
	return nil
}
