package clickhouse

import (
	"net/netip"
	"testing"
	"time"

	"github.com/ClickHouse/ch-go/compress"
	"github.com/ClickHouse/ch-go/proto"
	chcol "github.com/ClickHouse/clickhouse-go/v2/lib/column"

	"github.com/openclaw-vca/openclaw-vca/internal/parse"
)

const benchRows = 10000

// benchEvents is benchRows parsed corpus events (the parsed ones: the
// dcf_events block), each with its own id.
func benchEvents(b *testing.B) []parse.Event {
	corpus := corpusEvents(b, 0)
	out := make([]parse.Event, 0, benchRows)
	for len(out) < benchRows {
		for _, e := range corpus {
			if e.Status != parse.StatusFailed && len(out) < benchRows {
				out = append(out, e)
			}
		}
	}
	for i := range out {
		out[i].EventID = parse.NewEventID(out[i].EventID.Origin(), uint64(i))
	}
	return out
}

// BenchmarkEncodeBatch is the collector's insert path up to the socket
// for one dcf_events block of benchRows events: the events appended to a
// reused batch's native columns, the segment's content hash, the block
// encoded for the native protocol and LZ4-compressed as ch-go sends it.
// One op is one event; a steady stream allocates nothing.
func BenchmarkEncodeBatch(b *testing.B) {
	events := benchEvents(b)
	var t eventRows
	var buf proto.Buffer
	w := compress.NewWriter(compress.LevelZero, compress.LZ4)
	encode := func() {
		buf.Reset()
		blk := proto.Block{Columns: len(t.columns()), Rows: t.rows()}
		if err := blk.EncodeBlock(&buf, proto.Version, input(&t)); err != nil {
			b.Fatal(err)
		}
		if err := w.Compress(buf.Buf); err != nil {
			b.Fatal(err)
		}
	}
	seg := &segment{}
	fill := func() {
		t.reset()
		for i := range events {
			t.add(&events[i])
		}
		seg.content = hashRows(&t.eventID, &t.raw)
	}
	fill() // warm the columns' capacity
	encode()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i += benchRows {
		fill()
		encode()
	}
}

// hashRows is the content hash of one chain's rows of one table.
func hashRows(ids *fixed16, raw *strCol) [32]byte {
	b := &batch{}
	b.events.eventID, b.events.raw = *ids, *raw
	b.eventSeg = make([]uint16, ids.Rows())
	b.segs = []*segment{{}}
	contentHashes(b)
	return b.segs[0].content
}

// BenchmarkEncodeBatchClickhouseGo is the peer: the same events as rows of
// Go values appended to clickhouse-go's columns (what batch.Append does,
// and how the collector inserted before it used ch-go's columns), encoded
// and compressed the same way.
func BenchmarkEncodeBatchClickhouseGo(b *testing.B) {
	events := benchEvents(b)
	sc := &chcol.ServerContext{Timezone: time.UTC}
	var cols []chcol.Interface
	for _, c := range eventColumns {
		if c.dflt != "" {
			continue
		}
		col, err := chcol.Type(c.typ.name).Column(c.name, sc)
		if err != nil {
			b.Fatal(err)
		}
		cols = append(cols, col)
	}
	var buf proto.Buffer
	w := compress.NewWriter(compress.LevelZero, compress.LZ4)
	var text textScratch
	round := func() {
		for _, c := range cols {
			c.Reset()
		}
		for i := range events {
			row := clickhouseGoRow(&events[i], &text)
			if len(row) != len(cols) {
				b.Fatalf("%d values for %d columns", len(row), len(cols))
			}
			for k, v := range row {
				if err := cols[k].AppendRow(v); err != nil {
					b.Fatalf("%s: %v", cols[k].Name(), err)
				}
			}
		}
		buf.Reset()
		for _, c := range cols {
			if s, ok := c.(chcol.CustomSerialization); ok {
				s.WriteStatePrefix(&buf)
			}
			c.Encode(&buf)
		}
		if err := w.Compress(buf.Buf); err != nil {
			b.Fatal(err)
		}
	}
	round()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i += benchRows {
		round()
	}
}

// clickhouseGoRow is an event as the Go values clickhouse-go takes for the
// dcf_events columns, in order.
func clickhouseGoRow(e *parse.Event, text *textScratch) []any {
	ip := func(a netip.Addr) any {
		if !a.IsValid() {
			return netip.IPv6Unspecified()
		}
		return a
	}
	var enforced *uint8
	if e.Has&parse.HasEnforced != 0 {
		v := b2u(e.Enforced)
		enforced = &v
	}
	var keys, values []string
	for _, f := range e.Extra {
		keys, values = append(keys, string(f.Key)), append(values, string(f.Value))
	}
	nonNilS := func(s []string) []string {
		if s == nil {
			return []string{}
		}
		return s
	}
	return []any{
		string(e.EventID[:]), string(make([]byte, 16)), e.ReceivedAt, e.EventTime,
		e.TimeSource.String(), e.Listener, e.Transport, ip(e.Peer.Addr()), e.Peer.Port(),
		e.Kind.String(), e.Status.String(), string(text.parseError(e)), nonNilS(text.flagNames(e.Flags)),
		e.Format.String(), e.Facility, e.Severity, string(e.Hostname), string(e.Gateway), ip(e.GatewayIP),
		string(e.App), string(e.ProcID), string(e.MsgID),
		string(text.uuid(e, parse.HasRuleUUID, &e.RuleUUID)), e.Enriched.RuleName, e.Enriched.RulePriority,
		e.Enriched.Scenario, nonNilS(e.Enriched.SrcGroups), nonNilS(e.Enriched.DstGroups), e.Enriched.WebGroup,
		string(text.uuid(e, parse.HasDecryptedBy, &e.DecryptedBy)), string(actionName(e)), string(e.ActionRaw), enforced,
		string(e.Proto), ip(e.SrcIP), e.SrcPort, ip(e.DstIP), e.DstPort, string(e.SrcMAC), string(e.DstMAC), e.IPSize,
		string(e.Payload), string(e.SNI), string(e.URL), e.SessionID, string(e.SessionUUID), e.SessionEvent, e.SessionEndReason,
		e.SessionPkts, e.SessionBytes, e.SessionDuration, e.SessionStart, e.SessionTime,
		string(e.SessionStage), string(e.L7Reason), string(e.L7Stage), b2u(e.IDS), string(e.SignatureID), string(e.L7Priority),
		string(e.L7Message), e.RequestBytes, e.ResponseBytes,
		string(e.FQDNGateway), string(e.FQDNState), string(e.FQDNDropReason), string(e.FQDNRule), e.RepeatCount,
		nonNilS(keys), nonNilS(values), string(e.Raw),
		e.Enriched.RuleAction, nonNilS(e.Enriched.Tags), e.Enriched.AdmittingWebGroup, b2u(e.Enriched.WouldBeDenied),
		e.Enriched.CatalogVersion,
		e.FlowID, string(e.AppProto), string(e.AlertSignature), string(e.AlertCategory), e.AlertSeverity, e.Enriched.SrcWorkload,
	}
}
