//! `accord apply -f FILE|-`: create or update clusters and node pools from the documents
//! `accord get … -o yaml` (or `-o json`) prints, so `get -o yaml | apply -f -` round-trips.
//!
//! Input: one object, a `kind: List` (what a listing prints), or several `---` documents, at
//! most [`MAX_INPUT_BYTES`] and [`MAX_OBJECTS`] objects. Each object is found on the server by
//! `metadata.id` (else by name; node pools within `spec.cluster_id`) in the project the command
//! works in. A document whose `metadata.project` names another project is refused, as kubectl
//! refuses an object of another namespace than `--namespace`: it never changes (or is copied
//! into) this project. Then:
//! - absent: created from its name, labels and spec;
//! - present, and every field `apply` manages equals the server's: `<kind>/<name> unchanged`,
//!   and nothing is written (the resource_version does not move);
//! - present and different: one update naming the changed fields (`update_mask`) and carrying
//!   the document's `metadata.resource_version`, so a document older than the server's state
//!   is refused (ABORTED) rather than overwriting someone else's change.
//!
//! Fields the update RPCs cannot change (a cluster's region, network, Kubernetes version and
//! add-ons; a pool's instance type, cluster, count and image) are compared too: a difference
//! refuses the object, naming the field and the command that changes it. `status` and the
//! rest of `metadata` are the server's and ignored; a field left out of a document is left as
//! it is, down to the fields of a nested object ([`overlay_spec`]: `rolling_update: {max_surge:
//! 2}` keeps the server's `max_unavailable`). Maps of user data (labels, claims) and lists
//! are taken whole, so an entry left out of them is removed.
//!
//! Invariant: objects are applied in order and each is independent; a refused object does not
//! stop the next ones, and the command fails at the end if any was refused.

mod cluster;
mod pool;

use std::io::Read;
use std::path::Path;

use accord_proto::provisioner::v1::ObjectMeta;
use anyhow::{Context as _, anyhow, bail};
use serde::Deserialize;
use serde_json::Value;

use super::Context;
use crate::cli::{ApplyArgs, OutputFormat};
use crate::output::truncate;

/// Largest input accepted, in bytes.
pub const MAX_INPUT_BYTES: u64 = 4 << 20;
/// Most objects in one input.
pub const MAX_OBJECTS: usize = 256;

/// Runs `accord apply`.
pub async fn run(ctx: &Context, args: &ApplyArgs) -> anyhow::Result<()> {
    let text = read_input(&args.file)?;
    let objects = objects(&text)?;
    if objects.is_empty() {
        bail!("{} holds no objects to apply", source_name(&args.file));
    }
    let api = ctx.api().await?;
    let project = if objects.iter().any(|o| !document_project(o).is_empty()) {
        super::lookup::project(&api)
            .await?
            .metadata
            .unwrap_or_default()
    } else {
        ObjectMeta::default()
    };
    let mut refused = 0;
    for object in &objects {
        let wanted = document_project(object);
        let outcome = match kind(object) {
            Err(error) => Err(error),
            Ok(_) if !wanted.is_empty() && wanted != project.id && wanted != project.name => {
                Err(anyhow!(
                    "the document belongs to project {:?}, this command works in project {:?}; \
                     pass --project {:?} to apply it there",
                    truncate(wanted, NAME_CHARS),
                    project.name,
                    truncate(wanted, NAME_CHARS)
                ))
            }
            Ok("Cluster") => cluster::apply(&api, object).await,
            Ok("NodePool") => pool::apply(&api, object).await,
            Ok(other) => Err(anyhow!(
                "kind {:?} cannot be applied (apply handles Cluster and NodePool; other kinds \
                 have their own create/update commands)",
                truncate(other, NAME_CHARS)
            )),
        };
        match outcome {
            Ok(outcome) => report(ctx, &outcome),
            Err(error) => {
                refused += 1;
                ctx.note(&format!(
                    "error: {}: {}",
                    object_name(object),
                    crate::render_error(&error)
                ));
            }
        }
    }
    if refused > 0 {
        bail!("{refused} of {} objects were not applied", objects.len());
    }
    Ok(())
}

/// What applying one object did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// `cluster`, `nodepool`.
    pub kind: &'static str,
    /// The resource's name.
    pub name: String,
    /// `created`, `configured` or `unchanged`.
    pub verb: &'static str,
}

fn report(ctx: &Context, outcome: &Outcome) {
    match ctx.format {
        OutputFormat::Name => ctx.out(&format!("{}/{}", outcome.kind, outcome.name)),
        _ => ctx.out(&format!(
            "{}/{} {}",
            outcome.kind, outcome.name, outcome.verb
        )),
    }
}

fn source_name(path: &Path) -> String {
    if path == Path::new("-") {
        "standard input".to_owned()
    } else {
        path.display().to_string()
    }
}

/// The input, at most [`MAX_INPUT_BYTES`].
fn read_input(path: &Path) -> anyhow::Result<String> {
    let reader: Box<dyn Read> = if path == Path::new("-") {
        Box::new(std::io::stdin())
    } else {
        Box::new(std::fs::File::open(path).with_context(|| format!("open {}", path.display()))?)
    };
    read_bounded(reader, &source_name(path))
}

fn read_bounded(reader: impl Read, source: &str) -> anyhow::Result<String> {
    crate::input::read_text(reader, MAX_INPUT_BYTES, source)
}

/// The objects of a YAML (or JSON) stream: every document, `kind: List` items flattened.
pub fn objects(text: &str) -> anyhow::Result<Vec<Value>> {
    let mut objects = Vec::new();
    for (index, document) in serde_norway::Deserializer::from_str(text).enumerate() {
        let value = Value::deserialize(document).map_err(|error| {
            anyhow!(
                "document {} is not valid YAML: {}",
                index + 1,
                truncate(&error.to_string(), ECHO_CHARS)
            )
        })?;
        match value {
            Value::Null => {}
            Value::Object(ref map) if map.get("kind") == Some(&Value::from("List")) => {
                let Some(Value::Array(items)) = map.get("items") else {
                    bail!("document {}: a List without items", index + 1);
                };
                objects.extend(items.iter().cloned());
            }
            Value::Object(_) => objects.push(value),
            _ => bail!(
                "document {} is not an object (expected what `accord get … -o yaml` prints)",
                index + 1
            ),
        }
        if objects.len() > MAX_OBJECTS {
            bail!("at most {MAX_OBJECTS} objects may be applied at once");
        }
    }
    Ok(objects)
}

fn kind(object: &Value) -> anyhow::Result<&str> {
    object
        .get("kind")
        .and_then(Value::as_str)
        .ok_or_else(|| anyhow!("no kind (expected Cluster or NodePool, as `-o yaml` prints)"))
}

/// `kind/name` of a document, for messages (bounded: never echoes a long input).
fn object_name(object: &Value) -> String {
    let text = |pointer: &str| {
        object
            .pointer(pointer)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(|s| truncate(s, NAME_CHARS))
    };
    format!(
        "{}/{}",
        text("/kind").map_or_else(|| "object".to_owned(), |k| k.to_ascii_lowercase()),
        text("/metadata/name")
            .or_else(|| text("/metadata/id"))
            .unwrap_or_else(|| "(unnamed)".to_owned())
    )
}

/// A field of a kind's document and how `apply` treats it.
#[derive(Debug, Clone, Copy)]
pub enum Field {
    /// Changed by the update RPC under `mask`.
    Mutable {
        /// JSON pointer into the document (`/spec/oidc`).
        pointer: &'static str,
        /// Its `update_mask` path (`spec.oidc`).
        mask: &'static str,
    },
    /// Not changed by the update RPC: a difference refuses the object.
    Fixed {
        /// JSON pointer into the document.
        pointer: &'static str,
        /// What changes it instead (`immutable`, `use accord scale nodepool`).
        instead: &'static str,
    },
}

/// The mask paths of the changed mutable fields, or why the object cannot be applied.
/// `document` is the user's, `current` the server's resource as `-o json` renders it; a field
/// absent from the document is not compared.
pub fn changed_fields(
    document: &Value,
    current: &Value,
    fields: &[Field],
) -> anyhow::Result<Vec<&'static str>> {
    let mut masks = Vec::new();
    let mut fixed = Vec::new();
    for field in fields {
        let pointer = match field {
            Field::Mutable { pointer, .. } | Field::Fixed { pointer, .. } => *pointer,
        };
        let Some(wanted) = document.pointer(pointer) else {
            continue;
        };
        let has = current.pointer(pointer).unwrap_or(&Value::Null);
        if same(wanted, has) {
            continue;
        }
        match field {
            Field::Mutable { mask, .. } => masks.push(*mask),
            Field::Fixed { instead, .. } => {
                let path = pointer.trim_start_matches('/').replace('/', ".");
                fixed.push(format!("{path} ({instead})"));
            }
        }
    }
    if !fixed.is_empty() {
        bail!(
            "cannot change {} through apply; the update would need: {}",
            fixed.join(", "),
            if masks.is_empty() {
                "nothing else".to_owned()
            } else {
                masks.join(", ")
            }
        );
    }
    Ok(masks)
}

/// `document` with its `spec` laid over the server's (`current`, as `-o yaml` prints it) at
/// the leaves: a field the document leaves out, at any depth, takes the server's value.
/// Objects at the pointers in `whole` (maps of user data) and lists are the document's as
/// given; so is everything outside `spec` (a missing `metadata.resource_version` must not
/// become the server's).
pub fn overlay_spec(document: &Value, current: &Value, whole: &[&str]) -> Value {
    fn lay(pointer: &str, given: &Value, base: &Value, whole: &[&str]) -> Value {
        match (given, base) {
            (Value::Object(given_map), Value::Object(base_map)) if !whole.contains(&pointer) => {
                let mut merged = base_map.clone();
                for (key, value) in given_map {
                    let below = format!("{pointer}/{key}");
                    let base = base_map.get(key).unwrap_or(&Value::Null);
                    merged.insert(key.clone(), lay(&below, value, base, whole));
                }
                Value::Object(merged)
            }
            _ => given.clone(),
        }
    }
    let mut document = document.clone();
    if let (Some(spec), Some(base)) = (document.pointer_mut("/spec"), current.pointer("/spec")) {
        *spec = lay("/spec", spec, base, whole);
    }
    document
}

/// Equality of document values, treating an empty map/list/null alike (YAML `{}`, `[]` and an
/// omitted empty field mean the same).
fn same(a: &Value, b: &Value) -> bool {
    let empty = |v: &Value| match v {
        Value::Null => true,
        Value::Object(m) => m.is_empty(),
        Value::Array(a) => a.is_empty(),
        _ => false,
    };
    a == b || (empty(a) && empty(b))
}

/// The most characters of a name or kind quoted in a message.
const NAME_CHARS: usize = 64;

/// The most characters of a message that may quote the input (a kind; serde's reason, which
/// quotes the offending value).
const ECHO_CHARS: usize = 256;

/// A part of the document as `T` (the error names the field; the reason is cut to
/// [`ECHO_CHARS`]).
pub fn field<T: serde::de::DeserializeOwned>(document: &Value, pointer: &str) -> anyhow::Result<T> {
    let value = document.pointer(pointer).cloned().unwrap_or(Value::Null);
    serde_json::from_value(value).map_err(|error| {
        let reason = error.to_string();
        anyhow!(
            "field {} is not valid: {}",
            pointer.trim_start_matches('/').replace('/', "."),
            truncate(&reason, ECHO_CHARS)
        )
    })
}

/// The document's `metadata.resource_version` (0, "whatever is current", when absent).
pub fn resource_version(document: &Value) -> anyhow::Result<u64> {
    Ok(field::<Option<u64>>(document, "/metadata/resource_version")?.unwrap_or(0))
}

/// The document's `metadata.id` or, without one, `metadata.name`.
pub fn id_or_name(document: &Value) -> anyhow::Result<String> {
    let id: Option<String> = field(document, "/metadata/id")?;
    let name: Option<String> = field(document, "/metadata/name")?;
    id.filter(|s| !s.is_empty())
        .or(name.filter(|s| !s.is_empty()))
        .ok_or_else(|| anyhow!("metadata has neither id nor name"))
}

/// The document's `metadata.project` (as `-o yaml` prints it: the project's id); empty when
/// absent.
fn document_project(document: &Value) -> &str {
    document
        .pointer("/metadata/project")
        .and_then(Value::as_str)
        .unwrap_or_default()
}

/// The server's answer when asked for something that may not exist: `None` for NOT_FOUND.
pub fn found<T>(result: Result<T, crate::client::ApiError>) -> anyhow::Result<Option<T>> {
    match result {
        Ok(value) => Ok(Some(value)),
        Err(error) if error.is_not_found() => Ok(None),
        Err(error) => Err(error.into()),
    }
}

#[cfg(test)]
mod tests;
