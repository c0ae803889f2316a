//! support-triage's gRPC edge driven directly (a temporary store, no server, no bus): every
//! request bounded before any work, the `project` field applied the same way in every RPC, and
//! clusters the read model has not caught up with waited for instead of a false `NOT_FOUND`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use accord_core::{
    iam::{Principal, Role},
    ids::{ApiKeyId, ClusterId, ProjectId, UserId},
    limits::{
        MAX_DESCRIPTION_BYTES, MAX_ITEMS, MAX_REF_BYTES, MAX_SHORT_TEXT_BYTES, MAX_TITLE_BYTES,
    },
};
use accord_proto::support::v1::{self as pb, support_server::Support};
use accord_runtime::{
    directory::{PROJECT_NAMES, PROJECTS},
    grpc::Caller,
    metrics::Metrics,
    scope::ProjectEntry,
};
use accord_store::{Commit, Expect, Store};
use accord_support_triage::{
    RuleSet, SupportDesk,
    catch_up::CatchUp,
    grpc::Api,
    rules::RULES,
    trees::CLUSTERS,
    view::{ClusterView, ticket_context},
};
use tonic::{Code, Request, Status};

/// Two projects with a cluster each (`own` is the customer's).
struct World {
    api: Api,
    store: Store,
    own: ProjectId,
    rival: ProjectId,
    own_cluster: ClusterView,
    rival_cluster: ClusterView,
}

fn view(name: &str, project: ProjectId) -> ClusterView {
    ClusterView {
        id: ClusterId::generate(),
        name: name.into(),
        project,
        addons: Default::default(),
    }
}

async fn put_project(store: &Store, id: ProjectId, name: &str) {
    let mut c = Commit::new();
    let entry = ProjectEntry {
        id,
        name: name.into(),
    };
    c.push_put_in(PROJECTS, &id.to_string(), &entry, Expect::Any)
        .unwrap();
    c.push_put_in(PROJECT_NAMES, name, &id, Expect::Any)
        .unwrap();
    store.commit(c).await.unwrap();
}

/// What the read model's consumer would write when it learns `v`.
async fn put_cluster(store: &Store, v: &ClusterView) {
    let mut c = Commit::new();
    c.push_put_in(CLUSTERS, &v.id.to_string(), v, Expect::Any)
        .unwrap();
    store.commit(c).await.unwrap();
}

async fn world(catch_up: CatchUp) -> World {
    let store = Store::temporary().unwrap();
    let desk = SupportDesk::with_catch_up(
        store.clone(),
        Arc::new(RuleSet::shipped().unwrap()),
        &Metrics::new("support-triage"),
        catch_up,
    );
    let (own, rival) = (ProjectId::generate(), ProjectId::generate());
    put_project(&store, own, "default").await;
    put_project(&store, rival, "rival").await;
    let own_cluster = view("ml", own);
    let rival_cluster = view("ml", rival);
    put_cluster(&store, &own_cluster).await;
    put_cluster(&store, &rival_cluster).await;
    World {
        api: Api::new(desk),
        store,
        own,
        rival,
        own_cluster,
        rival_cluster,
    }
}

fn customer(project: ProjectId) -> Principal {
    Principal::Customer {
        user: UserId::generate(),
        user_name: "ada@example.com".into(),
        project,
        role: Role::Admin,
        key: ApiKeyId::generate(),
    }
}

fn operator() -> Principal {
    Principal::ProviderOperator {
        name: "support-desk".into(),
        key: ApiKeyId::generate(),
    }
}

/// `msg` as the auth layer hands it to the service: with its caller and the method's rule.
fn call<T>(who: &Principal, method: &str, msg: T) -> Request<T> {
    let rule = *RULES
        .iter()
        .find(|r| r.method.ends_with(&format!("/{method}")))
        .unwrap();
    let mut req = Request::new(msg);
    req.extensions_mut().insert(Caller {
        principal: who.clone(),
        rule,
    });
    req
}

fn filing(cluster: &str) -> pb::FileTicketRequest {
    pb::FileTicketRequest {
        cluster: cluster.into(),
        title: "nodes unreachable".into(),
        description: "kubectl get nodes hangs since the upgrade".into(),
        ..Default::default()
    }
}

async fn file(w: &World, who: &Principal, r: pb::FileTicketRequest) -> Result<pb::Ticket, Status> {
    w.api
        .file_ticket(call(who, "FileTicket", r))
        .await
        .map(|r| r.into_inner())
}

fn code<T: std::fmt::Debug>(r: Result<T, Status>) -> (Code, String) {
    let s = r.expect_err("refused");
    (s.code(), s.message().to_owned())
}

// ---- item 3: every string and repeated field bounded at the edge, before any work ----------

/// One RPC call with one field over its limit.
type Case = (&'static str, &'static str, Result<(), Status>);

async fn oversized_cases(w: &World) -> Vec<Case> {
    let (cust, op) = (customer(w.own), operator());
    let over = |n: usize| "x".repeat(n + 1);
    let ticket = "tk-".to_owned() + &"0".repeat(MAX_REF_BYTES);
    let file = |r: pb::FileTicketRequest| {
        let api = w.api.clone();
        let req = call(&cust, "FileTicket", r);
        async move { api.file_ticket(req).await.map(drop) }
    };
    let base = filing("ml");
    let mut cases: Vec<Case> = vec![
        (
            "FileTicket",
            "project",
            file(pb::FileTicketRequest {
                project: over(MAX_REF_BYTES),
                ..base.clone()
            })
            .await,
        ),
        (
            "FileTicket",
            "cluster",
            file(pb::FileTicketRequest {
                cluster: over(MAX_REF_BYTES),
                ..base.clone()
            })
            .await,
        ),
        (
            "FileTicket",
            "title",
            file(pb::FileTicketRequest {
                title: over(MAX_TITLE_BYTES),
                ..base.clone()
            })
            .await,
        ),
        (
            "FileTicket",
            "description",
            file(pb::FileTicketRequest {
                description: over(MAX_DESCRIPTION_BYTES),
                ..base.clone()
            })
            .await,
        ),
        (
            "FileTicket",
            "component",
            file(pb::FileTicketRequest {
                component: over(MAX_SHORT_TEXT_BYTES),
                ..base.clone()
            })
            .await,
        ),
        (
            "FileTicket",
            "customer_components",
            file(pb::FileTicketRequest {
                customer_components: (0..=MAX_ITEMS).map(|i| format!("c{i}")).collect(),
                ..base.clone()
            })
            .await,
        ),
        (
            "FileTicket",
            "customer_components[1]",
            file(pb::FileTicketRequest {
                customer_components: vec!["istio".into(), over(MAX_SHORT_TEXT_BYTES)],
                ..base.clone()
            })
            .await,
        ),
    ];
    let get = |project: String, ticket: String| {
        let req = call(&cust, "GetTicket", pb::GetTicketRequest { project, ticket });
        async { w.api.get_ticket(req).await.map(drop) }
    };
    cases.push((
        "GetTicket",
        "project",
        get(over(MAX_REF_BYTES), String::new()).await,
    ));
    cases.push((
        "GetTicket",
        "ticket",
        get(String::new(), ticket.clone()).await,
    ));
    let list = |r: pb::ListTicketsRequest| {
        let req = call(&cust, "ListTickets", r);
        async { w.api.list_tickets(req).await.map(drop) }
    };
    for (field, r) in [
        (
            "project",
            pb::ListTicketsRequest {
                project: over(MAX_REF_BYTES),
                ..Default::default()
            },
        ),
        (
            "cluster",
            pb::ListTicketsRequest {
                cluster: over(MAX_REF_BYTES),
                ..Default::default()
            },
        ),
        (
            "state",
            pb::ListTicketsRequest {
                state: over(MAX_REF_BYTES),
                ..Default::default()
            },
        ),
    ] {
        cases.push(("ListTickets", field, list(r).await));
    }
    let reclassify = |project: String, ticket: String, reason: String| {
        let req = call(
            &op,
            "ReclassifyTicket",
            pb::ReclassifyTicketRequest {
                project,
                ticket,
                category: pb::Category::Supported as i32,
                reason,
            },
        );
        async { w.api.reclassify_ticket(req).await.map(drop) }
    };
    let why = || "the operator is ours".to_owned();
    let id = || "tk-01jd0000000000000000000000".to_owned();
    cases.push((
        "ReclassifyTicket",
        "project",
        reclassify(over(MAX_REF_BYTES), id(), why()).await,
    ));
    cases.push((
        "ReclassifyTicket",
        "ticket",
        reclassify(String::new(), ticket.clone(), why()).await,
    ));
    cases.push((
        "ReclassifyTicket",
        "reason",
        reclassify(String::new(), id(), over(MAX_SHORT_TEXT_BYTES)).await,
    ));
    let close = |project: String, ticket: String, resolution: String| {
        let req = call(
            &op,
            "CloseTicket",
            pb::CloseTicketRequest {
                project,
                ticket,
                resolution,
            },
        );
        async { w.api.close_ticket(req).await.map(drop) }
    };
    cases.push((
        "CloseTicket",
        "project",
        close(over(MAX_REF_BYTES), id(), why()).await,
    ));
    cases.push((
        "CloseTicket",
        "ticket",
        close(String::new(), ticket, why()).await,
    ));
    cases.push((
        "CloseTicket",
        "resolution",
        close(String::new(), id(), over(MAX_SHORT_TEXT_BYTES)).await,
    ));
    cases
}

#[tokio::test]
async fn every_rpc_refuses_each_oversized_field_naming_it_and_the_limit() {
    let w = world(CatchUp::default()).await;
    let started = Instant::now();
    let cases = oversized_cases(&w).await;
    // Refused before any lookup: nothing waited for the read model.
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(cases.len(), 18);
    for (rpc, field, r) in cases {
        let (code, message) = code(r);
        assert_eq!(code, Code::InvalidArgument, "{rpc} {field}: {message}");
        assert!(
            message.starts_with(&format!("{field}: ")) && message.contains("at most"),
            "{rpc} names {field} and its limit: {message}"
        );
        assert!(
            message.len() < 200,
            "{rpc} {field} echoes the value: {message}"
        );
    }
}

#[tokio::test]
async fn a_ticket_of_maximum_size_is_filed_and_forty_thousand_components_are_refused_at_once() {
    let w = world(CatchUp::default()).await;
    let cust = customer(w.own);
    // Every field at its limit: accepted.
    let max = pb::FileTicketRequest {
        project: "default".into(),
        cluster: w.own_cluster.id.to_string(),
        title: "t".repeat(MAX_TITLE_BYTES),
        description: "etcd is slow and the api server times out "
            .repeat(MAX_DESCRIPTION_BYTES / 42)
            + &"x".repeat(MAX_DESCRIPTION_BYTES % 42),
        component: "c".repeat(MAX_SHORT_TEXT_BYTES),
        customer_components: (0..MAX_ITEMS)
            .map(|i| format!("{i:04}{}", "k".repeat(MAX_SHORT_TEXT_BYTES - 4)))
            .collect(),
    };
    assert_eq!(max.description.len(), MAX_DESCRIPTION_BYTES);
    let started = Instant::now();
    let t = file(&w, &cust, max).await.unwrap();
    eprintln!("maximum-size ticket filed in {:?}", started.elapsed());
    assert_eq!(t.customer_components.len(), MAX_ITEMS);
    assert_eq!(t.cluster_id, w.own_cluster.id.to_string());

    // The probe's request (40,000 distinct names, 0.44 MB): refused before any work, naming the
    // field, in no time.
    let probe = pb::FileTicketRequest {
        customer_components: (0..40_000).map(|i| format!("comp-{i:05}")).collect(),
        ..filing("ml")
    };
    let started = Instant::now();
    let (c, message) = code(file(&w, &cust, probe).await);
    assert_eq!(c, Code::InvalidArgument, "{message}");
    assert!(
        message.contains("customer_components: has 40000 items"),
        "{message}"
    );
    assert!(
        started.elapsed() < Duration::from_millis(500),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn de_duplicating_components_is_linear() {
    // Whatever reaches it: 100,000 distinct names took minutes when each was looked up in the
    // list built so far.
    let names: Vec<String> = (0..100_000).map(|i| format!("component-{i:06}")).collect();
    let started = Instant::now();
    let ctx = ticket_context(None, &names);
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(ctx.customer_components.len(), names.len());
    let dup = [" istio ", "istio", "", "kyverno", "istio"].map(String::from);
    assert_eq!(
        ticket_context(None, &dup).customer_components,
        ["istio", "kyverno"]
    );
}

// ---- item 8: the `project` field is never ignored --------------------------------------------

#[tokio::test]
async fn a_mismatched_project_is_refused_in_every_rpc() {
    let w = world(CatchUp::new(
        Duration::from_millis(200),
        Duration::from_millis(20),
    ))
    .await;
    let (cust, op) = (customer(w.own), operator());
    let own_ticket = file(&w, &cust, filing("ml")).await.unwrap();
    let rival_ticket = file(&w, &customer(w.rival), filing("ml")).await.unwrap();

    // A customer naming another project, by id or by name: the scoping rule's
    // PERMISSION_DENIED in every RPC they may call — also for their own ticket or cluster.
    for foreign in [w.rival.to_string(), "rival".to_owned()] {
        let answers = [
            (
                "FileTicket",
                file(
                    &w,
                    &cust,
                    pb::FileTicketRequest {
                        project: foreign.clone(),
                        ..filing("ml")
                    },
                )
                .await
                .map(drop),
            ),
            (
                "ListTickets",
                w.api
                    .list_tickets(call(
                        &cust,
                        "ListTickets",
                        pb::ListTicketsRequest {
                            project: foreign.clone(),
                            ..Default::default()
                        },
                    ))
                    .await
                    .map(drop),
            ),
            (
                "GetTicket",
                w.api
                    .get_ticket(call(
                        &cust,
                        "GetTicket",
                        pb::GetTicketRequest {
                            project: foreign.clone(),
                            ticket: own_ticket.id.clone(),
                        },
                    ))
                    .await
                    .map(drop),
            ),
        ];
        for (rpc, r) in answers {
            let (c, m) = code(r);
            assert_eq!(c, Code::PermissionDenied, "{rpc} naming {foreign}: {m}");
        }
    }

    // The operator naming project `default` and the rival's cluster or ticket: NOT_FOUND, as
    // something outside the named project — worded like a missing one.
    let rival_cluster = w.rival_cluster.id.to_string();
    let missing_cluster = ClusterId::generate().to_string();
    let cluster_answers = |cluster: String| {
        let (api, op) = (w.api.clone(), op.clone());
        async move {
            let filed = api
                .file_ticket(call(
                    &op,
                    "FileTicket",
                    pb::FileTicketRequest {
                        project: "default".into(),
                        ..filing(&cluster)
                    },
                ))
                .await
                .map(drop);
            let listed = api
                .list_tickets(call(
                    &op,
                    "ListTickets",
                    pb::ListTicketsRequest {
                        project: "default".into(),
                        cluster: cluster.clone(),
                        ..Default::default()
                    },
                ))
                .await
                .map(drop);
            [("FileTicket", filed), ("ListTickets", listed)].map(|(rpc, r)| {
                let (c, m) = code(r);
                (rpc, c, m.replace(&cluster, "<c>"))
            })
        }
    };
    let foreign = cluster_answers(rival_cluster.clone()).await;
    let missing = cluster_answers(missing_cluster).await;
    for ((rpc, c, m), (_, _, missing_m)) in foreign.iter().zip(&missing) {
        assert_eq!(
            *c,
            Code::NotFound,
            "operator {rpc} in default, rival's cluster: {m}"
        );
        assert_eq!(m, missing_m, "{rpc}: answers like a missing cluster");
    }
    // … while naming the rival project reaches it.
    w.api
        .list_tickets(call(
            &op,
            "ListTickets",
            pb::ListTicketsRequest {
                project: "rival".into(),
                cluster: rival_cluster,
                ..Default::default()
            },
        ))
        .await
        .unwrap();

    let missing_ticket = "tk-01jd0000000000000000000000";
    let ticket_answers = |who: Principal, project: &'static str, ticket: String| {
        let api = w.api.clone();
        async move {
            let get = api
                .get_ticket(call(
                    &who,
                    "GetTicket",
                    pb::GetTicketRequest {
                        project: project.into(),
                        ticket: ticket.clone(),
                    },
                ))
                .await
                .map(drop);
            let reclassify = api
                .reclassify_ticket(call(
                    &who,
                    "ReclassifyTicket",
                    pb::ReclassifyTicketRequest {
                        project: project.into(),
                        ticket: ticket.clone(),
                        category: pb::Category::BestEffort as i32,
                        reason: "courtesy".into(),
                    },
                ))
                .await
                .map(drop);
            let close = api
                .close_ticket(call(
                    &who,
                    "CloseTicket",
                    pb::CloseTicketRequest {
                        project: project.into(),
                        ticket: ticket.clone(),
                        resolution: "fixed".into(),
                    },
                ))
                .await
                .map(drop);
            [
                ("GetTicket", get),
                ("ReclassifyTicket", reclassify),
                ("CloseTicket", close),
            ]
            .map(|(rpc, r)| {
                let (c, m) = code(r);
                (rpc, c, m.replace(&ticket, "<t>"))
            })
        }
    };
    let foreign = ticket_answers(op.clone(), "default", rival_ticket.id.clone()).await;
    let missing = ticket_answers(op.clone(), "default", missing_ticket.into()).await;
    for ((rpc, c, m), (_, _, missing_m)) in foreign.iter().zip(&missing) {
        assert_eq!(
            *c,
            Code::NotFound,
            "operator {rpc} in default, rival's ticket: {m}"
        );
        assert_eq!(m, missing_m, "{rpc}: answers like a missing ticket");
    }
    // A customer reading another project's ticket learns nothing either.
    let (c, m) = code(
        w.api
            .get_ticket(call(
                &cust,
                "GetTicket",
                pb::GetTicketRequest {
                    project: String::new(),
                    ticket: rival_ticket.id.clone(),
                },
            ))
            .await,
    );
    assert_eq!(c, Code::NotFound, "{m}");
    assert!(!m.contains(&w.rival.to_string()), "leaks the owner: {m}");
    // The operator naming the right project (or none) reaches the ticket.
    for project in ["rival", ""] {
        w.api
            .get_ticket(call(
                &op,
                "GetTicket",
                pb::GetTicketRequest {
                    project: project.into(),
                    ticket: rival_ticket.id.clone(),
                },
            ))
            .await
            .unwrap();
    }
}

// ---- item 11: a cluster the read model learns a moment later ---------------------------------

#[tokio::test]
async fn a_cluster_the_read_model_learns_a_moment_later_is_waited_for() {
    let w = world(CatchUp::new(
        Duration::from_secs(2),
        Duration::from_millis(20),
    ))
    .await;
    let cust = customer(w.own);
    for (i, by_id) in [(0, false), (1, true)] {
        let late = view(&format!("fresh-{i}"), w.own);
        let named = if by_id {
            late.id.to_string()
        } else {
            late.name.clone()
        };
        let store = w.store.clone();
        let v = late.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(300)).await;
            put_cluster(&store, &v).await;
        });
        let t = file(&w, &cust, filing(&named))
            .await
            .unwrap_or_else(|e| panic!("filing about {named}: {e:?}"));
        assert_eq!(t.cluster_id, late.id.to_string());
        w.api
            .list_tickets(call(
                &cust,
                "ListTickets",
                pb::ListTicketsRequest {
                    cluster: named,
                    ..Default::default()
                },
            ))
            .await
            .unwrap();
    }
}

#[tokio::test]
async fn a_missing_cluster_is_not_found_after_the_same_bounded_wait_as_a_foreign_one() {
    let wait = Duration::from_millis(400);
    let w = world(CatchUp::new(wait, Duration::from_millis(20))).await;
    let cust = customer(w.own);
    let mut answers = vec![];
    for cluster in [
        w.rival_cluster.id.to_string(),
        ClusterId::generate().to_string(),
        "no-such-cluster".to_owned(),
    ] {
        let started = Instant::now();
        let (c, m) = code(file(&w, &cust, filing(&cluster)).await);
        let took = started.elapsed();
        assert_eq!(c, Code::NotFound, "{cluster}: {m}");
        assert!(took >= wait, "{cluster}: answered after {took:?}");
        assert!(took < wait * 5, "{cluster}: answered after {took:?}");
        answers.push(m.replace(&cluster, "<c>"));
    }
    assert_eq!(
        answers[0], answers[1],
        "a foreign cluster answers like a missing one"
    );
    // Bad input is not waited for.
    let started = Instant::now();
    let (c, _) = code(
        file(
            &w,
            &cust,
            pb::FileTicketRequest {
                title: " ".into(),
                ..filing("ml")
            },
        )
        .await,
    );
    assert_eq!(c, Code::InvalidArgument);
    assert!(started.elapsed() < wait);
}
