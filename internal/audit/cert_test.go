package audit

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/driftd/driftd/internal/config"
	"github.com/driftd/driftd/internal/demo"
	"github.com/driftd/driftd/internal/sim"
)

// writeCertificate creates a self-signed certificate with its key in one
// PEM file, as `certificate_file` expects, and returns the certificate.
func writeCertificate(t *testing.T, path string) *x509.Certificate {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(42),
		Subject:      pkix.Name{CommonName: "driftd auditor"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	out := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	out = append(out, pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})...)
	if err := os.WriteFile(path, out, 0o600); err != nil {
		t.Fatal(err)
	}
	return cert
}

func TestCertificateAuthentication(t *testing.T) {
	dir := t.TempDir()
	env, err := demo.Start(dir, demo.ScenarioHealthy, time.Now(), sim.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer env.Close()
	cert := writeCertificate(t, filepath.Join(dir, "auditor.pem"))
	env.Server.Update(func(tn *sim.Tenant) { tn.AuditorCertificate = cert })

	// Swap the client secret for the certificate in the generated config.
	text, err := os.ReadFile(env.ConfigPath)
	if err != nil {
		t.Fatal(err)
	}
	swapped := strings.Replace(string(text), `client_secret_file = "entra-client-secret"`, `certificate_file = "auditor.pem"`, 1)
	if err := os.WriteFile(env.ConfigPath, []byte(swapped), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(env.ConfigPath)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Entra.AuthMethod() != config.AuthCertificate {
		t.Fatalf("auth method %q", cfg.Entra.AuthMethod())
	}
	r := runAudit(t, cfg)
	if len(r.Gaps) != 0 || len(r.Findings) != 0 {
		t.Fatalf("certificate auth: gaps %+v findings %v", r.Gaps, keys(r.Findings))
	}
}
