//! Table-driven tests of the CSI driver add-on through the exported entry points.

use addon_kit::entry::{describe, plan_upgrade, render, validate_config};
use addon_kit::testing::{
    check_classification_cases, check_describe, check_manifests, check_validation_cases,
    release_values, sample_cluster, the_helm_release, write_rendered, yaml_documents,
};
use addon_kit::{Format, Installer, Ownership};

use crate::CsiDriver;

#[test]
fn describe_is_sane() {
    check_describe::<CsiDriver>().unwrap();
    let info = describe::<CsiDriver>();
    assert_eq!(info.name, "csi-driver");
    assert_eq!(
        info.installer,
        Installer::Customer,
        "the provider ships the chart, the customer installs it"
    );
    assert!(info.customer_knobs.iter().any(|k| k == "storageClasses"));
}

#[test]
fn validate_config_reports_dotted_paths() {
    let cases: &[(&str, &[&str])] = &[
        ("{}", &[]),
        // The provider's gate, set by the host: NFS only where it is open.
        (
            r#"{"storageClasses": {"sharedNfs": {"enabled": true}}}"#,
            &["storageClasses.sharedNfs.enabled"],
        ),
        (
            r#"{"storageClasses": {"sharedNfs": {"enabled": true}}, "platform": {"nfsEnabled": false}}"#,
            &["storageClasses.sharedNfs.enabled"],
        ),
        (
            r#"{"storageClasses": {"sharedNfs": {"enabled": true}}, "platform": {"nfsEnabled": true}}"#,
            &[],
        ),
        (r#"{"platform": {"nfsEnabled": true}}"#, &[]),
        (
            r#"{"platform": {"nfsEnabled": "yes"}}"#,
            &["platform.nfsEnabled"],
        ),
        (r#"{"platform": {"other": true}}"#, &["platform.other"]),
        (
            r#"{"storageClasses": {"block": {"fsType": "btrfs"}}}"#,
            &["storageClasses.block.fsType"],
        ),
        (
            r#"{"storageClasses": {"block": {"name": "Fast_Disk"}}}"#,
            &["storageClasses.block.name"],
        ),
        (
            r#"{"storageClasses": {"sharedNfs": {"reclaimPolicy": "Recycle"}}}"#,
            &["storageClasses.sharedNfs.reclaimPolicy"],
        ),
        (
            r#"{"controller": {"replicas": 9}}"#,
            &["controller.replicas"],
        ),
        (
            r#"{"node": {"kubeletDir": "var/lib/kubelet"}}"#,
            &["node.kubeletDir"],
        ),
        (
            r#"{"storageClasses": {"sharedNfs": {"enabled": true, "name": "accord-block"}}, "platform": {"nfsEnabled": true}}"#,
            &["storageClasses.sharedNfs.name"],
        ),
        (r#"{"snapshots": true}"#, &["snapshots"]),
    ];
    check_validation_cases::<CsiDriver>(cases).unwrap();
}

#[test]
fn classify_change_follows_the_knobs() {
    let cases: &[(&str, Ownership, &str)] = &[
        ("{}", Ownership::ProviderManaged, "matches"),
        (
            r#"{"storageClasses": {"block": {"default": false, "reclaimPolicy": "Retain"}}}"#,
            Ownership::Shared,
            "storageClasses.block.default",
        ),
        (
            r#"{"storageClasses": {"sharedNfs": {"enabled": true}}, "platform": {"nfsEnabled": true}}"#,
            Ownership::Shared,
            "storageClasses.sharedNfs.enabled",
        ),
        // The host-owned gate is not a configuration choice: it never moves ownership.
        (
            r#"{"platform": {"nfsEnabled": true}}"#,
            Ownership::ProviderManaged,
            "matches",
        ),
        (
            r#"{"controller": {"replicas": 3}}"#,
            Ownership::Shared,
            "controller.replicas",
        ),
        (
            r#"{"image": {"repository": "mirror.example.com/csi"}}"#,
            Ownership::CustomerOwned,
            "image.repository",
        ),
        (
            r#"{"node": {"kubeletDir": "/data/kubelet"}}"#,
            Ownership::CustomerOwned,
            "node.kubeletDir",
        ),
    ];
    check_classification_cases::<CsiDriver>(cases).unwrap();
}

#[test]
fn plan_upgrade_is_rolling_and_refuses_downgrades() {
    let plan = plan_upgrade::<CsiDriver>(
        "1.4.0",
        "1.5.1",
        r#"{"storageClasses": {"sharedNfs": {"enabled": true}}}"#,
    )
    .unwrap();
    assert!(!plan.disruptive);
    let at = |needle: &str| plan.steps.iter().position(|s| s.contains(needle)).unwrap();
    assert!(at("helm upgrade") < at("controller rolls"));
    assert!(at("controller rolls") < at("node plugin rolls"));
    assert!(at("node plugin rolls") < at("verify"));
    assert!(plan.steps[at("verify")].contains("nfs.csi.accord.dev"));
    for (current, target, needle) in [
        ("1.5.1", "1.3.2", "downgrade"),
        ("1.5.1", "2.0.0", "unknown version"),
    ] {
        let err = plan_upgrade::<CsiDriver>(current, target, "{}").unwrap_err();
        assert!(err.contains(needle), "{err}");
    }
}

#[test]
fn the_gate_refuses_on_the_field_and_says_whom_to_ask() {
    let violations =
        validate_config::<CsiDriver>(r#"{"storageClasses": {"sharedNfs": {"enabled": true}}}"#);
    assert_eq!(violations.len(), 1, "{violations:?}");
    assert_eq!(violations[0].field, "storageClasses.sharedNfs.enabled");
    assert!(
        violations[0]
            .message
            .contains("NFS is not enabled for this project")
            && violations[0].message.contains("ask your provider")
            && violations[0].message.contains("nfs enable"),
        "{}",
        violations[0].message
    );
}

#[test]
fn render_leaves_nfs_out_while_the_gate_is_closed() {
    let cluster = sample_cluster();
    // Accepted while the gate was open; the provider disabled NFS since.
    let asked = r#"{"storageClasses": {"sharedNfs": {"enabled": true}}, "platform": {"nfsEnabled": false}}"#;
    let rendered = render::<CsiDriver>(&cluster, "1.5.1", asked).unwrap();
    let classes = yaml_documents(&rendered.manifests[1].content).unwrap();
    assert_eq!(classes.len(), 1);
    assert_eq!(classes[0]["provisioner"], "disk.csi.accord.dev");
    let values = &release_values(&rendered.manifests).unwrap();
    assert_eq!(values["sharedDisk"]["enabled"], false);
    assert!(
        rendered.notes.iter().any(|n| n.contains("not rendered")),
        "{:?}",
        rendered.notes
    );
    // The gate alone renders nothing extra.
    let open =
        render::<CsiDriver>(&cluster, "1.5.1", r#"{"platform": {"nfsEnabled": true}}"#).unwrap();
    assert_eq!(yaml_documents(&open.manifests[1].content).unwrap().len(), 1);
}

#[test]
fn upgrade_plans_ignore_the_gate() {
    let config = r#"{"storageClasses": {"sharedNfs": {"enabled": true}}}"#;
    let closed = plan_upgrade::<CsiDriver>("1.4.0", "1.5.1", config).unwrap();
    let open = plan_upgrade::<CsiDriver>(
        "1.4.0",
        "1.5.1",
        r#"{"storageClasses": {"sharedNfs": {"enabled": true}}, "platform": {"nfsEnabled": true}}"#,
    )
    .unwrap();
    assert_eq!(closed, open);
}

#[test]
fn render_block_always_and_nfs_only_when_enabled() {
    let cluster = sample_cluster();
    let nfs =
        r#"{"storageClasses": {"sharedNfs": {"enabled": true}}, "platform": {"nfsEnabled": true}}"#;
    let rendered = render::<CsiDriver>(&cluster, "1.5.1", nfs).unwrap();
    assert_eq!(
        rendered,
        render::<CsiDriver>(&cluster, "1.5.1", nfs).unwrap()
    );
    assert_eq!(check_manifests(&rendered.manifests).unwrap(), 4);
    write_rendered("csi-driver", &rendered.manifests).unwrap();

    let classes = yaml_documents(&rendered.manifests[1].content).unwrap();
    assert_eq!(classes[0]["provisioner"], "disk.csi.accord.dev");
    assert_eq!(classes[0]["volumeBindingMode"], "WaitForFirstConsumer");
    assert_eq!(
        classes[0]["metadata"]["annotations"]["storageclass.kubernetes.io/is-default-class"],
        "true"
    );
    assert_eq!(classes[1]["provisioner"], "nfs.csi.accord.dev");
    assert_eq!(classes[1]["reclaimPolicy"], "Retain");
    assert!(rendered.notes.iter().any(|n| n.contains("NFS enabled")));

    let plain = render::<CsiDriver>(&cluster, "1.5.1", "{}").unwrap();
    assert_eq!(
        yaml_documents(&plain.manifests[1].content).unwrap().len(),
        1
    );
    assert!(
        plain
            .manifests
            .iter()
            .all(|m| m.format == Format::Kubernetes)
    );
    let release = the_helm_release(&plain.manifests).unwrap();
    assert_eq!(release["spec"]["chart"]["spec"]["chart"], "csi-driver");
    assert_eq!(release["spec"]["releaseName"], "accord-csi-driver");
    let repository = &yaml_documents(&plain.manifests[0].content).unwrap()[0];
    assert_eq!(repository["spec"]["type"], "oci");
    assert_eq!(
        repository["spec"]["url"],
        "oci://registry.accord.dev/charts"
    );
    let values = &release_values(&plain.manifests).unwrap();
    assert_eq!(values["sharedDisk"]["enabled"], false);
    assert_eq!(values["image"]["tag"], "v1.5.1");

    assert!(
        render::<CsiDriver>(&cluster, "0.9.0", "{}")
            .unwrap_err()
            .contains("unknown version")
    );
}
