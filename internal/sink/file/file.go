// Package file is the JSON-lines sink: one object per event, with the audit
// store's column names as keys, appended to a file that rotates by size.
// It serves debugging, air-gapped installs, and the collector's default
// when no database is configured.
package file

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/openclaw-vca/openclaw-vca/internal/config"
	"github.com/openclaw-vca/openclaw-vca/internal/parse"
)

// Config configures the file sink.
type Config struct {
	// Path of the active file; rotated files get a timestamp before the
	// extension (events-20260314T090000.123.jsonl).
	Path string `yaml:"path"`
	// MaxSize rotates the file once it reaches this size.
	MaxSize config.ByteSize `yaml:"max_size"`
	// MaxFiles keeps at most this many rotated files; 0 keeps all of them,
	// the right choice for evidence.
	MaxFiles int `yaml:"max_files"`
	// Fsync makes every batch durable before Write returns.
	Fsync bool `yaml:"fsync"`
}

func (c *Config) SetDefaults() {
	if c.MaxSize == 0 {
		c.MaxSize = 256 << 20
	}
}

func (c *Config) Validate() error {
	if c.Path == "" {
		return config.FieldError("path", errors.New("is required"))
	}
	if c.MaxSize < 4096 {
		return config.FieldError("max_size", fmt.Errorf("%v is below 4KiB", c.MaxSize))
	}
	if c.MaxFiles < 0 {
		return config.FieldError("max_files", errors.New("must not be negative"))
	}
	return nil
}

// Sink appends events to the file. It is safe for concurrent use.
type Sink struct {
	cfg  Config
	mu   sync.Mutex
	f    *os.File
	w    *bufio.Writer
	size int64
	buf  []byte
}

// New opens (or creates) the file, and its directory.
func New(cfg Config) (*Sink, error) {
	if err := os.MkdirAll(filepath.Dir(cfg.Path), 0o750); err != nil {
		return nil, err
	}
	s := &Sink{cfg: cfg}
	if err := s.open(); err != nil {
		return nil, err
	}
	return s, nil
}

func (s *Sink) open() error {
	f, err := os.OpenFile(s.cfg.Path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o640)
	if err != nil {
		return err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return err
	}
	s.f, s.size = f, st.Size()
	if s.w == nil {
		s.w = bufio.NewWriterSize(f, 1<<20)
	} else {
		s.w.Reset(f)
	}
	return nil
}

func (s *Sink) Name() string { return "file" }

// Write appends one line per event and flushes to the operating system (and
// to disk with fsync) before returning; the events are then durable.
func (s *Sink) Write(_ context.Context, events []parse.Event, durable func()) error {
	if err := s.write(events); err != nil {
		return err
	}
	if durable != nil {
		durable()
	}
	return nil
}

func (s *Sink) write(events []parse.Event) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.f == nil {
		if err := s.open(); err != nil {
			return err
		}
	}
	for i := range events {
		s.buf = events[i].AppendJSON(s.buf[:0])
		s.buf = append(s.buf, '\n')
		if _, err := s.w.Write(s.buf); err != nil {
			return s.fail(err)
		}
		s.size += int64(len(s.buf))
	}
	if err := s.w.Flush(); err != nil {
		return s.fail(err)
	}
	if s.cfg.Fsync {
		if err := s.f.Sync(); err != nil {
			return s.fail(err)
		}
	}
	if s.size >= int64(s.cfg.MaxSize) {
		return s.rotate()
	}
	return nil
}

// fail drops the file handle after a write error (disk full, file removed):
// the next Write reopens and the pipeline retries the whole batch. A retried
// batch may repeat lines that reached the file before the error; event_id
// tells them apart from new events.
func (s *Sink) fail(err error) error {
	s.w.Reset(nil)
	s.f.Close()
	s.f = nil
	return err
}

func (s *Sink) rotate() error {
	if err := s.f.Close(); err != nil {
		s.f = nil
		return err
	}
	s.f = nil
	ext := filepath.Ext(s.cfg.Path)
	base := strings.TrimSuffix(s.cfg.Path, ext)
	rotated := base + "-" + time.Now().UTC().Format("20060102T150405.000") + ext
	if err := os.Rename(s.cfg.Path, rotated); err != nil {
		return err
	}
	if s.cfg.MaxFiles > 0 {
		old, _ := filepath.Glob(base + "-*" + ext)
		sort.Strings(old)
		for len(old) > s.cfg.MaxFiles {
			os.Remove(old[0])
			old = old[1:]
		}
	}
	return s.open()
}

// Close flushes and closes the file.
func (s *Sink) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.f == nil {
		return nil
	}
	err := s.w.Flush()
	if cerr := s.f.Close(); err == nil {
		err = cerr
	}
	s.f = nil
	return err
}
