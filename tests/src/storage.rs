//! The harness's storage-csi: started beside the provisioner on the deployment's simulated
//! storage back ends ([`Env::start_storage_csi`]), its gRPC client ([`Env::storage`]) and the
//! back ends themselves ([`Env::storage_sim`]) for what only the simulator can say (how many
//! times an operation was submitted).

use std::{net::SocketAddr, sync::Arc, time::Duration};

use accord_platform::{StorageCsiSettings, StorageService};
use accord_proto::storage::v1::storage_client::StorageClient;
use accord_sim::storage::SimStorage;
use accord_store::Store;
use anyhow::{Context as _, anyhow};
use tonic::transport::Channel;

use crate::{AuthChannel, Bearer, Env, connect};

impl Env {
    /// Starts storage-csi on the deployment's simulated storage (the one the simulator's fault
    /// server routes storage faults to), reconciling every `interval`, on `store` (`None`: a
    /// new one).
    pub async fn start_storage_csi(
        &mut self,
        interval: Duration,
        store: Option<Store>,
    ) -> anyhow::Result<Arc<StorageService>> {
        let storage = self
            .storage_sim()
            .ok_or_else(|| anyhow!("the platform did not start the simulated storage"))?;
        let mut settings = StorageCsiSettings::new(SocketAddr::from(([127, 0, 0, 1], 0)));
        settings.reconcile_interval = interval;
        settings.store = store;
        let running = self
            .platform()
            .storage(storage)
            .storage_csi(settings)
            .start()
            .await
            .context("starting storage-csi")?;
        let handle = running
            .storage_csi
            .clone()
            .ok_or_else(|| anyhow!("the platform did not start storage-csi"))?;
        self.storage_channel = Some(connect(handle.grpc_addr, "storage-csi").await?);
        self.platforms.push(running);
        Ok(handle.engine)
    }

    /// storage-csi's client authenticated as `token` (after [`Env::start_storage_csi`]).
    pub fn storage(&self, token: &str) -> anyhow::Result<StorageClient<AuthChannel>> {
        Ok(StorageClient::with_interceptor(
            self.storage_channel()?,
            Bearer::new(token)?,
        ))
    }

    /// storage-csi's gRPC channel (after [`Env::start_storage_csi`]).
    pub fn storage_channel(&self) -> anyhow::Result<Channel> {
        self.storage_channel
            .clone()
            .ok_or_else(|| anyhow!("start storage-csi first"))
    }

    /// The deployment's simulated storage back ends.
    pub fn storage_sim(&self) -> Option<Arc<SimStorage>> {
        self.platforms.first().and_then(|p| p.storage.clone())
    }
}
