//! Who may publish and subscribe to what: one data table ([`SERVICES`]) for the service users,
//! and the two grant shapes for customers and platform operators ([`grant_permissions`]).
//!
//! Subject layout (see `accord-bus`'s `subjects`):
//! `accord.evt.<project>.<resource>.<event>.<id>` (`<project>` is a project ULID or `platform`),
//! `accord.cmd.<service>.<resource>.<verb>`, `accord.tel.<cluster>.<node>`,
//! `accord.dlq.<consumer>`; JetStream streams `ACCORD_EVENTS` and `ACCORD_DLQ`, object store
//! `ACCORD_PLUGINS`.
//!
//! What each service uses, found by reading `services/*/src`, `crates/accord-sim/src`,
//! `crates/accord-cli/src` and `crates/accord-runtime/src` (2026-12-04):
//!
//! | user | publishes events (`fn resource`) | consumes (durable → resources) | serves | calls |
//! |------|------------------|-----------|--------|-------|
//! | provisioner | project, cluster, nodepool, node, remediation | provisioner-autoclusters → health; provisioner-images → image | `accord.cmd.provisioner.apikey.verify` | — |
//! | image-builder | image | — | — | apikey.verify (gRPC auth) |
//! | network-firewall | firewall, loadbalancer | network-firewall → cluster, nodepool, node | — | apikey.verify |
//! | storage-csi | volume, snapshot, storageclass, nfs, migration | storage-csi → cluster, node, addon | — | apikey.verify |
//! | addon-manager | addon | addon-manager → cluster, nodepool, nfs | — | apikey.verify; plugin object store |
//! | telemetry | health | telemetry → cluster, nodepool | — | apikey.verify; queue-subscribes `accord.tel.>` |
//! | support-triage | ticket | support-triage → cluster, addon, health, remediation | — | apikey.verify |
//! | sim | — (its infra events stay in-process) | — | `accord.cmd.sim.fault.inject`, `accord.cmd.sim.fleet.list` | publishes `accord.tel.<cluster>.<node>` |
//! | cli-operator | — | ordered consumers on `ACCORD_EVENTS` and live `accord.evt.>` (`accord events`) | — | `accord.cmd.sim.>`, plugin object store |
//!
//! Every service but the simulator runs the accord-runtime host: it creates/updates the streams
//! at start-up (`ensure_streams`), consumes with durable pull consumers (JetStream API requests,
//! deliveries to an `_INBOX.` subject, acks to `$JS.ACK.`), publishes events through JetStream
//! (PubAcks to an `_INBOX.` subject) and dead-letters to `accord.dlq.<durable>`. The plugin
//! watcher (addon-manager, provisioner) reads the object store (`$O.ACCORD_PLUGINS.>`). No service
//! uses a KV bucket today, so nobody gets `$KV.>`.
//!
//! Rules the table encodes:
//! - A service publishes only its own resources' events: `accord.evt.*.<resource>.>` (any
//!   project, `platform` included), and only its own dead letters.
//! - A service that serves commands subscribes `accord.cmd.<self>.>`; a service that calls a
//!   command publishes exactly that command subject (or `accord.cmd.<other>.>`).
//! - Request/reply: servers publish `_INBOX.>` (their replies), callers subscribe `_INBOX.>`.
//!
//! JetStream: streams are created and updated by name only ([`JETSTREAM_PUBLISH`]), so no user
//! can make a stream capture other subjects; the auth callout's requests travel in an account of
//! their own (`config::AUTH_ACCOUNT`).
//!
//! Residual risk (accepted for now, documented): a service may update the configuration of
//! Accord's streams (e.g. widen `ACCORD_EVENTS`' subjects) and read every stream through
//! consumers of its own; `_INBOX.>` lets a requester read other services' replies
//! (API-key verifications included) and forge replies to their requests; `$O.>` lets the plugin
//! users rewrite any object store. Narrowing this means per-service inbox prefixes
//! (`async_nats::ConnectOptions::custom_inbox_prefix`, then `_INBOX_<service>.>` here and
//! `allow_responses` for replies) and per-stream/per-durable `$JS.API.CONSUMER.*.<stream>.<durable>`
//! entries; both need `accord-bus` to connect that way first.

use accord_bus::subjects;

use crate::keys::ServiceUser;

/// Publish/subscribe allow and deny lists of one NATS user. Empty allow = everything allowed
/// (the NATS default), so every entry of [`SERVICES`] lists at least one allow per direction.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Permissions {
    /// Subjects it may publish to.
    pub publish_allow: Vec<String>,
    /// Subjects it may never publish to (wins over allow).
    pub publish_deny: Vec<String>,
    /// Subjects it may subscribe to.
    pub subscribe_allow: Vec<String>,
    /// Subjects it may never subscribe to (wins over allow).
    pub subscribe_deny: Vec<String>,
    /// Whether it may publish one reply to the reply subject of each message it received
    /// (`allow_responses: true`), whatever the publish lists say.
    pub allow_responses: bool,
}

/// One row of the service table.
#[derive(Debug, Clone, Copy)]
pub struct ServiceEntry {
    /// The user.
    pub user: ServiceUser,
    /// Resource kinds whose events it publishes (`accord.evt.*.<resource>.>`).
    pub publishes_events: &'static [&'static str],
    /// Durable consumer names it dead-letters under (`accord.dlq.<durable>`).
    pub dead_letters: &'static [&'static str],
    /// Whether it serves commands (`accord.cmd.<self>.>`).
    pub serves_commands: bool,
    /// Commands it calls.
    pub calls: &'static [Subject],
    /// Whether it uses JetStream (streams, consumers, PubAcks).
    pub jetstream: bool,
    /// Whether it uses the plugin object store (`$O.>`).
    pub object_store: bool,
    /// Further subjects it publishes to.
    pub extra_publish: &'static [Subject],
    /// Further subjects it subscribes to.
    pub extra_subscribe: &'static [Subject],
}

/// A subject (or pattern) of the table, built by `accord_bus::subjects` when rendered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Subject {
    /// The API-key verification command every gRPC-serving service calls.
    ApiKeyVerify,
    /// Every command (`accord.cmd.>`).
    AllCommands,
    /// The simulator's commands (`accord.cmd.sim.>`).
    SimCommands,
    /// All telemetry (`accord.tel.>`).
    AllTelemetry,
    /// Every event (`accord.evt.>`), live.
    AllEvents,
}

impl Subject {
    /// The subject.
    pub fn render(self) -> String {
        match self {
            Subject::ApiKeyVerify => accord_bus::auth::verify_subject().unwrap_or_default(),
            Subject::AllCommands => subjects::commands_all(),
            Subject::SimCommands => subjects::commands_of("sim").unwrap_or_default(),
            Subject::AllTelemetry => subjects::telemetry_all(),
            Subject::AllEvents => subjects::events_all(),
        }
    }
}

/// The API-key verification command every gRPC-serving service calls.
pub const APIKEY_VERIFY: Subject = Subject::ApiKeyVerify;

/// The table. One row per [`ServiceUser`], in [`ServiceUser::ALL`] order.
pub const SERVICES: [ServiceEntry; 9] = [
    ServiceEntry {
        user: ServiceUser::Provisioner,
        publishes_events: &["project", "cluster", "nodepool", "node", "remediation"],
        dead_letters: &["provisioner-autoclusters", "provisioner-images"],
        serves_commands: true,
        calls: &[],
        jetstream: true,
        object_store: true,
        extra_publish: &[],
        extra_subscribe: &[],
    },
    ServiceEntry {
        user: ServiceUser::ImageBuilder,
        publishes_events: &["image"],
        dead_letters: &[],
        serves_commands: false,
        calls: &[APIKEY_VERIFY],
        jetstream: true,
        object_store: false,
        extra_publish: &[],
        extra_subscribe: &[],
    },
    ServiceEntry {
        user: ServiceUser::NetworkFirewall,
        publishes_events: &["firewall", "loadbalancer"],
        dead_letters: &["network-firewall"],
        serves_commands: false,
        calls: &[APIKEY_VERIFY],
        jetstream: true,
        object_store: false,
        extra_publish: &[],
        extra_subscribe: &[],
    },
    ServiceEntry {
        user: ServiceUser::StorageCsi,
        publishes_events: &["volume", "snapshot", "storageclass", "nfs", "migration"],
        dead_letters: &["storage-csi"],
        serves_commands: false,
        calls: &[APIKEY_VERIFY],
        jetstream: true,
        object_store: false,
        extra_publish: &[],
        extra_subscribe: &[],
    },
    ServiceEntry {
        user: ServiceUser::AddonManager,
        publishes_events: &["addon"],
        dead_letters: &["addon-manager"],
        serves_commands: false,
        calls: &[APIKEY_VERIFY],
        jetstream: true,
        object_store: true,
        extra_publish: &[],
        extra_subscribe: &[],
    },
    ServiceEntry {
        user: ServiceUser::Telemetry,
        publishes_events: &["health"],
        dead_letters: &["telemetry"],
        serves_commands: false,
        calls: &[APIKEY_VERIFY],
        jetstream: true,
        object_store: false,
        extra_publish: &[],
        extra_subscribe: &[Subject::AllTelemetry],
    },
    ServiceEntry {
        user: ServiceUser::SupportTriage,
        publishes_events: &["ticket"],
        dead_letters: &["support-triage"],
        serves_commands: false,
        calls: &[APIKEY_VERIFY],
        jetstream: true,
        object_store: false,
        extra_publish: &[],
        extra_subscribe: &[],
    },
    ServiceEntry {
        user: ServiceUser::Sim,
        publishes_events: &[],
        dead_letters: &[],
        serves_commands: true,
        calls: &[],
        jetstream: false,
        object_store: false,
        extra_publish: &[Subject::AllTelemetry],
        extra_subscribe: &[],
    },
    ServiceEntry {
        user: ServiceUser::CliOperator,
        publishes_events: &[],
        dead_letters: &[],
        serves_commands: false,
        calls: &[Subject::SimCommands],
        jetstream: true,
        object_store: true,
        extra_publish: &[],
        extra_subscribe: &[Subject::AllTelemetry, Subject::AllEvents],
    },
];

/// Subjects every JetStream user publishes to: the JetStream API and acks.
///
/// Streams are created and changed by name only — Accord's own (`ACCORD_EVENTS`, `ACCORD_DLQ`
/// and the plugin bucket's `OBJ_ACCORD_PLUGINS`) — so no user can create a stream that captures
/// other subjects (e.g. key-verification requests). Consumers, stream info and message reads
/// are allowed on every stream; streams are never deleted by services.
pub const JETSTREAM_PUBLISH: [&str; 17] = [
    "$JS.API.INFO",
    "$JS.API.STREAM.NAMES",
    "$JS.API.STREAM.LIST",
    "$JS.API.STREAM.INFO.*",
    "$JS.API.STREAM.MSG.GET.*",
    "$JS.API.DIRECT.GET.>",
    "$JS.API.CONSUMER.>",
    "$JS.API.STREAM.CREATE.ACCORD_EVENTS",
    "$JS.API.STREAM.UPDATE.ACCORD_EVENTS",
    "$JS.API.STREAM.CREATE.ACCORD_DLQ",
    "$JS.API.STREAM.UPDATE.ACCORD_DLQ",
    "$JS.API.STREAM.CREATE.OBJ_ACCORD_PLUGINS",
    "$JS.API.STREAM.UPDATE.OBJ_ACCORD_PLUGINS",
    "$JS.API.STREAM.PURGE.OBJ_ACCORD_PLUGINS",
    "$JS.API.STREAM.MSG.DELETE.OBJ_ACCORD_PLUGINS",
    "$JS.ACK.>",
    "$JS.FC.>",
];
/// Subjects of the object stores (chunks and metadata).
pub const OBJECT_STORE: &str = "$O.>";
/// Reply subjects (core request/reply and JetStream API/PubAck replies).
pub const INBOX: &str = "_INBOX.>";

/// The table row of `user`.
pub fn service_entry(user: ServiceUser) -> ServiceEntry {
    SERVICES
        .into_iter()
        .find(|entry| entry.user == user)
        // Every user has a row (checked by a test); the fallback denies everything.
        .unwrap_or(ServiceEntry {
            user,
            publishes_events: &[],
            dead_letters: &[],
            serves_commands: false,
            calls: &[],
            jetstream: false,
            object_store: false,
            extra_publish: &[],
            extra_subscribe: &[],
        })
}

/// The NATS permissions of `user`, derived from its [`SERVICES`] row.
pub fn service_permissions(user: ServiceUser) -> Permissions {
    let entry = service_entry(user);
    let mut publish = Vec::new();
    let mut subscribe = Vec::new();
    // The table's tokens are constants checked by the tests: a builder error cannot happen,
    // and would only drop that one allow (denying more, never less).
    for resource in entry.publishes_events {
        publish.extend(subjects::events_of(resource).ok());
    }
    for durable in entry.dead_letters {
        publish.extend(subjects::dead_letter(durable).ok());
    }
    if entry.serves_commands {
        subscribe.extend(subjects::commands_of(user.name()).ok());
        publish.push(INBOX.to_owned());
    }
    for call in entry.calls {
        publish.push(call.render());
    }
    let requests = !entry.calls.is_empty() || entry.jetstream || entry.object_store;
    if requests {
        subscribe.push(INBOX.to_owned());
    }
    if entry.jetstream || entry.object_store {
        publish.extend(JETSTREAM_PUBLISH.iter().map(|s| (*s).to_owned()));
    }
    if entry.object_store {
        publish.push(OBJECT_STORE.to_owned());
        subscribe.push(OBJECT_STORE.to_owned());
    }
    publish.extend(entry.extra_publish.iter().map(|s| s.render()));
    subscribe.extend(entry.extra_subscribe.iter().map(|s| s.render()));
    dedup(&mut publish);
    dedup(&mut subscribe);
    // An empty allow list means "everything" to NATS: deny instead.
    let (publish_deny, subscribe_deny) =
        (deny_all_if_empty(&publish), deny_all_if_empty(&subscribe));
    Permissions {
        publish_allow: publish,
        publish_deny,
        subscribe_allow: subscribe,
        subscribe_deny,
        allow_responses: false,
    }
}

/// Permissions that allow nothing.
fn deny_everything() -> Permissions {
    Permissions {
        publish_allow: Vec::new(),
        publish_deny: vec![">".to_owned()],
        subscribe_allow: Vec::new(),
        subscribe_deny: vec![">".to_owned()],
        allow_responses: false,
    }
}

/// The auth-callout responder's permissions: it receives `$SYS.REQ.USER.AUTH` and may answer
/// each request once on the reply subject the server gave (verified: the server's reply subject
/// is `$SYS._INBOX.<server node>.<id>`, so a `_INBOX.>` allow would not do); nothing else.
pub fn callout_user_permissions() -> Permissions {
    Permissions {
        publish_allow: Vec::new(),
        publish_deny: vec![">".to_owned()],
        subscribe_allow: vec![crate::callout::AUTH_CALLOUT_SUBJECT.to_owned()],
        subscribe_deny: Vec::new(),
        allow_responses: true,
    }
}

/// Permissions of a user admitted by the callout: no publishing at all; subscribing only to the
/// events of `project`, or to every event (`None`: a platform operator's read-only view).
pub fn grant_permissions(project: Option<&str>) -> Permissions {
    let subscribe = match project {
        // A project that cannot be one token gets nothing (callers check it first).
        Some(project) => match subjects::events_in(project) {
            Ok(s) => s,
            Err(_) => return deny_everything(),
        },
        None => subjects::events_all(),
    };
    Permissions {
        publish_allow: Vec::new(),
        publish_deny: vec![">".to_owned()],
        subscribe_allow: vec![subscribe],
        subscribe_deny: Vec::new(),
        allow_responses: false,
    }
}

fn dedup(list: &mut Vec<String>) {
    let mut seen = std::collections::BTreeSet::new();
    list.retain(|item| seen.insert(item.clone()));
}

fn deny_all_if_empty(allow: &[String]) -> Vec<String> {
    if allow.is_empty() {
        vec![">".to_owned()]
    } else {
        Vec::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_user_has_exactly_one_row_in_order() {
        let users: Vec<ServiceUser> = SERVICES.iter().map(|entry| entry.user).collect();
        assert_eq!(users, ServiceUser::ALL.to_vec());
    }

    #[test]
    fn no_two_services_publish_the_same_resource() {
        let mut owners = std::collections::BTreeMap::new();
        for entry in SERVICES {
            for resource in entry.publishes_events {
                assert!(
                    owners.insert(*resource, entry.user).is_none(),
                    "{resource} published by two services"
                );
            }
        }
    }

    #[test]
    fn provisioner_permissions() {
        let perms = service_permissions(ServiceUser::Provisioner);
        assert!(
            perms
                .publish_allow
                .contains(&"accord.evt.*.cluster.>".to_owned())
        );
        assert!(
            perms
                .subscribe_allow
                .contains(&"accord.cmd.provisioner.>".to_owned())
        );
        assert!(!perms.publish_allow.iter().any(|s| s.contains(".addon.")));
        assert!(perms.publish_deny.is_empty() && perms.subscribe_deny.is_empty());
    }

    #[test]
    fn sim_publishes_telemetry_and_never_events() {
        let perms = service_permissions(ServiceUser::Sim);
        assert!(perms.publish_allow.contains(&"accord.tel.>".to_owned()));
        assert!(
            !perms
                .publish_allow
                .iter()
                .any(|s| s.starts_with("accord.evt"))
        );
        assert!(!perms.publish_allow.iter().any(|s| s.starts_with("$JS")));
    }

    #[test]
    fn operator_tool_publishes_no_events() {
        let perms = service_permissions(ServiceUser::CliOperator);
        assert!(
            !perms
                .publish_allow
                .iter()
                .any(|s| s.starts_with("accord.evt"))
        );
        // The simulator's commands only: not the API-key verification (no key oracle).
        assert!(perms.publish_allow.contains(&"accord.cmd.sim.>".to_owned()));
        assert!(!perms.publish_allow.contains(&"accord.cmd.>".to_owned()));
    }

    #[test]
    fn only_command_servers_publish_to_inboxes() {
        for user in ServiceUser::ALL {
            let publishes = service_permissions(user)
                .publish_allow
                .contains(&INBOX.to_owned());
            let serves = matches!(user, ServiceUser::Provisioner | ServiceUser::Sim);
            assert_eq!(publishes, serves, "{user}");
        }
    }

    #[test]
    fn no_user_creates_streams_on_other_subjects() {
        for user in ServiceUser::ALL {
            let perms = service_permissions(user);
            for p in &perms.publish_allow {
                assert!(
                    p != "$JS.API.>" && !p.starts_with("$JS.API.STREAM.CREATE.*"),
                    "{user}: {p}"
                );
                assert!(!p.contains("STREAM.DELETE"), "{user}: {p}");
            }
        }
    }

    #[test]
    fn grants_never_publish() {
        let customer = grant_permissions(Some("01J0000000000000000000000A"));
        assert_eq!(customer.publish_deny, vec![">".to_owned()]);
        assert_eq!(
            customer.subscribe_allow,
            vec!["accord.evt.01J0000000000000000000000A.>".to_owned()]
        );
        let operator = grant_permissions(None);
        assert_eq!(operator.publish_deny, vec![">".to_owned()]);
        assert_eq!(operator.subscribe_allow, vec!["accord.evt.>".to_owned()]);
    }
}
