//! Add-on versions: parsing, ordering and lookup in an add-on's release catalogue.
//!
//! Versions are dotted numbers with an optional leading `v` (`1.17.6`, `v25.3.4`); `v25.3.4` and
//! `25.3.4` name the same release. Catalogues list releases oldest first.

use std::cmp::Ordering;

/// Numeric components of a version (`v25.3.4` → `[25, 3, 4]`), or `None` if it is not one.
pub fn parse(version: &str) -> Option<Vec<u64>> {
    let v = version.trim();
    let v = v.strip_prefix('v').unwrap_or(v);
    if v.is_empty() {
        return None;
    }
    v.split('.').map(|p| p.parse::<u64>().ok()).collect()
}

/// Orders two versions numerically (`None` if either is not a version).
pub fn compare(a: &str, b: &str) -> Option<Ordering> {
    Some(parse(a)?.cmp(&parse(b)?))
}

/// Whether two version strings name the same release.
pub fn same(a: &str, b: &str) -> bool {
    compare(a, b) == Some(Ordering::Equal)
}

/// `(major, minor)` of a version.
pub fn major_minor(version: &str) -> Option<(u64, u64)> {
    let parts = parse(version)?;
    Some((*parts.first()?, *parts.get(1)?))
}

/// The release named `version` in `catalogue`, or an error listing the known ones.
pub fn find<'a, T>(
    catalogue: &'a [T],
    version: &str,
    version_of: impl Fn(&T) -> &str,
) -> Result<&'a T, String> {
    catalogue
        .iter()
        .find(|r| same(version_of(r), version))
        .ok_or_else(|| {
            format!(
                "unknown version {version:?} (supported: {})",
                catalogue
                    .iter()
                    .map(&version_of)
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn orders_numerically() {
        assert_eq!(compare("1.9.0", "1.10.0"), Some(Ordering::Less));
        assert_eq!(compare("v25.3.4", "25.3.4"), Some(Ordering::Equal));
        assert_eq!(compare("v25.10.0", "v25.3.4"), Some(Ordering::Greater));
        assert_eq!(compare("latest", "1.0"), None);
        assert_eq!(major_minor("v1.32.1"), Some((1, 32)));
    }

    #[test]
    fn find_lists_the_catalogue_on_a_miss() {
        let catalogue = ["1.16.6", "1.17.6"];
        assert_eq!(find(&catalogue, "v1.17.6", |r| r), Ok(&"1.17.6"));
        let err = find(&catalogue, "1.15.0", |r| r).unwrap_err();
        assert!(err.contains("1.16.6, 1.17.6"), "{err}");
    }
}
