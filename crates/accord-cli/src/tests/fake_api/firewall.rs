//! `accord get|create|delete firewall-rule` against a fake of network-firewall's `Firewall`
//! service (on the same server as the parent module's fake): parsing, request building, the
//! table and JSON shapes, warnings on stderr, refusals as the server words them, and the
//! firewall package's own endpoint from the profile. The load balancers of the same service are
//! faked and tested in `loadbalancers`.

use accord_proto::firewall::v1 as fw_pb;
use accord_proto::firewall::v1::firewall_server::{Firewall, FirewallServer};

use super::*;
use crate::cli::{
    Command, CreateFirewallRuleArgs, CreateKind, DeleteFirewallRuleArgs, DeleteKind,
    FirewallActionArg, FirewallDirectionArg, FirewallProtocolArg, FirewallRuleQuery, GetKind,
};
use crate::output::firewall::tests::{allow_https, kubelet, status};

mod loadbalancers;

/// What the fake firewall holds and was asked.
#[derive(Default)]
pub(super) struct Rules {
    customer: Vec<fw_pb::FirewallRule>,
    listed: Vec<fw_pb::ListFirewallRulesRequest>,
    created: Vec<fw_pb::CreateFirewallRuleRequest>,
    deleted: Vec<fw_pb::DeleteFirewallRuleRequest>,
    load_balancers: loadbalancers::LoadBalancers,
}

/// The fake's `Firewall` service, for the parent's router.
pub(super) fn server(fake: &Fake) -> FirewallServer<Fake> {
    FirewallServer::new(fake.clone())
}

/// The service's rules, as far as the CLI can tell them apart: one required rule per cluster,
/// names `accord-…` refused on create and `PERMISSION_DENIED` on delete, taken names
/// `ALREADY_EXISTS`, a deny rule warned about the required flow it cannot touch.
#[tonic::async_trait]
impl Firewall for Fake {
    async fn list_firewall_rules(
        &self,
        request: Request<fw_pb::ListFirewallRulesRequest>,
    ) -> Result<Response<fw_pb::ListFirewallRulesResponse>, Status> {
        authorize(&request)?;
        let request = request.into_inner();
        self.cluster_id(&request.cluster)?;
        let mut state = self.lock();
        state.firewall.listed.push(request);
        let mut rules = vec![kubelet()];
        rules.extend(state.firewall.customer.iter().cloned());
        Ok(Response::new(fw_pb::ListFirewallRulesResponse {
            rules,
            status: Some(status()),
        }))
    }

    async fn create_firewall_rule(
        &self,
        request: Request<fw_pb::CreateFirewallRuleRequest>,
    ) -> Result<Response<fw_pb::CreateFirewallRuleResponse>, Status> {
        authorize(&request)?;
        let r = request.into_inner();
        self.cluster_id(&r.cluster)?;
        let mut state = self.lock();
        state.firewall.created.push(r.clone());
        if r.name.starts_with("accord-") {
            return Err(Status::invalid_argument(
                "name: must not start with \"accord-\" (reserved for required rules)",
            ));
        }
        if state.firewall.customer.iter().any(|x| x.name == r.name) {
            return Err(Status::already_exists(format!(
                "firewall rule {} already exists",
                r.name
            )));
        }
        let rule = fw_pb::FirewallRule {
            name: r.name.clone(),
            tier: "customer".into(),
            priority: u32::try_from(r.priority).unwrap_or(0),
            direction: r.direction,
            action: r.action.clone(),
            protocol: r.protocol,
            ports: r.ports,
            sources: r.sources,
            destinations: r.destinations,
            targets: if r.targets.is_empty() {
                "all-nodes".into()
            } else {
                r.targets
            },
            created_by: "alice@example.com".into(),
            ..allow_https()
        };
        state.firewall.customer.push(rule.clone());
        let warnings = if r.action == "deny" {
            vec![fw_pb::Warning {
                kind: "provider-override".into(),
                message: format!(
                    "deny from 0.0.0.0/0: has no effect on the kubelet flow the cluster needs \
                     (provider rule accord-kubelet; rule {})",
                    r.name
                ),
            }]
        } else {
            Vec::new()
        };
        Ok(Response::new(fw_pb::CreateFirewallRuleResponse {
            rule: Some(rule),
            warnings,
        }))
    }

    async fn delete_firewall_rule(
        &self,
        request: Request<fw_pb::DeleteFirewallRuleRequest>,
    ) -> Result<Response<fw_pb::DeleteFirewallRuleResponse>, Status> {
        authorize(&request)?;
        let r = request.into_inner();
        self.cluster_id(&r.cluster)?;
        let mut state = self.lock();
        state.firewall.deleted.push(r.clone());
        if r.name.starts_with("accord-") {
            return Err(Status::permission_denied(format!(
                "{} is a required firewall rule (in the network layer, owned by the provider)",
                r.name
            )));
        }
        let before = state.firewall.customer.len();
        state.firewall.customer.retain(|x| x.name != r.name);
        if state.firewall.customer.len() == before {
            return Err(Status::not_found(format!(
                "firewall rule {} not found",
                r.name
            )));
        }
        Ok(Response::new(fw_pb::DeleteFirewallRuleResponse {}))
    }

    async fn create_load_balancer(
        &self,
        request: Request<fw_pb::CreateLoadBalancerRequest>,
    ) -> Result<Response<fw_pb::LoadBalancer>, Status> {
        loadbalancers::create(self, request).map(Response::new)
    }

    async fn list_load_balancers(
        &self,
        request: Request<fw_pb::ListLoadBalancersRequest>,
    ) -> Result<Response<fw_pb::ListLoadBalancersResponse>, Status> {
        loadbalancers::list(self, request).map(Response::new)
    }

    async fn delete_load_balancer(
        &self,
        request: Request<fw_pb::DeleteLoadBalancerRequest>,
    ) -> Result<Response<fw_pb::DeleteLoadBalancerResponse>, Status> {
        loadbalancers::delete(self, request).map(Response::new)
    }
}

fn command(args: &[&str]) -> Command {
    let mut argv = vec!["accord"];
    argv.extend_from_slice(args);
    match Cli::try_parse_with_sources(argv) {
        Ok(cli) => cli.command,
        Err(error) => panic!("{args:?} did not parse:\n{error}"),
    }
}

fn parse_error(args: &[&str]) -> String {
    let mut argv = vec!["accord"];
    argv.extend_from_slice(args);
    match Cli::try_parse_with_sources(argv) {
        Ok(cli) => panic!("{args:?} parsed but should not have: {cli:?}"),
        Err(error) => error.to_string(),
    }
}

#[test]
fn firewall_commands_parse_with_their_aliases() {
    for alias in ["firewall-rule", "firewall-rules", "firewallrules", "fw"] {
        assert_eq!(
            command(&["get", alias, "--cluster", "demo"]),
            Command::Get(GetKind::FirewallRule(FirewallRuleQuery {
                cluster: "demo".into()
            }))
        );
        assert_eq!(
            command(&["delete", alias, "web", "-c", "demo"]),
            Command::Delete(DeleteKind::FirewallRule(DeleteFirewallRuleArgs {
                name: "web".into(),
                cluster: "demo".into(),
            }))
        );
    }
    let create = command(&[
        "create",
        "fw",
        "web",
        "-c",
        "demo",
        "--priority",
        "100",
        "--direction",
        "ingress",
        "--action",
        "allow",
        "--protocol",
        "tcp",
        "--port",
        "443",
        "--port",
        "8000-8100,9000",
        "--source",
        "10.0.0.0/8",
        "--source",
        "192.168.0.0/16",
        "--target",
        "pool:gpu",
    ]);
    let expected = CreateFirewallRuleArgs {
        name: "web".into(),
        cluster: "demo".into(),
        priority: 100,
        direction: FirewallDirectionArg::Ingress,
        action: FirewallActionArg::Allow,
        protocol: FirewallProtocolArg::Tcp,
        ports: vec!["443".into(), "8000-8100".into(), "9000".into()],
        sources: vec!["10.0.0.0/8".into(), "192.168.0.0/16".into()],
        destinations: vec![],
        target: Some("pool:gpu".into()),
    };
    assert_eq!(
        create,
        Command::Create(CreateKind::FirewallRule(Box::new(expected.clone())))
    );
    let request = commands::create::firewall_rule_request("ml".into(), &expected);
    assert_eq!(
        request,
        fw_pb::CreateFirewallRuleRequest {
            project: "ml".into(),
            cluster: "demo".into(),
            name: "web".into(),
            priority: 100,
            direction: "ingress".into(),
            action: "allow".into(),
            protocol: "tcp".into(),
            ports: vec!["443".into(), "8000-8100".into(), "9000".into()],
            sources: vec!["10.0.0.0/8".into(), "192.168.0.0/16".into()],
            destinations: vec![],
            targets: "pool:gpu".into(),
        }
    );

    // Egress with every protocol and no target: the server's default applies.
    let Command::Create(CreateKind::FirewallRule(args)) = command(&[
        "create",
        "firewall-rule",
        "out",
        "-c",
        "demo",
        "--priority",
        "0",
        "--direction",
        "egress",
        "--action",
        "deny",
        "--protocol",
        "any",
        "--destination",
        "0.0.0.0/0",
    ]) else {
        panic!("not a create firewall-rule");
    };
    let request = commands::create::firewall_rule_request(String::new(), &args);
    assert_eq!(
        (
            request.direction.as_str(),
            request.action.as_str(),
            request.protocol.as_str(),
            request.targets.as_str(),
            request.destinations,
        ),
        ("egress", "deny", "any", "", vec!["0.0.0.0/0".to_owned()])
    );

    // Out-of-range priorities reach the server, which names the field.
    let Command::Create(CreateKind::FirewallRule(args)) = command(&[
        "create",
        "fw",
        "x",
        "-c",
        "demo",
        "--priority",
        "-1",
        "--direction",
        "ingress",
        "--action",
        "allow",
        "--protocol",
        "icmp",
    ]) else {
        panic!("not a create firewall-rule");
    };
    assert_eq!(args.priority, -1);

    let get = commands::get::firewall_rules_request(
        "ml".into(),
        &FirewallRuleQuery {
            cluster: "demo".into(),
        },
    );
    assert_eq!((get.project.as_str(), get.cluster.as_str()), ("ml", "demo"));
    let delete = commands::delete::firewall_rule_request(
        String::new(),
        &DeleteFirewallRuleArgs {
            name: "web".into(),
            cluster: "demo".into(),
        },
    );
    assert_eq!(
        (delete.cluster.as_str(), delete.name.as_str()),
        ("demo", "web")
    );
}

#[test]
fn firewall_rule_arguments_are_checked_by_clap_where_they_are_closed_sets() {
    let base = ["create", "fw", "x", "-c", "demo", "--priority", "1"];
    let with = |extra: &[&'static str]| {
        let mut args = base.to_vec();
        args.extend_from_slice(extra);
        args
    };
    let error = parse_error(&with(&[
        "--direction",
        "inbound",
        "--action",
        "allow",
        "--protocol",
        "tcp",
    ]));
    assert!(error.contains("invalid value 'inbound'"), "{error}");
    assert!(error.contains("ingress, egress"), "{error}");
    let error = parse_error(&with(&[
        "--direction",
        "ingress",
        "--action",
        "drop",
        "--protocol",
        "tcp",
    ]));
    assert!(error.contains("allow, deny"), "{error}");
    let error = parse_error(&with(&[
        "--direction",
        "ingress",
        "--action",
        "allow",
        "--protocol",
        "sctp",
    ]));
    assert!(error.contains("tcp, udp, icmp, any"), "{error}");
    // Every one of them is required, as is the cluster.
    let error = parse_error(&with(&["--direction", "ingress", "--action", "allow"]));
    assert!(error.contains("--protocol"), "{error}");
    let error = parse_error(&["get", "firewall-rules"]);
    assert!(error.contains("--cluster"), "{error}");
}

#[tokio::test]
async fn firewall_rules_are_listed_created_with_warnings_and_deleted() {
    let server = start().await;
    add_cluster(&server, "demo", "cl-01jfake0000000000000demo");

    let (result, out) = accord(
        &server.endpoint,
        Some(TOKEN),
        &[
            "create",
            "firewall-rule",
            "web",
            "--cluster",
            "demo",
            "--priority",
            "100",
            "--direction",
            "ingress",
            "--action",
            "allow",
            "--protocol",
            "tcp",
            "--port",
            "443",
            "--source",
            "0.0.0.0/0",
        ],
    )
    .await;
    assert_eq!(result, Ok(()), "{out:?}");
    let lines: Vec<&str> = out.out.lines().collect();
    assert_eq!(lines[0], "firewallrule/web created", "{}", out.out);
    assert!(lines[1].starts_with("NAME "), "{}", out.out);
    assert!(
        lines[2].starts_with("web    customer   100        ingress     allow    tcp        443     0.0.0.0/0   all-nodes"),
        "{}",
        out.out
    );
    assert_eq!(out.err, "");
    let sent = server.fake.lock().firewall.created[0].clone();
    assert_eq!(
        (
            sent.project.as_str(),
            sent.cluster.as_str(),
            sent.targets.as_str()
        ),
        ("", "demo", "")
    );

    // A deny everything rule: created, with the server's warning on stderr and in the JSON.
    let (result, out) = accord(
        &server.endpoint,
        Some(TOKEN),
        &[
            "create",
            "fw",
            "lockdown",
            "-c",
            "demo",
            "--priority",
            "0",
            "--direction",
            "ingress",
            "--action",
            "deny",
            "--protocol",
            "any",
            "--source",
            "0.0.0.0/0",
            "-o",
            "json",
        ],
    )
    .await;
    assert_eq!(result, Ok(()), "{out:?}");
    let document: serde_json::Value = serde_json::from_str(&out.out).unwrap();
    assert_eq!(document["rule"]["name"], "lockdown");
    assert_eq!(document["rule"]["tier"], "customer");
    assert_eq!(document["rule"]["action"], "deny");
    assert_eq!(document["rule"]["targets"], "all-nodes");
    assert_eq!(document["warnings"][0]["kind"], "provider-override");
    assert!(
        out.err.starts_with(
            "warning: deny from 0.0.0.0/0: has no effect on the kubelet flow the cluster needs"
        ),
        "{}",
        out.err
    );

    let (result, out) = accord(
        &server.endpoint,
        Some(TOKEN),
        &["get", "firewall-rules", "--cluster", "demo"],
    )
    .await;
    assert_eq!(result, Ok(()), "{out:?}");
    let lines: Vec<&str> = out.out.lines().collect();
    assert!(lines[0].starts_with("NAME "), "{}", out.out);
    assert!(
        lines[1].starts_with("accord-kubelet   provider   -"),
        "{}",
        out.out
    );
    assert!(lines[1].ends_with("kubelet"), "{}", out.out);
    assert!(lines[2].starts_with("web "), "{}", out.out);
    assert!(lines[3].starts_with("lockdown "), "{}", out.out);
    assert_eq!(
        lines[5],
        "Rule set: revision 7, applied revision 6, state applying, 1 drift repair"
    );

    let (result, out) = accord(
        &server.endpoint,
        Some(TOKEN),
        &["get", "fw", "-c", "demo", "-o", "json"],
    )
    .await;
    assert_eq!(result, Ok(()), "{out:?}");
    let list: serde_json::Value = serde_json::from_str(&out.out).unwrap();
    let names: Vec<&str> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["accord-kubelet", "web", "lockdown"]);
    assert_eq!(list["items"][0]["flow"], "kubelet");
    assert_eq!(list["status"]["state"], "applying");
    assert_eq!(list["status"]["applied_revision"], 6);

    let (result, out) = accord(
        &server.endpoint,
        Some(TOKEN),
        &["get", "fw", "-c", "demo", "-o", "name"],
    )
    .await;
    assert_eq!(result, Ok(()), "{out:?}");
    assert_eq!(
        out.out,
        "firewallrule/accord-kubelet\nfirewallrule/web\nfirewallrule/lockdown\n"
    );

    let (result, out) = accord(
        &server.endpoint,
        Some(TOKEN),
        &["delete", "firewall-rule", "web", "--cluster", "demo"],
    )
    .await;
    assert_eq!(result, Ok(()), "{out:?}");
    assert_eq!(out.out, "firewallrule/web deleted\n");
    let (result, out) = accord(
        &server.endpoint,
        Some(TOKEN),
        &["delete", "fw", "lockdown", "-c", "demo", "-o", "json"],
    )
    .await;
    assert_eq!(result, Ok(()), "{out:?}");
    let document: serde_json::Value = serde_json::from_str(&out.out).unwrap();
    assert_eq!(
        document,
        serde_json::json!({"name": "lockdown", "cluster": "demo", "deleted": true})
    );
    assert!(server.fake.lock().firewall.customer.is_empty());
    assert_eq!(server.fake.lock().firewall.deleted.len(), 2);
    assert_eq!(server.fake.lock().firewall.listed.len(), 3);
}

#[tokio::test]
async fn firewall_refusals_are_printed_as_the_server_words_them() {
    let server = start().await;
    add_cluster(&server, "demo", "cl-01jfake0000000000000demo");

    let (result, _) = accord(
        &server.endpoint,
        Some(TOKEN),
        &["delete", "fw", "accord-kubelet", "-c", "demo"],
    )
    .await;
    let error = result.unwrap_err();
    assert!(
        error.starts_with("PERMISSION_DENIED: accord-kubelet is a required firewall rule"),
        "{error}"
    );
    // No "use an operator token" hint: nobody may delete a required rule.
    assert!(!error.contains("hint:"), "{error}");

    let create = |name: &'static str| {
        [
            "create",
            "fw",
            name,
            "-c",
            "demo",
            "--priority",
            "1",
            "--direction",
            "ingress",
            "--action",
            "allow",
            "--protocol",
            "icmp",
        ]
    };
    let (result, _) = accord(&server.endpoint, Some(TOKEN), &create("accord-mine")).await;
    assert_eq!(
        result,
        Err(
            "INVALID_ARGUMENT: name: must not start with \"accord-\" (reserved for required rules)"
                .to_owned()
        )
    );
    let (result, _) = accord(&server.endpoint, Some(TOKEN), &create("ping")).await;
    assert_eq!(result, Ok(()));
    let (result, _) = accord(&server.endpoint, Some(TOKEN), &create("ping")).await;
    assert_eq!(
        result,
        Err("ALREADY_EXISTS: firewall rule ping already exists".to_owned())
    );
    let (result, _) = accord(
        &server.endpoint,
        Some(TOKEN),
        &["delete", "fw", "nope", "-c", "demo"],
    )
    .await;
    assert_eq!(
        result,
        Err("NOT_FOUND: firewall rule nope not found".to_owned())
    );
    let (result, _) = accord(&server.endpoint, Some(TOKEN), &["get", "fw", "-c", "other"]).await;
    assert_eq!(result, Err("NOT_FOUND: cluster other not found".to_owned()));
    let (result, _) = accord(&server.endpoint, None, &["get", "fw", "-c", "demo"]).await;
    assert!(result.unwrap_err().starts_with("no API token:"));
}

#[tokio::test]
async fn firewall_commands_use_the_firewall_endpoint_of_the_profile() {
    let server = start().await;
    add_cluster(&server, "demo", "cl-01jfake0000000000000demo");
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("cli.toml");
    // The main endpoint is closed: only the firewall package's endpoint answers.
    std::fs::write(
        &config,
        format!(
            "[profiles.acme]\n\
             endpoint = \"http://127.0.0.1:1\"\n\
             token = \"{TOKEN}\"\n\
             [profiles.acme.endpoints]\n\
             \"{}\" = \"{}\"\n",
            crate::config::FIREWALL_PACKAGE,
            server.endpoint
        ),
    )
    .unwrap();
    let config = config.to_str().unwrap();
    let env = crate::config::Environment {
        cwd: Some(dir.path().to_owned()),
        home: None,
        xdg_config_home: None,
    };
    for args in [
        &["get", "fw", "-c", "demo", "-o", "json"][..],
        &[
            "create",
            "fw",
            "ping",
            "-c",
            "demo",
            "--priority",
            "5",
            "--direction",
            "ingress",
            "--action",
            "allow",
            "--protocol",
            "icmp",
        ][..],
        &["delete", "fw", "ping", "-c", "demo"][..],
    ] {
        let mut argv = vec!["accord", "--config", config, "--profile", "acme"];
        argv.extend_from_slice(&["--project", "ml"]);
        argv.extend_from_slice(args);
        let cli = Cli::try_parse_with_sources(argv).unwrap();
        let settings = crate::config::resolve(&cli.global, &env).unwrap();
        let (printer, captured) = Printer::capture();
        let ctx = Context {
            settings,
            format: cli.global.output,
            printer,
        };
        let result = commands::run(&ctx, cli.command)
            .await
            .map_err(|error| render_error(&error));
        assert_eq!(result, Ok(()), "{args:?}: {:?}", captured.lock().unwrap());
    }
    let state = server.fake.lock();
    assert_eq!(state.firewall.listed[0].project, "ml");
    assert_eq!(state.firewall.created[0].project, "ml");
    assert_eq!(state.firewall.deleted[0].project, "ml");
}

#[test]
fn an_endpoint_without_the_firewall_says_how_to_point_at_it() {
    use crate::client::ApiError;
    let unimplemented = ApiError::from_status("http://127.0.0.1:50051", Status::unimplemented(""));
    let text = render_error(&commands::firewall_error(
        "http://127.0.0.1:50051",
        unimplemented,
    ));
    assert_eq!(
        text,
        "UNIMPLEMENTED\nhint: http://127.0.0.1:50051 does not serve the network-firewall API \
         (accord.firewall.v1): set ACCORD_FIREWALL_ENDPOINT, or endpoints.\"accord.firewall.v1\" \
         in the profile (`accord up` serves it on its own port)"
    );
    // Anything else stays the API's error, with its usual hint.
    let denied = ApiError::from_status("e", Status::permission_denied("required rule"));
    let text = render_error(&commands::firewall_error("e", denied));
    assert!(
        text.starts_with("PERMISSION_DENIED: required rule\nhint: "),
        "{text}"
    );
}
