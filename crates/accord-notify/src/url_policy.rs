//! Which webhook URLs Accord will POST to.
//!
//! - `https://` to a public host: a DNS name, or a literal IP that is not private,
//!   loopback, link-local, unspecified, shared (100.64/10), documentation, benchmarking,
//!   multicast or broadcast (IPv6: unique-local, link-local, loopback, unspecified, multicast,
//!   documentation, and the IPv4-mapped forms of the IPv4 ranges).
//! - `http://` only to a loopback host (`127.0.0.0/8`, `::1`, `localhost`) and only when the
//!   deployment allows loopback ([`UrlPolicy::allow_loopback`]: `accord up` and the tests do,
//!   a production default does not — loopback on the control plane's own host is the classic
//!   SSRF target: metrics, admin and store ports answer there).
//! - Never: userinfo (`user:pass@`), a fragment, another scheme, more than [`MAX_URL_BYTES`].
//!
//! Errors say what is wrong and never repeat more than 64 characters of the URL.
//!
//! A public DNS name is accepted here and its addresses are judged when the delivery connects
//! (`resolve::PublicOnly`, with the `client` feature: only public addresses are connected to,
//! so DNS rebinding cannot point a delivery inward); redirects are never followed, so a public
//! endpoint cannot bounce a delivery inward either.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use url::{Host, Url};

/// Longest webhook URL accepted.
pub const MAX_URL_BYTES: usize = 2048;

/// Characters of a URL an error may repeat.
const ECHO_CHARS: usize = 64;

/// What a deployment allows.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct UrlPolicy {
    /// `http://` to a loopback host is allowed (local use: `accord up`, tests). Off by default.
    pub allow_loopback: bool,
}

/// Why a URL is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UrlError {
    #[error("is longer than {MAX_URL_BYTES} bytes")]
    TooLong,
    #[error("is not an absolute URL ({reason}): {echo:?}")]
    Malformed { reason: String, echo: String },
    #[error("scheme {0:?} is not allowed: use https (or http to a loopback host where allowed)")]
    Scheme(String),
    #[error("must not carry a user name or password")]
    Userinfo,
    #[error("must not carry a fragment (#…)")]
    Fragment,
    #[error("has no host")]
    NoHost,
    #[error("http is allowed only to a loopback host (127.0.0.0/8, ::1, localhost); use https")]
    HttpNotLoopback,
    #[error("http to a loopback host is not allowed by this deployment; use https")]
    LoopbackNotAllowed,
    #[error(
        "https to a private, loopback, link-local or otherwise non-public address ({0}) is not allowed"
    )]
    NonPublicAddress(String),
}

impl UrlPolicy {
    /// A policy allowing loopback or not.
    pub fn new(allow_loopback: bool) -> Self {
        Self { allow_loopback }
    }

    /// Checks `raw` (surrounding whitespace is not trimmed: a URL is taken as given) and
    /// returns it parsed.
    pub fn check(&self, raw: &str) -> Result<Url, UrlError> {
        if raw.len() > MAX_URL_BYTES {
            return Err(UrlError::TooLong);
        }
        let url = Url::parse(raw).map_err(|e| UrlError::Malformed {
            reason: e.to_string(),
            echo: raw.chars().take(ECHO_CHARS).collect(),
        })?;
        if !url.username().is_empty() || url.password().is_some() {
            return Err(UrlError::Userinfo);
        }
        if url.fragment().is_some() {
            return Err(UrlError::Fragment);
        }
        if !matches!(url.scheme(), "https" | "http") {
            return Err(UrlError::Scheme(
                url.scheme().chars().take(ECHO_CHARS).collect(),
            ));
        }
        let host = url.host().ok_or(UrlError::NoHost)?;
        match url.scheme() {
            "https" => match host {
                Host::Domain(d) if is_localhost(d) => {
                    Err(UrlError::NonPublicAddress("localhost".into()))
                }
                Host::Domain(_) => Ok(url.clone()),
                Host::Ipv4(ip) if is_public(IpAddr::V4(ip)) => Ok(url.clone()),
                Host::Ipv6(ip) if is_public(IpAddr::V6(ip)) => Ok(url.clone()),
                Host::Ipv4(ip) => Err(UrlError::NonPublicAddress(ip.to_string())),
                Host::Ipv6(ip) => Err(UrlError::NonPublicAddress(ip.to_string())),
            },
            "http" => {
                let loopback = match host {
                    Host::Domain(d) => is_localhost(d),
                    Host::Ipv4(ip) => ip.is_loopback(),
                    Host::Ipv6(ip) => ip.is_loopback(),
                };
                if !loopback {
                    Err(UrlError::HttpNotLoopback)
                } else if !self.allow_loopback {
                    Err(UrlError::LoopbackNotAllowed)
                } else {
                    Ok(url.clone())
                }
            }
            other => Err(UrlError::Scheme(other.chars().take(ECHO_CHARS).collect())),
        }
    }
}

fn is_localhost(domain: &str) -> bool {
    let d = domain.trim_end_matches('.').to_ascii_lowercase();
    d == "localhost" || d.ends_with(".localhost")
}

/// Whether `ip` is a public unicast address.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => is_public_v4(v4),
            None => is_public_v6(v6),
        },
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    !(ip.is_private()
        || ip.is_loopback()
        || ip.is_link_local()
        || ip.is_unspecified()
        || ip.is_broadcast()
        || ip.is_multicast()
        || ip.is_documentation()
        || a == 0
        // shared address space (carrier-grade NAT)
        || (a == 100 && (64..128).contains(&b))
        // IETF protocol assignments
        || (a == 192 && b == 0 && c == 0)
        // benchmarking
        || (a == 198 && (b == 18 || b == 19))
        // reserved
        || a >= 240)
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    let s = ip.segments();
    !(ip.is_loopback()
        || ip.is_unspecified()
        || ip.is_multicast()
        // unique local fc00::/7
        || (s[0] & 0xfe00) == 0xfc00
        // link-local fe80::/10
        || (s[0] & 0xffc0) == 0xfe80
        // documentation 2001:db8::/32
        || (s[0] == 0x2001 && s[1] == 0x0db8)
        // IPv4-compatible (deprecated) ::a.b.c.d and NAT64 well-known 64:ff9b::/96 carry IPv4
        || (s[0] == 0x0064 && s[1] == 0xff9b))
}

#[cfg(test)]
mod tests {
    use super::*;

    const PROD: UrlPolicy = UrlPolicy {
        allow_loopback: false,
    };
    const LOCAL: UrlPolicy = UrlPolicy {
        allow_loopback: true,
    };

    #[test]
    fn https_to_public_hosts_passes() {
        for ok in [
            "https://hooks.example.com/accord",
            "https://hooks.example.com:8443/a?b=c",
            "https://8.8.8.8/x",
            "https://[2606:4700::1111]/x",
        ] {
            assert!(PROD.check(ok).is_ok(), "{ok}");
            assert!(LOCAL.check(ok).is_ok(), "{ok}");
        }
    }

    #[test]
    fn https_to_non_public_literals_is_refused() {
        for bad in [
            "https://127.0.0.1/x",
            "https://10.1.2.3/x",
            "https://172.16.0.1/x",
            "https://192.168.1.1/x",
            "https://169.254.169.254/latest/meta-data",
            "https://100.64.0.1/x",
            "https://0.0.0.0/x",
            "https://[::1]/x",
            "https://[fe80::1]/x",
            "https://[fd00::1]/x",
            "https://[::ffff:10.0.0.1]/x",
            "https://localhost/x",
        ] {
            assert!(
                matches!(LOCAL.check(bad), Err(UrlError::NonPublicAddress(_))),
                "{bad}: {:?}",
                LOCAL.check(bad)
            );
        }
    }

    #[test]
    fn http_only_to_loopback_and_only_where_allowed() {
        for lo in [
            "http://127.0.0.1:8080/hook",
            "http://127.9.9.9/hook",
            "http://[::1]:9000/",
            "http://localhost:3000/hook",
        ] {
            assert!(LOCAL.check(lo).is_ok(), "{lo}");
            assert_eq!(PROD.check(lo), Err(UrlError::LoopbackNotAllowed), "{lo}");
        }
        for bad in ["http://example.com/hook", "http://10.0.0.1/hook"] {
            assert_eq!(LOCAL.check(bad), Err(UrlError::HttpNotLoopback), "{bad}");
        }
    }

    #[test]
    fn userinfo_fragments_schemes_and_length_are_refused() {
        assert_eq!(
            LOCAL.check("https://u:p@example.com/"),
            Err(UrlError::Userinfo)
        );
        assert_eq!(
            LOCAL.check("https://u@example.com/"),
            Err(UrlError::Userinfo)
        );
        assert_eq!(
            LOCAL.check("https://example.com/#frag"),
            Err(UrlError::Fragment)
        );
        for scheme in ["ftp://example.com/", "file:///etc/passwd", "gopher://x/"] {
            assert!(
                matches!(LOCAL.check(scheme), Err(UrlError::Scheme(_))),
                "{scheme}"
            );
        }
        let long = format!("https://example.com/{}", "a".repeat(MAX_URL_BYTES));
        assert_eq!(LOCAL.check(&long), Err(UrlError::TooLong));
        assert!(matches!(
            LOCAL.check("not a url"),
            Err(UrlError::Malformed { .. })
        ));
    }

    #[test]
    fn errors_echo_at_most_64_characters() {
        let junk = format!("{}://x", "z".repeat(1000));
        let e = LOCAL.check(&junk).unwrap_err().to_string();
        assert!(e.len() < 200, "{e}");
        let malformed = format!("::{}", "y".repeat(1500));
        let e = LOCAL.check(&malformed).unwrap_err().to_string();
        assert!(e.matches('y').count() <= 64, "{e}");
    }
}
