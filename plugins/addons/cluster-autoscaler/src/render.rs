//! Rendering: RBAC, cloud config, and the Deployment with per-pool bounds.
//!
//! The RBAC follows upstream's example manifests (nodes, pods, evictions, PDBs, storage and DRA
//! objects to simulate scheduling; its status ConfigMap and leader-election lease in
//! `kube-system`). The release's minor must match the cluster's Kubernetes minor. The cloud
//! config names the Accord API the host passed (`platform.apiEndpoint`, see `settings`); with
//! none, rendering fails rather than guess a URL.

use addon_kit::k8s::{self, Labels, rule, rule_for_names};
use addon_kit::yaml;
use addon_kit::{Cluster, Config, Rendered};
use serde_json::{Value, json};

use crate::{releases, settings};

/// Namespace the autoscaler runs in.
pub const NAMESPACE: &str = "kube-system";

/// Name of the ServiceAccount, roles, ConfigMap and Deployment.
pub const APP: &str = "cluster-autoscaler";

/// `--nodes` arguments, one per autoscaled pool, in pool order.
pub fn node_group_args(cluster: &Cluster) -> Vec<String> {
    cluster
        .pools
        .iter()
        .filter_map(|p| {
            p.autoscaling()
                .map(|(min, max)| format!("--nodes={min}:{max}:{}", p.name))
        })
        .collect()
}

fn check_minor(cluster: &Cluster, version: &str) -> Result<(), String> {
    let cluster_minor = cluster.kube_minor()?;
    let autoscaler_minor = addon_kit::versions::major_minor(version)
        .ok_or_else(|| format!("unreadable version {version}"))?;
    if cluster_minor == autoscaler_minor {
        Ok(())
    } else {
        let matching = releases::RELEASES
            .iter()
            .find(|r| addon_kit::versions::major_minor(r) == Some(cluster_minor))
            .map_or_else(|| "none in the catalogue".to_owned(), |r| (*r).to_owned());
        Err(format!(
            "cluster-autoscaler {version} is for Kubernetes {}.{}; the cluster runs {}.{} (use {matching})",
            autoscaler_minor.0, autoscaler_minor.1, cluster_minor.0, cluster_minor.1
        ))
    }
}

/// Renders `version` for `cluster`.
pub fn render(cluster: &Cluster, version: &str, config: &Config) -> Result<Rendered, String> {
    let version = releases::find(version)?;
    check_minor(cluster, version)?;
    let api = config.str(settings::API_ENDPOINT)?;
    if api.is_empty() {
        return Err(format!(
            "{} is not set: the addon-manager passes the Accord API endpoint (its api_endpoint setting)",
            settings::API_ENDPOINT
        ));
    }
    let labels = Labels {
        addon: crate::NAME,
        version,
    };
    let l = labels.of("autoscaler");
    let mut notes = Vec::new();
    let groups = node_group_args(cluster);
    if groups.is_empty() {
        notes.push(
            "no node pool has autoscaling bounds: the autoscaler has nothing to scale".to_owned(),
        );
    }

    let cluster_role = k8s::cluster_role(
        APP,
        &l,
        vec![
            rule(&[""], &["events", "endpoints"], &["create", "patch"]),
            rule(&[""], &["pods/eviction"], &["create"]),
            rule(&[""], &["pods/status"], &["update"]),
            rule_for_names(&[""], &["endpoints"], &[APP], &["get", "update"]),
            rule(&[""], &["nodes"], &["watch", "list", "get", "update"]),
            rule(
                &[""],
                &[
                    "namespaces",
                    "pods",
                    "services",
                    "replicationcontrollers",
                    "persistentvolumeclaims",
                    "persistentvolumes",
                ],
                &["watch", "list", "get"],
            ),
            rule(
                &["apps"],
                &["daemonsets", "replicasets", "statefulsets"],
                &["watch", "list", "get"],
            ),
            rule(&["batch"], &["jobs", "cronjobs"], &["watch", "list", "get"]),
            rule(&["policy"], &["poddisruptionbudgets"], &["watch", "list"]),
            rule(
                &["storage.k8s.io"],
                &[
                    "storageclasses",
                    "csinodes",
                    "csidrivers",
                    "csistoragecapacities",
                    "volumeattachments",
                ],
                &["watch", "list", "get"],
            ),
            rule(
                &["resource.k8s.io"],
                &["resourceclaims", "resourceslices", "deviceclasses"],
                &["watch", "list", "get"],
            ),
            rule(&["coordination.k8s.io"], &["leases"], &["create"]),
            rule_for_names(
                &["coordination.k8s.io"],
                &["leases"],
                &[APP],
                &["get", "update"],
            ),
        ],
    );
    let role = k8s::role(
        NAMESPACE,
        APP,
        &l,
        vec![
            rule(&[""], &["configmaps"], &["create", "list", "watch"]),
            rule_for_names(
                &[""],
                &["configmaps"],
                &[
                    "cluster-autoscaler-status",
                    "cluster-autoscaler-priority-expander",
                ],
                &["delete", "get", "update", "watch"],
            ),
        ],
    );
    let cloud_config = format!(
        "api: {api}\nproject: {}\ncluster: {}\nregion: {}\n",
        cluster.project, cluster.id, cluster.region
    );
    let config_map = k8s::config_map(
        NAMESPACE,
        "cluster-autoscaler-cloud-config",
        &l,
        &[("cloud-config.yaml", cloud_config)],
    );
    let deployment = deployment(cluster, version, config, &labels, groups)?;

    Ok(Rendered {
        manifests: vec![
            yaml::kubernetes(
                "10-rbac.yaml",
                &[
                    k8s::service_account(NAMESPACE, APP, &l),
                    cluster_role,
                    k8s::cluster_role_binding(APP, &l, APP, NAMESPACE, APP),
                    role,
                    k8s::role_binding(NAMESPACE, APP, &l, APP, NAMESPACE, APP),
                ],
            )?,
            yaml::kubernetes("20-cloud-config.yaml", &[config_map])?,
            yaml::kubernetes("30-deployment.yaml", &[deployment])?,
        ],
        notes,
    })
}

fn flag(name: &str, value: impl std::fmt::Display) -> String {
    format!("--{name}={value}")
}

fn deployment(
    cluster: &Cluster,
    version: &str,
    config: &Config,
    labels: &Labels<'_>,
    groups: Vec<String>,
) -> Result<Value, String> {
    let mut args = vec![
        "./cluster-autoscaler".to_owned(),
        flag("cloud-provider", "accord"),
        flag("cloud-config", "/etc/accord/cloud-config.yaml"),
        flag("cluster-name", &cluster.name),
    ];
    args.extend(groups);
    args.extend([
        flag("expander", config.str("expander")?),
        flag(
            "balance-similar-node-groups",
            config.bool("balanceSimilarNodeGroups")?,
        ),
        flag(
            "skip-nodes-with-local-storage",
            config.bool("skipNodesWithLocalStorage")?,
        ),
        flag(
            "skip-nodes-with-system-pods",
            config.bool("skipNodesWithSystemPods")?,
        ),
        flag(
            "max-node-provision-time",
            config.str("maxNodeProvisionTime")?,
        ),
        flag("scale-down-enabled", config.bool("scaleDown.enabled")?),
        flag(
            "scale-down-delay-after-add",
            config.str("scaleDown.delayAfterAdd")?,
        ),
        flag(
            "scale-down-unneeded-time",
            config.str("scaleDown.unneededTime")?,
        ),
        flag(
            "scale-down-utilization-threshold",
            config.f64("scaleDown.utilizationThreshold")?,
        ),
        flag(
            "scale-down-gpu-utilization-threshold",
            config.f64("scaleDown.gpuUtilizationThreshold")?,
        ),
        flag("leader-elect", true),
        flag("logtostderr", true),
        flag("stderrthreshold", "info"),
        flag("v", config.u64("logLevel")?),
    ]);
    let cpu_pools: Vec<&str> = cluster.cpu_pools().map(|p| p.name.as_str()).collect();
    let mut pod = json!({
        "serviceAccountName": APP,
        "priorityClassName": "system-cluster-critical",
        "securityContext": {"runAsNonRoot": true, "runAsUser": 65532, "runAsGroup": 65532, "fsGroup": 65532},
        "containers": [{
            "name": APP,
            "image": k8s::image(config.str("image.repository")?, APP, &format!("v{version}")),
            "imagePullPolicy": "IfNotPresent",
            "command": args,
            "env": [{
                "name": "ACCORD_API_KEY",
                "valueFrom": {"secretKeyRef": {"name": config.str("credentialsSecret")?, "key": "api-key"}}
            }],
            "ports": [{"name": "metrics", "containerPort": 8085, "protocol": "TCP"}],
            "livenessProbe": {"httpGet": {"path": "/health-check", "port": "metrics"}, "periodSeconds": 30},
            "resources": {
                "requests": {"cpu": "100m", "memory": "600Mi"},
                "limits": {"memory": "1Gi"}
            },
            "securityContext": k8s::restricted_security_context(),
            "volumeMounts": [{"name": "cloud-config", "mountPath": "/etc/accord", "readOnly": true}]
        }],
        "volumes": [{"name": "cloud-config", "configMap": {"name": "cluster-autoscaler-cloud-config"}}]
    });
    if let (Some(map), Some(affinity)) = (pod.as_object_mut(), k8s::preferred_pools(&cpu_pools)) {
        map.insert("affinity".into(), affinity);
    }
    let mut deployment = k8s::deployment(
        NAMESPACE,
        APP,
        &labels.of("autoscaler"),
        &labels.selector("autoscaler"),
        config.u64("replicas")?,
        pod,
    );
    // The autoscaler must not evict itself while draining the node it runs on.
    if let Some(Value::Object(template)) = deployment.pointer_mut("/spec/template/metadata") {
        template.insert(
            "annotations".into(),
            json!({"cluster-autoscaler.kubernetes.io/safe-to-evict": "false"}),
        );
    }
    Ok(deployment)
}
