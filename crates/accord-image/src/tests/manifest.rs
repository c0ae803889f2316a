//! Manifests: every field's rule and its name, parsing, the canonical bytes and the id.

use sha2::{Digest, Sha256};

use super::{KNOWN, production, sealed};
use crate::error::ErrorKind;
use crate::manifest::{API_VERSION, Manifest, ManifestId};
use crate::{
    canonical_bytes, manifest_id, parse_canonical, parse_manifest_json, parse_manifest_yaml,
    validate_manifest,
};

fn fields(m: &Manifest) -> Vec<String> {
    let err = validate_manifest(m, &KNOWN).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidArgument);
    err.fields().into_iter().map(str::to_owned).collect()
}

#[test]
fn the_base_manifests_are_valid() {
    validate_manifest(&production(), &KNOWN).unwrap();
}

#[test]
fn an_empty_manifest_names_every_required_field() {
    let got = fields(&Manifest::default());
    for want in [
        "manifest.api_version",
        "manifest.os.id",
        "manifest.os.version_id",
        "manifest.kernel.version",
        "manifest.containerd.version",
        "manifest.runc.version",
        "manifest.kubelet",
        "manifest.gpu_driver.branch",
        "manifest.gpu_driver.version",
        "manifest.fabric_manager.version",
        "manifest.doca_ofed.version",
        "manifest.cuda_compat.version",
        "manifest.instance_types",
    ] {
        assert!(
            got.contains(&want.to_owned()),
            "{want} missing from {got:?}"
        );
    }
    // Every problem at once, each with its path.
    let err = validate_manifest(&Manifest::default(), &KNOWN).unwrap_err();
    assert!(
        err.to_string()
            .contains("manifest.kernel.version: is required")
    );
}

type Mutation = fn(&mut Manifest);

#[test]
fn malformed_versions_are_named() {
    let cases: [(&str, Mutation); 9] = [
        ("manifest.kernel.version", |m| {
            m.kernel.version = "6.8".into()
        }),
        ("manifest.kernel.version", |m| {
            m.kernel.version = "6.8.0-88-".into()
        }),
        ("manifest.containerd.version", |m| {
            m.containerd.version = "v2.0.6".into()
        }),
        ("manifest.runc.version", |m| m.runc.version = "1.2".into()),
        // The fabric manager's equality is checked only against a well-formed driver version.
        ("manifest.gpu_driver.version", |m| {
            m.gpu_driver.version = "570".into()
        }),
        ("manifest.doca_ofed.version", |m| {
            m.doca_ofed.version = "24.10-".into()
        }),
        ("manifest.cuda_compat.version", |m| {
            m.cuda_compat.version = "12.8.0".into()
        }),
        ("manifest.kernel.version", |m| {
            m.kernel.version = "6.8.0-".to_owned() + &"9".repeat(80)
        }),
        ("manifest.firmware.connectx7", |m| {
            m.firmware.insert("connectx7".into(), "x28".into());
        }),
    ];
    for (field, mutate) in cases {
        let mut m = production();
        mutate(&mut m);
        assert_eq!(fields(&m), [field], "{m:?}");
    }
}

#[test]
fn choices_are_named() {
    let mut m = production();
    m.api_version = "v1".into();
    m.os.id = "debian".into();
    m.os.version_id = "20.04".into();
    m.gpu_driver.branch = "beta".into();
    m.base.hardening = "none".into();
    assert_eq!(
        fields(&m),
        [
            "manifest.api_version",
            "manifest.os.id",
            "manifest.os.version_id",
            "manifest.gpu_driver.branch",
            "manifest.base.hardening"
        ]
    );
    let err = validate_manifest(&m, &KNOWN).unwrap_err().to_string();
    assert!(err.contains(API_VERSION), "{err}");
}

#[test]
fn kubelets_must_be_supported_minors_of_their_key() {
    let mut m = production();
    m.kubelet.insert("1.29".into(), "1.29.10".into());
    let err = validate_manifest(&m, &KNOWN).unwrap_err();
    assert_eq!(err.fields(), ["manifest.kubelet.1.29"]);
    assert!(err.to_string().contains("not offered"), "{err}");

    let mut m = production();
    m.kubelet.insert("1.32".into(), "1.31.4".into());
    assert_eq!(fields(&m), ["manifest.kubelet.1.32"]);

    let mut m = production();
    m.kubelet.insert("v1.32".into(), "1.32.9".into());
    let err = validate_manifest(&m, &KNOWN).unwrap_err();
    assert!(err.to_string().contains("write the minor as 1.32"), "{err}");

    let mut m = production();
    m.kubelet.clear();
    assert_eq!(fields(&m), ["manifest.kubelet"]);

    // Serving fewer minors is allowed.
    let mut m = production();
    m.kubelet.retain(|k, _| k == "1.33");
    validate_manifest(&m, &KNOWN).unwrap();
}

#[test]
fn instance_types_must_be_known() {
    let mut m = production();
    m.instance_types.insert("a100-40gb.8x".into());
    let err = validate_manifest(&m, &KNOWN).unwrap_err();
    assert_eq!(err.fields(), ["manifest.instance_types"]);
    assert!(
        err.to_string()
            .contains("unknown instance type \"a100-40gb.8x\"")
    );
    let none: [&str; 0] = [];
    assert!(validate_manifest(&production(), &none).is_err());
}

#[test]
fn the_fabric_manager_follows_the_driver() {
    let mut m = production();
    m.fabric_manager.version = "570.172.08".into();
    let err = validate_manifest(&m, &KNOWN).unwrap_err();
    assert_eq!(err.fields(), ["manifest.fabric_manager.version"]);
    assert!(err.to_string().contains("570.195.03"), "{err}");
}

#[test]
fn base_configuration_is_checked() {
    let mut m = production();
    m.base.sysctls.insert("rmem".into(), "1".into());
    m.base
        .sysctls
        .insert("net.core.somaxconn".into(), " 1".into());
    m.base.kernel_args.push("iommu=pt".into());
    m.base.kernel_args.push("quiet splash".into());
    assert_eq!(
        fields(&m),
        [
            "manifest.base.sysctls.net.core.somaxconn",
            "manifest.base.sysctls",
            "manifest.base.kernel_args[4]",
            "manifest.base.kernel_args[5]",
        ]
    );
}

#[test]
fn errors_never_echo_unbounded_input() {
    let mut m = production();
    m.os.id = "x".repeat(10_000);
    let err = validate_manifest(&m, &KNOWN).unwrap_err().to_string();
    assert!(err.len() < 400, "{}", err.len());
}

#[test]
fn yaml_and_json_parse_to_the_same_manifest() {
    let m = production();
    let yaml = serde_norway::to_string(&m).unwrap();
    let json = serde_json::to_vec_pretty(&m).unwrap();
    assert_eq!(parse_manifest_yaml(&yaml).unwrap(), m);
    assert_eq!(parse_manifest_json(&json).unwrap(), m);
}

#[test]
fn unknown_fields_and_oversized_documents_are_refused() {
    let err = parse_manifest_yaml("api_version: x\nlabel: 2026.12.0\n").unwrap_err();
    assert_eq!(err.fields(), ["manifest"]);
    assert!(err.to_string().contains("label"), "{err}");
    let err = parse_manifest_yaml("kernel:\n  version: 6.8.0\n  flavour: generic\n").unwrap_err();
    assert!(err.to_string().contains("flavour"), "{err}");
    let big = "#".repeat(crate::limits::MAX_MANIFEST_BYTES + 1);
    let err = parse_manifest_yaml(&big).unwrap_err();
    assert!(err.to_string().contains("at most"), "{err}");
}

#[test]
fn canonical_bytes_are_sorted_compact_json() {
    let bytes = canonical_bytes(&production()).unwrap();
    let text = std::str::from_utf8(&bytes).unwrap();
    assert!(text.starts_with(r#"{"api_version":"image.accord.dev/v1","base":{"hardening":"cis_level1","kernel_args":["iommu=pt","#), "{text}");
    assert!(text.contains(r#""instance_types":["c1a.16x","h100-80gb-sxm-ib.8x","#));
    assert!(!text.contains('\n') && !text.contains(": ") && !text.contains(", "));
    // The value space is strings only: no number appears unquoted.
    let value: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    fn no_numbers(v: &serde_json::Value) -> bool {
        match v {
            serde_json::Value::Number(_) => false,
            serde_json::Value::Array(a) => a.iter().all(no_numbers),
            serde_json::Value::Object(o) => o.values().all(no_numbers),
            _ => true,
        }
    }
    assert!(no_numbers(&value));
}

#[test]
fn the_id_is_the_sha256_of_exactly_the_canonical_bytes() {
    let s = sealed(production());
    let hex = hex::encode(Sha256::digest(&s.bytes));
    assert_eq!(s.id.to_string(), format!("sha256:{hex}"));
    assert_eq!(manifest_id(&production()).unwrap(), s.id);
    assert_eq!(s.id.to_string().parse::<ManifestId>().unwrap(), s.id);
}

#[test]
fn ids_parse_strictly() {
    let good = format!("sha256:{}", "ab".repeat(32));
    assert!(good.parse::<ManifestId>().is_ok());
    for bad in [
        format!("sha256:{}", "AB".repeat(32)),
        format!("sha256:{}", "ab".repeat(31)),
        format!("sha512:{}", "ab".repeat(32)),
        format!("sha256:{}g", "ab".repeat(31)),
        "ab".repeat(32),
    ] {
        assert!(bad.parse::<ManifestId>().is_err(), "{bad}");
    }
}

#[test]
fn parse_canonical_accepts_only_canonical_bytes() {
    let s = sealed(production());
    assert_eq!(parse_canonical(&s.bytes).unwrap(), s.manifest);
    let pretty = serde_json::to_vec_pretty(&s.manifest).unwrap();
    let err = parse_canonical(&pretty).unwrap_err();
    assert!(err.to_string().contains("canonical"), "{err}");
}

#[test]
fn the_version_label_is_not_in_the_manifest() {
    let text = String::from_utf8(canonical_bytes(&production()).unwrap()).unwrap();
    assert!(!text.contains("2026."), "{text}");
}
