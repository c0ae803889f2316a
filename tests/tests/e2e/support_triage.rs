//! support-triage end to end: a ticket about an add-on the customer modified comes back
//! Customer-Owned citing the change (live ownership from the addon-manager's events); a
//! control-plane replica taken down opens a Supported incident by itself and recovery closes
//! it; overrides are the provider's and keep who and why. A ticket about a cluster created a
//! moment earlier is never a false `NOT_FOUND` (support-triage waits briefly for its read
//! model), and every request is bounded before any work (the 40,000-component probe is refused
//! at once).

use std::time::{Duration, Instant};

use accord_core::limits::{
    MAX_DESCRIPTION_BYTES, MAX_ITEMS, MAX_SHORT_TEXT_BYTES, MAX_TITLE_BYTES,
};
use accord_e2e::{Env, cluster_id, cluster_request, kind, wait_for};
use accord_proto::addons::v1 as apb;
use accord_proto::support::v1 as spb;
use serde_json::json;
use tonic::Code;

fn category(t: &spb::Ticket) -> spb::Category {
    spb::Category::try_from(t.category).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tickets_use_live_addon_ownership_and_control_plane_failures_open_incidents() {
    let mut env = Env::start().await.unwrap();
    env.start_addon_manager().await.unwrap();
    let desk = env.start_support_triage().await.unwrap();
    let admin = env.admin().unwrap();
    let addons = env.addons(&env.admin_token).unwrap();
    let support = env.support(&env.admin_token).unwrap();
    let operator = env.support(&env.operator_token).unwrap();

    let mut req = cluster_request("train", "");
    req.spec.as_mut().unwrap().addons = vec!["nvidia-gpu-operator".into()];
    let created = admin
        .clusters
        .clone()
        .create_cluster(req)
        .await
        .unwrap()
        .into_inner();
    let id = cluster_id(&created).unwrap();
    let cluster: accord_core::ids::ClusterId = id.parse().unwrap();
    env.wait_cluster(&admin, &id, "cluster running", accord_e2e::is_running)
        .await
        .unwrap();

    // The same question before and after the customer significantly modifies the operator.
    let file = |title: &str| spb::FileTicketRequest {
        cluster: "train".into(),
        title: title.into(),
        description:
            "gpu-operator pods restart and nvidia-smi is missing on the nodes since this morning"
                .into(),
        ..Default::default()
    };
    wait_for("support-triage to see the GPU operator", || async {
        let view = desk.reader().cluster(cluster).map_err(|e| e.to_string())?;
        match view {
            Some(v) if v.value.addons.contains_key("nvidia-gpu-operator") => Ok(()),
            other => Err(format!("{other:?}")),
        }
    })
    .await
    .unwrap();
    let before = support
        .clone()
        .file_ticket(file("GPU operator broken on train"))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(category(&before), spb::Category::Supported, "{before:?}");
    assert!(
        before.sla_due.is_some(),
        "Supported tickets carry an SLA due time"
    );

    addons
        .clone()
        .update_addon_config(apb::UpdateAddonConfigRequest {
            cluster: id.clone(),
            name: "nvidia-gpu-operator".into(),
            config: json!({"driver": {"enabled": false}}).to_string(),
            generation: 0,
        })
        .await
        .unwrap();
    wait_for(
        "support-triage to see the operator turn customer-owned",
        || async {
            let view = desk.reader().cluster(cluster).map_err(|e| e.to_string())?;
            let o = view.and_then(|v| {
                v.value
                    .addons
                    .get("nvidia-gpu-operator")
                    .map(|a| a.ownership)
            });
            if o == Some(accord_core::addon::AddonOwnership::CustomerOwned) {
                Ok(())
            } else {
                Err(format!("{o:?}"))
            }
        },
    )
    .await
    .unwrap();
    let after = support
        .clone()
        .file_ticket(file("GPU operator broken on train again"))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(category(&after), spb::Category::CustomerOwned, "{after:?}");
    let c = after.classification.clone().unwrap();
    let rule = c.rule.unwrap();
    assert!(
        rule.text.contains("nvidia-gpu-operator is customer-owned")
            && rule.text.contains("driver.enabled"),
        "the verdict cites the change: {}",
        rule.text
    );
    assert!(
        !c.checklist.is_empty(),
        "Customer-Owned answers say what to check"
    );
    assert!(after.sla_due.is_none());
    assert!(
        after
            .addons
            .iter()
            .any(|a| a.addon == "nvidia-gpu-operator" && a.ownership == "customer-owned")
    );

    // A replica down: a Supported incident, opened by the platform, with its evidence.
    let reply = env
        .inject_fault(
            json!({"kind": "replica-down", "cluster": id})
                .to_string()
                .as_bytes(),
        )
        .await
        .unwrap();
    assert!(reply.ok, "{reply:?}");
    let incident = wait_for("a control-plane incident", || async {
        let list = operator
            .clone()
            .list_tickets(spb::ListTicketsRequest {
                cluster: id.clone(),
                state: "open".into(),
                ..Default::default()
            })
            .await
            .map_err(|s| s.to_string())?
            .into_inner()
            .tickets;
        list.into_iter()
            .find(|t| t.origin == "platform")
            .ok_or_else(|| "no platform ticket yet".to_owned())
    })
    .await
    .unwrap();
    assert_eq!(
        category(&incident),
        spb::Category::Supported,
        "{incident:?}"
    );
    assert!(
        incident.title.contains("Control plane"),
        "{}",
        incident.title
    );
    assert!(!incident.evidence.is_empty());
    assert!(incident.sla_due.is_some());
    assert!(incident.origin_detail.contains("condition-changed"));
    // The customer sees it in their project too.
    let theirs = support
        .clone()
        .get_ticket(spb::GetTicketRequest {
            ticket: incident.id.clone(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(theirs.id, incident.id);
    env.wait_event("ticket.opened for the incident", |e| {
        kind(e) == "ticket.opened" && e.data["ticket"]["id"] == incident.id.as_str()
    })
    .await
    .unwrap();

    // Recovery closes it.
    env.inject_fault(
        json!({"kind": "replica-up", "cluster": id})
            .to_string()
            .as_bytes(),
    )
    .await
    .unwrap();
    wait_for("the incident closed on recovery", || async {
        let t = operator
            .clone()
            .get_ticket(spb::GetTicketRequest {
                ticket: incident.id.clone(),
                ..Default::default()
            })
            .await
            .map_err(|s| s.to_string())?
            .into_inner();
        if t.state == "closed" && t.resolution.starts_with("recovered") {
            Ok(())
        } else {
            Err(format!("{} {}", t.state, t.resolution))
        }
    })
    .await
    .unwrap();

    // Overrides are the provider's, and keep who and why.
    let denied = support
        .clone()
        .reclassify_ticket(spb::ReclassifyTicketRequest {
            ticket: after.id.clone(),
            category: spb::Category::Supported as i32,
            reason: "please".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(denied.code(), Code::PermissionDenied);
    let overridden = operator
        .clone()
        .reclassify_ticket(spb::ReclassifyTicketRequest {
            ticket: after.id.clone(),
            category: spb::Category::BestEffort as i32,
            reason: "we advise on the driver settings as a courtesy".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(category(&overridden), spb::Category::BestEffort);
    let o = overridden.r#override.unwrap();
    assert_eq!(o.reason, "we advise on the driver settings as a courtesy");
    assert!(!o.by.is_empty());
    assert_eq!(
        spb::Category::try_from(overridden.classification.unwrap().category).unwrap(),
        spb::Category::CustomerOwned,
        "the machine verdict is kept"
    );
    let missing_reason = operator
        .clone()
        .reclassify_ticket(spb::ReclassifyTicketRequest {
            ticket: after.id.clone(),
            category: spb::Category::Supported as i32,
            reason: " ".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(missing_reason.code(), Code::InvalidArgument);

    // Filtering and bad input.
    let owned = support
        .clone()
        .list_tickets(spb::ListTicketsRequest {
            category: spb::Category::BestEffort as i32,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .tickets;
    assert_eq!(owned.len(), 1);
    for (req, field) in [
        (
            spb::FileTicketRequest {
                title: " ".into(),
                ..Default::default()
            },
            "title",
        ),
        (
            spb::FileTicketRequest {
                title: "x".into(),
                cluster: "no-such-cluster".into(),
                ..Default::default()
            },
            "cluster",
        ),
    ] {
        let err = support.clone().file_ticket(req).await.unwrap_err();
        assert!(
            matches!(err.code(), Code::InvalidArgument | Code::NotFound),
            "{field}: {err:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ticket_about_a_cluster_created_a_moment_earlier_is_never_not_found() {
    let mut env = Env::start().await.unwrap();
    let desk = env.start_support_triage().await.unwrap();
    let admin = env.admin().unwrap();
    let support = env.support(&env.admin_token).unwrap();
    let operator = env.support(&env.operator_token).unwrap();

    // Create a cluster and at once file a ticket naming it (by name, then by id): the read model
    // learns it from the provisioner's events a moment later; the answer must not be NOT_FOUND.
    let mut unseen_at_filing = 0;
    for i in 0..4 {
        let name = format!("fresh-{i}");
        let created = admin
            .clusters
            .clone()
            .create_cluster(cluster_request(&name, ""))
            .await
            .unwrap()
            .into_inner();
        let id = cluster_id(&created).unwrap();
        let cluster: accord_core::ids::ClusterId = id.parse().unwrap();
        if desk.reader().cluster(cluster).unwrap().is_none() {
            unseen_at_filing += 1;
        }
        let named = if i % 2 == 0 { name.clone() } else { id.clone() };
        let filed = support
            .clone()
            .file_ticket(spb::FileTicketRequest {
                cluster: named.clone(),
                title: "pods stuck in ContainerCreating".into(),
                description: "new pods on the fresh cluster never start".into(),
                ..Default::default()
            })
            .await
            .unwrap_or_else(|s| panic!("filing about {named} right after creating it: {s:?}"))
            .into_inner();
        assert_eq!(filed.cluster_id, id);
        assert_eq!(filed.cluster_name, name);
        // Listing by the cluster right after creating it answers too (the operator by id).
        operator
            .clone()
            .list_tickets(spb::ListTicketsRequest {
                cluster: id.clone(),
                ..Default::default()
            })
            .await
            .unwrap_or_else(|s| panic!("listing {id}: {s:?}"));
    }
    eprintln!("{unseen_at_filing} of 4 clusters were not yet in the read model when filed about");

    // A cluster that does not exist is still NOT_FOUND, after a bounded wait.
    let started = Instant::now();
    let err = support
        .clone()
        .file_ticket(spb::FileTicketRequest {
            cluster: "never-created".into(),
            title: "x".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::NotFound, "{err:?}");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_tickets_are_refused_at_once_naming_the_field() {
    let mut env = Env::start().await.unwrap();
    env.start_support_triage().await.unwrap();
    let support = env.support(&env.admin_token).unwrap();
    let base = spb::FileTicketRequest {
        title: "nodes unreachable".into(),
        description: "kubectl get nodes hangs".into(),
        ..Default::default()
    };

    // The probe: 40,000 distinct components (0.44 MB). Refused at once — over the whole-request
    // limit (RESOURCE_EXHAUSTED) or over the list limit (INVALID_ARGUMENT) — never a stall.
    let started = Instant::now();
    let err = support
        .clone()
        .file_ticket(spb::FileTicketRequest {
            customer_components: (0..40_000).map(|i| format!("comp-{i:05}")).collect(),
            ..base.clone()
        })
        .await
        .unwrap_err();
    assert!(
        matches!(err.code(), Code::InvalidArgument | Code::ResourceExhausted),
        "{err:?}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );

    // Under the whole-request limit, one over each field's limit: INVALID_ARGUMENT naming it.
    let over = |n: usize| "x".repeat(n + 1);
    for (field, req) in [
        (
            "customer_components",
            spb::FileTicketRequest {
                customer_components: (0..=MAX_ITEMS).map(|i| format!("c{i}")).collect(),
                ..base.clone()
            },
        ),
        (
            "customer_components[0]",
            spb::FileTicketRequest {
                customer_components: vec![over(MAX_SHORT_TEXT_BYTES)],
                ..base.clone()
            },
        ),
        (
            "title",
            spb::FileTicketRequest {
                title: over(MAX_TITLE_BYTES),
                ..base.clone()
            },
        ),
        (
            "description",
            spb::FileTicketRequest {
                description: over(MAX_DESCRIPTION_BYTES),
                ..base.clone()
            },
        ),
    ] {
        let err = support.clone().file_ticket(req).await.unwrap_err();
        assert_eq!(err.code(), Code::InvalidArgument, "{field}: {err:?}");
        assert!(
            err.message().starts_with(&format!("{field}: ")),
            "{field}: {}",
            err.message()
        );
    }

    // At the limits: filed.
    let t = support
        .clone()
        .file_ticket(spb::FileTicketRequest {
            title: "t".repeat(MAX_TITLE_BYTES),
            description: "d".repeat(MAX_DESCRIPTION_BYTES),
            component: "c".repeat(MAX_SHORT_TEXT_BYTES),
            customer_components: (0..MAX_ITEMS)
                .map(|i| format!("{i:04}{}", "k".repeat(MAX_SHORT_TEXT_BYTES - 4)))
                .collect(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(t.customer_components.len(), MAX_ITEMS);
}
