//! AutoClusters, live: health findings become recorded, safe, explained remediations, carried
//! out by the owner of nodes (the provisioner keeps one writer per node).
//!
//! The loop:
//! 1. the durable consumer `provisioner-autoclusters` takes `health.finding-raised`
//!    ([`SUBSCRIPTION`]); a finding of an unknown node or cluster is acknowledged and dropped
//!    (counted in `accord_provisioner_findings_total{outcome}`), a finding already decided
//!    (same finding id) is acknowledged and nothing else;
//! 2. under the write lock, the policy context is computed from the provisioner's own state
//!    ([`context`]), the cluster's policy decides ([`policy`]; a policy that cannot decide is
//!    answered with `escalate`), and the decision is recorded as a remediation with its events
//!    ([`decide`]), in one commit;
//! 3. the controller, kicked by those events, carries running remediations out step by step
//!    ([`execute`]) through the infrastructure driver, and asks the policy again about held
//!    ones at each pass: when it no longer holds, the remediation is released.
//!
//! Restarts: everything is in the store. A remediation waiting for a repair re-issues it (the
//! driver is idempotent by repair id and reports a finished repair again); a replacement node
//! is a node like any other, provisioned by the pool's controller, so a killed provisioner
//! resumes a replace without creating a second replacement.

pub mod context;
pub mod decide;
pub mod execute;
pub mod policy;

use std::{path::PathBuf, sync::Arc};

use accord_core::{
    DomainError,
    autoclusters::RemediationState,
    cluster::{Cluster, RemediationMode},
    ids::{ClusterId, NodeId},
    node::{Node, NodeState},
    remediation::{Finding, HealthEvent, RemediationAction, RemediationEvent},
};
use accord_plugin_host::HostConfig;
use accord_runtime::{Writer, consume::Subscription};
use accord_store::Expect;
use time::OffsetDateTime;

use self::{
    decide::Decided,
    execute::{Observed, RepairReport, Timeouts},
    policy::Policies,
};
use crate::{
    change::{Change, Event},
    service::Provisioner,
    trees::{CLUSTERS, Reader, put_remediation},
};

/// How AutoClusters runs in this provisioner.
#[derive(Debug, Clone)]
pub struct Options {
    /// Where the shipped `gpu_remediation.wasm` is.
    pub plugin_dir: PathBuf,
    /// The policy sandbox's limits.
    pub host_config: HostConfig,
    /// Step timeouts.
    pub timeouts: Timeouts,
}

/// AutoClusters' part of a running provisioner.
pub struct AutoClusters {
    pub(crate) policies: Arc<Policies>,
    pub(crate) timeouts: Timeouts,
}

impl AutoClusters {
    /// Loads the shipped policy (compiling it: call off the async workers).
    pub fn load(opts: &Options) -> anyhow::Result<Self> {
        Ok(Self {
            policies: Arc::new(Policies::load(opts.host_config.clone(), &opts.plugin_dir)?),
            timeouts: opts.timeouts,
        })
    }

    /// The policies (for the plugin-bucket watch).
    pub fn policies(&self) -> &Arc<Policies> {
        &self.policies
    }
}

/// What the AutoClusters consumer takes.
#[derive(Debug, Clone)]
pub enum Input {
    /// A health finding.
    Health(HealthEvent),
}

/// The AutoClusters consumer: health findings.
pub const SUBSCRIPTION: Subscription<Input> = Subscription {
    durable: "provisioner-autoclusters",
    inputs: &[("health", |ev| ev.decode_data().map(Input::Health))],
};

/// Most evidence lines kept per finding, and bytes per line.
const MAX_EVIDENCE_LINES: usize = 32;
const MAX_EVIDENCE_LINE: usize = 1024;
/// Longest finding id accepted.
const MAX_FINDING_ID: usize = 253;

fn cut(mut s: String, max: usize) -> String {
    if s.len() > max {
        let mut end = max;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        s.truncate(end);
    }
    s
}

/// What the policy's context and a decision read of a cluster's remediations: the open ones
/// and every one of the node (through the indexes: a cluster's finished remediations of other
/// nodes are not decoded), oldest first.
fn relevant(
    reader: &Reader,
    cluster: ClusterId,
    node: NodeId,
) -> Result<Vec<accord_core::autoclusters::Remediation>, DomainError> {
    let mut all = reader.open_remediations(cluster)?;
    for r in reader.node_remediations(node)? {
        if r.spec.cluster == cluster && !all.iter().any(|o| o.metadata.id == r.metadata.id) {
            all.push(r);
        }
    }
    all.sort_by_key(|r| r.metadata.id.to_string());
    Ok(all)
}

/// The nodes of every pool of a cluster.
fn cluster_nodes(reader: &Reader, cluster: ClusterId) -> Result<Vec<Node>, DomainError> {
    let mut nodes = Vec::new();
    for pool in reader.pools(cluster)? {
        nodes.extend(reader.nodes(pool.metadata.id)?);
    }
    Ok(nodes)
}

impl Provisioner {
    /// Handles one input of the AutoClusters consumer; `event_id` stands in for the finding id
    /// of findings published without one.
    pub async fn on_autoclusters_input(
        &self,
        input: Input,
        event_id: &str,
    ) -> Result<(), DomainError> {
        let Input::Health(HealthEvent::FindingRaised {
            finding,
            evidence,
            finding_id,
            ..
        }) = input;
        let finding_id = if finding_id.is_empty() {
            format!("evt-{event_id}")
        } else {
            finding_id
        };
        let outcome = self.on_finding(finding_id, finding, evidence).await?;
        self.metrics
            .findings
            .get_or_create(&[("outcome", outcome)])
            .inc();
        Ok(())
    }

    /// Decides and records one finding; returns the outcome label.
    async fn on_finding(
        &self,
        finding_id: String,
        finding: Finding,
        evidence: Vec<String>,
    ) -> Result<&'static str, DomainError> {
        let Some(ac) = self.autoclusters.get() else {
            return Ok("disabled");
        };
        if finding_id.len() > MAX_FINDING_ID {
            return Ok("malformed");
        }
        let Ok(node_id) = finding.node.parse::<NodeId>() else {
            return Ok("unknown-node");
        };
        let mut w = self.engine.lock().await;
        let reader = &self.reader;
        if reader.remediation_of_finding(&finding_id)?.is_some() {
            return Ok("duplicate");
        }
        let Some(node) = reader.node(node_id)? else {
            return Ok("unknown-node");
        };
        if node.spec.cluster.to_string() != finding.cluster {
            return Ok("unknown-cluster");
        }
        let Some(cluster) = reader.get::<Cluster>(CLUSTERS, &finding.cluster)? else {
            return Ok("unknown-cluster");
        };
        let now = OffsetDateTime::now_utc();
        // A critical finding on a node of a rollout's new revision halts that rollout (before
        // any remediation is decided about it).
        if finding.severity.as_deref() == Some("critical") {
            let ch =
                crate::rollouts::on_critical_finding(reader, &node, finding.kind.as_str(), now)?;
            if !ch.is_empty() {
                w.commit(ch).await?;
            }
        }
        let nodes = cluster_nodes(reader, cluster.metadata.id)?;
        let remediations = relevant(reader, cluster.metadata.id, node.metadata.id)?;
        let ctx = context::context(
            &context::Facts {
                cluster: &cluster,
                node: &node,
                pool_opt_in: self.pool_opt_in(&node)?,
                cluster_nodes: &nodes,
                remediations: &remediations,
                now,
            },
            &finding,
        );
        let policy_name = cluster.spec.autoclusters.policy_name().to_owned();
        let (decision, policy) = ac.policies.decide(&policy_name, &finding, &ctx).await;
        let window = window(
            ac,
            &policy_name,
            &cluster,
            &node,
            &finding,
            &ctx,
            &decision,
            now,
        )
        .await;
        let evidence = evidence
            .into_iter()
            .take(MAX_EVIDENCE_LINES)
            .map(|l| cut(l, MAX_EVIDENCE_LINE))
            .collect();
        let (mut change, rem) = decide::record(
            now,
            &cluster,
            &node,
            &remediations,
            Decided {
                finding_id,
                finding,
                evidence,
                context: ctx,
                decision,
                policy,
                window,
            },
        )?;
        decide::retention(reader, cluster.metadata.id, &mut change)?;
        w.commit(change).await?;
        tracing::info!(
            remediation = %rem.metadata.id,
            node = %rem.spec.node_name,
            action = rem.spec.decision.action.as_str(),
            state = rem.status.state.as_str(),
            "remediation decided"
        );
        Ok("decided")
    }

    /// One controller pass over a cluster's remediations that are not finished: held ones are
    /// put to the policy again, running ones moved on. Each change is its own commit.
    pub(crate) async fn advance_remediations(
        &self,
        w: &mut Writer<'_, Event>,
        cluster: ClusterId,
    ) -> Result<(), DomainError> {
        let Some(ac) = self.autoclusters.get() else {
            return Ok(());
        };
        let open = self.reader.open_remediations(cluster)?;
        for rem in open {
            // Read afresh: an earlier commit of this pass may have changed it or its node.
            let Some(rem) = self.reader.remediation(rem.metadata.id)? else {
                continue;
            };
            let now = OffsetDateTime::now_utc();
            let change = match rem.status.state {
                RemediationState::Held => self.reconsider(ac, &rem, now).await?,
                RemediationState::WaitingWindow => self.await_window(ac, &rem, now).await?,
                RemediationState::Running => {
                    let owned = Observed::read(&self.reader, &rem)?;
                    execute::advance(&rem, &owned.subject(), now, &ac.timeouts)?
                }
                _ => None,
            };
            if let Some(change) = change {
                w.commit(change).await?;
            }
        }
        Ok(())
    }

    /// Writes the state and node index entries of remediations stored before those indexes
    /// existed (once, at start-up; a store that has them is read and left alone).
    pub async fn reindex_remediations(&self) -> Result<usize, DomainError> {
        let mut w = self.engine.lock().await;
        let mut ch = Change::none();
        let mut added = 0;
        for rem in self.reader.list(crate::trees::REMEDIATIONS, "")? {
            let key = crate::trees::remediation_key(rem.spec.cluster, rem.metadata.id);
            if self
                .reader
                .get(crate::trees::REMEDIATION_STATES, &key)?
                .is_none()
            {
                ch.put(
                    crate::trees::REMEDIATION_STATES,
                    &key,
                    &rem.status.state,
                    Expect::Absent,
                )?;
                ch.put(
                    crate::trees::NODE_REMEDIATIONS,
                    &format!("{}/{}", rem.spec.node, rem.metadata.id),
                    &key,
                    Expect::Any,
                )?;
                added += 1;
            }
        }
        if added > 0 {
            w.commit(ch).await?;
        }
        Ok(added)
    }

    /// The node's pool's AutoClusters opt-in, if it sets one.
    fn pool_opt_in(&self, node: &Node) -> Result<Option<bool>, DomainError> {
        Ok(self
            .reader
            .get::<accord_core::nodepool::NodePool>(
                crate::trees::NODEPOOLS,
                &crate::trees::pool_key(node.spec.cluster, node.spec.pool),
            )?
            .and_then(|p| p.spec.remediation_enabled))
    }

    /// A held remediation, put to the policy again with today's context: released when the
    /// policy no longer holds it (to the action it now names, or to nothing).
    async fn reconsider(
        &self,
        ac: &AutoClusters,
        rem: &accord_core::autoclusters::Remediation,
        now: OffsetDateTime,
    ) -> Result<Option<Change>, DomainError> {
        let reader = &self.reader;
        let (Some(node), Some(cluster)) = (
            reader.node(rem.spec.node)?,
            reader.get::<Cluster>(CLUSTERS, &rem.spec.cluster.to_string())?,
        ) else {
            return release(rem, now, RemediationAction::None, "the node is gone".into()).map(Some);
        };
        let (ctx, _) = self.context_again(rem, &cluster, &node, now)?;
        let (decision, policy) = ac
            .policies
            .decide(
                cluster.spec.autoclusters.policy_name(),
                &rem.spec.finding,
                &ctx,
            )
            .await;
        if decision.action == RemediationAction::Hold {
            return Ok(None);
        }
        let why = format!(
            "{policy} no longer holds it: {} ({})",
            decision.action.as_str(),
            decision.reason
        );
        resume(rem, &cluster, now, decision.action, why).map(Some)
    }

    /// The policy's context for `rem` asked again today (its own finding counted once, as
    /// when it was decided), and the cluster's other remediations.
    fn context_again(
        &self,
        rem: &accord_core::autoclusters::Remediation,
        cluster: &Cluster,
        node: &Node,
        now: OffsetDateTime,
    ) -> Result<
        (
            accord_core::remediation::RemediationContext,
            Vec<accord_core::autoclusters::Remediation>,
        ),
        DomainError,
    > {
        let nodes = cluster_nodes(&self.reader, cluster.metadata.id)?;
        let others: Vec<_> = relevant(&self.reader, cluster.metadata.id, node.metadata.id)?
            .into_iter()
            .filter(|r| r.metadata.id != rem.metadata.id)
            .collect();
        let mut ctx = context::context(
            &context::Facts {
                cluster,
                node,
                pool_opt_in: self.pool_opt_in(node)?,
                cluster_nodes: &nodes,
                remediations: &others,
                now,
            },
            &rem.spec.finding,
        );
        ctx.xid_count_24h = rem.spec.context.xid_count_24h;
        Ok((ctx, others))
    }

    /// A remediation waiting for a maintenance window: when a window is open (or the node is
    /// no longer ready, or the cluster no longer has windows), the policy is asked again with
    /// today's context and its answer is carried out; after [`MAX_WAIT`] it is given up.
    async fn await_window(
        &self,
        ac: &AutoClusters,
        rem: &accord_core::autoclusters::Remediation,
        now: OffsetDateTime,
    ) -> Result<Option<Change>, DomainError> {
        let reader = &self.reader;
        let (Some(node), Some(cluster)) = (
            reader.node(rem.spec.node)?,
            reader.get::<Cluster>(CLUSTERS, &rem.spec.cluster.to_string())?,
        ) else {
            return release(rem, now, RemediationAction::None, "the node is gone".into()).map(Some);
        };
        let schedule = &cluster.spec.autoclusters.maintenance;
        let open = schedule.open_at(now);
        let why = if open {
            "the maintenance window is open"
        } else if node.status.state == NodeState::NotReady {
            "the node is not ready: it no longer waits for a window"
        } else if schedule.is_empty() {
            "the cluster no longer has maintenance windows"
        } else if now - rem.metadata.created_at > MAX_WAIT {
            return release(
                rem,
                now,
                RemediationAction::None,
                format!(
                    "no maintenance window opened in {} days: given up, nothing done",
                    MAX_WAIT.whole_days()
                ),
            )
            .map(Some);
        } else {
            return Ok(None);
        };
        let (mut ctx, others) = self.context_again(rem, &cluster, &node, now)?;
        let of_node = || others.iter().filter(|r| r.spec.node == rem.spec.node);
        if of_node().any(|r| r.status.state == RemediationState::Running) {
            // One remediation acts on a node at a time: this one waits for the other.
            return Ok(None);
        }
        if let Some(done) = of_node().find(|r| {
            r.status.state == RemediationState::Succeeded
                && r.metadata.updated_at >= rem.metadata.created_at
                && strength(r.status.action) >= strength(rem.spec.decision.action)
        }) {
            let why = format!(
                "{} ({}) already repaired the node since this was decided",
                done.metadata.id,
                done.status.action.as_str()
            );
            return release(rem, now, RemediationAction::None, why).map(Some);
        }
        ctx.in_maintenance_window = open || node.status.state == NodeState::NotReady;
        let (decision, policy) = ac
            .policies
            .decide(
                cluster.spec.autoclusters.policy_name(),
                &rem.spec.finding,
                &ctx,
            )
            .await;
        let why = format!(
            "{why}; {policy} decided {} ({})",
            decision.action.as_str(),
            decision.reason
        );
        resume(rem, &cluster, now, decision.action, why).map(Some)
    }

    /// Applies one repair report from the infrastructure (see [`execute::on_repair`]).
    pub(crate) fn on_repair_report(
        &self,
        repair: &str,
        report: RepairReport<'_>,
        now: OffsetDateTime,
    ) -> Result<Change, DomainError> {
        let Some(id) = execute::remediation_of_repair(repair) else {
            return Ok(Change::none());
        };
        let Some(rem) = self.reader.remediation(id)? else {
            return Ok(Change::none());
        };
        let owned = Observed::read(&self.reader, &rem)?;
        Ok(
            execute::on_repair(&rem, &owned.subject(), repair, report, now)?
                .unwrap_or_else(Change::none),
        )
    }
}

/// How much of the node an action repairs: a reboot resets every GPU, a replacement all.
fn strength(action: RemediationAction) -> u8 {
    match action {
        RemediationAction::ResetGpu => 1,
        RemediationAction::RebootNode => 2,
        RemediationAction::ReplaceNode => 3,
        _ => 0,
    }
}

/// The longest a remediation waits for a maintenance window.
pub const MAX_WAIT: time::Duration = accord_core::maintenance::LOOKAHEAD;

/// Whether the decided action waits for a maintenance window: the cluster has windows, none is
/// open, the action is allowed, and the policy would do something else on the node in a window
/// (a preventive action: what the policy itself defers). A node that is not ready bypasses
/// the window; a window that does not open within [`MAX_WAIT`] is not waited for.
#[allow(clippy::too_many_arguments)]
async fn window(
    ac: &AutoClusters,
    policy_name: &str,
    cluster: &Cluster,
    node: &Node,
    finding: &Finding,
    ctx: &accord_core::remediation::RemediationContext,
    now_decision: &accord_core::remediation::RemediationDecision,
    now: OffsetDateTime,
) -> Option<decide::Window> {
    let schedule = &cluster.spec.autoclusters.maintenance;
    if schedule.is_empty() || ctx.in_maintenance_window || !ctx.remediation_allowed {
        return None;
    }
    let mut in_window = ctx.clone();
    in_window.in_maintenance_window = true;
    let (decision, _) = ac.policies.decide(policy_name, finding, &in_window).await;
    if decision.action == now_decision.action
        || !accord_core::autoclusters::touches_node(decision.action)
    {
        return None;
    }
    if node.status.state == NodeState::NotReady {
        return Some(decide::Window::Bypass { decision });
    }
    schedule
        .next_open(now)
        .map(|opens| decide::Window::Wait { decision, opens })
}

/// A held or waiting remediation moves on to `action`: carried out as the cluster's mode says
/// if it acts on the node (running; `pending-approval` for reboot and replace in approval
/// mode; `dry-run`), held again if the policy now holds it, skipped otherwise.
fn resume(
    rem: &accord_core::autoclusters::Remediation,
    cluster: &Cluster,
    now: OffsetDateTime,
    action: RemediationAction,
    why: String,
) -> Result<Change, DomainError> {
    let mode = cluster.spec.autoclusters.mode;
    let state = if action == RemediationAction::Hold {
        RemediationState::Held
    } else if !accord_core::autoclusters::touches_node(action) {
        return release(rem, now, action, why);
    } else {
        match mode {
            RemediationMode::DryRun => RemediationState::DryRun,
            RemediationMode::Approval
                if matches!(
                    action,
                    RemediationAction::RebootNode | RemediationAction::ReplaceNode
                ) =>
            {
                RemediationState::PendingApproval
            }
            _ => return release(rem, now, action, why),
        }
    };
    let mut next = rem.clone();
    next.status.state = state;
    next.status.action = RemediationAction::None;
    next.status.reason = why.clone();
    next.status.note(now, state.as_str(), why.clone());
    if state == RemediationState::PendingApproval {
        // What approval will start.
        next.spec.decision.action = action;
    }
    let expect = next.metadata.touch(now, false);
    let mut ch = Change::in_project(rem.metadata.project);
    put_remediation(&mut ch, &next, Expect::Version(expect))?;
    let (remediation, cluster, node) = (rem.metadata.id, rem.spec.cluster, rem.spec.node);
    ch.event(if state == RemediationState::Held {
        RemediationEvent::Held {
            remediation,
            cluster,
            node,
            reason: why,
        }
    } else {
        RemediationEvent::Released {
            remediation,
            cluster,
            node,
            reason: why,
        }
    });
    Ok(ch)
}

/// Releases a held remediation: running `action` if it acts on the node, skipped otherwise.
fn release(
    rem: &accord_core::autoclusters::Remediation,
    now: OffsetDateTime,
    action: RemediationAction,
    why: String,
) -> Result<Change, DomainError> {
    let mut next = rem.clone();
    let runs = accord_core::autoclusters::touches_node(action);
    next.status.state = if runs {
        RemediationState::Running
    } else {
        RemediationState::Skipped
    };
    next.status.action = if runs {
        action
    } else {
        RemediationAction::None
    };
    next.status.attempts = u32::from(runs);
    next.status.reason = why.clone();
    next.status.note(now, "released", why.clone());
    let expect = next.metadata.touch(now, false);
    let mut ch = Change::in_project(rem.metadata.project);
    put_remediation(&mut ch, &next, Expect::Version(expect))?;
    ch.event(RemediationEvent::Released {
        remediation: rem.metadata.id,
        cluster: rem.spec.cluster,
        node: rem.spec.node,
        reason: why,
    });
    if runs {
        ch.event(RemediationEvent::Started {
            remediation: rem.metadata.id,
            cluster: rem.spec.cluster,
            node: rem.spec.node,
            action,
        });
    }
    Ok(ch)
}
