//! The provisioner's answers to hostile and careless input, against the pure handlers and a
//! temporary store: who may create projects, the same answer whether or not a named user
//! exists elsewhere, OIDC settings that would inject API-server flags, AutoClusters bounds,
//! duplicate taints, CIDRs with leading zeros, and messages that quote input only bounded.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;

use accord_core::{
    DomainError,
    cluster::{AutoClustersSettings, MAX_IN_FLIGHT_PER_POOL},
    iam::{Principal, Role},
    ids::ApiKeyId,
    maintenance::{MaintenanceSchedule, MaintenanceWindow},
    nodepool::Taint,
};
use accord_provisioner::{
    auth::KeyAuthenticator,
    handlers::{
        clusters::{self, ClusterInput, OidcInput},
        nodepools::{self, PoolInput},
        projects,
    },
};

use crate::common::{World, field_of, good_cluster, gpu_pool};

/// A member of the world's project with `role`, as their own key authenticates them.
async fn member(w: &World, name: &str, role: Role) -> Principal {
    let ctx = w.ctx(&w.admin);
    w.commit(projects::add_member(&ctx, w.pid(), name, role))
        .await;
    let key = w
        .commit(projects::create_api_key(&ctx, w.pid(), "laptop", name))
        .await;
    KeyAuthenticator::new(w.reader.clone())
        .verify(&key.token)
        .unwrap()
}

#[tokio::test]
async fn only_a_project_admin_creates_projects() {
    let w = World::new().await;
    let operator = Principal::ProviderOperator {
        name: "ops".into(),
        key: ApiKeyId::generate(),
    };
    let mut refused = vec![("operator", operator, vec!["only customer users".to_owned()])];
    for (name, role) in [
        ("rita@example.com", Role::Reader),
        ("ed@example.com", Role::Editor),
    ] {
        let p = member(&w, name, role).await;
        refused.push((
            name,
            p,
            vec![
                "`CreateProject` needs the admin role".to_owned(),
                format!("you are {role}"),
            ],
        ));
    }
    for (who, principal, needles) in refused {
        let err = projects::create_project(&w.ctx(&principal), "mine", BTreeMap::new())
            .err()
            .unwrap_or_else(|| panic!("{who} created a project"));
        let DomainError::PermissionDenied(message) = &err else {
            panic!("{who}: {err:?}");
        };
        for needle in needles {
            assert!(message.contains(&needle), "{who}: {message}");
        }
    }
    // A project Admin may, and is Admin of the new project through the key it returns.
    let (ch, project, key) =
        projects::create_project(&w.ctx(&w.admin), "mine", BTreeMap::new()).unwrap();
    w.reader.store().commit(ch.commit).await.unwrap();
    let new_admin = KeyAuthenticator::new(w.reader.clone())
        .verify(&key.token)
        .unwrap();
    assert!(
        matches!(new_admin, Principal::Customer { role: Role::Admin, project: p, .. } if p == project.metadata.id)
    );
}

/// The kind of an answer and its message with the named user taken out.
fn shape(err: &DomainError, user: &str) -> (std::mem::Discriminant<DomainError>, String) {
    (
        std::mem::discriminant(err),
        err.to_string().replace(user, "<user>"),
    )
}

#[tokio::test]
async fn a_user_outside_the_project_gets_one_answer_whether_or_not_they_exist() {
    let w = World::new().await;
    let ctx = w.ctx(&w.admin);
    // olga exists, as a member of another project only.
    let (ch, other, other_key) = projects::create_project(&ctx, "other", BTreeMap::new()).unwrap();
    w.reader.store().commit(ch.commit).await.unwrap();
    let other_admin = KeyAuthenticator::new(w.reader.clone())
        .verify(&other_key.token)
        .unwrap();
    w.commit(projects::add_member(
        &w.ctx(&other_admin),
        other.metadata.id,
        "olga@example.com",
        Role::Editor,
    ))
    .await;
    // bob was a member of this project and was removed.
    w.commit(projects::add_member(
        &ctx,
        w.pid(),
        "bob@example.com",
        Role::Reader,
    ))
    .await;
    w.commit(projects::remove_member(&ctx, w.pid(), "bob@example.com"))
        .await;

    let users = ["ghost@example.com", "olga@example.com", "bob@example.com"];
    type Op = fn(&accord_provisioner::handlers::Ctx<'_>, &World, &str) -> DomainError;
    let ops: [(&str, Op); 2] = [
        ("CreateApiKey", |ctx, w, user| {
            projects::create_api_key(ctx, w.pid(), "key", user)
                .err()
                .unwrap()
        }),
        ("RemoveMember", |ctx, w, user| {
            projects::remove_member(ctx, w.pid(), user).err().unwrap()
        }),
    ];
    for (rpc, op) in ops {
        let answers: Vec<_> = users
            .iter()
            .map(|user| {
                let err = op(&ctx, &w, user);
                assert!(
                    matches!(&err, DomainError::NotFound { kind: "member", .. }),
                    "{rpc} {user}: {err:?}"
                );
                shape(&err, user)
            })
            .collect();
        assert!(
            answers.windows(2).all(|pair| pair[0] == pair[1]),
            "{rpc}: {answers:?}"
        );
    }
}

fn good_oidc() -> OidcInput {
    OidcInput {
        issuer_url: "https://issuer.example.com".into(),
        client_id: "kubernetes".into(),
        ..OidcInput::default()
    }
}

fn claims(key: &str, value: &str) -> BTreeMap<String, String> {
    [(key.to_owned(), value.to_owned())].into()
}

#[tokio::test]
async fn oidc_settings_cannot_inject_api_server_flags() {
    let w = World::new().await;
    let injection = "k8s\n--anonymous-auth=true";
    type Edit = fn(&mut OidcInput);
    let cases: Vec<(&str, Edit, &str)> = vec![
        (
            "newline in the issuer",
            |o| o.issuer_url = "https://issuer.example.com\n--anonymous-auth=true".into(),
            "spec.oidc.issuer_url",
        ),
        (
            "NUL in the issuer",
            |o| o.issuer_url = "https://issuer.example.com\0".into(),
            "spec.oidc.issuer_url",
        ),
        (
            "bidi override in the issuer",
            |o| o.issuer_url = "https://example.com/\u{202E}lmth.xe".into(),
            "spec.oidc.issuer_url",
        ),
        (
            "plain http issuer",
            |o| o.issuer_url = "http://issuer.example.com".into(),
            "spec.oidc.issuer_url",
        ),
        (
            "newline in the client id",
            |o| o.client_id = "k8s\n--anonymous-auth=true".into(),
            "spec.oidc.client_id",
        ),
        (
            "ESC in the client id",
            |o| o.client_id = "k8s\u{1b}[2J".into(),
            "spec.oidc.client_id",
        ),
        (
            "empty client id",
            |o| o.client_id = String::new(),
            "spec.oidc.client_id",
        ),
        (
            "newline in the username claim",
            |o| o.username_claim = "k8s\n--anonymous-auth=true".into(),
            "spec.oidc.username_claim",
        ),
        (
            "DEL in the username claim",
            |o| o.username_claim = "email\u{7f}".into(),
            "spec.oidc.username_claim",
        ),
        (
            "LRM in the groups claim",
            |o| o.groups_claim = "groups\u{200E}".into(),
            "spec.oidc.groups_claim",
        ),
        (
            "path as the groups claim",
            |o| o.groups_claim = "../groups".into(),
            "spec.oidc.groups_claim",
        ),
        (
            "empty required-claim key",
            |o| o.required_claims = claims("", "x"),
            "spec.oidc.required_claims[]",
        ),
        (
            "path as a required-claim key",
            |o| o.required_claims = claims("../x", "y"),
            "spec.oidc.required_claims[../x]",
        ),
        (
            "slash in a required-claim key",
            |o| o.required_claims = claims("a/b", "y"),
            "spec.oidc.required_claims[a/b]",
        ),
        (
            "newline in a required-claim key",
            |o| o.required_claims = claims("k8s\n--anonymous-auth=true", "y"),
            "spec.oidc.required_claims[k8s\\n--anonymous-auth=true]",
        ),
        (
            "newline in a required-claim value",
            |o| o.required_claims = claims("org", "acme\n--anonymous-auth=true"),
            "spec.oidc.required_claims[org]",
        ),
        (
            "comma in a required-claim value",
            |o| o.required_claims = claims("org", "acme,admin=true"),
            "spec.oidc.required_claims[org]",
        ),
        (
            "bidi isolate in a required-claim value",
            |o| o.required_claims = claims("org", "acme\u{2066}"),
            "spec.oidc.required_claims[org]",
        ),
        (
            "byte-order mark in a required-claim value",
            |o| o.required_claims = claims("org", "\u{FEFF}acme"),
            "spec.oidc.required_claims[org]",
        ),
    ];
    let cluster = w.cluster("demo").await;
    for (what, edit, field) in cases {
        let mut oidc = good_oidc();
        edit(&mut oidc);
        let input = ClusterInput {
            oidc: Some(oidc.clone()),
            ..good_cluster()
        };
        let created =
            clusters::create_cluster(&w.ctx(&w.admin), w.pid(), "oidc", BTreeMap::new(), &input);
        let updated = clusters::update_cluster(
            &w.ctx(&w.admin),
            &cluster,
            0,
            &["spec.oidc".into()],
            BTreeMap::new(),
            Some(oidc),
            None,
        );
        for (rpc, result) in [("create", created.err()), ("update", updated.err())] {
            let err = result.unwrap_or_else(|| panic!("{what}: {rpc} accepted"));
            assert_eq!(field_of(&err), [field], "{what}: {rpc}: {err}");
            let message = err.to_string();
            assert!(
                !message.contains(injection) && !message.contains('\0'),
                "{what}: {rpc}: the message carries the raw value: {message:?}"
            );
        }
    }
    // What real providers need passes.
    let oidc = OidcInput {
        issuer_url: "https://login.example.com:8443/realms/ml".into(),
        client_id: "kubernetes".into(),
        username_claim: "email".into(),
        groups_claim: "cognito:groups".into(),
        required_claims: claims("hd", "example.com"),
    };
    let input = ClusterInput {
        oidc: Some(oidc),
        ..good_cluster()
    };
    clusters::create_cluster(&w.ctx(&w.admin), w.pid(), "oidc", BTreeMap::new(), &input).unwrap();
}

#[tokio::test]
async fn autoclusters_settings_are_bounded() {
    let w = World::new().await;
    let cluster = w.cluster("demo").await;
    let settings = |max_unhealthy_percent, max_in_flight_per_pool| AutoClustersSettings {
        remediation_enabled: true,
        max_unhealthy_percent,
        max_in_flight_per_pool,
        ..AutoClustersSettings::default()
    };
    let in_flight = "spec.autoclusters.max_in_flight_per_pool";
    let unhealthy = "spec.autoclusters.max_unhealthy_percent";
    let window = |duration_minutes| AutoClustersSettings {
        maintenance: MaintenanceSchedule {
            windows: vec![MaintenanceWindow {
                days: Vec::new(),
                start_minute: 120,
                duration_minutes,
            }],
            exclusions: Vec::new(),
        },
        ..settings(20, 1)
    };
    let policy = |name: &str| AutoClustersSettings {
        policy: name.into(),
        ..settings(20, 1)
    };
    for (a, field) in [
        (settings(20, u32::MAX), in_flight),
        (settings(20, MAX_IN_FLIGHT_PER_POOL + 1), in_flight),
        (settings(20, 0), in_flight),
        (settings(0, 1), unhealthy),
        (settings(101, 1), unhealthy),
        (
            window(10),
            "spec.autoclusters.maintenance_windows[0].duration_minutes",
        ),
        (
            window(24 * 60 + 1),
            "spec.autoclusters.maintenance_windows[0].duration_minutes",
        ),
        (policy("Not A Policy"), "spec.autoclusters.policy"),
        (policy(&"p".repeat(64)), "spec.autoclusters.policy"),
    ] {
        let input = ClusterInput {
            autoclusters: Some(a.clone()),
            ..good_cluster()
        };
        let err =
            clusters::create_cluster(&w.ctx(&w.admin), w.pid(), "ac", BTreeMap::new(), &input)
                .err()
                .unwrap_or_else(|| panic!("{a:?} accepted"));
        assert_eq!(field_of(&err), [field], "{a:?}: {err}");
        let err = clusters::update_cluster(
            &w.ctx(&w.admin),
            &cluster,
            0,
            &["spec.autoclusters".into()],
            BTreeMap::new(),
            None,
            Some(a.clone()),
        )
        .err()
        .unwrap_or_else(|| panic!("{a:?} accepted on update"));
        assert_eq!(field_of(&err), [field], "{a:?}: {err}");
    }
    for a in [
        settings(100, MAX_IN_FLIGHT_PER_POOL),
        settings(1, 1),
        window(24 * 60),
        policy("my-policy"),
    ] {
        let input = ClusterInput {
            autoclusters: Some(a),
            ..good_cluster()
        };
        clusters::create_cluster(&w.ctx(&w.admin), w.pid(), "ac", BTreeMap::new(), &input).unwrap();
    }
}

fn taint(key: &str, value: &str, effect: &str) -> Taint {
    Taint {
        key: key.into(),
        value: value.into(),
        effect: effect.into(),
    }
}

#[tokio::test]
async fn a_taint_key_and_effect_appear_once() {
    let w = World::new().await;
    let c = w.cluster("demo").await;
    let ctx = w.ctx(&w.admin);
    let duplicated = vec![
        taint("nvidia.com/gpu", "present", "NoSchedule"),
        taint("dedicated", "ml", "NoExecute"),
        taint("nvidia.com/gpu", "absent", "NoSchedule"),
    ];
    let input = PoolInput {
        taints: duplicated.clone(),
        ..gpu_pool(1)
    };
    let err = nodepools::create_pool(&ctx, &c, "p", BTreeMap::new(), &input)
        .err()
        .unwrap();
    assert_eq!(field_of(&err), ["spec.taints[2]"], "{err}");
    assert!(err.to_string().contains("spec.taints[0]"), "{err}");
    // The same key with another effect is another taint.
    let input = PoolInput {
        taints: vec![
            taint("nvidia.com/gpu", "present", "NoSchedule"),
            taint("nvidia.com/gpu", "present", "NoExecute"),
        ],
        ..gpu_pool(1)
    };
    let pool = w
        .commit(nodepools::create_pool(
            &ctx,
            &c,
            "p",
            BTreeMap::new(),
            &input,
        ))
        .await;
    let err = nodepools::update_pool(
        &ctx,
        &c,
        &pool,
        0,
        &["spec.taints".into()],
        BTreeMap::new(),
        &PoolInput {
            taints: duplicated,
            ..PoolInput::default()
        },
    )
    .err()
    .unwrap();
    assert_eq!(field_of(&err), ["spec.taints[2]"], "{err}");
}

#[tokio::test]
async fn cidrs_with_leading_zeros_are_refused() {
    let w = World::new().await;
    type Edit = fn(&mut ClusterInput);
    let cases: [(Edit, &str); 4] = [
        (
            |i| i.vpc_subnet = "010.001.000.000/16".into(),
            "spec.network.vpc_subnet",
        ),
        (
            |i| i.pod_cidr = "10.244.000.0/16".into(),
            "spec.network.pod_cidr",
        ),
        (
            |i| i.service_cidr = "10.96.0.0/012".into(),
            "spec.network.service_cidr",
        ),
        (
            |i| i.pod_cidr = "10.0244.0.0/16".into(),
            "spec.network.pod_cidr",
        ),
    ];
    for (edit, field) in cases {
        let mut input = good_cluster();
        edit(&mut input);
        let err = clusters::create_cluster(&w.ctx(&w.admin), w.pid(), "z", BTreeMap::new(), &input)
            .err()
            .unwrap();
        assert_eq!(field_of(&err), [field], "{err}");
        assert!(err.to_string().contains("leading zeros"), "{err}");
    }
}

#[tokio::test]
async fn messages_quote_input_only_bounded() {
    let w = World::new().await;
    let c = w.cluster("demo").await;
    let ctx = w.ctx(&w.admin);
    let long = format!("{}\n", "x".repeat(100_000));
    let long_labels: BTreeMap<String, String> = [(long.clone(), "v".to_owned())].into();
    let pool = w
        .commit(nodepools::create_pool(
            &ctx,
            &c,
            "p",
            BTreeMap::new(),
            &gpu_pool(1),
        ))
        .await;
    let errors: Vec<(&str, DomainError)> = vec![
        (
            "cluster name, region, add-on, labels",
            clusters::create_cluster(
                &ctx,
                w.pid(),
                &long,
                long_labels.clone(),
                &ClusterInput {
                    region: long.clone(),
                    kubernetes_version: long.clone(),
                    addons: vec![long.clone()],
                    vpc_subnet: long.clone(),
                    ..good_cluster()
                },
            )
            .err()
            .unwrap(),
        ),
        (
            "cluster update mask",
            clusters::update_cluster(
                &ctx,
                &c,
                0,
                std::slice::from_ref(&long),
                BTreeMap::new(),
                None,
                None,
            )
            .err()
            .unwrap(),
        ),
        (
            "upgrade version",
            clusters::request_upgrade(&ctx, &c, &long, 0).err().unwrap(),
        ),
        (
            "pool instance type, image, taint, labels",
            nodepools::create_pool(
                &ctx,
                &c,
                "q",
                long_labels,
                &PoolInput {
                    instance_type: long.clone(),
                    image_version: long.clone(),
                    taints: vec![taint("k", "v", &long)],
                    ..gpu_pool(1)
                },
            )
            .err()
            .unwrap(),
        ),
        (
            "cycle image",
            nodepools::cycle_pool(&ctx, &c, &pool, &long, 0)
                .err()
                .unwrap(),
        ),
        (
            "member",
            projects::remove_member(&ctx, w.pid(), &long).err().unwrap(),
        ),
        (
            "API key user and name",
            projects::create_api_key(&ctx, w.pid(), &long, &long)
                .err()
                .unwrap(),
        ),
        (
            "API key id",
            projects::revoke_api_key(&ctx, w.pid(), &long)
                .err()
                .unwrap(),
        ),
        (
            "project name",
            projects::create_project(&ctx, &long, BTreeMap::new())
                .err()
                .unwrap(),
        ),
        (
            "member name",
            projects::add_member(&ctx, w.pid(), &long, Role::Reader)
                .err()
                .unwrap(),
        ),
    ];
    let echoed = "x".repeat(100);
    for (what, err) in errors {
        let message = err.to_string();
        assert!(
            message.len() < 2048 && !message.contains(&echoed) && !message.contains('\n'),
            "{what}: {} bytes: {}",
            message.len(),
            &message[..message.len().min(300)]
        );
    }
}
