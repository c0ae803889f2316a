//! Carrying out a running remediation, one step at a time (pure: state in, [`Change`] out).
//!
//! - `reset-gpu` / `reboot-node`: cordon the node (unless someone already did), ask the
//!   infrastructure for the repair ([`InfraDriver::repair_node`], idempotent by the repair id
//!   `<remediation>/<attempt>`), wait for its outcome, then for the node to report Ready, and
//!   uncordon it — only if the provider cordoned it: a customer's cordon stays.
//! - `replace-node`: cordon, create the replacement in the same pool (the old node is marked
//!   `retiring`, so the pool counts the replacement instead), wait until it is Ready, then
//!   drain and terminate the old node through the pool's usual removal. The remediation keeps
//!   the old node's finding, evidence and steps once the node is gone (RMA).
//! - A step that fails or outlives its [`Timeouts`] climbs the ladder (reset → reboot →
//!   replace); when there is no rung left the remediation is `failed` (support-triage
//!   escalates). A node removed meanwhile (scale-down, pool deletion) ends it `skipped`.
//!
//! Every step is written to the timeline and published as `remediation.step`.
//!
//! [`InfraDriver::repair_node`]: accord_core::infra::InfraDriver::repair_node

use accord_core::{
    DomainError,
    autoclusters::{Remediation, RemediationState, RemediationStep, next_rung},
    iam::Party,
    ids::RemediationId,
    infra::{RepairAction, RepairRequest},
    node::{Node, NodeEvent, NodeState},
    nodepool::NodePool,
    remediation::{RemediationAction, RemediationEvent},
};
use accord_store::Expect;
use time::{Duration, OffsetDateTime};

use crate::{
    change::Change,
    reconcile::{new_node, remove_node},
    trees::{NODEPOOLS, NODES, Reader, node_key, pool_key, put_remediation},
};

/// How long each step may take before it counts as failed (wall-clock time).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// A GPU reset (drain the GPU's pods, reset, verify).
    pub reset_gpu: std::time::Duration,
    /// A reboot (drain, power-cycle, boot).
    pub reboot_node: std::time::Duration,
    /// From a successful repair to the node reporting Ready.
    pub verify: std::time::Duration,
    /// Provisioning the replacement up to Ready.
    pub provision_replacement: std::time::Duration,
    /// Draining and terminating the replaced node (drains may take up to an hour).
    pub retire: std::time::Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        let min = |m: u64| std::time::Duration::from_secs(m * 60);
        Self {
            reset_gpu: min(10),
            reboot_node: min(20),
            verify: min(10),
            provision_replacement: min(30),
            retire: min(75),
        }
    }
}

impl Timeouts {
    /// The defaults scaled by `factor` (the simulator's clock factor), never below `floor`:
    /// a simulated fleet running 1000× faster than real time times out 1000× sooner.
    pub fn scaled(factor: f64, floor: std::time::Duration) -> Self {
        let d = Self::default();
        let f = |t: std::time::Duration| {
            let factor = if factor.is_finite() && factor >= 0.0 {
                factor
            } else {
                1.0
            };
            t.mul_f64(factor).max(floor)
        };
        Self {
            reset_gpu: f(d.reset_gpu),
            reboot_node: f(d.reboot_node),
            verify: f(d.verify),
            provision_replacement: f(d.provision_replacement),
            retire: f(d.retire),
        }
    }

    fn of(&self, step: RemediationStep, action: RemediationAction) -> Duration {
        let t = match (step, action) {
            (RemediationStep::Repair, RemediationAction::ResetGpu) => self.reset_gpu,
            (RemediationStep::Repair, _) => self.reboot_node,
            (RemediationStep::Verify, _) => self.verify,
            (RemediationStep::ProvisionReplacement, _) => self.provision_replacement,
            (RemediationStep::RetireNode, _) => self.retire,
        };
        Duration::try_from(t).unwrap_or(Duration::MAX)
    }
}

/// What a remediation acts on, as the store has it now.
#[derive(Debug, Clone, Copy)]
pub struct Subject<'a> {
    /// The node (`None` once it is gone).
    pub node: Option<&'a Node>,
    /// The replacement (`replace-node`, once created).
    pub replacement: Option<&'a Node>,
    /// The node's pool (`None` once it is gone).
    pub pool: Option<&'a NodePool>,
}

/// What a remediation acts on, as read from the store (owned; [`Observed::subject`] borrows it).
#[derive(Debug, Clone)]
pub struct Observed {
    /// The node (`None` once it is gone).
    pub node: Option<Node>,
    /// The replacement, once created.
    pub replacement: Option<Node>,
    /// The node's pool (`None` once it is gone).
    pub pool: Option<NodePool>,
}

impl Observed {
    /// Reads what `rem` acts on.
    pub fn read(reader: &Reader, rem: &Remediation) -> Result<Self, DomainError> {
        Ok(Self {
            node: reader.node(rem.spec.node)?,
            replacement: match rem.status.replacement {
                Some(r) => reader.node(r)?,
                None => None,
            },
            pool: reader.get(NODEPOOLS, &pool_key(rem.spec.cluster, rem.spec.pool))?,
        })
    }

    /// The borrowed view [`advance`] and [`on_repair`] take.
    pub fn subject(&self) -> Subject<'_> {
        Subject {
            node: self.node.as_ref(),
            replacement: self.replacement.as_ref(),
            pool: self.pool.as_ref(),
        }
    }
}

/// The id of a remediation's repair for its `attempt`: `<remediation>/<attempt>`.
pub fn repair_id(id: RemediationId, attempt: u32) -> String {
    format!("{id}/{attempt}")
}

/// The remediation a repair id belongs to.
pub fn remediation_of_repair(repair: &str) -> Option<RemediationId> {
    repair.split_once('/')?.0.parse().ok()
}

/// The repair the infrastructure should be running for `rem` now, if any.
pub fn repair_request(rem: &Remediation) -> Option<RepairRequest> {
    if rem.status.state != RemediationState::Running
        || rem.status.step != Some(RemediationStep::Repair)
    {
        return None;
    }
    let action = match rem.status.action {
        RemediationAction::ResetGpu => RepairAction::ResetGpu {
            gpu: rem.spec.finding.gpu?,
        },
        RemediationAction::RebootNode => RepairAction::RebootNode,
        _ => return None,
    };
    Some(RepairRequest {
        id: rem.status.repair.clone()?,
        node: rem.spec.node,
        action,
    })
}

/// What the infrastructure reported about a repair.
#[derive(Debug, Clone, Copy)]
pub enum RepairReport<'a> {
    /// A step happened.
    Progress { step: &'a str, detail: &'a str },
    /// It finished.
    Finished { ok: bool, detail: &'a str },
}

/// The edit of one remediation under way: the record, and the change collecting its writes.
struct Edit<'a> {
    before: &'a Remediation,
    next: Remediation,
    ch: Change,
    now: OffsetDateTime,
}

impl<'a> Edit<'a> {
    fn new(rem: &'a Remediation, now: OffsetDateTime) -> Self {
        Self {
            before: rem,
            next: rem.clone(),
            ch: Change::in_project(rem.metadata.project),
            now,
        }
    }

    /// A timeline entry, published as `remediation.step`.
    fn step(&mut self, what: &str, detail: impl Into<String>) {
        let detail = detail.into();
        self.next.status.note(self.now, what, detail.clone());
        self.ch.event(RemediationEvent::Step {
            remediation: self.next.metadata.id,
            cluster: self.next.spec.cluster,
            node: self.next.spec.node,
            step: what.to_owned(),
            detail,
        });
    }

    fn enter(&mut self, step: Option<RemediationStep>) {
        self.next.status.step = step;
        self.next.status.step_started_at = step.map(|_| self.now);
    }

    fn write_node(&mut self, node: &Node) -> Result<(), DomainError> {
        let mut node = node.clone();
        let expect = node.metadata.touch(self.now, false);
        self.ch.put(
            NODES,
            &node_key(node.spec.pool, node.metadata.id),
            &node,
            Expect::Version(expect),
        )?;
        Ok(())
    }

    fn finish(mut self) -> Result<Change, DomainError> {
        let expect = self.before.metadata.resource_version;
        self.next.metadata.touch(self.now, false);
        put_remediation(&mut self.ch, &self.next, Expect::Version(expect))?;
        Ok(self.ch)
    }

    fn succeed(&mut self, node: Option<&Node>, why: String) -> Result<(), DomainError> {
        if let Some(node) = node
            && self.next.status.cordoned_by_us
            && node.status.cordoned_by == Some(Party::Provider)
            && node.status.retiring.is_none()
        {
            let mut n = node.clone();
            n.status.cordoned_by = None;
            self.write_node(&n)?;
            self.ch.event(NodeEvent::Uncordoned {
                node: n.metadata.id,
                cluster: n.spec.cluster,
            });
            self.step(
                "uncordoned",
                format!("{} is schedulable again", n.metadata.name),
            );
        }
        self.enter(None);
        self.next.status.state = RemediationState::Succeeded;
        self.next.status.reason = why.clone();
        self.next.status.note(self.now, "succeeded", why);
        self.ch.event(RemediationEvent::Succeeded {
            remediation: self.next.metadata.id,
            cluster: self.next.spec.cluster,
            node: self.next.spec.node,
            action: self.next.status.action,
            project: self.next.metadata.project,
            finding: self.next.spec.finding.clone(),
        });
        Ok(())
    }

    /// The node went away before the action finished.
    fn gone(&mut self) {
        let why = format!(
            "{} was removed (scale-down or pool deletion) before {} finished",
            self.next.spec.node_name,
            self.next.status.action.as_str()
        );
        self.enter(None);
        self.next.status.state = RemediationState::Skipped;
        self.next.status.reason = why.clone();
        self.next.status.note(self.now, "skipped", why);
    }

    /// The current rung failed: climb to the next one, or fail for good.
    fn fail_rung(&mut self, subject: &Subject<'_>, why: String) -> Result<(), DomainError> {
        let action = self.next.status.action;
        let next = next_rung(action)
            .filter(|n| *n != RemediationAction::ReplaceNode || subject.pool.is_some());
        if let Some(next) = next {
            self.step(
                "climbed",
                format!("{} failed: {why}; next: {}", action.as_str(), next.as_str()),
            );
            self.next.status.action = next;
            self.next.status.attempts += 1;
            self.next.status.repair = None;
            self.enter(None);
            self.next.status.reason = format!(
                "{} failed ({why}); trying {}",
                action.as_str(),
                next.as_str()
            );
            self.ch.event(RemediationEvent::Started {
                remediation: self.next.metadata.id,
                cluster: self.next.spec.cluster,
                node: self.next.spec.node,
                action: next,
            });
            return Ok(());
        }
        // No rung left. A replacement that never came leaves the old node counted again.
        if let Some(node) = subject.node
            && node.status.retiring == Some(self.next.metadata.id)
        {
            let mut n = node.clone();
            n.status.retiring = None;
            self.write_node(&n)?;
        }
        let why = format!(
            "{} failed: {why}; no automatic remedy left",
            action.as_str()
        );
        self.enter(None);
        self.next.status.state = RemediationState::Failed;
        self.next.status.reason = why.clone();
        self.next.status.note(self.now, "failed", why.clone());
        let mut evidence = self.next.spec.evidence.clone();
        evidence.extend(
            self.next
                .status
                .timeline
                .iter()
                .map(|e| format!("{} {}: {}", fmt_time(e.at), e.what, e.detail)),
        );
        self.ch.event(RemediationEvent::Failed {
            remediation: self.next.metadata.id,
            cluster: self.next.spec.cluster,
            node: self.next.spec.node,
            action,
            project: self.next.metadata.project,
            finding: self.next.spec.finding.clone(),
            evidence,
            reason: why,
        });
        Ok(())
    }

    /// Starts the current rung: cordon, then ask for the repair or create the replacement.
    fn start_rung(&mut self, subject: &Subject<'_>, node: &Node) -> Result<(), DomainError> {
        let mut n = node.clone();
        if n.status.cordoned_by.is_none() {
            n.status.cordoned_by = Some(Party::Provider);
            self.next.status.cordoned_by_us = true;
            self.ch.event(NodeEvent::Cordoned {
                node: n.metadata.id,
                cluster: n.spec.cluster,
                by: Party::Provider,
            });
            self.step(
                "cordoned",
                format!("{} cordoned: no new work lands on it", n.metadata.name),
            );
        }
        let id = self.next.metadata.id;
        let mut action = self.next.status.action;
        if action == RemediationAction::ResetGpu && self.next.spec.finding.gpu.is_none() {
            self.step(
                "climbed",
                "the finding names no GPU to reset; rebooting the node instead",
            );
            action = RemediationAction::RebootNode;
            self.next.status.action = action;
        }
        match action {
            RemediationAction::ResetGpu | RemediationAction::RebootNode => {
                let repair = repair_id(id, self.next.status.attempts);
                let what = if action == RemediationAction::ResetGpu {
                    format!(
                        "reset of GPU {} requested ({repair})",
                        self.next.spec.finding.gpu.unwrap_or_default()
                    )
                } else {
                    format!(
                        "drain and power-cycle of {} requested ({repair})",
                        n.metadata.name
                    )
                };
                self.next.status.repair = Some(repair);
                self.enter(Some(RemediationStep::Repair));
                self.step("repair-requested", what);
            }
            RemediationAction::ReplaceNode => {
                let Some(pool) = subject.pool else {
                    self.gone();
                    return Ok(());
                };
                // The replacement runs what the node ran (its revision): during a rollout the
                // pool's image is the rollout's target, which a replacement must not jump to.
                let replacement = new_node(
                    pool,
                    &n.spec.image_version,
                    n.spec.kubelet_version,
                    self.now,
                    &mut self.ch,
                )?;
                n.status.retiring = Some(id);
                self.next.status.replacement = Some(replacement);
                self.enter(Some(RemediationStep::ProvisionReplacement));
                self.step(
                    "replacement-requested",
                    format!(
                        "replacement {replacement} requested in pool {}; {} leaves once it is ready",
                        pool.metadata.name, n.metadata.name
                    ),
                );
            }
            other => {
                return self.fail_rung(
                    subject,
                    format!("{} is not an action on the node", other.as_str()),
                );
            }
        }
        if &n != node {
            self.write_node(&n)?;
        }
        Ok(())
    }
}

fn fmt_time(t: OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| t.to_string())
}

fn minutes(d: Duration) -> i64 {
    d.whole_minutes().max(1)
}

/// Moves a running remediation on by what the store shows now; `None` when there is nothing
/// to do yet.
pub fn advance(
    rem: &Remediation,
    subject: &Subject<'_>,
    now: OffsetDateTime,
    timeouts: &Timeouts,
) -> Result<Option<Change>, DomainError> {
    if rem.status.state != RemediationState::Running {
        return Ok(None);
    }
    let mut e = Edit::new(rem, now);
    let timed_out = |step: RemediationStep| {
        let limit = timeouts.of(step, rem.status.action);
        rem.status
            .step_started_at
            .is_some_and(|t| now - t > limit)
            .then(|| minutes(limit))
    };
    match rem.status.step {
        None => {
            let Some(node) = subject.node else {
                e.gone();
                return e.finish().map(Some);
            };
            e.start_rung(subject, node)?;
        }
        Some(RemediationStep::Repair) => {
            if subject.node.is_none() {
                e.gone();
            } else if let Some(m) = timed_out(RemediationStep::Repair) {
                e.fail_rung(
                    subject,
                    format!("the infrastructure did not finish the repair within {m} min"),
                )?;
            } else {
                return Ok(None);
            }
        }
        Some(RemediationStep::Verify) => match subject.node {
            None => e.gone(),
            Some(node) if node.status.state == NodeState::Ready => {
                let why = format!(
                    "{} repaired {} ({}), Ready again",
                    rem.status.action.as_str(),
                    node.metadata.name,
                    finding_words(rem)
                );
                e.succeed(Some(node), why)?;
            }
            Some(_) => match timed_out(RemediationStep::Verify) {
                Some(m) => e.fail_rung(
                    subject,
                    format!("the node did not report Ready within {m} min of the repair"),
                )?,
                None => return Ok(None),
            },
        },
        Some(RemediationStep::ProvisionReplacement) => {
            let Some(node) = subject.node else {
                e.gone();
                return e.finish().map(Some);
            };
            match subject.replacement {
                Some(r) if r.status.state == NodeState::Ready => {
                    remove_node(
                        node,
                        &format!("replaced by AutoClusters ({})", rem.metadata.id),
                        now,
                        &mut e.ch,
                    )?;
                    e.enter(Some(RemediationStep::RetireNode));
                    e.step(
                        "replacement-ready",
                        format!(
                            "replacement {} is Ready; draining and terminating {}",
                            r.metadata.name, node.metadata.name
                        ),
                    );
                }
                Some(r) if r.status.state == NodeState::Failed => {
                    e.fail_rung(
                        subject,
                        format!("replacement {} failed to provision", r.metadata.name),
                    )?;
                }
                None => {
                    e.fail_rung(subject, "the replacement node disappeared".to_owned())?;
                }
                Some(_) => match timed_out(RemediationStep::ProvisionReplacement) {
                    Some(m) => e.fail_rung(
                        subject,
                        format!("the replacement was not Ready within {m} min"),
                    )?,
                    None => return Ok(None),
                },
            }
        }
        Some(RemediationStep::RetireNode) => match subject.node {
            None => {
                let replacement = rem
                    .status
                    .replacement
                    .map(|r| r.to_string())
                    .unwrap_or_default();
                let why = format!(
                    "{} replaced by {replacement} ({}); the old instance is terminated, its \
                     findings and steps stay with this remediation",
                    rem.spec.node_name,
                    finding_words(rem)
                );
                e.succeed(None, why)?;
            }
            Some(node)
                if node.status.state == NodeState::Terminating
                    || node.status.state == NodeState::Draining =>
            {
                match timed_out(RemediationStep::RetireNode) {
                    Some(m) => e.fail_rung(
                        subject,
                        format!("the replaced node was not gone within {m} min"),
                    )?,
                    None => return Ok(None),
                }
            }
            Some(node) => {
                // Something put it back (it should be draining): retire it again.
                remove_node(
                    node,
                    &format!("replaced by AutoClusters ({})", rem.metadata.id),
                    now,
                    &mut e.ch,
                )?;
            }
        },
    }
    e.finish().map(Some)
}

/// Applies what the infrastructure reported about `repair`; `None` when it is not the
/// remediation's current repair (a late or repeated report) or changes nothing.
pub fn on_repair(
    rem: &Remediation,
    subject: &Subject<'_>,
    repair: &str,
    report: RepairReport<'_>,
    now: OffsetDateTime,
) -> Result<Option<Change>, DomainError> {
    if rem.status.state != RemediationState::Running
        || rem.status.step != Some(RemediationStep::Repair)
        || rem.status.repair.as_deref() != Some(repair)
    {
        return Ok(None);
    }
    let mut e = Edit::new(rem, now);
    match report {
        RepairReport::Progress { step, detail } => {
            let seen = rem
                .status
                .timeline
                .last()
                .is_some_and(|t| t.what == step && t.detail == detail);
            if seen {
                return Ok(None);
            }
            e.step(step, detail);
        }
        RepairReport::Finished { ok: true, detail } => {
            e.enter(Some(RemediationStep::Verify));
            e.step("repaired", detail);
        }
        RepairReport::Finished { ok: false, detail } => {
            e.fail_rung(subject, detail.to_owned())?;
        }
    }
    e.finish().map(Some)
}

/// The finding in a few words, e.g. `gpu-xid 79 on GPU 3`.
pub fn finding_words(rem: &Remediation) -> String {
    let f = &rem.spec.finding;
    let mut s = f.kind.as_str().to_owned();
    if let Some(xid) = f.xid {
        s.push_str(&format!(" {xid}"));
    }
    if let Some(gpu) = f.gpu {
        s.push_str(&format!(" on GPU {gpu}"));
    }
    if let Some(port) = &f.port {
        s.push_str(&format!(" on port {}", port.as_str()));
    }
    s
}
