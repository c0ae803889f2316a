//! Every command parses (with its aliases), and bad input is refused with a usable message.

use std::path::PathBuf;
use std::time::Duration;

use clap::error::ErrorKind;

use crate::cli::*;

fn parse(args: &[&str]) -> Cli {
    let mut argv = vec!["accord"];
    argv.extend_from_slice(args);
    match Cli::try_parse_with_sources(argv) {
        Ok(cli) => cli,
        Err(error) => panic!("{args:?} did not parse:\n{error}"),
    }
}

fn command(args: &[&str]) -> Command {
    parse(args).command
}

fn parse_error(args: &[&str]) -> clap::Error {
    let mut argv = vec!["accord"];
    argv.extend_from_slice(args);
    match Cli::try_parse_with_sources(argv) {
        Ok(cli) => panic!("{args:?} parsed but should not have: {cli:?}"),
        Err(error) => error,
    }
}

const NO_WAIT: WaitArgs = WaitArgs {
    wait: false,
    timeout: Duration::from_secs(600),
};

#[test]
fn get_every_kind_with_aliases() {
    for alias in ["remediation", "remediations", "rem"] {
        assert_eq!(
            command(&["get", alias, "--cluster", "demo"]),
            Command::Get(GetKind::Remediation(crate::cli::RemediationQuery {
                cluster: "demo".into(),
                state: None,
                limit: 100,
            }))
        );
    }
    assert_eq!(
        command(&[
            "get", "rem", "-c", "demo", "--state", "held", "--limit", "7"
        ]),
        Command::Get(GetKind::Remediation(crate::cli::RemediationQuery {
            cluster: "demo".into(),
            state: Some("held".into()),
            limit: 7,
        }))
    );
    for alias in ["cluster", "clusters", "cl"] {
        assert_eq!(
            command(&["get", alias]),
            Command::Get(GetKind::Cluster(ClusterQuery {
                name: None,
                list: ListOptions::default()
            }))
        );
    }
    assert_eq!(
        command(&["get", "cluster", "demo"]),
        Command::Get(GetKind::Cluster(ClusterQuery {
            name: Some("demo".into()),
            list: ListOptions::default()
        }))
    );
    for alias in ["nodepool", "nodepools", "np"] {
        assert_eq!(
            command(&["get", alias, "--cluster", "demo"]),
            Command::Get(GetKind::Nodepool(PoolQuery {
                name: None,
                cluster: Some("demo".into()),
                list: ListOptions::default()
            }))
        );
    }
    assert_eq!(
        command(&["get", "np", "gpu", "-c", "demo"]),
        Command::Get(GetKind::Nodepool(PoolQuery {
            name: Some("gpu".into()),
            cluster: Some("demo".into()),
            list: ListOptions::default()
        }))
    );
    for alias in ["node", "nodes", "no"] {
        assert_eq!(
            command(&["get", alias, "--cluster", "demo", "--pool", "gpu"]),
            Command::Get(GetKind::Node(NodeQuery {
                name: None,
                cluster: Some("demo".into()),
                pool: Some("gpu".into()),
                list: ListOptions::default()
            }))
        );
    }
    for alias in ["project", "projects"] {
        assert!(matches!(
            command(&["get", alias]),
            Command::Get(GetKind::Project(_))
        ));
    }
    for alias in ["member", "members"] {
        assert!(matches!(
            command(&["get", alias]),
            Command::Get(GetKind::Member(_))
        ));
    }
    for alias in ["apikey", "apikeys", "key", "keys"] {
        assert!(matches!(
            command(&["get", alias]),
            Command::Get(GetKind::Apikey(_))
        ));
    }
}

#[test]
fn describe_every_kind() {
    for alias in ["remediation", "remediations", "rem"] {
        assert_eq!(
            command(&["describe", alias, "rem-01jd6v3xq5n8c7m2k4p9r0s1t2"]),
            Command::Describe(DescribeKind::Remediation(crate::cli::RemediationRef {
                id: "rem-01jd6v3xq5n8c7m2k4p9r0s1t2".into(),
            }))
        );
    }
    assert_eq!(
        command(&["describe", "cl", "demo"]),
        Command::Describe(DescribeKind::Cluster(Name {
            name: "demo".into()
        }))
    );
    assert_eq!(
        command(&["describe", "np", "gpu", "--cluster", "demo"]),
        Command::Describe(DescribeKind::Nodepool(PoolRef {
            name: "gpu".into(),
            cluster: Some("demo".into())
        }))
    );
    assert_eq!(
        command(&["describe", "no", "gpu-x1"]),
        Command::Describe(DescribeKind::Node(NodeRef {
            name: "gpu-x1".into(),
            cluster: None
        }))
    );
    assert!(matches!(
        command(&["describe", "project", "ml"]),
        Command::Describe(DescribeKind::Project(_))
    ));
    assert!(matches!(
        command(&["describe", "member", "a@example.com"]),
        Command::Describe(DescribeKind::Member(_))
    ));
    assert!(matches!(
        command(&["describe", "key", "ci"]),
        Command::Describe(DescribeKind::Apikey(_))
    ));
    assert_eq!(
        parse_error(&["describe", "cluster"]).kind(),
        ErrorKind::MissingRequiredArgument
    );
}

#[test]
fn create_project_member_apikey() {
    assert_eq!(
        command(&["create", "project", "ml", "--label", "tier=gold"]),
        Command::Create(CreateKind::Project(CreateProjectArgs {
            name: "ml".into(),
            labels: vec![("tier".into(), "gold".into())],
        }))
    );
    assert_eq!(
        command(&["create", "member", "bob@example.com", "--role", "editor"]),
        Command::Create(CreateKind::Member(CreateMemberArgs {
            user: "bob@example.com".into(),
            role: RoleArg::Editor,
        }))
    );
    assert_eq!(
        command(&["create", "key", "ci", "--user", "bot@example.com"]),
        Command::Create(CreateKind::Apikey(CreateApiKeyArgs {
            name: "ci".into(),
            user: Some("bot@example.com".into()),
        }))
    );
    let error = parse_error(&["create", "member", "bob", "--role", "owner"]);
    assert_eq!(error.kind(), ErrorKind::InvalidValue);
    assert!(error.to_string().contains("admin"), "{error}");
    assert_eq!(
        parse_error(&["create", "member", "bob"]).kind(),
        ErrorKind::MissingRequiredArgument
    );
}

#[test]
fn create_cluster_defaults_and_wait() {
    let Command::Create(CreateKind::Cluster(args)) = command(&["create", "cluster", "demo"]) else {
        panic!("not create cluster");
    };
    assert_eq!(args.kubernetes_version, None);
    assert_eq!(args.region, None);
    assert_eq!(args.vpc_subnet, "10.0.0.0/16");
    assert_eq!(args.pod_cidr, "10.244.0.0/16");
    assert_eq!(args.service_cidr, "10.96.0.0/12");
    assert_eq!(args.node_cidr_mask_size, 24);
    assert_eq!(args.wait, NO_WAIT);

    let Command::Create(CreateKind::Cluster(args)) = command(&[
        "create",
        "cl",
        "demo",
        "--kubernetes-version",
        "1.32",
        "--region",
        "eu-iceland1",
        "--node-cidr-mask-size",
        "25",
        "--remediation",
        "--wait",
        "--timeout",
        "20m",
    ]) else {
        panic!("not create cluster");
    };
    assert_eq!(args.kubernetes_version.as_deref(), Some("1.32"));
    assert_eq!(args.node_cidr_mask_size, 25);
    assert!(args.remediation);
    assert_eq!(
        args.wait,
        WaitArgs {
            wait: true,
            timeout: Duration::from_secs(1200)
        }
    );
}

#[test]
fn create_cluster_refusals() {
    let error = parse_error(&["create", "cluster", "demo", "--oidc-client-id", "kube"]);
    assert_eq!(error.kind(), ErrorKind::MissingRequiredArgument);
    assert!(error.to_string().contains("--oidc-issuer-url"), "{error}");
    let error = parse_error(&["create", "cluster", "demo", "--label", "team"]);
    assert_eq!(error.kind(), ErrorKind::ValueValidation);
    assert!(error.to_string().contains("expected KEY=VALUE"), "{error}");
    let error = parse_error(&["create", "cluster", "demo", "--max-unhealthy-percent", "0"]);
    assert_eq!(error.kind(), ErrorKind::ValueValidation);
    let error = parse_error(&["create", "cluster", "demo", "--addon", "flannel"]);
    assert_eq!(error.kind(), ErrorKind::InvalidValue);
    assert!(error.to_string().contains("nvidia-gpu-operator"), "{error}");
    let error = parse_error(&["create", "cluster", "demo", "--wait", "--timeout", "soon"]);
    assert!(error.to_string().contains("90s, 10m or 1h30m"), "{error}");
}

#[test]
fn create_nodepool_refusals() {
    let base = [
        "create",
        "np",
        "gpu",
        "--cluster",
        "demo",
        "--instance-type",
        "x",
    ];
    let with = |extra: &[&'static str]| -> Vec<&'static str> {
        let mut args = base.to_vec();
        args.extend_from_slice(extra);
        args
    };
    assert!(matches!(
        command(&with(&["--count", "2"])),
        Command::Create(CreateKind::Nodepool(_))
    ));
    let error = parse_error(&with(&["--taint", "dedicated=ml"]));
    assert_eq!(error.kind(), ErrorKind::ValueValidation);
    assert!(error.to_string().contains("KEY[=VALUE]:EFFECT"), "{error}");
    let error = parse_error(&with(&["--taint", "dedicated=ml:Never"]));
    assert!(
        error
            .to_string()
            .contains("NoSchedule, PreferNoSchedule, NoExecute"),
        "{error}"
    );
    let error = parse_error(&with(&["--node-label", "bad key=x"]));
    assert_eq!(error.kind(), ErrorKind::ValueValidation);
    assert_eq!(
        parse_error(&with(&["--min", "1"])).kind(),
        ErrorKind::MissingRequiredArgument
    );
    parse_error(&with(&["--count", "-1"]));
    assert_eq!(
        parse_error(&["create", "np", "gpu", "--cluster", "demo"]).kind(),
        ErrorKind::MissingRequiredArgument
    );
}

#[test]
fn delete_every_kind() {
    assert_eq!(
        command(&["delete", "cluster", "demo", "--wait", "--timeout", "5m"]),
        Command::Delete(DeleteKind::Cluster(DeleteClusterArgs {
            name: "demo".into(),
            wait: WaitArgs {
                wait: true,
                timeout: Duration::from_secs(300)
            },
        }))
    );
    assert_eq!(
        command(&["delete", "np", "gpu", "--cluster", "demo"]),
        Command::Delete(DeleteKind::Nodepool(DeletePoolArgs {
            name: "gpu".into(),
            cluster: "demo".into(),
            wait: NO_WAIT,
        }))
    );
    assert_eq!(
        command(&["delete", "member", "bob"]),
        Command::Delete(DeleteKind::Member(Name { name: "bob".into() }))
    );
    assert_eq!(
        command(&["delete", "apikey", "ci"]),
        Command::Delete(DeleteKind::Apikey(Name { name: "ci".into() }))
    );
    assert_eq!(
        parse_error(&["delete", "np", "gpu"]).kind(),
        ErrorKind::MissingRequiredArgument
    );
}

#[test]
fn scale_and_cycle() {
    assert_eq!(
        command(&[
            "scale",
            "np",
            "gpu",
            "--cluster",
            "demo",
            "--count",
            "4",
            "--wait"
        ]),
        Command::Scale(ScaleKind::Nodepool(ScaleArgs {
            name: "gpu".into(),
            cluster: "demo".into(),
            count: 4,
            wait: WaitArgs {
                wait: true,
                timeout: Duration::from_secs(600)
            },
        }))
    );
    assert_eq!(
        parse_error(&["scale", "np", "gpu", "--cluster", "demo"]).kind(),
        ErrorKind::MissingRequiredArgument
    );
    assert_eq!(
        command(&[
            "cycle",
            "nodepool",
            "gpu",
            "-c",
            "demo",
            "--image-version",
            "2026.11"
        ]),
        Command::Cycle(CycleKind::Nodepool(CycleArgs {
            name: "gpu".into(),
            cluster: "demo".into(),
            image_version: Some("2026.11".into()),
            wait: NO_WAIT,
        }))
    );
}

#[test]
fn upgrade_nodes_kubeconfig_whoami() {
    assert_eq!(
        command(&["upgrade", "request", "demo", "--kubernetes-version", "1.33"]),
        Command::Upgrade(UpgradeCommand::Request(UpgradeRequestArgs {
            cluster: "demo".into(),
            kubernetes_version: Some("1.33".into()),
        }))
    );
    assert!(matches!(
        command(&["upgrade", "execute", "demo", "--wait"]),
        Command::Upgrade(UpgradeCommand::Execute(UpgradeExecuteArgs {
            wait: WaitArgs { wait: true, .. },
            ..
        }))
    ));
    assert_eq!(
        command(&["cordon", "gpu-x1", "--cluster", "demo"]),
        Command::Cordon(NodeTarget {
            node: "gpu-x1".into(),
            cluster: "demo".into()
        })
    );
    assert!(matches!(
        command(&["uncordon", "gpu-x1", "-c", "demo"]),
        Command::Uncordon(_)
    ));
    assert_eq!(
        parse_error(&["cordon", "gpu-x1"]).kind(),
        ErrorKind::MissingRequiredArgument
    );
    assert_eq!(
        command(&["kubeconfig", "demo", "--file", "/tmp/kc"]),
        Command::Kubeconfig(KubeconfigArgs {
            cluster: "demo".into(),
            file: Some(PathBuf::from("/tmp/kc")),
            print: false,
            static_cert: false,
        })
    );
    assert_eq!(
        command(&["kubeconfig", "demo", "--static", "--print"]),
        Command::Kubeconfig(KubeconfigArgs {
            cluster: "demo".into(),
            file: None,
            print: true,
            static_cert: true,
        })
    );
    assert_eq!(
        parse_error(&["kubeconfig", "demo", "--print", "--file", "x"]).kind(),
        ErrorKind::ArgumentConflict
    );
    assert_eq!(command(&["whoami"]), Command::Whoami);
}

#[test]
fn catalog_quota_events_sim() {
    assert_eq!(
        command(&["catalog", "versions"]),
        Command::Catalog(CatalogKind::Versions)
    );
    assert_eq!(
        command(&["catalog", "regions"]),
        Command::Catalog(CatalogKind::Regions)
    );
    for alias in ["instance-types", "types"] {
        assert_eq!(
            command(&["catalog", alias]),
            Command::Catalog(CatalogKind::InstanceTypes)
        );
    }
    assert_eq!(
        command(&["catalog", "images"]),
        Command::Catalog(CatalogKind::Images)
    );
    assert_eq!(
        command(&["quota", "set", "ml", "--gpus", "64"]),
        Command::Quota(QuotaCommand::Set(QuotaSetArgs {
            name: "ml".into(),
            gpus: 64
        }))
    );
    assert_eq!(
        command(&["events", "watch", "--resource", "cluster", "--all"]),
        Command::Events(EventsCommand::Watch(EventsWatchArgs {
            resource: Some("cluster".into()),
            id: None,
            project_id: None,
            all: true,
        }))
    );
    assert_eq!(
        command(&["events", "watch", "--project-id", "prj-1"]),
        Command::Events(EventsCommand::Watch(EventsWatchArgs {
            resource: None,
            id: None,
            project_id: Some("prj-1".into()),
            all: false,
        }))
    );
    assert_eq!(
        parse_error(&["events", "watch", "--id", "cl-1"]).kind(),
        ErrorKind::MissingRequiredArgument
    );
    assert_eq!(command(&["sim", "list"]), Command::Sim(SimCommand::List));
    assert_eq!(
        command(&[
            "sim", "inject", "gpu-xid", "n1", "--gpu", "3", "--xid", "79"
        ]),
        Command::Sim(SimCommand::Inject(Fault::GpuXid {
            node: "n1".into(),
            gpu: 3,
            xid: 79
        }))
    );
}

#[test]
fn up_and_bench() {
    let Command::Up(args) = command(&["up"]) else {
        panic!("not up");
    };
    assert_eq!(args.data_dir, PathBuf::from(".accord"));
    assert_eq!(args.grpc_addr.to_string(), "127.0.0.1:50051");
    assert_eq!(args.metrics_addr.to_string(), "127.0.0.1:9464");
    assert_eq!(args.nats_url, DEFAULT_NATS_URL);
    assert!((args.clock_factor - 0.02).abs() < f64::EPSILON);
    assert!(!args.no_nats);
    let Command::Up(args) = command(&[
        "up",
        "--data-dir",
        "/tmp/a",
        "--grpc-addr",
        "0.0.0.0:6000",
        "--clock-factor",
        "1",
        "--no-nats",
        "--nats-url",
        "nats://10.0.0.1:4222",
    ]) else {
        panic!("not up");
    };
    assert_eq!(args.grpc_addr.port(), 6000);
    assert!(args.no_nats);
    assert_eq!(
        parse_error(&["up", "--grpc-addr", "nowhere"]).kind(),
        ErrorKind::ValueValidation
    );
}

#[test]
fn nats_credentials() {
    assert_eq!(
        command(&["nats-credentials", "--dir", "/etc/accord/nats-keys"]),
        Command::NatsCredentials(NatsCredentialsArgs {
            keys_dir: PathBuf::from("/etc/accord/nats-keys"),
            auth_config: None,
        })
    );
    assert_eq!(
        command(&[
            "nats-credentials",
            "--dir",
            "keys",
            "--auth-config",
            "/etc/accord/accord-auth.conf",
            "-o",
            "json",
        ]),
        Command::NatsCredentials(NatsCredentialsArgs {
            keys_dir: PathBuf::from("keys"),
            auth_config: Some(PathBuf::from("/etc/accord/accord-auth.conf")),
        })
    );
    assert_eq!(
        parse_error(&["nats-credentials"]).kind(),
        ErrorKind::MissingRequiredArgument
    );
}

#[test]
fn global_options_before_or_after_the_command() {
    let cli = parse(&[
        "--endpoint",
        "http://10.0.0.1:50051",
        "-o",
        "json",
        "get",
        "clusters",
        "--project",
        "ml",
        "--token",
        "accord_x_y",
        "--nats-url",
        "nats://n:4222",
        "--profile",
        "operator",
    ]);
    assert_eq!(
        cli.global.endpoint.as_deref(),
        Some("http://10.0.0.1:50051")
    );
    assert_eq!(cli.global.output, OutputFormat::Json);
    assert_eq!(cli.global.project.as_deref(), Some("ml"));
    assert_eq!(cli.global.token.as_deref(), Some("accord_x_y"));
    assert_eq!(cli.global.nats_url.as_deref(), Some("nats://n:4222"));
    assert_eq!(cli.global.profile.as_deref(), Some("operator"));
    assert!(cli.global.sources.token_on_command_line);
    assert!(cli.global.sources.endpoint_on_command_line);
    assert!(cli.global.sources.nats_url_on_command_line);

    for format in ["table", "json", "yaml", "name"] {
        parse(&["get", "cl", "-o", format]);
    }
    assert_eq!(
        parse_error(&["get", "cl", "-o", "xml"]).kind(),
        ErrorKind::InvalidValue
    );
}

#[test]
fn absent_options_are_not_from_the_command_line() {
    let cli = parse(&["whoami"]);
    // Absent (or, in a real shell, from the environment): a selected profile may override them.
    if cli.global.token.is_none() {
        assert!(!cli.global.sources.token_on_command_line);
    }
    if cli.global.endpoint.is_none() {
        assert!(!cli.global.sources.endpoint_on_command_line);
    }
}

#[test]
fn no_command_shows_help() {
    let error = parse_error(&[]);
    assert_eq!(
        error.kind(),
        ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
    );
    let error = parse_error(&["get"]);
    assert_eq!(
        error.kind(),
        ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
    );
}

#[test]
fn help_texts_mention_env_fallbacks_and_examples() {
    let help = parse_error(&["--help"]).to_string();
    for expected in [
        "ACCORD_ENDPOINT",
        "ACCORD_TOKEN",
        "ACCORD_PROJECT",
        "ACCORD_NATS_URL",
        "ACCORD_PROFILE",
        "cargo xtask up",
        "Global options",
    ] {
        assert!(help.contains(expected), "missing {expected} in\n{help}");
    }
    let help = parse_error(&["create", "cluster", "--help"]).to_string();
    assert!(help.contains("accord create cluster demo"), "{help}");
}

#[test]
fn webhook_commands() {
    use NotificationKindArg::*;
    assert_eq!(
        command(&["webhook", "create", "https://hooks.example.com/accord"]),
        Command::Webhook(WebhookCommand::Create(WebhookCreateArgs {
            url: "https://hooks.example.com/accord".into(),
            kinds: vec![],
        }))
    );
    // Comma-separated, repeated, or both.
    for args in [
        &[
            "webhook",
            "create",
            "https://h.example/x",
            "--kinds",
            "remediation-failed,incident-opened",
        ][..],
        &[
            "webhook",
            "create",
            "https://h.example/x",
            "--kinds",
            "remediation-failed",
            "--kinds",
            "incident-opened",
        ][..],
    ] {
        assert_eq!(
            command(args),
            Command::Webhook(WebhookCommand::Create(WebhookCreateArgs {
                url: "https://h.example/x".into(),
                kinds: vec![RemediationFailed, IncidentOpened],
            }))
        );
    }
    let Command::Webhook(WebhookCommand::Create(args)) = command(&[
        "webhook",
        "create",
        "https://h.example/x",
        "--kinds",
        "remediation-decided,remediation-succeeded,remediation-failed,remediation-held,incident-opened",
    ]) else {
        panic!("not webhook create");
    };
    assert_eq!(
        args.kinds,
        [
            RemediationDecided,
            RemediationSucceeded,
            RemediationFailed,
            RemediationHeld,
            IncidentOpened
        ]
    );
    let error = parse_error(&[
        "webhook",
        "create",
        "https://h.example/x",
        "--kinds",
        "ticket-opened",
    ]);
    assert_eq!(error.kind(), ErrorKind::InvalidValue);
    assert!(error.to_string().contains("incident-opened"), "{error}");
    assert_eq!(
        parse_error(&["webhook", "create"]).kind(),
        ErrorKind::MissingRequiredArgument
    );

    for alias in ["list", "ls"] {
        assert_eq!(
            command(&["webhook", alias]),
            Command::Webhook(WebhookCommand::List)
        );
    }
    for alias in ["delete", "rm"] {
        assert_eq!(
            command(&["webhook", alias, "wh-…0000ab12"]),
            Command::Webhook(WebhookCommand::Delete(WebhookRef {
                id: "wh-…0000ab12".into()
            }))
        );
    }
    assert_eq!(
        parse_error(&["webhook", "delete"]).kind(),
        ErrorKind::MissingRequiredArgument
    );

    assert_eq!(
        command(&["webhook", "deliveries"]),
        Command::Webhook(WebhookCommand::Deliveries(WebhookDeliveriesArgs {
            webhook: None,
            state: None,
            limit: 100,
        }))
    );
    assert_eq!(
        command(&[
            "webhook",
            "deliveries",
            "--webhook",
            "ab12",
            "--state",
            "failed",
            "--limit",
            "5",
            "--project",
            "ml",
        ]),
        Command::Webhook(WebhookCommand::Deliveries(WebhookDeliveriesArgs {
            webhook: Some("ab12".into()),
            state: Some(DeliveryStateArg::Failed),
            limit: 5,
        }))
    );
    assert_eq!(
        parse(&["webhook", "list", "--project", "ml", "-o", "json"])
            .global
            .project
            .as_deref(),
        Some("ml")
    );
    assert_eq!(
        parse_error(&["webhook", "deliveries", "--state", "retrying"]).kind(),
        ErrorKind::InvalidValue
    );
    for bad in [
        &["webhook", "deliveries", "--limit", "0"][..],
        &["webhook", "deliveries", "--limit", "1001"][..],
    ] {
        assert_eq!(
            parse_error(bad).kind(),
            ErrorKind::ValueValidation,
            "{bad:?}"
        );
    }
}

#[test]
fn webhook_help_has_examples_and_says_how_to_verify() {
    let help = parse_error(&["webhook", "create", "--help"]).to_string();
    for expected in [
        "accord webhook create https://hooks.example.com/accord --kinds remediation-failed,incident-opened",
        "shown only this once",
        "X-Accord-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of \"<t>.<body>\">",
        "webhook-id",
        "incident-opened",
    ] {
        assert!(help.contains(expected), "missing {expected:?} in\n{help}");
    }
    for (args, example) in [
        (
            &["webhook", "list", "--help"][..],
            "accord webhook list -o json",
        ),
        (
            &["webhook", "delete", "--help"][..],
            "accord webhook delete wh-",
        ),
        (
            &["webhook", "deliveries", "--help"][..],
            "accord webhook deliveries --state failed",
        ),
    ] {
        let help = parse_error(args).to_string();
        assert!(help.contains(example), "missing {example:?} in\n{help}");
    }
    let help = parse_error(&["webhook", "--help"]).to_string();
    for sub in ["create", "list", "delete", "deliveries"] {
        assert!(help.contains(sub), "{help}");
    }
}
