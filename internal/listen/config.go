package listen

import (
	"errors"
	"fmt"
	"net/netip"
	"time"

	"github.com/openclaw-vca/openclaw-vca/internal/config"
)

// Defaults, chosen for gateways that send up to 64 KiB L7 JSON lines and
// for bursts of several hundred thousand datagrams per second.
const (
	DefaultMaxMessageSize = 64 << 10
	DefaultReceiveBuffer  = 8 << 20
	DefaultMaxConnections = 1024
	DefaultIdleTimeout    = 5 * time.Minute
	DefaultUDPBatch       = 64
)

// UDPConfig is one UDP listener.
type UDPConfig struct {
	Name           string          `yaml:"name"`
	Address        string          `yaml:"address"`
	Readers        int             `yaml:"readers"`
	ReceiveBuffer  config.ByteSize `yaml:"receive_buffer"`
	MaxMessageSize config.ByteSize `yaml:"max_message_size"`
	BatchSize      int             `yaml:"batch_size"`
	AllowedCIDRs   []netip.Prefix  `yaml:"allowed_cidrs"`
}

// TCPConfig is one TCP listener; with TLS set it speaks RFC 5425.
type TCPConfig struct {
	Name           string          `yaml:"name"`
	Address        string          `yaml:"address"`
	MaxMessageSize config.ByteSize `yaml:"max_message_size"`
	MaxConnections int             `yaml:"max_connections"`
	IdleTimeout    config.Duration `yaml:"idle_timeout"`
	AllowedCIDRs   []netip.Prefix  `yaml:"allowed_cidrs"`
	TLS            *TLSConfig      `yaml:"tls"`
}

// TLSConfig holds the server certificate and, for mutual TLS, the CA that
// client certificates must chain to.
type TLSConfig struct {
	CertFile     string `yaml:"cert_file"`
	KeyFile      string `yaml:"key_file"`
	ClientCAFile string `yaml:"client_ca_file"`
	// ClientAuth: "none", "request" (verify if given) or "require".
	ClientAuth string `yaml:"client_auth"`
	MinVersion string `yaml:"min_version"` // "1.2" or "1.3"
}

func (c *UDPConfig) SetDefaults() {
	if c.Readers == 0 {
		c.Readers = 2
	}
	if c.ReceiveBuffer == 0 {
		c.ReceiveBuffer = DefaultReceiveBuffer
	}
	if c.MaxMessageSize == 0 {
		c.MaxMessageSize = DefaultMaxMessageSize
	}
	if c.BatchSize == 0 {
		c.BatchSize = DefaultUDPBatch
	}
}

func (c *UDPConfig) Validate() error {
	switch {
	case c.Name == "":
		return config.FieldError("name", errors.New("is required"))
	case c.Address == "":
		return config.FieldError("address", errors.New("is required"))
	case c.Readers < 1 || c.Readers > 64:
		return config.FieldError("readers", fmt.Errorf("%d is not between 1 and 64", c.Readers))
	case c.MaxMessageSize < 480 || c.MaxMessageSize > 64<<10:
		return config.FieldError("max_message_size", fmt.Errorf("%v is outside 480B..64KiB (a datagram carries at most 65507 bytes)", c.MaxMessageSize))
	case c.BatchSize < 1 || c.BatchSize > 1024:
		return config.FieldError("batch_size", fmt.Errorf("%d is not between 1 and 1024", c.BatchSize))
	}
	return nil
}

func (c *TCPConfig) SetDefaults() {
	if c.MaxMessageSize == 0 {
		c.MaxMessageSize = DefaultMaxMessageSize
	}
	if c.MaxConnections == 0 {
		c.MaxConnections = DefaultMaxConnections
	}
	if c.IdleTimeout == 0 {
		c.IdleTimeout = config.Duration(DefaultIdleTimeout)
	}
	if c.TLS != nil && c.TLS.ClientAuth == "" {
		c.TLS.ClientAuth = "none"
		if c.TLS.ClientCAFile != "" {
			c.TLS.ClientAuth = "require"
		}
	}
	if c.TLS != nil && c.TLS.MinVersion == "" {
		c.TLS.MinVersion = "1.2"
	}
}

func (c *TCPConfig) Validate() error {
	switch {
	case c.Name == "":
		return config.FieldError("name", errors.New("is required"))
	case c.Address == "":
		return config.FieldError("address", errors.New("is required"))
	case c.MaxMessageSize < 480 || c.MaxMessageSize > 16<<20:
		return config.FieldError("max_message_size", fmt.Errorf("%v is outside 480 B..16 MiB", c.MaxMessageSize))
	case c.MaxConnections < 1:
		return config.FieldError("max_connections", fmt.Errorf("%d must be at least 1", c.MaxConnections))
	}
	if t := c.TLS; t != nil {
		switch {
		case t.CertFile == "":
			return config.FieldError("tls.cert_file", errors.New("is required with tls"))
		case t.KeyFile == "":
			return config.FieldError("tls.key_file", errors.New("is required with tls"))
		case t.ClientAuth != "none" && t.ClientAuth != "request" && t.ClientAuth != "require":
			return config.FieldError("tls.client_auth", fmt.Errorf("%q is not one of none, request, require", t.ClientAuth))
		case t.ClientAuth != "none" && t.ClientCAFile == "":
			return config.FieldError("tls.client_ca_file", fmt.Errorf("is required with client_auth %q", t.ClientAuth))
		case t.MinVersion != "1.2" && t.MinVersion != "1.3":
			return config.FieldError("tls.min_version", fmt.Errorf("%q is not 1.2 or 1.3", t.MinVersion))
		}
	}
	return nil
}

func allowed(prefixes []netip.Prefix, a netip.Addr) bool {
	if len(prefixes) == 0 {
		return true
	}
	a = a.Unmap()
	for _, p := range prefixes {
		if p.Contains(a) {
			return true
		}
	}
	return false
}
