//! Configuration values: parsing, overlay merge, dotted lookup, leaf diff and typed getters.
//!
//! Merge rule (the same as Helm values): objects merge key by key; every other value — lists
//! included — replaces the base. So `{"tolerations": [...]}` states the whole list, and the
//! ownership rule can see whether reference entries were dropped.

use serde_json::{Map, Value};

/// Parses a configuration: a JSON object (an empty or blank string is the empty object).
pub fn parse(json: &str) -> Result<Value, String> {
    if json.trim().is_empty() {
        return Ok(Value::Object(Map::new()));
    }
    let value: Value =
        serde_json::from_str(json).map_err(|e| format!("configuration is not JSON: {e}"))?;
    if value.is_object() {
        Ok(value)
    } else {
        Err("configuration must be a JSON object".to_owned())
    }
}

/// `overlay` merged over `base`: objects key by key, anything else replaces.
pub fn merge(base: &Value, overlay: &Value) -> Value {
    match (base, overlay) {
        (Value::Object(b), Value::Object(o)) => {
            let mut out = b.clone();
            for (key, value) in o {
                let merged = match b.get(key) {
                    Some(existing) => merge(existing, value),
                    None => value.clone(),
                };
                out.insert(key.clone(), merged);
            }
            Value::Object(out)
        }
        (_, overlay) => overlay.clone(),
    }
}

/// The value at a dotted path (`driver.upgradePolicy.maxUnavailable`).
pub fn lookup<'a>(value: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.')
        .try_fold(value, |current, key| current.as_object()?.get(key))
}

/// Dotted paths where `next` differs from `base`, in sorted order. Objects are compared key by
/// key; lists and scalars are compared whole (a list that differs is one path).
pub fn changed_paths(base: &Value, next: &Value) -> Vec<String> {
    let mut out = Vec::new();
    diff(base, next, "", &mut out);
    out.sort();
    out
}

fn diff(base: &Value, next: &Value, path: &str, out: &mut Vec<String>) {
    match (base, next) {
        (Value::Object(b), Value::Object(n)) => {
            for key in b.keys().chain(n.keys().filter(|k| !b.contains_key(*k))) {
                let at = if path.is_empty() {
                    key.clone()
                } else {
                    format!("{path}.{key}")
                };
                match (b.get(key), n.get(key)) {
                    (Some(bv), Some(nv)) => diff(bv, nv, &at, out),
                    _ => out.push(at),
                }
            }
        }
        (b, n) if b == n => {}
        _ => out.push(if path.is_empty() {
            ".".to_owned()
        } else {
            path.to_owned()
        }),
    }
}

/// A validated configuration merged over the reference, with typed getters. A getter's error
/// means the add-on asked for a path its own schema does not guarantee (a bug, not bad input),
/// and surfaces as a render or plan error rather than a panic.
#[derive(Debug, Clone, PartialEq)]
pub struct Config(Value);

impl Config {
    /// Wraps a merged configuration.
    pub fn new(merged: Value) -> Self {
        Self(merged)
    }

    /// The whole value.
    pub fn value(&self) -> &Value {
        &self.0
    }

    /// The value at `path`.
    pub fn get(&self, path: &str) -> Result<&Value, String> {
        lookup(&self.0, path).ok_or_else(|| format!("configuration has no {path}"))
    }

    /// A boolean at `path`.
    pub fn bool(&self, path: &str) -> Result<bool, String> {
        self.get(path)?
            .as_bool()
            .ok_or_else(|| format!("configuration {path} is not a boolean"))
    }

    /// A string at `path`.
    pub fn str(&self, path: &str) -> Result<&str, String> {
        self.get(path)?
            .as_str()
            .ok_or_else(|| format!("configuration {path} is not a string"))
    }

    /// A non-negative integer at `path`.
    pub fn u64(&self, path: &str) -> Result<u64, String> {
        self.get(path)?
            .as_u64()
            .ok_or_else(|| format!("configuration {path} is not a non-negative integer"))
    }

    /// A number at `path`.
    pub fn f64(&self, path: &str) -> Result<f64, String> {
        self.get(path)?
            .as_f64()
            .ok_or_else(|| format!("configuration {path} is not a number"))
    }

    /// A list of strings at `path`.
    pub fn strings(&self, path: &str) -> Result<Vec<&str>, String> {
        self.get(path)?
            .as_array()
            .and_then(|items| items.iter().map(Value::as_str).collect())
            .ok_or_else(|| format!("configuration {path} is not a list of strings"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn merge_overlays_objects_and_replaces_lists() {
        let base = json!({"a": {"b": 1, "c": 2}, "l": [1, 2], "s": "x"});
        let overlay = json!({"a": {"c": 3}, "l": [3]});
        assert_eq!(
            merge(&base, &overlay),
            json!({"a": {"b": 1, "c": 3}, "l": [3], "s": "x"})
        );
    }

    #[test]
    fn diff_names_leaves() {
        let base = json!({"a": {"b": 1, "c": 2}, "l": [1, 2], "s": "x"});
        let cases = [
            (base.clone(), vec![]),
            (
                json!({"a": {"b": 1, "c": 3}, "l": [1, 2], "s": "x"}),
                vec!["a.c"],
            ),
            (
                json!({"a": {"b": 1, "c": 2, "d": 0}, "l": [1], "s": "y"}),
                vec!["a.d", "l", "s"],
            ),
            (json!({"a": 5, "l": [1, 2], "s": "x"}), vec!["a"]),
        ];
        for (next, expected) in cases {
            assert_eq!(changed_paths(&base, &next), expected, "{next}");
        }
    }

    #[test]
    fn parse_wants_an_object() {
        assert_eq!(parse("").unwrap(), json!({}));
        assert!(parse("[1]").is_err());
        assert!(parse("{").is_err());
    }

    #[test]
    fn getters_report_missing_paths() {
        let c = Config::new(json!({"a": {"b": true, "n": 2, "l": ["x"]}}));
        assert!(c.bool("a.b").unwrap());
        assert_eq!(c.u64("a.n").unwrap(), 2);
        assert_eq!(c.strings("a.l").unwrap(), vec!["x"]);
        assert!(c.str("a.b").is_err());
        assert!(c.get("a.z").is_err());
    }
}
