// Package testkafka reads back what tests produced to a Kafka-protocol
// broker: every record of a partition up to its end as the leader reports
// it, so that a slow fetch is waited for rather than taken for the end.
package testkafka

import (
	"context"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/openclaw-vca/openclaw-vca/internal/testsupport/testwait"
)

// ReadPartition returns every record the partition holds now. dialer may
// be nil (plain TCP).
func ReadPartition(t testing.TB, brokers []string, dialer *kafka.Dialer, topic string, partition int) []kafka.Message {
	t.Helper()
	if dialer == nil {
		dialer = kafka.DefaultDialer
	}
	conn, err := dialer.DialLeader(context.Background(), "tcp", brokers[0], topic, partition)
	if err != nil {
		t.Fatal(err)
	}
	first, last, err := conn.ReadOffsets()
	conn.Close()
	if err != nil {
		t.Fatal(err)
	}
	r := kafka.NewReader(kafka.ReaderConfig{Brokers: brokers, Topic: topic, Partition: partition, Dialer: dialer, MaxWait: 50 * time.Millisecond})
	defer r.Close()
	r.SetOffset(first)
	var out []kafka.Message
	for off := first; off < last; {
		ctx, cancel := context.WithTimeout(context.Background(), testwait.Idle)
		m, err := r.ReadMessage(ctx)
		cancel()
		if err != nil {
			t.Fatalf("partition %d: reading offset %d of %d..%d: %v", partition, off, first, last, err)
		}
		out = append(out, m)
		off = m.Offset + 1
	}
	return out
}
