//! `--wait`: poll a Get call until the resource reaches the state the command promised, with a
//! live progress display and a deadline.
//!
//! - [`until`] drives the loop: it fetches about every [`POLL_INTERVAL`], asks a *judge* what the
//!   latest answer means ([`Verdict`]), shows progress and gives up at the deadline with an error
//!   that says what it was waiting for and what it saw last.
//! - The judges ([`cluster_ready`], [`cluster_upgraded`], [`pool_ready`], [`gone`]) are pure
//!   functions of the fetched resource, unit-tested without a server.
//! - [`Progress`] is an indicatif spinner/bar when stdout and stderr are terminals, else plain
//!   lines on stderr (one per change), so logs of scripted runs stay readable. Progress counted
//!   in bytes ([`Units::Bytes`], [`until_in`]: a migration's copy) shows `12.0 GiB/40.0 GiB`,
//!   and its lines also repeat every [`BYTES_LINE_INTERVAL`] while only the bytes move.
//!
//! Invariants: there is no fixed sleep — each poll waits at most the interval and never past the
//! deadline, and a call still running at the deadline is abandoned. Transient failures (API
//! unreachable, `UNAVAILABLE`) are shown and retried until the deadline; any other error ends the
//! wait at once.

use std::future::Future;
use std::time::Duration;

use accord_core::cluster::COND_READY;
use accord_proto::provisioner::v1 as pb;
use anyhow::bail;
use indicatif::{ProgressBar, ProgressStyle};
use tokio::time::Instant;

use crate::client::ApiError;
use crate::output::{Printer, human_bytes};
use crate::parse::format_duration;

/// How often the resource is fetched.
pub const POLL_INTERVAL: Duration = Duration::from_millis(250);

/// What one look at the resource showed, while not done.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Observation {
    /// One line: phase and counts (`scaling, 1/2 nodes ready`).
    pub summary: String,
    /// `(done, total)` when the state is countable (nodes ready, replicas upgraded).
    pub progress: Option<(u64, u64)>,
}

impl Observation {
    fn new(summary: impl Into<String>) -> Self {
        Observation {
            summary: summary.into(),
            progress: None,
        }
    }

    fn with_progress(mut self, done: u64, total: u64) -> Self {
        if total > 0 {
            self.progress = Some((done.min(total), total));
        }
        self
    }
}

/// What the latest answer means.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Reached: the message says so (`cluster/demo is ready`).
    Done(String),
    /// Not yet.
    Pending(Observation),
    /// Cannot be reached any more (e.g. the resource vanished while waiting for it to be ready).
    Failed(String),
}

/// What [`until`] returns: the last resource fetched (`None` after a deletion) and the judge's
/// final message.
#[derive(Debug, Clone, PartialEq)]
pub struct Waited<T> {
    /// The last answer, if the resource still exists.
    pub last: Option<T>,
    /// The judge's [`Verdict::Done`] message.
    pub message: String,
}

/// What an [`Observation`]'s `progress` counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Units {
    /// Things (nodes, replicas): `2/3`.
    Count,
    /// Bytes: `12.0 GiB/40.0 GiB`.
    Bytes,
}

/// How often a plain-lines display repeats a byte count that is the only thing moving.
pub const BYTES_LINE_INTERVAL: Duration = Duration::from_secs(10);

/// Polls `fetch` until `judge` says done or failed, or `timeout` passes. `what` completes the
/// sentence "waiting for …" (`cluster demo to become ready`). A NOT_FOUND answer is passed to
/// the judge as `None`.
pub async fn until<T, F, Fut, J>(
    printer: &Printer,
    what: &str,
    timeout: Duration,
    fetch: F,
    judge: J,
) -> anyhow::Result<Waited<T>>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, ApiError>>,
    J: FnMut(Option<&T>) -> Verdict,
{
    until_in(printer, what, timeout, Units::Count, fetch, judge).await
}

/// [`until`], with the progress counted in `units`.
pub async fn until_in<T, F, Fut, J>(
    printer: &Printer,
    what: &str,
    timeout: Duration,
    units: Units,
    mut fetch: F,
    mut judge: J,
) -> anyhow::Result<Waited<T>>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, ApiError>>,
    J: FnMut(Option<&T>) -> Verdict,
{
    let started = Instant::now();
    let deadline = started + timeout;
    let mut progress = Progress::with_units(printer, what, units);
    let mut last: Option<T> = None;
    let mut last_summary = "no answer yet".to_owned();
    loop {
        let verdict = match tokio::time::timeout_at(deadline, fetch()).await {
            Err(_elapsed) => None,
            Ok(Ok(item)) => {
                let verdict = judge(Some(&item));
                last = Some(item);
                Some(verdict)
            }
            Ok(Err(error)) if error.is_not_found() => {
                last = None;
                Some(judge(None))
            }
            Ok(Err(error)) if error.is_transient() => Some(Verdict::Pending(Observation::new(
                format!("retrying: {error}"),
            ))),
            Ok(Err(error)) => {
                progress.finish();
                return Err(anyhow::Error::new(error).context(format!("waiting for {what}")));
            }
        };
        match verdict {
            Some(Verdict::Done(message)) => {
                progress.finish();
                return Ok(Waited { last, message });
            }
            Some(Verdict::Failed(message)) => {
                progress.finish();
                bail!("{message} (while waiting for {what})");
            }
            Some(Verdict::Pending(observation)) => {
                progress.show(&observation, started.elapsed());
                last_summary = observation.summary;
            }
            None => {}
        }
        let now = Instant::now();
        if now >= deadline {
            progress.finish();
            bail!(
                "timed out after {} waiting for {what} (last seen: {last_summary}); \
                 it may still get there: check with `accord get` or wait longer with --timeout",
                format_duration(timeout)
            );
        }
        tokio::time::sleep_until((now + POLL_INTERVAL).min(deadline)).await;
    }
}

// ------------------------------------------------------------------ judges

fn condition<'a>(conditions: &'a [pb::Condition], type_: &str) -> Option<&'a pb::Condition> {
    conditions.iter().find(|c| c.r#type == type_)
}

/// Whether the status has caught up with the spec. Servers that do not fill
/// `observed_generation` (0) are taken at their word.
fn observed(generation: u64, observed_generation: u64) -> bool {
    observed_generation == 0 || observed_generation >= generation
}

/// Cluster creation: until the `Ready` condition is `True`.
pub fn cluster_ready(name: &str) -> impl FnMut(Option<&pb::Cluster>) -> Verdict + use<> {
    let name = name.to_owned();
    move |cluster| {
        let Some(cluster) = cluster else {
            return Verdict::Failed(format!("cluster {name} no longer exists"));
        };
        let status = cluster.status.clone().unwrap_or_default();
        if condition(&status.conditions, COND_READY).is_some_and(|c| c.status == "True") {
            let endpoint = if status.api_endpoint.is_empty() {
                String::new()
            } else {
                format!(" (API server {})", status.api_endpoint)
            };
            return Verdict::Done(format!("cluster/{name} is ready{endpoint}"));
        }
        let running = status
            .control_plane
            .iter()
            .filter(|r| r.state == "running")
            .count() as u64;
        let total = status.control_plane.len() as u64;
        let mut summary = format!(
            "{}, {running}/{total} control-plane replicas running",
            phase_or_pending(&status.phase)
        );
        if let Some(ready) = condition(&status.conditions, COND_READY)
            && !ready.reason.is_empty()
        {
            summary.push_str(&format!(", Ready={}: {}", ready.status, ready.reason));
        }
        Verdict::Pending(Observation::new(summary).with_progress(running, total))
    }
}

/// Upgrade execution: until every replica and the cluster run `target` and nothing is pending.
pub fn cluster_upgraded(
    name: &str,
    target: &str,
) -> impl FnMut(Option<&pb::Cluster>) -> Verdict + use<> {
    let name = name.to_owned();
    let target = target.to_owned();
    move |cluster| {
        let Some(cluster) = cluster else {
            return Verdict::Failed(format!("cluster {name} no longer exists"));
        };
        let status = cluster.status.clone().unwrap_or_default();
        let upgraded = status
            .control_plane
            .iter()
            .filter(|r| r.version == target && r.state == "running")
            .count() as u64;
        let total = status.control_plane.len() as u64;
        if status.current_version == target
            && status.requested_version.is_empty()
            && status.phase != "upgrading"
        {
            return Verdict::Done(format!("cluster/{name} runs Kubernetes {target}"));
        }
        Verdict::Pending(
            Observation::new(format!(
                "{}, {upgraded}/{total} control-plane replicas on {target}",
                phase_or_pending(&status.phase)
            ))
            .with_progress(upgraded, total),
        )
    }
}

/// Node pool create / scale / cycle: until the phase is `ready` with `ready_nodes == count`
/// (and, for a cycle, the pool is on `target_image` with no cycle in progress).
pub fn pool_ready(
    name: &str,
    target_image: Option<&str>,
) -> impl FnMut(Option<&pb::NodePool>) -> Verdict + use<> {
    let name = name.to_owned();
    let target_image = target_image.filter(|t| !t.is_empty()).map(str::to_owned);
    move |pool| {
        let Some(pool) = pool else {
            return Verdict::Failed(format!("node pool {name} no longer exists"));
        };
        let generation = pool.metadata.as_ref().map(|m| m.generation).unwrap_or(0);
        let spec = pool.spec.clone().unwrap_or_default();
        let status = pool.status.clone().unwrap_or_default();
        let cycle = status.cycle.clone().unwrap_or_default();
        let on_image = target_image
            .as_deref()
            .is_none_or(|image| spec.image_version == image && !cycle.in_progress);
        if status.phase == "ready"
            && status.ready_nodes == spec.count
            && observed(generation, status.observed_generation)
            && on_image
        {
            let image = target_image
                .as_deref()
                .map(|image| format!(" on image {image}"))
                .unwrap_or_default();
            return Verdict::Done(format!(
                "nodepool/{name} is ready: {}/{} nodes{image}",
                status.ready_nodes, spec.count
            ));
        }
        let mut summary = format!(
            "{}, {}/{} nodes ready",
            phase_or_pending(&status.phase),
            status.ready_nodes,
            spec.count
        );
        if cycle.in_progress {
            summary.push_str(&format!(
                ", {}/{} replaced by {}",
                cycle.nodes_replaced, cycle.nodes_total, cycle.target_image_version
            ));
            return Verdict::Pending(Observation::new(summary).with_progress(
                u64::from(cycle.nodes_replaced),
                u64::from(cycle.nodes_total),
            ));
        }
        Verdict::Pending(
            Observation::new(summary)
                .with_progress(u64::from(status.ready_nodes), u64::from(spec.count)),
        )
    }
}

/// Deletion: until NOT_FOUND. `describe` says what a still-existing resource is doing.
pub fn gone<T>(
    kind: &str,
    name: &str,
    describe: fn(&T) -> String,
) -> impl FnMut(Option<&T>) -> Verdict + use<T> {
    let kind = kind.to_owned();
    let name = name.to_owned();
    move |item| match item {
        None => Verdict::Done(format!("{kind}/{name} deleted")),
        Some(item) => Verdict::Pending(Observation::new(describe(item))),
    }
}

/// The pending phase of a cluster, for [`gone`].
pub fn cluster_phase(cluster: &pb::Cluster) -> String {
    let status = cluster.status.clone().unwrap_or_default();
    format!(
        "{}, {} node pools left",
        phase_or_pending(&status.phase),
        status.node_pool_count
    )
}

/// The pending phase of a node pool, for [`gone`].
pub fn pool_phase(pool: &pb::NodePool) -> String {
    let status = pool.status.clone().unwrap_or_default();
    format!(
        "{}, {} nodes left",
        phase_or_pending(&status.phase),
        status.total_nodes
    )
}

fn phase_or_pending(phase: &str) -> &str {
    if phase.is_empty() { "pending" } else { phase }
}

// ------------------------------------------------------------------ progress display

/// The live display of a wait.
pub struct Progress {
    mode: Mode,
    what: String,
    last: String,
    units: Units,
    /// When the last plain line was printed (bytes only: they repeat while copying).
    last_line_at: Option<Duration>,
}

enum Mode {
    Bar(ProgressBar),
    Lines(Printer),
}

const SPINNER_TEMPLATE: &str = "{spinner:.cyan} waiting for {prefix}: {msg} ({elapsed})";
const BAR_TEMPLATE: &str =
    "{spinner:.cyan} waiting for {prefix} [{bar:24.cyan/blue}] {pos}/{len}: {msg} ({elapsed})";
const BYTES_BAR_TEMPLATE: &str = "{spinner:.cyan} waiting for {prefix} [{bar:24.cyan/blue}] \
     {binary_bytes}/{binary_total_bytes} ({percent}%): {msg} ({elapsed})";

impl Progress {
    /// A bar on a terminal, plain lines otherwise.
    pub fn new(printer: &Printer, what: &str) -> Progress {
        Progress::with_units(printer, what, Units::Count)
    }

    /// [`Progress::new`], counting in `units`.
    pub fn with_units(printer: &Printer, what: &str, units: Units) -> Progress {
        let mode = if printer.is_terminal() {
            let bar = ProgressBar::new_spinner();
            bar.set_style(style(SPINNER_TEMPLATE));
            bar.set_prefix(what.to_owned());
            bar.enable_steady_tick(Duration::from_millis(100));
            Mode::Bar(bar)
        } else {
            Mode::Lines(printer.clone())
        };
        Progress {
            mode,
            what: what.to_owned(),
            last: String::new(),
            units,
            last_line_at: None,
        }
    }

    /// Shows the latest observation.
    pub fn show(&mut self, observation: &Observation, elapsed: Duration) {
        match &self.mode {
            Mode::Bar(bar) => {
                match observation.progress {
                    Some((done, total)) => {
                        if bar.length() != Some(total) {
                            bar.set_style(style(match self.units {
                                Units::Count => BAR_TEMPLATE,
                                Units::Bytes => BYTES_BAR_TEMPLATE,
                            }));
                            bar.set_length(total);
                        }
                        bar.set_position(done);
                    }
                    None => {
                        if bar.length().is_some() {
                            bar.set_style(style(SPINNER_TEMPLATE));
                            bar.unset_length();
                        }
                    }
                }
                bar.set_message(observation.summary.clone());
            }
            Mode::Lines(printer) => {
                let repeat = self.units == Units::Bytes
                    && self
                        .last_line_at
                        .is_none_or(|at| elapsed.saturating_sub(at) >= BYTES_LINE_INTERVAL);
                if observation.summary != self.last || repeat {
                    printer.err(&line(&self.what, self.units, observation, elapsed));
                    self.last_line_at = Some(elapsed);
                }
            }
        }
        self.last.clone_from(&observation.summary);
    }

    /// Removes the bar (lines stay).
    pub fn finish(&mut self) {
        if let Mode::Bar(bar) = &self.mode {
            bar.finish_and_clear();
        }
    }
}

/// One plain progress line: `[  12s] waiting for WHAT: SUMMARY`, with the byte count first
/// when counting bytes (`12.0 GiB/40.0 GiB (30%), SUMMARY`).
pub fn line(what: &str, units: Units, observation: &Observation, elapsed: Duration) -> String {
    let secs = elapsed.as_secs();
    match (units, observation.progress) {
        (Units::Bytes, Some((done, total))) => format!(
            "[{secs:>4}s] waiting for {what}: {}/{} ({}%), {}",
            human_bytes(done),
            human_bytes(total),
            percent(done, total),
            observation.summary
        ),
        _ => format!("[{secs:>4}s] waiting for {what}: {}", observation.summary),
    }
}

/// `done` of `total` in whole percent, rounded down (100 only when done).
pub fn percent(done: u64, total: u64) -> u64 {
    if total == 0 {
        return 0;
    }
    let scaled = u128::from(done.min(total)) * 100 / u128::from(total);
    u64::try_from(scaled).unwrap_or(100)
}

fn style(template: &str) -> ProgressStyle {
    ProgressStyle::with_template(template)
        .unwrap_or_else(|_| ProgressStyle::default_spinner())
        .progress_chars("=> ")
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU32, Ordering};

    use super::*;
    use crate::fixtures;

    fn provisioning_cluster() -> pb::Cluster {
        let mut cluster = fixtures::cluster("demo", "cl-01jexample000000000demo001");
        let status = cluster.status.as_mut().unwrap();
        status.phase = "provisioning".into();
        status.control_plane[1].state = "provisioning".into();
        status.control_plane[2].state = "provisioning".into();
        status.conditions[1].status = "False".into();
        status.conditions[1].reason = "ControlPlaneProvisioning".into();
        cluster
    }

    #[test]
    fn cluster_ready_judge() {
        let mut judge = cluster_ready("demo");
        assert_eq!(
            judge(Some(&provisioning_cluster())),
            Verdict::Pending(Observation {
                summary: "provisioning, 1/3 control-plane replicas running, Ready=False: ControlPlaneProvisioning".into(),
                progress: Some((1, 3)),
            })
        );
        let ready = fixtures::cluster("demo", "cl-01jexample000000000demo001");
        assert_eq!(
            judge(Some(&ready)),
            Verdict::Done(
                "cluster/demo is ready (API server https://demo.eu-iceland1.accord.example:6443)"
                    .into()
            )
        );
        assert!(matches!(judge(None), Verdict::Failed(_)));
    }

    #[test]
    fn cluster_upgraded_judge() {
        let mut judge = cluster_upgraded("demo", "1.33");
        let mut cluster = fixtures::cluster("demo", "cl-01jexample000000000demo001");
        {
            let status = cluster.status.as_mut().unwrap();
            status.phase = "upgrading".into();
            status.requested_version = "1.33".into();
            status.control_plane[0].version = "1.33".into();
        }
        assert_eq!(
            judge(Some(&cluster)),
            Verdict::Pending(Observation {
                summary: "upgrading, 1/3 control-plane replicas on 1.33".into(),
                progress: Some((1, 3)),
            })
        );
        {
            let status = cluster.status.as_mut().unwrap();
            status.phase = "running".into();
            status.requested_version.clear();
            status.current_version = "1.33".into();
        }
        assert_eq!(
            judge(Some(&cluster)),
            Verdict::Done("cluster/demo runs Kubernetes 1.33".into())
        );
    }

    #[test]
    fn pool_ready_judge() {
        let mut judge = pool_ready("gpu-a", None);
        let mut pool = fixtures::node_pool("gpu-a");
        assert_eq!(
            judge(Some(&pool)),
            Verdict::Done("nodepool/gpu-a is ready: 2/2 nodes".into())
        );

        // Scaled to 4: the spec changed, the status has not caught up yet.
        pool.spec.as_mut().unwrap().count = 4;
        pool.metadata.as_mut().unwrap().generation = 3;
        assert_eq!(
            judge(Some(&pool)),
            Verdict::Pending(Observation {
                summary: "ready, 2/4 nodes ready".into(),
                progress: Some((2, 4)),
            })
        );
        let status = pool.status.as_mut().unwrap();
        status.ready_nodes = 4;
        status.phase = "ready".into();
        assert!(
            matches!(judge(Some(&pool)), Verdict::Pending(_)),
            "stale generation"
        );
        pool.status.as_mut().unwrap().observed_generation = 3;
        assert!(matches!(judge(Some(&pool)), Verdict::Done(_)));
        assert!(matches!(judge(None), Verdict::Failed(_)));
    }

    #[test]
    fn pool_cycle_judge() {
        let mut judge = pool_ready("gpu-a", Some("2026.11"));
        let mut pool = fixtures::node_pool("gpu-a");
        pool.status.as_mut().unwrap().phase = "cycling".into();
        pool.status.as_mut().unwrap().cycle = Some(pb::CycleStatus {
            in_progress: true,
            target_image_version: "2026.11".into(),
            nodes_replaced: 1,
            nodes_total: 2,
            started_at: None,
        });
        assert_eq!(
            judge(Some(&pool)),
            Verdict::Pending(Observation {
                summary: "cycling, 2/2 nodes ready, 1/2 replaced by 2026.11".into(),
                progress: Some((1, 2)),
            })
        );
        pool.status.as_mut().unwrap().phase = "ready".into();
        pool.status.as_mut().unwrap().cycle = None;
        assert!(
            matches!(judge(Some(&pool)), Verdict::Pending(_)),
            "still on the old image"
        );
        pool.spec.as_mut().unwrap().image_version = "2026.11".into();
        assert_eq!(
            judge(Some(&pool)),
            Verdict::Done("nodepool/gpu-a is ready: 2/2 nodes on image 2026.11".into())
        );
    }

    #[test]
    fn gone_judge() {
        let mut judge = gone("cluster", "demo", cluster_phase);
        let mut cluster = fixtures::cluster("demo", "cl-01jexample000000000demo001");
        cluster.status.as_mut().unwrap().phase = "deleting".into();
        assert_eq!(
            judge(Some(&cluster)),
            Verdict::Pending(Observation::new("deleting, 2 node pools left"))
        );
        assert_eq!(judge(None), Verdict::Done("cluster/demo deleted".into()));
    }

    #[test]
    fn progress_templates_are_valid() {
        assert!(ProgressStyle::with_template(SPINNER_TEMPLATE).is_ok());
        assert!(ProgressStyle::with_template(BAR_TEMPLATE).is_ok());
        assert!(ProgressStyle::with_template(BYTES_BAR_TEMPLATE).is_ok());
    }

    #[test]
    fn byte_lines_show_the_amounts_and_percent() {
        let observation = Observation {
            summary: "batch 2/3: copying 2, done 3".into(),
            progress: Some((3 << 30, 12 << 30)),
        };
        assert_eq!(
            line(
                "migration m",
                Units::Bytes,
                &observation,
                Duration::from_secs(12)
            ),
            "[  12s] waiting for migration m: 3.0 GiB/12.0 GiB (25%), batch 2/3: copying 2, done 3"
        );
        assert_eq!(
            line(
                "migration m",
                Units::Count,
                &observation,
                Duration::from_secs(12)
            ),
            "[  12s] waiting for migration m: batch 2/3: copying 2, done 3"
        );
        assert_eq!(percent(0, 0), 0);
        assert_eq!(percent(999, 1000), 99);
        assert_eq!(percent(1000, 1000), 100);
        assert_eq!(percent(u64::MAX, u64::MAX), 100);
    }

    #[test]
    fn byte_lines_repeat_while_only_the_bytes_move() {
        let (printer, captured) = Printer::capture();
        let mut progress = Progress::with_units(&printer, "migration m", Units::Bytes);
        let at = |done: u64| Observation {
            summary: "batch 1/1: copying 1".into(),
            progress: Some((done, 100)),
        };
        progress.show(&at(10), Duration::from_secs(0));
        progress.show(&at(20), Duration::from_secs(5));
        progress.show(&at(30), Duration::from_secs(10));
        let err = captured.lock().unwrap().err.clone();
        assert_eq!(
            err,
            "[   0s] waiting for migration m: 10 B/100 B (10%), batch 1/1: copying 1\n\
             [  10s] waiting for migration m: 30 B/100 B (30%), batch 1/1: copying 1\n"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn until_polls_until_done_and_prints_changes() {
        let (printer, captured) = Printer::capture();
        let calls = AtomicU32::new(0);
        let waited = until(
            &printer,
            "thing to finish",
            Duration::from_secs(10),
            || {
                let n = calls.fetch_add(1, Ordering::SeqCst);
                async move { Ok::<u32, ApiError>(n) }
            },
            |n: Option<&u32>| match n {
                Some(&n) if n >= 3 => Verdict::Done(format!("done after {n}")),
                Some(&n) => Verdict::Pending(Observation::new(format!("step {}", n / 2))),
                None => Verdict::Failed("gone".into()),
            },
        )
        .await
        .unwrap();
        assert_eq!(waited.message, "done after 3");
        assert_eq!(waited.last, Some(3));
        let err = captured.lock().unwrap().err.clone();
        assert_eq!(err.lines().count(), 2, "one line per change:\n{err}");
        assert!(err.contains("thing to finish: step 0"), "{err}");
    }

    #[tokio::test(start_paused = true)]
    async fn until_times_out_with_what_and_last_state() {
        let (printer, _captured) = Printer::capture();
        let error = until(
            &printer,
            "nodepool gpu-a to become ready",
            Duration::from_secs(2),
            || async { Ok::<u32, ApiError>(1) },
            |_| Verdict::Pending(Observation::new("scaling, 1/2 nodes ready")),
        )
        .await
        .unwrap_err()
        .to_string();
        assert!(
            error.starts_with(
                "timed out after 2s waiting for nodepool gpu-a to become ready (last seen: scaling, 1/2 nodes ready)"
            ),
            "{error}"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn until_retries_transient_errors_and_fails_on_others() {
        let (printer, _captured) = Printer::capture();
        let calls = AtomicU32::new(0);
        let waited = until(
            &printer,
            "x",
            Duration::from_secs(10),
            || {
                let n = calls.fetch_add(1, Ordering::SeqCst);
                async move {
                    match n {
                        0 => Err(ApiError::Status {
                            code: tonic::Code::Unavailable,
                            message: "bus down".into(),
                        }),
                        1 => Err(ApiError::not_found("gone")),
                        _ => Ok(n),
                    }
                }
            },
            |item: Option<&u32>| match item {
                None => Verdict::Done("deleted".into()),
                Some(_) => Verdict::Pending(Observation::new("deleting")),
            },
        )
        .await
        .unwrap();
        assert_eq!(waited.message, "deleted");
        assert_eq!(waited.last, None);

        let error = until(
            &printer,
            "x",
            Duration::from_secs(10),
            || async {
                Err::<u32, _>(ApiError::Status {
                    code: tonic::Code::PermissionDenied,
                    message: "no".into(),
                })
            },
            |_| Verdict::Pending(Observation::new("?")),
        )
        .await
        .unwrap_err();
        assert_eq!(format!("{error:#}"), "waiting for x: PERMISSION_DENIED: no");
    }
}
