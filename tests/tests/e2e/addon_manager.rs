//! The addon-manager end to end: opted-in add-ons installed from the provisioner's events, the
//! Network Operator when an InfiniBand pool appears, ownership moving with configuration
//! changes (and the events saying why), provider-only critical upgrades that skip what the
//! customer owns, keys verified by the provisioner, pushed plugins swapped in without a
//! restart, and automatic installs that fail: shown in `ListAddons`, retried until they succeed,
//! across a restart.

use accord_e2e::{
    CPU_INSTANCE, Env, GPU_INSTANCE, cluster_id, cluster_request, kind, pool_request, wait_for,
};
use accord_plugin_host::PluginKind;
use accord_proto::addons::v1::{self as apb, addons_client::AddonsClient};
use accord_proto::provisioner::v1 as pb;
use time::OffsetDateTime;
use tonic::Code;

type Client = AddonsClient<accord_e2e::AuthChannel>;

async fn installed(client: &Client, cluster: &str) -> Result<Vec<apb::AddonInstallation>, String> {
    client
        .clone()
        .list_addons(apb::ListAddonsRequest {
            cluster: cluster.to_owned(),
        })
        .await
        .map(|r| r.into_inner().addons)
        .map_err(|s| format!("{:?}: {}", s.code(), s.message()))
}

async fn wait_installed(
    client: &Client,
    cluster: &str,
    names: &[&str],
) -> Vec<apb::AddonInstallation> {
    wait_for(&format!("{names:?} installed on {cluster}"), || async {
        let list = installed(client, cluster).await?;
        let have: Vec<&str> = list.iter().map(|i| i.name.as_str()).collect();
        if names.iter().all(|n| have.contains(n)) {
            Ok(list)
        } else {
            Err(format!("installed: {have:?}"))
        }
    })
    .await
    .unwrap()
}

fn ownership(i: &apb::AddonInstallation) -> apb::Ownership {
    apb::Ownership::try_from(i.ownership).unwrap()
}

async fn configure(
    client: &Client,
    cluster: &str,
    name: &str,
    config: &str,
) -> Result<apb::AddonInstallation, tonic::Status> {
    client
        .clone()
        .update_addon_config(apb::UpdateAddonConfigRequest {
            cluster: cluster.to_owned(),
            name: name.to_owned(),
            config: config.to_owned(),
            generation: 0,
        })
        .await
        .map(tonic::Response::into_inner)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn opted_in_addons_ownership_changes_and_critical_upgrades_over_grpc() {
    let mut env = Env::start().await.unwrap();
    env.start_addon_manager().await.unwrap();
    let admin = env.admin().unwrap();
    let addons = env.addons(&env.admin_token).unwrap();
    let operator = env.addons(&env.operator_token).unwrap();

    // A cluster opting into two add-ons: the addon-manager installs them from cluster.created.
    let mut req = cluster_request("train", "");
    req.spec.as_mut().unwrap().addons = vec!["nvidia-gpu-operator".into(), "csi-driver".into()];
    let created = admin
        .clusters
        .clone()
        .create_cluster(req)
        .await
        .unwrap()
        .into_inner();
    let id = cluster_id(&created).unwrap();
    let list = wait_installed(&addons, "train", &["nvidia-gpu-operator", "csi-driver"]).await;
    for i in &list {
        assert_eq!(i.source, "opted-in");
        assert_eq!(i.cluster_id, id);
        assert!(i.manifests.is_empty(), "lists leave manifests out");
        let expected = if i.name == "csi-driver" {
            // The provider ships the chart; the customer installs and configures it.
            apb::Ownership::Shared
        } else {
            apb::Ownership::ProviderManaged
        };
        assert_eq!(ownership(i), expected, "{}: {}", i.name, i.ownership_reason);
    }
    let gpu = addons
        .clone()
        .get_addon(apb::GetAddonRequest {
            cluster: id.clone(),
            name: "nvidia-gpu-operator".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert!(
        gpu.manifests
            .iter()
            .any(|m| m.format == "kubernetes" && m.content.contains("kind: Namespace")),
        "{:?}",
        gpu.manifests.iter().map(|m| &m.name).collect::<Vec<_>>()
    );
    env.wait_event("addon.installed for the GPU operator", |e| {
        kind(e) == "addon.installed" && e.data["installation"]["name"] == "nvidia-gpu-operator"
    })
    .await
    .unwrap();

    // A customer knob: stays with the provider's support, now shared.
    let shared = configure(
        &addons,
        "train",
        "nvidia-gpu-operator",
        r#"{"driver":{"version":"570.172.08"}}"#,
    )
    .await
    .unwrap();
    assert_eq!(
        ownership(&shared),
        apb::Ownership::Shared,
        "{}",
        shared.ownership_reason
    );
    assert_eq!(shared.generation, 2);
    // Invalid configurations name the field and change nothing.
    let bad = configure(
        &addons,
        "train",
        "nvidia-gpu-operator",
        r#"{"driver":{"version":"latest!"}}"#,
    )
    .await
    .unwrap_err();
    assert_eq!(bad.code(), Code::InvalidArgument);
    assert!(
        bad.message().contains("config.driver.version"),
        "{}",
        bad.message()
    );
    let bad = configure(&addons, "train", "nvidia-gpu-operator", "[1,2]")
        .await
        .unwrap_err();
    assert_eq!(bad.code(), Code::InvalidArgument);
    // A significant modification: the add-on becomes the customer's, and the bus says why.
    let owned = configure(
        &addons,
        "train",
        "nvidia-gpu-operator",
        r#"{"driver":{"enabled":false}}"#,
    )
    .await
    .unwrap();
    assert_eq!(ownership(&owned), apb::Ownership::CustomerOwned);
    assert!(
        owned.ownership_reason.contains("driver.enabled"),
        "{}",
        owned.ownership_reason
    );
    let changed = env
        .wait_event("addon.ownership-changed to customer-owned", |e| {
            kind(e) == "addon.ownership-changed" && e.data["to"] == "customer-owned"
        })
        .await
        .unwrap();
    assert_eq!(changed.data["from"], "shared");
    assert_eq!(changed.data["addon"], "nvidia-gpu-operator");
    assert!(
        changed.data["reason"]
            .as_str()
            .unwrap()
            .contains("driver.enabled")
    );

    // Critical upgrades are the provider's: a customer is refused with the layer and its owner.
    let refused = addons
        .clone()
        .upgrade_addon(apb::UpgradeAddonRequest {
            name: "nvidia-gpu-operator".into(),
            target_version: "v25.10.0".into(),
            clusters: vec![],
            reason: String::new(),
        })
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::PermissionDenied);
    assert!(
        refused.message().contains("Add-Ons"),
        "{}",
        refused.message()
    );
    // The operator's upgrade skips the customer-owned GPU operator and says so.
    let outcomes = operator
        .clone()
        .upgrade_addon(apb::UpgradeAddonRequest {
            name: "nvidia-gpu-operator".into(),
            target_version: "v25.10.0".into(),
            clusters: vec![],
            reason: "CVE-2026-0001".into(),
        })
        .await
        .unwrap()
        .into_inner()
        .outcomes;
    assert_eq!(outcomes.len(), 1);
    assert_eq!(outcomes[0].outcome, "skipped");
    assert!(
        outcomes[0].reason.contains("customer-owned"),
        "{}",
        outcomes[0].reason
    );
    let skipped = env
        .wait_event("addon.upgrade-skipped", |e| {
            kind(e) == "addon.upgrade-skipped"
        })
        .await
        .unwrap();
    assert_eq!(skipped.data["target"], "v25.10.0");
    // … and upgrades what is still the provider's (cilium, installed later at the newest-but-one
    // version that runs on the cluster's Kubernetes, by the customer through the API).
    let cilium_versions = operator
        .clone()
        .list_available_addons(apb::ListAvailableAddonsRequest {})
        .await
        .unwrap()
        .into_inner()
        .addons
        .into_iter()
        .find(|a| a.name == "cilium")
        .unwrap()
        .versions;
    let (older, newest) = (
        cilium_versions[cilium_versions.len() - 2].clone(),
        cilium_versions.last().unwrap().clone(),
    );
    assert_ne!(older, newest);
    let cilium = addons
        .clone()
        .install_addon(apb::InstallAddonRequest {
            cluster: "train".into(),
            name: "cilium".into(),
            version: older.clone(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        (cilium.source.as_str(), cilium.version.as_str()),
        ("requested", older.as_str())
    );
    let outcomes = operator
        .clone()
        .upgrade_addon(apb::UpgradeAddonRequest {
            name: "cilium".into(),
            target_version: newest.clone(),
            clusters: vec![id.clone()],
            reason: String::new(),
        })
        .await
        .unwrap()
        .into_inner()
        .outcomes;
    assert_eq!(outcomes[0].outcome, "upgraded", "{outcomes:?}");
    assert!(!outcomes[0].steps.is_empty());
    let now = installed(&addons, &id).await.unwrap();
    let cilium = now.iter().find(|i| i.name == "cilium").unwrap();
    assert_eq!(
        (cilium.version.as_str(), cilium.generation),
        (newest.as_str(), 2)
    );
    env.wait_event("addon.upgraded", |e| kind(e) == "addon.upgraded")
        .await
        .unwrap();

    // An InfiniBand pool makes the Network Operator required: installed without being asked,
    // rendered for the pool (nodes carry the pool label).
    admin
        .node_pools
        .clone()
        .create_node_pool(pool_request(&id, "ib", GPU_INSTANCE, 1, ""))
        .await
        .unwrap();
    let list = wait_installed(&addons, &id, &["nvidia-network-operator"]).await;
    let net = list
        .iter()
        .find(|i| i.name == "nvidia-network-operator")
        .unwrap();
    assert_eq!(net.source, "required-by-infiniband");
    let net = addons
        .clone()
        .get_addon(apb::GetAddonRequest {
            cluster: id.clone(),
            name: "nvidia-network-operator".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert!(
        net.manifests
            .iter()
            .any(|m| m.content.contains("accord.dev/pool") && m.content.contains("ib")),
        "the network operator is pinned to the InfiniBand pool"
    );
    let pool = env
        .wait_pool(&admin, &id, "ib", "pool ib created", |_| true)
        .await
        .unwrap();
    assert_eq!(
        pool.spec
            .unwrap()
            .node_labels
            .get("accord.dev/pool")
            .map(String::as_str),
        Some("ib")
    );

    // Removing: the customer uninstalls one; deleting the cluster removes the rest.
    addons
        .clone()
        .uninstall_addon(apb::UninstallAddonRequest {
            cluster: id.clone(),
            name: "csi-driver".into(),
        })
        .await
        .unwrap();
    let gone = addons
        .clone()
        .get_addon(apb::GetAddonRequest {
            cluster: id.clone(),
            name: "csi-driver".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(gone.code(), Code::NotFound);
    admin
        .node_pools
        .clone()
        .delete_node_pool(pb::DeleteNodePoolRequest {
            project: String::new(),
            cluster: id.clone(),
            node_pool: "ib".into(),
            resource_version: 0,
        })
        .await
        .unwrap();
    env.wait_event("pool ib deleted", |e| kind(e) == "nodepool.deleted")
        .await
        .unwrap();
    admin
        .clusters
        .clone()
        .delete_cluster(pb::DeleteClusterRequest {
            project: String::new(),
            cluster: id.clone(),
            resource_version: 0,
        })
        .await
        .unwrap();
    wait_for("the cluster's add-ons removed", || async {
        match installed(&addons, &id).await {
            Err(e) if e.starts_with("NotFound") => Ok(()),
            other => Err(format!("{other:?}")),
        }
    })
    .await
    .unwrap();
    // Published after the commit the API already shows: wait for the fourth event.
    let uninstalled = env.wait_event_count("addon.uninstalled", 4).await.unwrap();
    assert_eq!(
        uninstalled, 4,
        "csi-driver, then cilium, the GPU and the Network Operator"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_are_verified_by_the_provisioner_roles_apply_and_pushed_plugins_swap_in() {
    let mut env = Env::start().await.unwrap();
    let manager = env.start_addon_manager().await.unwrap();
    let admin = env.admin().unwrap();
    let cluster = admin
        .clusters
        .clone()
        .create_cluster(cluster_request("web", ""))
        .await
        .unwrap()
        .into_inner();
    let id = cluster_id(&cluster).unwrap();
    let addons = env.addons(&env.admin_token).unwrap();
    wait_for("the addon-manager to know the cluster", || async {
        installed(&addons, &id).await.map(|_| ())
    })
    .await
    .unwrap();
    admin
        .node_pools
        .clone()
        .create_node_pool(pool_request(&id, "cpu", CPU_INSTANCE, 1, ""))
        .await
        .unwrap();

    // Unknown and garbage keys: UNAUTHENTICATED, as the provisioner decides.
    let garbage = env.addons("accord_nope").unwrap();
    let err = installed(&garbage, &id).await.unwrap_err();
    assert!(err.starts_with("Unauthenticated"), "{err}");
    // A Reader may look but not change; an Editor may install.
    let reader = env
        .mint_key("rita@example.com", pb::Role::Reader)
        .await
        .unwrap();
    let reader = env.addons(&reader.token).unwrap();
    assert!(installed(&reader, &id).await.is_ok());
    let denied = reader
        .clone()
        .install_addon(apb::InstallAddonRequest {
            cluster: id.clone(),
            name: "watch-agent".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(denied.code(), Code::PermissionDenied);
    let editor = env
        .mint_key("ed@example.com", pb::Role::Editor)
        .await
        .unwrap();
    let editor_client = env.addons(&editor.token).unwrap();
    let agent = editor_client
        .clone()
        .install_addon(apb::InstallAddonRequest {
            cluster: "web".into(),
            name: "watch-agent".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(agent.updated_by, "ed@example.com");
    assert_eq!(ownership(&agent), apb::Ownership::Shared);
    // Installing twice, an unknown add-on, an unknown version: clear refusals.
    for (name, version, code) in [
        ("watch-agent", "", Code::AlreadyExists),
        ("istio", "", Code::InvalidArgument),
        ("cilium", "0.0.1", Code::InvalidArgument),
    ] {
        let err = editor_client
            .clone()
            .install_addon(apb::InstallAddonRequest {
                cluster: id.clone(),
                name: name.into(),
                version: version.into(),
                ..Default::default()
            })
            .await
            .unwrap_err();
        assert_eq!(err.code(), code, "{name}: {}", err.message());
    }
    // A customer's own Network Operator: recorded as theirs, nothing rendered.
    let own = editor_client
        .clone()
        .install_addon(apb::InstallAddonRequest {
            cluster: id.clone(),
            name: "nvidia-network-operator".into(),
            self_managed: true,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(ownership(&own), apb::Ownership::CustomerOwned);
    assert!(own.manifests.is_empty());
    // A revoked key stops working at once, here too.
    admin
        .projects
        .clone()
        .revoke_api_key(pb::RevokeApiKeyRequest {
            project: String::new(),
            key: editor.id.clone(),
        })
        .await
        .unwrap();
    let err = installed(&editor_client, &id).await.unwrap_err();
    assert!(err.starts_with("Unauthenticated"), "{err}");

    // Pushes reach every replica through the bucket watch, in order: a corrupt one is refused
    // (the shipped cilium keeps serving), a valid new one becomes available without a restart.
    let before: Vec<String> = manager.catalog().names();
    assert!(!before.contains(&"noop-addon".to_owned()));
    let cilium_digest = manager
        .catalog()
        .addon("cilium")
        .unwrap()
        .digest()
        .to_owned();
    let store = env.bus.plugin_store().await.unwrap();
    let meta = |version: &str| accord_bus::PluginMeta {
        kind: "addon".into(),
        version: version.into(),
        digest: String::new(),
    };
    store
        .put("addon.cilium", b"\0asm not really".to_vec(), &meta("9.9.9"))
        .await
        .unwrap();
    let wasm = std::fs::read(accord_e2e::plugin_dir().join("noop_addon.wasm")).unwrap();
    store
        .put("addon.noop-addon", wasm, &meta("0.1.0"))
        .await
        .unwrap();
    let available = wait_for("the pushed add-on to be available", || async {
        let list = addons
            .clone()
            .list_available_addons(apb::ListAvailableAddonsRequest {})
            .await
            .map_err(|s| s.to_string())?
            .into_inner()
            .addons;
        list.into_iter()
            .find(|a| a.name == "noop-addon")
            .ok_or_else(|| "not yet".to_owned())
    })
    .await
    .unwrap();
    assert_eq!(available.plugin_state, "active");
    let installed_cilium = addons
        .clone()
        .install_addon(apb::InstallAddonRequest {
            cluster: id.clone(),
            name: "cilium".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(installed_cilium.plugin_digest, cilium_digest);
    assert!(!installed_cilium.manifests.is_empty());
    // The new add-on installs like a shipped one.
    let noop = addons
        .clone()
        .install_addon(apb::InstallAddonRequest {
            cluster: id.clone(),
            name: "noop-addon".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert!(noop.manifests.iter().any(|m| m.content.contains("web")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_addon_manager_catches_up_with_what_happened_while_it_was_down() {
    let mut env = Env::start().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("addon-manager");
    let admin = env.admin().unwrap();
    let (manager, stopper) = env
        .start_addon_manager_on(accord_store::Store::open(&path).unwrap())
        .await
        .unwrap();
    let mut req = cluster_request("before", "");
    req.spec.as_mut().unwrap().addons = vec!["cilium".into()];
    admin.clusters.clone().create_cluster(req).await.unwrap();
    let addons = env.addons(&env.admin_token).unwrap();
    wait_installed(&addons, "before", &["cilium"]).await;

    // Down: the store is released, events keep flowing into the stream.
    drop(manager);
    drop(addons);
    stopper.stop().await;
    let mut req = cluster_request("during", "");
    req.spec.as_mut().unwrap().addons = vec!["watch-agent".into(), "csi-driver".into()];
    admin.clusters.clone().create_cluster(req).await.unwrap();
    env.wait_event("cluster during created", |e| {
        kind(e) == "cluster.created" && e.data["cluster"]["metadata"]["name"] == "during"
    })
    .await
    .unwrap();

    // Back on the same store: what it had is still there, what it missed is installed, once.
    let (_manager, _stopper) = env
        .start_addon_manager_on(accord_store::Store::open(&path).unwrap())
        .await
        .unwrap();
    let addons = env.addons(&env.admin_token).unwrap();
    let before = installed(&addons, "before").await.unwrap();
    assert_eq!(before.len(), 1);
    assert_eq!(before[0].generation, 1);
    wait_installed(&addons, "during", &["watch-agent", "csi-driver"]).await;
    // The relay publishes after the commit the API already shows: wait for the third event.
    let installs = env.wait_event_count("addon.installed", 3).await.unwrap();
    assert_eq!(
        installs, 3,
        "one addon.installed per installation, none repeated"
    );
}

async fn try_listed(client: &Client, cluster: &str) -> Result<apb::ListAddonsResponse, String> {
    client
        .clone()
        .list_addons(apb::ListAddonsRequest {
            cluster: cluster.to_owned(),
        })
        .await
        .map(tonic::Response::into_inner)
        .map_err(|s| format!("{:?}: {}", s.code(), s.message()))
}

async fn listed(client: &Client, cluster: &str) -> apb::ListAddonsResponse {
    try_listed(client, cluster).await.unwrap()
}

fn pending_names(r: &apb::ListAddonsResponse) -> Vec<&str> {
    let mut names: Vec<&str> = r.pending.iter().map(|p| p.name.as_str()).collect();
    names.sort_unstable();
    names
}

fn installed_names(r: &apb::ListAddonsResponse) -> Vec<&str> {
    let mut names: Vec<&str> = r.addons.iter().map(|i| i.name.as_str()).collect();
    names.sort_unstable();
    names
}

/// Retries are driven with explicit clocks (hours ahead of the wall clock), so the service's own
/// loop — which runs on the wall clock — finds nothing due once the first explicit retry has
/// pushed the next attempts past it; assertions on attempt counts allow for it having retried
/// once before that.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_automatic_installs_are_shown_and_retried_until_they_succeed_across_a_restart() {
    let mut env = Env::start().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("addon-manager");
    let admin = env.admin().unwrap();
    let (manager, stopper) = env
        .start_addon_manager_on(accord_store::Store::open(&path).unwrap())
        .await
        .unwrap();
    // Four plugins are gone (as if withdrawn): every automatic install of them fails.
    let gone = [
        "cilium",
        "csi-driver",
        "registry-token-rotator",
        "watch-agent",
    ];
    for name in gone {
        assert!(
            manager.catalog().registry().remove(PluginKind::Addon, name),
            "{name}"
        );
    }
    let mut req = cluster_request("flaky", "");
    req.spec.as_mut().unwrap().addons = gone.iter().map(|s| (*s).to_owned()).collect();
    admin.clusters.clone().create_cluster(req).await.unwrap();
    let addons = env.addons(&env.admin_token).unwrap();

    // Visible to the customer: nothing installed, four pending installs with the error.
    let first = wait_for("the failed installs to be listed", || async {
        let list = try_listed(&addons, "flaky").await?;
        if list.pending.len() == gone.len() {
            Ok(list)
        } else {
            Err(format!("pending: {:?}", pending_names(&list)))
        }
    })
    .await
    .unwrap();
    assert!(first.addons.is_empty());
    for p in &first.pending {
        assert_eq!(p.cluster_name, "flaky");
        assert_eq!(p.source, "opted-in");
        assert!(p.attempts >= 1);
        assert!(
            p.last_error.contains("no add-on named") && p.last_error.contains(&p.name),
            "{}",
            p.last_error
        );
        let (first_failed, next) = (
            p.first_failed_at.as_ref().unwrap(),
            p.next_attempt_at.as_ref().unwrap(),
        );
        assert!(next.seconds >= first_failed.seconds + 30, "{p:?}");
    }
    // One addon.install-failed per add-on, on the first failure.
    let failed = env
        .wait_event_count("addon.install-failed", 4)
        .await
        .unwrap();
    assert_eq!(failed, 4);
    let event = env
        .wait_event("install-failed for watch-agent", |e| {
            kind(e) == "addon.install-failed" && e.data["addon"] == "watch-agent"
        })
        .await
        .unwrap();
    assert_eq!(event.data["attempts"], 1);

    // Due while the plugins are still gone: each fails again, quietly.
    let t1 = OffsetDateTime::now_utc() + time::Duration::hours(1);
    let retried = manager.retry_due(t1).await.unwrap();
    assert_eq!(retried.len(), 4, "{retried:?}");
    let list = listed(&addons, "flaky").await;
    assert!(list.addons.is_empty());
    for p in &list.pending {
        assert!(p.attempts >= 2, "{p:?}");
        assert!(
            p.next_attempt_at.as_ref().unwrap().seconds
                >= (t1 + time::Duration::minutes(1)).unix_timestamp(),
            "{p:?}"
        );
    }

    // The watch agent's plugin is back: the next due retry installs it and clears its record.
    let wasm = manager.catalog().shipped("watch-agent").unwrap();
    manager.catalog().registry().offer(&wasm).unwrap();
    let t2 = t1 + time::Duration::hours(1);
    manager.retry_due(t2).await.unwrap();
    let list = listed(&addons, "flaky").await;
    assert_eq!(installed_names(&list), ["watch-agent"]);
    assert_eq!(list.addons[0].source, "opted-in");
    assert_eq!(
        pending_names(&list),
        ["cilium", "csi-driver", "registry-token-rotator"]
    );
    env.wait_event("addon.installed for watch-agent", |e| {
        kind(e) == "addon.installed" && e.data["installation"]["name"] == "watch-agent"
    })
    .await
    .unwrap();

    // Restart on the same store (its plugins are all shipped again): the records are still there
    // — not yet due, so the loop's first pass at start leaves them.
    drop(manager);
    drop(addons);
    stopper.stop().await;
    let (manager, _stopper) = env
        .start_addon_manager_on(accord_store::Store::open(&path).unwrap())
        .await
        .unwrap();
    let addons = env.addons(&env.admin_token).unwrap();
    let list = listed(&addons, "flaky").await;
    assert_eq!(
        pending_names(&list),
        ["cilium", "csi-driver", "registry-token-rotator"]
    );
    // The customer installs cilium themselves (that supersedes the record) and gives up on the
    // token rotator (uninstalling a pending add-on stops its retries).
    let own = addons
        .clone()
        .install_addon(apb::InstallAddonRequest {
            cluster: "flaky".into(),
            name: "cilium".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(own.source, "requested");
    addons
        .clone()
        .uninstall_addon(apb::UninstallAddonRequest {
            cluster: "flaky".into(),
            name: "registry-token-rotator".into(),
        })
        .await
        .unwrap();
    assert_eq!(
        pending_names(&listed(&addons, "flaky").await),
        ["csi-driver"]
    );
    // The record that survived the restart is retried when due, and installs.
    let retried = manager
        .retry_due(t2 + time::Duration::hours(1))
        .await
        .unwrap();
    assert_eq!(retried.len(), 1, "{retried:?}");
    let list = listed(&addons, "flaky").await;
    assert!(list.pending.is_empty(), "{:?}", list.pending);
    assert_eq!(
        installed_names(&list),
        ["cilium", "csi-driver", "watch-agent"]
    );
    let csi = list.addons.iter().find(|i| i.name == "csi-driver").unwrap();
    assert_eq!(csi.source, "opted-in");
    env.wait_event_count("addon.installed", 3).await.unwrap();
    // Nothing failed anew: still one install-failed per add-on.
    let failed = env
        .events()
        .await
        .unwrap()
        .iter()
        .filter(|e| kind(e) == "addon.install-failed")
        .count();
    assert_eq!(failed, 4);
}
