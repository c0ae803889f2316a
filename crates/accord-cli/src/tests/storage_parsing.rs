//! Every storage command (`accord.storage.v1`) parses with its flags and aliases, values are
//! passed as typed, and bad input is refused with a usable message.

use std::time::Duration;

use clap::error::ErrorKind;

use crate::cli::*;

fn command(args: &[&str]) -> Command {
    let mut argv = vec!["accord"];
    argv.extend_from_slice(args);
    match Cli::try_parse_with_sources(argv) {
        Ok(cli) => cli.command,
        Err(error) => panic!("{args:?} did not parse:\n{error}"),
    }
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

const WAIT: WaitArgs = WaitArgs {
    wait: true,
    timeout: Duration::from_secs(600),
};

const MIGRATION_NO_WAIT: MigrationWaitArgs = MigrationWaitArgs {
    wait: false,
    timeout: Duration::from_secs(24 * 3600),
};

fn volume_ref(name: &str) -> ClusterResourceRef {
    ClusterResourceRef {
        name: name.into(),
        cluster: "demo".into(),
    }
}

#[test]
fn create_volume_with_every_flag() {
    assert_eq!(
        command(&[
            "create",
            "volume",
            "datasets",
            "--cluster",
            "demo",
            "--type",
            "shared",
            "--size",
            "10Ti",
            "--mount",
            "virtiofs",
            "--from-snapshot",
            "sets-0412",
            "--wait",
        ]),
        Command::Create(CreateKind::Volume(Box::new(CreateVolumeArgs {
            name: "datasets".into(),
            cluster: "demo".into(),
            volume_type: VolumeTypeArg::Shared,
            size: "10Ti".into(),
            mount: Some(MountArg::Virtiofs),
            from_snapshot: Some("sets-0412".into()),
            wait: WAIT,
        })))
    );
    for alias in ["volume", "volumes", "vol"] {
        assert_eq!(
            command(&[
                "create", alias, "data", "-c", "demo", "--type", "disk", "--size", "100Gi"
            ]),
            Command::Create(CreateKind::Volume(Box::new(CreateVolumeArgs {
                name: "data".into(),
                cluster: "demo".into(),
                volume_type: VolumeTypeArg::Disk,
                size: "100Gi".into(),
                mount: None,
                from_snapshot: None,
                wait: NO_WAIT,
            })))
        );
    }
    // Sizes are the server's to validate: anything parses.
    let Command::Create(CreateKind::Volume(args)) = command(&[
        "create", "volume", "x", "-c", "demo", "--type", "disk", "--size", "lots",
    ]) else {
        panic!("not a volume");
    };
    assert_eq!(args.size, "lots");
}

#[test]
fn create_volume_refuses_unknown_types_and_missing_flags() {
    let error = parse_error(&[
        "create", "volume", "x", "-c", "demo", "--type", "tape", "--size", "1Gi",
    ]);
    assert_eq!(error.kind(), ErrorKind::InvalidValue);
    assert!(error.to_string().contains("disk"), "{error}");
    let error = parse_error(&["create", "volume", "x", "-c", "demo", "--type", "disk"]);
    assert_eq!(error.kind(), ErrorKind::MissingRequiredArgument);
    assert!(error.to_string().contains("--size"), "{error}");
    let error = parse_error(&[
        "create", "volume", "x", "-c", "demo", "--type", "shared", "--size", "1Ti", "--mount",
        "smb",
    ]);
    assert_eq!(error.kind(), ErrorKind::InvalidValue);
}

#[test]
fn get_describe_delete_volumes() {
    for alias in ["volume", "volumes", "vol"] {
        assert_eq!(
            command(&["get", alias, "--cluster", "demo"]),
            Command::Get(GetKind::Volume(VolumeQuery {
                name: None,
                cluster: "demo".into(),
            }))
        );
    }
    assert_eq!(
        command(&["get", "volume", "data", "-c", "demo", "-o", "json"]),
        Command::Get(GetKind::Volume(VolumeQuery {
            name: Some("data".into()),
            cluster: "demo".into(),
        }))
    );
    assert_eq!(
        command(&["describe", "volume", "data", "--cluster", "demo"]),
        Command::Describe(DescribeKind::Volume(volume_ref("data")))
    );
    assert_eq!(
        command(&["delete", "volume", "data", "--cluster", "demo", "--wait"]),
        Command::Delete(DeleteKind::Volume(DeleteVolumeArgs {
            name: "data".into(),
            cluster: "demo".into(),
            wait: WAIT,
        }))
    );
    let error = parse_error(&["get", "volumes"]);
    assert_eq!(error.kind(), ErrorKind::MissingRequiredArgument);
}

#[test]
fn expand_attach_detach() {
    assert_eq!(
        command(&[
            "expand",
            "volume",
            "data",
            "--cluster",
            "demo",
            "--size",
            "200Gi",
            "--wait",
            "--timeout",
            "30m",
        ]),
        Command::Expand(ExpandKind::Volume(ExpandVolumeArgs {
            name: "data".into(),
            cluster: "demo".into(),
            size: "200Gi".into(),
            wait: WaitArgs {
                wait: true,
                timeout: Duration::from_secs(1800),
            },
        }))
    );
    let node = VolumeNodeArgs {
        name: "data".into(),
        cluster: "demo".into(),
        node: "gpu-a-x1".into(),
        wait: WAIT,
    };
    assert_eq!(
        command(&[
            "attach",
            "volume",
            "data",
            "--cluster",
            "demo",
            "--node",
            "gpu-a-x1",
            "--wait"
        ]),
        Command::Attach(AttachKind::Volume(node.clone()))
    );
    assert_eq!(
        command(&[
            "detach", "vol", "data", "-c", "demo", "--node", "gpu-a-x1", "--wait"
        ]),
        Command::Detach(DetachKind::Volume(node))
    );
    let error = parse_error(&["attach", "volume", "data", "--cluster", "demo"]);
    assert!(error.to_string().contains("--node"), "{error}");
}

#[test]
fn snapshots() {
    assert_eq!(
        command(&[
            "snapshot",
            "create",
            "data-0412",
            "--cluster",
            "demo",
            "--volume",
            "data",
            "--wait"
        ]),
        Command::Snapshot(SnapshotCommand::Create(CreateSnapshotArgs {
            name: "data-0412".into(),
            cluster: "demo".into(),
            volume: "data".into(),
            wait: WAIT,
        }))
    );
    let scope = ClusterScope {
        cluster: "demo".into(),
    };
    for list in [["snapshot", "list"], ["snapshot", "ls"]] {
        assert_eq!(
            command(&[list[0], list[1], "--cluster", "demo"]),
            Command::Snapshot(SnapshotCommand::List(scope.clone()))
        );
    }
    for alias in ["snapshot", "snapshots", "snap"] {
        assert_eq!(
            command(&["get", alias, "-c", "demo"]),
            Command::Get(GetKind::Snapshot(scope.clone()))
        );
    }
    assert_eq!(
        command(&["snapshot", "delete", "data-0412", "--cluster", "demo"]),
        Command::Snapshot(SnapshotCommand::Delete(volume_ref("data-0412")))
    );
}

#[test]
fn storage_classes() {
    assert_eq!(
        command(&[
            "create",
            "storageclass",
            "shared-nfs",
            "--cluster",
            "demo",
            "--type",
            "shared",
            "--filesystem",
            "xfs",
            "--mount",
            "nfs",
            "--reclaim-policy",
            "Retain",
            "--binding-mode",
            "Immediate",
            "--no-expansion",
            "--default",
        ]),
        Command::Create(CreateKind::Storageclass(Box::new(CreateStorageClassArgs {
            name: "shared-nfs".into(),
            cluster: "demo".into(),
            class_type: VolumeTypeArg::Shared,
            filesystem: Some(FilesystemArg::Xfs),
            mount: Some(MountArg::Nfs),
            reclaim_policy: Some(ReclaimPolicyArg::Retain),
            binding_mode: Some(BindingModeArg::Immediate),
            no_expansion: true,
            default_class: true,
        })))
    );
    let Command::Create(CreateKind::Storageclass(args)) = command(&[
        "create",
        "sc",
        "fast",
        "-c",
        "demo",
        "--type",
        "disk",
        "--binding-mode",
        "WaitForFirstConsumer",
        "--reclaim-policy",
        "delete",
    ]) else {
        panic!("not a storage class");
    };
    assert_eq!(
        args.binding_mode,
        Some(BindingModeArg::WaitForFirstConsumer)
    );
    assert_eq!(args.reclaim_policy, Some(ReclaimPolicyArg::Delete));
    assert_eq!(args.filesystem, None);
    assert!(!args.no_expansion && !args.default_class);
    for alias in ["storageclass", "storageclasses", "sc"] {
        assert_eq!(
            command(&["get", alias, "--cluster", "demo", "-o", "yaml"]),
            Command::Get(GetKind::Storageclass(ClusterScope {
                cluster: "demo".into()
            }))
        );
    }
    assert_eq!(
        command(&["delete", "storageclass", "fast", "--cluster", "demo"]),
        Command::Delete(DeleteKind::Storageclass(volume_ref("fast")))
    );
    let error = parse_error(&[
        "create",
        "sc",
        "x",
        "-c",
        "demo",
        "--type",
        "disk",
        "--reclaim-policy",
        "Recycle",
    ]);
    assert_eq!(error.kind(), ErrorKind::InvalidValue);
}

#[test]
fn nfs_gate() {
    let cli = Cli::try_parse_with_sources([
        "accord",
        "--profile",
        "operator",
        "nfs",
        "enable",
        "acme",
        "--reason",
        "ticket T-1234",
    ])
    .unwrap();
    assert_eq!(cli.global.profile.as_deref(), Some("operator"));
    assert_eq!(
        cli.command,
        Command::Nfs(NfsCommand::Enable(NfsSetArgs {
            name: "acme".into(),
            reason: "ticket T-1234".into(),
            mount: None,
        }))
    );
    assert_eq!(
        command(&[
            "nfs",
            "disable",
            "pr-01jexample00000000000001",
            "--reason",
            "done"
        ]),
        Command::Nfs(NfsCommand::Disable(NfsSetArgs {
            name: "pr-01jexample00000000000001".into(),
            reason: "done".into(),
            mount: None,
        }))
    );
    assert_eq!(
        command(&["nfs", "status"]),
        Command::Nfs(NfsCommand::Status(NfsStatusArgs { name: None }))
    );
    assert_eq!(
        command(&["nfs", "status", "acme", "-o", "json"]),
        Command::Nfs(NfsCommand::Status(NfsStatusArgs {
            name: Some("acme".into())
        }))
    );
    // The global --project still works next to the PROJECT positional.
    let cli =
        Cli::try_parse_with_sources(["accord", "nfs", "status", "--project", "acme"]).unwrap();
    assert_eq!(cli.global.project.as_deref(), Some("acme"));
    let error = parse_error(&["nfs", "enable", "acme"]);
    assert!(error.to_string().contains("--reason"), "{error}");
}

#[test]
fn migrations() {
    assert_eq!(
        command(&[
            "migration",
            "plan",
            "to-nfs",
            "--volume",
            "demo/datasets",
            "--volume",
            "checkpoints",
            "--batch-size",
            "5",
            "--dry-run",
        ]),
        Command::Migration(MigrationCommand::Plan(PlanMigrationArgs {
            name: "to-nfs".into(),
            volumes: vec!["demo/datasets".into(), "checkpoints".into()],
            batch_size: Some(5),
            dry_run: true,
        }))
    );
    assert_eq!(
        command(&["migration", "plan", "all"]),
        Command::Migration(MigrationCommand::Plan(PlanMigrationArgs {
            name: "all".into(),
            volumes: vec![],
            batch_size: None,
            dry_run: false,
        }))
    );
    let waiting = MigrationRef {
        migration: "to-nfs".into(),
        wait: MigrationWaitArgs {
            wait: true,
            timeout: Duration::from_secs(24 * 3600),
        },
    };
    assert_eq!(
        command(&["migration", "run", "to-nfs", "--wait"]),
        Command::Migration(MigrationCommand::Run(waiting.clone()))
    );
    assert_eq!(
        command(&["migration", "describe", "to-nfs", "--wait"]),
        Command::Migration(MigrationCommand::Describe(waiting.clone()))
    );
    assert_eq!(
        command(&["describe", "migration", "to-nfs", "--wait"]),
        Command::Describe(DescribeKind::Migration(waiting))
    );
    assert_eq!(
        command(&[
            "migration",
            "rollback",
            "mig-1",
            "--wait",
            "--timeout",
            "2h"
        ]),
        Command::Migration(MigrationCommand::Rollback(MigrationRef {
            migration: "mig-1".into(),
            wait: MigrationWaitArgs {
                wait: true,
                timeout: Duration::from_secs(7200),
            },
        }))
    );
    assert_eq!(
        command(&["migration", "describe", "mig-1"]),
        Command::Migration(MigrationCommand::Describe(MigrationRef {
            migration: "mig-1".into(),
            wait: MIGRATION_NO_WAIT,
        }))
    );
    for alias in ["migration", "migrations"] {
        assert_eq!(
            command(&["get", alias]),
            Command::Get(GetKind::Migration(OptionalName { name: None }))
        );
    }
    let error = parse_error(&["migration", "plan", "x", "--batch-size", "many"]);
    assert_eq!(error.kind(), ErrorKind::ValueValidation);
}
