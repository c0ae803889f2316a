//! One node's check state: what the previous sample said, per GPU and per port, and the
//! episodes and windows of the rules. `NodeState::observe` runs every rule over one sample.
//!
//! Matching: GPUs and ports are matched by position in the sample. A GPU whose UUID changed, or
//! a port whose index or name changed, is a new device: its counters become the baseline and
//! nothing is compared across the change. A counter lower than before is a reset (a rebooted
//! or replaced instance, a reloaded driver): it becomes the new baseline and counts nothing —
//! no finding, no negative rate, nothing added to a window.
//!
//! Memory (64-bit, `size_of`, pinned by a test): the node's own fields are 352 bytes (plus
//! its instance type's name and the 16-byte map key); each GPU adds 200 bytes and each
//! InfiniBand port 184 — two windows of 56 bytes each per GPU and per port are most of it. An
//! 8-GPU, 8-port node holds about 3.4 KiB whatever its sample rate or uptime: nothing grows
//! with time ([`crate::window`]); 10,000 such nodes fit in 35 MiB.
//!
//! CPU: one sample is a pass over its GPUs and ports with integer arithmetic; nothing is
//! allocated unless a finding is raised (the vectors of GPUs and ports grow once, at the
//! node's first sample).

use accord_core::{
    ids::{ClusterId, NodeId},
    telemetry::{GpuSample, IbPortName, IbPortSample, IbPortState, TelemetrySample},
};

use crate::{
    check::{CheckId, CheckVerdict, Severity, Verdict},
    config::{Checks, HealthConfig, millis},
    finding::{Evidence, FindingId, HealthFinding, Reading, Signal, SignalValue, Subject},
    window::{Counter, Episode, HOUR_SLOT_MS, MINUTE_SLOT_MS, SLOTS},
};

/// How long an event finding (`gpu-xid`, `gpu-ecc`, remapped rows) keeps its check's verdict at
/// its severity, measured in sample time: an hour after the last one, the check passes again.
/// Conditions (a port down, not ready, a remap failure, a rate over its limit) hold their
/// verdict exactly while they last.
pub const EVENT_VERDICT_HOLD_MS: i64 = 3_600_000;

/// Length of the per-minute windows, ms.
const MINUTE_MS: i64 = MINUTE_SLOT_MS * SLOTS as i64;
/// Length of the per-hour windows, ms.
const HOUR_MS: i64 = HOUR_SLOT_MS * SLOTS as i64;

/// The checks whose findings are events, in the order of [`NodeState::recent`].
const EVENT_CHECKS: [CheckId; 3] = [CheckId::GpuXid, CheckId::GpuEcc, CheckId::GpuRowRemap];

/// One node's state between samples.
#[derive(Debug, Clone)]
pub(crate) struct NodeState {
    /// The node's cluster (as of its last sample).
    cluster: ClusterId,
    /// Its instance type (as of its last sample).
    instance_type: Box<str>,
    /// The settings resolved for that cluster and instance type.
    checks: Checks,
    /// `ts_ms` of the last accepted sample.
    last_ts: i64,
    /// Samples accepted (saturating).
    accepted: u32,
    /// `ready` and `thermal_violation` in the last sample.
    ready: bool,
    thermal_violation: bool,
    not_ready: Episode,
    thermal: Episode,
    gpus: Vec<GpuState>,
    ports: Vec<PortState>,
    /// Per event check ([`EVENT_CHECKS`]), per severity: `ts_ms` of its last finding
    /// (`i64::MIN`: none).
    recent: [[i64; 3]; 3],
}

#[derive(Debug, Clone, Copy)]
struct GpuState {
    /// FNV-1a of the GPU's UUID: a different GPU in this position is a new device.
    uuid: u64,
    xid_total: u64,
    ecc_dbe: u64,
    rows: u64,
    remap_failure: Episode,
    nvlink: Counter,
    pcie: Counter,
}

#[derive(Debug, Clone, Copy)]
struct PortState {
    /// The sample's `port` and FNV-1a of its `name` (0 without one).
    index: u32,
    name: u64,
    state: IbPortState,
    outage: Episode,
    link_downed: Counter,
    symbol_error: Counter,
}

/// What every rule needs to raise a finding.
struct Emit<'a> {
    config: &'a HealthConfig,
    cluster: ClusterId,
    node: NodeId,
    instance_type: &'a str,
    ts: i64,
    /// `ts_ms` of the node's previous sample (`None` on its first).
    prev_ts: Option<i64>,
    out: &'a mut Vec<HealthFinding>,
    recent: &'a mut [[i64; 3]; 3],
}

/// Where a finding is, and what else it names.
#[derive(Default)]
struct Place {
    gpu: Option<u32>,
    xid: Option<u32>,
    port: Option<IbPortName>,
    port_state: Option<IbPortState>,
}

impl Emit<'_> {
    fn raise(&mut self, check: CheckId, severity: Severity, place: Place, evidence: Evidence) {
        let subject = match (&place.port, place.gpu) {
            (Some(port), _) => Subject::Port(port),
            (None, Some(gpu)) => Subject::Gpu(gpu),
            (None, None) => Subject::Node,
        };
        let id = FindingId::derive(
            &self.cluster,
            &self.node,
            check,
            evidence.signal,
            subject,
            self.ts,
        );
        // Events (a counter grew) hold the verdict for a while; conditions (here, a remap
        // failure) hold it while they last.
        let event = matches!(
            evidence.signal,
            Signal::XidTotal | Signal::EccDbeTotal | Signal::RemappedRowsUncorrectable
        );
        if event
            && let Some(i) = EVENT_CHECKS.iter().position(|&c| c == check)
            && let Some(slot) = self
                .recent
                .get_mut(i)
                .and_then(|r| r.get_mut(severity.index()))
        {
            *slot = self.ts;
        }
        self.out.push(HealthFinding {
            id,
            cluster: self.cluster,
            node: self.node,
            check,
            kind: check.kind(),
            severity,
            gpu: place.gpu,
            xid: place.xid,
            port: place.port,
            port_state: place.port_state,
            evidence,
        });
    }

    fn reading(&self, value: SignalValue) -> Reading {
        Reading {
            value,
            ts_ms: self.ts,
        }
    }

    fn previous(&self, value: SignalValue) -> Option<Reading> {
        self.prev_ts.map(|ts_ms| Reading { value, ts_ms })
    }

    /// Evidence of a counter that grew from `prev` to `now`.
    fn delta(&self, signal: Signal, prev: u64, now: u64) -> Option<Evidence> {
        let prev_ts = self.prev_ts?;
        Some(Evidence::delta(
            signal,
            Reading {
                value: SignalValue::Count(prev),
                ts_ms: prev_ts,
            },
            self.reading(SignalValue::Count(now)),
            now.saturating_sub(prev),
        ))
    }

    /// Evidence of a windowed counter over its limit.
    fn windowed(
        &self,
        signal: Signal,
        prev: u64,
        now: u64,
        total: u64,
        window_ms: i64,
    ) -> Evidence {
        Evidence {
            signal,
            previous: self.previous(SignalValue::Count(prev)),
            current: self.reading(SignalValue::Count(now)),
            since_ts_ms: None,
            count: Some(total),
            window_ms: Some(window_ms),
            temp_c: None,
        }
    }

    /// Evidence of a condition that lasted since `since`; `was` is its value in the previous
    /// sample.
    fn sustained(
        &self,
        signal: Signal,
        was: SignalValue,
        now: SignalValue,
        since: i64,
    ) -> Evidence {
        Evidence {
            signal,
            previous: self.previous(was),
            current: self.reading(now),
            since_ts_ms: Some(since),
            count: None,
            window_ms: None,
            temp_c: None,
        }
    }
}

/// FNV-1a, 64-bit: a stable fingerprint of a device's UUID or name.
fn fingerprint(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, &b| {
        (hash ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// Feeds a windowed counter rule one sample; returns `(previous value, window total)` when it
/// trips (once, until the window falls back to the limit). `over` says whether a total is over
/// the limit (never, for a disabled check).
fn windowed(
    counter: &mut Counter,
    value: u64,
    ts: i64,
    elapsed: i64,
    slot_ms: i64,
    over: impl Fn(u64) -> bool,
) -> Option<(u64, u64)> {
    let prev = counter.prev;
    // A reset (a lower value) counts nothing.
    let gained = value.saturating_sub(prev);
    counter.prev = value;
    let total = counter.window.record(ts, elapsed, gained, slot_ms);
    if !over(total) {
        counter.tripped = false;
        return None;
    }
    if counter.tripped {
        return None;
    }
    counter.tripped = true;
    Some((prev, total))
}

impl GpuState {
    fn baseline(g: &GpuSample, uuid: u64) -> Self {
        GpuState {
            uuid,
            xid_total: g.xid_total,
            ecc_dbe: g.ecc_dbe_total,
            rows: g.remapped_rows_uncorrectable,
            remap_failure: Episode::default(),
            nvlink: Counter {
                prev: g.nvlink_crc_errors,
                ..Counter::default()
            },
            pcie: Counter {
                prev: g.pcie_replay,
                ..Counter::default()
            },
        }
    }
}

impl PortState {
    fn baseline(p: &IbPortSample, name: u64) -> Self {
        PortState {
            index: p.port,
            name,
            state: p.state,
            outage: Episode::default(),
            link_downed: Counter {
                prev: p.link_downed,
                ..Counter::default()
            },
            symbol_error: Counter {
                prev: p.symbol_error,
                ..Counter::default()
            },
        }
    }
}

/// `after` for an episode of a check that may be disabled: a disabled check never comes due.
fn due_after(enabled: bool, after: std::time::Duration) -> i64 {
    if enabled { millis(after) } else { i64::MAX }
}

impl NodeState {
    /// State for a node first seen in `sample` (nothing observed yet).
    pub(crate) fn new(sample: &TelemetrySample, config: &HealthConfig) -> Self {
        NodeState {
            cluster: sample.cluster,
            instance_type: sample.instance_type.as_str().into(),
            checks: config.resolve(&sample.cluster, &sample.instance_type),
            last_ts: i64::MIN,
            accepted: 0,
            ready: sample.ready,
            thermal_violation: sample.thermal_violation,
            not_ready: Episode::default(),
            thermal: Episode::default(),
            gpus: Vec::with_capacity(sample.gpus.len()),
            ports: Vec::with_capacity(sample.ib_ports.len()),
            recent: [[i64::MIN; 3]; 3],
        }
    }

    /// `ts_ms` of the last accepted sample (`None` before the first).
    pub(crate) fn last_ts(&self) -> Option<i64> {
        (self.accepted > 0).then_some(self.last_ts)
    }

    /// The node's cluster, as of its last sample.
    pub(crate) fn cluster(&self) -> ClusterId {
        self.cluster
    }

    /// The settings in force for the node.
    pub(crate) fn checks(&self) -> &Checks {
        &self.checks
    }

    /// Runs every rule over `sample`, which must be newer than the last one accepted (the
    /// checker drops the others), appending findings to `out`.
    pub(crate) fn observe(
        &mut self,
        sample: &TelemetrySample,
        config: &HealthConfig,
        out: &mut Vec<HealthFinding>,
    ) {
        if self.cluster != sample.cluster || *self.instance_type != *sample.instance_type {
            self.cluster = sample.cluster;
            self.instance_type = sample.instance_type.as_str().into();
            self.checks = config.resolve(&sample.cluster, &sample.instance_type);
        }
        let prev_ts = self.last_ts();
        let ts = sample.ts_ms;
        let elapsed = prev_ts.map_or(0, |p| ts.saturating_sub(p));
        let checks = self.checks;
        let mut emit = Emit {
            config,
            cluster: sample.cluster,
            node: sample.node,
            instance_type: &self.instance_type,
            ts,
            prev_ts,
            out,
            recent: &mut self.recent,
        };

        // node-not-ready
        let c = checks.node_not_ready;
        if let Some(since) =
            self.not_ready
                .observe(!sample.ready, ts, due_after(c.enabled, c.after))
        {
            let evidence = emit.sustained(
                Signal::Ready,
                SignalValue::Flag(self.ready),
                SignalValue::Flag(false),
                since,
            );
            emit.raise(
                CheckId::NodeNotReady,
                c.severity,
                Place::default(),
                evidence,
            );
        }
        // gpu-thermal
        let c = checks.gpu_thermal;
        if let Some(since) =
            self.thermal
                .observe(sample.thermal_violation, ts, due_after(c.enabled, c.after))
        {
            let hottest = sample.gpus.iter().max_by_key(|g| g.temp_c);
            let mut evidence = emit.sustained(
                Signal::ThermalViolation,
                SignalValue::Flag(self.thermal_violation),
                SignalValue::Flag(true),
                since,
            );
            evidence.temp_c = hottest.map(|g| g.temp_c);
            let place = Place {
                gpu: hottest.map(|g| g.index),
                ..Place::default()
            };
            emit.raise(CheckId::GpuThermal, c.severity, place, evidence);
        }
        self.ready = sample.ready;
        self.thermal_violation = sample.thermal_violation;

        for (pos, g) in sample.gpus.iter().enumerate() {
            let uuid = fingerprint(g.uuid.as_bytes());
            match self.gpus.get_mut(pos) {
                Some(state) if state.uuid == uuid => gpu(&mut emit, &checks, state, g, elapsed),
                Some(state) => {
                    *state = GpuState::baseline(g, uuid);
                    gpu_first_seen(&mut emit, &checks, state, g);
                }
                None => {
                    let mut state = GpuState::baseline(g, uuid);
                    gpu_first_seen(&mut emit, &checks, &mut state, g);
                    self.gpus.push(state);
                }
            }
        }
        self.gpus.truncate(sample.gpus.len());

        for (pos, p) in sample.ib_ports.iter().enumerate() {
            let name = p
                .name
                .as_ref()
                .map_or(0, |n| fingerprint(n.as_str().as_bytes()));
            match self.ports.get_mut(pos) {
                Some(state) if state.index == p.port && state.name == name => {
                    port(&mut emit, &checks, state, p, elapsed);
                }
                Some(state) => {
                    *state = PortState::baseline(p, name);
                    port_outage(&mut emit, &checks, state, p, true);
                }
                None => {
                    let mut state = PortState::baseline(p, name);
                    port_outage(&mut emit, &checks, &mut state, p, true);
                    self.ports.push(state);
                }
            }
        }
        self.ports.truncate(sample.ib_ports.len());

        self.last_ts = ts;
        self.accepted = self.accepted.saturating_add(1);
    }

    /// Every enabled check's verdict, as of the last sample.
    pub(crate) fn verdicts(&self) -> Vec<CheckVerdict> {
        CheckId::ALL
            .into_iter()
            .filter(|&check| self.checks.enabled(check))
            .map(|check| CheckVerdict {
                check,
                verdict: self.verdict(check),
            })
            .collect()
    }

    fn verdict(&self, check: CheckId) -> Verdict {
        if self.accepted < 2 {
            return Verdict::Unknown;
        }
        let worst = self.active(check).max(self.recent(check));
        worst.map_or(Verdict::Pass, Verdict::from)
    }

    /// The severity of a condition of `check` that holds now.
    fn active(&self, check: CheckId) -> Option<Severity> {
        let c = &self.checks;
        let when = |holds: bool, severity: Severity| holds.then_some(severity);
        match check {
            CheckId::GpuXid | CheckId::GpuEcc => None,
            CheckId::GpuRowRemap => when(
                self.gpus.iter().any(|g| g.remap_failure.active()),
                c.gpu_row_remap.failure_severity,
            ),
            CheckId::GpuNvlink => when(
                self.gpus.iter().any(|g| g.nvlink.tripped),
                c.gpu_nvlink.severity,
            ),
            CheckId::GpuPcie => when(
                self.gpus.iter().any(|g| g.pcie.tripped),
                c.gpu_pcie.severity,
            ),
            CheckId::IbLink => self
                .ports
                .iter()
                .flat_map(|p| {
                    [
                        when(p.outage.active(), c.ib_link.down_severity),
                        when(p.link_downed.tripped, c.ib_link.flap_severity),
                        when(p.symbol_error.tripped, c.ib_link.symbol_error_severity),
                    ]
                })
                .flatten()
                .max(),
            CheckId::NodeNotReady => when(self.not_ready.active(), c.node_not_ready.severity),
            CheckId::GpuThermal => when(self.thermal.active(), c.gpu_thermal.severity),
        }
    }

    /// The highest severity of an event finding of `check` within the hold.
    fn recent(&self, check: CheckId) -> Option<Severity> {
        let i = EVENT_CHECKS.iter().position(|&c| c == check)?;
        let last = self.recent.get(i)?;
        Severity::ALL.into_iter().rev().find(|s| {
            last.get(s.index()).is_some_and(|&at| {
                at != i64::MIN && self.last_ts.saturating_sub(at) < EVENT_VERDICT_HOLD_MS
            })
        })
    }
}

/// A GPU seen for the first time (or a different one in this position): only the flag rule
/// can trip; the counters are its baseline.
fn gpu_first_seen(emit: &mut Emit<'_>, checks: &Checks, state: &mut GpuState, g: &GpuSample) {
    remap_failure(emit, checks, state, g, None);
}

/// `row_remap_failure`: critical once per episode, from its first sample. `was` is the flag in
/// the previous sample of this GPU (`None`: none).
fn remap_failure(
    emit: &mut Emit<'_>,
    checks: &Checks,
    state: &mut GpuState,
    g: &GpuSample,
    was: Option<bool>,
) {
    let c = checks.gpu_row_remap;
    let after = if c.enabled { 0 } else { i64::MAX };
    if let Some(since) = state
        .remap_failure
        .observe(g.row_remap_failure, emit.ts, after)
    {
        let evidence = Evidence {
            signal: Signal::RowRemapFailure,
            previous: was.and_then(|was| emit.previous(SignalValue::Flag(was))),
            current: emit.reading(SignalValue::Flag(true)),
            since_ts_ms: Some(since),
            count: None,
            window_ms: None,
            temp_c: None,
        };
        let place = Place {
            gpu: Some(g.index),
            ..Place::default()
        };
        emit.raise(CheckId::GpuRowRemap, c.failure_severity, place, evidence);
    }
}

/// Every GPU rule over a GPU seen in the previous sample too.
fn gpu(emit: &mut Emit<'_>, checks: &Checks, state: &mut GpuState, g: &GpuSample, elapsed: i64) {
    let on_gpu = |xid: Option<u32>| Place {
        gpu: Some(g.index),
        xid,
        ..Place::default()
    };

    // gpu-xid: every increase is one finding, with the last XID and how many arrived.
    if checks.gpu_xid.enabled
        && g.xid_total > state.xid_total
        && let Some(evidence) = emit.delta(Signal::XidTotal, state.xid_total, g.xid_total)
    {
        let severity = emit
            .config
            .xid_severity(&emit.cluster, emit.instance_type, g.xid_last);
        emit.raise(CheckId::GpuXid, severity, on_gpu(g.xid_last), evidence);
    }
    state.xid_total = g.xid_total;

    // gpu-ecc
    let c = checks.gpu_ecc;
    if c.enabled
        && g.ecc_dbe_total > state.ecc_dbe
        && let Some(evidence) = emit.delta(Signal::EccDbeTotal, state.ecc_dbe, g.ecc_dbe_total)
    {
        emit.raise(CheckId::GpuEcc, c.severity, on_gpu(None), evidence);
    }
    state.ecc_dbe = g.ecc_dbe_total;

    // gpu-row-remap: rows, then the failure flag.
    let c = checks.gpu_row_remap;
    if c.enabled
        && g.remapped_rows_uncorrectable > state.rows
        && let Some(evidence) = emit.delta(
            Signal::RemappedRowsUncorrectable,
            state.rows,
            g.remapped_rows_uncorrectable,
        )
    {
        emit.raise(CheckId::GpuRowRemap, c.severity, on_gpu(None), evidence);
    }
    state.rows = g.remapped_rows_uncorrectable;
    let was = state.remap_failure.since.is_some();
    remap_failure(emit, checks, state, g, Some(was));

    // gpu-nvlink, gpu-pcie: more than the limit within a minute.
    for (check, signal, c, counter, value) in [
        (
            CheckId::GpuNvlink,
            Signal::NvlinkCrcErrors,
            checks.gpu_nvlink,
            &mut state.nvlink,
            g.nvlink_crc_errors,
        ),
        (
            CheckId::GpuPcie,
            Signal::PcieReplay,
            checks.gpu_pcie,
            &mut state.pcie,
            g.pcie_replay,
        ),
    ] {
        let over = |total: u64| c.enabled && total > c.max_per_minute;
        if let Some((prev, total)) =
            windowed(counter, value, emit.ts, elapsed, MINUTE_SLOT_MS, over)
        {
            let evidence = emit.windowed(signal, prev, value, total, MINUTE_MS);
            emit.raise(check, c.severity, on_gpu(None), evidence);
        }
    }
}

/// The outage rule of one port. `first` when the port has no previous sample.
fn port_outage(
    emit: &mut Emit<'_>,
    checks: &Checks,
    state: &mut PortState,
    p: &IbPortSample,
    first: bool,
) {
    let c = checks.ib_link;
    let down = p.state == IbPortState::Down;
    // Down in both samples, yet `link_downed` grew: it came back and went down again in
    // between, so this is a new outage.
    if !first && down && state.state == IbPortState::Down && p.link_downed > state.link_downed.prev
    {
        state.outage.restart(emit.ts);
    }
    if let Some(since) = state
        .outage
        .observe(down, emit.ts, due_after(c.enabled, c.down_for))
    {
        let mut evidence = emit.sustained(
            Signal::State,
            SignalValue::Port(state.state),
            SignalValue::Port(IbPortState::Down),
            since,
        );
        if first {
            evidence.previous = None;
        }
        let place = Place {
            port: Some(p.port_name()),
            port_state: Some(p.state),
            ..Place::default()
        };
        emit.raise(CheckId::IbLink, c.down_severity, place, evidence);
    }
}

/// Every rule of a port seen in the previous sample too.
fn port(
    emit: &mut Emit<'_>,
    checks: &Checks,
    state: &mut PortState,
    p: &IbPortSample,
    elapsed: i64,
) {
    let c = checks.ib_link;
    port_outage(emit, checks, state, p, false);
    state.state = p.state;

    let flapping = |total: u64| c.enabled && total >= c.flaps_per_hour;
    if let Some((prev, total)) = windowed(
        &mut state.link_downed,
        p.link_downed,
        emit.ts,
        elapsed,
        HOUR_SLOT_MS,
        flapping,
    ) {
        let evidence = emit.windowed(Signal::LinkDowned, prev, p.link_downed, total, HOUR_MS);
        let place = Place {
            port: Some(p.port_name()),
            port_state: Some(p.state),
            ..Place::default()
        };
        emit.raise(CheckId::IbLink, c.flap_severity, place, evidence);
    }

    let erroring = |total: u64| c.enabled && total > c.max_symbol_errors_per_hour;
    if let Some((prev, total)) = windowed(
        &mut state.symbol_error,
        p.symbol_error,
        emit.ts,
        elapsed,
        HOUR_SLOT_MS,
        erroring,
    ) {
        let evidence = emit.windowed(Signal::SymbolError, prev, p.symbol_error, total, HOUR_MS);
        let place = Place {
            port: Some(p.port_name()),
            port_state: Some(p.state),
            ..Place::default()
        };
        emit.raise(CheckId::IbLink, c.symbol_error_severity, place, evidence);
    }
}

/// Sizes the module documentation quotes.
#[cfg(test)]
pub(crate) fn sizes() -> (usize, usize, usize) {
    (
        std::mem::size_of::<NodeState>(),
        std::mem::size_of::<GpuState>(),
        std::mem::size_of::<PortState>(),
    )
}
