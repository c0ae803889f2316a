//! Declarative configuration schemas and their validation.
//!
//! An add-on describes its configuration as a static tree of [`Field`]s; [`validate`] walks a
//! JSON value against it and reports every problem as a [`Violation`] with a dotted path
//! (`driver.upgradePolicy.maxParallelUpgrades`, `tolerations[1].effect`). Unknown keys are
//! violations too: a typo must not silently fall back to the reference value.
//!
//! Invariant: every key is optional (a configuration is an overlay on the reference), so a
//! schema only says what a key may hold, never that it must be present.

use serde_json::Value;

use crate::model::Violation;

/// A string check: `Ok` or the message of the violation.
pub type TextCheck = fn(&str) -> Result<(), String>;

/// What a configuration value may be.
#[derive(Debug, Clone, Copy)]
pub enum Kind {
    /// `true` or `false`.
    Bool,
    /// Any string.
    Str,
    /// A string passing a check (see [`crate::checks`]).
    Text(TextCheck),
    /// One of these strings.
    Enum(&'static [&'static str]),
    /// An integer in `min..=max`.
    Int {
        /// Smallest allowed value.
        min: i64,
        /// Largest allowed value.
        max: i64,
    },
    /// A number in `min..=max`.
    Number {
        /// Smallest allowed value.
        min: f64,
        /// Largest allowed value.
        max: f64,
    },
    /// A Kubernetes int-or-string that is a count or a percentage: `1`, `"1"`, `"25%"`.
    IntOrPercent,
    /// A list whose items are all of one kind.
    List(&'static Kind),
    /// An object with these keys (others are unknown).
    Object(&'static [Field]),
    /// An object with arbitrary string keys and values of one kind (e.g. a node selector).
    Map(&'static Kind),
}

/// One key of an object.
#[derive(Debug, Clone, Copy)]
pub struct Field {
    /// Key.
    pub name: &'static str,
    /// What it holds.
    pub kind: Kind,
}

/// A field (for `const` schema tables).
pub const fn field(name: &'static str, kind: Kind) -> Field {
    Field { name, kind }
}

/// Fields of one Kubernetes toleration.
pub const TOLERATION: &[Field] = &[
    field("key", Kind::Text(crate::checks::label_key_or_empty)),
    field("operator", Kind::Enum(&["Exists", "Equal"])),
    field("value", Kind::Str),
    field(
        "effect",
        Kind::Enum(&["", "NoSchedule", "PreferNoSchedule", "NoExecute"]),
    ),
    field(
        "tolerationSeconds",
        Kind::Int {
            min: 0,
            max: 31_536_000,
        },
    ),
];

/// A list of Kubernetes tolerations.
pub const TOLERATIONS: Kind = Kind::List(&Kind::Object(TOLERATION));

/// Validates a configuration object against `fields`; an empty list means valid.
pub fn validate(fields: &'static [Field], config: &Value) -> Vec<Violation> {
    let mut out = Vec::new();
    check(&Kind::Object(fields), config, "", &mut out);
    out
}

/// The path of `key` under `parent`.
fn child(parent: &str, key: &str) -> String {
    if parent.is_empty() {
        key.to_owned()
    } else {
        format!("{parent}.{key}")
    }
}

/// The field name to report for `path` (the root is `.`).
fn shown(path: &str) -> String {
    if path.is_empty() {
        ".".to_owned()
    } else {
        path.to_owned()
    }
}

fn check(kind: &Kind, value: &Value, path: &str, out: &mut Vec<Violation>) {
    let mut bad = |message: String| out.push(Violation::new(shown(path), message));
    match kind {
        Kind::Bool => {
            if !value.is_boolean() {
                bad(format!("expected true or false, got {}", describe(value)));
            }
        }
        Kind::Str => {
            if !value.is_string() {
                bad(format!("expected a string, got {}", describe(value)));
            }
        }
        Kind::Text(check_text) => match value.as_str() {
            Some(text) => {
                if let Err(message) = check_text(text) {
                    bad(message);
                }
            }
            None => bad(format!("expected a string, got {}", describe(value))),
        },
        Kind::Enum(allowed) => match value.as_str() {
            Some(text) if allowed.contains(&text) => {}
            _ => bad(format!(
                "must be one of {}, got {}",
                allowed
                    .iter()
                    .map(|a| format!("{a:?}"))
                    .collect::<Vec<_>>()
                    .join(", "),
                describe(value)
            )),
        },
        Kind::Int { min, max } => match value.as_i64() {
            Some(n) if (*min..=*max).contains(&n) => {}
            Some(n) => bad(format!("must be between {min} and {max}, got {n}")),
            None => bad(format!("expected an integer, got {}", describe(value))),
        },
        Kind::Number { min, max } => match value.as_f64() {
            Some(n) if n >= *min && n <= *max => {}
            Some(n) => bad(format!("must be between {min} and {max}, got {n}")),
            None => bad(format!("expected a number, got {}", describe(value))),
        },
        Kind::IntOrPercent => {
            let ok = match value {
                Value::Number(n) => n.as_u64().is_some(),
                Value::String(s) => crate::checks::int_or_percent(s).is_ok(),
                _ => false,
            };
            if !ok {
                bad(format!(
                    "expected a count or a percentage such as 1 or \"25%\", got {}",
                    describe(value)
                ));
            }
        }
        Kind::List(item) => match value.as_array() {
            Some(items) => {
                for (i, v) in items.iter().enumerate() {
                    check(item, v, &format!("{path}[{i}]"), out);
                }
            }
            None => bad(format!("expected a list, got {}", describe(value))),
        },
        Kind::Object(fields) => match value.as_object() {
            Some(map) => {
                for (key, v) in map {
                    let at = child(path, key);
                    match fields.iter().find(|f| f.name == key) {
                        Some(f) => check(&f.kind, v, &at, out),
                        None => out.push(Violation::new(
                            at,
                            format!(
                                "unknown field (known here: {})",
                                fields.iter().map(|f| f.name).collect::<Vec<_>>().join(", ")
                            ),
                        )),
                    }
                }
            }
            None => bad(format!("expected an object, got {}", describe(value))),
        },
        Kind::Map(item) => match value.as_object() {
            Some(map) => {
                for (key, v) in map {
                    check(item, v, &child(path, key), out);
                }
            }
            None => bad(format!("expected an object, got {}", describe(value))),
        },
    }
}

/// A short description of a JSON value for messages.
fn describe(value: &Value) -> String {
    match value {
        Value::Null => "null".to_owned(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) if s.chars().count() <= 40 => format!("{s:?}"),
        Value::String(_) => "a long string".to_owned(),
        Value::Array(_) => "a list".to_owned(),
        Value::Object(_) => "an object".to_owned(),
    }
}

/// Whether `path` (dotted, no list indices) names a field of the schema.
pub fn has_path(fields: &[Field], path: &str) -> bool {
    let mut current = fields;
    let mut segments = path.split('.').peekable();
    while let Some(segment) = segments.next() {
        let Some(f) = current.iter().find(|f| f.name == segment) else {
            return false;
        };
        if segments.peek().is_none() {
            return true;
        }
        match f.kind {
            Kind::Object(inner) => current = inner,
            // Everything below a map is free-form.
            Kind::Map(_) => return true,
            _ => return false,
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const INNER: &[Field] = &[
        field("enabled", Kind::Bool),
        field("replicas", Kind::Int { min: 1, max: 5 }),
    ];
    const SCHEMA: &[Field] = &[
        field("mode", Kind::Enum(&["a", "b"])),
        field("inner", Kind::Object(INNER)),
        field("ratio", Kind::Number { min: 0.0, max: 1.0 }),
        field("tolerations", TOLERATIONS),
        field("selector", Kind::Map(&Kind::Str)),
        field("surge", Kind::IntOrPercent),
    ];

    #[test]
    fn reports_every_violation_by_dotted_path() {
        let cases = [
            (json!({}), vec![]),
            (
                json!({"mode": "a", "inner": {"enabled": true, "replicas": 3}}),
                vec![],
            ),
            (json!({"mode": "c"}), vec!["mode"]),
            (json!({"inner": {"replicas": 9}}), vec!["inner.replicas"]),
            (json!({"inner": {"replicas": 1.5}}), vec!["inner.replicas"]),
            (json!({"inner": {"enabeld": true}}), vec!["inner.enabeld"]),
            (json!({"inner": []}), vec!["inner"]),
            (json!({"ratio": 1.5}), vec!["ratio"]),
            (json!({"ratio": 0.5, "surge": "25%"}), vec![]),
            (json!({"surge": "125%"}), vec!["surge"]),
            (json!({"surge": -1}), vec!["surge"]),
            (
                json!({"tolerations": [{"key": "nvidia.com/gpu", "operator": "Exists"}, {"effect": "Never"}]}),
                vec!["tolerations[1].effect"],
            ),
            (json!({"selector": {"a": "b", "c": 1}}), vec!["selector.c"]),
            (json!([]), vec!["."]),
        ];
        for (config, expected) in cases {
            let got: Vec<String> = validate(SCHEMA, &config)
                .into_iter()
                .map(|v| v.field)
                .collect();
            assert_eq!(got, expected, "{config}");
        }
    }

    #[test]
    fn knows_its_paths() {
        assert!(has_path(SCHEMA, "inner.enabled"));
        assert!(has_path(SCHEMA, "tolerations"));
        assert!(has_path(SCHEMA, "selector.anything"));
        assert!(!has_path(SCHEMA, "inner.missing"));
        assert!(!has_path(SCHEMA, "mode.deeper"));
    }
}
