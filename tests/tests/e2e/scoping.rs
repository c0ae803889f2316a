//! One scoping rule, the same answers on every service: a table over the provisioner, the
//! addon-manager, support-triage, telemetry, network-firewall and storage-csi of who names which
//! project or cluster how (customer and operator, id and name, own, foreign and missing), another
//! project's volumes and migrations (named by a customer they are missing, and untouched), plus
//! what every port says about methods it does not serve and what its reflection lists.
//!
//! The rule (`accord_runtime::scope`): a foreign cluster answers exactly like a missing one
//! (`NOT_FOUND`, same words); a customer naming any project but their own gets the same
//! `PERMISSION_DENIED` whether or not that project exists; a project may be named by id or by
//! name everywhere; a method a port does not serve is `UNIMPLEMENTED`, even without credentials.

use accord_e2e::{Bearer, Env, cluster_id, cluster_request, wait_for};
use accord_proto::{
    addons::v1::{self as addons_pb, addons_client::AddonsClient},
    firewall::v1::{self as firewall_pb, firewall_client::FirewallClient},
    provisioner::v1::{self as pb, remediations_client::RemediationsClient},
    storage::v1::{self as storage_pb, storage_client::StorageClient},
    support::v1::{
        self as support_pb, notifications_client::NotificationsClient,
        support_client::SupportClient,
    },
    telemetry::v1::{self as telemetry_pb, health_client::HealthClient as TelemetryClient},
};
use futures::StreamExt as _;
use tonic::{Code, Status, transport::Channel};
use tonic_reflection::pb::v1::{
    ServerReflectionRequest, server_reflection_client::ServerReflectionClient,
    server_reflection_request::MessageRequest, server_reflection_response::MessageResponse,
};

/// A well-formed id of a cluster that exists nowhere.
const MISSING_CLUSTER: &str = "cl-01jd0000000000000000000000";
/// A well-formed id of a remediation that exists nowhere.
const MISSING_REMEDIATION: &str = "rem-01jd0000000000000000000000";
/// A well-formed id of a project that exists nowhere.
const MISSING_PROJECT: &str = "prj-01jd0000000000000000000000";
/// A well-formed id of a migration that exists nowhere.
const MISSING_MIGRATION: &str = "mig-01jd0000000000000000000000";

/// What a refusal looks like once the named thing is blanked out, so a foreign and a missing
/// resource can be compared.
fn shape(s: &Status, named: &str) -> (Code, String) {
    (s.code(), s.message().replace(named, "<named>"))
}

/// Answers of the same calls, one naming a foreign thing and one a missing thing.
type Answers = Vec<(&'static str, Result<(), Status>)>;

/// Every call naming the `foreign` thing is refused with `code`, worded exactly like the same
/// call naming the `missing` one, and never names the owner (`project`).
fn assert_alike(
    (foreign, foreign_named): (&Answers, &str),
    (missing, missing_named): (&Answers, &str),
    code: Code,
    project: &str,
) {
    assert_eq!(foreign.len(), missing.len());
    for ((name, f), (_, m)) in foreign.iter().zip(missing) {
        let f = f.as_ref().expect_err(name);
        let m = m.as_ref().expect_err(name);
        assert_eq!(f.code(), code, "{name}: {f:?}");
        assert_eq!(
            shape(f, foreign_named),
            shape(m, missing_named),
            "{name}: naming {foreign_named} (foreign) must answer like naming {missing_named} \
             (missing)"
        );
        assert!(
            !f.message().contains(project),
            "{name} leaks the owner: {}",
            f.message()
        );
    }
}

struct World {
    env: Env,
    /// The customer of project `default` (its Admin).
    own_cluster: String,
    /// A cluster of project `rival`, created by rival's Admin.
    foreign_cluster: String,
    rival_project: String,
    /// The API key of rival's Admin.
    rival_token: String,
}

async fn world() -> World {
    let mut env = Env::start().await.unwrap();
    env.start_addon_manager().await.unwrap();
    env.start_support_triage().await.unwrap();
    env.start_telemetry().await.unwrap();
    env.start_network_firewall(std::time::Duration::from_secs(5), None)
        .await
        .unwrap();
    env.start_storage_csi(std::time::Duration::from_millis(200), None)
        .await
        .unwrap();
    let admin = env.admin().unwrap();
    let rival = admin
        .projects
        .clone()
        .create_project(pb::CreateProjectRequest {
            name: "rival".into(),
            labels: Default::default(),
        })
        .await
        .unwrap()
        .into_inner();
    let rival_project = rival.project.unwrap().metadata.unwrap().id;
    let rival_api = env.api(&rival.token).unwrap();
    let own = admin
        .clusters
        .clone()
        .create_cluster(cluster_request("ml", "1.32"))
        .await
        .unwrap()
        .into_inner();
    let foreign = rival_api
        .clusters
        .clone()
        .create_cluster(cluster_request("ml", "1.32"))
        .await
        .unwrap()
        .into_inner();
    let world = World {
        own_cluster: cluster_id(&own).unwrap(),
        foreign_cluster: cluster_id(&foreign).unwrap(),
        rival_project,
        rival_token: rival.token,
        env,
    };
    // The other services learn clusters and projects from events: wait until the operator sees
    // both clusters, and the rival project by name, everywhere.
    let operator = world.env.operator_token.clone();
    for cluster in [world.own_cluster.clone(), world.foreign_cluster.clone()] {
        let mut addons = world.env.addons(&operator).unwrap();
        let mut support = world.env.support(&operator).unwrap();
        let telemetry = world.env.telemetry(&operator).unwrap();
        let firewall = world.env.firewall(&operator).unwrap();
        let storage = world.env.storage(&operator).unwrap();
        wait_for(
            "the addon-manager, support-triage, telemetry, network-firewall and storage-csi to \
             know the cluster",
            || {
                let (mut a, mut s, c) = (addons.clone(), support.clone(), cluster.clone());
                let mut t = telemetry.clone();
                let mut f = firewall.clone();
                let mut st = storage.clone();
                async move {
                    a.list_addons(addons_pb::ListAddonsRequest { cluster: c.clone() })
                        .await
                        .map_err(|e| format!("addons: {e}"))?;
                    t.list_node_health(telemetry_pb::ListNodeHealthRequest {
                        project: String::new(),
                        cluster: c.clone(),
                    })
                    .await
                    .map_err(|e| format!("telemetry: {e}"))?;
                    f.list_firewall_rules(firewall_pb::ListFirewallRulesRequest {
                        project: String::new(),
                        cluster: c.clone(),
                    })
                    .await
                    .map_err(|e| format!("network-firewall: {e}"))?;
                    st.list_volumes(storage_pb::ListVolumesRequest {
                        project: String::new(),
                        cluster: c.clone(),
                    })
                    .await
                    .map_err(|e| format!("storage-csi: {e}"))?;
                    s.list_tickets(support_pb::ListTicketsRequest {
                        cluster: c,
                        ..Default::default()
                    })
                    .await
                    .map_err(|e| format!("support: {e}"))
                }
            },
        )
        .await
        .unwrap();
        let _ = (&mut addons, &mut support);
    }
    let mut support = world.env.support(&operator).unwrap();
    wait_for("support-triage to know project rival by name", || {
        let mut s = support.clone();
        async move {
            s.list_tickets(support_pb::ListTicketsRequest {
                project: "rival".into(),
                ..Default::default()
            })
            .await
            .map_err(|e| e.to_string())
        }
    })
    .await
    .unwrap();
    let _ = &mut support;
    let storage = world.env.storage(&operator).unwrap();
    wait_for("storage-csi to know project rival by name", || {
        let mut s = storage.clone();
        async move {
            s.list_migrations(storage_pb::ListMigrationsRequest {
                project: "rival".into(),
            })
            .await
            .map_err(|e| e.to_string())
        }
    })
    .await
    .unwrap();
    world
}

/// The cluster refusal of every service for a customer of `default` naming `cluster`.
async fn cluster_answers(env: &Env, cluster: &str) -> Vec<(&'static str, Result<(), Status>)> {
    let token = env.admin_token.clone();
    let api = env.api(&token).unwrap();
    let mut addons = env.addons(&token).unwrap();
    let mut support = env.support(&token).unwrap();
    let mut telemetry = env.telemetry(&token).unwrap();
    let mut firewall = env.firewall(&token).unwrap();
    let mut storage = env.storage(&token).unwrap();
    let mut remediations =
        RemediationsClient::with_interceptor(env.channel(), Bearer::new(&token).unwrap());
    vec![
        (
            "provisioner ListRemediations",
            remediations
                .list_remediations(pb::ListRemediationsRequest {
                    cluster: cluster.into(),
                    ..Default::default()
                })
                .await
                .map(drop),
        ),
        (
            "provisioner GetCluster",
            api.clusters
                .clone()
                .get_cluster(pb::GetClusterRequest {
                    project: String::new(),
                    cluster: cluster.into(),
                })
                .await
                .map(drop),
        ),
        (
            "addon-manager ListAddons",
            addons
                .list_addons(addons_pb::ListAddonsRequest {
                    cluster: cluster.into(),
                })
                .await
                .map(drop),
        ),
        (
            "support-triage ListTickets",
            support
                .list_tickets(support_pb::ListTicketsRequest {
                    cluster: cluster.into(),
                    ..Default::default()
                })
                .await
                .map(drop),
        ),
        (
            "support-triage FileTicket",
            support
                .file_ticket(support_pb::FileTicketRequest {
                    cluster: cluster.into(),
                    title: "nodes unreachable".into(),
                    description: "kubectl get nodes hangs".into(),
                    ..Default::default()
                })
                .await
                .map(drop),
        ),
        (
            "telemetry ListNodeHealth",
            telemetry
                .list_node_health(telemetry_pb::ListNodeHealthRequest {
                    project: String::new(),
                    cluster: cluster.into(),
                })
                .await
                .map(drop),
        ),
        (
            "telemetry ListFindings",
            telemetry
                .list_findings(telemetry_pb::ListFindingsRequest {
                    cluster: cluster.into(),
                    ..Default::default()
                })
                .await
                .map(drop),
        ),
        (
            "network-firewall ListFirewallRules",
            firewall
                .list_firewall_rules(firewall_pb::ListFirewallRulesRequest {
                    project: String::new(),
                    cluster: cluster.into(),
                })
                .await
                .map(drop),
        ),
        (
            "network-firewall ListLoadBalancers",
            firewall
                .list_load_balancers(firewall_pb::ListLoadBalancersRequest {
                    project: String::new(),
                    cluster: cluster.into(),
                })
                .await
                .map(drop),
        ),
        (
            "storage-csi ListVolumes",
            storage
                .list_volumes(storage_pb::ListVolumesRequest {
                    project: String::new(),
                    cluster: cluster.into(),
                })
                .await
                .map(drop),
        ),
        (
            "storage-csi ListSnapshots",
            storage
                .list_snapshots(storage_pb::ListSnapshotsRequest {
                    project: String::new(),
                    cluster: cluster.into(),
                })
                .await
                .map(drop),
        ),
        (
            "storage-csi ListStorageClasses",
            storage
                .list_storage_classes(storage_pb::ListStorageClassesRequest {
                    project: String::new(),
                    cluster: cluster.into(),
                })
                .await
                .map(drop),
        ),
    ]
}

/// The project answers of every service that takes a project, for `token` naming `project`.
async fn project_answers(
    env: &Env,
    token: &str,
    project: &str,
) -> Vec<(&'static str, Result<(), Status>)> {
    let api = env.api(token).unwrap();
    let mut support = env.support(token).unwrap();
    let mut notifications = NotificationsClient::with_interceptor(
        env.support_channel().unwrap(),
        Bearer::new(token).unwrap(),
    );
    let mut storage = env.storage(token).unwrap();
    vec![
        (
            "provisioner ListClusters",
            api.clusters
                .clone()
                .list_clusters(pb::ListClustersRequest {
                    project: project.into(),
                })
                .await
                .map(drop),
        ),
        (
            "support-triage ListTickets",
            support
                .list_tickets(support_pb::ListTicketsRequest {
                    project: project.into(),
                    ..Default::default()
                })
                .await
                .map(drop),
        ),
        (
            "support-triage ListWebhooks",
            notifications
                .list_webhooks(support_pb::ListWebhooksRequest {
                    project: project.into(),
                })
                .await
                .map(drop),
        ),
        (
            "support-triage ListDeliveries",
            notifications
                .list_deliveries(support_pb::ListDeliveriesRequest {
                    project: project.into(),
                    ..Default::default()
                })
                .await
                .map(drop),
        ),
        (
            "storage-csi GetNfs",
            storage
                .get_nfs(storage_pb::GetNfsRequest {
                    project: project.into(),
                })
                .await
                .map(drop),
        ),
        (
            "storage-csi ListMigrations",
            storage
                .list_migrations(storage_pb::ListMigrationsRequest {
                    project: project.into(),
                })
                .await
                .map(drop),
        ),
    ]
}

#[tokio::test]
async fn every_service_answers_foreign_and_missing_alike() {
    let w = world().await;
    let env = &w.env;

    // A customer naming another project's cluster by id: NOT_FOUND, worded exactly like a
    // cluster that does not exist — on every service.
    let foreign = cluster_answers(env, &w.foreign_cluster).await;
    let missing = cluster_answers(env, MISSING_CLUSTER).await;
    assert_alike(
        (&foreign, &w.foreign_cluster),
        (&missing, MISSING_CLUSTER),
        Code::NotFound,
        &w.rival_project,
    );
    // … and its own cluster, by id and by name, works everywhere.
    for cluster in [w.own_cluster.as_str(), "ml"] {
        for (name, r) in cluster_answers(env, cluster).await {
            r.unwrap_or_else(|e| panic!("{name} on own cluster {cluster}: {e:?}"));
        }
    }

    // A customer naming another project (by id): the same PERMISSION_DENIED as for a project
    // that does not exist, on every service that takes a project.
    let admin = env.admin_token.clone();
    let foreign = project_answers(env, &admin, &w.rival_project).await;
    let missing = project_answers(env, &admin, MISSING_PROJECT).await;
    for ((name, f), (_, m)) in foreign.iter().zip(&missing) {
        let f = f.as_ref().expect_err(name);
        let m = m.as_ref().expect_err(name);
        assert_eq!(f.code(), Code::PermissionDenied, "{name}: {f:?}");
        assert_eq!(
            shape(f, &w.rival_project),
            shape(m, MISSING_PROJECT),
            "{name}: a foreign project must answer like a missing one"
        );
    }
    // Own project by name and by id, for the customer; any project by name or id for the
    // operator; a missing project by name is NOT_FOUND for the operator everywhere.
    let operator = env.operator_token.clone();
    for (who, token, project) in [
        ("customer", admin.as_str(), "default"),
        ("customer", admin.as_str(), env.project.as_str()),
        ("operator", operator.as_str(), "rival"),
        ("operator", operator.as_str(), w.rival_project.as_str()),
    ] {
        for (name, r) in project_answers(env, token, project).await {
            r.unwrap_or_else(|e| panic!("{who}: {name} naming project {project}: {e:?}"));
        }
    }
    for (name, r) in project_answers(env, &operator, "no-such-project").await {
        let e = r.expect_err(name);
        assert_eq!(e.code(), Code::NotFound, "operator: {name}: {e:?}");
    }
    // Webhook mutations (the customer's): another project answers like a missing one.
    let mut notifications = NotificationsClient::with_interceptor(
        env.support_channel().unwrap(),
        Bearer::new(&admin).unwrap(),
    );
    for project in [w.rival_project.as_str(), MISSING_PROJECT] {
        let created = notifications
            .create_webhook(support_pb::CreateWebhookRequest {
                project: project.into(),
                url: "https://hooks.example.com/accord".into(),
                kinds: vec![],
            })
            .await
            .expect_err("create in a project not the caller's");
        assert_eq!(created.code(), Code::PermissionDenied, "{created:?}");
        let deleted = notifications
            .delete_webhook(support_pb::DeleteWebhookRequest {
                project: project.into(),
                id: "wh-01jabcdefghjkmnpqrstvwxyz0".into(),
            })
            .await
            .expect_err("delete in a project not the caller's");
        assert_eq!(deleted.code(), Code::PermissionDenied, "{deleted:?}");
    }
    // In its own project a webhook that does not exist is NOT_FOUND.
    let missing_hook = notifications
        .delete_webhook(support_pb::DeleteWebhookRequest {
            project: String::new(),
            id: "wh-01jabcdefghjkmnpqrstvwxyz0".into(),
        })
        .await
        .expect_err("no such webhook");
    assert_eq!(missing_hook.code(), Code::NotFound, "{missing_hook:?}");
    // A remediation id that names nothing is NOT_FOUND (another project's answers the same:
    // the provisioner's unit tests hold it, as no remediation exists without a finding here); a
    // malformed one is INVALID_ARGUMENT naming the field; an unknown state filter lists the
    // valid ones.
    let mut remediations =
        RemediationsClient::with_interceptor(env.channel(), Bearer::new(&admin).unwrap());
    let e = remediations
        .get_remediation(pb::GetRemediationRequest {
            project: String::new(),
            id: MISSING_REMEDIATION.into(),
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::NotFound, "{e:?}");
    assert_eq!(
        e.message(),
        format!("remediation {MISSING_REMEDIATION} not found")
    );
    let e = remediations
        .get_remediation(pb::GetRemediationRequest {
            project: String::new(),
            id: "cl-nope".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument, "{e:?}");
    assert!(e.message().starts_with("id: "), "{e:?}");
    let e = remediations
        .list_remediations(pb::ListRemediationsRequest {
            cluster: w.own_cluster.clone(),
            state: "broken".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument, "{e:?}");
    assert!(e.message().contains("pending-approval"), "{e:?}");
    // The operator names the project, by name, like for every provisioner read.
    let mut operator_remediations =
        RemediationsClient::with_interceptor(env.channel(), Bearer::new(&operator).unwrap());
    let listed = operator_remediations
        .list_remediations(pb::ListRemediationsRequest {
            project: "rival".into(),
            cluster: w.foreign_cluster.clone(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert!(listed.items.is_empty());

    // The operator reaches the rival's cluster by id on every service.
    let mut addons = env.addons(&operator).unwrap();
    addons
        .list_addons(addons_pb::ListAddonsRequest {
            cluster: w.foreign_cluster.clone(),
        })
        .await
        .unwrap();
}

/// storage-csi's answers to the customer of `default` naming volume `volume` of `cluster`.
async fn volume_answers(env: &Env, cluster: &str, volume: &str) -> Answers {
    let mut storage = env.storage(&env.admin_token).unwrap();
    vec![
        (
            "storage-csi GetVolume",
            storage
                .get_volume(storage_pb::GetVolumeRequest {
                    project: String::new(),
                    cluster: cluster.into(),
                    name: volume.into(),
                })
                .await
                .map(drop),
        ),
        (
            "storage-csi CreateVolume",
            storage
                .create_volume(storage_pb::CreateVolumeRequest {
                    cluster: cluster.into(),
                    name: format!("{volume}-copy"),
                    r#type: "disk".into(),
                    size: "10Gi".into(),
                    ..Default::default()
                })
                .await
                .map(drop),
        ),
        (
            "storage-csi ExpandVolume",
            storage
                .expand_volume(storage_pb::ExpandVolumeRequest {
                    cluster: cluster.into(),
                    name: volume.into(),
                    size: "2Ti".into(),
                    ..Default::default()
                })
                .await
                .map(drop),
        ),
        (
            "storage-csi DeleteVolume",
            storage
                .delete_volume(storage_pb::DeleteVolumeRequest {
                    cluster: cluster.into(),
                    name: volume.into(),
                    ..Default::default()
                })
                .await
                .map(drop),
        ),
        (
            "storage-csi CreateSnapshot",
            storage
                .create_snapshot(storage_pb::CreateSnapshotRequest {
                    cluster: cluster.into(),
                    volume: volume.into(),
                    name: format!("{volume}-snap"),
                    ..Default::default()
                })
                .await
                .map(drop),
        ),
    ]
}

/// storage-csi's answers to the customer of `default` naming `migration` (an id or a name).
async fn migration_answers(env: &Env, migration: &str) -> Answers {
    let mut storage = env.storage(&env.admin_token).unwrap();
    let request = || storage_pb::MigrationRequest {
        project: String::new(),
        migration: migration.into(),
    };
    vec![
        (
            "storage-csi GetMigration",
            storage.get_migration(request()).await.map(drop),
        ),
        (
            "storage-csi RunMigration",
            storage.run_migration(request()).await.map(drop),
        ),
        (
            "storage-csi RollbackMigration",
            storage.rollback_migration(request()).await.map(drop),
        ),
    ]
}

#[tokio::test]
async fn another_projects_volumes_and_migrations_answer_like_missing_ones() {
    let w = world().await;
    let env = &w.env;
    let operator = env.operator_token.clone();
    // Rival (whose shared filesystems the provider enabled, mounted over VirtioFS) has a
    // VirtioFS volume and a planned migration of it to NFS.
    env.storage(&operator)
        .unwrap()
        .enable_nfs(storage_pb::SetNfsRequest {
            project: w.rival_project.clone(),
            reason: "scoping test".into(),
            mount: "virtiofs".into(),
        })
        .await
        .unwrap();
    let mut rival = env.storage(&w.rival_token).unwrap();
    rival
        .create_volume(storage_pb::CreateVolumeRequest {
            cluster: w.foreign_cluster.clone(),
            name: "datasets".into(),
            r#type: "shared".into(),
            size: "1Ti".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    wait_for("rival's volume to be available", || {
        let mut rival = rival.clone();
        let cluster = w.foreign_cluster.clone();
        async move {
            let v = rival
                .get_volume(storage_pb::GetVolumeRequest {
                    project: String::new(),
                    cluster,
                    name: "datasets".into(),
                })
                .await
                .map_err(|e| e.to_string())?
                .into_inner();
            if v.state == "available" {
                Ok(())
            } else {
                Err(format!("{} ({})", v.state, v.last_failure))
            }
        }
    })
    .await
    .unwrap();
    let planned = rival
        .plan_migration(storage_pb::PlanMigrationRequest {
            name: "rival-move".into(),
            volumes: vec!["datasets".into()],
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(planned.state, "planned", "{planned:?}");

    // The customer of `default` naming rival's volume in rival's cluster: NOT_FOUND, worded
    // like the same volume name in a cluster that does not exist.
    let foreign = volume_answers(env, &w.foreign_cluster, "datasets").await;
    let missing = volume_answers(env, MISSING_CLUSTER, "datasets").await;
    assert_alike(
        (&foreign, &w.foreign_cluster),
        (&missing, MISSING_CLUSTER),
        Code::NotFound,
        &w.rival_project,
    );
    // … and rival's migration, by id and by name: NOT_FOUND like one that does not exist.
    for (foreign_named, missing_named) in [
        (planned.id.as_str(), MISSING_MIGRATION),
        ("rival-move", "absent-move"),
    ] {
        let foreign = migration_answers(env, foreign_named).await;
        let missing = migration_answers(env, missing_named).await;
        assert_alike(
            (&foreign, foreign_named),
            (&missing, missing_named),
            Code::NotFound,
            &w.rival_project,
        );
    }
    // Nothing of rival's moved: its volume is as it was, its migration still only planned, and
    // no volume was created in its cluster.
    let volumes = rival
        .list_volumes(storage_pb::ListVolumesRequest {
            project: String::new(),
            cluster: w.foreign_cluster.clone(),
        })
        .await
        .unwrap()
        .into_inner()
        .volumes;
    let states: Vec<(&str, &str, &str)> = volumes
        .iter()
        .map(|v| (v.name.as_str(), v.state.as_str(), v.size.as_str()))
        .collect();
    assert_eq!(states, [("datasets", "available", "1Ti")]);
    let migration = rival
        .get_migration(storage_pb::MigrationRequest {
            project: String::new(),
            migration: "rival-move".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(migration.state, "planned", "{migration:?}");
    // The operator reaches both by id.
    let mut provider = env.storage(&operator).unwrap();
    provider
        .get_volume(storage_pb::GetVolumeRequest {
            project: String::new(),
            cluster: w.foreign_cluster.clone(),
            name: "datasets".into(),
        })
        .await
        .unwrap();
    provider
        .get_migration(storage_pb::MigrationRequest {
            project: w.rival_project.clone(),
            migration: planned.id.clone(),
        })
        .await
        .unwrap();

    // The NFS gate is the provider's: a customer enabling it, in its own project or another,
    // is PERMISSION_DENIED naming the layer and its owner, the same words either way.
    let mut customer = env.storage(&env.admin_token).unwrap();
    let mut refusals = Vec::new();
    for project in [String::new(), w.rival_project.clone()] {
        let e = customer
            .enable_nfs(storage_pb::SetNfsRequest {
                project,
                reason: "please".into(),
                ..Default::default()
            })
            .await
            .unwrap_err();
        assert_eq!(e.code(), Code::PermissionDenied, "{e:?}");
        assert!(e.message().contains("Storage layer"), "{e:?}");
        assert!(e.message().contains("owned by the provider"), "{e:?}");
        refusals.push(e.message().to_owned());
    }
    assert_eq!(refusals[0], refusals[1]);
    let gate = provider
        .get_nfs(storage_pb::GetNfsRequest {
            project: env.project.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert!(
        !gate.enabled,
        "a customer's refused call enabled NFS: {gate:?}"
    );
}

/// The channel of each port, by what it serves.
fn ports(env: &Env) -> Vec<(&'static str, Channel)> {
    vec![
        ("provisioner", env.channel()),
        ("addon-manager", env.addons_channel().unwrap()),
        ("support-triage", env.support_channel().unwrap()),
        ("telemetry", env.telemetry_channel().unwrap()),
        ("network-firewall", env.firewall_channel().unwrap()),
        ("storage-csi", env.storage_channel().unwrap()),
    ]
}

#[tokio::test]
async fn unserved_methods_are_unimplemented_and_reflection_lists_only_the_port() {
    let w = world().await;
    let env = &w.env;
    for (port, channel) in ports(env) {
        // No credentials at all: a method this port does not serve is UNIMPLEMENTED.
        let calls: Vec<(&str, Result<(), Status>)> = vec![
            (
                "Support/ListTickets",
                SupportClient::new(channel.clone())
                    .list_tickets(support_pb::ListTicketsRequest::default())
                    .await
                    .map(drop),
            ),
            (
                "Notifications/ListWebhooks",
                NotificationsClient::new(channel.clone())
                    .list_webhooks(support_pb::ListWebhooksRequest::default())
                    .await
                    .map(drop),
            ),
            (
                "Addons/ListAvailableAddons",
                AddonsClient::new(channel.clone())
                    .list_available_addons(addons_pb::ListAvailableAddonsRequest {})
                    .await
                    .map(drop),
            ),
            (
                "Health/ListNodeHealth",
                TelemetryClient::new(channel.clone())
                    .list_node_health(telemetry_pb::ListNodeHealthRequest::default())
                    .await
                    .map(drop),
            ),
            (
                "Firewall/ListFirewallRules",
                FirewallClient::new(channel.clone())
                    .list_firewall_rules(firewall_pb::ListFirewallRulesRequest::default())
                    .await
                    .map(drop),
            ),
            (
                "Storage/GetNfs",
                StorageClient::new(channel.clone())
                    .get_nfs(storage_pb::GetNfsRequest::default())
                    .await
                    .map(drop),
            ),
            (
                "Projects/WhoAmI",
                pb::projects_client::ProjectsClient::new(channel.clone())
                    .who_am_i(pb::WhoAmIRequest {})
                    .await
                    .map(drop),
            ),
        ];
        for (method, r) in calls {
            let served = match port {
                "provisioner" => method.starts_with("Projects/"),
                "addon-manager" => method.starts_with("Addons/"),
                "telemetry" => method.starts_with("Health/"),
                "network-firewall" => method.starts_with("Firewall/"),
                "storage-csi" => method.starts_with("Storage/"),
                _ => method.starts_with("Support/") || method.starts_with("Notifications/"),
            };
            let e = r.expect_err(method);
            let want = if served {
                Code::Unauthenticated
            } else {
                Code::Unimplemented
            };
            assert_eq!(e.code(), want, "{port}: {method}: {e:?}");
        }

        // Reflection lists what this port serves, health and reflection — nothing else.
        let mut client = ServerReflectionClient::new(channel);
        let request = ServerReflectionRequest {
            host: String::new(),
            message_request: Some(MessageRequest::ListServices(String::new())),
        };
        let mut replies = client
            .server_reflection_info(futures::stream::iter([request]))
            .await
            .unwrap()
            .into_inner();
        let reply = replies.next().await.unwrap().unwrap();
        let Some(MessageResponse::ListServicesResponse(list)) = reply.message_response else {
            panic!("{port}: not a service list: {reply:?}");
        };
        let mut listed: Vec<String> = list.service.into_iter().map(|s| s.name).collect();
        listed.sort();
        let mut want: Vec<&str> = match port {
            "provisioner" => vec![
                "accord.provisioner.v1.Clusters",
                "accord.provisioner.v1.NodePools",
                "accord.provisioner.v1.Nodes",
                "accord.provisioner.v1.Projects",
                "accord.provisioner.v1.Remediations",
            ],
            "addon-manager" => vec!["accord.addons.v1.Addons", "accord.addons.v1.Plugins"],
            "telemetry" => vec!["accord.telemetry.v1.Health"],
            "network-firewall" => vec!["accord.firewall.v1.Firewall"],
            "storage-csi" => vec!["accord.storage.v1.Storage"],
            _ => vec![
                "accord.support.v1.Notifications",
                "accord.support.v1.Support",
            ],
        };
        want.extend([
            "grpc.health.v1.Health",
            "grpc.reflection.v1.ServerReflection",
            "grpc.reflection.v1alpha.ServerReflection",
        ]);
        want.sort_unstable();
        assert_eq!(listed, want, "{port}: reflection");
    }
}
