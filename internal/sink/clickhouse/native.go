package clickhouse

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/ClickHouse/ch-go"
	"github.com/ClickHouse/ch-go/proto"
)

// nativeConn is one ch-go connection of an inserter or the recorder,
// dialled when first needed and again after a failure. ch-go takes the
// batch's native columns as they are, which clickhouse-go would first copy
// into columns of its own (converting every value through an interface).
type nativeConn struct {
	client *ch.Client
	next   int // the address to dial next, round robin over failures
}

// dialNative connects to the first address that answers.
func dialNative(ctx context.Context, cfg Config) (*ch.Client, error) {
	var c nativeConn
	if err := c.dial(ctx, cfg); err != nil {
		return nil, err
	}
	return c.client, nil
}

func (c *nativeConn) dial(ctx context.Context, cfg Config) error {
	pw, err := cfg.password()
	if err != nil {
		return fmt.Errorf("clickhouse password_file: %w", err)
	}
	opts := ch.Options{
		Database: "default", User: cfg.Username, Password: pw,
		DialTimeout: time.Duration(cfg.DialTimeout), ReadTimeout: time.Duration(cfg.InsertTimeout),
		ClientName: "vca-collector",
	}
	switch cfg.wireCompression() {
	case "lz4":
		opts.Compression = ch.CompressionLZ4
	case "zstd":
		opts.Compression = ch.CompressionZSTD
	default:
		opts.Compression = ch.CompressionDisabled
	}
	if cfg.TLS != nil {
		if opts.TLS, err = cfg.TLS.Build(); err != nil {
			return err
		}
	}
	var errs []string
	for range cfg.Addresses {
		opts.Address = cfg.Addresses[c.next%len(cfg.Addresses)]
		c.next++
		client, err := ch.Dial(ctx, opts)
		if err == nil {
			c.client = client
			return nil
		}
		errs = append(errs, opts.Address+": "+err.Error())
	}
	return fmt.Errorf("clickhouse %s", strings.Join(errs, "; "))
}

func (c *nativeConn) close() {
	if c.client != nil {
		c.client.Close()
		c.client = nil
	}
}

// insert sends the table's rows as one block, deduplicated by token.
func (c *nativeConn) insert(ctx context.Context, cfg Config, table string, t block, token string) error {
	if c.client == nil || c.client.IsClosed() {
		if err := c.dial(ctx, cfg); err != nil {
			return err
		}
	}
	ctx, cancel := context.WithTimeout(ctx, time.Duration(cfg.InsertTimeout))
	defer cancel()
	cols := t.columns()
	names := make([]string, len(cols))
	for i, col := range cols {
		names[i] = col.name
	}
	settings := []ch.Setting{
		// Replays of the same block are dropped by the server, the blocks
		// the rollup views would add included.
		{Key: "insert_deduplication_token", Value: token, Important: true},
		ch.SettingInt("deduplicate_blocks_in_dependent_materialized_views", 1),
	}
	if cfg.Cluster != "" {
		// The insert returns once every shard has its rows, not when they
		// are queued on this server: durable means stored.
		settings = append(settings, ch.SettingInt("insert_distributed_sync", 1))
	}
	if _, set := cfg.InsertSettings["optimize_on_insert"]; !set {
		// The server would otherwise run the table engine's merge over
		// every inserted block; event ids are unique within a batch, so
		// it finds nothing to replace and costs about a third of the
		// insert (make bench-schema, variant optimize-on-insert).
		settings = append(settings, ch.SettingInt("optimize_on_insert", 0))
	}
	for k, v := range cfg.InsertSettings {
		settings = append(settings, ch.Setting{Key: k, Value: v, Important: true})
	}
	return c.client.Do(ctx, ch.Query{
		Body:     fmt.Sprintf("INSERT INTO %s.%s (%s) VALUES", quoteIdent(cfg.Database), quoteIdent(table), joinIdents(names)),
		Input:    input(t),
		Settings: settings,
	})
}

// recordRows are ingest_batches rows; the columns match batchColumns.
type recordRows struct {
	chainID                       lcStr
	seq                           u64Col
	batchID                       fixed16
	insertedAt                    dt64
	firstEventID, lastEventID     fixed16
	rowCount, unparsedRows        u32Col
	contentSHA, prevSHA, chainSHA fixed32
}

func (t *recordRows) add(seg *segment, at time.Time) {
	t.chainID.add(seg.owner.chainID)
	t.seq.Append(seg.seq)
	t.batchID.Append(seg.id)
	t.insertedAt.add(at)
	t.firstEventID.Append(seg.first)
	t.lastEventID.Append(seg.last)
	t.rowCount.Append(uint32(seg.events))
	t.unparsedRows.Append(uint32(seg.failed))
	t.contentSHA.Append(seg.content)
	t.prevSHA.Append(seg.prev)
	t.chainSHA.Append(seg.chain)
}

func (t *recordRows) rows() int { return t.seq.Rows() }

func (t *recordRows) columns() []named {
	return []named{
		{"chain_id", &t.chainID}, {"seq", &t.seq}, {"batch_id", &t.batchID}, {"inserted_at", &t.insertedAt},
		{"first_event_id", &t.firstEventID}, {"last_event_id", &t.lastEventID},
		{"rows", &t.rowCount}, {"unparsed_rows", &t.unparsedRows},
		{"content_sha256", &t.contentSHA}, {"prev_sha256", &t.prevSHA}, {"chain_sha256", &t.chainSHA},
	}
}

func (t *recordRows) reset() {
	for _, c := range t.columns() {
		c.col.Reset()
	}
}

// fixed32 is FixedString(32): SHA-256 sums.
type fixed32 struct{ proto.ColFixedStr32 }

func (c *fixed32) value(i int) any { v := c.Row(i); return fmt.Sprintf("%x", v[:]) }
