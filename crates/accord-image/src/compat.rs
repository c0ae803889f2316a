//! The compatibility gate: a versioned matrix of known-good and known-bad pairs of components
//! (`matrix/compatibility.yaml`, data the operator updates) and [`check`], which refuses a
//! manifest that contains a known-bad pair, naming it:
//! `kernel 6.8.0-40-generic × DOCA-OFED 24.07-0.6.1.0: breaks GPUDirect RDMA (rule K-OFED-1)`.
//!
//! **Matrix format.** `version` (≥ 1, bumped on every change) and `rules`, each with an `id`
//! (`K-OFED-1`: uppercase letters, digits, `-`), a `verdict` (`known_bad` | `known_good`), two
//! sides `a` and `b` naming different components ([`Component`]) with a version constraint
//! ([`Constraint`]: `*`, exact `6.8.0-40-generic`, prefix `6.8.*`, or `>=`/`<` bounds on dotted
//! numbers joined by `,`), a `reason`, and optionally `instance_types`. Unknown fields are
//! refused, sizes are bounded ([`crate::limits`]).
//!
//! **Matching.** A rule matches when both sides match the manifest, and — if it names instance
//! types — the target's instance type is one of them. The kubelet side matches the target's
//! minor's kubelet, or any kubelet the image carries when no minor is given (an image is
//! refused for a kubelet it ships). Rules scoped to instance types do not apply to a check
//! without an instance type: the build gate checks what holds everywhere, the pool and rollout
//! gates check with the pool's instance type.
//!
//! **Known-good** rules record tested combinations ([`known_good`] lists those that apply);
//! they never override a known-bad rule.
//!
//! Invariant: a refusal names every matching known-bad rule (the first
//! [`MAX_REPORTED_CONFLICTS`], counting the rest), with both components' versions.

use std::collections::BTreeSet;
use std::fmt;

use accord_core::error::{DomainError, echo};
use accord_core::validation::{KubeVersion, plain_text, quote};
use serde::Deserialize;

use crate::error::{Errors, ImageError};
use crate::limits::{
    MAX_CONSTRAINT_CHARS, MAX_MATRIX_BYTES, MAX_REASON_CHARS, MAX_REPORTED_CONFLICTS,
    MAX_RULE_ID_CHARS, MAX_RULE_INSTANCE_TYPES, MAX_RULES,
};
use crate::manifest::{Manifest, check_size, parse_error};

/// The matrix shipped with the crate (`matrix/compatibility.yaml`).
pub const DEFAULT_MATRIX_YAML: &str = include_str!("../matrix/compatibility.yaml");

/// A component of an image a rule can name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Component {
    /// `os` — the OS release's `version_id` (`24.04`).
    Os,
    /// `kernel`.
    Kernel,
    /// `containerd`.
    Containerd,
    /// `runc`.
    Runc,
    /// `kubelet` — the kubelet version (`1.32.9`).
    Kubelet,
    /// `gpu_driver`.
    GpuDriver,
    /// `fabric_manager`.
    FabricManager,
    /// `doca_ofed`.
    DocaOfed,
    /// `cuda_compat`.
    CudaCompat,
}

impl Component {
    /// Every component, in matrix spelling order.
    pub const ALL: [Component; 9] = [
        Self::Os,
        Self::Kernel,
        Self::Containerd,
        Self::Runc,
        Self::Kubelet,
        Self::GpuDriver,
        Self::FabricManager,
        Self::DocaOfed,
        Self::CudaCompat,
    ];

    /// The matrix spelling (`doca_ofed`).
    pub fn key(self) -> &'static str {
        match self {
            Self::Os => "os",
            Self::Kernel => "kernel",
            Self::Containerd => "containerd",
            Self::Runc => "runc",
            Self::Kubelet => "kubelet",
            Self::GpuDriver => "gpu_driver",
            Self::FabricManager => "fabric_manager",
            Self::DocaOfed => "doca_ofed",
            Self::CudaCompat => "cuda_compat",
        }
    }

    /// The name people use (`DOCA-OFED`).
    pub fn display_name(self) -> &'static str {
        match self {
            Self::Os => "Ubuntu",
            Self::Kernel => "kernel",
            Self::Containerd => "containerd",
            Self::Runc => "runc",
            Self::Kubelet => "kubelet",
            Self::GpuDriver => "GPU driver",
            Self::FabricManager => "fabric manager",
            Self::DocaOfed => "DOCA-OFED",
            Self::CudaCompat => "CUDA compat",
        }
    }

    pub(crate) fn parse(key: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.key() == key)
    }

    /// The versions of this component in `manifest` a rule is matched against: one, except the
    /// kubelet without a target minor (every kubelet the image carries).
    pub fn versions<'m>(self, manifest: &'m Manifest, minor: Option<KubeVersion>) -> Vec<&'m str> {
        let one = |v: &'m String| vec![v.as_str()];
        match self {
            Self::Os => one(&manifest.os.version_id),
            Self::Kernel => one(&manifest.kernel.version),
            Self::Containerd => one(&manifest.containerd.version),
            Self::Runc => one(&manifest.runc.version),
            Self::GpuDriver => one(&manifest.gpu_driver.version),
            Self::FabricManager => one(&manifest.fabric_manager.version),
            Self::DocaOfed => one(&manifest.doca_ofed.version),
            Self::CudaCompat => one(&manifest.cuda_compat.version),
            Self::Kubelet => match minor {
                Some(m) => manifest
                    .kubelet
                    .get(&m.to_string())
                    .map(|v| vec![v.as_str()])
                    .unwrap_or_default(),
                None => manifest.kubelet.values().map(String::as_str).collect(),
            },
        }
    }
}

impl fmt::Display for Component {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.display_name())
    }
}

/// A version constraint of one side of a rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Constraint {
    /// `*`: every version.
    Any,
    /// Exactly this version.
    Exact(String),
    /// `6.8.*`: versions starting with `6.8.` (the text before the `*`).
    Prefix(String),
    /// `>=a`, `<b`, or both (`>=a,<b`), compared as dotted numbers.
    Range {
        /// Inclusive lower bound.
        at_least: Option<Vec<u64>>,
        /// Exclusive upper bound.
        below: Option<Vec<u64>>,
    },
}

impl Constraint {
    /// Parses the matrix spelling.
    pub fn parse(text: &str) -> Result<Self, String> {
        if text.is_empty() {
            return Err("is required".into());
        }
        if text.len() > MAX_CONSTRAINT_CHARS {
            return Err(format!(
                "must be at most {MAX_CONSTRAINT_CHARS} characters (has {})",
                text.len()
            ));
        }
        let bad = || {
            format!(
                "{} is not a version constraint (exact, `6.8.*`, `>=a`, `<b` or `>=a,<b`)",
                quote(text)
            )
        };
        if text == "*" {
            return Ok(Self::Any);
        }
        if text.starts_with(">=") || text.starts_with('<') {
            let (mut at_least, mut below) = (None, None);
            for part in text.split(',') {
                if let Some(n) = part.strip_prefix(">=") {
                    if at_least.replace(numbers(n).ok_or_else(bad)?).is_some() {
                        return Err(bad());
                    }
                } else if let Some(n) = part.strip_prefix('<') {
                    if below.replace(numbers(n).ok_or_else(bad)?).is_some() {
                        return Err(bad());
                    }
                } else {
                    return Err(bad());
                }
            }
            if let (Some(lo), Some(hi)) = (&at_least, &below)
                && compare(lo, hi) != std::cmp::Ordering::Less
            {
                return Err(format!("{} matches no version", quote(text)));
            }
            return Ok(Self::Range { at_least, below });
        }
        let version_chars = |s: &str| {
            !s.is_empty()
                && s.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"._-+".contains(&b))
        };
        if let Some(prefix) = text.strip_suffix('*') {
            if !(prefix.ends_with('.') || prefix.ends_with('-')) || !version_chars(prefix) {
                return Err(bad());
            }
            return Ok(Self::Prefix(prefix.to_owned()));
        }
        if !version_chars(text) {
            return Err(bad());
        }
        Ok(Self::Exact(text.to_owned()))
    }

    /// Whether `version` satisfies the constraint. A range never matches a version without a
    /// leading number.
    pub fn matches(&self, version: &str) -> bool {
        match self {
            Self::Any => true,
            Self::Exact(v) => v == version,
            Self::Prefix(p) => version.starts_with(p.as_str()),
            Self::Range { at_least, below } => {
                let v = leading_numbers(version);
                !v.is_empty()
                    && at_least
                        .as_ref()
                        .is_none_or(|lo| compare(&v, lo) != std::cmp::Ordering::Less)
                    && below
                        .as_ref()
                        .is_none_or(|hi| compare(&v, hi) == std::cmp::Ordering::Less)
            }
        }
    }
}

/// `535.161` or `6.8.0-45` → its numbers; `None` unless every segment is a number.
fn numbers(text: &str) -> Option<Vec<u64>> {
    let parts: Vec<&str> = text.split(['.', '-']).collect();
    parts
        .iter()
        .map(|p| {
            (!p.is_empty() && p.len() <= 18 && p.bytes().all(|b| b.is_ascii_digit()))
                .then(|| p.parse().ok())
                .flatten()
        })
        .collect()
}

/// The numbers a version starts with: `6.8.0-88-generic` → `[6, 8, 0, 88]`.
pub(crate) fn leading_numbers(version: &str) -> Vec<u64> {
    version
        .split(['.', '-'])
        .map_while(|p| {
            (!p.is_empty() && p.len() <= 18 && p.bytes().all(|b| b.is_ascii_digit()))
                .then(|| p.parse().ok())
                .flatten()
        })
        .collect()
}

/// Compares dotted numbers, missing trailing numbers counting as 0 (`24.10` = `24.10.0`).
pub(crate) fn compare(a: &[u64], b: &[u64]) -> std::cmp::Ordering {
    let n = a.len().max(b.len());
    (0..n)
        .map(|i| {
            let x = a.get(i).copied().unwrap_or(0);
            let y = b.get(i).copied().unwrap_or(0);
            x.cmp(&y)
        })
        .find(|o| o.is_ne())
        .unwrap_or(std::cmp::Ordering::Equal)
}

/// What a rule says about its pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// The pair is known to work (recorded, never overrides a known-bad rule).
    KnownGood,
    /// The pair is known to break: the gate refuses it.
    KnownBad,
}

/// One side of a rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Side {
    /// The component.
    pub component: Component,
    /// Its constraint.
    pub constraint: Constraint,
    /// The constraint as written.
    pub text: String,
}

/// One rule of the matrix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    /// `K-OFED-1`.
    pub id: String,
    /// Good or bad.
    pub verdict: Verdict,
    /// First side.
    pub a: Side,
    /// Second side (another component).
    pub b: Side,
    /// Why.
    pub reason: String,
    /// Instance types the rule is limited to (empty: all).
    pub instance_types: BTreeSet<String>,
}

/// A validated matrix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Matrix {
    /// Version of the data, bumped on every change.
    pub version: u32,
    /// Rules in file order.
    pub rules: Vec<Rule>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MatrixDoc {
    version: u32,
    rules: Vec<RuleDoc>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleDoc {
    id: String,
    verdict: String,
    a: SideDoc,
    b: SideDoc,
    reason: String,
    #[serde(default)]
    instance_types: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SideDoc {
    component: String,
    version: String,
}

/// The matrix shipped with the crate, validated against `known_instance_types`.
pub fn default_matrix<S: AsRef<str>>(known_instance_types: &[S]) -> Result<Matrix, ImageError> {
    parse_matrix(DEFAULT_MATRIX_YAML, known_instance_types)
}

/// Parses and validates a matrix document; every problem is reported, each naming its path
/// (`matrix.rules[2].a.version`).
pub fn parse_matrix<S: AsRef<str>>(
    yaml: &str,
    known_instance_types: &[S],
) -> Result<Matrix, ImageError> {
    check_size("matrix", yaml.len(), MAX_MATRIX_BYTES)?;
    let doc: MatrixDoc =
        serde_norway::from_str(yaml).map_err(|e| parse_error("matrix", &e.to_string()))?;
    let mut errors = Errors::new();
    if doc.version == 0 {
        errors.push("matrix.version", "must be at least 1");
    }
    if doc.rules.len() > MAX_RULES {
        errors.push(
            "matrix.rules",
            format!(
                "must hold at most {MAX_RULES} rules (has {})",
                doc.rules.len()
            ),
        );
        return Err(errors.into_error());
    }
    let mut ids = BTreeSet::new();
    let mut rules = Vec::with_capacity(doc.rules.len());
    for (i, r) in doc.rules.into_iter().enumerate() {
        let at = format!("matrix.rules[{i}]");
        let id_ok = !r.id.is_empty()
            && r.id.len() <= MAX_RULE_ID_CHARS
            && r.id.bytes().next().is_some_and(|b| b.is_ascii_uppercase())
            && r.id
                .bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'-');
        if !id_ok {
            errors.push(
                format!("{at}.id"),
                format!(
                    "{} must be 1–{MAX_RULE_ID_CHARS} uppercase letters, digits and '-', starting with a letter",
                    quote(&r.id)
                ),
            );
        } else if !ids.insert(r.id.clone()) {
            errors.push(
                format!("{at}.id"),
                format!("{} is used twice", quote(&r.id)),
            );
        }
        let verdict = match r.verdict.as_str() {
            "known_bad" => Some(Verdict::KnownBad),
            "known_good" => Some(Verdict::KnownGood),
            other => {
                errors.push(
                    format!("{at}.verdict"),
                    format!("{} must be known_bad or known_good", quote(other)),
                );
                None
            }
        };
        let same = Component::parse(&r.a.component).is_some() && r.a.component == r.b.component;
        let a = side(&mut errors, &format!("{at}.a"), r.a);
        let b = side(&mut errors, &format!("{at}.b"), r.b);
        if same {
            errors.push(
                format!("{at}.b.component"),
                "must name another component than a",
            );
        }
        reason(&mut errors, &format!("{at}.reason"), &r.reason);
        let types = rule_instance_types(&mut errors, &at, r.instance_types, known_instance_types);
        if let (Some(verdict), Some(a), Some(b)) = (verdict, a, b) {
            rules.push(Rule {
                id: r.id,
                verdict,
                a,
                b,
                reason: r.reason,
                instance_types: types,
            });
        }
    }
    errors.into_result(Matrix {
        version: doc.version,
        rules,
    })
}

fn side(errors: &mut Errors, at: &str, doc: SideDoc) -> Option<Side> {
    let component = Component::parse(&doc.component);
    if component.is_none() {
        let all: Vec<&str> = Component::ALL.iter().map(|c| c.key()).collect();
        errors.push(
            format!("{at}.component"),
            format!(
                "{} must be one of {}",
                quote(&doc.component),
                all.join(", ")
            ),
        );
    }
    let constraint = errors.check(&format!("{at}.version"), Constraint::parse(&doc.version));
    Some(Side {
        component: component?,
        constraint: constraint?,
        text: doc.version,
    })
}

fn reason(errors: &mut Errors, field: &str, reason: &str) {
    if reason.trim().is_empty() {
        errors.push(field, "is required");
    } else if reason.len() > MAX_REASON_CHARS {
        errors.push(
            field,
            format!(
                "must be at most {MAX_REASON_CHARS} bytes (has {})",
                reason.len()
            ),
        );
    } else if let Err(message) = plain_text(reason) {
        errors.push(field, message);
    }
}

fn rule_instance_types<S: AsRef<str>>(
    errors: &mut Errors,
    at: &str,
    types: Vec<String>,
    known: &[S],
) -> BTreeSet<String> {
    let field = format!("{at}.instance_types");
    if types.len() > MAX_RULE_INSTANCE_TYPES {
        errors.push(
            field,
            format!(
                "must list at most {MAX_RULE_INSTANCE_TYPES} (has {})",
                types.len()
            ),
        );
        return BTreeSet::new();
    }
    let mut set = BTreeSet::new();
    for t in types {
        if !known.iter().any(|k| k.as_ref() == t) {
            errors.push(
                field.clone(),
                format!("unknown instance type {}", quote(&t)),
            );
        } else if !set.insert(t.clone()) {
            errors.push(field.clone(), format!("{} is listed twice", quote(&t)));
        }
    }
    set
}

/// Where an image is meant to run; `None` fields mean "not known yet" (see the module docs).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Target<'a> {
    /// The pool's instance type.
    pub instance_type: Option<&'a str>,
    /// The cluster's Kubernetes minor.
    pub kubernetes: Option<KubeVersion>,
}

/// A known-bad pair found in a manifest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conflict {
    /// The rule's id.
    pub rule: String,
    /// First component and its version in the manifest.
    pub a: (Component, String),
    /// Second component and its version in the manifest.
    pub b: (Component, String),
    /// The rule's reason.
    pub reason: String,
    /// The instance type the rule is scoped to, when it is.
    pub instance_type: Option<String>,
}

impl fmt::Display for Conflict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} × {} {}",
            self.a.0,
            echo(&self.a.1),
            self.b.0,
            echo(&self.b.1)
        )?;
        if let Some(t) = &self.instance_type {
            write!(f, " on {}", echo(t))?;
        }
        write!(f, ": {} (rule {})", self.reason, self.rule)
    }
}

/// Why the gate refused a manifest (FAILED_PRECONDITION).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GateRefusal {
    /// Known-bad pairs.
    #[error("{}", render_conflicts(.conflicts, *.omitted))]
    Conflicts {
        /// The first [`MAX_REPORTED_CONFLICTS`] conflicts.
        conflicts: Vec<Conflict>,
        /// Conflicts beyond those.
        omitted: usize,
    },
    /// The image is not qualified for the target's instance type.
    #[error("the image is not qualified for instance type {}", quote(.0))]
    NotQualified(String),
    /// The image carries no kubelet for the target's Kubernetes minor.
    #[error("the image carries no kubelet for Kubernetes {0}")]
    KubernetesNotServed(KubeVersion),
}

fn render_conflicts(conflicts: &[Conflict], omitted: usize) -> String {
    let mut out = conflicts
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ");
    if omitted > 0 {
        out.push_str(&format!("; and {omitted} more"));
    }
    out
}

impl From<GateRefusal> for DomainError {
    fn from(refusal: GateRefusal) -> Self {
        DomainError::FailedPrecondition(refusal.to_string())
    }
}

/// Refuses `manifest` for `target` when the matrix knows a pair in it to be broken, or when the
/// image does not serve the target's instance type or Kubernetes minor.
pub fn check(manifest: &Manifest, target: &Target<'_>, matrix: &Matrix) -> Result<(), GateRefusal> {
    if let Some(t) = target.instance_type
        && !manifest.instance_types.contains(t)
    {
        return Err(GateRefusal::NotQualified(t.to_owned()));
    }
    if let Some(minor) = target.kubernetes
        && !manifest.kubelet.contains_key(&minor.to_string())
    {
        return Err(GateRefusal::KubernetesNotServed(minor));
    }
    let mut conflicts = Vec::new();
    let mut omitted = 0;
    for rule in matrix
        .rules
        .iter()
        .filter(|r| r.verdict == Verdict::KnownBad)
    {
        if let Some(conflict) = matching(rule, manifest, target) {
            if conflicts.len() < MAX_REPORTED_CONFLICTS {
                conflicts.push(conflict);
            } else {
                omitted += 1;
            }
        }
    }
    if conflicts.is_empty() {
        Ok(())
    } else {
        Err(GateRefusal::Conflicts { conflicts, omitted })
    }
}

/// The known-good rules that apply to `manifest` at `target` (what the build report lists as
/// tested combinations).
pub fn known_good<'m>(
    manifest: &Manifest,
    target: &Target<'_>,
    matrix: &'m Matrix,
) -> Vec<&'m Rule> {
    matrix
        .rules
        .iter()
        .filter(|r| r.verdict == Verdict::KnownGood && matching(r, manifest, target).is_some())
        .collect()
}

fn matching(rule: &Rule, manifest: &Manifest, target: &Target<'_>) -> Option<Conflict> {
    let instance_type = if rule.instance_types.is_empty() {
        None
    } else {
        let t = target.instance_type?;
        if !rule.instance_types.contains(t) {
            return None;
        }
        Some(t.to_owned())
    };
    let found = |side: &Side| {
        side.component
            .versions(manifest, target.kubernetes)
            .into_iter()
            .find(|v| side.constraint.matches(v))
            .map(|v| (side.component, v.to_owned()))
    };
    Some(Conflict {
        rule: rule.id.clone(),
        a: found(&rule.a)?,
        b: found(&rule.b)?,
        reason: rule.reason.clone(),
        instance_type,
    })
}

impl From<GateRefusal> for ImageError {
    fn from(refusal: GateRefusal) -> Self {
        ImageError::precondition("manifest", refusal.to_string())
    }
}
