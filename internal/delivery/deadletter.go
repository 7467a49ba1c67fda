package delivery

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// DeadLetter sets aside records a destination refused for good (a schema
// or type mismatch no retry can fix), so that the source may commit past
// them without losing them. Each refusal becomes one new file in one
// directory, <sink>-<UTC time>-<tag>.jsonl, one line per record:
//
//	{"sink":"clickhouse","error":"<the destination's message>","table":"dcf_events","record":{…}}
//
// written and fsynced before Write returns nil. A destination reports the
// records durable only then; when Write fails they are not, and the source
// keeps them for the next start.
type DeadLetter struct {
	dir      string
	lettered *prometheus.CounterVec
}

// Letter is one refused record: where it was meant to go, and the record.
type Letter struct {
	Table  string
	Record any // marshalled with encoding/json
}

// NewDeadLetter writes into dir (created on first use) and counts records
// in vca_collector_dead_lettered_events_total{sink} on reg (may be nil).
func NewDeadLetter(dir string, reg prometheus.Registerer) *DeadLetter {
	c := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "vca_collector_dead_lettered_events_total",
		Help: "Events a sink refused permanently, written to the dead-letter directory.",
	}, []string{"sink"})
	if reg != nil {
		if err := reg.Register(c); err != nil {
			var are prometheus.AlreadyRegisteredError
			if !errors.As(err, &are) {
				panic(err)
			}
			c = are.ExistingCollector.(*prometheus.CounterVec)
		}
	}
	return &DeadLetter{dir: dir, lettered: c}
}

// Dir is where the files go.
func (d *DeadLetter) Dir() string { return d.dir }

// Write stores the letters a sink refused with cause in a new file named
// by the sink and tag (which keeps two refusals in the same instant
// apart), and returns its path once the file is on disk.
func (d *DeadLetter) Write(sink, tag string, cause error, letters []Letter) (string, error) {
	d.lettered.WithLabelValues(sink).Add(float64(len(letters)))
	path := filepath.Join(d.dir, fmt.Sprintf("%s-%s-%s.jsonl", sink, time.Now().UTC().Format("20060102T150405.000000000"), tag))
	if err := os.MkdirAll(d.dir, 0o750); err != nil {
		return path, err
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_EXCL, 0o640)
	if err != nil {
		return path, err
	}
	enc := json.NewEncoder(f)
	line := struct {
		Sink   string `json:"sink"`
		Error  string `json:"error"`
		Table  string `json:"table"`
		Record any    `json:"record"`
	}{Sink: sink, Error: cause.Error()}
	for _, l := range letters {
		line.Table, line.Record = l.Table, l.Record
		if err = enc.Encode(&line); err != nil {
			break
		}
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = syncDir(d.dir) // the new name must survive a power loss too
	}
	if err != nil {
		os.Remove(path) // a partial file would repeat its lines when the source retries
	}
	return path, err
}

func syncDir(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}
