//! Test support for the add-on crates (feature `testing`, dev-dependencies only).
//!
//! - [`sample_cluster`]: the cluster every add-on renders in tests — an InfiniBand H100 pool and
//!   a CPU pool, both autoscaled.
//! - [`check_describe`]: `describe` sanity (versions ordered, default known, knobs exist, the
//!   reference validates and is provider-managed).
//! - [`check_manifests`]: every document parses as YAML and has `apiVersion`, `kind`,
//!   `metadata.name`, and a namespace exactly when the kind is namespaced; every Flux
//!   `HelmRelease` names its chart and version and refers to a `HelmRepository` rendered in its
//!   namespace ([`helm_releases`] lists them).
//! - [`check_validation_cases`], [`check_classification_cases`]: the table loops every add-on
//!   runs over its own cases.
//! - [`write_rendered`]: writes the files under `plugins/target/rendered/<addon>/` for offline
//!   validation (`kubernetes-validate --strict`): built-in kinds at the top, custom resources
//!   (Flux objects, the NicClusterPolicy) in `custom-resources/` (checked against their CRD
//!   schemas by the e2e test `addons.rs`).
//!
//! Helpers return `Result<_, String>` so the tests decide how to fail.

use std::path::PathBuf;

use serde::Deserialize;
use serde_json::Value;

use crate::entry::{self, Addon};
use crate::k8s::is_cluster_scoped;
use crate::model::{Cluster, Format, Manifest, Ownership, Pool};
use crate::schema::has_path;
use crate::versions;

/// API groups built into Kubernetes that add-ons use (documents of other groups are custom
/// resources).
const BUILT_IN_API_VERSIONS: &[&str] = &[
    "v1",
    "apps/v1",
    "batch/v1",
    "policy/v1",
    "rbac.authorization.k8s.io/v1",
    "scheduling.k8s.io/v1",
    "storage.k8s.io/v1",
];

/// A cluster with an 8×H100 InfiniBand pool (autoscaled 1–4) and a CPU pool (autoscaled 2–6).
pub fn sample_cluster() -> Cluster {
    Cluster {
        id: "01JDX3M9Q7W4E6R8T0Y2U4I6O8".into(),
        name: "train".into(),
        project: "01JDX3KZ0A2B4C6D8E0F2G4H6J".into(),
        kubernetes_version: "1.32".into(),
        region: "us-east1".into(),
        pod_cidr: "10.244.0.0/16".into(),
        service_cidr: "10.96.0.0/12".into(),
        api_endpoint: "https://train-u4i6o8.us-east1.k8s.accord.internal:6443".into(),
        pools: vec![
            Pool {
                name: "h100-ib".into(),
                instance_type: "h100-80gb-sxm-ib.8x".into(),
                gpu_count: 8,
                gpu_model: "H100".into(),
                infiniband: true,
                count: 2,
                min_count: Some(1),
                max_count: Some(4),
            },
            Pool {
                name: "cpu".into(),
                instance_type: "c1a.16x".into(),
                gpu_count: 0,
                gpu_model: String::new(),
                infiniband: false,
                count: 3,
                min_count: Some(2),
                max_count: Some(6),
            },
        ],
    }
}

/// The sample cluster without its InfiniBand pool (one L40S pool instead).
pub fn cluster_without_infiniband() -> Cluster {
    let mut cluster = sample_cluster();
    let l40s = Pool {
        name: "l40s".into(),
        instance_type: "l40s-48gb.10x".into(),
        gpu_count: 10,
        gpu_model: "L40S".into(),
        infiniband: false,
        count: 2,
        min_count: None,
        max_count: None,
    };
    cluster.pools.retain(|p| !p.infiniband);
    cluster.pools.insert(0, l40s);
    cluster
}

fn ensure(ok: bool, message: impl FnOnce() -> String) -> Result<(), String> {
    if ok { Ok(()) } else { Err(message()) }
}

/// `describe` sanity for add-on `A`.
pub fn check_describe<A: Addon>() -> Result<(), String> {
    let info = entry::describe::<A>();
    ensure(
        !info.name.is_empty() && !info.description.is_empty(),
        || "name and description must be set".into(),
    )?;
    ensure(!info.versions.is_empty(), || "no versions".into())?;
    for pair in info.versions.windows(2) {
        ensure(
            versions::compare(&pair[0], &pair[1]) == Some(std::cmp::Ordering::Less),
            || format!("versions not strictly ascending: {pair:?}"),
        )?;
    }
    ensure(info.versions.contains(&info.default_version), || {
        format!(
            "default version {} not among versions",
            info.default_version
        )
    })?;
    let violations = entry::validate_config::<A>(&info.default_config);
    ensure(violations.is_empty(), || {
        format!("reference config does not validate: {violations:?}")
    })?;
    let verdict = entry::classify_change::<A>(&info.default_config, &info.default_config);
    ensure(verdict.ownership == Ownership::ProviderManaged, || {
        format!("reference is not provider-managed: {}", verdict.reason)
    })?;
    let reference = A::reference();
    for knob in A::knobs() {
        ensure(has_path(A::schema(), knob.path()), || {
            format!("knob {} is not in the schema", knob.path())
        })?;
        ensure(
            crate::config::lookup(&reference, knob.path()).is_some(),
            || format!("knob {} is not in the reference config", knob.path()),
        )?;
    }
    Ok(())
}

/// Every YAML document of `content`, as JSON values.
pub fn yaml_documents(content: &str) -> Result<Vec<Value>, String> {
    serde_norway::Deserializer::from_str(content)
        .map(|doc| Value::deserialize(doc).map_err(|e| format!("not YAML: {e}")))
        .filter(|doc| !matches!(doc, Ok(Value::Null)))
        .collect()
}

/// Checks the rendered files (see the module docs); returns the number of Kubernetes objects.
pub fn check_manifests(manifests: &[Manifest]) -> Result<usize, String> {
    let mut objects = 0;
    let mut names = std::collections::BTreeSet::new();
    for m in manifests {
        ensure(names.insert(m.name.clone()), || {
            format!("duplicate file {}", m.name)
        })?;
        let docs = yaml_documents(&m.content).map_err(|e| format!("{}: {e}", m.name))?;
        ensure(!docs.is_empty(), || format!("{}: empty", m.name))?;
        match m.format {
            Format::Kubernetes => {
                for doc in &docs {
                    check_object(doc).map_err(|e| format!("{}: {e}", m.name))?;
                    objects += 1;
                }
            }
        }
    }
    check_flux_references(manifests)?;
    Ok(objects)
}

fn check_object(doc: &Value) -> Result<(), String> {
    let api_version = doc["apiVersion"].as_str().unwrap_or_default();
    let kind = doc["kind"].as_str().unwrap_or_default();
    let name = doc["metadata"]["name"].as_str().unwrap_or_default();
    ensure(
        !api_version.is_empty() && !kind.is_empty() && !name.is_empty(),
        || format!("document lacks apiVersion/kind/metadata.name: {doc}"),
    )?;
    let namespace = doc["metadata"]["namespace"].as_str();
    if is_cluster_scoped(kind) {
        ensure(namespace.is_none(), || {
            format!("{kind} {name} is cluster-scoped but has a namespace")
        })
    } else {
        ensure(namespace.is_some_and(|n| !n.is_empty()), || {
            format!("{kind} {name} is namespaced but has no namespace")
        })
    }
}

/// Every document of `kind` in `manifests`.
pub fn objects_of(manifests: &[Manifest], kind: &str) -> Result<Vec<Value>, String> {
    let mut out = Vec::new();
    for m in manifests {
        let docs = yaml_documents(&m.content).map_err(|e| format!("{}: {e}", m.name))?;
        out.extend(docs.into_iter().filter(|d| d["kind"] == kind));
    }
    Ok(out)
}

/// The Flux `HelmRelease` objects of `manifests`.
pub fn helm_releases(manifests: &[Manifest]) -> Result<Vec<Value>, String> {
    objects_of(manifests, "HelmRelease")
}

/// The only `HelmRelease` of `manifests`.
pub fn the_helm_release(manifests: &[Manifest]) -> Result<Value, String> {
    let mut releases = helm_releases(manifests)?;
    match (releases.pop(), releases.is_empty()) {
        (Some(release), true) => Ok(release),
        _ => Err("expected exactly one HelmRelease".to_owned()),
    }
}

/// The chart values (`spec.values`) of the only `HelmRelease` of `manifests`.
pub fn release_values(manifests: &[Manifest]) -> Result<Value, String> {
    Ok(the_helm_release(manifests)?["spec"]["values"].clone())
}

/// Every `HelmRelease` names a chart and a version and refers to a `HelmRepository` of the
/// rendered set in its own namespace; every `HelmRepository` is used.
fn check_flux_references(manifests: &[Manifest]) -> Result<(), String> {
    let repositories = objects_of(manifests, "HelmRepository")?;
    let mut used = std::collections::BTreeSet::new();
    for release in helm_releases(manifests)? {
        let name = release["metadata"]["name"].as_str().unwrap_or_default();
        let namespace = &release["metadata"]["namespace"];
        let chart = &release["spec"]["chart"]["spec"];
        ensure(
            chart["chart"].as_str().is_some_and(|c| !c.is_empty())
                && chart["version"].as_str().is_some_and(|v| !v.is_empty()),
            || format!("HelmRelease {name} lacks a chart name or version"),
        )?;
        ensure(release["spec"]["values"].is_object(), || {
            format!("HelmRelease {name} has no values object")
        })?;
        let source = &chart["sourceRef"];
        let found = repositories.iter().position(|r| {
            source["kind"] == "HelmRepository"
                && r["metadata"]["name"] == source["name"]
                && &r["metadata"]["namespace"] == namespace
        });
        let found = found.ok_or_else(|| {
            format!("HelmRelease {name} refers to {source}, which is not rendered in its namespace")
        })?;
        used.insert(found);
    }
    ensure(used.len() == repositories.len(), || {
        "a HelmRepository is rendered that no HelmRelease uses".to_owned()
    })
}

/// Whether every document of a Kubernetes manifest is of a built-in API group.
fn built_in(m: &Manifest) -> Result<bool, String> {
    Ok(yaml_documents(&m.content)?.iter().all(|d| {
        d["apiVersion"]
            .as_str()
            .is_some_and(|v| BUILT_IN_API_VERSIONS.contains(&v))
    }))
}

/// `plugins/target/rendered`.
pub fn rendered_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/rendered")
}

/// Writes `manifests` to `plugins/target/rendered/<addon>/` (replacing what was there).
pub fn write_rendered(addon: &str, manifests: &[Manifest]) -> Result<PathBuf, String> {
    let dir = rendered_root().join(addon);
    let io = |e: std::io::Error| format!("{}: {e}", dir.display());
    if dir.exists() {
        std::fs::remove_dir_all(&dir).map_err(io)?;
    }
    for m in manifests {
        let sub = match m.format {
            Format::Kubernetes if built_in(m)? => dir.clone(),
            Format::Kubernetes => dir.join("custom-resources"),
        };
        std::fs::create_dir_all(&sub).map_err(io)?;
        std::fs::write(sub.join(&m.name), &m.content).map_err(io)?;
    }
    Ok(dir)
}

/// Checks `(config, expected violation paths)` cases against `validate-config`, reporting every
/// mismatch at once.
pub fn check_validation_cases<A: Addon>(cases: &[(&str, &[&str])]) -> Result<(), String> {
    let mut failures = Vec::new();
    for (config, expected) in cases {
        let got: Vec<String> = entry::validate_config::<A>(config)
            .into_iter()
            .map(|v| v.field)
            .collect();
        if got != *expected {
            failures.push(format!("{config}: expected {expected:?}, got {got:?}"));
        }
    }
    if failures.is_empty() {
        Ok(())
    } else {
        Err(failures.join("\n"))
    }
}

/// Checks `(next config, expected ownership, text the reason must contain)` cases against
/// `classify-change` from the reference configuration, reporting every mismatch at once.
pub fn check_classification_cases<A: Addon>(
    cases: &[(&str, Ownership, &str)],
) -> Result<(), String> {
    let mut failures = Vec::new();
    for (next, ownership, needle) in cases {
        let verdict = entry::classify_change::<A>("{}", next);
        if verdict.ownership != *ownership || !verdict.reason.contains(needle) {
            failures.push(format!(
                "{next}: expected {ownership:?} with {needle:?}, got {:?}: {}",
                verdict.ownership, verdict.reason
            ));
        }
    }
    if failures.is_empty() {
        Ok(())
    } else {
        Err(failures.join("\n"))
    }
}
