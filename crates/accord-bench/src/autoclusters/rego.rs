//! The shipped remediation policy through its WASM component against the same decisions
//! written in Rego and evaluated by regorus (Rust OPA), natively compiled into this binary.
//!
//! The Rego policy (`rego/gpu_remediation.rego`) is parsed and compiled once, with its entry
//! point `data.accord.gpu_remediation.decision`; each decision then evaluates the compiled
//! policy with one input (the finding and its context as a regorus value, converted inside the
//! timed call, as the plugin host lowers its records inside its own). Timed over the same mix
//! of findings as the WASM-vs-native benchmark ([`crate::findings`]), in the same run, call by
//! call. The native logic stays the informational floor.
//!
//! Invariant: before anything is timed, regorus, the component and the native logic answer the
//! same action and responsibility for every input of a wider matrix (every catalogued XID, an
//! unknown one, every finding kind, and contexts that fire every safety rule), and each
//! component reason starts with the rule the Rego names; any disagreement fails the bench.

use std::time::{Duration, Instant};

use accord_core::remediation::{Finding, FindingKind, RemediationContext};
use anyhow::{Context as _, bail};
use serde::Serialize;

use crate::{Latency, summarize};

/// The policy in Rego.
const REGO: &str = include_str!("../../rego/gpu_remediation.rego");
/// The rule every evaluation asks for.
const ENTRYPOINT: &str = "data.accord.gpu_remediation.decision";

/// WASM component vs regorus, per decision.
#[derive(Debug, Clone, Serialize)]
pub struct PolicyVsRego {
    /// Inputs on which regorus, the component and the native logic were checked to agree.
    pub inputs_checked: usize,
    /// Decisions timed with each engine.
    pub calls: usize,
    pub component: Latency,
    /// Regorus: the compiled policy evaluated with each input.
    pub regorus: Latency,
    /// Native Rust logic (informational floor), per decision over batches.
    pub native_p50_ns: f64,
    /// Component / regorus (target ≤ 1.0).
    pub ratio_p50: f64,
    pub ratio_p99: f64,
}

/// The Rego input for one finding and context (absent fields are null).
fn rego_input(f: &Finding, c: &RemediationContext) -> serde_json::Value {
    let (nf, nc) = crate::to_native(f, c);
    serde_json::json!({
        "finding": {
            "kind": nf.kind.as_str(),
            "cluster": nf.cluster,
            "node": nf.node,
            "xid": nf.xid,
            "gpu": nf.gpu,
            "port": nf.port,
            "state": nf.state,
            "minutes": nf.minutes,
            "temp_c": nf.temp_c,
            "signal": nf.signal,
            "severity": nf.severity,
        },
        "context": {
            "remediation_allowed": nc.remediation_allowed,
            "xid_count_24h": nc.xid_count_24h,
            "remediations_7d": nc.remediations_7d,
            "unhealthy_in_pool": nc.unhealthy_in_pool,
            "pool_size": nc.pool_size,
            "mig": nc.mig,
            "in_flight_in_pool": nc.in_flight_in_pool,
            "max_in_flight_per_pool": nc.max_in_flight_per_pool,
            "unhealthy_in_cluster": nc.unhealthy_in_cluster,
            "cluster_size": nc.cluster_size,
            "max_unhealthy_percent": nc.max_unhealthy_percent,
            "in_maintenance_window": nc.in_maintenance_window,
        },
    })
}

/// The Rego policy, compiled once.
struct Rego {
    policy: regorus::CompiledPolicy,
}

/// What the Rego answered.
#[derive(Debug, PartialEq, Eq)]
struct Answer {
    action: String,
    responsibility: String,
    rule: String,
}

impl Rego {
    fn compile() -> anyhow::Result<Self> {
        let mut engine = regorus::Engine::new();
        engine
            .add_policy("gpu_remediation.rego".to_owned(), REGO.to_owned())
            .map_err(|e| anyhow::anyhow!("{e:#}"))
            .context("parsing rego/gpu_remediation.rego")?;
        let policy = engine
            .compile_with_entrypoint(&ENTRYPOINT.into())
            .map_err(|e| anyhow::anyhow!("{e:#}"))
            .context("compiling rego/gpu_remediation.rego")?;
        Ok(Self { policy })
    }

    /// Evaluates one input (a JSON value converted to regorus' own).
    fn eval(&self, input: &serde_json::Value) -> anyhow::Result<regorus::Value> {
        self.policy
            .eval_with_input(regorus::Value::from(input.clone()))
            .map_err(|e| anyhow::anyhow!("{e:#}"))
    }

    fn answer(&self, input: &serde_json::Value) -> anyhow::Result<Answer> {
        let v = self.eval(input)?;
        let field = |name: &str| -> anyhow::Result<String> {
            let s = v[&regorus::Value::from(name)]
                .as_string()
                .map_err(|e| anyhow::anyhow!("{e:#}"))
                .with_context(|| format!("the Rego decision has no {name}: {v}"))?;
            Ok(s.to_string())
        };
        Ok(Answer {
            action: field("action")?,
            responsibility: field("responsibility")?,
            rule: field("rule")?,
        })
    }
}

/// Every finding shape the policy distinguishes, for the agreement check.
fn check_findings() -> Vec<Finding> {
    let base = Finding {
        kind: FindingKind::GpuXid,
        cluster: "cl-bench".into(),
        node: "gpu-bench".into(),
        xid: None,
        gpu: Some(3),
        port: None,
        state: None,
        minutes: None,
        temp_c: None,
        signal: None,
        severity: None,
    };
    let mut out: Vec<Finding> = gpu_remediation::logic::XID_CATALOGUE
        .iter()
        .map(|e| e.xid)
        .chain([1, 999])
        .map(|xid| Finding {
            xid: Some(xid),
            ..base.clone()
        })
        .collect();
    out.push(base.clone());
    out.push(Finding {
        xid: Some(79),
        gpu: None,
        ..base.clone()
    });
    for state in ["down", "Disabled", "active", "polling"] {
        out.push(Finding {
            kind: FindingKind::IbLink,
            gpu: None,
            port: Some(accord_core::telemetry::IbPortName::from_index(2)),
            state: Some(state.to_owned()),
            ..base.clone()
        });
    }
    out.push(Finding {
        kind: FindingKind::IbLink,
        gpu: None,
        ..base.clone()
    });
    for minutes in [None, Some(3), Some(10), Some(45)] {
        out.push(Finding {
            kind: FindingKind::NodeNotReady,
            gpu: None,
            minutes,
            ..base.clone()
        });
    }
    for temp_c in [None, Some(93)] {
        out.push(Finding {
            kind: FindingKind::GpuThermal,
            temp_c,
            ..base.clone()
        });
    }
    for kind in [
        FindingKind::GpuEcc,
        FindingKind::GpuNvlink,
        FindingKind::GpuPcie,
    ] {
        out.push(Finding {
            kind,
            ..base.clone()
        });
        out.push(Finding {
            kind,
            gpu: None,
            ..base.clone()
        });
    }
    for (signal, severity) in [
        (Some("row_remap_failure"), None),
        (Some("remapped_rows_uncorrectable"), Some("critical")),
        (None, Some("critical")),
        (None, Some("warning")),
        (None, None),
    ] {
        out.push(Finding {
            kind: FindingKind::GpuRowRemap,
            signal: signal.map(str::to_owned),
            severity: severity.map(str::to_owned),
            ..base.clone()
        });
    }
    out
}

/// Contexts that fire each rule: first occurrence, repeats, the opt-in off, the repeat rules,
/// MIG, a window open, the in-flight limit, the breaker open and a lone unhealthy node.
fn check_contexts() -> Vec<RemediationContext> {
    let ok = RemediationContext {
        remediation_allowed: true,
        pool_size: 8,
        cluster_size: 32,
        ..Default::default()
    };
    let with = |edit: &dyn Fn(&mut RemediationContext)| {
        let mut c = ok.clone();
        edit(&mut c);
        c
    };
    vec![
        ok.clone(),
        with(&|c| c.remediation_allowed = false),
        with(&|c| c.xid_count_24h = 2),
        with(&|c| c.xid_count_24h = 3),
        with(&|c| c.xid_count_24h = 5),
        with(&|c| c.remediations_7d = 1),
        with(&|c| c.remediations_7d = 5),
        with(&|c| c.mig = true),
        with(&|c| c.in_maintenance_window = true),
        with(&|c| {
            c.in_maintenance_window = true;
            c.xid_count_24h = 2;
        }),
        with(&|c| c.in_flight_in_pool = c.max_in_flight_per_pool),
        with(&|c| {
            c.unhealthy_in_cluster = 17;
            c.max_unhealthy_percent = 50;
        }),
        with(&|c| {
            c.unhealthy_in_cluster = 1;
            c.cluster_size = 1;
            c.max_unhealthy_percent = 0;
        }),
        with(&|c| {
            c.remediation_allowed = false;
            c.xid_count_24h = 5;
        }),
    ]
}

/// Checks the three agree on every input of the matrix; returns how many were checked.
async fn check_agreement(
    rego: &Rego,
    policy: &accord_plugin_host::PolicyPlugin,
) -> anyhow::Result<usize> {
    let mut checked = 0;
    let mut disagreements = Vec::new();
    let matrix = check_findings()
        .into_iter()
        .flat_map(|f| check_contexts().into_iter().map(move |c| (f.clone(), c)))
        .chain(crate::findings());
    for (f, c) in matrix {
        let through = policy.decide(&f, &c).await?;
        let (nf, nc) = crate::to_native(&f, &c);
        let native = gpu_remediation::logic::decide(&nf, &nc);
        let rego = rego.answer(&rego_input(&f, &c))?;
        let component = (
            through.action.as_str().to_owned(),
            through.responsibility.to_string(),
        );
        let direct = (
            native.action.as_str().to_owned(),
            native.responsibility.as_str().to_owned(),
        );
        let rego_says = (rego.action.clone(), rego.responsibility.clone());
        if component != rego_says || direct != rego_says || !through.reason.starts_with(&rego.rule)
        {
            disagreements.push(format!(
                "{f:?} with {c:?}: component {component:?} ({:?}), native {direct:?}, rego {rego:?}",
                through.reason
            ));
        }
        checked += 1;
    }
    if !disagreements.is_empty() {
        bail!(
            "the Rego policy and the WASM component disagree on {} of {checked} inputs (the \
             comparison would be meaningless):\n{}",
            disagreements.len(),
            disagreements.join("\n")
        );
    }
    Ok(checked)
}

/// Loads the component from `$ACCORD_PLUGIN_DIR`, compiles the Rego, checks they agree, then
/// times both over the mix of [`crate::findings`], `n` calls each after `warmup`.
pub async fn bench(n: usize, warmup: usize) -> anyhow::Result<PolicyVsRego> {
    use accord_plugin_host::{HostConfig, PluginHost};
    let dir = crate::autoclusters::plugin_dir()?;
    let wasm = std::fs::read(dir.join("gpu_remediation.wasm"))
        .with_context(|| format!("reading gpu_remediation.wasm in {}", dir.display()))?;
    let host = PluginHost::new(HostConfig::default())?;
    let policy = tokio::task::spawn_blocking(move || host.load_policy(&wasm)).await??;
    let rego = Rego::compile()?;
    let inputs_checked = check_agreement(&rego, &policy).await?;

    let mix = crate::findings();
    let inputs: Vec<_> = mix.iter().map(|(f, c)| rego_input(f, c)).collect();
    let native: Vec<_> = mix.iter().map(|(f, c)| crate::to_native(f, c)).collect();
    // Interleaved per call (component, then regorus, on the same input), so a burst of load
    // on this noisy machine hits both alike.
    let (mut component, mut regorus) = (Vec::with_capacity(n), Vec::with_capacity(n));
    for i in 0..warmup + n {
        let (f, c) = &mix[i % mix.len()];
        let t = Instant::now();
        std::hint::black_box(policy.decide(f, c).await?);
        let wasm = t.elapsed();
        let t = Instant::now();
        std::hint::black_box(rego.eval(&inputs[i % inputs.len()])?);
        let rego_took = t.elapsed();
        if i >= warmup {
            component.push(wasm);
            regorus.push(rego_took);
        }
    }
    let mut native_batches: Vec<Duration> = Vec::with_capacity(n);
    for b in 0..n.max(100) {
        let t = Instant::now();
        for i in 0..crate::NATIVE_BATCH {
            let (f, c) = &native[(b + i) % native.len()];
            std::hint::black_box(gpu_remediation::logic::decide(std::hint::black_box(f), c));
        }
        native_batches.push(t.elapsed() / crate::NATIVE_BATCH as u32);
    }
    let (component, regorus) = (summarize(component), summarize(regorus));
    Ok(PolicyVsRego {
        inputs_checked,
        calls: n,
        ratio_p50: component.p50_us / regorus.p50_us,
        ratio_p99: component.p99_us / regorus.p99_us,
        native_p50_ns: summarize(native_batches).p50_us * 1000.0,
        component,
        regorus,
    })
}
