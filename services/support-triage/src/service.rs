//! The support desk engine: runs handlers and commits what they decided with their events
//! (transactional outbox) under one write lock.
//!
//! Every kind of platform event support-triage consumes is matched here ([`Input`], and every
//! [`RemediationEvent`] variant): node incidents come from remediation decisions
//! ([`crate::handlers::remediations`]), a raw health finding only adds evidence to an open one;
//! an event about a cluster (or remediation) it does not know is acknowledged and ignored.
//!
//! Invariants: a ticket is answered only after it is durable; every platform incident and every
//! context update comes through [`SupportDesk::on_input`], idempotent per event; a filed ticket
//! is classified before the write lock is taken, off the runtime's workers, so the lock is held
//! only to commit; every read-model change wakes requests waiting for it ([`crate::catch_up`]).

use std::sync::Arc;

use accord_core::events::{DomainEvent as _, Scope, event_type};
use accord_core::{
    DomainError,
    addon::AddonEvent,
    cluster::ClusterEvent,
    error::InternalError,
    iam::Principal,
    ids::{ClusterId, ProjectId, RemediationId, TicketId},
    remediation::{HealthEvent, RemediationEvent},
    responsibility::SupportScope,
    support::{Ticket, TicketEvent, TicketOrigin},
};
use accord_runtime::{
    Engine,
    consume::{EventMeta, EventSink},
    metrics::Metrics,
};
use accord_store::{Store, Versioned};
use tokio::sync::Notify;

use crate::trees::{Notifications as _, Tickets as _};
use crate::{
    catch_up::CatchUp,
    classify::RuleSet,
    handlers::{
        Change, Ctx,
        close::close,
        cluster_view, impacts,
        incidents::{self, Source},
        open::{NewTicket, open, validate},
        reclassify::reclassify,
        remediations::{self, Progress},
    },
    notify::{
        NotifySettings,
        enqueue::{Notification, enqueue},
        routes,
    },
    trees::Reader,
    view::{ClusterView, ticket_context},
};

/// Service name (bus source, metrics, config prefix).
pub const SERVICE: &str = "support-triage";

/// A platform event support-triage acts on.
#[derive(Debug, Clone)]
pub enum Input {
    Cluster(ClusterEvent),
    Addon(AddonEvent),
    Health(HealthEvent),
    Remediation(RemediationEvent),
}

/// A ticket filed through the API.
#[derive(Debug, Clone, Default)]
pub struct FileRequest {
    pub cluster: Option<ClusterView>,
    pub title: String,
    pub description: String,
    pub component: String,
    pub customer_components: Vec<String>,
}

/// The engine.
pub struct SupportDesk {
    reader: Reader,
    rules: Arc<RuleSet>,
    engine: Arc<Engine<TicketEvent>>,
    catch_up: CatchUp,
    notify: NotifySettings,
    /// Woken when a commit enqueued webhook deliveries (the delivery loop waits on it).
    enqueued: Arc<Notify>,
}

impl SupportDesk {
    pub fn new(store: Store, rules: Arc<RuleSet>, metrics: &Metrics) -> Arc<Self> {
        Self::with_catch_up(store, rules, metrics, CatchUp::default())
    }

    /// Like [`SupportDesk::new`], waiting for the read model as `catch_up` says.
    pub fn with_catch_up(
        store: Store,
        rules: Arc<RuleSet>,
        metrics: &Metrics,
        catch_up: CatchUp,
    ) -> Arc<Self> {
        Self::with_settings(store, rules, metrics, catch_up, NotifySettings::default())
    }

    /// Like [`SupportDesk::with_catch_up`], with the notification settings.
    pub fn with_settings(
        store: Store,
        rules: Arc<RuleSet>,
        metrics: &Metrics,
        catch_up: CatchUp,
        notify: NotifySettings,
    ) -> Arc<Self> {
        Arc::new(Self {
            reader: crate::trees::reader(store.clone()),
            rules,
            engine: Arc::new(Engine::new(SERVICE, store, metrics)),
            catch_up,
            notify,
            enqueued: Arc::new(Notify::new()),
        })
    }

    /// The write side.
    pub fn engine(&self) -> &Arc<Engine<TicketEvent>> {
        &self.engine
    }

    /// How notifications are sent.
    pub fn notify_settings(&self) -> NotifySettings {
        self.notify
    }

    /// Notified when a commit enqueued webhook deliveries.
    pub fn deliveries_enqueued(&self) -> Arc<Notify> {
        Arc::clone(&self.enqueued)
    }

    pub fn reader(&self) -> &Reader {
        &self.reader
    }

    pub fn rules(&self) -> &RuleSet {
        &self.rules
    }

    /// How requests wait for the read model (see [`crate::catch_up`]).
    pub fn catch_up(&self) -> &CatchUp {
        &self.catch_up
    }

    /// Files a ticket in `project`, about `req.cluster` as the request resolved it.
    ///
    /// The ticket is classified before the write lock is taken, on a blocking thread (a
    /// maximum-size ticket costs a few milliseconds of CPU with the shipped rules — 2 to 6 ms
    /// in a debug build — and more with a larger rule file loaded at run time); the lock is held
    /// only to commit. The context is the cluster's view as read for this request, so an
    /// ownership change committed before the request is seen.
    pub async fn file(
        &self,
        principal: &Principal,
        project: ProjectId,
        req: FileRequest,
    ) -> Result<Ticket, DomainError> {
        validate(&req.title, &req.description)?;
        let context = ticket_context(req.cluster.as_ref(), &req.customer_components);
        let ctx = Ctx::new(principal.display_name());
        let new = NewTicket {
            project,
            cluster: req.cluster.map(|c| (c.id, c.name)),
            title: req.title,
            description: req.description,
            component: Some(req.component),
            origin: TicketOrigin::Customer {
                by: principal.display_name().to_owned(),
            },
            context,
            evidence: vec![],
            incident_key: None,
        };
        let rules = Arc::clone(&self.rules);
        let (ch, t) = tokio::task::spawn_blocking(move || open(&ctx, &rules, new))
            .await
            .map_err(|e| {
                DomainError::Internal(InternalError::caused_by("classifying a ticket", e))
            })??;
        self.engine.lock().await.commit(ch).await?;
        Ok(t)
    }

    /// A ticket by id.
    pub fn ticket(&self, id: TicketId) -> Result<Versioned<Ticket>, DomainError> {
        self.reader
            .ticket(id)?
            .ok_or_else(|| DomainError::not_found("ticket", id))
    }

    /// A support engineer's override.
    pub async fn reclassify(
        &self,
        principal: &Principal,
        id: TicketId,
        category: SupportScope,
        reason: &str,
    ) -> Result<Ticket, DomainError> {
        let mut w = self.engine.lock().await;
        let current = self.ticket(id)?;
        let (ch, t) = reclassify(
            &Ctx::new(principal.display_name()),
            &current,
            category,
            reason,
        )?;
        w.commit(ch).await?;
        Ok(t)
    }

    /// Closes a ticket.
    pub async fn close(
        &self,
        principal: &Principal,
        id: TicketId,
        resolution: &str,
    ) -> Result<Ticket, DomainError> {
        let mut w = self.engine.lock().await;
        let current = self.ticket(id)?;
        let (ch, t) = close(&Ctx::new(principal.display_name()), &current, resolution)?;
        w.commit(ch).await?;
        Ok(t)
    }

    /// Applies a platform event: context updates and incidents.
    pub async fn on_input(&self, input: Input, source: Source) -> Result<(), DomainError> {
        let mut w = self.engine.lock().await;
        let ctx = Ctx::new(SERVICE);
        let mut change = match &input {
            Input::Cluster(ev) => {
                let cluster = match ev {
                    ClusterEvent::Created { cluster } | ClusterEvent::Updated { cluster } => {
                        cluster.metadata.id
                    }
                    ClusterEvent::Deleted { cluster, .. }
                    | ClusterEvent::ConditionChanged { cluster, .. }
                    | ClusterEvent::ComponentImpact { cluster, .. } => *cluster,
                    _ => return Ok(()),
                };
                let stored = self.reader.cluster(cluster)?;
                if let ClusterEvent::ComponentImpact {
                    component,
                    impact,
                    state,
                    mitigation,
                    detail,
                    ..
                } = ev
                {
                    let Some(view) = stored else { return Ok(()) };
                    let key = impacts::impact_key(view.value.id, component, *impact);
                    let open_ticket = self.reader.incident(&key)?;
                    impacts::on_impact(
                        &ctx,
                        &view.value,
                        open_ticket.as_ref(),
                        impacts::Impact {
                            component,
                            impact: *impact,
                            state: *state,
                            mitigation: *mitigation,
                            detail,
                        },
                        &source,
                    )?
                } else if let ClusterEvent::ConditionChanged { condition, .. } = ev {
                    let Some(view) = stored else { return Ok(()) };
                    let open_incident = self
                        .reader
                        .incident(&incidents::control_plane_key(&view.value))?;
                    incidents::on_control_plane(
                        &ctx,
                        &self.rules,
                        &view.value,
                        open_incident.as_ref(),
                        condition,
                        &source,
                    )?
                } else {
                    cluster_view::on_cluster(stored.as_ref(), ev)?
                }
            }
            Input::Addon(ev) => {
                let stored = self.reader.cluster(ev.cluster())?;
                cluster_view::on_addon(stored.as_ref(), ev)?
            }
            Input::Health(HealthEvent::FindingRaised {
                finding, evidence, ..
            }) => {
                if self.view_of(&finding.cluster)?.is_none() {
                    return Ok(());
                }
                let open_incident = self.reader.incident(&incidents::node_key(finding))?;
                incidents::on_finding(&ctx, open_incident.as_ref(), finding, evidence)?
                    .map(|(ch, _)| ch)
            }
            Input::Remediation(ev) => self.on_remediation(&ctx, ev, &source)?,
        };
        let enqueued = self.enqueue_notifications(&input, &source, &mut change, ctx.now)?;
        if let Some(ch) = change {
            w.commit(ch).await?;
            drop(w);
            self.catch_up.advanced();
            if enqueued > 0 {
                self.enqueued.notify_one();
            }
        }
        Ok(())
    }

    /// Adds to `change` the webhook deliveries its input and its effects call for
    /// ([`routes`]): the remediation event itself, and every incident the change opens. Reads
    /// are made under the write lock the caller holds. The number of deliveries added.
    fn enqueue_notifications(
        &self,
        input: &Input,
        source: &Source,
        change: &mut Option<Change>,
        now: time::OffsetDateTime,
    ) -> Result<usize, DomainError> {
        let from = accord_bus::service_source(SERVICE);
        let mut notes = Vec::new();
        if let Input::Remediation(ev) = input
            && let Some(kind) = routes::kind_of(&source.event_type)
        {
            let cluster = match ev {
                RemediationEvent::Decided { finding, .. } => self.view_of(&finding.cluster)?,
                RemediationEvent::Started { cluster, .. }
                | RemediationEvent::Step { cluster, .. }
                | RemediationEvent::Succeeded { cluster, .. }
                | RemediationEvent::Failed { cluster, .. }
                | RemediationEvent::Held { cluster, .. }
                | RemediationEvent::Released { cluster, .. } => {
                    self.reader.cluster(*cluster)?.map(|v| v.value)
                }
            };
            if let Some(view) = cluster {
                notes.push(Notification {
                    project: view.project,
                    kind,
                    event_id: source.event_id.clone(),
                    event_type: source.event_type.clone(),
                    body: encode(&from, Some(&source.event_id), view.project, ev),
                });
            }
        }
        if let Some(ch) = change.as_ref() {
            for ev in &ch.events {
                if let TicketEvent::Opened { ticket } = ev
                    && let Some(kind) =
                        routes::kind_of(&event_type(ev.resource(), ev.event(), ev.version()))
                {
                    // Its own id: the bus copy gets its id when the engine commits.
                    let event_id = accord_bus::envelope::new_event_id();
                    let body = encode(&from, Some(&event_id), ticket.project, ev);
                    notes.push(Notification {
                        project: ticket.project,
                        kind,
                        event_id,
                        event_type: event_type(ev.resource(), ev.event(), ev.version()),
                        body,
                    });
                }
            }
        }
        let mut added = 0;
        let mut projects: Vec<ProjectId> = notes.iter().map(|n| n.project).collect();
        projects.sort();
        projects.dedup();
        for project in projects {
            let webhooks = self.reader.webhooks(project)?;
            if webhooks.is_empty() {
                continue;
            }
            let existing = self.reader.deliveries(project)?;
            let ch = change.get_or_insert_with(|| Change::in_project(project));
            added += enqueue(ch, &notes, &webhooks, &existing, now)?;
        }
        Ok(added)
    }

    /// An AutoClusters remediation event: the node's incident, opened, added to, escalated or
    /// closed ([`remediations`]). Events about a cluster the read model does not know are
    /// ignored.
    fn on_remediation(
        &self,
        ctx: &Ctx,
        ev: &RemediationEvent,
        source: &Source,
    ) -> Result<Option<Change>, DomainError> {
        let known = |cluster: ClusterId| -> Result<Option<ClusterView>, DomainError> {
            Ok(self.reader.cluster(cluster)?.map(|v| v.value))
        };
        match ev {
            RemediationEvent::Decided {
                finding,
                decision,
                evidence,
                remediation,
                state,
                ..
            } => {
                let Some(view) = self.view_of(&finding.cluster)? else {
                    return Ok(None);
                };
                let open_incident = self.reader.incident(&incidents::node_key(finding))?;
                let decided = remediations::Decided {
                    finding,
                    decision,
                    evidence,
                    remediation: *remediation,
                    state: *state,
                };
                Ok(
                    remediations::on_decided(ctx, &view, open_incident.as_ref(), &decided, source)?
                        .map(|(ch, _)| ch),
                )
            }
            RemediationEvent::Started {
                remediation,
                cluster,
                action,
                ..
            } => self.progress(
                ctx,
                *cluster,
                *remediation,
                Progress::Started { action: *action },
            ),
            RemediationEvent::Step {
                remediation,
                cluster,
                step,
                detail,
                ..
            } => self.progress(ctx, *cluster, *remediation, Progress::Step { step, detail }),
            RemediationEvent::Held {
                remediation,
                cluster,
                reason,
                ..
            } => self.progress(ctx, *cluster, *remediation, Progress::Held { reason }),
            RemediationEvent::Released {
                remediation,
                cluster,
                reason,
                ..
            } => self.progress(ctx, *cluster, *remediation, Progress::Released { reason }),
            RemediationEvent::Succeeded {
                remediation,
                cluster,
                action,
                finding,
                ..
            } => {
                if known(*cluster)?.is_none() {
                    return Ok(None);
                }
                // The incident the remediation reports to; else its node's, if it names the
                // remediation (an incident opened by another decision is not this one's to close).
                let incident = match self.reader.remediation_incident(*remediation)? {
                    Some(t) => Some(t),
                    None => {
                        let id = remediation.to_string();
                        self.reader
                            .incident(&incidents::node_key(finding))?
                            .filter(|t| t.value.evidence.iter().any(|l| l.contains(&id)))
                    }
                };
                let (ch, _) =
                    remediations::on_succeeded(ctx, incident.as_ref(), *remediation, *action)?;
                Ok(Some(ch))
            }
            RemediationEvent::Failed {
                remediation,
                cluster,
                action,
                finding,
                evidence,
                reason,
                ..
            } => {
                let Some(view) = known(*cluster)? else {
                    return Ok(None);
                };
                let incident = match self.reader.remediation_incident(*remediation)? {
                    Some(t) => Some(t),
                    None => self.reader.incident(&incidents::node_key(finding))?,
                };
                let failure = remediations::Failure {
                    remediation: *remediation,
                    action: *action,
                    finding,
                    evidence,
                    reason,
                };
                Ok(
                    remediations::on_failed(ctx, &view, incident.as_ref(), &failure, source)?
                        .map(|(ch, _)| ch),
                )
            }
        }
    }

    /// A remediation's progress, on the incident it reports to.
    fn progress(
        &self,
        ctx: &Ctx,
        cluster: ClusterId,
        remediation: RemediationId,
        p: Progress<'_>,
    ) -> Result<Option<Change>, DomainError> {
        if self.reader.cluster(cluster)?.is_none() {
            return Ok(None);
        }
        let linked = self.reader.remediation_incident(remediation)?;
        Ok(remediations::on_progress(ctx, linked.as_ref(), remediation, p)?.map(|(ch, _)| ch))
    }

    fn view_of(&self, cluster: &str) -> Result<Option<ClusterView>, DomainError> {
        match cluster.parse() {
            Ok(id) => Ok(self.reader.cluster(id)?.map(|v| v.value)),
            Err(_) => Ok(None),
        }
    }
}

impl EventSink<Input> for SupportDesk {
    type Event = TicketEvent;

    fn engine(&self) -> &Arc<Engine<TicketEvent>> {
        &self.engine
    }

    async fn on_event(&self, input: Input, meta: EventMeta) -> Result<(), DomainError> {
        let source = Source {
            event_type: meta.event_type,
            event_id: meta.id,
        };
        self.on_input(input, source).await
    }
}

/// `ev` as a notification body (see `accord_notify::body`), or why it cannot be one.
fn encode(
    source: &str,
    id: Option<&str>,
    project: ProjectId,
    ev: &impl accord_core::events::DomainEvent,
) -> Result<String, String> {
    let ce = accord_notify::body::envelope(source, id, Scope::Project(project), ev)
        .map_err(|e| e.to_string())?;
    let bytes = accord_notify::body::encode(&ce).map_err(|e| e.to_string())?;
    String::from_utf8(bytes).map_err(|e| e.to_string())
}
