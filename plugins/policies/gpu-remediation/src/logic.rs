//! The GPU remediation policy as a plain, pure function: [`decide`] maps a health [`Finding`] and
//! what is known about its node, pool and cluster ([`Context`]) to a [`Decision`].
//!
//! The types mirror the records of `policy-api` in `plugins/wit/policy-v0.2/policy.wit`
//! (`accord:plugin@0.2.0`) field for field, so the component glue in `lib.rs` only renames. This file has no dependencies, no IO and no
//! bindings: it compiles natively (tests, the host's native-vs-WASM benchmark) and for
//! `wasm32-wasip2` alike, and it is self-contained so it can be read on its own.
//!
//! A decision is made in two steps:
//!
//! 1. **Catalogue** ([`XID_CATALOGUE`] and the node signals): the finding alone, plus the
//!    counters that tell a first occurrence from a repeat, picks an action, who owns the problem,
//!    and whether the action is urgent or belongs in a maintenance window.
//!    - Application XIDs (13, 31, 43) are the customer's: notify. A burst of 13 or 31 on one GPU
//!      (≥ [`ESCALATE_APP_XID_REPEATS`] in 24 h) is escalated for hardware diagnostics.
//!    - Hardware XIDs climb the ladder reset-gpu → reboot-node → replace-node: the first
//!      occurrence gets the catalogue's action; the same XID back on the same GPU
//!      (≥ [`REPEAT_XID_OCCURRENCES`] in 24 h) gets the next rung — replace-node for 48, 64, 74
//!      and 79 (memory, NVLink and bus faults the doc sends straight to replacement), reboot-node
//!      for the plain resets.
//!    - Node-level faults (InfiniBand down or erroring, NotReady past
//!      [`NOT_READY_GRACE_MINUTES`]) reboot the node, and replace it when it was already
//!      remediated in the last 7 days ([`REPEAT_NODE_REMEDIATIONS`]): the reboot did not hold.
//!    - The GPU counter findings (kinds of `accord:plugin@0.2.0`) follow the XID they stand
//!      for (`ecc_plan` … `pcie_plan`; each cites its fact from `gpu-health.md`):
//!      `gpu-ecc` (double-bit ECC growth) is XID 48: reset-gpu, replace-node on repeat;
//!      `gpu-row-remap` with signal `row_remap_failure` is XID 64: reset-gpu, then
//!      replace-node; other row remaps are XID 63: nothing now, reset in the next maintenance
//!      window, and a trend (back within 24 h) replaces the node in the next window;
//!      `gpu-nvlink` (CRC flit errors over the limit) is XID 74: reset-gpu, replace-node on
//!      repeat; `gpu-pcie` (replays over the limit) degrades the link but the GPU still works,
//!      like a thermal violation: notify and monitor, and back within 24 h → reboot the node
//!      (re-trains the link) in the next maintenance window.
//!    - Only the preventive actions (63 and remapped rows, 94 contained ECC error, repeated
//!      PCIe replays) wait for a maintenance window. Everything else the catalogue acts on has
//!      already taken the GPU or the node out of service, so it bypasses windows.
//! 2. **Safety rules**, only when that action touches the node (reset, reboot, replace), in this
//!    order — the first that applies wins:
//!    1. remediation not allowed on the cluster → `notify-customer`, responsibility unchanged
//!       (the host opens the incident either way);
//!    2. repeat rule: the same XID (or GPU finding kind) ≥ [`ESCALATE_XID_REPEATS`] times in
//!       24 h on one GPU, or ≥ [`ESCALATE_NODE_REMEDIATIONS`] remediations of the node in 7
//!       days → `escalate` (sticky: no window or limit postpones it);
//!    3. maintenance window: a preventive action waits for the next window;
//!    4. per-pool in-flight limit reached → `hold`;
//!    5. cluster-wide circuit breaker open → `hold`.
//!
//! The window check runs before the two holds (the design notes list it last): an action that is
//! deferred to a window is not being held back by a limit, and saying "held" would send an
//! operator looking at the wrong thing. The circuit breaker never opens for a lone unhealthy node
//! (see `circuit_breaker_open`).
//!
//! Invariants: [`decide`] is total (no panics, no overflow: percentages are computed in `u64`)
//! and deterministic (same input, same output, byte for byte). Every reason starts with the rule
//! that fired, e.g. `XID 79 (GPU fell off the bus) on GPU 3: power-cycle the node`.

use std::fmt;

/// Occurrences in 24 h of an application XID (13, 31) on one GPU from which the policy stops
/// treating it as the customer's bug and escalates for hardware diagnostics.
pub const ESCALATE_APP_XID_REPEATS: u32 = 3;

/// Occurrences in 24 h of a hardware XID on one GPU from which it counts as "back after a
/// remediation" and climbs the ladder (reset → reboot, or straight to replace).
pub const REPEAT_XID_OCCURRENCES: u32 = 2;

/// Remediations of a node in 7 days from which a node-level fault (IB, NotReady) counts as a
/// repeat: the previous reboot did not hold, so the node is replaced.
pub const REPEAT_NODE_REMEDIATIONS: u32 = 1;

/// Repeat rule: the same fatal XID this many times in 24 h on one GPU → escalate.
pub const ESCALATE_XID_REPEATS: u32 = 5;

/// Repeat rule: this many remediations of one node in 7 days → escalate.
pub const ESCALATE_NODE_REMEDIATIONS: u32 = 5;

/// Minutes a node may be NotReady before it is treated as failed (GKE and AKS wait about 10).
pub const NOT_READY_GRACE_MINUTES: u32 = 10;

/// What kind of problem a finding reports (WIT `finding-kind`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FindingKind {
    /// A GPU reported an XID error.
    GpuXid,
    /// An InfiniBand port went down or counted link errors.
    IbLink,
    /// The node's kubelet is not ready.
    NodeNotReady,
    /// A GPU ran too hot or hit a power limit.
    GpuThermal,
    /// A GPU's double-bit (uncorrectable) ECC count grew.
    GpuEcc,
    /// A GPU remapped rows for uncorrectable errors, or failed to remap one (`signal`).
    GpuRowRemap,
    /// A GPU's NVLinks counted CRC flit errors faster than their limit.
    GpuNvlink,
    /// A GPU's PCIe link replayed packets faster than its limit.
    GpuPcie,
}

impl FindingKind {
    /// The WIT spelling, e.g. `gpu-xid`.
    pub fn as_str(self) -> &'static str {
        match self {
            FindingKind::GpuXid => "gpu-xid",
            FindingKind::IbLink => "ib-link",
            FindingKind::NodeNotReady => "node-not-ready",
            FindingKind::GpuThermal => "gpu-thermal",
            FindingKind::GpuEcc => "gpu-ecc",
            FindingKind::GpuRowRemap => "gpu-row-remap",
            FindingKind::GpuNvlink => "gpu-nvlink",
            FindingKind::GpuPcie => "gpu-pcie",
        }
    }

    /// Whether the kind is about one GPU and `xid_count_24h` counts its repeats on that GPU
    /// (the same XID, or findings of the same kind), so the repeat rule applies.
    pub fn counted_per_gpu(self) -> bool {
        match self {
            FindingKind::GpuXid
            | FindingKind::GpuEcc
            | FindingKind::GpuRowRemap
            | FindingKind::GpuNvlink
            | FindingKind::GpuPcie => true,
            FindingKind::IbLink | FindingKind::NodeNotReady | FindingKind::GpuThermal => false,
        }
    }
}

impl fmt::Display for FindingKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A health finding about one node (WIT `finding`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Finding {
    /// What kind of problem this is.
    pub kind: FindingKind,
    /// Cluster id.
    pub cluster: String,
    /// Node id or name.
    pub node: String,
    /// XID code (`gpu-xid`).
    pub xid: Option<u32>,
    /// GPU index (the `gpu-*` kinds).
    pub gpu: Option<u32>,
    /// InfiniBand port as the node agent names it, e.g. `mlx5_0/1` (`ib-link`).
    pub port: Option<String>,
    /// InfiniBand port state, e.g. `down` or `active` (`ib-link`).
    pub state: Option<String>,
    /// Minutes the condition has lasted (`node-not-ready`).
    pub minutes: Option<u32>,
    /// Temperature in °C (`gpu-thermal`).
    pub temp_c: Option<u32>,
    /// The telemetry field the check read, e.g. `row_remap_failure` (tells a failed row remap
    /// from remapped rows).
    pub signal: Option<String>,
    /// The check's severity: `info`, `warning` or `critical`.
    pub severity: Option<String>,
}

impl Finding {
    /// A finding of `kind` on `node` of `cluster` with every optional field empty.
    pub fn new(kind: FindingKind, cluster: impl Into<String>, node: impl Into<String>) -> Self {
        Self {
            kind,
            cluster: cluster.into(),
            node: node.into(),
            xid: None,
            gpu: None,
            port: None,
            state: None,
            minutes: None,
            temp_c: None,
            signal: None,
            severity: None,
        }
    }
}

/// What the policy knows about the node, its pool and its cluster (WIT `context`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Context {
    /// The customer's AutoClusters opt-in: remediation happens only when allowed.
    pub remediation_allowed: bool,
    /// The same XID on the same GPU in the last 24 hours, this one included.
    pub xid_count_24h: u32,
    /// Remediations of this node in the last 7 days.
    pub remediations_7d: u32,
    /// Unhealthy nodes in the pool now, this one included. Informational: the pool's limit is
    /// on remediations in flight, not on unhealthy nodes.
    pub unhealthy_in_pool: u32,
    /// Nodes in the pool (informational, like `unhealthy_in_pool`).
    pub pool_size: u32,
    /// Whether MIG is enabled on the node's GPUs.
    pub mig: bool,
    /// Remediations running in the pool now.
    pub in_flight_in_pool: u32,
    /// The pool's limit on concurrent remediations.
    pub max_in_flight_per_pool: u32,
    /// Unhealthy nodes in the cluster now, this one included.
    pub unhealthy_in_cluster: u32,
    /// Nodes in the cluster.
    pub cluster_size: u32,
    /// Circuit breaker: the largest share of unhealthy nodes, in percent, that is still remediated.
    pub max_unhealthy_percent: u32,
    /// Whether a maintenance window is open now.
    pub in_maintenance_window: bool,
}

impl Default for Context {
    /// A one-node view with the conservative defaults of `accord-core`'s `RemediationContext`:
    /// remediation not allowed, first occurrence, one remediation in flight per pool, 50 %
    /// circuit breaker, no window open.
    fn default() -> Self {
        Self {
            remediation_allowed: false,
            xid_count_24h: 1,
            remediations_7d: 0,
            unhealthy_in_pool: 1,
            pool_size: 1,
            mig: false,
            in_flight_in_pool: 0,
            max_in_flight_per_pool: 1,
            unhealthy_in_cluster: 1,
            cluster_size: 1,
            max_unhealthy_percent: 50,
            in_maintenance_window: false,
        }
    }
}

/// What to do about a finding (WIT `action`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    /// Nothing now.
    None,
    /// Tell the customer: their application's fault, or remediation is not allowed.
    NotifyCustomer,
    /// Drain the GPU's pods and reset it; the host falls back to a reboot when reset fails.
    ResetGpu,
    /// Drain and reboot (power-cycle) the node.
    RebootNode,
    /// Cordon and replace the node, keeping the old one for RMA evidence.
    ReplaceNode,
    /// Open a Supported incident for humans.
    Escalate,
    /// Would act, but a safety limit says wait; recorded with the reason.
    Hold,
}

impl Action {
    /// Whether the action disrupts the node (and so is subject to the safety rules).
    pub fn touches_node(self) -> bool {
        matches!(
            self,
            Action::ResetGpu | Action::RebootNode | Action::ReplaceNode
        )
    }

    /// The WIT spelling, e.g. `reset-gpu`.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::None => "none",
            Action::NotifyCustomer => "notify-customer",
            Action::ResetGpu => "reset-gpu",
            Action::RebootNode => "reboot-node",
            Action::ReplaceNode => "replace-node",
            Action::Escalate => "escalate",
            Action::Hold => "hold",
        }
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Who owns the problem in the shared-responsibility model (WIT `responsibility`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Responsibility {
    /// The provider owns resolution under its service-level commitments.
    Supported,
    /// The provider investigates and advises without owning the outcome.
    BestEffort,
    /// The customer owns it.
    CustomerOwned,
}

impl Responsibility {
    /// The WIT spelling, e.g. `customer-owned`.
    pub fn as_str(self) -> &'static str {
        match self {
            Responsibility::Supported => "supported",
            Responsibility::BestEffort => "best-effort",
            Responsibility::CustomerOwned => "customer-owned",
        }
    }
}

impl fmt::Display for Responsibility {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A decision (WIT `decision`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Decision {
    /// What to do.
    pub action: Action,
    /// Who owns the problem.
    pub responsibility: Responsibility,
    /// Why, starting with the rule that fired; written for operators and customers alike.
    pub reason: String,
}

/// How the catalogue treats one XID.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum XidClass {
    /// The customer's application faulted; the GPU is healthy. With `escalate_on_repeat`, a burst
    /// on one GPU ([`ESCALATE_APP_XID_REPEATS`]) is escalated for hardware diagnostics.
    Application {
        /// Whether repeats on one GPU are escalated.
        escalate_on_repeat: bool,
    },
    /// Cleanup after another error: the co-occurring XID decides.
    FollowOther,
    /// Nothing to do but watch the trend.
    Monitor,
    /// Reset the GPU; when the XID comes back, reboot the node.
    Reset,
    /// Reset the GPU and flag the driver; when the XID comes back, reboot the node.
    DriverReset,
    /// Reset the GPU; when the XID comes back, replace the node.
    ResetThenReplace,
    /// Reset the GPU when MIG is on, otherwise reboot the node.
    UncontainedEcc,
    /// Power-cycle the node; when the XID comes back, replace it.
    PowerCycle,
    /// The GPU still works: reset it at the next maintenance window; meanwhile `now`.
    ResetInWindow {
        /// What to do outside a window.
        now: Action,
        /// Who owns the problem outside a window.
        now_responsibility: Responsibility,
    },
}

/// One entry of the XID catalogue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct XidEntry {
    /// The XID code.
    pub xid: u32,
    /// What it means, briefly.
    pub meaning: &'static str,
    /// How it is handled.
    pub class: XidClass,
}

const fn entry(xid: u32, meaning: &'static str, class: XidClass) -> XidEntry {
    XidEntry {
        xid,
        meaning,
        class,
    }
}

/// The XIDs the policy knows, in ascending order; any other XID is escalated.
pub const XID_CATALOGUE: &[XidEntry] = &[
    entry(
        13,
        "graphics engine exception",
        XidClass::Application {
            escalate_on_repeat: true,
        },
    ),
    entry(
        31,
        "GPU memory page fault",
        XidClass::Application {
            escalate_on_repeat: true,
        },
    ),
    entry(
        43,
        "GPU stopped processing",
        XidClass::Application {
            escalate_on_repeat: false,
        },
    ),
    entry(45, "preemptive cleanup", XidClass::FollowOther),
    entry(46, "GPU timeout", XidClass::Reset),
    entry(48, "double-bit ECC error", XidClass::ResetThenReplace),
    entry(62, "internal micro-controller halt", XidClass::Reset),
    entry(
        63,
        "row remap recorded",
        XidClass::ResetInWindow {
            now: Action::None,
            now_responsibility: Responsibility::Supported,
        },
    ),
    entry(64, "row remap failure", XidClass::ResetThenReplace),
    entry(74, "NVLink error", XidClass::ResetThenReplace),
    entry(79, "GPU fell off the bus", XidClass::PowerCycle),
    entry(92, "high single-bit ECC rate", XidClass::Monitor),
    entry(
        94,
        "contained ECC error",
        XidClass::ResetInWindow {
            now: Action::NotifyCustomer,
            now_responsibility: Responsibility::CustomerOwned,
        },
    ),
    entry(95, "uncontained ECC error", XidClass::UncontainedEcc),
    entry(109, "context-switch timeout", XidClass::Reset),
    entry(119, "GSP RPC timeout", XidClass::DriverReset),
    entry(120, "GSP error", XidClass::DriverReset),
    entry(136, "link training failure", XidClass::Reset),
    entry(140, "unrecoverable ECC escape", XidClass::Reset),
    entry(143, "GPU initialization failure", XidClass::Reset),
    entry(155, "NVLink software error", XidClass::Reset),
];

/// The catalogue entry for `xid`, if the policy knows it.
pub fn xid_entry(xid: u32) -> Option<&'static XidEntry> {
    XID_CATALOGUE
        .binary_search_by_key(&xid, |e| e.xid)
        .ok()
        .and_then(|i| XID_CATALOGUE.get(i))
}

/// Decides what to do about `finding` given `ctx`. Pure and total; see the module docs for the
/// order in which the rules apply.
pub fn decide(finding: &Finding, ctx: &Context) -> Decision {
    let plan = catalogue(finding, ctx);
    if !plan.action.touches_node() {
        return plan.as_is();
    }
    apply_safety_rules(&plan, finding, ctx)
}

/// Whether the action can wait for a maintenance window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Timing {
    /// The fault already took the GPU or the node out of service: act now, windows or not.
    Now,
    /// The hardware still serves; the action is preventive and waits for a window. Until then:
    /// `action` with `responsibility`, described by `meanwhile`.
    NextWindow {
        action: Action,
        responsibility: Responsibility,
        meanwhile: &'static str,
    },
}

/// What the catalogue proposes before the safety rules look at it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Plan {
    action: Action,
    responsibility: Responsibility,
    /// The rule that fired with what qualified it, e.g. `XID 95 (uncontained ECC error) on GPU 3,
    /// MIG off`. Every reason starts with it.
    rule: String,
    /// What the action does, as a verb phrase, e.g. `power-cycle the node`.
    remedy: String,
    timing: Timing,
}

impl Plan {
    fn new(
        action: Action,
        responsibility: Responsibility,
        rule: String,
        remedy: impl Into<String>,
    ) -> Self {
        Self {
            action,
            responsibility,
            rule,
            remedy: remedy.into(),
            timing: Timing::Now,
        }
    }

    /// The decision with the rule kept first and `why` explaining the outcome.
    fn decision(&self, action: Action, responsibility: Responsibility, why: &str) -> Decision {
        Decision {
            action,
            responsibility,
            reason: format!("{}: {why}", self.rule),
        }
    }

    /// The plan as it stands.
    fn as_is(&self) -> Decision {
        self.decision(self.action, self.responsibility, &self.remedy)
    }
}

fn catalogue(finding: &Finding, ctx: &Context) -> Plan {
    match finding.kind {
        FindingKind::GpuXid => xid_plan(finding, ctx),
        FindingKind::IbLink => ib_plan(finding, ctx),
        FindingKind::NodeNotReady => not_ready_plan(finding, ctx),
        FindingKind::GpuThermal => thermal_plan(finding),
        FindingKind::GpuEcc => ecc_plan(finding, ctx),
        FindingKind::GpuRowRemap => row_remap_plan(finding, ctx),
        FindingKind::GpuNvlink => nvlink_plan(finding, ctx),
        FindingKind::GpuPcie => pcie_plan(finding, ctx),
    }
}

/// `n time` or `n times`.
fn times(n: u32) -> String {
    if n == 1 {
        "1 time".to_owned()
    } else {
        format!("{n} times")
    }
}

const REPLACE: &str = "replace the node and keep the old one for RMA";

fn xid_plan(finding: &Finding, ctx: &Context) -> Plan {
    use Action as A;
    use Responsibility as R;

    let gpu = finding
        .gpu
        .map(|g| format!(" on GPU {g}"))
        .unwrap_or_default();
    let Some(xid) = finding.xid else {
        let rule = format!("XID finding without an XID code{gpu}");
        return Plan::new(
            A::Escalate,
            R::Supported,
            rule,
            "escalate to a supported incident",
        );
    };
    let Some(entry) = xid_entry(xid) else {
        let rule = format!("XID {xid} (not in the catalogue){gpu}");
        return Plan::new(
            A::Escalate,
            R::Supported,
            rule,
            "escalate to a supported incident for diagnosis",
        );
    };

    let rule = format!("XID {xid} ({}){gpu}", entry.meaning);
    let count = ctx.xid_count_24h;
    let repeated = count >= REPEAT_XID_OCCURRENCES;
    let again = |after: &str| format!("{rule}, back after {after} ({} in 24 h)", times(count));

    match entry.class {
        XidClass::Application {
            escalate_on_repeat: true,
        } if count >= ESCALATE_APP_XID_REPEATS => Plan::new(
            A::Escalate,
            R::Supported,
            format!(
                "{rule}, {} in 24 h (escalation at {ESCALATE_APP_XID_REPEATS})",
                times(count)
            ),
            "escalate for hardware diagnostics rather than blame the application",
        ),
        XidClass::Application { .. } => Plan::new(
            A::NotifyCustomer,
            R::CustomerOwned,
            rule,
            "notify the customer; the application faulted and must be fixed and restarted, \
             the GPU stays healthy",
        ),
        XidClass::FollowOther => Plan::new(
            A::None,
            R::Supported,
            rule,
            "nothing of its own; the co-occurring XID decides",
        ),
        XidClass::Monitor => Plan::new(
            A::None,
            R::Supported,
            rule,
            "nothing now; monitor the single-bit error trend",
        ),
        XidClass::Reset if repeated => Plan::new(
            A::RebootNode,
            R::Supported,
            again("a reset"),
            "reboot the node",
        ),
        XidClass::Reset => Plan::new(A::ResetGpu, R::Supported, rule, "reset the GPU"),
        XidClass::DriverReset if repeated => Plan::new(
            A::RebootNode,
            R::Supported,
            again("a reset"),
            "reboot the node and flag the driver version for review",
        ),
        XidClass::DriverReset => Plan::new(
            A::ResetGpu,
            R::Supported,
            rule,
            "reset the GPU (reboot the node if that fails) and flag the driver version for review",
        ),
        XidClass::ResetThenReplace if repeated => {
            Plan::new(A::ReplaceNode, R::Supported, again("a reset"), REPLACE)
        }
        XidClass::ResetThenReplace => Plan::new(
            A::ResetGpu,
            R::Supported,
            rule,
            "reset the GPU (reboot the node if the reset fails or is unsupported)",
        ),
        XidClass::UncontainedEcc if ctx.mig => Plan::new(
            A::ResetGpu,
            R::Supported,
            format!("{rule}, MIG on"),
            "reset the GPU",
        ),
        XidClass::UncontainedEcc => Plan::new(
            A::RebootNode,
            R::Supported,
            format!("{rule}, MIG off"),
            "reboot the node (without MIG isolation the error may have reached other work)",
        ),
        XidClass::PowerCycle if repeated => Plan::new(
            A::ReplaceNode,
            R::Supported,
            again("a power cycle"),
            REPLACE,
        ),
        XidClass::PowerCycle => {
            Plan::new(A::RebootNode, R::Supported, rule, "power-cycle the node")
        }
        XidClass::ResetInWindow {
            now,
            now_responsibility,
        } => {
            let meanwhile = if now == A::NotifyCustomer {
                "notify the customer to restart the affected job"
            } else {
                "nothing now"
            };
            Plan {
                timing: Timing::NextWindow {
                    action: now,
                    responsibility: now_responsibility,
                    meanwhile,
                },
                ..Plan::new(A::ResetGpu, R::Supported, rule, "reset the GPU")
            }
        }
    }
}

fn ib_plan(finding: &Finding, ctx: &Context) -> Plan {
    let port = finding
        .port
        .as_deref()
        .map(|p| format!("port {p}"))
        .unwrap_or_else(|| "a port".to_owned());
    let state = finding.state.as_deref().unwrap_or("unknown");
    let down = state.eq_ignore_ascii_case("down") || state.eq_ignore_ascii_case("disabled");
    let rule = if down {
        format!("InfiniBand {port} is {state}")
    } else {
        format!("InfiniBand {port} counted link errors (state {state})")
    };
    node_fault_plan(rule, ctx)
}

fn not_ready_plan(finding: &Finding, ctx: &Context) -> Plan {
    let minutes = finding.minutes.unwrap_or(0);
    if minutes < NOT_READY_GRACE_MINUTES {
        return Plan::new(
            Action::None,
            Responsibility::Supported,
            format!("Node NotReady for {minutes} min"),
            format!("waiting out the {NOT_READY_GRACE_MINUTES}-minute grace period"),
        );
    }
    let rule =
        format!("Node NotReady for {minutes} min (grace period {NOT_READY_GRACE_MINUTES} min)");
    node_fault_plan(rule, ctx)
}

/// Signal of a `gpu-row-remap` finding that says remapping failed (the others: rows remapped).
pub const ROW_REMAP_FAILURE_SIGNAL: &str = "row_remap_failure";

/// `GPU n`, or `a GPU` when the finding names none.
fn gpu_name(finding: &Finding) -> String {
    finding
        .gpu
        .map(|g| format!("GPU {g}"))
        .unwrap_or_else(|| "a GPU".to_owned())
}

/// `rule, back after <after> (n times in 24 h)`: the finding's kind came back on the GPU.
fn back_after(rule: &str, after: &str, ctx: &Context) -> String {
    format!(
        "{rule}, back after {after} ({} in 24 h)",
        times(ctx.xid_count_24h)
    )
}

/// Fact: XIDs 48, 64 and 74 are reset-gpu first (reboot when reset fails or is unsupported)
/// and replace-node when they come back. `xid_count_24h` counts the finding's kind on the GPU.
fn reset_then_replace(rule: String, ctx: &Context) -> Plan {
    if ctx.xid_count_24h >= REPEAT_XID_OCCURRENCES {
        return Plan::new(
            Action::ReplaceNode,
            Responsibility::Supported,
            back_after(&rule, "a reset", ctx),
            REPLACE,
        );
    }
    Plan::new(
        Action::ResetGpu,
        Responsibility::Supported,
        rule,
        "reset the GPU (reboot the node if the reset fails or is unsupported)",
    )
}

/// `gpu-ecc`. Fact: double-bit ECC errors are XID 48 — reset-gpu, replace-node on repeat.
fn ecc_plan(finding: &Finding, ctx: &Context) -> Plan {
    let rule = format!("Double-bit ECC errors on {} (as XID 48)", gpu_name(finding));
    reset_then_replace(rule, ctx)
}

/// `gpu-row-remap`. Facts: a failed remap is XID 64 — reset-gpu, then replace-node; remapped
/// rows are XID 63 — nothing now, reset at the next maintenance, a trend → replace. The
/// memory still serves after a remap, so both of the latter wait for a window.
fn row_remap_plan(finding: &Finding, ctx: &Context) -> Plan {
    let gpu = gpu_name(finding);
    if row_remap_failed(finding) {
        return reset_then_replace(format!("Row remap failure on {gpu} (as XID 64)"), ctx);
    }
    let rule = format!("Rows remapped for uncorrectable errors on {gpu} (as XID 63)");
    let plan = if ctx.xid_count_24h >= REPEAT_XID_OCCURRENCES {
        Plan::new(
            Action::ReplaceNode,
            Responsibility::Supported,
            back_after(&rule, "a remap", ctx),
            REPLACE,
        )
    } else {
        Plan::new(
            Action::ResetGpu,
            Responsibility::Supported,
            rule,
            "reset the GPU",
        )
    };
    Plan {
        timing: Timing::NextWindow {
            action: Action::None,
            responsibility: Responsibility::Supported,
            meanwhile: "nothing now",
        },
        ..plan
    }
}

/// `gpu-nvlink`. Fact: NVLink errors are XID 74 — reset-gpu (or reboot), replace on repeat.
fn nvlink_plan(finding: &Finding, ctx: &Context) -> Plan {
    let rule = format!(
        "NVLink CRC errors over the limit on {} (as XID 74)",
        gpu_name(finding)
    );
    reset_then_replace(rule, ctx)
}

/// `gpu-pcie`. Replays are retried transfers: the link degrades, the GPU keeps working (it has
/// not fallen off the bus, XID 79). Fact: degradations that are not faults (thermal, single-bit
/// ECC) are notify-and-monitor, not replacement. Back within 24 h, the node is rebooted (which
/// re-trains the link) in the next maintenance window; the repeat rule escalates a trend.
fn pcie_plan(finding: &Finding, ctx: &Context) -> Plan {
    let rule = format!("PCIe replays over the limit on {}", gpu_name(finding));
    if ctx.xid_count_24h >= REPEAT_XID_OCCURRENCES {
        return Plan {
            timing: Timing::NextWindow {
                action: Action::NotifyCustomer,
                responsibility: Responsibility::Supported,
                meanwhile: "notify the customer that GPU transfers may be slow",
            },
            ..Plan::new(
                Action::RebootNode,
                Responsibility::Supported,
                back_after(&rule, "a warning", ctx),
                "reboot the node to re-train the PCIe link",
            )
        };
    }
    Plan::new(
        Action::NotifyCustomer,
        Responsibility::Supported,
        rule,
        "notify the customer and monitor; transfers may be slow, the GPU still works",
    )
}

/// Whether a `gpu-row-remap` finding is a failed remap: its signal says so or, from a checker
/// that sends no signal, its severity is critical (what the failure rule raises by default).
fn row_remap_failed(finding: &Finding) -> bool {
    match finding.signal.as_deref() {
        Some(signal) => signal == ROW_REMAP_FAILURE_SIGNAL,
        None => finding.severity.as_deref() == Some("critical"),
    }
}

/// A fault of the whole node: reboot it, or replace it when it was already remediated recently
/// (the last reboot did not hold).
fn node_fault_plan(rule: String, ctx: &Context) -> Plan {
    let n = ctx.remediations_7d;
    if n >= REPEAT_NODE_REMEDIATIONS {
        let rule = format!(
            "{rule}, node-level fault back after {} in 7 days",
            remediations(n)
        );
        return Plan::new(
            Action::ReplaceNode,
            Responsibility::Supported,
            rule,
            REPLACE,
        );
    }
    Plan::new(
        Action::RebootNode,
        Responsibility::Supported,
        rule,
        "reboot the node (node-level fault)",
    )
}

/// `1 remediation` or `n remediations`.
fn remediations(n: u32) -> String {
    if n == 1 {
        "1 remediation".to_owned()
    } else {
        format!("{n} remediations")
    }
}

fn thermal_plan(finding: &Finding) -> Plan {
    let gpu = finding
        .gpu
        .map(|g| format!("GPU {g}"))
        .unwrap_or_else(|| "a GPU".to_owned());
    let rule = match finding.temp_c {
        Some(t) => format!("Thermal or power violation ({gpu} at {t} °C)"),
        None => format!("Thermal or power violation ({gpu})"),
    };
    Plan::new(
        Action::NotifyCustomer,
        Responsibility::Supported,
        rule,
        "notify the customer and monitor; not a reason to replace the node on its own",
    )
}

fn apply_safety_rules(plan: &Plan, finding: &Finding, ctx: &Context) -> Decision {
    let window = match plan.timing {
        Timing::Now => "",
        Timing::NextWindow { .. } if ctx.in_maintenance_window => " in the open maintenance window",
        Timing::NextWindow { .. } => " at the next maintenance window",
    };
    let would = format!("{}{window}", plan.remedy);

    // 1. Only when allowed. The finding still becomes an incident and the customer hears of it.
    if !ctx.remediation_allowed {
        let why = format!(
            "would {would}, but automatic remediation is not allowed for this cluster: \
             incident opened, customer notified"
        );
        return plan.decision(Action::NotifyCustomer, plan.responsibility, &why);
    }

    // 2. Repeat rule: another remediation will not help; humans look. Sticky: no window or limit
    //    postpones an escalation, and the counters keep it escalating until they decay.
    let xid_repeats = finding.kind.counted_per_gpu() && ctx.xid_count_24h >= ESCALATE_XID_REPEATS;
    if xid_repeats || ctx.remediations_7d >= ESCALATE_NODE_REMEDIATIONS {
        let seen = if xid_repeats {
            format!(
                "seen {} in 24 h on this GPU, limit {ESCALATE_XID_REPEATS}",
                times(ctx.xid_count_24h)
            )
        } else {
            format!(
                "node remediated {} in 7 days, limit {ESCALATE_NODE_REMEDIATIONS}",
                times(ctx.remediations_7d)
            )
        };
        let why = format!(
            "repeat rule ({seen}): escalate to a supported incident instead of remediating again"
        );
        return plan.decision(Action::Escalate, Responsibility::Supported, &why);
    }

    // 3. Preventive actions wait for a window; faults that already took the GPU or the node out
    //    of service do not.
    if let Timing::NextWindow {
        action,
        responsibility,
        meanwhile,
    } = plan.timing
        && !ctx.in_maintenance_window
    {
        let why = format!("{meanwhile}; {would} (none is open now)");
        return plan.decision(action, responsibility, &why);
    }

    // 4. Per-pool in-flight limit.
    if ctx.in_flight_in_pool >= ctx.max_in_flight_per_pool {
        let why = format!(
            "would {would}; held: per-pool in-flight limit reached ({} running, limit {})",
            ctx.in_flight_in_pool, ctx.max_in_flight_per_pool
        );
        return plan.decision(Action::Hold, plan.responsibility, &why);
    }

    // 5. Cluster-wide circuit breaker.
    if circuit_breaker_open(ctx) {
        let why = format!(
            "would {would}; held: cluster circuit breaker open ({} of {} nodes unhealthy, limit {} %)",
            ctx.unhealthy_in_cluster, ctx.cluster_size, ctx.max_unhealthy_percent
        );
        return plan.decision(Action::Hold, plan.responsibility, &why);
    }

    plan.decision(plan.action, plan.responsibility, &would)
}

/// Whether the share of unhealthy nodes exceeds the limit. A lone unhealthy node never opens the
/// breaker: the breaker exists to stop mass remediation during a correlated outage, and without
/// this exemption a small cluster (one node of one, or of two at 50 %) could never be repaired.
fn circuit_breaker_open(ctx: &Context) -> bool {
    if ctx.unhealthy_in_cluster <= 1 {
        return false;
    }
    // unhealthy / size > percent / 100, without division (size may be 0) or overflow.
    u64::from(ctx.unhealthy_in_cluster) * 100
        > u64::from(ctx.max_unhealthy_percent) * u64::from(ctx.cluster_size)
}
