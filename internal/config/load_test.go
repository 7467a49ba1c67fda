package config

import (
	"errors"
	"net/netip"
	"strings"
	"testing"
	"time"
)

type tlsSection struct {
	Cert string `yaml:"cert_file"`
}

type listener struct {
	Name    string         `yaml:"name"`
	Address string         `yaml:"address"`
	Size    ByteSize       `yaml:"max_message_size"`
	Idle    Duration       `yaml:"idle_timeout"`
	CIDRs   []netip.Prefix `yaml:"allowed_cidrs"`
	TLS     *tlsSection    `yaml:"tls"`
}

func (l *listener) SetDefaults() {
	if l.Size == 0 {
		l.Size = 64 << 10
	}
}

func (l *listener) Validate() error {
	if l.Address == "" {
		return FieldError("address", errors.New("is required"))
	}
	return nil
}

type root struct {
	Listeners []listener `yaml:"listeners"`
	Debug     bool       `yaml:"debug"`
	Workers   int        `yaml:"workers"`
}

func TestLoad(t *testing.T) {
	tests := []struct {
		name    string
		yaml    string
		env     []string
		wantErr string // substring; "" means success
		check   func(t *testing.T, r *root)
	}{
		{name: "full", yaml: "listeners:\n  - name: a\n    address: 127.0.0.1:1\n    max_message_size: 8KiB\n    idle_timeout: 30s\n    allowed_cidrs: [10.0.0.0/8]\n    tls: {cert_file: c.pem}\nworkers: 3\n",
			check: func(t *testing.T, r *root) {
				l := r.Listeners[0]
				if l.Size != 8<<10 || time.Duration(l.Idle) != 30*time.Second || l.CIDRs[0].String() != "10.0.0.0/8" || l.TLS.Cert != "c.pem" || r.Workers != 3 {
					t.Fatalf("decoded %+v", r)
				}
			}},
		{name: "defaults applied", yaml: "listeners: [{name: a, address: x}]",
			check: func(t *testing.T, r *root) {
				if r.Listeners[0].Size != 64<<10 {
					t.Fatalf("default size %v", r.Listeners[0].Size)
				}
			}},
		{name: "unknown key names its path", yaml: "listeners:\n  - name: a\n    adress: x\n", wantErr: "listeners[0].adress: unknown key"},
		{name: "bad size", yaml: "listeners: [{name: a, address: x, max_message_size: lots}]", wantErr: `listeners[0].max_message_size: "lots" is not a size`},
		{name: "bad duration", yaml: "listeners: [{name: a, address: x, idle_timeout: 5 minutes}]", wantErr: "listeners[0].idle_timeout:"},
		{name: "bad prefix", yaml: "listeners: [{name: a, address: x, allowed_cidrs: [10.0.0.0/33]}]", wantErr: "listeners[0].allowed_cidrs[0]:"},
		{name: "bad bool", yaml: "debug: maybe", wantErr: `debug: "maybe" is not true or false`},
		{name: "bad int", yaml: "workers: two", wantErr: `workers: "two" is not a whole number`},
		{name: "wrong shape", yaml: "listeners: {name: a}", wantErr: "listeners: expected a list"},
		{name: "validation prefixed", yaml: "listeners: [{name: a}]", wantErr: "listeners[0].address: is required"},
		{name: "not yaml", yaml: "listeners: [", wantErr: "not valid YAML"},
		{name: "env overrides file", yaml: "listeners: [{name: a, address: x}]\nworkers: 1",
			env: []string{"VCA_WORKERS=4", "VCA_LISTENERS_0_ADDRESS=127.0.0.1:9", "VCA_LISTENERS_0_ALLOWED_CIDRS=10.0.0.0/8, 192.168.0.0/16", "VCA_LISTENERS_0_TLS_CERT_FILE=/x.pem", "PATH=/bin"},
			check: func(t *testing.T, r *root) {
				l := r.Listeners[0]
				if r.Workers != 4 || l.Address != "127.0.0.1:9" || len(l.CIDRs) != 2 || l.TLS == nil || l.TLS.Cert != "/x.pem" {
					t.Fatalf("env not applied: %+v %+v", r, l.TLS)
				}
			}},
		{name: "bad env value names the variable", yaml: "", env: []string{"VCA_WORKERS=many"}, wantErr: "workers (from VCA_WORKERS)"},
		{name: "misspelt env variable", yaml: "", env: []string{"VCA_WORKER=2"}, wantErr: "VCA_WORKER: environment variable names no configuration key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var r root
			err := Load([]byte(tt.yaml), tt.env, &r)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				if tt.check != nil {
					tt.check(t, &r)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("error %v, want it to contain %q", err, tt.wantErr)
			}
		})
	}
}

func TestByteSize(t *testing.T) {
	for in, want := range map[string]ByteSize{"65536": 65536, "64KiB": 65536, "8MiB": 8 << 20, "10GiB": 10 << 30, "1MB": 1e6, "512B": 512} {
		var b ByteSize
		if err := b.UnmarshalText([]byte(in)); err != nil || b != want {
			t.Errorf("%s: got %v, %v", in, b, err)
		}
	}
	for _, bad := range []string{"", "-1", "1XB", "KiB", "1.5MiB"} {
		var b ByteSize
		if b.UnmarshalText([]byte(bad)) == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}
