package writer

import (
	"context"
	"time"

	"github.com/rs/zerolog"
	segkafka "github.com/segmentio/kafka-go"

	"github.com/openclaw-vca/openclaw-vca/internal/parse"
	"github.com/openclaw-vca/openclaw-vca/internal/stream"
)

// Batches: what one partition's records become before the sink takes
// them, duplicates from an edge dropped.

// batchLinger is how long a partition's batch waits for more records after
// its first one.
const batchLinger = 20 * time.Millisecond

// batchReader fills batches of events from one partition.
type batchReader struct {
	r      *segkafka.Reader
	dec    *stream.Decoder
	pid    [8]byte // the partition's origin in event ids
	seen   *window // origins stored lately, to drop what an edge produced twice
	m      *metrics
	sample zerolog.Logger
}

// fill decodes up to len(events) records into events: k to store, of
// read records fetched up to offset last. Once a record is in, the batch
// takes what else arrives within batchLinger: one deadline for the batch,
// not one per record (a context per record cost an eighth of the writer's
// CPU). err is why the first fetch failed when read is 0.
func (b *batchReader) fill(ctx context.Context, events []parse.Event) (k, read int, last int64, err error) {
	n := len(events)
	msg, err := b.r.FetchMessage(ctx)
	var lingerCtx context.Context
	cancelLinger := func() {}
	for err == nil {
		ev := &events[k]
		pos := parse.NewEventID(b.pid, uint64(msg.Offset))
		ev.EventID = pos
		ok := b.dec.Decode(msg.Value, msg.Time, ev)
		origin := ev.EventID
		ev.EventID = pos
		last = msg.Offset
		read++
		switch {
		case !ok:
			b.m.undecodable.Inc()
			b.sample.Warn().Int64("offset", msg.Offset).Bytes("error", ev.AppendError(nil)).
				Msg("record is not a collector event; kept raw in raw_unparsed")
			k++
		case origin != pos && !b.seen.add(origin):
			b.m.duplicates.Inc() // an edge produced it twice
		default:
			k++
		}
		if k == n || read == n {
			break
		}
		if lingerCtx == nil {
			lingerCtx, cancelLinger = context.WithTimeout(ctx, batchLinger)
		}
		msg, err = b.r.FetchMessage(lingerCtx)
	}
	cancelLinger()
	return k, read, last, err
}

// window remembers the last size edge ids.
type window struct {
	size int
	ids  map[parse.UUID]struct{}
	ring []parse.UUID
	next int
}

func newWindow(size int) *window {
	size = max(size, 0)
	return &window{size: size, ids: make(map[parse.UUID]struct{}, size)}
}

// add reports whether id is new, remembering it.
func (w *window) add(id parse.UUID) bool {
	if w.size == 0 {
		return true
	}
	if _, dup := w.ids[id]; dup {
		return false
	}
	if len(w.ring) < w.size {
		w.ring = append(w.ring, id)
	} else {
		delete(w.ids, w.ring[w.next])
		w.ring[w.next] = id
		w.next = (w.next + 1) % w.size
	}
	w.ids[id] = struct{}{}
	return true
}
