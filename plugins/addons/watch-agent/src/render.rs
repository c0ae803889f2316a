//! Rendering: Namespace, RBAC, agent ConfigMap and the DaemonSet.
//!
//! The agent reads the host journal read-only (persistent and volatile locations), keeps its
//! read cursor in a host directory so a restart or upgrade neither loses nor repeats lines,
//! and runs as root with every capability dropped (journal files are root-owned; nothing else
//! is needed). It tolerates every taint: node logs matter most on the unhealthy, tainted nodes.

use addon_kit::k8s::{self, Labels, rule};
use addon_kit::yaml;
use addon_kit::{Cluster, Config, Rendered};
use serde_json::{Value, json};

use crate::releases;

/// Namespace the agent runs in.
pub const NAMESPACE: &str = "accord-watch";

/// Name of the ServiceAccount, roles, ConfigMap and DaemonSet.
pub const APP: &str = "watch-agent";

/// Audience of the projected token the provider's log intake accepts.
pub const INTAKE_AUDIENCE: &str = "logs.accord.dev";

/// Host directory holding the journal cursor.
pub const STATE_DIR: &str = "/var/lib/accord-watch";

/// The provider's log intake for a region (OTLP over HTTP).
pub fn intake(region: &str) -> String {
    format!("https://logs.{region}.accord.internal:4318/v1/logs")
}

/// Renders `version` for `cluster`.
pub fn render(cluster: &Cluster, version: &str, config: &Config) -> Result<Rendered, String> {
    let version = releases::find(version)?;
    let labels = Labels {
        addon: crate::NAME,
        version,
    };
    let l = labels.of("agent");
    let agent_config = yaml::to_yaml(&json!({
        "cluster": {
            "id": cluster.id,
            "name": cluster.name,
            "project": cluster.project,
            "region": cluster.region,
        },
        "sink": {
            "endpoint": intake(&cluster.region),
            "protocol": "otlp-http",
            "tokenFile": "/var/run/secrets/accord/intake/token",
        },
        "sources": {
            "journald": {
                "paths": ["/var/log/journal", "/run/log/journal"],
                "units": config.get("sources.journald.units")?,
            },
            "kernel": config.bool("sources.kernel")?,
        },
        "stateDir": STATE_DIR,
        "logLevel": config.str("logLevel")?,
    }))?;
    let config_map = k8s::config_map(NAMESPACE, APP, &l, &[("agent.yaml", agent_config)]);
    let daemon_set = k8s::daemon_set(
        NAMESPACE,
        APP,
        &l,
        &labels.selector("agent"),
        config.get("maxUnavailable")?.clone(),
        pod_spec(config, version)?,
    );
    Ok(Rendered {
        manifests: vec![
            yaml::kubernetes(
                "00-namespace.yaml",
                &[k8s::namespace(NAMESPACE, &labels.of("namespace"), true)],
            )?,
            yaml::kubernetes(
                "10-rbac.yaml",
                &[
                    k8s::service_account(NAMESPACE, APP, &l),
                    k8s::cluster_role(
                        APP,
                        &l,
                        vec![rule(&[""], &["nodes"], &["get", "list", "watch"])],
                    ),
                    k8s::cluster_role_binding(APP, &l, APP, NAMESPACE, APP),
                ],
            )?,
            yaml::kubernetes("20-configmap.yaml", &[config_map])?,
            yaml::kubernetes("30-daemonset.yaml", &[daemon_set])?,
        ],
        notes: Vec::new(),
    })
}

fn host_path(name: &str, path: &str, kind: &str) -> Value {
    json!({"name": name, "hostPath": {"path": path, "type": kind}})
}

fn pod_spec(config: &Config, version: &str) -> Result<Value, String> {
    Ok(json!({
        "serviceAccountName": APP,
        "priorityClassName": "system-node-critical",
        "tolerations": [{"operator": "Exists"}],
        "terminationGracePeriodSeconds": 30,
        "containers": [{
            "name": APP,
            "image": k8s::image(config.str("image.repository")?, APP, &format!("v{version}")),
            "imagePullPolicy": "IfNotPresent",
            "args": ["--config=/etc/accord-watch/agent.yaml"],
            "env": [{"name": "NODE_NAME", "valueFrom": {"fieldRef": {"fieldPath": "spec.nodeName"}}}],
            "ports": [{"name": "health", "containerPort": 8686, "protocol": "TCP"}],
            "livenessProbe": {"httpGet": {"path": "/healthz", "port": "health"}, "periodSeconds": 30},
            "readinessProbe": {"httpGet": {"path": "/readyz", "port": "health"}, "periodSeconds": 10},
            "resources": config.get("resources")?,
            "securityContext": {
                "runAsUser": 0,
                "runAsNonRoot": false,
                "allowPrivilegeEscalation": false,
                "readOnlyRootFilesystem": true,
                "capabilities": {"drop": ["ALL"]},
                "seccompProfile": {"type": "RuntimeDefault"},
            },
            "volumeMounts": [
                {"name": "config", "mountPath": "/etc/accord-watch", "readOnly": true},
                {"name": "journal-persistent", "mountPath": "/var/log/journal", "readOnly": true},
                {"name": "journal-volatile", "mountPath": "/run/log/journal", "readOnly": true},
                {"name": "machine-id", "mountPath": "/etc/machine-id", "readOnly": true},
                {"name": "state", "mountPath": STATE_DIR},
                {"name": "intake-token", "mountPath": "/var/run/secrets/accord/intake", "readOnly": true},
            ],
        }],
        "volumes": [
            {"name": "config", "configMap": {"name": APP}},
            host_path("journal-persistent", "/var/log/journal", "DirectoryOrCreate"),
            host_path("journal-volatile", "/run/log/journal", "DirectoryOrCreate"),
            host_path("machine-id", "/etc/machine-id", "File"),
            host_path("state", STATE_DIR, "DirectoryOrCreate"),
            {"name": "intake-token", "projected": {"sources": [{"serviceAccountToken": {
                "audience": INTAKE_AUDIENCE, "expirationSeconds": 3600, "path": "token"
            }}]}},
        ],
    }))
}
