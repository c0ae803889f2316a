//! The limits every request is held to before any work is done on it: sizes of strings and
//! maps, counts of repeated fields, the size of a whole request. One table for every service,
//! documented for users in ARCHITECTURE.md ("Limits").
//!
//! A field over its limit is `INVALID_ARGUMENT` naming the field and the limit (never the
//! value: error messages do not repeat unbounded input, see [`crate::error::echo`]); a request
//! over the whole-message limit is `RESOURCE_EXHAUSTED` (the gRPC layer refuses it before it is
//! decoded).
//!
//! Invariant: checks here are O(size of the input) and allocate nothing proportional to it, so
//! they are safe on a runtime worker before anything else runs.

use std::collections::BTreeMap;

use crate::error::Violations;

/// A whole request message, decoded size (gRPC `max_decoding_message_size`).
pub const MAX_REQUEST_BYTES: usize = 256 << 10;
/// A pushed plugin component (`PushPlugin`): the shipped ones are ~50–350 KiB.
pub const MAX_PLUGIN_BYTES: usize = 3 << 20;
/// The one request allowed past [`MAX_REQUEST_BYTES`]: `PushPlugin` (a component plus its
/// kind). Still under tonic's own 4 MiB decoding limit.
pub const MAX_PLUGIN_REQUEST_BYTES: usize = MAX_PLUGIN_BYTES + 1024;
/// Names and ids a request refers to (projects, clusters, pools, nodes, users, keys, tickets).
pub const MAX_REF_BYTES: usize = 253;
/// Short free text: reasons, resolutions, component names.
pub const MAX_SHORT_TEXT_BYTES: usize = 1024;
/// A ticket's title.
pub const MAX_TITLE_BYTES: usize = 200;
/// A ticket's description.
pub const MAX_DESCRIPTION_BYTES: usize = 16 << 10;
/// An add-on configuration (JSON overrides).
pub const MAX_CONFIG_BYTES: usize = 64 << 10;
/// Entries of one label map (resource labels, node labels, required claims).
pub const MAX_LABELS: usize = 64;
/// Taints of one pool.
pub const MAX_TAINTS: usize = 32;
/// Items of a repeated field that is not otherwise limited (add-ons opted into, customer
/// components, clusters of an upgrade, update-mask paths).
pub const MAX_ITEMS: usize = 32;

/// Records a violation when `value` is longer than `max` bytes.
pub fn text(v: &mut Violations, field: &str, value: &str, max: usize) {
    if value.len() > max {
        v.add(
            field,
            format!("is {} bytes; at most {max} are accepted", value.len()),
        );
    }
}

/// Records a violation when a repeated field has more than `max` items.
pub fn items(v: &mut Violations, field: &str, len: usize, max: usize) {
    if len > max {
        v.add(
            field,
            format!("has {len} items; at most {max} are accepted"),
        );
    }
}

/// Records violations for a string list: more than `max` items, or an item over `max_bytes`.
pub fn text_items(
    v: &mut Violations,
    field: &str,
    values: &[String],
    max: usize,
    max_bytes: usize,
) {
    items(v, field, values.len(), max);
    for (i, value) in values.iter().take(max).enumerate() {
        text(v, &format!("{field}[{i}]"), value, max_bytes);
    }
}

/// Records violations for a label-like map: more than `max` entries, or a key or value over
/// [`MAX_REF_BYTES`] (the map's own rules check the content).
pub fn map(v: &mut Violations, field: &str, values: &BTreeMap<String, String>, max: usize) {
    items(v, field, values.len(), max);
    for (i, (key, value)) in values.iter().take(max).enumerate() {
        if key.len() > MAX_REF_BYTES || value.len() > MAX_REF_BYTES {
            v.add(
                format!("{field}[{i}]"),
                format!("keys and values are at most {MAX_REF_BYTES} bytes"),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::DomainError;

    fn fields(v: Violations) -> Vec<String> {
        match v.into_result() {
            Ok(()) => vec![],
            Err(DomainError::InvalidArgument(v)) => v.into_iter().map(|f| f.field).collect(),
            Err(other) => panic!("{other}"),
        }
    }

    #[test]
    fn over_the_limit_names_the_field_never_the_value() {
        let mut v = Violations::new();
        let long = "x".repeat(MAX_TITLE_BYTES + 1);
        text(&mut v, "title", &long, MAX_TITLE_BYTES);
        text(&mut v, "ok", "fine", MAX_TITLE_BYTES);
        let err = v.into_result().unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("title") && msg.contains("201 bytes"), "{msg}");
        assert!(!msg.contains(&long), "the value must not be echoed");
    }

    #[test]
    fn lists_and_maps_are_bounded_in_count_and_item_size() {
        let mut v = Violations::new();
        let many: Vec<String> = (0..MAX_ITEMS + 5).map(|i| i.to_string()).collect();
        text_items(&mut v, "components", &many, MAX_ITEMS, 16);
        let big = vec!["y".repeat(17)];
        text_items(&mut v, "names", &big, MAX_ITEMS, 16);
        let labels: BTreeMap<String, String> = (0..MAX_LABELS + 1)
            .map(|i| (format!("k{i}"), "v".into()))
            .collect();
        map(&mut v, "labels", &labels, MAX_LABELS);
        assert_eq!(fields(v), ["components", "names[0]", "labels"]);
    }
}
