//! `accord get|create|delete loadbalancer` against a fake of network-firewall's load balancer
//! RPCs (on the parent's fake `Firewall` service): parsing and its aliases, the `--port` parser,
//! request building, the `--wait` judge, and whole commands (create → list → delete, `--wait`
//! until active, refusals as the server words them).
//!
//! The fake allocates the address on the first list after a create and makes the load balancer
//! `active` with healthy backends on the second, so `--wait` sees progress.

use accord_proto::firewall::v1 as fw_pb;
use tonic::{Request, Status};

use super::{command, parse_error};
use crate::cli::{
    Command, CreateKind, CreateLoadBalancerArgs, DeleteKind, DeleteLoadBalancerArgs, GetKind,
    LoadBalancerQuery, WaitArgs, parse_lb_port, parse_whole_seconds,
};
use crate::commands;
use crate::tests::fake_api::{Fake, TOKEN, accord, add_cluster, authorize, start};
use crate::wait::Verdict;

/// The fake's load balancers and what it was asked.
#[derive(Default)]
pub(super) struct LoadBalancers {
    items: Vec<fw_pb::LoadBalancer>,
    /// How many list calls each load balancer has seen (it progresses one step per list).
    steps: Vec<u32>,
    allocated: u32,
    created: Vec<fw_pb::CreateLoadBalancerRequest>,
    listed: Vec<fw_pb::ListLoadBalancersRequest>,
    deleted: Vec<fw_pb::DeleteLoadBalancerRequest>,
}

/// The service's checks as far as the CLI can tell them apart: ranges refused with the field,
/// taken names `ALREADY_EXISTS`, unknown clusters `NOT_FOUND`.
pub(super) fn create(
    fake: &Fake,
    request: Request<fw_pb::CreateLoadBalancerRequest>,
) -> Result<fw_pb::LoadBalancer, Status> {
    authorize(&request)?;
    let r = request.into_inner();
    fake.cluster_id(&r.cluster)?;
    let mut state = fake.lock();
    let lbs = &mut state.firewall.load_balancers;
    lbs.created.push(r.clone());
    if r.ports.is_empty() {
        return Err(Status::invalid_argument(
            "ports: at least one port is needed",
        ));
    }
    for (i, p) in r.ports.iter().enumerate() {
        if !(1..=65_535).contains(&p.port) {
            return Err(Status::invalid_argument(format!(
                "ports[{i}].port: {} is out of range 1-65535",
                p.port
            )));
        }
        if !(30_000..=32_767).contains(&p.node_port) {
            return Err(Status::invalid_argument(format!(
                "ports[{i}].node_port: {} is out of range 30000-32767",
                p.node_port
            )));
        }
    }
    if lbs.items.iter().any(|lb| lb.name == r.name) {
        return Err(Status::already_exists(format!(
            "load balancer {} already exists",
            r.name
        )));
    }
    let lb = fw_pb::LoadBalancer {
        name: r.name.clone(),
        cluster: r.cluster,
        state: "provisioning".into(),
        address: String::new(),
        ports: r.ports,
        source_ranges: r.source_ranges,
        health_check: Some(r.health_check.unwrap_or(fw_pb::HealthCheck {
            interval_seconds: 5,
            timeout_seconds: 5,
            healthy_threshold: 3,
        })),
        backends: Vec::new(),
        firewall_rule: format!("accord-lb-{}", r.name),
        created_at: Some(crate::output::timestamp(time::OffsetDateTime::now_utc())),
        message: String::new(),
    };
    lbs.items.push(lb.clone());
    lbs.steps.push(0);
    Ok(lb)
}

/// Lists, moving every load balancer one step on: the address and two (unhealthy) backends
/// first, then `active` with the backends healthy.
pub(super) fn list(
    fake: &Fake,
    request: Request<fw_pb::ListLoadBalancersRequest>,
) -> Result<fw_pb::ListLoadBalancersResponse, Status> {
    authorize(&request)?;
    let r = request.into_inner();
    fake.cluster_id(&r.cluster)?;
    let mut state = fake.lock();
    let lbs = &mut state.firewall.load_balancers;
    lbs.listed.push(r);
    for (lb, step) in lbs.items.iter_mut().zip(lbs.steps.iter_mut()) {
        *step += 1;
        if *step == 1 {
            lbs.allocated += 1;
            lb.address = format!("203.0.113.{}", 9 + lbs.allocated);
            lb.backends = (1..=2)
                .map(|i| fw_pb::Backend {
                    address: format!("10.0.0.{i}"),
                    node: format!("gpu-a-{i}"),
                    healthy: false,
                })
                .collect();
        } else {
            lb.state = "active".into();
            for backend in &mut lb.backends {
                backend.healthy = true;
            }
        }
    }
    Ok(fw_pb::ListLoadBalancersResponse {
        load_balancers: lbs.items.clone(),
    })
}

pub(super) fn delete(
    fake: &Fake,
    request: Request<fw_pb::DeleteLoadBalancerRequest>,
) -> Result<fw_pb::DeleteLoadBalancerResponse, Status> {
    authorize(&request)?;
    let r = request.into_inner();
    fake.cluster_id(&r.cluster)?;
    let mut state = fake.lock();
    let lbs = &mut state.firewall.load_balancers;
    lbs.deleted.push(r.clone());
    let Some(index) = lbs.items.iter().position(|lb| lb.name == r.name) else {
        return Err(Status::not_found(format!(
            "load balancer {} not found",
            r.name
        )));
    };
    lbs.items.remove(index);
    lbs.steps.remove(index);
    Ok(fw_pb::DeleteLoadBalancerResponse {})
}

fn port(port: u32, protocol: &str, node_port: u32) -> fw_pb::LoadBalancerPort {
    fw_pb::LoadBalancerPort {
        port,
        protocol: protocol.into(),
        node_port,
    }
}

#[test]
fn load_balancer_commands_parse_with_their_aliases() {
    for alias in [
        "loadbalancer",
        "loadbalancers",
        "load-balancer",
        "load-balancers",
        "lb",
        "lbs",
    ] {
        assert_eq!(
            command(&["get", alias, "--cluster", "demo"]),
            Command::Get(GetKind::Loadbalancer(LoadBalancerQuery {
                cluster: "demo".into()
            }))
        );
        assert_eq!(
            command(&["delete", alias, "web", "-c", "demo"]),
            Command::Delete(DeleteKind::Loadbalancer(DeleteLoadBalancerArgs {
                name: "web".into(),
                cluster: "demo".into(),
            }))
        );
        assert!(matches!(
            command(&["create", alias, "web", "-c", "demo", "--port", "443:30443"]),
            Command::Create(CreateKind::Loadbalancer(_))
        ));
    }

    let Command::Create(CreateKind::Loadbalancer(args)) = command(&[
        "create",
        "loadbalancer",
        "web",
        "--cluster",
        "demo",
        "--port",
        "443:30443",
        "--port",
        "80:30080/tcp,53:30053/udp",
        "--source-range",
        "10.0.0.0/8",
        "--source-range",
        "192.168.0.0/16,172.16.0.0/12",
        "--health-interval",
        "10s",
        "--health-timeout",
        "2",
        "--healthy-threshold",
        "2",
        "--wait",
        "--timeout",
        "90s",
    ]) else {
        panic!("not a create loadbalancer");
    };
    let expected = CreateLoadBalancerArgs {
        name: "web".into(),
        cluster: "demo".into(),
        ports: vec![
            port(443, "tcp", 30443),
            port(80, "tcp", 30080),
            port(53, "udp", 30053),
        ],
        source_ranges: vec![
            "10.0.0.0/8".into(),
            "192.168.0.0/16".into(),
            "172.16.0.0/12".into(),
        ],
        health_interval: Some(10),
        health_timeout: Some(2),
        healthy_threshold: Some(2),
        wait: WaitArgs {
            wait: true,
            timeout: std::time::Duration::from_secs(90),
        },
    };
    assert_eq!(*args, expected);
    assert_eq!(
        commands::create::load_balancer_request("ml".into(), &args),
        fw_pb::CreateLoadBalancerRequest {
            project: "ml".into(),
            cluster: "demo".into(),
            name: "web".into(),
            ports: expected.ports.clone(),
            source_ranges: expected.source_ranges.clone(),
            health_check: Some(fw_pb::HealthCheck {
                interval_seconds: 10,
                timeout_seconds: 2,
                healthy_threshold: 2,
            }),
        }
    );

    // The least: one port; no health flag sends no health check (the server's defaults), and
    // --wait waits as long as the other commands' (10m).
    let Command::Create(CreateKind::Loadbalancer(args)) =
        command(&["create", "lb", "web", "-c", "demo", "--port", "443:30443"])
    else {
        panic!("not a create loadbalancer");
    };
    assert_eq!(args.wait.timeout, std::time::Duration::from_secs(600));
    assert!(!args.wait.wait);
    let request = commands::create::load_balancer_request(String::new(), &args);
    assert_eq!(request.ports, [port(443, "tcp", 30443)]);
    assert!(request.source_ranges.is_empty());
    assert_eq!(request.health_check, None);
    // One health flag: the others are 0, the server's defaults.
    let Command::Create(CreateKind::Loadbalancer(args)) = command(&[
        "create",
        "lb",
        "web",
        "-c",
        "demo",
        "--port",
        "443:30443",
        "--healthy-threshold",
        "5",
    ]) else {
        panic!("not a create loadbalancer");
    };
    assert_eq!(
        commands::create::load_balancer_request(String::new(), &args).health_check,
        Some(fw_pb::HealthCheck {
            interval_seconds: 0,
            timeout_seconds: 0,
            healthy_threshold: 5,
        })
    );

    let get = commands::get::load_balancers_request(
        "ml".into(),
        &LoadBalancerQuery {
            cluster: "demo".into(),
        },
    );
    assert_eq!((get.project.as_str(), get.cluster.as_str()), ("ml", "demo"));
    let delete = commands::delete::load_balancer_request(
        "ml".into(),
        &DeleteLoadBalancerArgs {
            name: "web".into(),
            cluster: "demo".into(),
        },
    );
    assert_eq!(
        (
            delete.project.as_str(),
            delete.cluster.as_str(),
            delete.name.as_str()
        ),
        ("ml", "demo", "web")
    );
}

#[test]
fn the_port_parser_takes_port_node_port_and_protocol_exactly() {
    assert_eq!(parse_lb_port("443:30443"), Ok(port(443, "tcp", 30443)));
    assert_eq!(parse_lb_port("443:30443/tcp"), Ok(port(443, "tcp", 30443)));
    assert_eq!(parse_lb_port("53:30053/udp"), Ok(port(53, "udp", 30053)));
    // Ranges are the server's: it names the field.
    assert_eq!(parse_lb_port("0:80"), Ok(port(0, "tcp", 80)));
    assert_eq!(
        parse_lb_port("70000:30000"),
        Ok(port(70_000, "tcp", 30_000))
    );

    let expected = "expected PORT:NODE_PORT[/tcp|udp], e.g. 443:30443 or 53:30053/udp";
    for (input, why) in [
        ("443", "(got \"443\", which has no ':NODE_PORT')"),
        ("443/tcp", "(got \"443/tcp\", which has no ':NODE_PORT')"),
        (":30443", "(got \":30443\", whose port is missing)"),
        ("443:", "(got \"443:\", whose NodePort is missing)"),
        (
            "443:30443/sctp",
            "(got \"443:30443/sctp\", whose protocol \"sctp\" is neither tcp nor udp)",
        ),
        (
            "443:30443/TCP",
            "(got \"443:30443/TCP\", whose protocol \"TCP\" is neither tcp nor udp)",
        ),
        (
            "443:30443/",
            "(got \"443:30443/\", whose protocol \"\" is neither tcp nor udp)",
        ),
        (
            "https:30443",
            "(got \"https:30443\", whose port \"https\" is not a number)",
        ),
        (
            "443:30443:1",
            "(got \"443:30443:1\", whose NodePort \"30443:1\" is not a number)",
        ),
        (
            "-1:30443",
            "(got \"-1:30443\", whose port \"-1\" is not a number)",
        ),
        (
            "+443:30443",
            "(got \"+443:30443\", whose port \"+443\" is not a number)",
        ),
        (
            " 443:30443",
            "(got \" 443:30443\", whose port \" 443\" is not a number)",
        ),
        (
            "443:99999999999",
            "(got \"443:99999999999\", whose NodePort 99999999999 is far too large)",
        ),
        ("", "(got \"\", which has no ':NODE_PORT')"),
    ] {
        assert_eq!(
            parse_lb_port(input),
            Err(format!("{expected} {why}")),
            "{input:?}"
        );
    }

    // Through clap the error names the flag, and a create needs at least one port.
    let error = parse_error(&["create", "lb", "web", "-c", "demo", "--port", "443"]);
    assert!(error.contains("invalid value '443' for '--port"), "{error}");
    assert!(error.contains("which has no ':NODE_PORT'"), "{error}");
    let error = parse_error(&["create", "lb", "web", "-c", "demo"]);
    assert!(error.contains("--port"), "{error}");
    let error = parse_error(&["get", "lb"]);
    assert!(error.contains("--cluster"), "{error}");
    let error = parse_error(&["delete", "lb", "-c", "demo"]);
    assert!(error.contains("<NAME>"), "{error}");
}

#[test]
fn health_flags_are_whole_seconds_and_never_zero() {
    assert_eq!(parse_whole_seconds("5s"), Ok(5));
    assert_eq!(parse_whole_seconds("5"), Ok(5));
    assert_eq!(parse_whole_seconds("1m"), Ok(60));
    assert_eq!(parse_whole_seconds("2000ms"), Ok(2));
    assert!(
        parse_whole_seconds("1500ms")
            .unwrap_err()
            .contains("whole seconds")
    );
    assert!(
        parse_whole_seconds("0s")
            .unwrap_err()
            .contains("at least 1s")
    );
    assert!(
        parse_whole_seconds("soon")
            .unwrap_err()
            .contains("duration")
    );
    let base = ["create", "lb", "web", "-c", "demo", "--port", "443:30443"];
    let with = |extra: &[&'static str]| {
        let mut args = base.to_vec();
        args.extend_from_slice(extra);
        args
    };
    let error = parse_error(&with(&["--health-interval", "0s"]));
    assert!(error.contains("'--health-interval"), "{error}");
    let error = parse_error(&with(&["--health-timeout", "0.5s"]));
    assert!(error.contains("'--health-timeout"), "{error}");
    let error = parse_error(&with(&["--healthy-threshold", "0"]));
    assert!(error.contains("'--healthy-threshold"), "{error}");
}

#[test]
fn wait_judge_is_done_when_active_with_an_address() {
    let mut judge = commands::create::load_balancer_active("web");
    let mut lb = fw_pb::LoadBalancer {
        name: "web".into(),
        state: "provisioning".into(),
        ..Default::default()
    };
    let pending = |summary: &str| {
        Verdict::Pending(crate::wait::Observation {
            summary: summary.into(),
            progress: None,
        })
    };
    assert_eq!(
        judge(Some(&lb)),
        pending("provisioning, no address yet, 0/0 backends healthy")
    );
    lb.address = "203.0.113.10".into();
    lb.backends = vec![fw_pb::Backend {
        address: "10.0.0.1".into(),
        node: "gpu-a-1".into(),
        healthy: false,
    }];
    lb.message = "health check: connection refused".into();
    assert_eq!(
        judge(Some(&lb)),
        pending(
            "provisioning, address 203.0.113.10, 0/1 backends healthy; last error: health check: connection refused"
        )
    );
    // Active without an address is not done yet.
    lb.state = "active".into();
    lb.address.clear();
    assert!(matches!(judge(Some(&lb)), Verdict::Pending(_)));
    lb.address = "203.0.113.10".into();
    assert_eq!(
        judge(Some(&lb)),
        Verdict::Done("loadbalancer/web is active at 203.0.113.10 (0/1 healthy backends)".into())
    );
    lb.state = "deleting".into();
    assert!(matches!(judge(Some(&lb)), Verdict::Failed(_)));
    assert_eq!(
        judge(None),
        Verdict::Failed("load balancer web no longer exists".into())
    );
}

#[tokio::test]
async fn load_balancers_are_created_listed_and_deleted() {
    let server = start().await;
    add_cluster(&server, "demo", "cl-01jfake0000000000000demo");

    let (result, out) = accord(
        &server.endpoint,
        Some(TOKEN),
        &[
            "create",
            "loadbalancer",
            "web",
            "--cluster",
            "demo",
            "--port",
            "443:30443",
            "--port",
            "80:30080",
            "--source-range",
            "10.0.0.0/8",
        ],
    )
    .await;
    assert_eq!(result, Ok(()), "{out:?}");
    let lines: Vec<&str> = out.out.lines().collect();
    assert_eq!(lines.len(), 3, "{}", out.out);
    assert_eq!(lines[0], "loadbalancer/web created");
    assert!(lines[1].starts_with("NAME   STATE "), "{}", out.out);
    assert!(
        lines[2].starts_with(
            "web    provisioning   -         443→30443/tcp,80→30080/tcp   10.0.0.0/8   0/0 healthy   "
        ),
        "{}",
        out.out
    );
    assert_eq!(out.err, "");
    let sent = server.fake.lock().firewall.load_balancers.created[0].clone();
    assert_eq!(
        (
            sent.project.as_str(),
            sent.cluster.as_str(),
            sent.health_check
        ),
        ("", "demo", None)
    );

    // The first list allocates the address; the table says so.
    let (result, out) = accord(
        &server.endpoint,
        Some(TOKEN),
        &["get", "loadbalancers", "--cluster", "demo"],
    )
    .await;
    assert_eq!(result, Ok(()), "{out:?}");
    let lines: Vec<&str> = out.out.lines().collect();
    assert_eq!(
        lines[0].split_whitespace().collect::<Vec<_>>(),
        [
            "NAME", "STATE", "ADDRESS", "PORTS", "SOURCES", "BACKENDS", "AGE"
        ]
    );
    assert!(
        lines[1].starts_with(
            "web    provisioning   203.0.113.10   443→30443/tcp,80→30080/tcp   10.0.0.0/8   0/2 healthy   "
        ),
        "{}",
        out.out
    );

    // A second one, with --wait, in JSON: one document, the active load balancer.
    let (result, out) = accord(
        &server.endpoint,
        Some(TOKEN),
        &[
            "create",
            "lb",
            "dns",
            "-c",
            "demo",
            "--port",
            "53:30053/udp",
            "--health-interval",
            "10s",
            "--wait",
            "-o",
            "json",
        ],
    )
    .await;
    assert_eq!(result, Ok(()), "{out:?}");
    let document: serde_json::Value = serde_json::from_str(&out.out).unwrap();
    assert_eq!(document["name"], "dns");
    assert_eq!(document["state"], "active");
    assert_eq!(document["address"], "203.0.113.11");
    assert_eq!(
        document["ports"],
        serde_json::json!([{"port": 53, "protocol": "udp", "node_port": 30053}])
    );
    assert_eq!(
        document["health_check"],
        serde_json::json!({"interval_seconds": 10, "timeout_seconds": 0, "healthy_threshold": 0})
    );
    assert_eq!(document["backends"][1]["healthy"], true);
    assert_eq!(document["firewall_rule"], "accord-lb-dns");
    assert!(
        out.err
            .contains("waiting for loadbalancer dns to become active: provisioning, address 203.0.113.11, 0/2 backends healthy"),
        "{}",
        out.err
    );

    let (result, out) = accord(
        &server.endpoint,
        Some(TOKEN),
        &["get", "lb", "-c", "demo", "-o", "json"],
    )
    .await;
    assert_eq!(result, Ok(()), "{out:?}");
    let list: serde_json::Value = serde_json::from_str(&out.out).unwrap();
    let items = list["items"].as_array().unwrap();
    assert_eq!(list.as_object().unwrap().len(), 1, "only items: {list}");
    let names: Vec<&str> = items
        .iter()
        .map(|lb| lb["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["web", "dns"]);
    assert_eq!(items[0]["source_ranges"], serde_json::json!(["10.0.0.0/8"]));
    assert_eq!(items[0]["state"], "active");
    assert_eq!(items[0]["cluster"], "demo");

    let (result, out) = accord(
        &server.endpoint,
        Some(TOKEN),
        &["get", "lbs", "-c", "demo", "-o", "name"],
    )
    .await;
    assert_eq!(result, Ok(()), "{out:?}");
    assert_eq!(out.out, "loadbalancer/web\nloadbalancer/dns\n");

    let (result, out) = accord(
        &server.endpoint,
        Some(TOKEN),
        &["delete", "loadbalancer", "web", "--cluster", "demo"],
    )
    .await;
    assert_eq!(result, Ok(()), "{out:?}");
    assert_eq!(out.out, "loadbalancer/web deleted\n");
    let (result, out) = accord(
        &server.endpoint,
        Some(TOKEN),
        &["delete", "lb", "dns", "-c", "demo", "-o", "json"],
    )
    .await;
    assert_eq!(result, Ok(()), "{out:?}");
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&out.out).unwrap(),
        serde_json::json!({"name": "dns", "cluster": "demo", "deleted": true})
    );
    let (result, out) = accord(&server.endpoint, Some(TOKEN), &["get", "lb", "-c", "demo"]).await;
    assert_eq!(result, Ok(()), "{out:?}");
    assert_eq!(out.out, "");
    assert_eq!(out.err, "No load balancers found in cluster demo.\n");

    let state = server.fake.lock();
    let lbs = &state.firewall.load_balancers;
    assert!(lbs.items.is_empty());
    assert_eq!(lbs.deleted.len(), 2);
    assert_eq!(lbs.created.len(), 2);
    // get, two polls of --wait, get -o json, get -o name, the empty get.
    assert_eq!(lbs.listed.len(), 6);
}

#[tokio::test]
async fn load_balancer_refusals_are_printed_as_the_server_words_them() {
    let server = start().await;
    add_cluster(&server, "demo", "cl-01jfake0000000000000demo");

    let (result, out) = accord(
        &server.endpoint,
        Some(TOKEN),
        &["delete", "lb", "nope", "-c", "demo"],
    )
    .await;
    assert_eq!(
        result,
        Err("NOT_FOUND: load balancer nope not found".to_owned())
    );
    assert_eq!(out.out, "");

    let create = |port: &'static str| ["create", "lb", "web", "-c", "demo", "--port", port];
    let (result, _) = accord(&server.endpoint, Some(TOKEN), &create("443:80")).await;
    assert_eq!(
        result,
        Err("INVALID_ARGUMENT: ports[0].node_port: 80 is out of range 30000-32767".to_owned())
    );
    let (result, _) = accord(&server.endpoint, Some(TOKEN), &create("443:30443")).await;
    assert_eq!(result, Ok(()));
    let (result, _) = accord(&server.endpoint, Some(TOKEN), &create("443:30443")).await;
    assert_eq!(
        result,
        Err("ALREADY_EXISTS: load balancer web already exists".to_owned())
    );
    let (result, _) = accord(&server.endpoint, Some(TOKEN), &["get", "lb", "-c", "other"]).await;
    assert_eq!(result, Err("NOT_FOUND: cluster other not found".to_owned()));
    let (result, _) = accord(&server.endpoint, None, &["get", "lb", "-c", "demo"]).await;
    assert!(result.unwrap_err().starts_with("no API token:"));

    // --wait gives up at --timeout, saying what it waited for; the load balancer stays.
    let (result, out) = accord(
        &server.endpoint,
        Some(TOKEN),
        &[
            "create",
            "lb",
            "slow",
            "-c",
            "demo",
            "--port",
            "80:30080",
            "--wait",
            "--timeout",
            "1ms",
        ],
    )
    .await;
    let error = result.unwrap_err();
    assert!(error.starts_with("timed out after"), "{error}");
    assert!(
        error.contains("waiting for loadbalancer slow to become active"),
        "{error}"
    );
    assert_eq!(out.out, "loadbalancer/slow created\n");
}
