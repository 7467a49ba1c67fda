package config

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// ByteSize is a size in bytes written as 65536, "64KiB", "8MiB", "10GiB"
// (or the SI forms KB, MB, GB).
type ByteSize int64

var byteUnits = []struct {
	suffix string
	mult   int64
}{
	{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"TiB", 1 << 40},
	{"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9}, {"TB", 1e12}, {"B", 1},
}

func (s *ByteSize) UnmarshalText(b []byte) error {
	txt := strings.TrimSpace(string(b))
	mult := int64(1)
	for _, u := range byteUnits {
		if strings.HasSuffix(txt, u.suffix) {
			txt, mult = strings.TrimSpace(strings.TrimSuffix(txt, u.suffix)), u.mult
			break
		}
	}
	n, err := strconv.ParseInt(txt, 10, 64)
	if err != nil || n < 0 {
		return fmt.Errorf("%q is not a size (use bytes or a unit: KiB, MiB, GiB)", string(b))
	}
	*s = ByteSize(n * mult)
	return nil
}

func (s ByteSize) String() string {
	for _, u := range byteUnits[:4] {
		if s >= ByteSize(u.mult) && int64(s)%u.mult == 0 && int64(s)/u.mult < 1024 {
			return strconv.FormatInt(int64(s)/u.mult, 10) + u.suffix
		}
	}
	return strconv.FormatInt(int64(s), 10)
}

// Duration is a time.Duration written as "1s", "250ms", "5m".
type Duration time.Duration

func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(strings.TrimSpace(string(b)))
	if err != nil || v < 0 {
		return fmt.Errorf("%q is not a duration (examples: 500ms, 30s, 5m)", string(b))
	}
	*d = Duration(v)
	return nil
}

func (d Duration) String() string { return time.Duration(d).String() }
