package kafka

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/rs/zerolog"
	segkafka "github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/openclaw-vca/openclaw-vca/internal/config"
	"github.com/openclaw-vca/openclaw-vca/internal/parse"
	"github.com/openclaw-vca/openclaw-vca/internal/stream"
	"github.com/openclaw-vca/openclaw-vca/internal/testsupport/testcorpus"
	"github.com/openclaw-vca/openclaw-vca/internal/testsupport/testkafka"
	"github.com/openclaw-vca/openclaw-vca/internal/testsupport/testpki"
	"github.com/openclaw-vca/openclaw-vca/internal/testsupport/testwait"
)

const topic = "vca-test"

func corpusEvents() []parse.Event {
	lines := testcorpus.All()
	p := parse.NewParser(parse.Options{})
	evs := make([]parse.Event, len(lines))
	for i, l := range lines {
		evs[i].EventID[15] = byte(i)
		evs[i].ReceivedAt = time.Date(2026, 11, 20, 10, 0, 0, i, time.UTC)
		p.Parse(l.Message, &evs[i])
	}
	return evs
}

// produceAll writes the events through a new sink. If wantDurable, it
// waits until they are reported durable; if not, until a failed attempt
// is counted. It returns whether they became durable and the failures.
func produceAll(t *testing.T, cfg stream.Config, evs []parse.Event, wantDurable bool) (bool, float64) {
	t.Helper()
	cfg.SetDefaults()
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	s, err := New(cfg, reg, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	var durable atomic.Bool
	if err := s.Write(context.Background(), evs, func() { durable.Store(true) }); err != nil {
		t.Fatal(err)
	}
	failures := func() float64 {
		var n float64
		for _, kind := range []string{"network", "timeout", "kafka_58"} {
			n += testutil.ToFloat64(s.m.failures.WithLabelValues(kind))
		}
		return n
	}
	describe := func() string { return fmt.Sprintf("durable %v, %v failed attempts", durable.Load(), failures()) }
	if wantDurable {
		testwait.For(t, "the records to be acknowledged", testwait.Idle, durable.Load, describe)
	} else {
		testwait.For(t, "a failed produce attempt", testwait.Idle, func() bool { return failures() > 0 || durable.Load() }, describe)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	s.Shutdown(ctx)
	return durable.Load(), failures()
}

// consume reads every record of every partition, up to its end as the
// leader reports it, with the configuration's dialer.
func consume(t *testing.T, cfg stream.Config) []segkafka.Message {
	t.Helper()
	cfg.SetDefaults()
	d, err := cfg.Dialer()
	if err != nil {
		t.Fatal(err)
	}
	var out []segkafka.Message
	for p := 0; p < 3; p++ {
		out = append(out, testkafka.ReadPartition(t, cfg.Brokers, d, topic, p)...)
	}
	return out
}

func TestProducesEveryEventKeyedByGatewayThenReportsDurable(t *testing.T) {
	for _, codec := range []string{"none", "gzip", "snappy", "lz4", "zstd"} {
		t.Run(codec, func(t *testing.T) { producesEveryEvent(t, codec) })
	}
}

func producesEveryEvent(t *testing.T, codec string) {
	c, err := kfake.NewCluster(kfake.NumBrokers(3), kfake.SeedTopics(3, topic))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	evs := corpusEvents()
	cfg := stream.Config{Brokers: c.ListenAddrs(), Topic: topic, Producer: stream.ProducerConfig{Compression: codec}}
	ok, _ := produceAll(t, cfg, evs, true)
	if !ok {
		t.Fatal("not durable")
	}
	msgs := consume(t, cfg)
	if len(msgs) != len(evs) {
		t.Fatalf("read %d records, produced %d", len(msgs), len(evs))
	}
	dec := stream.NewDecoder(parse.NewParser(parse.Options{}))
	byGateway := map[string]int{}
	for _, m := range msgs {
		var e parse.Event
		dec.Decode(m.Value, m.Time, &e)
		if string(m.Key) != string(stream.AppendKey(nil, &e)) {
			t.Fatalf("record key %q, event key %q", m.Key, stream.AppendKey(nil, &e))
		}
		if len(m.Key) == 0 {
			continue // no gateway, hostname or peer: any partition
		}
		if p, seen := byGateway[string(m.Key)]; seen && p != m.Partition {
			t.Fatalf("gateway %q in partitions %d and %d", m.Key, p, m.Partition)
		}
		byGateway[string(m.Key)] = m.Partition
	}
}

// The sink authenticates with SASL PLAIN and SCRAM and encrypts with TLS;
// with the wrong password nothing is reported durable.
func TestSASLAndTLS(t *testing.T) {
	dir := t.TempDir()
	ca := testpki.NewCA(t, "kafka")
	leaf := ca.Issue(t, "broker", false)
	caFile := filepath.Join(dir, "ca.pem")
	os.WriteFile(caFile, ca.CertPEM, 0o600)
	pwFile := filepath.Join(dir, "password")
	os.WriteFile(pwFile, []byte("s3cret\n"), 0o600)
	evs := corpusEvents()[:50]
	for _, tt := range []struct {
		name, mechanism, password string
		tls, wantDurable          bool
	}{
		{"plain", "PLAIN", "s3cret", false, true},
		{"scram-sha-256", "SCRAM-SHA-256", "s3cret", false, true},
		{"scram-sha-512 over tls", "SCRAM-SHA-512", "s3cret", true, true},
		{"tls only", "", "", true, true},
		{"wrong password", "SCRAM-SHA-256", "other", false, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			opts := []kfake.Opt{kfake.NumBrokers(1), kfake.SeedTopics(3, topic)}
			cfg := stream.Config{Topic: topic, Producer: stream.ProducerConfig{MaxRetryBackoff: config.Duration(200 * time.Millisecond)}}
			if tt.mechanism != "" {
				opts = append(opts, kfake.EnableSASL(), kfake.Superuser(tt.mechanism, "vca", tt.password))
				cfg.SASL = &stream.SASL{Mechanism: tt.mechanism, Username: "vca", PasswordFile: pwFile}
			}
			if tt.tls {
				opts = append(opts, kfake.TLS(&tls.Config{Certificates: []tls.Certificate{leaf.TLSCertificate(t)}}))
				cfg.TLS = &config.ClientTLS{CAFile: caFile}
			}
			c, err := kfake.NewCluster(opts...)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			cfg.Brokers = c.ListenAddrs()
			ok, failures := produceAll(t, cfg, evs, tt.wantDurable)
			if ok != tt.wantDurable {
				t.Fatalf("durable = %v, want %v (%v failed attempts)", ok, tt.wantDurable, failures)
			}
			if !ok {
				if failures == 0 {
					t.Fatal("refused produce not counted as a failure")
				}
				return
			}
			if got := consume(t, cfg); len(got) != len(evs) {
				t.Fatalf("read back %d of %d", len(got), len(evs))
			}
		})
	}
}

// A closed sink refuses writes instead of panicking on a closed channel.
func TestWriteAfterShutdown(t *testing.T) {
	cfg := stream.Config{Brokers: []string{"127.0.0.1:1"}, Topic: topic}
	cfg.SetDefaults()
	s, err := New(cfg, nil, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	s.Shutdown(context.Background())
	if err := s.Write(context.Background(), corpusEvents()[:1], nil); err == nil || errors.Is(err, context.Canceled) {
		t.Fatalf("write after shutdown: %v", err)
	}
}
