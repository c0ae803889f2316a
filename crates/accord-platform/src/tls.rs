//! The local certificate authority of `accord up`: when a deployment binds beyond loopback, its
//! gRPC servers and its nats-server serve TLS with a certificate signed by a CA of the
//! deployment's own (`<dir>/ca.pem`, key `ca.key` 0600, created once, ten years), re-issued
//! each start for the names clients use (`server.pem`, `server.key` 0600, one year): localhost,
//! the loopback addresses, the host's name and the given names and addresses. Clients trust
//! the CA file (the CLI's profile `ca_file`, the services' NATS connections). Production
//! deployments bring certificates from their own CA instead (`[runtime]` `tls_cert_file`,
//! `tls_key_file`, `nats_ca_file`; `deploy/README.md`).

use std::{
    net::IpAddr,
    path::{Path, PathBuf},
};

use accord_runtime::tls::TlsIdentity;
use anyhow::Context as _;
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, SanType,
};
use time::{Duration, OffsetDateTime};

/// TLS of a platform: what its servers present and the CA its clients verify them with.
#[derive(Debug, Clone)]
pub struct PlatformTls {
    /// The servers' certificate and key.
    pub identity: TlsIdentity,
    /// The certificate file (nats-server reads files).
    pub cert_file: PathBuf,
    /// The key file.
    pub key_file: PathBuf,
    /// The CA certificate clients trust.
    pub ca_file: PathBuf,
}

/// The deployment's CA in `dir` (created on first use) and a server certificate it signs for
/// `names` (DNS names or IP addresses) besides the local ones.
pub fn local_ca(dir: &Path, names: &[String]) -> anyhow::Result<PlatformTls> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let ca_file = dir.join("ca.pem");
    let ca_key_file = dir.join("ca.key");
    if !ca_file.exists() || !ca_key_file.exists() {
        let (cert, key) = new_ca().context("creating the local CA")?;
        write_file(&ca_key_file, key.as_bytes(), 0o600)?;
        write_file(&ca_file, cert.as_bytes(), 0o644)?;
    }
    let ca_cert = std::fs::read_to_string(&ca_file)
        .with_context(|| format!("reading {}", ca_file.display()))?;
    let ca_key = std::fs::read_to_string(&ca_key_file)
        .with_context(|| format!("reading {}", ca_key_file.display()))?;
    let (cert_pem, key_pem) =
        server_cert(&ca_cert, &ca_key, names).context("issuing the server certificate")?;
    let cert_file = dir.join("server.pem");
    let key_file = dir.join("server.key");
    write_file(&key_file, key_pem.as_bytes(), 0o600)?;
    write_file(&cert_file, cert_pem.as_bytes(), 0o644)?;
    Ok(PlatformTls {
        identity: TlsIdentity { cert_pem, key_pem },
        cert_file,
        key_file,
        ca_file,
    })
}

fn new_ca() -> Result<(String, String), rcgen::Error> {
    let key = KeyPair::generate()?;
    let mut params = CertificateParams::default();
    params
        .distinguished_name
        .push(DnType::CommonName, "accord local CA");
    params
        .distinguished_name
        .push(DnType::OrganizationName, "Accord");
    params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let now = OffsetDateTime::now_utc();
    params.not_before = now - Duration::minutes(5);
    params.not_after = now + Duration::days(3650);
    let cert = params.self_signed(&key)?;
    Ok((cert.pem(), key.serialize_pem()))
}

fn server_cert(ca_cert: &str, ca_key: &str, names: &[String]) -> anyhow::Result<(String, String)> {
    let issuer = Issuer::from_ca_cert_pem(ca_cert, KeyPair::from_pem(ca_key)?)?;
    let key = KeyPair::generate()?;
    let mut params = CertificateParams::default();
    params.distinguished_name.push(DnType::CommonName, "accord");
    let mut sans = vec![
        SanType::DnsName("localhost".try_into()?),
        SanType::IpAddress(IpAddr::from([127, 0, 0, 1])),
        SanType::IpAddress(IpAddr::from(std::net::Ipv6Addr::LOCALHOST)),
    ];
    if let Ok(host) = hostname()
        && is_dns_name(&host)
    {
        sans.push(SanType::DnsName(host.try_into()?));
    }
    for name in names {
        let san = match name.parse::<IpAddr>() {
            Ok(ip) if ip.is_unspecified() => continue,
            Ok(ip) => SanType::IpAddress(ip),
            Err(_) if is_dns_name(name) => SanType::DnsName(name.clone().try_into()?),
            Err(_) => anyhow::bail!(
                "{:?} is neither an IP address nor a DNS name",
                name.chars().take(64).collect::<String>()
            ),
        };
        if !sans.contains(&san) {
            sans.push(san);
        }
    }
    params.subject_alt_names = sans;
    params.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyEncipherment,
    ];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    params.use_authority_key_identifier_extension = true;
    let now = OffsetDateTime::now_utc();
    params.not_before = now - Duration::minutes(5);
    params.not_after = now + Duration::days(365);
    let cert = params.signed_by(&key, &issuer)?;
    Ok((cert.pem(), key.serialize_pem()))
}

/// A DNS name: dot-separated labels of letters, digits and hyphens (not at either end), each
/// at most 63 bytes, 253 in all.
fn is_dns_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 253
        && name.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
}

/// Writes one of the CA's files atomically with `mode`.
fn write_file(path: &Path, bytes: &[u8], mode: u32) -> anyhow::Result<()> {
    accord_nats_auth::keys::write_atomically(path, bytes, mode)
        .with_context(|| format!("writing {}", path.display()))
}

/// This host's name (`/proc/sys/kernel/hostname`, else `$HOSTNAME`).
fn hostname() -> anyhow::Result<String> {
    let name = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .context("no host name")?;
    Ok(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ca_is_kept_the_server_certificate_names_the_given_hosts_and_keys_are_private() {
        let dir = tempfile::tempdir().unwrap();
        let first = local_ca(dir.path(), &["10.1.2.3".into(), "accord.example".into()]).unwrap();
        let ca = std::fs::read_to_string(&first.ca_file).unwrap();
        let again = local_ca(dir.path(), &[]).unwrap();
        assert_eq!(std::fs::read_to_string(&again.ca_file).unwrap(), ca);
        let (_, cert) =
            x509_parser::pem::parse_x509_pem(first.identity.cert_pem.as_bytes()).unwrap();
        let cert = cert.parse_x509().unwrap();
        let sans = cert.subject_alternative_name().unwrap().unwrap().value;
        let text = format!("{sans:?}");
        for want in ["localhost", "accord.example", "10.1.2.3"] {
            assert!(
                text.contains(want) || text.contains("[10, 1, 2, 3]"),
                "{want} not in {text}"
            );
        }
        #[cfg(unix)]
        for key in [dir.path().join("ca.key"), first.key_file.clone()] {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(&key).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600, "{}", key.display());
        }
        assert!(local_ca(dir.path(), &["not a name!".into()]).is_err());
    }
}
