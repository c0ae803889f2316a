//! The provider's NFS gate as the addon-manager learns it: `nfs.*` events decoded into inputs
//! (other storage events ignored), the record written once per fact (redeliveries write
//! nothing), a project never heard of is closed, and which installations a gate event
//! re-renders.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use accord_addon_manager::{
    consumer::SUBSCRIPTION,
    handlers::{
        Change, Ctx, Rendered,
        cluster_view::Input,
        install::{Installing, install},
        nfs_gate::{self, GateChange, NfsGate},
        rerender::rerender,
    },
    trees::{Installations as _, NFS, reader},
    view::ClusterView,
};
use accord_bus::{CloudEvent, subjects};
use accord_core::{
    addon::{AddonInstallation, AddonInstaller, AddonManifest, AddonOwnership, AddonSource},
    events::Scope,
    ids::{ClusterId, ProjectId, VolumeId},
    storage::StorageEvent,
};
use accord_store::{Store, Versioned};
use time::macros::datetime;

fn at() -> Ctx {
    Ctx {
        now: datetime!(2026-12-04 03:00 UTC),
        actor: "addon-manager".into(),
    }
}

fn enabled(project: ProjectId) -> StorageEvent {
    StorageEvent::NfsEnabled {
        project,
        by: "operator".into(),
        reason: "ticket 42".into(),
        mount: "nfs".into(),
    }
}

fn change(project: ProjectId, enabled: bool) -> GateChange {
    GateChange {
        project,
        enabled,
        by: "operator".into(),
        reason: "ticket 42".into(),
    }
}

#[test]
fn nfs_events_become_gate_inputs_and_other_storage_events_are_ignored() {
    let project = ProjectId::generate();
    let input = SUBSCRIPTION
        .decode(
            &CloudEvent::new("storage-csi", Scope::Project(project), &enabled(project)).unwrap(),
        )
        .unwrap()
        .unwrap();
    assert!(
        matches!(&input, Input::NfsGate(c) if *c == change(project, true)),
        "{input:?}"
    );
    assert_eq!(input.cluster(), None);
    let disabled = StorageEvent::NfsDisabled {
        project,
        by: "operator".into(),
        reason: "no longer used".into(),
    };
    let input = SUBSCRIPTION
        .decode(&CloudEvent::new("storage-csi", Scope::Project(project), &disabled).unwrap())
        .unwrap()
        .unwrap();
    assert!(matches!(&input, Input::NfsGate(c) if !c.enabled && c.reason == "no longer used"));
    // Not a gate fact: nothing to do (and not dead-lettered).
    let volume = StorageEvent::VolumeDeleted {
        volume: VolumeId::generate(),
        cluster: ClusterId::generate(),
        project,
        name: "data".into(),
    };
    assert_eq!(GateChange::from_event(volume), None);
}

#[test]
fn the_durable_consumer_filters_nfs_events() {
    let spec = SUBSCRIPTION.spec().unwrap();
    assert!(
        spec.filter_subjects
            .contains(&subjects::events_of("nfs").unwrap()),
        "{:?}",
        spec.filter_subjects
    );
}

#[tokio::test]
async fn the_gate_is_recorded_once_per_fact_and_closed_until_heard_of() {
    let store = Store::temporary().unwrap();
    let r = reader(store.clone());
    let project = ProjectId::generate();
    assert!(!nfs_gate::enabled(
        r.nfs_gate(project).unwrap().as_ref().map(|v| &v.value)
    ));

    let ch = nfs_gate::apply(&at(), None, &change(project, true))
        .unwrap()
        .unwrap();
    assert!(ch.events.is_empty(), "the storage service announced it");
    store.commit(ch.commit).await.unwrap();
    let stored = r.nfs_gate(project).unwrap().unwrap();
    assert_eq!(
        stored.value,
        NfsGate {
            project,
            enabled: true,
            by: "operator".into(),
            reason: "ticket 42".into(),
            updated_at: at().now,
        }
    );
    assert!(nfs_gate::enabled(Some(&stored.value)));
    assert!(ch.events.is_empty(), "the storage service announced it");
    // A redelivery writes nothing.
    assert!(
        nfs_gate::apply(&at(), Some(&stored), &change(project, true))
            .unwrap()
            .is_none()
    );

    // Disabled: closed again, who and why recorded.
    let mut off = change(project, false);
    off.reason = "no longer used".into();
    let ch = nfs_gate::apply(&at(), Some(&stored), &off)
        .unwrap()
        .unwrap();
    store.commit(ch.commit).await.unwrap();
    let stored = NFS.get(&store, &project.to_string()).unwrap().unwrap();
    assert!(!stored.value.enabled);
    assert_eq!(stored.value.reason, "no longer used");
    // Another project is untouched.
    assert!(r.nfs_gate(ProjectId::generate()).unwrap().is_none());
}

fn view(project: ProjectId) -> ClusterView {
    ClusterView {
        id: ClusterId::generate(),
        name: "train".into(),
        project,
        kubernetes_version: "1.32".into(),
        region: "eu-iceland1".into(),
        pod_cidr: "10.64.0.0/12".into(),
        service_cidr: "10.96.0.0/16".into(),
        api_endpoint: "https://train.example".into(),
        opted_in: vec!["csi-driver".into()],
        pools: Default::default(),
    }
}

fn classes(nfs: bool) -> Vec<AddonManifest> {
    let mut content = "provisioner: disk.csi.accord.dev\n".to_owned();
    if nfs {
        content.push_str("---\nprovisioner: nfs.csi.accord.dev\n");
    }
    vec![AddonManifest {
        name: "20-storageclasses.yaml".into(),
        format: "kubernetes".into(),
        content,
    }]
}

fn csi(v: &ClusterView, source: AddonSource) -> (Change, Versioned<AddonInstallation>) {
    let what = if source == AddonSource::SelfManaged {
        Installing::SelfManaged {
            installer: AddonInstaller::Customer,
            version: String::new(),
        }
    } else {
        Installing::Rendered(Rendered {
            version: "1.5.1".into(),
            config: r#"{"storageClasses":{"sharedNfs":{"enabled":true}}}"#.into(),
            manifests: classes(true),
            plugin_digest: "sha256:abc".into(),
            installer: AddonInstaller::Customer,
            verdict: (AddonOwnership::Shared, "knobs only".into()),
        })
    };
    let (ch, inst) = install(&at(), v, None, "csi-driver", source, what).unwrap();
    (
        ch,
        Versioned {
            version: 1,
            value: inst,
        },
    )
}

#[tokio::test]
async fn a_gate_event_rerenders_the_projects_rendered_installations_only() {
    let store = Store::temporary().unwrap();
    let r = reader(store.clone());
    let project = ProjectId::generate();
    let (ch, _) = csi(&view(project), AddonSource::OptedIn);
    store.commit(ch.commit).await.unwrap();
    let (_, own) = csi(&view(project), AddonSource::SelfManaged);
    let (_, elsewhere) = csi(&view(ProjectId::generate()), AddonSource::Requested);
    let mut all = r.installations_in(project).unwrap();
    assert_eq!(all.len(), 1);
    let mine = all[0].clone();
    all.extend([own, elsewhere]);
    assert_eq!(nfs_gate::to_rerender(project, all), vec![mine.clone()]);

    // Disabled: the plugin renders without the NFS class; the configuration stays the
    // customer's (sharedNfs still asked for), only the manifests follow the gate.
    let ch = rerender(&at(), &mine, classes(false), "sha256:abc".into())
        .unwrap()
        .expect("the NFS class goes");
    assert!(ch.events.is_empty());
    store.commit(ch.commit).await.unwrap();
    let next = r.addon(mine.value.cluster, "csi-driver").unwrap().unwrap();
    assert!(!next.value.manifests[0].content.contains("nfs.csi"));
    assert_eq!(next.value.config, mine.value.config);
    assert!(!next.value.config.contains("platform"));
    // The same rendering again (a redelivered gate event) writes nothing.
    assert!(
        rerender(&at(), &next, classes(false), "sha256:abc".into())
            .unwrap()
            .is_none()
    );
    // Enabled again: the class is back.
    let ch = rerender(&at(), &next, classes(true), "sha256:abc".into())
        .unwrap()
        .expect("the NFS class returns");
    store.commit(ch.commit).await.unwrap();
    let back = r.addon(mine.value.cluster, "csi-driver").unwrap().unwrap();
    assert!(back.value.manifests[0].content.contains("nfs.csi"));
}
