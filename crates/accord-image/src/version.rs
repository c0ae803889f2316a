//! Image version labels: calendar versions `YYYY.MM.N` (`2026.12.0`), the style the simulator's
//! catalogue already uses.
//!
//! Why calendar versions and not `1.32.4-accord.7`: one image carries a kubelet for every
//! supported Kubernetes minor, so a Kubernetes version in the label would name only one of
//! them; the month says how fresh the kernel and driver patches are, which is what an operator
//! deciding on an update wants to know.
//!
//! Ordering is numeric and lexicographic over (year, month, n): `2026.9.0` is not accepted
//! (months are two digits), `2026.09.10` > `2026.09.9`. The next release after `v` built in
//! month `m` ([`ImageVersion::next`]) is `m.0` when `m` is later than `v`'s month, and `v`'s
//! `n + 1` otherwise (a second build in the same month, or a clock behind the last release).
//!
//! Invariants: labels are monotonic — [`ImageVersion::next`] is always greater than its input;
//! the label is not part of the manifest or its id ([`crate::manifest`]).

use std::{fmt, str::FromStr};

use accord_core::validation::quote;
use serde::{Deserialize, Serialize};
use time::Date;

/// Earliest year a label may carry.
pub const MIN_YEAR: u16 = 2000;
/// Latest year a label may carry.
pub const MAX_YEAR: u16 = 9999;

/// A release label, `YYYY.MM.N`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ImageVersion {
    /// Year, 2000–9999.
    pub year: u16,
    /// Month, 1–12.
    pub month: u8,
    /// Release within the month, from 0.
    pub n: u32,
}

impl ImageVersion {
    /// The first release of `year`-`month` (unchecked: use [`str::parse`] for input).
    pub const fn first_of(year: u16, month: u8) -> Self {
        Self { year, month, n: 0 }
    }

    /// The label the next release gets when built on `today`: `today`'s month `.0` when that
    /// month is later than this label's, this label's `n + 1` otherwise. Always greater than
    /// `self` (unless `n` is already `u32::MAX`, where it saturates).
    pub fn next(self, today: Date) -> Self {
        let year = u16::try_from(today.year()).unwrap_or(MAX_YEAR);
        let month: u8 = today.month().into();
        let candidate = Self::first_of(year, month);
        if (year, month) > (self.year, self.month) {
            candidate
        } else {
            Self {
                n: self.n.saturating_add(1),
                ..self
            }
        }
    }
}

impl fmt::Display for ImageVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}.{:02}.{}", self.year, self.month, self.n)
    }
}

impl FromStr for ImageVersion {
    type Err = String;

    /// Accepts exactly `YYYY.MM.N`: four-digit year, two-digit month, `N` without leading zeros.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || {
            format!(
                "{} is not an image version (expected YYYY.MM.N, e.g. 2026.12.0)",
                quote(s)
            )
        };
        let mut parts = s.split('.');
        let (Some(y), Some(m), Some(n), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(bad());
        };
        let digits = |p: &str| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit());
        if y.len() != 4 || m.len() != 2 || !digits(y) || !digits(m) || !digits(n) {
            return Err(bad());
        }
        if n.len() > 1 && n.starts_with('0') {
            return Err(bad());
        }
        let year: u16 = y.parse().map_err(|_| bad())?;
        let month: u8 = m.parse().map_err(|_| bad())?;
        let n: u32 = n.parse().map_err(|_| bad())?;
        if !(MIN_YEAR..=MAX_YEAR).contains(&year) || !(1..=12).contains(&month) {
            return Err(bad());
        }
        Ok(Self { year, month, n })
    }
}

impl Serialize for ImageVersion {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for ImageVersion {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d)?
            .parse()
            .map_err(serde::de::Error::custom)
    }
}
