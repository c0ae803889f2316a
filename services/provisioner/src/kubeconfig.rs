//! Per-cluster certificate authorities and kubeconfig generation.
//!
//! Each cluster gets its own CA when it is created (ECDSA P-256, ten years). `GetKubeconfig`
//! mints a fresh client key and a certificate signed by that CA for the caller
//! (`CN=<user>`, `O=accord:<role>` so in-cluster RBAC can bind the group), valid for 24 hours
//! unless the request asks for less (5 minutes to 24 hours: the `accord credentials kubeconfig`
//! exec plugin asks for one hour at each use, so nothing long-lived sits in a kubeconfig).
//! With OIDC configured, the user entry is an exec credential plugin against the customer's
//! identity provider instead, and no client certificate is issued.
//!
//! The CA key is stored in the provisioner's store; a production deployment wraps it with a
//! KMS key (see ARCHITECTURE.md).

use accord_core::{DomainError, cluster::Cluster, iam::Principal, ids::ClusterId};
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
use serde::Serialize;
use time::{Duration, OffsetDateTime};

use crate::trees::ClusterCa;

/// How long a kubeconfig client certificate is valid unless the request asks for less.
pub const CLIENT_CERT_TTL: Duration = Duration::hours(24);

/// The shortest client certificate a request may ask for.
pub const MIN_CLIENT_CERT_TTL: Duration = Duration::minutes(5);

/// The client certificate lifetime a (bounded) request asked for: `0` is [`CLIENT_CERT_TTL`].
/// The range ([`MIN_CLIENT_CERT_TTL`]..=[`CLIENT_CERT_TTL`]) is checked with the request's other
/// limits (`grpc::bounds`); clamped here too, so an unchecked value still mints a certificate
/// within it.
pub fn requested_ttl(seconds: u32) -> Duration {
    match seconds {
        0 => CLIENT_CERT_TTL,
        s => Duration::seconds(i64::from(s)).clamp(MIN_CLIENT_CERT_TTL, CLIENT_CERT_TTL),
    }
}

fn err(e: rcgen::Error) -> DomainError {
    DomainError::internal(format!("certificate: {e}"))
}

/// A new CA for a cluster.
pub fn new_cluster_ca(id: ClusterId, name: &str) -> Result<ClusterCa, DomainError> {
    let key = KeyPair::generate().map_err(err)?;
    let mut params = CertificateParams::default();
    params.distinguished_name.push(
        DnType::CommonName,
        format!("accord cluster CA {name} ({id})"),
    );
    params
        .distinguished_name
        .push(DnType::OrganizationName, "Accord");
    params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let now = OffsetDateTime::now_utc();
    params.not_before = now - Duration::minutes(5);
    params.not_after = now + Duration::days(3650);
    let cert = params.self_signed(&key).map_err(err)?;
    Ok(ClusterCa {
        cert_pem: cert.pem(),
        key_pem: key.serialize_pem(),
    })
}

/// A client certificate and its key, PEM.
pub struct ClientCert {
    pub cert_pem: String,
    pub key_pem: String,
    pub expires_at: OffsetDateTime,
}

/// Signs a client certificate for `user` in group `group` with the cluster CA.
pub fn sign_client_cert(
    ca: &ClusterCa,
    user: &str,
    group: &str,
    now: OffsetDateTime,
    ttl: Duration,
) -> Result<ClientCert, DomainError> {
    let ca_key = KeyPair::from_pem(&ca.key_pem).map_err(err)?;
    let issuer = Issuer::from_ca_cert_pem(&ca.cert_pem, ca_key).map_err(err)?;
    let key = KeyPair::generate().map_err(err)?;
    let mut params = CertificateParams::default();
    params.distinguished_name.push(DnType::CommonName, user);
    params
        .distinguished_name
        .push(DnType::OrganizationName, group);
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    params.use_authority_key_identifier_extension = true;
    params.not_before = now - Duration::minutes(5);
    // Whole seconds: the certificate's notAfter has no fraction, and the expiry a client is
    // told (the ExecCredential's) must not be later than the certificate's.
    let expires_at = (now + ttl)
        .replace_nanosecond(0)
        .map_err(|e| DomainError::internal(format!("certificate expiry: {e}")))?;
    params.not_after = expires_at;
    let cert = params.signed_by(&key, &issuer).map_err(err)?;
    Ok(ClientCert {
        cert_pem: cert.pem(),
        key_pem: key.serialize_pem(),
        expires_at,
    })
}

#[derive(Serialize)]
struct Kubeconfig<'a> {
    #[serde(rename = "apiVersion")]
    api_version: &'static str,
    kind: &'static str,
    clusters: Vec<Named<ClusterEntry<'a>>>,
    users: Vec<Named<UserEntry>>,
    contexts: Vec<Named<ContextEntry>>,
    #[serde(rename = "current-context")]
    current_context: String,
    preferences: std::collections::BTreeMap<String, String>,
}

#[derive(Serialize)]
struct Named<T> {
    name: String,
    #[serde(flatten)]
    inner: T,
}

#[derive(Serialize)]
struct ClusterEntry<'a> {
    cluster: ClusterFields<'a>,
}

#[derive(Serialize)]
struct ClusterFields<'a> {
    server: &'a str,
    #[serde(rename = "certificate-authority-data")]
    ca_data: String,
}

#[derive(Serialize)]
struct UserEntry {
    user: UserFields,
}

#[derive(Serialize, Default)]
struct UserFields {
    #[serde(
        rename = "client-certificate-data",
        skip_serializing_if = "Option::is_none"
    )]
    cert: Option<String>,
    #[serde(rename = "client-key-data", skip_serializing_if = "Option::is_none")]
    key: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    exec: Option<ExecConfig>,
}

#[derive(Serialize)]
struct ExecConfig {
    #[serde(rename = "apiVersion")]
    api_version: &'static str,
    command: &'static str,
    args: Vec<String>,
    #[serde(rename = "interactiveMode")]
    interactive_mode: &'static str,
    #[serde(rename = "provideClusterInfo")]
    provide_cluster_info: bool,
}

#[derive(Serialize)]
struct ContextEntry {
    context: ContextFields,
}

#[derive(Serialize)]
struct ContextFields {
    cluster: String,
    user: String,
}

/// The group a role maps to in client certificates.
pub fn role_group(principal: &Principal) -> String {
    match principal {
        Principal::Customer { role, .. } => format!("accord:{}", role.as_str()),
        Principal::ProviderOperator { .. } => "accord:provider-operator".into(),
    }
}

/// The rendered kubeconfig and what it contains.
pub struct Rendered {
    pub yaml: String,
    /// The client certificate embedded in it (none for an OIDC cluster).
    pub client_cert: Option<ClientCert>,
}

/// Builds a kubeconfig for `principal` on `cluster`.
pub fn render(
    cluster: &Cluster,
    ca: &ClusterCa,
    principal: &Principal,
    now: OffsetDateTime,
    ttl: Duration,
) -> Result<Rendered, DomainError> {
    use base64::{Engine, engine::general_purpose::STANDARD};
    let name = format!("accord-{}", cluster.metadata.name);
    let user_name = format!("{}@{}", principal.display_name(), cluster.metadata.name);
    let (user, client_cert) = match &cluster.spec.oidc {
        Some(oidc) => {
            let mut args = vec![
                "oidc-login".to_owned(),
                "get-token".to_owned(),
                format!("--oidc-issuer-url={}", oidc.issuer_url),
                format!("--oidc-client-id={}", oidc.client_id),
                "--oidc-extra-scope=email".to_owned(),
            ];
            if oidc.groups_claim != "sub" {
                args.push(format!("--oidc-extra-scope={}", oidc.groups_claim));
            }
            (
                UserFields {
                    exec: Some(ExecConfig {
                        api_version: "client.authentication.k8s.io/v1",
                        command: "kubectl",
                        args,
                        interactive_mode: "IfAvailable",
                        provide_cluster_info: false,
                    }),
                    ..UserFields::default()
                },
                None,
            )
        }
        None => {
            let cert = sign_client_cert(
                ca,
                principal.display_name(),
                &role_group(principal),
                now,
                ttl,
            )?;
            (
                UserFields {
                    cert: Some(STANDARD.encode(cert.cert_pem.as_bytes())),
                    key: Some(STANDARD.encode(cert.key_pem.as_bytes())),
                    exec: None,
                },
                Some(cert),
            )
        }
    };
    let doc = Kubeconfig {
        api_version: "v1",
        kind: "Config",
        clusters: vec![Named {
            name: name.clone(),
            inner: ClusterEntry {
                cluster: ClusterFields {
                    server: &cluster.status.api_endpoint,
                    ca_data: STANDARD.encode(ca.cert_pem.as_bytes()),
                },
            },
        }],
        users: vec![Named {
            name: user_name.clone(),
            inner: UserEntry { user },
        }],
        contexts: vec![Named {
            name: name.clone(),
            inner: ContextEntry {
                context: ContextFields {
                    cluster: name.clone(),
                    user: user_name,
                },
            },
        }],
        current_context: name,
        preferences: Default::default(),
    };
    let yaml = serde_norway::to_string(&doc)
        .map_err(|e| DomainError::internal(format!("kubeconfig: {e}")))?;
    Ok(Rendered { yaml, client_cert })
}

#[cfg(test)]
mod tests {
    use super::*;
    use x509_parser::prelude::*;

    #[test]
    fn client_cert_chains_to_the_cluster_ca() {
        let ca = new_cluster_ca(ClusterId::generate(), "demo").unwrap();
        let now = OffsetDateTime::now_utc();
        let client = sign_client_cert(
            &ca,
            "ada@example.com",
            "accord:editor",
            now,
            Duration::hours(1),
        )
        .unwrap();
        let (_, ca_pem) = parse_x509_pem(ca.cert_pem.as_bytes()).unwrap();
        let ca_x = ca_pem.parse_x509().unwrap();
        let (_, c_pem) = parse_x509_pem(client.cert_pem.as_bytes()).unwrap();
        let c_x = c_pem.parse_x509().unwrap();
        assert_eq!(c_x.issuer(), ca_x.subject());
        c_x.verify_signature(Some(ca_x.public_key())).unwrap();
        assert!(ca_x.is_ca());
        let cn = c_x
            .subject()
            .iter_common_name()
            .next()
            .unwrap()
            .as_str()
            .unwrap();
        assert_eq!(cn, "ada@example.com");
        let o = c_x
            .subject()
            .iter_organization()
            .next()
            .unwrap()
            .as_str()
            .unwrap();
        assert_eq!(o, "accord:editor");
        assert_eq!(
            c_x.validity().not_after.timestamp(),
            (now + Duration::hours(1)).unix_timestamp()
        );
        assert_eq!(client.expires_at.nanosecond(), 0);
        assert_eq!(
            client.expires_at.unix_timestamp(),
            c_x.validity().not_after.timestamp()
        );
    }

    #[test]
    fn requested_lifetimes_default_and_stay_within_the_range() {
        assert_eq!(requested_ttl(0), CLIENT_CERT_TTL);
        assert_eq!(requested_ttl(3600), Duration::hours(1));
        assert_eq!(requested_ttl(300), MIN_CLIENT_CERT_TTL);
        assert_eq!(requested_ttl(86_400), CLIENT_CERT_TTL);
        assert_eq!(requested_ttl(1), MIN_CLIENT_CERT_TTL);
        assert_eq!(requested_ttl(u32::MAX), CLIENT_CERT_TTL);
    }
}
