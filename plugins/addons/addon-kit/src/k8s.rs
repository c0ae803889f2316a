//! Kubernetes object builders (as JSON values) with Accord's labelling conventions.
//!
//! API versions are the GA ones served by Kubernetes 1.30–1.33: `v1`, `apps/v1`, `batch/v1`,
//! `rbac.authorization.k8s.io/v1`, `storage.k8s.io/v1`. Every object carries the recommended
//! `app.kubernetes.io/*` labels plus [`ADDON_LABEL`]; selectors use only the labels that never
//! change across versions (name and component), because a workload's selector is immutable.
//!
//! Invariant: namespaced builders always set `metadata.namespace`; cluster-scoped ones never do.

use serde_json::{Map, Value, json};

/// Label every Accord node carries with its node pool's name (set by the provisioner).
pub const POOL_LABEL: &str = "accord.dev/pool";

/// Label naming the Accord add-on an object belongs to.
pub const ADDON_LABEL: &str = "accord.dev/addon";

/// Registry path of the images the provider builds itself (autoscaler build, rotator, agent).
pub const PROVIDER_REGISTRY: &str = "registry.accord.dev/addons";

/// The taint GPU pools conventionally carry (`nvidia.com/gpu=present:NoSchedule`).
pub const GPU_TAINT_KEY: &str = "nvidia.com/gpu";

/// Kinds that are not namespaced (among those add-ons render).
const CLUSTER_SCOPED: &[&str] = &[
    "Namespace",
    "ClusterRole",
    "ClusterRoleBinding",
    "StorageClass",
    "CSIDriver",
    "PriorityClass",
    "CustomResourceDefinition",
    "NicClusterPolicy",
];

/// Whether objects of `kind` are cluster-scoped.
pub fn is_cluster_scoped(kind: &str) -> bool {
    CLUSTER_SCOPED.contains(&kind)
}

/// Labelling for one add-on release.
#[derive(Debug, Clone, Copy)]
pub struct Labels<'a> {
    /// Add-on name, e.g. `watch-agent`.
    pub addon: &'a str,
    /// Add-on version being rendered.
    pub version: &'a str,
}

impl Labels<'_> {
    /// All labels of an object of `component`.
    pub fn of(&self, component: &str) -> Value {
        json!({
            "app.kubernetes.io/name": self.addon,
            "app.kubernetes.io/component": component,
            "app.kubernetes.io/version": self.version,
            "app.kubernetes.io/part-of": "accord",
            "app.kubernetes.io/managed-by": "accord-addon-manager",
            ADDON_LABEL: self.addon,
        })
    }

    /// The immutable selector labels of `component`.
    pub fn selector(&self, component: &str) -> Value {
        json!({
            "app.kubernetes.io/name": self.addon,
            "app.kubernetes.io/component": component,
        })
    }
}

/// `apiVersion`, `kind` and `metadata` of an object.
pub fn object(
    api_version: &str,
    kind: &str,
    name: &str,
    namespace: Option<&str>,
    labels: &Value,
) -> Map<String, Value> {
    let mut metadata = Map::new();
    metadata.insert("name".into(), json!(name));
    if let Some(ns) = namespace {
        metadata.insert("namespace".into(), json!(ns));
    }
    metadata.insert("labels".into(), labels.clone());
    let mut obj = Map::new();
    obj.insert("apiVersion".into(), json!(api_version));
    obj.insert("kind".into(), json!(kind));
    obj.insert("metadata".into(), Value::Object(metadata));
    obj
}

/// `obj` with `key` set.
fn with(mut obj: Map<String, Value>, key: &str, value: Value) -> Value {
    obj.insert(key.into(), value);
    Value::Object(obj)
}

/// A Namespace; `privileged` sets the Pod Security level for node agents that need host access.
pub fn namespace(name: &str, labels: &Value, privileged: bool) -> Value {
    let mut labels = labels.clone();
    if let Some(map) = labels.as_object_mut() {
        let level = if privileged {
            "privileged"
        } else {
            "restricted"
        };
        map.insert("pod-security.kubernetes.io/enforce".into(), json!(level));
        map.insert("pod-security.kubernetes.io/warn".into(), json!(level));
    }
    Value::Object(object("v1", "Namespace", name, None, &labels))
}

/// A ServiceAccount.
pub fn service_account(namespace: &str, name: &str, labels: &Value) -> Value {
    Value::Object(object(
        "v1",
        "ServiceAccount",
        name,
        Some(namespace),
        labels,
    ))
}

/// A policy rule.
pub fn rule(groups: &[&str], resources: &[&str], verbs: &[&str]) -> Value {
    json!({"apiGroups": groups, "resources": resources, "verbs": verbs})
}

/// A policy rule restricted to named objects.
pub fn rule_for_names(
    groups: &[&str],
    resources: &[&str],
    names: &[&str],
    verbs: &[&str],
) -> Value {
    json!({"apiGroups": groups, "resources": resources, "resourceNames": names, "verbs": verbs})
}

/// A ClusterRole.
pub fn cluster_role(name: &str, labels: &Value, rules: Vec<Value>) -> Value {
    with(
        object(
            "rbac.authorization.k8s.io/v1",
            "ClusterRole",
            name,
            None,
            labels,
        ),
        "rules",
        Value::Array(rules),
    )
}

/// A Role.
pub fn role(namespace: &str, name: &str, labels: &Value, rules: Vec<Value>) -> Value {
    with(
        object(
            "rbac.authorization.k8s.io/v1",
            "Role",
            name,
            Some(namespace),
            labels,
        ),
        "rules",
        Value::Array(rules),
    )
}

fn subjects(sa_namespace: &str, sa: &str) -> Value {
    json!([{"kind": "ServiceAccount", "name": sa, "namespace": sa_namespace}])
}

/// A ClusterRoleBinding of `role` to a ServiceAccount.
pub fn cluster_role_binding(
    name: &str,
    labels: &Value,
    role: &str,
    sa_namespace: &str,
    sa: &str,
) -> Value {
    let mut obj = object(
        "rbac.authorization.k8s.io/v1",
        "ClusterRoleBinding",
        name,
        None,
        labels,
    );
    obj.insert(
        "roleRef".into(),
        json!({"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role}),
    );
    with(obj, "subjects", subjects(sa_namespace, sa))
}

/// A RoleBinding (in `namespace`) of the Role `role` to a ServiceAccount.
pub fn role_binding(
    namespace: &str,
    name: &str,
    labels: &Value,
    role: &str,
    sa_namespace: &str,
    sa: &str,
) -> Value {
    let mut obj = object(
        "rbac.authorization.k8s.io/v1",
        "RoleBinding",
        name,
        Some(namespace),
        labels,
    );
    obj.insert(
        "roleRef".into(),
        json!({"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": role}),
    );
    with(obj, "subjects", subjects(sa_namespace, sa))
}

/// A ConfigMap.
pub fn config_map(namespace: &str, name: &str, labels: &Value, data: &[(&str, String)]) -> Value {
    let data: Map<String, Value> = data
        .iter()
        .map(|(k, v)| ((*k).to_owned(), json!(v)))
        .collect();
    with(
        object("v1", "ConfigMap", name, Some(namespace), labels),
        "data",
        Value::Object(data),
    )
}

/// A pod template with `labels` (which must include the selector's).
fn template(labels: &Value, pod_spec: Value) -> Value {
    json!({"metadata": {"labels": labels}, "spec": pod_spec})
}

/// A Deployment.
pub fn deployment(
    namespace: &str,
    name: &str,
    labels: &Value,
    selector: &Value,
    replicas: u64,
    pod_spec: Value,
) -> Value {
    with(
        object("apps/v1", "Deployment", name, Some(namespace), labels),
        "spec",
        json!({
            "replicas": replicas,
            "selector": {"matchLabels": selector},
            "template": template(labels, pod_spec),
        }),
    )
}

/// A DaemonSet rolling `max_unavailable` nodes at a time.
pub fn daemon_set(
    namespace: &str,
    name: &str,
    labels: &Value,
    selector: &Value,
    max_unavailable: Value,
    pod_spec: Value,
) -> Value {
    with(
        object("apps/v1", "DaemonSet", name, Some(namespace), labels),
        "spec",
        json!({
            "selector": {"matchLabels": selector},
            "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": max_unavailable}},
            "template": template(labels, pod_spec),
        }),
    )
}

/// A CronJob that never runs two jobs at once.
pub fn cron_job(
    namespace: &str,
    name: &str,
    labels: &Value,
    schedule: &str,
    suspend: bool,
    job_spec: Value,
) -> Value {
    with(
        object("batch/v1", "CronJob", name, Some(namespace), labels),
        "spec",
        json!({
            "schedule": schedule,
            "timeZone": "Etc/UTC",
            "suspend": suspend,
            "concurrencyPolicy": "Forbid",
            "startingDeadlineSeconds": 300,
            "successfulJobsHistoryLimit": 3,
            "failedJobsHistoryLimit": 3,
            "jobTemplate": {"metadata": {"labels": labels}, "spec": job_spec},
        }),
    )
}

/// Settings of a StorageClass.
#[derive(Debug, Clone)]
pub struct StorageClassSpec<'a> {
    /// CSI driver name.
    pub provisioner: &'a str,
    /// Driver parameters.
    pub parameters: Value,
    /// `Delete` or `Retain`.
    pub reclaim_policy: &'a str,
    /// `WaitForFirstConsumer` or `Immediate`.
    pub binding_mode: &'a str,
    /// Whether PVCs may grow.
    pub allow_expansion: bool,
    /// Whether this is the cluster's default class.
    pub default_class: bool,
    /// Mount options.
    pub mount_options: Vec<String>,
}

/// A StorageClass.
pub fn storage_class(name: &str, labels: &Value, spec: &StorageClassSpec<'_>) -> Value {
    let mut obj = object("storage.k8s.io/v1", "StorageClass", name, None, labels);
    if let Some(Value::Object(metadata)) = obj.get_mut("metadata") {
        metadata.insert(
            "annotations".into(),
            json!({"storageclass.kubernetes.io/is-default-class": spec.default_class.to_string()}),
        );
    }
    obj.insert("provisioner".into(), json!(spec.provisioner));
    obj.insert("parameters".into(), spec.parameters.clone());
    obj.insert("reclaimPolicy".into(), json!(spec.reclaim_policy));
    obj.insert("volumeBindingMode".into(), json!(spec.binding_mode));
    obj.insert("allowVolumeExpansion".into(), json!(spec.allow_expansion));
    if !spec.mount_options.is_empty() {
        obj.insert("mountOptions".into(), json!(spec.mount_options));
    }
    Value::Object(obj)
}

/// Node affinity requiring one of `pools` (by [`POOL_LABEL`]).
pub fn required_pools(pools: &[&str]) -> Value {
    json!({
        "nodeAffinity": {
            "requiredDuringSchedulingIgnoredDuringExecution": {
                "nodeSelectorTerms": [{
                    "matchExpressions": [{"key": POOL_LABEL, "operator": "In", "values": pools}]
                }]
            }
        }
    })
}

/// Node affinity preferring `pools` (by [`POOL_LABEL`]); `None` when there are none to prefer.
pub fn preferred_pools(pools: &[&str]) -> Option<Value> {
    if pools.is_empty() {
        return None;
    }
    Some(json!({
        "nodeAffinity": {
            "preferredDuringSchedulingIgnoredDuringExecution": [{
                "weight": 100,
                "preference": {
                    "matchExpressions": [{"key": POOL_LABEL, "operator": "In", "values": pools}]
                }
            }]
        }
    }))
}

/// A hardened container security context for controllers (non-root, read-only root, no caps).
pub fn restricted_security_context() -> Value {
    json!({
        "allowPrivilegeEscalation": false,
        "readOnlyRootFilesystem": true,
        "runAsNonRoot": true,
        "capabilities": {"drop": ["ALL"]},
        "seccompProfile": {"type": "RuntimeDefault"},
    })
}

/// `repository/name:tag`.
pub fn image(repository: &str, name: &str, tag: &str) -> String {
    format!("{repository}/{name}:{tag}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn namespaced_builders_set_the_namespace() {
        let labels = Labels {
            addon: "x",
            version: "1.0.0",
        };
        let l = labels.of("c");
        let docs = [
            service_account("ns", "sa", &l),
            role("ns", "r", &l, vec![]),
            role_binding("ns", "rb", &l, "r", "ns", "sa"),
            config_map("ns", "cm", &l, &[("k", "v".into())]),
            deployment("ns", "d", &l, &labels.selector("c"), 1, json!({})),
        ];
        for d in docs {
            assert_eq!(d["metadata"]["namespace"], "ns", "{d}");
        }
        let ns = namespace("ns", &l, true);
        assert!(ns["metadata"].get("namespace").is_none());
        assert_eq!(
            ns["metadata"]["labels"]["pod-security.kubernetes.io/enforce"],
            "privileged"
        );
    }

    #[test]
    fn selectors_are_a_subset_of_labels() {
        let labels = Labels {
            addon: "x",
            version: "1.0.0",
        };
        let all = labels.of("c");
        for (k, v) in labels.selector("c").as_object().unwrap() {
            assert_eq!(&all[k], v);
        }
    }
}
