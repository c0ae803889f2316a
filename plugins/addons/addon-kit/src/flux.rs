//! Helm charts as Flux objects: a `HelmRepository` (`source.toolkit.fluxcd.io/v1`) and a
//! `HelmRelease` (`helm.toolkit.fluxcd.io/v2`) carrying the chart, its repository, version and
//! values — Kubernetes objects that `kubectl apply`, Flux or Argo CD deploy like any other.
//!
//! Why Flux rather than an Argo CD `Application`: a `HelmRelease` is a namespaced object that
//! lives next to the workload it installs and carries the values as a plain YAML object
//! (`spec.values`), so a customer reads and diffs them like any other manifest; an Argo CD
//! `Application` lives in Argo CD's own namespace, embeds the values as a string (or a second
//! copy under `valuesObject`) and only works when Argo CD is the deployer. A cluster with Flux's
//! source- and helm-controllers installed reconciles these objects whether they were applied by
//! `kubectl`, by Flux itself or synced by Argo CD.
//!
//! Shape (checked offline against the upstream CRD schemas vendored in `deploy/crds/flux/`):
//! - both objects are named after the Helm release and live in the release's namespace (no
//!   cross-namespace references, which clusters may forbid with `--no-cross-namespace-refs`);
//!   the release installs there, so no `targetNamespace` and no `install.createNamespace` — an
//!   add-on that needs its own namespace renders it as a plain `Namespace` (with its Pod
//!   Security labels) ahead of these objects;
//! - an `oci://` repository gets `type: oci`;
//! - CRDs in the chart's `crds/` directory are created on install and replaced on upgrade
//!   (`CreateReplace`; Helm alone never upgrades them), and a failed install or upgrade is
//!   retried by the helm-controller ([`REMEDIATION_RETRIES`]).
//!
//! Deploying: the Flux CRDs and source- and helm-controllers must already run on the cluster.
//! A chart the controllers themselves depend on cannot be reconciled by them first: Cilium is
//! the CNI, so on a new cluster its `HelmRelease` only reconciles when the controllers run with
//! `hostNetwork` (and reach the API server without a kube-proxy), or after the cluster
//! bootstrap installed release `kube-system/cilium` with the same values — a provider bootstrap
//! concern, not something these objects can express. Custom resources whose CRD a chart
//! installs (the Network Operator's `NicClusterPolicy`) are applied after the `HelmRelease` is
//! Ready (see that add-on's render docs).
//!
//! Invariant: the values are exactly what the add-on computed; nothing is added here.

use serde_json::{Value, json};

use crate::k8s;
use crate::model::Manifest;
use crate::yaml;

/// API version of `HelmRepository`.
pub const SOURCE_API_VERSION: &str = "source.toolkit.fluxcd.io/v1";

/// API version of `HelmRelease`.
pub const HELM_API_VERSION: &str = "helm.toolkit.fluxcd.io/v2";

/// How often the helm-controller reconciles a release: it re-applies the chart when the
/// object, its values or the chart changed. In-cluster edits to the installed objects are not
/// reverted (`spec.driftDetection` is left at its default, `disabled`).
pub const RELEASE_INTERVAL: &str = "30m";

/// How often the source-controller refreshes a repository's index.
pub const REPOSITORY_INTERVAL: &str = "1h";

/// Install and upgrade attempts retried after a failure.
pub const REMEDIATION_RETRIES: u64 = 3;

/// A Helm chart and where it is installed.
#[derive(Debug, Clone, Copy)]
pub struct HelmChart<'a> {
    /// Chart repository URL (`https://…`, or `oci://…` for an OCI registry).
    pub repository: &'a str,
    /// Chart name.
    pub chart: &'a str,
    /// Chart version.
    pub version: &'a str,
    /// Helm release name (also the name of both Flux objects).
    pub release: &'a str,
    /// Namespace of the release and of both Flux objects.
    pub namespace: &'a str,
}

impl HelmChart<'_> {
    /// Whether the repository is an OCI registry.
    pub fn is_oci(&self) -> bool {
        self.repository.starts_with("oci://")
    }
}

/// The `HelmRepository` object of `chart`.
pub fn helm_repository(chart: &HelmChart<'_>, labels: &Value) -> Value {
    let mut spec = json!({"url": chart.repository, "interval": REPOSITORY_INTERVAL});
    if let (true, Some(map)) = (chart.is_oci(), spec.as_object_mut()) {
        map.insert("type".into(), json!("oci"));
    }
    let mut object = k8s::object(
        SOURCE_API_VERSION,
        "HelmRepository",
        chart.release,
        Some(chart.namespace),
        labels,
    );
    object.insert("spec".into(), spec);
    Value::Object(object)
}

/// The `HelmRelease` object of `chart` with `values`.
pub fn helm_release(chart: &HelmChart<'_>, labels: &Value, values: &Value) -> Value {
    let remediation = json!({"retries": REMEDIATION_RETRIES});
    let mut object = k8s::object(
        HELM_API_VERSION,
        "HelmRelease",
        chart.release,
        Some(chart.namespace),
        labels,
    );
    object.insert(
        "spec".into(),
        json!({
            "interval": RELEASE_INTERVAL,
            "releaseName": chart.release,
            "chart": {"spec": {
                "chart": chart.chart,
                "version": chart.version,
                "sourceRef": {"kind": "HelmRepository", "name": chart.release},
            }},
            "install": {"crds": "CreateReplace", "remediation": remediation},
            "upgrade": {"crds": "CreateReplace", "remediation": remediation},
            "values": values,
        }),
    );
    Value::Object(object)
}

/// A `kubernetes` manifest named `name` holding the chart's `HelmRepository` and `HelmRelease`.
pub fn helm_release_manifest(
    name: &str,
    chart: &HelmChart<'_>,
    labels: &Value,
    values: &Value,
) -> Result<Manifest, String> {
    yaml::kubernetes(
        name,
        &[
            helm_repository(chart, labels),
            helm_release(chart, labels, values),
        ],
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Format;

    const CHART: HelmChart<'static> = HelmChart {
        repository: "https://helm.example.org",
        chart: "demo",
        version: "1.2.3",
        release: "demo-release",
        namespace: "demo-ns",
    };

    #[test]
    fn release_carries_chart_version_source_and_values() {
        let values = json!({"a": {"b": [1, 2]}, "c": "true"});
        let release = helm_release(&CHART, &json!({"x": "y"}), &values);
        assert_eq!(release["apiVersion"], HELM_API_VERSION);
        assert_eq!(release["kind"], "HelmRelease");
        assert_eq!(release["metadata"]["name"], "demo-release");
        assert_eq!(release["metadata"]["namespace"], "demo-ns");
        assert_eq!(release["metadata"]["labels"]["x"], "y");
        let spec = &release["spec"];
        assert_eq!(spec["releaseName"], "demo-release");
        assert_eq!(spec["chart"]["spec"]["chart"], "demo");
        assert_eq!(spec["chart"]["spec"]["version"], "1.2.3");
        assert_eq!(
            spec["chart"]["spec"]["sourceRef"],
            json!({"kind": "HelmRepository", "name": "demo-release"})
        );
        assert_eq!(spec["values"], values);
        assert!(spec.get("targetNamespace").is_none());
    }

    #[test]
    fn repository_type_follows_the_url() {
        let https = helm_repository(&CHART, &json!({}));
        assert_eq!(https["apiVersion"], SOURCE_API_VERSION);
        assert_eq!(https["spec"]["url"], "https://helm.example.org");
        assert!(https["spec"].get("type").is_none());
        let oci = HelmChart {
            repository: "oci://registry.example.org/charts",
            ..CHART
        };
        let oci = helm_repository(&oci, &json!({}));
        assert_eq!(oci["spec"]["type"], "oci");
        assert_eq!(oci["metadata"]["namespace"], "demo-ns");
    }

    #[test]
    fn manifest_is_two_kubernetes_documents() {
        let m =
            helm_release_manifest("10-demo.yaml", &CHART, &json!({}), &json!({"k": 1})).unwrap();
        assert_eq!(m.format, Format::Kubernetes);
        assert_eq!(m.content.matches("---\n").count(), 2);
        assert!(m.content.contains("kind: HelmRepository"));
        assert!(m.content.contains("kind: HelmRelease"));
        assert!(!m.content.contains("# helm:"));
    }
}
