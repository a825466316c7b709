package streamkit

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"

	"github.com/dataaggregator/aggregator/internal/configspec"
)

// TLS is the TLS configuration of a broker connection.
type TLS struct {
	Enabled            bool
	CAFile             string
	CertFile           string
	KeyFile            string
	InsecureSkipVerify bool
}

// Bind declares the TLS parameters on b.
func (t *TLS) Bind(b *configspec.Builder) {
	b.Bool(&t.Enabled, "tls").Default(false).Doc("Connect with TLS.")
	b.String(&t.CAFile, "tls_ca_file").Doc("PEM file of the CA certificates that sign the broker's certificate (default: the system's).")
	b.String(&t.CertFile, "tls_cert_file").Doc("PEM client certificate, for brokers that authenticate clients by certificate.")
	b.String(&t.KeyFile, "tls_key_file").Doc("PEM private key of tls_cert_file.")
	b.Bool(&t.InsecureSkipVerify, "tls_insecure_skip_verify").Default(false).Doc("Do not verify the broker's certificate (tests only).")
}

// Config builds the tls.Config; nil when TLS is off.
func (t TLS) Config() (*tls.Config, error) {
	if !t.Enabled {
		if t.CAFile != "" || t.CertFile != "" {
			return nil, fmt.Errorf("tls: tls_ca_file and tls_cert_file need tls: true")
		}
		return nil, nil
	}
	c := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: t.InsecureSkipVerify} //nolint:gosec // an explicit, documented test option
	if t.CAFile != "" {
		pem, err := os.ReadFile(t.CAFile)
		if err != nil {
			return nil, fmt.Errorf("tls_ca_file: %v", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("tls_ca_file: %s holds no PEM certificate", t.CAFile)
		}
		c.RootCAs = pool
	}
	if (t.CertFile == "") != (t.KeyFile == "") {
		return nil, fmt.Errorf("tls_cert_file, tls_key_file: give both or neither")
	}
	if t.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(t.CertFile, t.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("tls_cert_file: %v", err)
		}
		c.Certificates = []tls.Certificate{cert}
	}
	return c, nil
}
