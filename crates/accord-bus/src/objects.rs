//! The plugin bucket: a NATS Object Store (`ACCORD_PLUGINS`, file storage) that `accord plugin
//! push` writes and every service replica watches.
//!
//! Objects are named `policy.<name>` / `addon.<name>` ([`plugin_object_name`]) and carry the
//! plugin's kind, version and SHA-256 (hex, the plugin host's digest) as object metadata
//! ([`PluginMeta`]).
//!
//! Invariants:
//! - No async-nats type leaves this module: callers see [`PluginStore`], [`PluginObject`],
//!   [`ObjectChange`] and [`BusError`].
//! - Object names are checked before they reach NATS ([`check_object_name`]).
//! - A put replaces the previous object of that name atomically (readers see the old or the new
//!   bytes, never a mix), and every put or delete is one [`ObjectChange`] on [`PluginStore::watch`].

use std::collections::{BTreeMap, HashMap};

use async_nats::jetstream::object_store::{self, GetErrorKind, ObjectMetadata, ObjectStore};
use async_nats::jetstream::stream::StorageType;
use futures::StreamExt;
use futures::stream::BoxStream;
use time::OffsetDateTime;
use tokio::io::AsyncReadExt;

use crate::{Bus, BusError};

/// The bucket plugins are pushed to.
pub const PLUGIN_BUCKET: &str = "ACCORD_PLUGINS";

/// Metadata key: the plugin's kind (`addon`, `remediation-policy`).
pub const META_KIND: &str = "kind";
/// Metadata key: the plugin's version (from its `describe()`).
pub const META_VERSION: &str = "version";
/// Metadata key: the SHA-256 of the component, lowercase hex.
pub const META_DIGEST: &str = "digest";

/// Longest object name accepted.
const MAX_OBJECT_NAME_LEN: usize = 255;

/// What is stored alongside a plugin's bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PluginMeta {
    /// `addon` or `remediation-policy`.
    pub kind: String,
    /// The plugin's own version.
    pub version: String,
    /// SHA-256 of the bytes, lowercase hex.
    pub digest: String,
}

/// One stored object, as listed or put.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PluginObject {
    /// Object name, e.g. `policy.gpu-remediation`.
    pub name: String,
    /// Size in bytes.
    pub size: usize,
    /// NATS's own digest of the object (`SHA-256=<base64url>`), when known.
    pub nats_digest: Option<String>,
    /// Object metadata ([`META_KIND`], [`META_VERSION`], [`META_DIGEST`], …).
    pub metadata: BTreeMap<String, String>,
    /// When the object was last written.
    pub modified: Option<OffsetDateTime>,
}

impl PluginObject {
    /// The plugin kind from the metadata.
    pub fn kind(&self) -> Option<&str> {
        self.metadata.get(META_KIND).map(String::as_str)
    }

    /// The plugin version from the metadata.
    pub fn version(&self) -> Option<&str> {
        self.metadata.get(META_VERSION).map(String::as_str)
    }

    /// The plugin's SHA-256 (hex) from the metadata.
    pub fn digest(&self) -> Option<&str> {
        self.metadata.get(META_DIGEST).map(String::as_str)
    }

    fn from_info(info: object_store::ObjectInfo) -> Self {
        PluginObject {
            name: info.name,
            size: info.size,
            nats_digest: info.digest,
            metadata: info.metadata.into_iter().collect(),
            modified: info.modified,
        }
    }
}

/// A change in the bucket, seen by [`PluginStore::watch`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectChange {
    /// Object name.
    pub name: String,
    /// True when the object was deleted (else it was put).
    pub deleted: bool,
    /// The plugin's SHA-256 (hex) from the metadata, for puts.
    pub digest: Option<String>,
}

/// The object name for a plugin: `<prefix>.<name>` (`policy.gpu-remediation`, `addon.cilium`).
pub fn plugin_object_name(prefix: &str, name: &str) -> Result<String, BusError> {
    let object = format!("{prefix}.{name}");
    check_object_name(&object)?;
    Ok(object)
}

/// Object names: 1–255 of `A-Za-z0-9 - _ = . /`, not starting or ending with `.`.
pub fn check_object_name(name: &str) -> Result<(), BusError> {
    let valid_chars = name
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'=' | b'.' | b'/'));
    if name.is_empty()
        || name.len() > MAX_OBJECT_NAME_LEN
        || name.starts_with('.')
        || name.ends_with('.')
        || !valid_chars
    {
        return Err(BusError::InvalidArgument(format!(
            "invalid object name {name:?}: 1–{MAX_OBJECT_NAME_LEN} of A-Z a-z 0-9 - _ = . /, \
             not starting or ending with '.'"
        )));
    }
    Ok(())
}

/// The plugin bucket. Cheap to clone.
#[derive(Clone)]
pub struct PluginStore {
    store: ObjectStore,
}

impl std::fmt::Debug for PluginStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PluginStore")
            .field("bucket", &PLUGIN_BUCKET)
            .finish()
    }
}

impl Bus {
    /// The plugin bucket, created (file storage) if it does not exist yet.
    pub async fn plugin_store(&self) -> Result<PluginStore, BusError> {
        let js = &self.inner.jetstream;
        if let Ok(store) = js.get_object_store(PLUGIN_BUCKET).await {
            return Ok(PluginStore { store });
        }
        let config = object_store::Config {
            bucket: PLUGIN_BUCKET.to_owned(),
            description: Some("Accord plugins (accord plugin push)".to_owned()),
            storage: StorageType::File,
            ..Default::default()
        };
        let store = js
            .create_object_store(config)
            .await
            .map_err(|err| BusError::jetstream("create object store", err))?;
        Ok(PluginStore { store })
    }

    /// The plugin bucket if it exists (readers that must not create it), else `None`.
    pub async fn existing_plugin_store(&self) -> Result<Option<PluginStore>, BusError> {
        use async_nats::jetstream::context::ObjectStoreErrorKind;
        match self.inner.jetstream.get_object_store(PLUGIN_BUCKET).await {
            Ok(store) => Ok(Some(PluginStore { store })),
            Err(err) if err.kind() == ObjectStoreErrorKind::GetStore => {
                // Tell "no such bucket" from "JetStream not answering": ask for the stream.
                use async_nats::jetstream::ErrorCode;
                use async_nats::jetstream::context::GetStreamErrorKind;
                let stream = format!("OBJ_{PLUGIN_BUCKET}");
                match self.inner.jetstream.get_stream(stream).await {
                    Err(inner)
                        if matches!(
                            inner.kind(),
                            GetStreamErrorKind::JetStream(js)
                                if js.error_code() == ErrorCode::STREAM_NOT_FOUND
                        ) =>
                    {
                        Ok(None)
                    }
                    Err(inner) => Err(BusError::from_api(
                        "object store open",
                        self.inner.options.request_timeout,
                        inner,
                    )),
                    Ok(_) => Err(BusError::jetstream("object store open", err)),
                }
            }
            Err(err) => Err(BusError::jetstream("object store open", err)),
        }
    }
}

impl PluginStore {
    /// Stores `bytes` as `name` with `meta`, replacing any previous object of that name.
    pub async fn put(
        &self,
        name: &str,
        bytes: Vec<u8>,
        meta: &PluginMeta,
    ) -> Result<PluginObject, BusError> {
        check_object_name(name)?;
        let metadata = HashMap::from([
            (META_KIND.to_owned(), meta.kind.clone()),
            (META_VERSION.to_owned(), meta.version.clone()),
            (META_DIGEST.to_owned(), meta.digest.clone()),
        ]);
        let object_meta = ObjectMetadata {
            name: name.to_owned(),
            description: Some(format!("{} {}", meta.kind, meta.version)),
            metadata,
            ..Default::default()
        };
        let mut reader = std::io::Cursor::new(bytes);
        let info = self
            .store
            .put(object_meta, &mut reader)
            .await
            .map_err(|err| BusError::jetstream("object store put", err))?;
        Ok(PluginObject::from_info(info))
    }

    /// The bytes of `name`, or `None` when there is no such object.
    pub async fn get(&self, name: &str) -> Result<Option<Vec<u8>>, BusError> {
        check_object_name(name)?;
        let mut object = match self.store.get(name).await {
            Ok(object) => object,
            Err(err) if err.kind() == GetErrorKind::NotFound => return Ok(None),
            Err(err) => return Err(BusError::jetstream("object store get", err)),
        };
        let mut bytes = Vec::with_capacity(object.info().size);
        object
            .read_to_end(&mut bytes)
            .await
            .map_err(|err| BusError::jetstream("object store read", err))?;
        Ok(Some(bytes))
    }

    /// The stored object `name`'s description, or `None` when there is no such object.
    pub async fn info(&self, name: &str) -> Result<Option<PluginObject>, BusError> {
        check_object_name(name)?;
        match self.store.info(name).await {
            Ok(info) if info.deleted => Ok(None),
            Ok(info) => Ok(Some(PluginObject::from_info(info))),
            Err(err) if err.kind() == object_store::InfoErrorKind::NotFound => Ok(None),
            Err(err) => Err(BusError::jetstream("object store info", err)),
        }
    }

    /// Every stored (not deleted) object, sorted by name.
    pub async fn list(&self) -> Result<Vec<PluginObject>, BusError> {
        let mut list = self
            .store
            .list()
            .await
            .map_err(|err| BusError::jetstream("object store list", err))?;
        let mut objects = Vec::new();
        while let Some(info) = list.next().await {
            let info = info.map_err(|err| BusError::jetstream("object store list", err))?;
            objects.push(PluginObject::from_info(info));
        }
        objects.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(objects)
    }

    /// Deletes `name` (a no-op error-wise when it is already gone is not promised).
    pub async fn delete(&self, name: &str) -> Result<(), BusError> {
        check_object_name(name)?;
        self.store
            .delete(name)
            .await
            .map_err(|err| BusError::jetstream("object store delete", err))
    }

    /// Changes from now on: one item per put or delete, in order.
    pub async fn watch(
        &self,
    ) -> Result<BoxStream<'static, Result<ObjectChange, BusError>>, BusError> {
        let watch = self
            .store
            .watch()
            .await
            .map_err(|err| BusError::jetstream("object store watch", err))?;
        Ok(watch
            .map(|item| {
                item.map(|info| ObjectChange {
                    digest: info.metadata.get(META_DIGEST).cloned(),
                    name: info.name,
                    deleted: info.deleted,
                })
                .map_err(|err| BusError::jetstream("object store watch", err))
            })
            .boxed())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn object_names() {
        assert_eq!(
            plugin_object_name("policy", "gpu-remediation").unwrap(),
            "policy.gpu-remediation"
        );
        assert!(check_object_name("addon.cilium").is_ok());
        for bad in ["", ".x", "x.", "a b", "a*", "a>b", &"a".repeat(256)] {
            assert!(check_object_name(bad).is_err(), "{bad:?}");
        }
    }
}
