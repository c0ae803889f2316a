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

use crate::trees::Tickets as _;
use crate::{
    catch_up::CatchUp,
    classify::RuleSet,
    handlers::{
        Change, Ctx,
        close::close,
        cluster_view,
        incidents::{self, Source},
        open::{NewTicket, open, validate},
        reclassify::reclassify,
        remediations::{self, Progress},
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
        Arc::new(Self {
            reader: crate::trees::reader(store.clone()),
            rules,
            engine: Arc::new(Engine::new(SERVICE, store, metrics)),
            catch_up,
        })
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
        let change = match &input {
            Input::Cluster(ev) => {
                let cluster = match ev {
                    ClusterEvent::Created { cluster } | ClusterEvent::Updated { cluster } => {
                        cluster.metadata.id
                    }
                    ClusterEvent::Deleted { cluster, .. }
                    | ClusterEvent::ConditionChanged { cluster, .. } => *cluster,
                    _ => return Ok(()),
                };
                let stored = self.reader.cluster(cluster)?;
                if let ClusterEvent::ConditionChanged { condition, .. } = ev {
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
        if let Some(ch) = change {
            w.commit(ch).await?;
            drop(w);
            self.catch_up.advanced();
        }
        Ok(())
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
