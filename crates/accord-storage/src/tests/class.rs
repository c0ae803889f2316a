//! StorageClasses: parameters, defaults, the NFS gate, the driver flag, rendering, and
//! `kubernetes-validate --strict` on the rendered objects.

use std::collections::BTreeMap;

use super::enabled_gate;
use crate::error::ErrorKind;
use crate::{
    BindingMode, ClassSpec, DISK_PROVISIONER, DriverInstall, Filesystem, Mount, NfsGate,
    ReclaimPolicy, SHARED_PROVISIONER, StorageClass, render_class, render_yaml, validate_class,
};

const ALL: DriverInstall = DriverInstall {
    disk: true,
    shared: true,
};

fn class(name: &str, params: &[(&str, &str)]) -> ClassSpec {
    ClassSpec {
        name: name.into(),
        parameters: params
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect::<BTreeMap<_, _>>(),
        ..ClassSpec::default()
    }
}

fn valid(spec: &ClassSpec) -> StorageClass {
    validate_class(spec, &enabled_gate(), ALL)
        .unwrap_or_else(|e| panic!("{e}"))
        .class
}

#[test]
fn defaults_follow_the_type() {
    let disk = valid(&class("fast", &[("type", "disk")]));
    assert_eq!(disk.filesystem, Some(Filesystem::Ext4));
    assert_eq!(disk.binding_mode, BindingMode::WaitForFirstConsumer);
    assert_eq!(disk.reclaim_policy, ReclaimPolicy::Delete);
    assert!(disk.allow_volume_expansion);
    let shared = valid(&class("shared", &[("type", "shared")]));
    assert_eq!(shared.mount, Some(Mount::Nfs));
    assert_eq!(shared.binding_mode, BindingMode::Immediate);
}

#[test]
fn every_field_is_checked_and_named() {
    let mut spec = class("Bad_Name", &[("type", "tape"), ("colour", "blue")]);
    spec.reclaim_policy = "Recycle".into();
    spec.volume_binding_mode = "Later".into();
    let err = validate_class(&spec, &enabled_gate(), ALL).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidArgument);
    assert_eq!(
        err.fields(),
        [
            "class.name",
            "class.parameters",
            "class.parameters.type",
            "class.reclaimPolicy",
            "class.volumeBindingMode"
        ]
    );
    let err = validate_class(&class("a", &[]), &enabled_gate(), ALL).unwrap_err();
    assert_eq!(err.fields(), ["class.parameters.type"]);
    let err = validate_class(
        &class("a", &[("type", "disk"), ("filesystem", "ntfs")]),
        &enabled_gate(),
        ALL,
    )
    .unwrap_err();
    assert_eq!(err.fields(), ["class.parameters.filesystem"]);
    let err = validate_class(
        &class("a", &[("type", "disk"), ("mount", "nfs")]),
        &enabled_gate(),
        ALL,
    )
    .unwrap_err();
    assert_eq!(err.fields(), ["class.parameters.mount"]);
    let err = validate_class(
        &class("a", &[("type", "shared"), ("filesystem", "xfs")]),
        &enabled_gate(),
        ALL,
    )
    .unwrap_err();
    assert_eq!(err.fields(), ["class.parameters.filesystem"]);
}

#[test]
fn unbounded_input_is_not_echoed() {
    let long = "k".repeat(10_000);
    let mut spec = class(&long, &[("type", "disk")]);
    spec.parameters.insert(long.clone(), long.clone());
    let err = validate_class(&spec, &enabled_gate(), ALL).unwrap_err();
    assert!(err.to_string().len() < 1_000, "{}", err.to_string().len());
    let mut many = class("a", &[("type", "disk")]);
    for i in 0..100 {
        many.parameters.insert(format!("p{i}"), "v".into());
    }
    let err = validate_class(&many, &enabled_gate(), ALL).unwrap_err();
    assert_eq!(err.fields(), ["class.parameters"]);
}

#[test]
fn shared_classes_need_the_nfs_gate_disk_classes_do_not() {
    let closed = NfsGate::new("p1");
    let err = validate_class(&class("s", &[("type", "shared")]), &closed, ALL).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::FailedPrecondition);
    assert!(err.to_string().contains("ask the provider"), "{err}");
    assert!(validate_class(&class("d", &[("type", "disk")]), &closed, ALL).is_ok());
    let virtiofs = class("v", &[("type", "shared"), ("mount", "virtiofs")]);
    assert!(validate_class(&virtiofs, &closed, ALL).is_err());
}

#[test]
fn a_class_for_a_missing_driver_is_accepted_but_flagged() {
    let none = DriverInstall::default();
    let v = validate_class(&class("d", &[("type", "disk")]), &enabled_gate(), none).unwrap();
    assert!(!v.driver_installed);
    let disk_only = DriverInstall {
        disk: true,
        shared: false,
    };
    let v = validate_class(&class("d", &[("type", "disk")]), &enabled_gate(), disk_only).unwrap();
    assert!(v.driver_installed);
    let s = validate_class(
        &class("s", &[("type", "shared")]),
        &enabled_gate(),
        disk_only,
    );
    assert!(!s.unwrap().driver_installed);
}

fn samples() -> Vec<StorageClass> {
    let mut retain = class(
        "shared.virtiofs",
        &[("type", "shared"), ("mount", "virtiofs")],
    );
    retain.reclaim_policy = "Retain".into();
    retain.allow_volume_expansion = Some(false);
    let mut default = class("fast-xfs", &[("type", "disk"), ("filesystem", "xfs")]);
    default.default_class = true;
    default.volume_binding_mode = "Immediate".into();
    vec![
        valid(&class("disk", &[("type", "disk")])),
        valid(&default),
        valid(&class("shared-nfs", &[("type", "shared")])),
        valid(&retain),
    ]
}

#[test]
fn rendering_uses_the_add_on_s_drivers_and_only_validated_values() {
    let objects: Vec<_> = samples().iter().map(render_class).collect();
    assert_eq!(objects[0]["apiVersion"], "storage.k8s.io/v1");
    assert_eq!(objects[0]["kind"], "StorageClass");
    assert_eq!(objects[0]["provisioner"], DISK_PROVISIONER);
    assert_eq!(
        objects[0]["parameters"]["csi.storage.k8s.io/fstype"],
        "ext4"
    );
    assert_eq!(objects[0]["volumeBindingMode"], "WaitForFirstConsumer");
    assert_eq!(
        objects[1]["metadata"]["annotations"]["storageclass.kubernetes.io/is-default-class"],
        "true"
    );
    assert_eq!(objects[2]["provisioner"], SHARED_PROVISIONER);
    assert_eq!(objects[2]["mountOptions"][1], "nconnect=16");
    assert_eq!(objects[3]["reclaimPolicy"], "Retain");
    assert_eq!(objects[3]["allowVolumeExpansion"], false);
    assert!(objects[3].get("mountOptions").is_none());
    let yaml = render_yaml(&samples()).unwrap();
    assert_eq!(yaml.matches("kind: StorageClass").count(), 4);
}

#[test]
fn rendered_classes_pass_kubernetes_validate_strict() {
    let Some(tool) = std::env::var_os("ACCORD_KUBERNETES_VALIDATE") else {
        println!(
            "note: ACCORD_KUBERNETES_VALIDATE is not set; skipping kubernetes-validate \
             (CI sets it; `cargo xtask test` does too)"
        );
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let mut files = Vec::new();
    for (i, class) in samples().iter().enumerate() {
        let path = dir.path().join(format!("class-{i}.yaml"));
        std::fs::write(
            &path,
            serde_norway::to_string(&render_class(class)).unwrap(),
        )
        .unwrap();
        files.push(path);
    }
    let stream = dir.path().join("all.yaml");
    std::fs::write(&stream, render_yaml(&samples()).unwrap()).unwrap();
    files.push(stream);
    for version in ["1.30.0", "1.31.0", "1.32.0"] {
        let out = std::process::Command::new(&tool)
            .args(["--strict", "--quiet", "-k", version])
            .args(&files)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "kubernetes-validate --strict -k {version} rejected:\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}
