//! Rendering: Namespace, ServiceAccount, least-privilege RBAC and the CronJob.
//!
//! RBAC is as narrow as Kubernetes allows: `create` on Secrets cannot be limited by name, so
//! the rotator may create Secrets in the target namespaces but only read and update the one it
//! manages; it reads exactly one Secret (the customer's API key) in its own namespace.

use addon_kit::k8s::{self, Labels, rule, rule_for_names};
use addon_kit::yaml;
use addon_kit::{Cluster, Config, Rendered};
use serde_json::{Value, json};

use crate::releases;
use crate::settings::registry;

/// Namespace the CronJob runs in.
pub const NAMESPACE: &str = "accord-registry";

/// Name of the ServiceAccount, roles and CronJob.
pub const APP: &str = "registry-token-rotator";

/// Renders `version` for `cluster`.
pub fn render(cluster: &Cluster, version: &str, config: &Config) -> Result<Rendered, String> {
    let version = releases::find(version)?;
    let labels = Labels {
        addon: crate::NAME,
        version,
    };
    let l = labels.of("rotator");
    let secret = config.str("secretName")?;
    let credentials = config.str("credentialsSecret")?;
    let patch_sa = config.bool("patchDefaultServiceAccount")?;
    let namespaces = config.strings("targetNamespaces")?;
    let registry = registry(config, &cluster.region)?;

    let credentials_role = format!("{APP}-credentials");
    let mut rbac = vec![
        k8s::service_account(NAMESPACE, APP, &l),
        k8s::role(
            NAMESPACE,
            &credentials_role,
            &l,
            vec![rule_for_names(
                &[""],
                &["secrets"],
                &[credentials],
                &["get"],
            )],
        ),
        k8s::role_binding(
            NAMESPACE,
            &credentials_role,
            &l,
            &credentials_role,
            NAMESPACE,
            APP,
        ),
    ];
    for ns in &namespaces {
        let mut rules = vec![
            rule(&[""], &["secrets"], &["create"]),
            rule_for_names(&[""], &["secrets"], &[secret], &["get", "update", "patch"]),
        ];
        if patch_sa {
            rules.push(rule_for_names(
                &[""],
                &["serviceaccounts"],
                &["default"],
                &["get", "patch"],
            ));
        }
        rbac.push(k8s::role(ns, APP, &l, rules));
        rbac.push(k8s::role_binding(ns, APP, &l, APP, NAMESPACE, APP));
    }

    let args = [
        format!("--registry={registry}"),
        format!("--secret-name={secret}"),
        format!("--namespaces={}", namespaces.join(",")),
        format!("--patch-default-service-account={patch_sa}"),
        format!("--cluster={}", cluster.id),
    ];
    let job = json!({
        "backoffLimit": 2,
        "activeDeadlineSeconds": 300,
        "ttlSecondsAfterFinished": 86400,
        "template": {
            "metadata": {"labels": l},
            "spec": pod_spec(config, version, &args, credentials)?,
        }
    });
    let cron = k8s::cron_job(
        NAMESPACE,
        APP,
        &l,
        config.str("schedule")?,
        config.bool("suspend")?,
        job,
    );
    Ok(Rendered {
        manifests: vec![
            yaml::kubernetes(
                "00-namespace.yaml",
                &[k8s::namespace(NAMESPACE, &labels.of("namespace"), false)],
            )?,
            yaml::kubernetes("10-rbac.yaml", &rbac)?,
            yaml::kubernetes("20-cronjob.yaml", &[cron])?,
        ],
        notes: vec![format!(
            "create Secret {NAMESPACE}/{credentials} (key api-key) with an API key allowed to pull from {registry}"
        )],
    })
}

fn pod_spec(
    config: &Config,
    version: &str,
    args: &[String],
    credentials: &str,
) -> Result<Value, String> {
    Ok(json!({
        "serviceAccountName": APP,
        "restartPolicy": "OnFailure",
        "securityContext": {"runAsNonRoot": true, "runAsUser": 65532, "runAsGroup": 65532},
        "containers": [{
            "name": APP,
            "image": k8s::image(config.str("image.repository")?, APP, &format!("v{version}")),
            "imagePullPolicy": "IfNotPresent",
            "args": args,
            "env": [{
                "name": "ACCORD_API_KEY",
                "valueFrom": {"secretKeyRef": {"name": credentials, "key": "api-key"}}
            }],
            "resources": {
                "requests": {"cpu": "10m", "memory": "32Mi"},
                "limits": {"memory": "64Mi"}
            },
            "securityContext": k8s::restricted_security_context(),
        }]
    }))
}
