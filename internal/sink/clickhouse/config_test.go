package clickhouse

import "testing"

func TestAutoCompressionIsOffOnlyWhenEveryServerIsLocal(t *testing.T) {
	for _, c := range []struct {
		compression string
		addrs       []string
		want        string
	}{
		{"auto", []string{"127.0.0.1:9000"}, "none"},
		{"auto", []string{"localhost:9000", "[::1]:9000"}, "none"},
		{"auto", []string{"127.0.0.1:9000", "10.0.0.5:9000"}, "lz4"},
		{"auto", []string{"clickhouse.internal:9440"}, "lz4"},
		{"lz4", []string{"127.0.0.1:9000"}, "lz4"},
		{"zstd", []string{"10.0.0.5:9000"}, "zstd"},
		{"none", []string{"10.0.0.5:9000"}, "none"},
	} {
		cfg := Config{Compression: c.compression, Addresses: c.addrs}
		if got := cfg.wireCompression(); got != c.want {
			t.Errorf("compression %q to %v: %q, want %q", c.compression, c.addrs, got, c.want)
		}
	}
}
