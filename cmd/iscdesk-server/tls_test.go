package main_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/iscdesk/iscdesk/licensing/sandbox"
	"github.com/iscdesk/iscdesk/server/client"
	"github.com/iscdesk/iscdesk/server/servertest"
)

// serve terminates TLS itself from the cert and key files of its config.
func TestServeTLS(t *testing.T) {
	bin := binary(t)
	sb, mkt := marketplace(t)
	code, err := sb.AddCode(sandbox.CodeSpec{Amount: 1})
	if err != nil {
		t.Fatal(err)
	}
	dir, _ := initDir(t, bin)
	certFile, keyFile, pool := selfSigned(t, t.TempDir())
	editConfig(t, dir, map[string]any{"tls_cert": certFile, "tls_key": keyFile})
	srv := startServer(t, bin, dir, mkt, sb)
	if !strings.HasPrefix(srv.url, "https://") {
		t.Fatalf("serve with a certificate listens on %s", srv.url)
	}
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}, Timeout: 10 * time.Second}
	c := &client.Client{BaseURL: srv.url, HTTP: hc}
	d := servertest.NewDevice(1)
	if _, err := activate(c, d, code); err != nil {
		t.Fatalf("activate over TLS: %v", err)
	}
	// Plain HTTP to the TLS port gets nowhere.
	if resp, err := http.Get(strings.Replace(srv.url, "https://", "http://", 1) + "/healthz"); err == nil {
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			t.Fatal("plain HTTP answered on the TLS port")
		}
	}
	srv.stop(t)
}

// selfSigned writes a certificate for 127.0.0.1 and its key, and returns
// a pool trusting it.
func selfSigned(t *testing.T, dir string) (certFile, keyFile string, pool *x509.CertPool) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "iscdesk-server test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, IsCA: true, BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}
