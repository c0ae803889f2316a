//! Offline validation of custom resources against vendored CRDs (`deploy/crds/…`), the part
//! `kubernetes-validate` cannot do: each served version's `openAPIV3Schema` becomes a JSON
//! Schema (draft 4, which OpenAPI 3.0's schema object follows; `x-kubernetes-*` extensions and
//! CEL rules are not checked) validated with the `jsonschema` crate.
//!
//! Strict like `kubectl apply --validate=strict`: a structural schema makes the API server
//! *prune* unknown fields, so a misspelt key would be dropped silently. Every object node that
//! lists `properties` and neither allows other keys (`additionalProperties`) nor keeps them
//! (`x-kubernetes-preserve-unknown-fields`) is closed with `additionalProperties: false`, so an
//! unknown field fails here instead. `allOf`/`anyOf`/`oneOf`/`not` branches are left open (in a
//! structural schema they only restate constraints of fields declared outside them).

use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
};

use serde::Deserialize as _;
use serde_json::Value;

/// The vendored Flux CRDs (`HelmRepository`, `HelmRelease`).
pub fn flux_crds() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy/crds/flux")
}

/// Every directory of vendored CRDs: Flux's and the Network Operator's (`NicClusterPolicy`).
pub fn vendored_crds() -> [PathBuf; 2] {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy/crds");
    [root.join("flux"), root.join("nvidia-network-operator")]
}

/// The served versions of some CRDs, by `(apiVersion, kind)`.
pub struct CrdSchemas {
    validators: BTreeMap<(String, String), jsonschema::Validator>,
}

impl CrdSchemas {
    /// Every CRD of the `*.yaml` files in `dirs` (one or more documents each).
    pub fn load(dirs: &[PathBuf]) -> CrdSchemas {
        let mut validators = BTreeMap::new();
        let mut files: Vec<_> = dirs
            .iter()
            .flat_map(|dir| {
                std::fs::read_dir(dir)
                    .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
                    .map(|e| e.unwrap().path())
            })
            .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
            .collect();
        files.sort();
        for file in files {
            let text = std::fs::read_to_string(&file).unwrap();
            for doc in serde_norway::Deserializer::from_str(&text) {
                let crd = Value::deserialize(doc).unwrap();
                if crd["kind"] != "CustomResourceDefinition" {
                    continue;
                }
                let group = crd["spec"]["group"].as_str().unwrap();
                let kind = crd["spec"]["names"]["kind"].as_str().unwrap();
                for version in crd["spec"]["versions"].as_array().unwrap() {
                    if version["served"] != true {
                        continue;
                    }
                    let name = version["name"].as_str().unwrap();
                    let mut schema = version["schema"]["openAPIV3Schema"].clone();
                    close_unknown_fields(&mut schema);
                    let validator = jsonschema::draft4::new(&schema)
                        .unwrap_or_else(|e| panic!("{}: {kind} {name}: {e}", file.display()));
                    validators.insert((format!("{group}/{name}"), kind.to_owned()), validator);
                }
            }
        }
        CrdSchemas { validators }
    }

    /// Whether a CRD here serves `api_version` `kind`.
    pub fn knows(&self, api_version: &str, kind: &str) -> bool {
        self.validators
            .contains_key(&(api_version.to_owned(), kind.to_owned()))
    }

    /// Every schema violation of `object` (`apiVersion`, `kind` must be served here).
    pub fn check(&self, object: &Value) -> Result<(), Vec<String>> {
        let key = (
            object["apiVersion"].as_str().unwrap_or_default().to_owned(),
            object["kind"].as_str().unwrap_or_default().to_owned(),
        );
        let Some(validator) = self.validators.get(&key) else {
            return Err(vec![format!("no CRD serves {} {}", key.0, key.1)]);
        };
        let errors: Vec<String> = validator
            .iter_errors(object)
            .map(|e| format!("{}: {e}", e.instance_path()))
            .collect();
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }
}

/// Closes every object node of a structural schema that would prune unknown fields (see the
/// module docs).
fn close_unknown_fields(schema: &mut Value) {
    let Some(node) = schema.as_object_mut() else {
        return;
    };
    let preserves = node.get("x-kubernetes-preserve-unknown-fields") == Some(&Value::Bool(true));
    if node.contains_key("properties") && !node.contains_key("additionalProperties") && !preserves {
        node.insert("additionalProperties".into(), Value::Bool(false));
    }
    if let Some(Value::Object(properties)) = node.get_mut("properties") {
        properties.values_mut().for_each(close_unknown_fields);
    }
    for key in ["items", "additionalProperties"] {
        if let Some(child) = node.get_mut(key) {
            close_unknown_fields(child);
        }
    }
}

#[test]
fn strict_schemas_refuse_unknown_and_mistyped_fields() {
    let crds = CrdSchemas::load(&[flux_crds()]);
    assert!(crds.knows("helm.toolkit.fluxcd.io/v2", "HelmRelease"));
    assert!(crds.knows("source.toolkit.fluxcd.io/v1", "HelmRepository"));
    let good = serde_json::json!({
        "apiVersion": "helm.toolkit.fluxcd.io/v2",
        "kind": "HelmRelease",
        "metadata": {"name": "demo", "namespace": "demo"},
        "spec": {
            "interval": "30m",
            "chart": {"spec": {"chart": "demo", "version": "1.0.0",
                "sourceRef": {"kind": "HelmRepository", "name": "demo"}}},
            "values": {"anything": {"goes": ["here"]}},
        },
    });
    crds.check(&good).unwrap();
    let bad = |pointer: &str, key: &str, value: Value| {
        let mut doc = good.clone();
        doc.pointer_mut(pointer)
            .unwrap()
            .as_object_mut()
            .unwrap()
            .insert(key.into(), value);
        crds.check(&doc).unwrap_err().join("; ")
    };
    // A misspelt key the API server would prune.
    let err = bad("/spec/chart/spec", "verison", "1.0.0".into());
    assert!(err.contains("verison"), "{err}");
    let err = bad("/spec", "valuez", serde_json::json!({}));
    assert!(err.contains("valuez"), "{err}");
    // A wrong enum value and a malformed duration.
    let err = bad("/spec/chart/spec/sourceRef", "kind", "ConfigMap".into());
    assert!(err.contains("/spec/chart/spec/sourceRef/kind"), "{err}");
    let err = bad("/spec", "interval", "30 minutes".into());
    assert!(err.contains("/spec/interval"), "{err}");
    // A required field missing.
    let mut doc = good.clone();
    doc["spec"].as_object_mut().unwrap().remove("interval");
    assert!(crds.check(&doc).is_err());
}
