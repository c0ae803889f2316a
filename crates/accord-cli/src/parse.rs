//! Value parsers for command-line arguments: labels, taints, durations.
//!
//! Each returns a message that says what was expected, with an example, because the user sees
//! it verbatim under clap's `error: invalid value '…' for '--taint <…>'`. Labels and taints are
//! checked with the same rules the API applies ([`accord_core::validation`]), so mistakes are
//! caught before any request is sent.

use std::time::Duration;

use accord_core::validation;
use accord_proto::provisioner::v1::Taint;

/// `KEY=VALUE` → a Kubernetes-valid label (the value may be empty: `KEY=`).
pub fn parse_label(s: &str) -> Result<(String, String), String> {
    let Some((key, value)) = s.split_once('=') else {
        return Err(format!(
            "expected KEY=VALUE, e.g. team=ml (got {s:?}, which has no '=')"
        ));
    };
    validation::label(key, value)?;
    Ok((key.to_owned(), value.to_owned()))
}

/// `KEY[=VALUE]:EFFECT` → a taint, e.g. `nvidia.com/gpu=present:NoSchedule`.
pub fn parse_taint(s: &str) -> Result<Taint, String> {
    const EXPECTED: &str = "expected KEY[=VALUE]:EFFECT, e.g. nvidia.com/gpu=present:NoSchedule";
    // The effect follows the last ':' (label keys may not contain ':').
    let Some((key_value, effect)) = s.rsplit_once(':') else {
        return Err(format!("{EXPECTED} (got {s:?}, which has no ':EFFECT')"));
    };
    let (key, value) = key_value.split_once('=').unwrap_or((key_value, ""));
    if key.is_empty() {
        return Err(format!("{EXPECTED} (got {s:?}, which has no key)"));
    }
    validation::taint(key, value, effect)?;
    Ok(Taint {
        key: key.to_owned(),
        value: value.to_owned(),
        effect: effect.to_owned(),
    })
}

/// `90s`, `10m`, `1h30m`, `2h`, `500ms`, or a bare number of seconds.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let expected = || format!("expected a duration such as 90s, 10m or 1h30m (got {s:?})");
    let s = s.trim();
    if s.is_empty() {
        return Err(expected());
    }
    if let Ok(seconds) = s.parse::<u64>() {
        return Ok(Duration::from_secs(seconds));
    }
    let mut total = Duration::ZERO;
    let mut rest = s;
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return Err(expected());
        }
        let (number, tail) = rest.split_at(digits);
        let number: u64 = number.parse().map_err(|_| expected())?;
        let unit_len = tail.bytes().take_while(u8::is_ascii_alphabetic).count();
        let (unit, tail) = tail.split_at(unit_len);
        let part = match unit {
            "ms" => Duration::from_millis(number),
            "s" => Duration::from_secs(number),
            "m" => Duration::from_secs(number.saturating_mul(60)),
            "h" => Duration::from_secs(number.saturating_mul(3600)),
            "d" => Duration::from_secs(number.saturating_mul(86_400)),
            _ => return Err(expected()),
        };
        total = total.saturating_add(part);
        rest = tail;
    }
    Ok(total)
}

/// Renders a duration the way [`parse_duration`] reads it (`10m`, `1h30m`, `90s` → `1m30s`).
pub fn format_duration(duration: Duration) -> String {
    let total = duration.as_secs();
    if total == 0 {
        return format!("{}ms", duration.as_millis());
    }
    let (hours, minutes, seconds) = (total / 3600, (total % 3600) / 60, total % 60);
    let mut text = String::new();
    if hours > 0 {
        text.push_str(&format!("{hours}h"));
    }
    if minutes > 0 {
        text.push_str(&format!("{minutes}m"));
    }
    if seconds > 0 {
        text.push_str(&format!("{seconds}s"));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels() {
        assert_eq!(
            parse_label("team=ml").unwrap(),
            ("team".into(), "ml".into())
        );
        assert_eq!(
            parse_label("example.com/tier=").unwrap(),
            ("example.com/tier".into(), String::new())
        );
        let err = parse_label("team").unwrap_err();
        assert!(err.contains("expected KEY=VALUE"), "{err}");
        let err = parse_label("=ml").unwrap_err();
        assert!(err.contains("label key"), "{err}");
        let err = parse_label("team=has space").unwrap_err();
        assert!(err.contains("label value"), "{err}");
        assert!(parse_label("-bad=x").is_err());
    }

    #[test]
    fn taints() {
        let taint = parse_taint("nvidia.com/gpu=present:NoSchedule").unwrap();
        assert_eq!(
            (
                taint.key.as_str(),
                taint.value.as_str(),
                taint.effect.as_str()
            ),
            ("nvidia.com/gpu", "present", "NoSchedule")
        );
        let taint = parse_taint("dedicated:NoExecute").unwrap();
        assert_eq!(
            (taint.key.as_str(), taint.value.as_str()),
            ("dedicated", "")
        );

        let err = parse_taint("dedicated=ml").unwrap_err();
        assert!(err.contains("no ':EFFECT'"), "{err}");
        let err = parse_taint("dedicated=ml:Sometimes").unwrap_err();
        assert!(
            err.contains("NoSchedule, PreferNoSchedule, NoExecute"),
            "{err}"
        );
        let err = parse_taint("=x:NoSchedule").unwrap_err();
        assert!(err.contains("no key"), "{err}");
        assert!(parse_taint("bad key=x:NoSchedule").is_err());
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("90").unwrap(), Duration::from_secs(90));
        assert_eq!(parse_duration("90s").unwrap(), Duration::from_secs(90));
        assert_eq!(parse_duration("10m").unwrap(), Duration::from_secs(600));
        assert_eq!(parse_duration("1h30m").unwrap(), Duration::from_secs(5400));
        assert_eq!(parse_duration("250ms").unwrap(), Duration::from_millis(250));
        assert_eq!(parse_duration("2d").unwrap(), Duration::from_secs(172_800));
        for bad in ["", "m", "10x", "1.5h", "-1s", "10m junk"] {
            assert!(parse_duration(bad).is_err(), "{bad:?}");
        }
        assert_eq!(format_duration(Duration::from_secs(600)), "10m");
        assert_eq!(format_duration(Duration::from_secs(5430)), "1h30m30s");
        assert_eq!(format_duration(Duration::from_millis(250)), "250ms");
    }
}
