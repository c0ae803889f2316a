//! Run-time plugin updates for any plugin kind: a service watches the `ACCORD_PLUGINS` bucket
//! and offers each pushed plugin of its kind (`addon.<name>`, `policy.<name>`) to its
//! [`PluginRegistry`], which swaps it in atomically if it loads and keeps the previous one if
//! it does not. A deleted object brings back the shipped plugin of that name, if any.
//!
//! Order at start-up: the watch is opened before the bucket is listed, so a push that lands in
//! between is seen (possibly twice, which is harmless: offering the same bytes is idempotent).
//! A malformed object is logged and skipped; it never stops the service.
//!
//! Compiling a component is CPU work: offers run on the blocking pool, never on a tokio worker.

use std::sync::Arc;

use accord_bus::{Bus, BusError, ObjectChange, PluginStore};
use accord_plugin_host::{PluginKind, PluginRegistry};
use futures::StreamExt;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

/// The shipped component of a plugin name (the fallback when a push is deleted).
pub type Shipped = Arc<dyn Fn(&str) -> Option<Vec<u8>> + Send + Sync>;

/// Object-name prefix of a plugin kind in the bucket.
pub fn prefix(kind: PluginKind) -> &'static str {
    match kind {
        PluginKind::Addon => "addon.",
        PluginKind::RemediationPolicy => "policy.",
    }
}

/// Loads what is in the bucket now, then applies changes until `shutdown`. Returns once the
/// bucket has been read; the returned task keeps watching.
pub async fn start(
    bus: &Bus,
    registry: Arc<PluginRegistry>,
    kind: PluginKind,
    shipped: Shipped,
    shutdown: CancellationToken,
) -> Result<tokio::task::JoinHandle<()>, BusError> {
    let store = bus.plugin_store().await?;
    let mut changes = store.watch().await?;
    let watch = Watch {
        store,
        registry,
        kind,
        shipped,
    };
    for object in watch.store.list().await? {
        if object.name.starts_with(prefix(kind)) {
            watch.apply(&object.name, false).await;
        }
    }
    Ok(tokio::spawn(async move {
        loop {
            let change: ObjectChange = tokio::select! {
                () = shutdown.cancelled() => return,
                next = changes.next() => match next {
                    Some(Ok(change)) => change,
                    Some(Err(e)) => {
                        warn!(error = %e, "plugin bucket watch error");
                        continue;
                    }
                    None => {
                        warn!("plugin bucket watch ended; pushes are no longer applied until restart");
                        return;
                    }
                },
            };
            if change.name.starts_with(prefix(kind)) {
                watch.apply(&change.name, change.deleted).await;
            }
        }
    }))
}

struct Watch {
    store: PluginStore,
    registry: Arc<PluginRegistry>,
    kind: PluginKind,
    shipped: Shipped,
}

impl Watch {
    async fn apply(&self, object: &str, deleted: bool) {
        let name = object.trim_start_matches(prefix(self.kind)).to_owned();
        let wasm = if deleted {
            match (self.shipped)(&name) {
                Some(wasm) => wasm,
                None => {
                    let removed = self.registry.remove(self.kind, &name);
                    info!(plugin = %name, removed, "pushed plugin deleted; no shipped one to fall back to");
                    return;
                }
            }
        } else {
            match self.store.get(object).await {
                Ok(Some(wasm)) => wasm,
                Ok(None) => return,
                Err(e) => {
                    warn!(object, error = %e, "cannot read a pushed plugin; skipped");
                    return;
                }
            }
        };
        let (registry, kind) = (Arc::clone(&self.registry), self.kind);
        let offered = tokio::task::spawn_blocking(move || registry.offer_kind(kind, &wasm)).await;
        match offered {
            Ok(Ok(loaded)) if loaded.name == name => {
                info!(plugin = %loaded.name, version = %loaded.version, digest = %loaded.digest, replaced = ?loaded.replaced, deleted, "plugin swapped in");
            }
            Ok(Ok(loaded)) => {
                warn!(object, describes_itself_as = %loaded.name, "pushed plugin's name differs from its object name; active under its own name");
            }
            Ok(Err(e)) => {
                warn!(object, error = %e, "pushed plugin refused; the previous one stays")
            }
            Err(e) => warn!(object, error = %e, "loading a pushed plugin failed"),
        }
    }
}
