//! How a platform's NATS connections authenticate: [`NatsAuth`] (every key of a deployment
//! whose nats-server the platform starts, as `accord up` does: each service its own nkey user,
//! the provisioner answering the auth callout), or a standalone service's credentials
//! directory and CA from its configuration ([`Platform::from_runtime`]).

use std::{sync::Arc, time::Duration};

use anyhow::{Context as _, anyhow};

use crate::{Platform, PlatformTls};

/// NATS authentication of a platform (see [`Platform::nats_auth`]).
#[derive(Clone)]
pub struct NatsAuth {
    /// Every nkey of the deployment.
    pub keys: Arc<accord_nats_auth::KeyRing>,
    /// How long a customer's NATS grant lives (the bound on a revoked key's live connection).
    pub grant_ttl: Duration,
}

impl NatsAuth {
    /// The deployment's keys in `dir` (generated on first use, 0600), default grant lifetime.
    pub fn in_dir(dir: &std::path::Path) -> anyhow::Result<Self> {
        let keys = accord_nats_auth::KeyRing::load_or_generate(dir)
            .with_context(|| format!("the NATS keys in {}", dir.display()))?;
        Ok(Self {
            keys: Arc::new(keys),
            grant_ttl: accord_provisioner::nats_callout::DEFAULT_GRANT_TTL,
        })
    }

    /// The nkey user a platform component connects as: a service's own, `simulator` the sim's,
    /// the start-up probe (`accord-probe`, which only reads the server's name) the operator
    /// tool's. Any other name is an error, never a fallback to a wider user.
    pub(crate) fn user_of(service: &str) -> anyhow::Result<accord_nats_auth::ServiceUser> {
        use accord_nats_auth::ServiceUser;
        match service {
            "simulator" => Ok(ServiceUser::Sim),
            "accord-probe" => Ok(ServiceUser::CliOperator),
            other => ServiceUser::from_name(other)
                .ok_or_else(|| anyhow!("no NATS user for the component {other:?}")),
        }
    }

    /// The seed of `service`'s user.
    pub(crate) fn seed_of(&self, service: &str) -> anyhow::Result<String> {
        self.keys
            .service(Self::user_of(service)?)
            .seed()
            .map_err(|e| anyhow!("the nkey seed of {service}: {e}"))
    }
}

impl Platform {
    /// A platform as a standalone service's configuration says: its NATS URL, credentials
    /// directory and CA, its gRPC server's TLS identity, its streams' replicas.
    pub fn from_runtime(runtime: &accord_runtime::config::RuntimeConfig) -> anyhow::Result<Self> {
        let mut platform = Platform::new(&runtime.nats_url);
        platform.nats_credentials_dir = runtime.nats_credentials_dir.clone();
        platform.stream_replicas = runtime.stream_replicas.max(1);
        platform.bus_options = platform
            .bus_options
            .with_tls_ca_file(runtime.nats_ca_file.clone());
        // Only the gRPC identity: this process starts no nats-server.
        platform.grpc_tls = runtime.tls_identity()?;
        Ok(platform)
    }

    /// The seed of `service`'s user from the credentials directory, when one is set.
    pub(crate) fn seed_from_dir(&self, service: &str) -> anyhow::Result<Option<String>> {
        let Some(dir) = &self.nats_credentials_dir else {
            return Ok(None);
        };
        let user = NatsAuth::user_of(service)?;
        let path = dir.join(format!("{}.nk", user.name()));
        accord_nats_auth::keys::read_seed(&path)
            .map(Some)
            .with_context(|| format!("the NATS credentials of {service} ({})", path.display()))
    }

    /// The provisioner's auth-callout settings from the credentials directory (when it holds
    /// the callout user's and the issuer's seeds).
    pub(crate) fn callout_from_dir(
        &self,
    ) -> anyhow::Result<Option<accord_provisioner::nats_callout::NatsCallout>> {
        let Some(dir) = &self.nats_credentials_dir else {
            return Ok(None);
        };
        let (user, issuer) = (dir.join("auth-callout.nk"), dir.join("callout-issuer.nk"));
        if !user.exists() || !issuer.exists() {
            return Ok(None);
        }
        let issuer_seed = accord_nats_auth::keys::read_seed(&issuer)?;
        let issuer = accord_nats_auth::KeyPair::from_seed(&issuer_seed)
            .map_err(|e| anyhow!("the callout issuer's seed {}: {e}", issuer.display()))?;
        Ok(Some(accord_provisioner::nats_callout::NatsCallout {
            url: self.nats_url.clone(),
            user_seed: accord_nats_auth::keys::read_seed(&user)?,
            issuer: Arc::new(issuer),
            grant_ttl: accord_provisioner::nats_callout::DEFAULT_GRANT_TTL,
            tls_ca_file: self.bus_options.tls_ca_file.clone(),
        }))
    }

    /// Serves TLS: every gRPC server presents `tls.identity`, the nats-server the platform
    /// starts requires TLS with it, and every service verifies NATS against `tls.ca_file`.
    pub fn tls(mut self, tls: PlatformTls) -> Self {
        self.grpc_tls = Some(tls.identity.clone());
        self.tls = Some(tls);
        self
    }

    /// Authenticates every service to NATS with its own nkey user (permissions: its own
    /// events and commands only) and has the provisioner answer the server's auth callout
    /// (customers connect with their API key and may read their project's events). A server
    /// the platform starts ([`Platform::start_nats_in`]) is configured for it; a server
    /// started elsewhere must include the same configuration
    /// (`accord_nats_auth::AuthConfig::from_keys`).
    pub fn nats_auth(mut self, auth: NatsAuth) -> Self {
        self.nats_auth = Some(auth);
        self
    }
}
