//! TLS material of a service's servers: the certificate chain and private key (PEM) its gRPC
//! server presents. Read from files given in configuration (`accord up` writes them from its
//! local CA when it binds beyond loopback); the key's text never appears in `Debug` output.

use std::path::Path;

use anyhow::Context as _;

/// A server's certificate chain and private key, PEM.
#[derive(Clone, PartialEq, Eq)]
pub struct TlsIdentity {
    /// The certificate chain, leaf first.
    pub cert_pem: String,
    /// The private key.
    pub key_pem: String,
}

impl std::fmt::Debug for TlsIdentity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsIdentity")
            .field("cert_pem_bytes", &self.cert_pem.len())
            .finish_non_exhaustive()
    }
}

impl TlsIdentity {
    /// Reads the certificate and key files; both must be PEM.
    pub fn from_files(cert: &Path, key: &Path) -> anyhow::Result<Self> {
        let cert_pem = std::fs::read_to_string(cert)
            .with_context(|| format!("reading the TLS certificate {}", cert.display()))?;
        let key_pem = std::fs::read_to_string(key)
            .with_context(|| format!("reading the TLS key {}", key.display()))?;
        if !cert_pem.contains("-----BEGIN CERTIFICATE-----") {
            anyhow::bail!("{} holds no PEM certificate", cert.display());
        }
        if !key_pem.contains("PRIVATE KEY-----") {
            anyhow::bail!("{} holds no PEM private key", key.display());
        }
        Ok(Self { cert_pem, key_pem })
    }
}
