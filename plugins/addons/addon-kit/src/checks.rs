//! String checks for [`crate::schema::Kind::Text`]: names, images, durations, quantities, cron.
//!
//! Each check returns `Ok(())` or the violation message. They follow the Kubernetes rules
//! closely enough to catch typos before a manifest reaches an API server; they are not a
//! complete re-implementation of the apiserver's validation.

/// A DNS-1123 label: lowercase alphanumerics and `-`, 1–63 characters, alphanumeric at both ends
/// (namespace, Secret and ServiceAccount names).
pub fn dns_label(s: &str) -> Result<(), String> {
    let ok = !s.is_empty()
        && s.len() <= 63
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !s.starts_with('-')
        && !s.ends_with('-');
    if ok {
        Ok(())
    } else {
        Err(format!(
            "{s:?} is not a DNS-1123 label (lowercase letters, digits and '-', at most 63)"
        ))
    }
}

/// A DNS-1123 subdomain: dot-separated labels, at most 253 characters (StorageClass names).
pub fn dns_subdomain(s: &str) -> Result<(), String> {
    if s.is_empty() || s.len() > 253 || s.split('.').any(|l| dns_label(l).is_err()) {
        Err(format!("{s:?} is not a DNS-1123 subdomain"))
    } else {
        Ok(())
    }
}

/// A label key (`prefix/name` or `name`), or empty (a toleration with no key matches all taints).
pub fn label_key_or_empty(s: &str) -> Result<(), String> {
    if s.is_empty() {
        return Ok(());
    }
    let (prefix, name) = match s.split_once('/') {
        Some((prefix, name)) => (Some(prefix), name),
        None => (None, s),
    };
    let name_ok = !name.is_empty()
        && name.len() <= 63
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        && name
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_alphanumeric())
        && name
            .bytes()
            .last()
            .is_some_and(|b| b.is_ascii_alphanumeric());
    let prefix_ok = prefix.is_none_or(|p| dns_subdomain(p).is_ok());
    if name_ok && prefix_ok {
        Ok(())
    } else {
        Err(format!("{s:?} is not a valid label key"))
    }
}

/// An image repository without tag, e.g. `nvcr.io/nvidia` or `quay.io/cilium/cilium`.
pub fn image_repository(s: &str) -> Result<(), String> {
    let ok = !s.is_empty()
        && s.len() <= 255
        && !s.contains("//")
        && !s.starts_with('/')
        && !s.ends_with('/')
        && !s.contains('@')
        && s.bytes().all(|b| {
            b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'.' | b'-' | b'_' | b'/' | b':')
        })
        // A ':' is only allowed as the registry port, i.e. before the first '/'.
        && s.split_once('/').map_or(!s.contains(':'), |(_, rest)| !rest.contains(':'));
    if ok {
        Ok(())
    } else {
        Err(format!(
            "{s:?} is not an image repository (lowercase, no tag or digest, e.g. nvcr.io/nvidia)"
        ))
    }
}

/// A registry host with an optional port, e.g. `registry.us-east1.accord.dev` or `10.0.0.5:5000`.
pub fn host_port(s: &str) -> Result<(), String> {
    let (host, port) = match s.rsplit_once(':') {
        Some((host, port)) => (host, Some(port)),
        None => (s, None),
    };
    let port_ok = port.is_none_or(|p| p.parse::<u16>().is_ok_and(|p| p > 0));
    let host_ok = dns_subdomain(host).is_ok();
    if host_ok && port_ok {
        Ok(())
    } else {
        Err(format!("{s:?} is not a host[:port]"))
    }
}

/// An `https://host[:port][/path]` URL, or empty (a host fact the host has not set yet).
pub fn https_url_or_empty(s: &str) -> Result<(), String> {
    if s.is_empty() {
        return Ok(());
    }
    let bad = || format!("{s:?} is not an https:// URL such as https://api.example.com");
    let rest = s.strip_prefix("https://").ok_or_else(bad)?;
    let authority = rest.split('/').next().unwrap_or_default();
    let path_ok = !rest.contains(|c: char| c.is_whitespace() || c == '?' || c == '#');
    if s.len() <= 2048 && path_ok && host_port(authority).is_ok() {
        Ok(())
    } else {
        Err(bad())
    }
}

/// A Go duration as Kubernetes components take it: `30s`, `10m`, `1h30m` (units h, m, s).
pub fn duration(s: &str) -> Result<(), String> {
    let err = || Err(format!("{s:?} is not a duration such as 30s, 10m or 1h30m"));
    if s.is_empty() {
        return err();
    }
    let mut digits = 0;
    let mut units = String::new();
    for c in s.chars() {
        if c.is_ascii_digit() {
            if !units.is_empty() {
                if !matches!(units.as_str(), "h" | "m" | "s") {
                    return err();
                }
                units.clear();
            }
            digits += 1;
        } else {
            if digits == 0 {
                return err();
            }
            digits = 0;
            units.push(c);
        }
    }
    if digits != 0 || !matches!(units.as_str(), "h" | "m" | "s") {
        return err();
    }
    Ok(())
}

/// A Kubernetes resource quantity such as `100m`, `512Mi`, `2`, `1.5Gi`.
pub fn quantity(s: &str) -> Result<(), String> {
    let number_end = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    let (number, suffix) = s.split_at(number_end);
    let number_ok = !number.is_empty()
        && number.parse::<f64>().is_ok()
        && !number.starts_with('.')
        && !number.ends_with('.');
    let suffix_ok = matches!(
        suffix,
        "" | "m" | "k" | "M" | "G" | "T" | "Ki" | "Mi" | "Gi" | "Ti"
    );
    if number_ok && suffix_ok {
        Ok(())
    } else {
        Err(format!(
            "{s:?} is not a resource quantity such as 100m, 512Mi or 2"
        ))
    }
}

/// A count or a percentage: `1`, `25%` (0–100 %).
pub fn int_or_percent(s: &str) -> Result<(), String> {
    let ok = match s.strip_suffix('%') {
        Some(p) => p.parse::<u32>().is_ok_and(|p| p <= 100),
        None => s.parse::<u32>().is_ok(),
    };
    if ok {
        Ok(())
    } else {
        Err(format!("{s:?} is not a count or a percentage"))
    }
}

/// A standard five-field cron schedule (`minute hour day-of-month month day-of-week`), each
/// field `*`, numbers, ranges `a-b`, lists `a,b` and steps `*/n`, within the field's range.
pub fn cron(s: &str) -> Result<(), String> {
    const RANGES: [(&str, u32, u32); 5] = [
        ("minute", 0, 59),
        ("hour", 0, 23),
        ("day of month", 1, 31),
        ("month", 1, 12),
        ("day of week", 0, 7),
    ];
    let fields: Vec<&str> = s.split_whitespace().collect();
    if fields.len() != 5 {
        return Err(format!(
            "{s:?} is not a five-field cron schedule (minute hour day-of-month month day-of-week)"
        ));
    }
    for (text, (name, min, max)) in fields.iter().zip(RANGES) {
        for part in text.split(',') {
            let (range, step) = match part.split_once('/') {
                Some((range, step)) => (range, Some(step)),
                None => (part, None),
            };
            if let Some(step) = step
                && !step.parse::<u32>().is_ok_and(|n| n >= 1 && n <= max)
            {
                return Err(format!("cron {name} step {step:?} is out of range"));
            }
            if range == "*" {
                continue;
            }
            let (lo, hi) = range.split_once('-').unwrap_or((range, range));
            let in_range = |v: &str| v.parse::<u32>().is_ok_and(|n| (min..=max).contains(&n));
            if !in_range(lo) || !in_range(hi) {
                return Err(format!("cron {name} {part:?} must be within {min}-{max}"));
            }
        }
    }
    Ok(())
}

/// A non-empty string.
pub fn non_empty(s: &str) -> Result<(), String> {
    if s.trim().is_empty() {
        Err("must not be empty".to_owned())
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checks_accept_and_reject() {
        type Check = fn(&str) -> Result<(), String>;
        let cases: &[(Check, &str, bool)] = &[
            (dns_label, "gpu-operator", true),
            (dns_label, "GPU", false),
            (dns_label, "-a", false),
            (dns_subdomain, "accord-block.v1", true),
            (label_key_or_empty, "nvidia.com/gpu", true),
            (label_key_or_empty, "", true),
            (label_key_or_empty, "bad key", false),
            (image_repository, "nvcr.io/nvidia", true),
            (image_repository, "localhost:5000/mirror/cilium", true),
            (image_repository, "quay.io/cilium/cilium:v1.17", false),
            (image_repository, "Quay.io/x", false),
            (host_port, "registry.us-east1.accord.dev", true),
            (host_port, "mirror.local:5000", true),
            (host_port, "mirror.local:0", false),
            (host_port, "https://x", false),
            (https_url_or_empty, "", true),
            (https_url_or_empty, "https://api.accord.example", true),
            (https_url_or_empty, "https://api.example.com:8443/v1", true),
            (https_url_or_empty, "http://api.example.com", false),
            (https_url_or_empty, "https://", false),
            (https_url_or_empty, "https://api example", false),
            (https_url_or_empty, "https://api.example.com?x=1", false),
            (duration, "10m", true),
            (duration, "1h30m", true),
            (duration, "10", false),
            (duration, "10d", false),
            (duration, "m", false),
            (quantity, "512Mi", true),
            (quantity, "100m", true),
            (quantity, "1.5Gi", true),
            (quantity, "lots", false),
            (int_or_percent, "25%", true),
            (int_or_percent, "101%", false),
            (cron, "0 */6 * * *", true),
            (cron, "15 2,14 * * 1-5", true),
            (cron, "0 24 * * *", false),
            (cron, "* * * *", false),
            (cron, "*/0 * * * *", false),
            (non_empty, " ", false),
        ];
        for (check, input, ok) in cases {
            assert_eq!(check(input).is_ok(), *ok, "{input:?}");
        }
    }
}
