package listen

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"sync/atomic"
)

// certStore holds the TLS material behind an atomic pointer, so a reload
// takes effect for the next handshake without touching open connections.
type certStore struct {
	cfg    TLSConfig
	state  atomic.Pointer[tlsState]
	config *tls.Config
}

type tlsState struct {
	cert *tls.Certificate
	cas  *x509.CertPool
}

func newCertStore(cfg TLSConfig) (*certStore, error) {
	s := &certStore{cfg: cfg}
	if err := s.load(); err != nil {
		return nil, err
	}
	min := uint16(tls.VersionTLS12)
	if cfg.MinVersion == "1.3" {
		min = tls.VersionTLS13
	}
	s.config = &tls.Config{
		MinVersion: min,
		GetConfigForClient: func(*tls.ClientHelloInfo) (*tls.Config, error) {
			st := s.state.Load()
			c := &tls.Config{MinVersion: min, Certificates: []tls.Certificate{*st.cert}}
			switch cfg.ClientAuth {
			case "request":
				c.ClientAuth, c.ClientCAs = tls.VerifyClientCertIfGiven, st.cas
			case "require":
				c.ClientAuth, c.ClientCAs = tls.RequireAndVerifyClientCert, st.cas
			}
			return c, nil
		},
	}
	return s, nil
}

// load reads the files; on any error the previous material stays in use.
func (s *certStore) load() error {
	cert, err := tls.LoadX509KeyPair(s.cfg.CertFile, s.cfg.KeyFile)
	if err != nil {
		return fmt.Errorf("tls: loading %s / %s: %w", s.cfg.CertFile, s.cfg.KeyFile, err)
	}
	st := &tlsState{cert: &cert}
	if s.cfg.ClientCAFile != "" {
		pem, err := os.ReadFile(s.cfg.ClientCAFile)
		if err != nil {
			return fmt.Errorf("tls: reading client CA: %w", err)
		}
		st.cas = x509.NewCertPool()
		if !st.cas.AppendCertsFromPEM(pem) {
			return errors.New("tls: no certificate found in " + s.cfg.ClientCAFile)
		}
	}
	s.state.Store(st)
	return nil
}
