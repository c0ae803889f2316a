//! Rules about text: how a message quotes a caller's value ([`quote`]), which characters no
//! name or setting may carry ([`is_hidden_char`]), and the OIDC settings the provider hands to a
//! cluster's API server.
//!
//! Invariant: text that ends up in a component's command line or configuration (OIDC issuer,
//! client id, claims) carries no control characters and no invisible formatting characters: a
//! newline cannot add a flag, a bidi override cannot make a value read differently from what it
//! is, a comma cannot add a required claim.

use crate::error::echo;

/// `value` as a message quotes it: in double quotes, through [`echo`] (at most
/// [`crate::error::ECHO_LIMIT`] characters, control characters escaped).
pub fn quote(value: &str) -> String {
    format!("\"{}\"", echo(value))
}

/// Characters no name, claim or flag value may carry: control characters (C0, DEL, C1), the
/// line and paragraph separators, and Unicode format characters — bidirectional embeddings,
/// overrides and isolates (U+202A–U+202E, U+2066–U+2069), marks (U+200E, U+200F, U+061C),
/// zero-width characters (U+200B–U+200D, U+2060–U+2064), the byte-order mark (U+FEFF), tags
/// (U+E0000–U+E007F) and the rest of Unicode's `Cf` category.
pub fn is_hidden_char(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{00AD}'
                | '\u{0600}'..='\u{0605}'
                | '\u{061C}'
                | '\u{06DD}'
                | '\u{070F}'
                | '\u{0890}'..='\u{0891}'
                | '\u{08E2}'
                | '\u{180E}'
                | '\u{200B}'..='\u{200F}'
                | '\u{2028}'..='\u{202E}'
                | '\u{2060}'..='\u{2064}'
                | '\u{2066}'..='\u{206F}'
                | '\u{FEFF}'
                | '\u{FFF9}'..='\u{FFFB}'
                | '\u{110BD}'
                | '\u{110CD}'
                | '\u{13430}'..='\u{1343F}'
                | '\u{1BCA0}'..='\u{1BCA3}'
                | '\u{1D173}'..='\u{1D17A}'
                | '\u{E0000}'..='\u{E007F}'
        )
}

/// Checks that `value` has no [hidden character](is_hidden_char); the message names the first
/// one by code point and byte offset (never by showing it).
pub fn plain_text(value: &str) -> Result<(), String> {
    match value.char_indices().find(|(_, c)| is_hidden_char(*c)) {
        None => Ok(()),
        Some((at, c)) => Err(format!(
            "contains U+{:04X} at byte {at}; control characters and invisible formatting \
             characters (bidi controls, zero-width characters) are not accepted",
            u32::from(c)
        )),
    }
}

/// Checks an OIDC issuer URL as the API server and OpenID Connect Discovery accept it:
/// `https://`, a host, an optional port and path; no query, no fragment; printable ASCII only
/// (host names in punycode, the rest percent-encoded).
pub fn oidc_issuer_url(url: &str) -> Result<(), String> {
    plain_text(url)?;
    let Some(rest) = url.strip_prefix("https://") else {
        return Err("must be an https:// URL".into());
    };
    if !url.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(
            "may contain only printable ASCII without spaces (use punycode host names \
                    and percent-encoding)"
                .into(),
        );
    }
    if url.contains(['?', '#']) {
        return Err("must not have a query or a fragment".into());
    }
    let host = rest.split('/').next().unwrap_or_default();
    if host.is_empty() || host.contains('@') {
        return Err("must name a host after https:// (and no user information)".into());
    }
    Ok(())
}

/// Checks an OIDC client id: required, printable ASCII without spaces.
pub fn oidc_client_id(id: &str) -> Result<(), String> {
    if id.is_empty() {
        return Err("is required".into());
    }
    plain_text(id)?;
    if !id.bytes().all(|b| b.is_ascii_graphic()) {
        return Err("may contain only printable ASCII without spaces".into());
    }
    Ok(())
}

/// Checks the name of a token claim (the username and groups claims, the keys of required
/// claims): 1–253 letters, digits, `_`, `-`, `.` and `:`, without `..` — nothing that could be
/// read as a path, a flag or a list separator.
pub fn oidc_claim_name(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("must not be empty".into());
    }
    plain_text(name)?;
    if name.len() > 253 {
        return Err(format!("must be at most 253 bytes (has {})", name.len()));
    }
    if !name
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.' | b':'))
    {
        return Err(format!(
            "claim name {} may contain only letters, digits, '_', '-', '.' and ':'",
            quote(name)
        ));
    }
    if name.contains("..") {
        return Err(format!("claim name {} may not contain \"..\"", quote(name)));
    }
    Ok(())
}

/// Checks the value a required claim must have: not empty, no hidden characters, and no `,`
/// (the API server's `--oidc-required-claim` flag separates pairs with it, so a comma would
/// add a claim the customer did not name).
pub fn oidc_claim_value(value: &str) -> Result<(), String> {
    if value.is_empty() {
        return Err("must not be empty".into());
    }
    plain_text(value)?;
    if value.contains(',') {
        return Err("may not contain ',' (it separates required claims)".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hidden_characters_are_refused_and_named_by_code_point() {
        for bad in [
            "a\0b",
            "k8s\n--anonymous-auth=true",
            "a\rb",
            "esc\u{1b}[31m",
            "del\u{7f}",
            "c1\u{85}",
            "lrm\u{200E}",
            "rlm\u{200F}",
            "rlo\u{202E}evil",
            "lre\u{202A}",
            "isolate\u{2066}x\u{2069}",
            "zwsp\u{200B}",
            "bom\u{FEFF}",
            "alm\u{061C}",
            "line\u{2028}sep",
            "tag\u{E0041}",
        ] {
            let err = plain_text(bad).unwrap_err();
            assert!(err.contains("U+"), "{bad:?}: {err}");
            assert!(!err.contains(bad), "the value must not be repeated: {err}");
        }
        for ok in ["", "plain", "Zürich", "日本", "a-b_c.d:e/f g"] {
            plain_text(ok).unwrap();
        }
    }

    #[test]
    fn oidc_settings_refuse_injection_and_odd_claim_names() {
        for ok in [
            "https://issuer.example.com",
            "https://login.example.com:8443/realms/ml",
        ] {
            oidc_issuer_url(ok).unwrap();
        }
        let bad_urls: &[(&str, &str)] = &[
            ("http://issuer.example.com", "https://"),
            ("https://", "host"),
            ("https:///path", "host"),
            (
                "https://issuer.example.com\n--anonymous-auth=true",
                "U+000A",
            ),
            ("https://issuer.example.com/\u{202E}moc", "U+202E"),
            ("https://issuer\0.example.com", "U+0000"),
            ("https://issuer example.com", "printable ASCII"),
            ("https://bücher.example", "printable ASCII"),
            ("https://issuer.example.com/?x=1", "query"),
            ("https://issuer.example.com/#top", "fragment"),
            ("https://user@issuer.example.com", "user information"),
        ];
        for (url, needle) in bad_urls {
            let err = oidc_issuer_url(url).unwrap_err();
            assert!(err.contains(needle), "{url:?}: {err}");
        }
        oidc_client_id("kubernetes").unwrap();
        for bad in ["", "k8s\n--anonymous-auth=true", "a b", "x\u{202E}"] {
            assert!(oidc_client_id(bad).is_err(), "{bad:?}");
        }
        for ok in [
            "sub",
            "email",
            "groups",
            "cognito:groups",
            "org_id",
            "a.b-c",
        ] {
            oidc_claim_name(ok).unwrap();
        }
        for bad in [
            "",
            "../x",
            "a..b",
            "a/b",
            "k8s\n--anonymous-auth=true",
            "a=b",
            "a,b",
            "a b",
            "ünicode",
            "x\u{200B}",
            &"c".repeat(254),
        ] {
            assert!(oidc_claim_name(bad).is_err(), "{bad:?}");
        }
        for ok in ["true", "ml-team", "ACME Corp", "Zürich"] {
            oidc_claim_value(ok).unwrap();
        }
        for bad in ["", "a,b=c", "v\n--x", "v\u{2066}"] {
            assert!(oidc_claim_value(bad).is_err(), "{bad:?}");
        }
    }
}
