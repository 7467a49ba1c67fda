package dashboards

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
)

// nativeEngine is the test ClickHouse over the native protocol, as the
// plugin talks to it, with what the collector's own sink wrote.
type nativeEngine struct{ conn driver.Conn }

func (e nativeEngine) query(sql string) ([]string, [][]string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	rows, err := e.conn.Query(ctx, sql)
	if err != nil {
		return nil, nil, err
	}
	defer rows.Close()
	types := rows.ColumnTypes()
	cols := rows.Columns()
	var out [][]string
	for rows.Next() {
		dest := make([]any, len(types))
		for i, ct := range types {
			dest[i] = reflect.New(ct.ScanType()).Interface()
		}
		if err := rows.Scan(dest...); err != nil {
			return nil, nil, err
		}
		row := make([]string, len(dest))
		for i, d := range dest {
			row[i] = normalize(reflect.ValueOf(d).Elem().Interface())
		}
		out = append(out, row)
	}
	return cols, out, rows.Err()
}

var millisZero = regexp.MustCompile(`^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)\.000$`)

// normalize renders a value as text for goldens: times to the second
// (DateTime64 prints .000), numbers in their shortest form, bytes that are
// not UTF-8 as U+FFFD each.
func normalize(v any) string {
	switch x := v.(type) {
	case nil:
		return "NULL"
	case json.Number:
		return number(string(x))
	case string:
		return text(x)
	case []byte:
		return text(string(x))
	case time.Time:
		return x.UTC().Format("2006-01-02 15:04:05")
	case float32:
		return number(strconv.FormatFloat(float64(x), 'g', -1, 32))
	case float64:
		return number(strconv.FormatFloat(x, 'g', -1, 64))
	case []any:
		parts := make([]string, len(x))
		for i, e := range x {
			parts[i] = normalize(e)
		}
		return "[" + strings.Join(parts, ",") + "]"
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Pointer:
		if rv.IsNil() {
			return "NULL"
		}
		return normalize(rv.Elem().Interface())
	case reflect.Slice:
		parts := make([]string, rv.Len())
		for i := range parts {
			parts[i] = normalize(rv.Index(i).Interface())
		}
		return "[" + strings.Join(parts, ",") + "]"
	}
	return fmt.Sprint(v)
}

func text(s string) string {
	if m := millisZero.FindStringSubmatch(s); m != nil {
		return m[1]
	}
	if utf8.ValidString(s) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		b.WriteRune(r) // RuneError for each invalid byte
		i += n
	}
	return b.String()
}

// number prints integers as they are and other numbers rounded to six
// decimals, which absorbs the engines' last-digit differences.
func number(s string) string {
	if _, err := strconv.ParseInt(s, 10, 64); err == nil {
		return s
	}
	if _, err := strconv.ParseUint(s, 10, 64); err == nil {
		return s
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return s
	}
	f = math.Round(f*1e6) / 1e6
	return strconv.FormatFloat(f, 'f', -1, 64)
}
