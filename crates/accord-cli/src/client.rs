//! The gRPC connection to the Accord API: one channel, a bearer-token interceptor, typed clients
//! for the provisioner's services, and [`ApiError`] — what a failed call means to a user.
//!
//! Invariants:
//! - Every request carries `authorization: Bearer <token>`; the token never appears in errors
//!   or `Debug` output.
//! - A call that could not reach the server becomes [`ApiError::Unreachable`] (with a hint to
//!   start Accord); a status the server sent becomes [`ApiError::Status`], rendered
//!   `CODE_NAME: message` exactly as the server worded it.

use std::error::Error as StdError;
use std::future::Future;
use std::time::Duration;

use accord_proto::addons::v1::{addons_client::AddonsClient, plugins_client::PluginsClient};
use accord_proto::firewall::v1::firewall_client::FirewallClient;
use accord_proto::images::v1::images_client::ImagesClient;
use accord_proto::provisioner::v1::clusters_client::ClustersClient;
use accord_proto::provisioner::v1::node_pools_client::NodePoolsClient;
use accord_proto::provisioner::v1::nodes_client::NodesClient;
use accord_proto::provisioner::v1::projects_client::ProjectsClient;
use accord_proto::provisioner::v1::remediations_client::RemediationsClient;
use accord_proto::storage::v1::storage_client::StorageClient;
use accord_proto::support::v1::notifications_client::NotificationsClient;
use accord_proto::support::v1::support_client::SupportClient;
use accord_proto::telemetry::v1::health_client::HealthClient;
use tonic::metadata::{Ascii, MetadataValue};
use tonic::service::Interceptor;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::{Certificate, ClientTlsConfig};
use tonic::transport::{Channel, Endpoint};
use tonic::{Code, Request, Response, Status};

/// How long connecting may take before the API counts as unreachable.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Upper bound of one call (every RPC answers promptly; long work happens asynchronously).
const CALL_TIMEOUT: Duration = Duration::from_secs(60);

/// Adds `authorization: Bearer <token>` to every request.
#[derive(Clone)]
pub struct BearerAuth {
    header: MetadataValue<Ascii>,
}

impl std::fmt::Debug for BearerAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("BearerAuth(<redacted>)")
    }
}

impl BearerAuth {
    /// The interceptor for `token` (`accord_<id>_<secret>`).
    pub fn new(token: &str) -> Result<BearerAuth, ApiError> {
        let header = format!("Bearer {}", token.trim())
            .parse::<MetadataValue<Ascii>>()
            .map_err(|_| ApiError::InvalidToken)?;
        Ok(BearerAuth { header })
    }
}

impl Interceptor for BearerAuth {
    fn call(&mut self, mut request: Request<()>) -> Result<Request<()>, Status> {
        request
            .metadata_mut()
            .insert("authorization", self.header.clone());
        Ok(request)
    }
}

/// The channel type every client uses.
pub type AuthChannel = InterceptedService<Channel, BearerAuth>;

/// What went wrong talking to the API.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The server answered with an error status.
    #[error("{}", render_status(*.code, .message))]
    Status {
        /// The gRPC code.
        code: Code,
        /// The server's message.
        message: String,
    },
    /// The server could not be reached.
    #[error("cannot reach the Accord API at {endpoint}{}: is it running? (cargo xtask up)", detail_suffix(.detail))]
    Unreachable {
        /// The endpoint URL.
        endpoint: String,
        /// Why, when it is something other than "connection refused".
        detail: Option<String>,
    },
    /// The endpoint is not a URL.
    #[error("invalid API endpoint {endpoint:?}: {reason}")]
    InvalidEndpoint {
        /// What was given.
        endpoint: String,
        /// Why it is not usable.
        reason: String,
    },
    /// The token contains characters that cannot be sent in a header.
    #[error(
        "the API token contains characters that are not allowed (expected accord_<id>_<secret>)"
    )]
    InvalidToken,
}

impl ApiError {
    /// The gRPC code, when the server answered.
    pub fn code(&self) -> Option<Code> {
        match self {
            ApiError::Status { code, .. } => Some(*code),
            _ => None,
        }
    }

    /// True for NOT_FOUND.
    pub fn is_not_found(&self) -> bool {
        self.code() == Some(Code::NotFound)
    }

    /// True when retrying later may succeed (server unreachable or UNAVAILABLE).
    pub fn is_transient(&self) -> bool {
        matches!(self, ApiError::Unreachable { .. }) || self.code() == Some(Code::Unavailable)
    }

    /// A NOT_FOUND produced on the client side (e.g. a member missing from a list).
    pub fn not_found(message: impl Into<String>) -> ApiError {
        ApiError::Status {
            code: Code::NotFound,
            message: message.into(),
        }
    }

    /// What to do about it, when there is something to suggest.
    pub fn hint(&self) -> Option<&'static str> {
        match self.code()? {
            Code::Unauthenticated => Some(
                "check the API token (--token, ACCORD_TOKEN, or the profile in the config file)",
            ),
            Code::PermissionDenied => Some(
                "your role or party may not do this (see `accord whoami`); provider-side actions need \
                 an operator token (e.g. --profile operator)",
            ),
            Code::Unimplemented => Some(
                "the server does not offer this call: are the CLI and server versions the same?",
            ),
            Code::Aborted => Some("the resource changed meanwhile: look at it again and retry"),
            _ => None,
        }
    }

    /// Classifies a status returned by a call to `endpoint`.
    pub fn from_status(endpoint: &str, status: Status) -> ApiError {
        // A transport failure surfaces as UNAVAILABLE *with a source*; a server's own UNAVAILABLE
        // (e.g. "bus down") has none.
        if status.code() == Code::Unavailable && status.source().is_some() {
            return ApiError::unreachable(endpoint, &status);
        }
        ApiError::Status {
            code: status.code(),
            message: status.message().to_owned(),
        }
    }

    fn unreachable(endpoint: &str, error: &(dyn StdError + 'static)) -> ApiError {
        ApiError::Unreachable {
            endpoint: endpoint.to_owned(),
            detail: unreachable_detail(error),
        }
    }
}

fn detail_suffix(detail: &Option<String>) -> String {
    detail
        .as_ref()
        .map(|detail| format!(" ({detail})"))
        .unwrap_or_default()
}

/// `CODE_NAME: message` (or the code name alone).
fn render_status(code: Code, message: &str) -> String {
    if message.is_empty() {
        code_name(code).to_owned()
    } else {
        format!("{}: {message}", code_name(code))
    }
}

/// The canonical name of a gRPC status code (defined once, in `accord-proto`).
pub use accord_proto::convert::code_name;

/// `None` for "connection refused" (the common case the main message covers), else the
/// innermost cause.
fn unreachable_detail(error: &(dyn StdError + 'static)) -> Option<String> {
    let mut innermost: &(dyn StdError + 'static) = error;
    let mut current = Some(error);
    while let Some(e) = current {
        if let Some(io) = e.downcast_ref::<std::io::Error>()
            && io.kind() == std::io::ErrorKind::ConnectionRefused
        {
            return None;
        }
        innermost = e;
        current = e.source();
    }
    let text = innermost.to_string();
    if text.to_ascii_lowercase().contains("connection refused") {
        None
    } else {
        Some(text)
    }
}

/// Adds `http://` when the endpoint has no scheme (`127.0.0.1:50051`).
pub fn normalize_endpoint(endpoint: &str) -> String {
    let endpoint = endpoint.trim().trim_end_matches('/');
    if endpoint.contains("://") {
        endpoint.to_owned()
    } else {
        format!("http://{endpoint}")
    }
}

/// A connected, authenticated API client.
#[derive(Debug, Clone)]
pub struct Api {
    endpoint: String,
    project: String,
    channel: Channel,
    auth: BearerAuth,
}

impl Api {
    /// Connects to `endpoint` and authenticates every call with `token`. `project` fills the
    /// `project` field of every request (empty: the key's own project).
    pub async fn connect(endpoint: &str, token: &str, project: &str) -> Result<Api, ApiError> {
        Self::connect_with_ca(endpoint, token, project, None).await
    }

    /// Like [`Api::connect`]; an `https://` endpoint's certificate is verified against the
    /// PEM CA in `ca_file` (a local CA of `accord up`), else the system's roots.
    pub async fn connect_with_ca(
        endpoint: &str,
        token: &str,
        project: &str,
        ca_file: Option<&std::path::Path>,
    ) -> Result<Api, ApiError> {
        let auth = BearerAuth::new(token)?;
        let endpoint = normalize_endpoint(endpoint);
        let invalid = |reason: String| ApiError::InvalidEndpoint {
            endpoint: endpoint.clone(),
            reason,
        };
        let target = Endpoint::from_shared(endpoint.clone())
            .map_err(|error| invalid(error.to_string()))?
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(CALL_TIMEOUT)
            .tcp_nodelay(true);
        let loopback = target.uri().host().is_some_and(|h| {
            h == "localhost"
                || h.trim_start_matches('[')
                    .trim_end_matches(']')
                    .parse::<std::net::IpAddr>()
                    .is_ok_and(|ip| ip.is_loopback())
        });
        let target = match target.uri().scheme_str() {
            // The key is a full API credential: plaintext only to this host.
            Some("http") if !loopback => {
                return Err(invalid(
                    "plaintext http:// sends the API key in clear beyond this host: use \
                     https:// (with the server's CA in ca_file)"
                        .to_owned(),
                ));
            }
            Some("http") => target,
            Some("https") => {
                let tls = match ca_file {
                    Some(path) => {
                        let pem = std::fs::read_to_string(path).map_err(|error| {
                            invalid(format!("reading the CA file {}: {error}", path.display()))
                        })?;
                        ClientTlsConfig::new().ca_certificate(Certificate::from_pem(pem))
                    }
                    None => ClientTlsConfig::new().with_native_roots(),
                };
                target
                    .tls_config(tls)
                    .map_err(|error| invalid(error.to_string()))?
            }
            _ => return Err(invalid("the scheme must be http:// or https://".to_owned())),
        };
        let channel = target
            .connect()
            .await
            .map_err(|error| ApiError::unreachable(&endpoint, &error))?;
        Ok(Api {
            endpoint,
            project: project.to_owned(),
            channel,
            auth,
        })
    }

    /// The endpoint URL.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// The value for every request's `project` field.
    pub fn project(&self) -> String {
        self.project.clone()
    }

    /// `accord.provisioner.v1.Projects`.
    pub fn projects(&self) -> ProjectsClient<AuthChannel> {
        ProjectsClient::with_interceptor(self.channel.clone(), self.auth.clone())
    }

    /// `accord.provisioner.v1.Clusters`.
    pub fn clusters(&self) -> ClustersClient<AuthChannel> {
        ClustersClient::with_interceptor(self.channel.clone(), self.auth.clone())
    }

    /// `accord.provisioner.v1.NodePools`.
    pub fn node_pools(&self) -> NodePoolsClient<AuthChannel> {
        NodePoolsClient::with_interceptor(self.channel.clone(), self.auth.clone())
    }

    /// `accord.provisioner.v1.Nodes`.
    pub fn nodes(&self) -> NodesClient<AuthChannel> {
        NodesClient::with_interceptor(self.channel.clone(), self.auth.clone())
    }

    /// `accord.provisioner.v1.Remediations`.
    pub fn remediations(&self) -> RemediationsClient<AuthChannel> {
        RemediationsClient::with_interceptor(self.channel.clone(), self.auth.clone())
    }

    /// `accord.addons.v1.Addons` (connect with the addon-manager's endpoint).
    pub fn addons(&self) -> AddonsClient<AuthChannel> {
        AddonsClient::with_interceptor(self.channel.clone(), self.auth.clone())
    }

    /// `accord.addons.v1.Plugins` (connect with the addon-manager's endpoint).
    pub fn plugins(&self) -> PluginsClient<AuthChannel> {
        PluginsClient::with_interceptor(self.channel.clone(), self.auth.clone())
    }

    /// `accord.support.v1.Support` (connect with support-triage's endpoint).
    pub fn support(&self) -> SupportClient<AuthChannel> {
        SupportClient::with_interceptor(self.channel.clone(), self.auth.clone())
    }

    /// `accord.support.v1.Notifications` (connect with support-triage's endpoint).
    pub fn notifications(&self) -> NotificationsClient<AuthChannel> {
        NotificationsClient::with_interceptor(self.channel.clone(), self.auth.clone())
    }

    /// `accord.telemetry.v1.Health` (connect with the telemetry service's endpoint).
    pub fn health(&self) -> HealthClient<AuthChannel> {
        HealthClient::with_interceptor(self.channel.clone(), self.auth.clone())
    }

    /// `accord.firewall.v1.Firewall` (connect with the network-firewall service's endpoint).
    pub fn firewall(&self) -> FirewallClient<AuthChannel> {
        FirewallClient::with_interceptor(self.channel.clone(), self.auth.clone())
    }

    /// `accord.storage.v1.Storage` (connect with the storage-csi service's endpoint).
    pub fn storage(&self) -> StorageClient<AuthChannel> {
        StorageClient::with_interceptor(self.channel.clone(), self.auth.clone())
    }

    /// `accord.images.v1.Images` (connect with the image-builder's endpoint).
    pub fn images(&self) -> ImagesClient<AuthChannel> {
        ImagesClient::with_interceptor(self.channel.clone(), self.auth.clone())
    }

    /// Awaits a call and classifies its failure.
    pub async fn call<T>(
        &self,
        call: impl Future<Output = Result<Response<T>, Status>>,
    ) -> Result<T, ApiError> {
        call.await
            .map(Response::into_inner)
            .map_err(|status| ApiError::from_status(&self.endpoint, status))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_rendering() {
        let cases = [
            (
                Status::failed_precondition("cluster demo still has node pools: gpu-a, gpu-b"),
                "FAILED_PRECONDITION: cluster demo still has node pools: gpu-a, gpu-b",
            ),
            (
                Status::not_found("cluster x not found"),
                "NOT_FOUND: cluster x not found",
            ),
            (
                Status::invalid_argument("spec.network.pod_cidr: overlaps"),
                "INVALID_ARGUMENT: spec.network.pod_cidr: overlaps",
            ),
            (Status::aborted("stale"), "ABORTED: stale"),
            (Status::unauthenticated(""), "UNAUTHENTICATED"),
            (Status::permission_denied("no"), "PERMISSION_DENIED: no"),
            (
                Status::resource_exhausted("quota"),
                "RESOURCE_EXHAUSTED: quota",
            ),
            (Status::already_exists("x"), "ALREADY_EXISTS: x"),
            (Status::unavailable("bus down"), "UNAVAILABLE: bus down"),
            (Status::internal("boom"), "INTERNAL: boom"),
        ];
        for (status, expected) in cases {
            let error = ApiError::from_status("http://x", status);
            assert_eq!(error.to_string(), expected);
        }
    }

    #[test]
    fn every_code_has_its_canonical_name() {
        for (number, name) in [
            (0, "OK"),
            (1, "CANCELLED"),
            (2, "UNKNOWN"),
            (3, "INVALID_ARGUMENT"),
            (4, "DEADLINE_EXCEEDED"),
            (5, "NOT_FOUND"),
            (6, "ALREADY_EXISTS"),
            (7, "PERMISSION_DENIED"),
            (8, "RESOURCE_EXHAUSTED"),
            (9, "FAILED_PRECONDITION"),
            (10, "ABORTED"),
            (11, "OUT_OF_RANGE"),
            (12, "UNIMPLEMENTED"),
            (13, "INTERNAL"),
            (14, "UNAVAILABLE"),
            (15, "DATA_LOSS"),
            (16, "UNAUTHENTICATED"),
        ] {
            assert_eq!(code_name(Code::from_i32(number)), name);
        }
    }

    #[test]
    fn transport_failure_is_unreachable() {
        let mut status = Status::unavailable("tcp connect error");
        status.set_source(std::sync::Arc::new(std::io::Error::new(
            std::io::ErrorKind::ConnectionRefused,
            "refused",
        )));
        let error = ApiError::from_status("http://127.0.0.1:50051", status);
        assert_eq!(
            error.to_string(),
            "cannot reach the Accord API at http://127.0.0.1:50051: is it running? (cargo xtask up)"
        );
        assert!(error.is_transient());
    }

    #[test]
    fn unreachable_detail_only_when_not_refused() {
        let refused = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "x");
        assert_eq!(unreachable_detail(&refused), None);
        let dns = std::io::Error::other("failed to lookup address information");
        assert_eq!(
            unreachable_detail(&dns).as_deref(),
            Some("failed to lookup address information")
        );
    }

    #[test]
    fn hints() {
        let unauthenticated = ApiError::from_status("e", Status::unauthenticated("bad key"));
        assert!(unauthenticated.hint().unwrap().contains("ACCORD_TOKEN"));
        assert!(
            ApiError::from_status("e", Status::not_found("x"))
                .hint()
                .is_none()
        );
        assert!(ApiError::not_found("member x").is_not_found());
    }

    #[test]
    fn endpoint_normalization() {
        assert_eq!(
            normalize_endpoint("127.0.0.1:50051"),
            "http://127.0.0.1:50051"
        );
        assert_eq!(
            normalize_endpoint("https://api.example/"),
            "https://api.example"
        );
    }

    #[test]
    fn interceptor_adds_the_bearer_header() {
        let mut auth = BearerAuth::new("accord_ak-1_secret").unwrap();
        let request = auth.call(Request::new(())).unwrap();
        assert_eq!(
            request.metadata().get("authorization").unwrap(),
            "Bearer accord_ak-1_secret"
        );
        assert!(matches!(
            BearerAuth::new("bad\ntoken"),
            Err(ApiError::InvalidToken)
        ));
        assert_eq!(format!("{auth:?}"), "BearerAuth(<redacted>)");
    }

    #[tokio::test]
    async fn the_key_never_goes_in_clear_beyond_this_host() {
        for endpoint in [
            "http://10.1.2.3:50051",
            "api.example:50051",
            "http://[2001:db8::1]:1",
        ] {
            let error = Api::connect(endpoint, "accord_x_y", "").await.unwrap_err();
            assert!(
                matches!(&error, ApiError::InvalidEndpoint { reason, .. } if reason.contains("https://")),
                "{endpoint}: {error:?}"
            );
        }
    }

    #[tokio::test]
    async fn connection_refused_names_the_endpoint() {
        // Bind then drop a listener: the port is (almost certainly) closed afterwards.
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        drop(listener);
        let endpoint = format!("http://{addr}");
        let error = Api::connect(&endpoint, "accord_x_y", "").await.unwrap_err();
        assert_eq!(
            error.to_string(),
            format!("cannot reach the Accord API at {endpoint}: is it running? (cargo xtask up)")
        );
    }

    #[tokio::test]
    async fn bad_endpoints() {
        let error = Api::connect("ftp://x", "accord_x_y", "").await.unwrap_err();
        assert!(matches!(error, ApiError::InvalidEndpoint { .. }), "{error}");
    }
}
