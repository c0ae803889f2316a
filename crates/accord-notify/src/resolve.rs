//! The webhook client's DNS resolution, which closes the DNS-rebinding hole the URL policy
//! leaves open: a public name is resolved here, at connect time, and only its public addresses
//! are handed to the connection (loopback ones too where the deployment allows loopback), so a
//! name that resolves — or is re-pointed after registration — to a private, link-local or
//! metadata address never reaches it. A name with no public address fails the attempt, saying
//! so (a retryable connection failure: DNS may change back).
//!
//! Literal IP hosts never get here: the URL policy has already judged them.

use std::{net::SocketAddr, sync::Arc};

use reqwest::dns::{Addrs, Name, Resolve, Resolving};

use crate::url_policy::is_public;

/// A resolver that keeps only the addresses a webhook may reach.
#[derive(Debug, Clone, Copy)]
pub struct PublicOnly {
    /// Loopback addresses are kept too (local use: `accord up`, tests).
    pub allow_loopback: bool,
}

impl PublicOnly {
    /// The resolver for a client.
    pub fn shared(allow_loopback: bool) -> Arc<Self> {
        Arc::new(Self { allow_loopback })
    }
}

/// The addresses of `resolved` a webhook may reach.
pub fn reachable(resolved: &[SocketAddr], allow_loopback: bool) -> Vec<SocketAddr> {
    resolved
        .iter()
        .copied()
        .filter(|a| is_public(a.ip()) || (allow_loopback && a.ip().is_loopback()))
        .collect()
}

/// Why a name was refused.
#[derive(Debug, thiserror::Error)]
#[error("{name} resolves only to private, loopback or otherwise non-public addresses")]
struct NonPublic {
    name: String,
}

impl Resolve for PublicOnly {
    fn resolve(&self, name: Name) -> Resolving {
        let allow_loopback = self.allow_loopback;
        Box::pin(async move {
            let host = name.as_str().to_owned();
            let resolved: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let kept = reachable(&resolved, allow_loopback);
            if kept.is_empty() {
                let name: String = host.chars().take(64).collect();
                return Err(
                    Box::new(NonPublic { name }) as Box<dyn std::error::Error + Send + Sync>
                );
            }
            let addrs: Addrs = Box::new(kept.into_iter());
            Ok(addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(s: &str) -> SocketAddr {
        SocketAddr::new(s.parse().unwrap(), 0)
    }

    #[test]
    fn only_public_addresses_are_kept_and_loopback_only_where_allowed() {
        let resolved = [
            addr("10.0.0.5"),
            addr("169.254.169.254"),
            addr("127.0.0.1"),
            addr("::1"),
            addr("fd00::1"),
            addr("93.184.216.34"),
            addr("2606:2800:220:1:248:1893:25c8:1946"),
        ];
        assert_eq!(
            reachable(&resolved, false),
            [
                addr("93.184.216.34"),
                addr("2606:2800:220:1:248:1893:25c8:1946")
            ]
        );
        let local = reachable(&resolved, true);
        assert!(local.contains(&addr("127.0.0.1")) && local.contains(&addr("::1")));
        assert!(!local.contains(&addr("10.0.0.5")));
    }

    #[tokio::test]
    async fn a_name_that_resolves_to_loopback_is_refused_unless_loopback_is_allowed() {
        // `localhost` resolves from the hosts file, with no network.
        let name: Name = "localhost".parse().unwrap();
        let err = PublicOnly::shared(false).resolve(name).await.err().unwrap();
        assert!(err.to_string().contains("non-public"), "{err}");
        let name: Name = "localhost".parse().unwrap();
        let addrs: Vec<SocketAddr> = PublicOnly::shared(true)
            .resolve(name)
            .await
            .unwrap()
            .collect();
        assert!(
            !addrs.is_empty() && addrs.iter().all(|a| a.ip().is_loopback()),
            "{addrs:?}"
        );
    }
}
