//! YAML output: Kubernetes documents (Helm charts become Flux objects, see [`crate::flux`]).
//!
//! Emitted with `serde_norway` (a maintained fork of serde_yaml, pure Rust, builds for
//! wasm32-wasip2) rather than by hand, so quoting of strings such as `"true"`, `"1.30"` or
//! `"*"` is always right. `serde_json::Value` keeps object keys sorted, so output is
//! deterministic: the same input renders byte-identical files.

use serde_json::Value;

use crate::model::{Format, Manifest};

/// One YAML document (no leading `---`).
pub fn to_yaml(value: &Value) -> Result<String, String> {
    serde_norway::to_string(value).map_err(|e| format!("cannot write YAML: {e}"))
}

/// Several YAML documents separated by `---`.
pub fn documents(docs: &[Value]) -> Result<String, String> {
    let mut out = String::new();
    for doc in docs {
        out.push_str("---\n");
        out.push_str(&to_yaml(doc)?);
    }
    Ok(out)
}

/// A `kubernetes` manifest of `docs`.
pub fn kubernetes(name: &str, docs: &[Value]) -> Result<Manifest, String> {
    Ok(Manifest {
        name: name.to_owned(),
        content: documents(docs)?,
        format: Format::Kubernetes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn quotes_ambiguous_strings() {
        let out = to_yaml(&json!({"a": "true", "b": "1.30", "c": "*", "d": true})).unwrap();
        assert_eq!(out, "a: 'true'\nb: '1.30'\nc: '*'\nd: true\n");
    }

    #[test]
    fn separates_documents() {
        let out = documents(&[json!({"a": 1}), json!({"b": 2})]).unwrap();
        assert_eq!(out, "---\na: 1\n---\nb: 2\n");
    }
}
