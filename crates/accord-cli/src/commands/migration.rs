//! `accord migration plan|run|describe|rollback` (and `accord describe migration`, `accord get
//! migrations`): VirtioFS → NFS migrations of a project's shared volumes.
//!
//! `--wait` polls `GetMigration` until the state is `finished`, showing the bytes copied of the
//! total, the volumes per state and the current batch ([`crate::wait::until_in`] in bytes: an
//! indicatif bar on a terminal, plain lines on stderr otherwise). A finished migration with a
//! `failed` volume makes the command fail, naming each failed volume and why.
//!
//! Migrations are the project's: requests carry the project of the key (or `--project`).

use accord_proto::storage::v1 as pb;
use futures::future::BoxFuture;

use super::{Context, storage_error};
use crate::cli::{MigrationCommand, MigrationRef, OptionalName, OutputFormat, PlanMigrationArgs};
use crate::client::{Api, ApiError};
use crate::output::migration::{self, FINISHED};
use crate::output::{Resource, render_list, render_one, structured};
use crate::wait::{self, Observation, Units, Verdict};

/// Runs `accord migration …`.
pub async fn run(ctx: &Context, command: MigrationCommand) -> anyhow::Result<()> {
    match command {
        MigrationCommand::Plan(args) => plan(ctx, &args).await,
        MigrationCommand::Run(target) => act(ctx, &target, Action::Run).await,
        MigrationCommand::Describe(target) => describe(ctx, &target).await,
        MigrationCommand::Rollback(target) => act(ctx, &target, Action::Rollback).await,
    }
}

/// The `PlanMigration` request of `accord migration plan`: volumes as typed, a batch size left
/// out is 0 (the server's default, 10).
pub fn plan_request(project: String, args: &PlanMigrationArgs) -> pb::PlanMigrationRequest {
    pb::PlanMigrationRequest {
        project,
        name: args.name.clone(),
        volumes: args.volumes.clone(),
        batch_size: args.batch_size.unwrap_or(0),
        dry_run: args.dry_run,
    }
}

/// The `MigrationRequest` for a migration id or name.
pub fn migration_request(project: String, migration: &str) -> pb::MigrationRequest {
    pb::MigrationRequest {
        project,
        migration: migration.to_owned(),
    }
}

/// A poller for [`wait::until_in`]: `GetMigration`.
pub fn poll_migration(
    api: &Api,
    migration: &str,
) -> impl FnMut() -> BoxFuture<'static, Result<pb::Migration, ApiError>> + use<> {
    let api = api.clone();
    let migration = migration.to_owned();
    move || {
        let api = api.clone();
        let request = migration_request(api.project(), &migration);
        Box::pin(async move { api.call(api.storage().get_migration(request)).await })
    }
}

/// `--wait`: until `finished`. The observation carries the bytes (the bar) and the per-state
/// counts and batch (the message).
pub fn migration_finished(name: &str) -> impl FnMut(Option<&pb::Migration>) -> Verdict + use<> {
    let name = name.to_owned();
    move |m| {
        let Some(m) = m else {
            return Verdict::Failed(format!("migration {name} no longer exists"));
        };
        if m.state == FINISHED {
            return Verdict::Done(format!(
                "migration/{name} finished: {}",
                migration::state_counts(m)
            ));
        }
        Verdict::Pending(Observation {
            summary: migration::progress_summary(m),
            progress: (m.bytes_total > 0)
                .then_some((m.bytes_copied.min(m.bytes_total), m.bytes_total)),
        })
    }
}

/// What `run` and `rollback` ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Action {
    Run,
    Rollback,
}

async fn plan(ctx: &Context, args: &PlanMigrationArgs) -> anyhow::Result<()> {
    let api = ctx.storage_api().await?;
    let planned = api
        .call(
            api.storage()
                .plan_migration(plan_request(api.project(), args)),
        )
        .await
        .map_err(|e| storage_error(api.endpoint(), e))?;
    ctx.out(&render_one(ctx.format, &planned, || {
        migration::plan_text(&planned)
    })?);
    Ok(())
}

/// Prints a migration in `format`: the describe document in table form.
fn print(ctx: &Context, m: &pb::Migration) -> anyhow::Result<()> {
    let now = ctx.now();
    ctx.out(&render_one(ctx.format, m, || migration::describe(m, now))?);
    Ok(())
}

/// Waits for `m` to finish (printing the final state), then fails if a volume failed.
async fn wait_and_judge(
    ctx: &Context,
    api: &Api,
    m: pb::Migration,
    target: &MigrationRef,
) -> anyhow::Result<()> {
    let name = if m.name.is_empty() {
        target.migration.clone()
    } else {
        m.name.clone()
    };
    let key = if m.id.is_empty() {
        &target.migration
    } else {
        &m.id
    };
    let waited = wait::until_in(
        &ctx.printer,
        &format!("migration {name} to finish"),
        target.wait.timeout,
        Units::Bytes,
        poll_migration(api, key),
        migration_finished(&name),
    )
    .await?;
    let last = waited.last.unwrap_or(m);
    if ctx.format == OutputFormat::Table {
        ctx.out(&waited.message);
    }
    print(ctx, &last)?;
    match migration::failure_summary(&last) {
        Some(failures) => anyhow::bail!("{failures}"),
        None => Ok(()),
    }
}

async fn act(ctx: &Context, target: &MigrationRef, action: Action) -> anyhow::Result<()> {
    let api = ctx.storage_api().await?;
    let request = migration_request(api.project(), &target.migration);
    let call = match action {
        Action::Run => api.call(api.storage().run_migration(request)).await,
        Action::Rollback => api.call(api.storage().rollback_migration(request)).await,
    };
    let m = call.map_err(|e| storage_error(api.endpoint(), e))?;
    let verb = match action {
        Action::Run => "running",
        Action::Rollback => "rolling back",
    };
    let kind = <pb::Migration as Resource>::KIND;
    match ctx.format {
        OutputFormat::Table => ctx.out(&format!("{kind}/{} {verb}", m.name)),
        OutputFormat::Name => ctx.out(&format!("{kind}/{}", m.name)),
        OutputFormat::Json | OutputFormat::Yaml if !target.wait.wait => {
            ctx.out(&structured(ctx.format, &m.to_value()?)?);
        }
        OutputFormat::Json | OutputFormat::Yaml => {}
    }
    if !target.wait.wait {
        return Ok(());
    }
    wait_and_judge(ctx, &api, m, target).await
}

/// `accord migration describe` / `accord describe migration`: the migration now, or with
/// `--wait` once it is finished.
pub async fn describe(ctx: &Context, target: &MigrationRef) -> anyhow::Result<()> {
    let api = ctx.storage_api().await?;
    let m = api
        .call(
            api.storage()
                .get_migration(migration_request(api.project(), &target.migration)),
        )
        .await
        .map_err(|e| storage_error(api.endpoint(), e))?;
    if target.wait.wait && m.state != FINISHED {
        return wait_and_judge(ctx, &api, m, target).await;
    }
    print(ctx, &m)?;
    if target.wait.wait
        && let Some(failures) = migration::failure_summary(&m)
    {
        anyhow::bail!("{failures}");
    }
    Ok(())
}

/// `accord get migrations` (or one, by id or name).
pub async fn get(ctx: &Context, query: &OptionalName) -> anyhow::Result<()> {
    let api = ctx.storage_api().await?;
    let now = ctx.now();
    if let Some(name) = &query.name {
        let m = api
            .call(
                api.storage()
                    .get_migration(migration_request(api.project(), name)),
            )
            .await
            .map_err(|e| storage_error(api.endpoint(), e))?;
        ctx.out(&render_one(ctx.format, &m, || {
            migration::migrations_table(std::slice::from_ref(&m), now)
        })?);
        return Ok(());
    }
    let items = api
        .call(api.storage().list_migrations(pb::ListMigrationsRequest {
            project: api.project(),
        }))
        .await
        .map_err(|e| storage_error(api.endpoint(), e))?
        .migrations;
    if items.is_empty() && ctx.format == OutputFormat::Table {
        ctx.note("No migrations found.");
        return Ok(());
    }
    ctx.out(&render_list(ctx.format, &items, || {
        migration::migrations_table(&items, now)
    })?);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::output::migration::tests::running;

    #[test]
    fn plan_request_passes_volumes_and_defaults() {
        let args = PlanMigrationArgs {
            name: "to-nfs".into(),
            volumes: vec!["demo/datasets".into(), "checkpoints".into()],
            batch_size: None,
            dry_run: true,
        };
        assert_eq!(
            plan_request("acme".into(), &args),
            pb::PlanMigrationRequest {
                project: "acme".into(),
                name: "to-nfs".into(),
                volumes: vec!["demo/datasets".into(), "checkpoints".into()],
                batch_size: 0,
                dry_run: true,
            }
        );
        let sized = PlanMigrationArgs {
            batch_size: Some(5),
            dry_run: false,
            ..args
        };
        assert_eq!(plan_request(String::new(), &sized).batch_size, 5);
        assert_eq!(
            migration_request("acme".into(), "mig-1"),
            pb::MigrationRequest {
                project: "acme".into(),
                migration: "mig-1".into()
            }
        );
    }

    #[test]
    fn waits_until_finished_showing_bytes_counts_and_batch() {
        let mut judge = migration_finished("to-nfs");
        let m = running();
        assert_eq!(
            judge(Some(&m)),
            Verdict::Pending(Observation {
                summary: "running, batch 2/3: pending 2, copying 1, done 2".into(),
                progress: Some((10 << 30, 32 << 30)),
            })
        );
        let mut done = m;
        done.state = FINISHED.into();
        done.current_batch = -1;
        done.by_state = [("done".to_owned(), 5)].into_iter().collect();
        assert_eq!(
            judge(Some(&done)),
            Verdict::Done("migration/to-nfs finished: done 5".into())
        );
        assert!(matches!(judge(None), Verdict::Failed(_)));
    }
}
