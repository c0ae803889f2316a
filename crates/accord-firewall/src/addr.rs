//! IPv4 addresses and CIDRs as customers write them: strict dotted decimal, network addresses
//! only, IPv6 refused with a clear message.
//!
//! Decisions: a CIDR with host bits set (`10.0.0.1/16`) is **refused**, with the network it
//! probably meant (`did you mean 10.0.0.0/16?`), rather than silently normalised: a rule that
//! says something other than what the customer wrote is worse than an error. Octets and prefix
//! lengths are plain decimal without leading zeros (`010.0.0.0/8` reads as ten to some tools
//! and eight to others). A bare address is not a CIDR here (write `/32`).

use std::net::Ipv4Addr;

use accord_core::validation::quote;
use ipnet::Ipv4Net;

/// The message every IPv6 input gets.
pub const IPV6_UNSUPPORTED: &str = "IPv6 is not supported yet; use an IPv4 address or CIDR";

fn number(part: &str, max: u32) -> Option<u32> {
    if part.is_empty() || part.len() > 3 || !part.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if part.len() > 1 && part.starts_with('0') {
        return None;
    }
    part.parse::<u32>().ok().filter(|n| *n <= max)
}

fn octets(s: &str) -> Option<Ipv4Addr> {
    let mut out = [0u8; 4];
    let mut parts = s.split('.');
    for o in &mut out {
        *o = u8::try_from(number(parts.next()?, 255)?).ok()?;
    }
    parts.next().is_none().then_some(Ipv4Addr::from(out))
}

/// Parses an IPv4 address such as `192.0.2.10`.
pub fn parse_addr(s: &str) -> Result<Ipv4Addr, String> {
    if s.contains(':') {
        return Err(format!("{}: {IPV6_UNSUPPORTED}", quote(s)));
    }
    octets(s).ok_or_else(|| {
        format!(
            "{} is not an IPv4 address such as 192.0.2.10 (plain decimal, no leading zeros)",
            quote(s)
        )
    })
}

/// Parses an IPv4 CIDR such as `10.0.0.0/16` that is a network address (no host bits set).
pub fn parse_cidr(s: &str) -> Result<Ipv4Net, String> {
    if s.contains(':') {
        return Err(format!("{}: {IPV6_UNSUPPORTED}", quote(s)));
    }
    let not_cidr = || {
        format!(
            "{} is not an IPv4 CIDR such as 10.0.0.0/16 (plain decimal, no leading zeros)",
            quote(s)
        )
    };
    let Some((addr, len)) = s.split_once('/') else {
        return Err(match octets(s) {
            Some(addr) => format!("{} is an address, not a CIDR; write {addr}/32", quote(s)),
            None => not_cidr(),
        });
    };
    let addr = octets(addr).ok_or_else(not_cidr)?;
    let len = number(len, 32)
        .and_then(|n| u8::try_from(n).ok())
        .ok_or_else(not_cidr)?;
    let net = Ipv4Net::new(addr, len).map_err(|_| not_cidr())?;
    if net.trunc() != net {
        return Err(format!(
            "{net} has host bits set; did you mean {}?",
            net.trunc()
        ));
    }
    Ok(net)
}

/// The first and last address of `net`, as numbers.
pub(crate) fn bounds(net: &Ipv4Net) -> (u32, u32) {
    (u32::from(net.network()), u32::from(net.broadcast()))
}

/// Whether two CIDRs share any address (for CIDRs: one contains the other).
pub(crate) fn overlaps(a: &Ipv4Net, b: &Ipv4Net) -> bool {
    a.contains(b) || b.contains(a)
}
