//! Run-time plugin updates: every replica watches the `ACCORD_PLUGINS` bucket and offers each
//! pushed add-on (`addon.<name>`) to its registry, which swaps it in atomically if it loads and
//! keeps the previous one if it does not. A deleted object brings back the shipped plugin.
//!
//! Order at start-up: the watch is opened before the bucket is listed, so a push that lands in
//! between is seen (possibly twice, which is harmless: offering the same bytes is idempotent).
//!
//! Compiling a component is CPU work: offers run on the blocking pool, never on a tokio worker.

use std::sync::Arc;

use accord_bus::{Bus, BusError, ObjectChange, PluginStore};
use accord_plugin_host::PluginKind;
use futures::StreamExt;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use crate::catalog::Catalog;

/// Object-name prefix of add-on plugins in the bucket.
pub const PREFIX: &str = "addon.";

/// Loads what is in the bucket now, then applies changes until `shutdown`. Returns once the
/// bucket has been read (the watch keeps running in a spawned task).
pub async fn start(
    bus: &Bus,
    catalog: Arc<Catalog>,
    shutdown: CancellationToken,
) -> Result<tokio::task::JoinHandle<()>, BusError> {
    let store = bus.plugin_store().await?;
    let mut changes = store.watch().await?;
    for object in store.list().await? {
        if object.name.starts_with(PREFIX) {
            apply(&store, &catalog, &object.name, false).await;
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
            if change.name.starts_with(PREFIX) {
                apply(&store, &catalog, &change.name, change.deleted).await;
            }
        }
    }))
}

async fn apply(store: &PluginStore, catalog: &Arc<Catalog>, object: &str, deleted: bool) {
    let name = object.trim_start_matches(PREFIX).to_owned();
    let wasm = if deleted {
        match catalog.shipped(&name) {
            Some(wasm) => wasm,
            None => {
                let removed = catalog.registry().remove(PluginKind::Addon, &name);
                info!(addon = %name, removed, "pushed add-on plugin deleted; no shipped one to fall back to");
                return;
            }
        }
    } else {
        match store.get(object).await {
            Ok(Some(wasm)) => wasm,
            Ok(None) => return,
            Err(e) => {
                warn!(object, error = %e, "cannot read a pushed plugin");
                return;
            }
        }
    };
    let c = Arc::clone(catalog);
    let offered =
        tokio::task::spawn_blocking(move || c.registry().offer_kind(PluginKind::Addon, &wasm))
            .await;
    match offered {
        Ok(Ok(loaded)) if loaded.name == name => {
            info!(addon = %loaded.name, version = %loaded.version, digest = %loaded.digest, replaced = ?loaded.replaced, deleted, "add-on plugin swapped in");
        }
        Ok(Ok(loaded)) => {
            warn!(object, describes_itself_as = %loaded.name, "pushed plugin's name differs from its object name; active under its own name");
        }
        Ok(Err(e)) => {
            warn!(object, error = %e, "pushed add-on plugin refused; the previous one stays")
        }
        Err(e) => warn!(object, error = %e, "loading a pushed plugin failed"),
    }
}
