//! Kubernetes quantities as byte counts: [`parse_quantity`] (`100Gi`, `1Ti`, `500G`, `1.5Ti`)
//! and [`format_quantity`], its canonical inverse.
//!
//! Accepted forms (a subset of Kubernetes' `resource.Quantity`, the part that means bytes):
//! - digits, optionally a `.` and more digits (`1`, `1.5`; not `.5` or `1.`), at most
//!   [`MAX_QUANTITY_CHARS`] characters in all;
//! - then no suffix (bytes), a binary suffix `Ki Mi Gi Ti Pi Ei` (powers of 1024) or a decimal
//!   one `k M G T P E` (powers of 1000).
//!
//! Refused, with a reason: signs, exponents (`1e9`), milli (`m`), spaces, unknown suffixes,
//! values that are not a whole number of bytes (`1.5` or `0.1Ki`) and values above
//! `u64::MAX` bytes. Kubernetes rounds fractional bytes up; a volume size that needs rounding is
//! a mistake worth reporting instead.
//!
//! Invariant: `parse_quantity(&format_quantity(b)) == Ok(b)` for every `b` (a property test
//! checks it); errors quote the input only through [`quote`].

use accord_core::validation::quote;

use crate::limits::MAX_QUANTITY_CHARS;

/// 1 KiB.
pub const KIB: u64 = 1 << 10;
/// 1 MiB.
pub const MIB: u64 = 1 << 20;
/// 1 GiB.
pub const GIB: u64 = 1 << 30;
/// 1 TiB.
pub const TIB: u64 = 1 << 40;
/// 1 PiB.
pub const PIB: u64 = 1 << 50;
/// 1 EiB.
pub const EIB: u64 = 1 << 60;

/// Binary suffixes, largest first.
const BINARY: [(&str, u64); 6] = [
    ("Ei", EIB),
    ("Pi", PIB),
    ("Ti", TIB),
    ("Gi", GIB),
    ("Mi", MIB),
    ("Ki", KIB),
];

/// Decimal suffixes, largest first.
const DECIMAL: [(&str, u64); 6] = [
    ("E", 1_000_000_000_000_000_000),
    ("P", 1_000_000_000_000_000),
    ("T", 1_000_000_000_000),
    ("G", 1_000_000_000),
    ("M", 1_000_000),
    ("k", 1_000),
];

/// The number of bytes `s` stands for.
pub fn parse_quantity(s: &str) -> Result<u64, String> {
    if s.is_empty() {
        return Err("must not be empty (a Kubernetes quantity such as 100Gi or 1Ti)".into());
    }
    if s.len() > MAX_QUANTITY_CHARS {
        return Err(format!(
            "must be at most {MAX_QUANTITY_CHARS} characters (has {})",
            s.len()
        ));
    }
    let number_end = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    let (number, suffix) = s.split_at(number_end);
    let multiplier = match suffix {
        "" => 1,
        _ => BINARY
            .iter()
            .chain(DECIMAL.iter())
            .find(|(name, _)| *name == suffix)
            .map(|(_, value)| *value)
            .ok_or_else(|| {
                format!(
                    "{} has an unknown suffix: use Ki, Mi, Gi, Ti, Pi, Ei, k, M, G, T, P or E \
                     (no sign, exponent or milli)",
                    quote(s)
                )
            })?,
    };
    let (whole, fraction) = match number.split_once('.') {
        Some((w, f)) => (w, f),
        None => (number, ""),
    };
    if whole.is_empty() || (number.contains('.') && fraction.is_empty()) || fraction.contains('.') {
        return Err(format!(
            "{} is not a number followed by a suffix, e.g. 100Gi or 1.5Ti",
            quote(s)
        ));
    }
    let too_large = || format!("{} is larger than {} bytes", quote(s), u64::MAX);
    // At most 32 characters: every digit string fits u128 once bounded to 38 digits.
    let digits = format!("{whole}{fraction}");
    let digits = digits.trim_start_matches('0');
    if digits.len() > 38 {
        return Err(too_large());
    }
    let mantissa: u128 = if digits.is_empty() {
        0
    } else {
        digits.parse().map_err(|_| too_large())?
    };
    let scale = u32::try_from(fraction.len())
        .ok()
        .and_then(|n| 10u128.checked_pow(n))
        .ok_or_else(too_large)?;
    let scaled = mantissa
        .checked_mul(u128::from(multiplier))
        .ok_or_else(too_large)?;
    if scaled % scale != 0 {
        return Err(format!("{} is not a whole number of bytes", quote(s)));
    }
    u64::try_from(scaled / scale).map_err(|_| too_large())
}

/// `bytes` as a canonical quantity: the suffix that divides it exactly with the smallest
/// number (binary first on a tie), else plain bytes (`0`, `1Gi`, `1536Gi`, `500G`, `1023`).
pub fn format_quantity(bytes: u64) -> String {
    if bytes == 0 {
        return "0".into();
    }
    BINARY
        .iter()
        .chain(DECIMAL.iter())
        .filter(|(_, unit)| bytes.is_multiple_of(*unit))
        .min_by_key(|(_, unit)| bytes / unit)
        .map(|(suffix, unit)| format!("{}{suffix}", bytes / unit))
        .unwrap_or_else(|| bytes.to_string())
}

/// `bytes` in whole GiB, rounded up (quotas count GiB).
pub fn gib_ceil(bytes: u64) -> u64 {
    bytes.div_ceil(GIB)
}
