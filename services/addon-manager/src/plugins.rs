//! The plugin catalogue's gRPC edge (`accord.addons.v1.Plugins`): a provider pushes a WASM
//! component through here, never straight into the bucket.
//!
//! A push is checked before anything is stored: the component's size, then — on the blocking
//! pool, one check at a time — that it loads in this service's plugin host as the world the
//! request names and describes itself. Only then is it written to `ACCORD_PLUGINS` under
//! `<addon|policy>.<its own name>`, where every replica's bucket watch validates it again and
//! swaps it in (`accord_runtime::plugin_watch`).
//!
//! Invariants:
//! - only the provider pushes or lists (the rule table: `core-addons`, provider's part); a
//!   pushed add-on is offered to every project, as a shipped one is;
//! - a component that does not load is `INVALID_ARGUMENT` on `component` and nothing is stored;
//! - compiling is CPU work: it never runs on a runtime worker, and at most one check runs at a
//!   time (a second concurrent push is `RESOURCE_EXHAUSTED`, retry later).

use std::sync::Arc;

use accord_bus::{Bus, PluginMeta, PluginObject, objects::plugin_object_name};
use accord_core::{
    DomainError,
    error::{Violations, echo},
    limits::MAX_PLUGIN_BYTES,
};
use accord_plugin_host::{PluginKind, PluginRegistry, kind_name};
use accord_proto::{
    addons::v1::{self as pb, plugins_server::Plugins},
    convert::{provisioner::ts, status_from},
};
use tokio::sync::Semaphore;
use tonic::{Request, Response, Status};

/// The gRPC service.
#[derive(Clone)]
pub struct PluginsApi {
    registry: Arc<PluginRegistry>,
    bus: Bus,
    /// One component is compiled at a time.
    checking: Arc<Semaphore>,
}

impl PluginsApi {
    /// Checks pushes with `registry`'s host and stores them through `bus`.
    pub fn new(registry: Arc<PluginRegistry>, bus: Bus) -> Self {
        Self {
            registry,
            bus,
            checking: Arc::new(Semaphore::new(1)),
        }
    }
}

fn st(e: DomainError) -> Status {
    status_from(&e)
}

/// The plugin kind a request names.
pub fn requested_kind(kind: i32) -> Result<PluginKind, DomainError> {
    match pb::PluginKind::try_from(kind) {
        Ok(pb::PluginKind::Addon) => Ok(PluginKind::Addon),
        Ok(pb::PluginKind::RemediationPolicy) => Ok(PluginKind::RemediationPolicy),
        Ok(pb::PluginKind::Unspecified) | Err(_) => Err(DomainError::invalid(
            "kind",
            "required: PLUGIN_KIND_ADDON or PLUGIN_KIND_REMEDIATION_POLICY",
        )),
    }
}

/// The size and kind checks of a push, before any compilation.
pub fn check_push(req: &pb::PushPluginRequest) -> Result<PluginKind, DomainError> {
    let mut v = Violations::new();
    if req.component.is_empty() {
        v.add("component", "required: a WebAssembly component");
    } else if req.component.len() > MAX_PLUGIN_BYTES {
        v.add(
            "component",
            format!(
                "at most {MAX_PLUGIN_BYTES} bytes, got {}",
                req.component.len()
            ),
        );
    }
    let kind = requested_kind(req.kind);
    if let Err(DomainError::InvalidArgument(violations)) = &kind {
        for violation in violations {
            v.add(&violation.field, violation.description.clone());
        }
    }
    v.into_result()?;
    kind
}

/// The bucket prefix of a plugin kind.
fn prefix(kind: PluginKind) -> &'static str {
    accord_runtime::plugin_watch::prefix(kind).trim_end_matches('.')
}

/// A bucket object as the API shows it.
pub fn plugin(object: &PluginObject) -> pb::Plugin {
    let kind = match object.kind() {
        Some(k) if k == kind_name(PluginKind::Addon) => pb::PluginKind::Addon,
        Some(k) if k == kind_name(PluginKind::RemediationPolicy) => {
            pb::PluginKind::RemediationPolicy
        }
        _ => pb::PluginKind::Unspecified,
    };
    pb::Plugin {
        name: object.name.clone(),
        kind: kind.into(),
        version: object.version().unwrap_or_default().to_owned(),
        digest: object.digest().unwrap_or_default().to_owned(),
        size: object.size as u64,
        modified: object.modified.map(ts),
    }
}

#[tonic::async_trait]
impl Plugins for PluginsApi {
    async fn push_plugin(
        &self,
        req: Request<pb::PushPluginRequest>,
    ) -> Result<Response<pb::Plugin>, Status> {
        let kind = check_push(req.get_ref()).map_err(st)?;
        let Ok(permit) = Arc::clone(&self.checking).try_acquire_owned() else {
            return Err(st(DomainError::ResourceExhausted(
                "another plugin push is being checked; retry in a few seconds".to_owned(),
            )));
        };
        let component = req.into_inner().component;
        let registry = Arc::clone(&self.registry);
        let (checked, component) = tokio::task::spawn_blocking(move || {
            let _permit = permit;
            (registry.check_kind(kind, &component), component)
        })
        .await
        .map_err(|e| st(DomainError::internal(format!("plugin check task: {e}"))))?;
        let loaded = checked.map_err(|e| {
            st(DomainError::invalid(
                "component",
                format!(
                    "not a loadable {} component: {}",
                    kind_name(kind),
                    echo(&e.to_string())
                ),
            ))
        })?;
        let name = plugin_object_name(prefix(kind), &loaded.name).map_err(|_| {
            st(DomainError::invalid(
                "component",
                format!(
                    "the plugin names itself {}, which is not a valid object name",
                    echo(&loaded.name)
                ),
            ))
        })?;
        let meta = PluginMeta {
            kind: kind_name(kind).to_owned(),
            version: loaded.version,
            digest: loaded.digest,
        };
        let store = self.bus.plugin_store().await.map_err(bus_unavailable)?;
        let object = store
            .put(&name, component, &meta)
            .await
            .map_err(bus_unavailable)?;
        tracing::info!(object = %name, version = %meta.version, digest = %meta.digest, "plugin pushed");
        Ok(Response::new(plugin(&object)))
    }

    async fn list_plugins(
        &self,
        _req: Request<pb::ListPluginsRequest>,
    ) -> Result<Response<pb::ListPluginsResponse>, Status> {
        let objects = match self
            .bus
            .existing_plugin_store()
            .await
            .map_err(bus_unavailable)?
        {
            Some(store) => store.list().await.map_err(bus_unavailable)?,
            None => Vec::new(),
        };
        Ok(Response::new(pb::ListPluginsResponse {
            plugins: objects.iter().map(plugin).collect(),
        }))
    }
}

fn bus_unavailable(e: accord_bus::BusError) -> Status {
    st(DomainError::Unavailable(format!("the plugin bucket: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn push(kind: pb::PluginKind, component: Vec<u8>) -> pb::PushPluginRequest {
        pb::PushPluginRequest {
            kind: kind.into(),
            component,
        }
    }

    #[test]
    fn a_push_names_its_kind_and_carries_a_bounded_component() {
        assert_eq!(
            check_push(&push(pb::PluginKind::Addon, vec![0; 8])).unwrap(),
            PluginKind::Addon
        );
        assert_eq!(
            check_push(&push(
                pb::PluginKind::RemediationPolicy,
                vec![0; MAX_PLUGIN_BYTES]
            ))
            .unwrap(),
            PluginKind::RemediationPolicy
        );
        let fields = |r: Result<PluginKind, DomainError>| match r {
            Err(DomainError::InvalidArgument(v)) => {
                v.into_iter().map(|f| f.field).collect::<Vec<_>>()
            }
            other => panic!("expected INVALID_ARGUMENT, got {other:?}"),
        };
        assert_eq!(
            fields(check_push(&push(
                pb::PluginKind::Addon,
                vec![0; MAX_PLUGIN_BYTES + 1]
            ))),
            ["component"]
        );
        assert_eq!(
            fields(check_push(&push(pb::PluginKind::Unspecified, Vec::new()))),
            ["component", "kind"]
        );
        let mut unknown = push(pb::PluginKind::Addon, vec![0; 8]);
        unknown.kind = 42;
        assert_eq!(fields(check_push(&unknown)), ["kind"]);
    }
}
