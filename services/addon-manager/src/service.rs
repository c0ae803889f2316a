//! The addon-manager engine: runs the plugin work for an operation, hands the results to a
//! handler, and commits what it decided (with its events, through the outbox).
//!
//! Invariants:
//! - every write happens under one write lock, which also covers the plugin calls of that
//!   write, so a handler decides on the state its plugin results were computed from;
//! - state and events commit in one flushed store batch before the caller is answered; the
//!   outbox relay publishes them afterwards (at least once, de-duplicated by event id);
//! - a failed plugin call changes no installation. On the API path the caller gets the error;
//!   an automatic install leaves a pending record instead (`handlers::auto_install`), which
//!   only [`AddonManager::retry_install`] attempts again (the retry loop,
//!   `crate::install_retries`, calls it when the record is due) — a later event that would
//!   install the add-on leaves it to the loop, so the backoff holds; a failed re-render is
//!   logged and the previous manifests stay until the next change of the cluster.

use std::sync::Arc;

use accord_core::{
    DomainError,
    addon::{AddonEvent, AddonInstallation, AddonSource},
    iam::Principal,
    ids::{ClusterId, ProjectId},
};
use accord_runtime::{
    Engine, Writer,
    consume::{EventMeta, EventSink},
    metrics::Metrics,
};
use accord_store::{Store, Versioned};
use time::OffsetDateTime;
use tracing::{info, warn};

use crate::trees::Installations as _;
use crate::{
    catalog::{Catalog, Platform, declares_platform, installer},
    handlers::{
        Change, Ctx, Rendered,
        auto_install::{self, BACKOFF},
        cluster_view::{self, Input},
        configure::configure,
        install::{Installing, install},
        nfs_gate::{self, GateChange},
        rerender::rerender,
        uninstall::uninstall,
        upgrade::{self, Outcome},
    },
    metrics::AddonMetrics,
    trees::Reader,
    view::ClusterView,
};

/// Service name (bus source, metrics, config prefix).
pub const SERVICE: &str = "addon-manager";

/// The add-on the platform installs whenever a pool uses InfiniBand.
pub const NETWORK_OPERATOR: &str = "nvidia-network-operator";

/// An installation request from the API.
#[derive(Debug, Clone, Default)]
pub struct InstallRequest {
    pub name: String,
    pub version: String,
    pub config: String,
    pub self_managed: bool,
}

/// What retrying one pending automatic install did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Retried {
    /// Installed; the record is gone.
    Installed,
    /// Failed again; the record says when it is tried next.
    Failed {
        attempts: u32,
        next_attempt_at: OffsetDateTime,
    },
    /// Deleted without an attempt: it no longer applied (why).
    Dropped(&'static str),
    /// Nothing to do: no such record, or it is not due yet.
    NotDue,
}

/// The engine.
pub struct AddonManager {
    reader: Reader,
    catalog: Arc<Catalog>,
    engine: Arc<Engine<AddonEvent>>,
    /// Where clusters reach the Accord API (`platform.apiEndpoint` for the add-ons).
    api_endpoint: Arc<str>,
}

type W<'a> = Writer<'a, AddonEvent>;

impl AddonManager {
    /// The engine over `store`; `api_endpoint` is where clusters reach the Accord API (handed to
    /// the add-ons that declare `platform.apiEndpoint`).
    pub fn new(
        store: Store,
        catalog: Arc<Catalog>,
        metrics: &Metrics,
        addon_metrics: AddonMetrics,
        api_endpoint: &str,
    ) -> Arc<Self> {
        let engine = Engine::new(SERVICE, store.clone(), metrics).with_observer(move |events| {
            for e in events {
                addon_metrics.record(e);
            }
        });
        Arc::new(Self {
            reader: crate::trees::reader(store),
            catalog,
            engine: Arc::new(engine),
            api_endpoint: api_endpoint.into(),
        })
    }

    pub fn reader(&self) -> &Reader {
        &self.reader
    }

    pub fn catalog(&self) -> &Arc<Catalog> {
        &self.catalog
    }

    // ------------------------------------------------------------------ API operations

    /// Installs an add-on on `cluster` at the caller's request.
    pub async fn install(
        &self,
        principal: &Principal,
        cluster: &ClusterView,
        req: InstallRequest,
    ) -> Result<AddonInstallation, DomainError> {
        let mut w = self.engine.lock().await;
        let ctx = Ctx::new(principal.display_name());
        let plugin = self.catalog.addon(&req.name)?;
        let existing = self.reader.addon(cluster.id, &req.name)?;
        let what = if req.self_managed {
            if !req.config.trim().is_empty() {
                return Err(DomainError::invalid(
                    "config",
                    "a self-managed installation has no configuration here (the customer configures it)",
                ));
            }
            Installing::SelfManaged {
                installer: installer(plugin.info().installer),
                version: req.version.clone(),
            }
        } else {
            Installing::Rendered(
                self.catalog
                    .prepare(
                        &plugin,
                        cluster,
                        &req.version,
                        "{}",
                        &req.config,
                        &self.platform(cluster.project)?,
                    )
                    .await?,
            )
        };
        let (mut ch, inst) = install(
            &ctx,
            cluster,
            existing.as_ref().map(|v| &v.value),
            &req.name,
            AddonSource::Requested,
            what,
        )?;
        // The customer's own install (or declaration) supersedes a failed automatic one.
        if let Some(pending) = self.reader.pending(cluster.id, &req.name)? {
            auto_install::resolve(&mut ch, &pending);
        }
        w.commit(ch).await?;
        Ok(inst)
    }

    /// Replaces an installation's overrides.
    pub async fn configure(
        &self,
        principal: &Principal,
        cluster: &ClusterView,
        name: &str,
        config: &str,
        generation: u64,
    ) -> Result<AddonInstallation, DomainError> {
        let mut w = self.engine.lock().await;
        let ctx = Ctx::new(principal.display_name());
        let current = self.installed(cluster, name)?;
        let plugin = self.catalog.addon(name)?;
        let rendered = self
            .catalog
            .prepare(
                &plugin,
                cluster,
                &current.value.version,
                &current.value.config,
                config,
                &self.platform(cluster.project)?,
            )
            .await?;
        let (ch, inst) = configure(&ctx, &current, generation, rendered)?;
        if !ch.events.is_empty() {
            info!(cluster = %cluster.id, addon = name, ownership = %inst.ownership, "add-on configuration changed");
        }
        w.commit(ch).await?;
        Ok(inst)
    }

    /// Removes an installation; for an add-on whose automatic install is pending, stops
    /// retrying it (the customer does not want it after all).
    pub async fn uninstall(&self, cluster: &ClusterView, name: &str) -> Result<(), DomainError> {
        let mut w = self.engine.lock().await;
        let mut ch = Change::in_project(cluster.project);
        let Some(pending) = self.reader.pending(cluster.id, name)? else {
            let current = self.installed(cluster, name)?;
            uninstall(&mut ch, &current, "uninstalled at the customer's request");
            return w.commit(ch).await;
        };
        auto_install::resolve(&mut ch, &pending);
        if let Some(current) = self.reader.addon(cluster.id, name)? {
            uninstall(&mut ch, &current, "uninstalled at the customer's request");
        }
        info!(cluster = %cluster.id, addon = name, "pending automatic install cancelled by the customer");
        w.commit(ch).await
    }

    /// The provider's critical upgrade of `name` to `target` on `clusters` (empty: all).
    pub async fn upgrade(
        &self,
        principal: &Principal,
        name: &str,
        target: &str,
        clusters: &[accord_core::ids::ClusterId],
        reason: &str,
    ) -> Result<Vec<(AddonInstallation, Outcome)>, DomainError> {
        let mut w = self.engine.lock().await;
        let plugin = self.catalog.addon(name)?;
        if !plugin.info().versions.iter().any(|v| v == target) {
            return Err(DomainError::invalid(
                "target_version",
                format!(
                    "{name} has no version {target:?} (available: {})",
                    plugin.info().versions.join(", ")
                ),
            ));
        }
        let actor = if reason.is_empty() {
            principal.display_name().to_owned()
        } else {
            format!("{} ({reason})", principal.display_name())
        };
        let ctx = Ctx::new(actor);
        let mut out = Vec::new();
        for current in self.reader.installations_of(name)? {
            let inst = &current.value;
            if !clusters.is_empty() && !clusters.contains(&inst.cluster) {
                continue;
            }
            let (ch, outcome) = match upgrade::eligible(inst, target) {
                Err(why) => upgrade::skip(inst, target, why),
                Ok(false) => (Change::none(), Outcome::Current),
                Ok(true) => {
                    let Some(cluster) = self.reader.cluster(inst.cluster)? else {
                        continue;
                    };
                    let platform = self.platform(inst.project)?;
                    let plan = self
                        .catalog
                        .plan_upgrade(
                            &plugin,
                            &cluster.value,
                            &inst.version,
                            target,
                            &inst.config,
                            &platform,
                        )
                        .await?;
                    let rendered = self
                        .catalog
                        .prepare(
                            &plugin,
                            &cluster.value,
                            target,
                            &inst.config,
                            &inst.config,
                            &platform,
                        )
                        .await?;
                    upgrade::upgrade(&ctx, &current, plan.steps, plan.disruptive, rendered)?
                }
            };
            w.commit(ch).await?;
            out.push((inst.clone(), outcome));
        }
        Ok(out)
    }

    /// What the host tells the add-ons about `project` (`catalog::Platform`): its NFS gate and
    /// the platform's Accord API endpoint.
    fn platform(&self, project: ProjectId) -> Result<Platform, DomainError> {
        let gate = self.reader.nfs_gate(project)?;
        Ok(self.platform_with(nfs_gate::enabled(gate.as_ref().map(|v| &v.value))))
    }

    /// The host facts with the NFS gate `nfs_enabled` (known already, e.g. from the change
    /// being applied).
    fn platform_with(&self, nfs_enabled: bool) -> Platform {
        Platform {
            nfs_enabled,
            api_endpoint: Arc::clone(&self.api_endpoint),
        }
    }

    fn installed(
        &self,
        cluster: &ClusterView,
        name: &str,
    ) -> Result<accord_store::Versioned<AddonInstallation>, DomainError> {
        self.reader
            .addon(cluster.id, name)?
            .ok_or_else(|| DomainError::NotFound {
                kind: "add-on installation",
                id: format!("{name} on cluster {}", cluster.name),
            })
    }

    // ------------------------------------------------------------------ bus

    /// Applies a consumed event: a provisioner event updates the view, then installs,
    /// re-renders or removes add-ons as it implies; an NFS gate event is recorded and re-renders
    /// what follows the gate. Idempotent (redeliveries are harmless).
    pub async fn on_input(&self, input: Input) -> Result<(), DomainError> {
        if let Input::NfsGate(change) = &input {
            return self.on_nfs_gate(change).await;
        }
        let Some(cluster) = input.cluster() else {
            return Ok(());
        };
        let mut w = self.engine.lock().await;
        let stored = self.reader.cluster(cluster)?;
        let Some((ch, view, effect)) = cluster_view::apply(stored.as_ref(), &input)? else {
            return Ok(());
        };
        w.commit(ch).await?;
        let ctx = Ctx::new(SERVICE);
        if effect.deleted {
            let mut ch = Change::in_project(view.project);
            for inst in self.reader.addons_of(view.id)? {
                uninstall(&mut ch, &inst, "the cluster was deleted");
            }
            for pending in self.reader.pending_of(view.id)? {
                auto_install::resolve(&mut ch, &pending);
            }
            return w.commit(ch).await;
        }
        if effect.install_opted_in {
            for name in view.opted_in.clone() {
                self.auto_install(&mut w, &ctx, &view, &name, AddonSource::OptedIn)
                    .await?;
            }
        }
        if effect.needs_infiniband {
            self.auto_install(
                &mut w,
                &ctx,
                &view,
                NETWORK_OPERATOR,
                AddonSource::RequiredByInfiniband,
            )
            .await?;
        }
        if effect.rerender {
            self.rerender_all(&mut w, &ctx, &view).await?;
        }
        Ok(())
    }

    /// Installs `name` unless it is installed or already pending; a plugin that is missing or
    /// fails leaves a pending record (and `addon.install-failed`) for the retry loop.
    async fn auto_install(
        &self,
        w: &mut W<'_>,
        ctx: &Ctx,
        view: &ClusterView,
        name: &str,
        source: AddonSource,
    ) -> Result<(), DomainError> {
        if self.reader.addon(view.id, name)?.is_some() {
            return Ok(());
        }
        if self.reader.pending(view.id, name)?.is_some() {
            // Failed before: the retry loop tries again when its backoff says so.
            return Ok(());
        }
        let result = self.prepare_default(view, name).await;
        let (ch, outcome) = auto_install::attempt(ctx, view, None, name, source, result, &BACKOFF)?;
        if let auto_install::Outcome::Failed(p) = &outcome {
            warn!(cluster = %view.id, addon = name, error = %p.last_error, next_attempt_at = %p.next_attempt_at, "automatic install failed; it will be retried");
        }
        w.commit(ch).await
    }

    /// The plugin work of an automatic install: the default version, no overrides.
    async fn prepare_default(
        &self,
        view: &ClusterView,
        name: &str,
    ) -> Result<Rendered, DomainError> {
        let plugin = self.catalog.addon(name)?;
        self.catalog
            .prepare(&plugin, view, "", "{}", "{}", &self.platform(view.project)?)
            .await
    }

    // ------------------------------------------------------------------ retries

    /// The pending automatic installs due at `now` (cluster, add-on), longest overdue first,
    /// at most `max`.
    pub fn due_installs(
        &self,
        now: OffsetDateTime,
        max: usize,
    ) -> Result<Vec<(ClusterId, String)>, DomainError> {
        let pending = self.reader.all_pending()?;
        Ok(auto_install::due(&pending, now, max)
            .into_iter()
            .map(|p| (p.cluster, p.name.clone()))
            .collect())
    }

    /// Tries the pending install of `name` on `cluster` again if it is due at `now` (which
    /// also stamps what it writes): installs it, or records the failure with the next attempt
    /// time. Holds the write lock for this one install's plugin work.
    pub async fn retry_install(
        &self,
        cluster: ClusterId,
        name: &str,
        now: OffsetDateTime,
    ) -> Result<Retried, DomainError> {
        let mut w = self.engine.lock().await;
        let Some(pending) = self.reader.pending(cluster, name)? else {
            return Ok(Retried::NotDue);
        };
        if pending.value.next_attempt_at > now {
            return Ok(Retried::NotDue);
        }
        let view = self.reader.cluster(cluster)?.map(|v| v.value);
        let installed = self.reader.addon(cluster, name)?.is_some();
        let view = match (
            auto_install::obsolete(&pending.value, view.as_ref(), installed),
            view,
        ) {
            (None, Some(view)) => view,
            (why, _) => {
                let why = why.unwrap_or("the cluster is gone");
                let mut ch = Change::in_project(pending.value.project);
                auto_install::resolve(&mut ch, &pending);
                w.commit(ch).await?;
                info!(cluster = %cluster, addon = name, why, "pending automatic install dropped");
                return Ok(Retried::Dropped(why));
            }
        };
        let ctx = Ctx {
            now,
            actor: SERVICE.to_owned(),
        };
        let result = self.prepare_default(&view, name).await;
        let (ch, outcome) = auto_install::attempt(
            &ctx,
            &view,
            Some(&pending),
            name,
            pending.value.source,
            result,
            &BACKOFF,
        )?;
        w.commit(ch).await?;
        Ok(match outcome {
            auto_install::Outcome::Installed(_) => {
                info!(cluster = %cluster, addon = name, attempts = pending.value.attempts, "automatic install succeeded on retry");
                Retried::Installed
            }
            auto_install::Outcome::Failed(p) => {
                warn!(cluster = %cluster, addon = name, attempts = p.attempts, error = %p.last_error, next_attempt_at = %p.next_attempt_at, "automatic install failed again");
                Retried::Failed {
                    attempts: p.attempts,
                    next_attempt_at: p.next_attempt_at,
                }
            }
        })
    }

    /// One retry pass at `now`: every pending install due then (at most
    /// [`crate::install_retries::MAX_PER_PASS`]), one at a time — the retry loop's pass
    /// without its shutdown checks and error logging, for callers with their own clock (tests).
    pub async fn retry_due(
        &self,
        now: OffsetDateTime,
    ) -> Result<Vec<((ClusterId, String), Retried)>, DomainError> {
        let mut out = Vec::new();
        for (cluster, name) in self.due_installs(now, crate::install_retries::MAX_PER_PASS)? {
            let retried = self.retry_install(cluster, &name, now).await?;
            out.push(((cluster, name), retried));
        }
        Ok(out)
    }

    /// Records the provider's NFS gate of a project, then re-renders the installations in the
    /// project whose plugin declares the gate (the csi-driver's NFS StorageClass follows it).
    /// Re-renders on every delivery, so a redelivery after a crash between the two finishes
    /// the job (an unchanged rendering writes nothing).
    async fn on_nfs_gate(&self, change: &GateChange) -> Result<(), DomainError> {
        let mut w = self.engine.lock().await;
        let ctx = Ctx::new(SERVICE);
        let stored = self.reader.nfs_gate(change.project)?;
        if let Some(ch) = nfs_gate::apply(&ctx, stored.as_ref(), change)? {
            w.commit(ch).await?;
            info!(project = %change.project, enabled = change.enabled, by = %change.by, reason = %change.reason, "NFS gate changed");
        }
        let platform = self.platform_with(change.enabled);
        let installations = self.reader.installations_in(change.project)?;
        for current in nfs_gate::to_rerender(change.project, installations) {
            let follows = self
                .catalog
                .addon(&current.value.name)
                .is_ok_and(|p| declares_platform(&p.info().default_config));
            if !follows {
                continue;
            }
            let Some(view) = self.reader.cluster(current.value.cluster)? else {
                continue;
            };
            self.rerender_one(&mut w, &ctx, &view.value, &current, &platform)
                .await?;
        }
        Ok(())
    }

    /// Refreshes the manifests of every rendered installation of `view`.
    async fn rerender_all(
        &self,
        w: &mut W<'_>,
        ctx: &Ctx,
        view: &ClusterView,
    ) -> Result<(), DomainError> {
        let platform = self.platform(view.project)?;
        for current in self.reader.addons_of(view.id)? {
            if current.value.source == AddonSource::SelfManaged {
                continue;
            }
            self.rerender_one(w, ctx, view, &current, &platform).await?;
        }
        Ok(())
    }

    /// Refreshes one installation's manifests; a plugin failure is logged and leaves them.
    async fn rerender_one(
        &self,
        w: &mut W<'_>,
        ctx: &Ctx,
        view: &ClusterView,
        current: &Versioned<AddonInstallation>,
        platform: &Platform,
    ) -> Result<(), DomainError> {
        let inst = &current.value;
        let rendered = match self.catalog.addon(&inst.name) {
            Ok(plugin) => {
                let digest = plugin.digest().to_owned();
                self.catalog
                    .render(&plugin, view, &inst.version, &inst.config, platform)
                    .await
                    .map(|m| (m, digest))
            }
            Err(e) => Err(e),
        };
        match rendered {
            Ok((manifests, digest)) => {
                if let Some(ch) = rerender(ctx, current, manifests, digest)? {
                    w.commit(ch).await?;
                }
            }
            Err(e) => {
                warn!(cluster = %view.id, addon = %inst.name, error = %e, "re-render failed; the previous manifests stay")
            }
        }
        Ok(())
    }
}

impl EventSink<Input> for AddonManager {
    type Event = AddonEvent;

    fn engine(&self) -> &Arc<Engine<AddonEvent>> {
        &self.engine
    }

    async fn on_event(&self, input: Input, _meta: EventMeta) -> Result<(), DomainError> {
        self.on_input(input).await
    }
}
