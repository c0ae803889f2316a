//! What the provisioner's handler tests share: a catalogue, a world (a temporary store with
//! the bootstrap project and its Admin) and well-formed inputs.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, dead_code)]

use std::collections::BTreeMap;

use accord_core::{
    DomainError,
    cluster::{Cluster, ClusterPhase},
    iam::Principal,
    ids::ProjectId,
    image::{ImageEvent, PublishedImage},
    infra::{Catalog, InstanceType, Region},
    project::Project,
};
use accord_provisioner::{
    auth::KeyAuthenticator,
    change::Change,
    handlers::{
        Ctx,
        clusters::{self, ClusterInput},
        nodepools::PoolInput,
        projects,
    },
    trees::Reader,
};
use accord_store::Store;
use time::OffsetDateTime;

pub fn catalog() -> Catalog {
    Catalog {
        instance_types: vec![
            InstanceType {
                name: "h100-80gb-sxm-ib.8x".into(),
                gpu_count: 8,
                gpu_model: "H100".into(),
                infiniband: true,
                vcpus: 176,
                memory_gib: 1440,
            },
            InstanceType {
                name: "c1a.16x".into(),
                gpu_count: 0,
                gpu_model: String::new(),
                infiniband: false,
                vcpus: 16,
                memory_gib: 64,
            },
        ],
        regions: vec![Region {
            name: "eu-iceland1".into(),
            failure_domains: vec!["a".into(), "b".into(), "c".into()],
        }],
    }
}

/// The provider key the tests' images are signed with.
pub fn signing_key() -> accord_image::SigningKey {
    accord_image::signing_key_from_seed([7; 32])
}

/// An `image.published` of the base release's `branch` manifest under `version`, signed with
/// [`signing_key`]; `salt` changes the manifest (so two labels are two images).
pub fn published(version: &str, branch: &str, salt: &str) -> PublishedImage {
    let types = [
        "h100-80gb-sxm-ib.8x",
        "c1a.16x",
        "l40s-48gb.10x",
        "h200-141gb-sxm-ib.8x",
    ];
    let base = accord_image::default_base(&types).unwrap();
    let mut m = base.for_branch(branch).unwrap().clone();
    m.base
        .sysctls
        .insert("kernel.accord_test_salt".into(), salt.into());
    let sealed = accord_image::seal(m, &types).unwrap();
    let sig = accord_image::sign(&sealed.id, &signing_key());
    PublishedImage {
        id: sealed.id.to_string(),
        version: version.into(),
        channel: "stable".into(),
        driver_branch: branch.into(),
        manifest: String::from_utf8(sealed.bytes).unwrap(),
        signature: sig.signature,
        key_id: sig.key_id,
        published_at: OffsetDateTime::now_utc(),
    }
}

pub struct World {
    pub reader: Reader,
    pub catalog: Catalog,
    pub admin: Principal,
    pub project: Project,
}

impl World {
    pub async fn new() -> Self {
        let store = Store::temporary().unwrap();
        let reader = Reader::new(store);
        let (ch, boot) = projects::bootstrap(&reader, OffsetDateTime::now_utc())
            .unwrap()
            .unwrap();
        reader.store().commit(ch.commit).await.unwrap();
        let admin = KeyAuthenticator::new(reader.clone())
            .verify(&boot.admin.token)
            .unwrap();
        let key = signing_key().verifying_key();
        for (v, salt) in [("2026.10.0", "a"), ("2026.11.0", "b")] {
            let (ch, outcome) = accord_provisioner::images::learn(
                &reader,
                Some(&key),
                ImageEvent::Published {
                    image: published(v, "production", salt),
                },
                OffsetDateTime::now_utc(),
            )
            .unwrap();
            assert_eq!(outcome, accord_provisioner::images::Outcome::Stored);
            reader.store().commit(ch.commit).await.unwrap();
        }
        Self {
            reader,
            catalog: catalog(),
            admin,
            project: boot.project,
        }
    }

    /// The trusted image key.
    pub fn image_key(&self) -> accord_image::VerifyingKey {
        signing_key().verifying_key()
    }

    pub fn ctx<'a>(&'a self, p: &'a Principal) -> Ctx<'a> {
        Ctx {
            reader: &self.reader,
            catalog: &self.catalog,
            now: OffsetDateTime::now_utc(),
            principal: p,
        }
    }

    pub async fn commit<T>(&self, r: Result<(Change, T), DomainError>) -> T {
        let (ch, v) = r.unwrap();
        self.reader.store().commit(ch.commit).await.unwrap();
        v
    }

    pub fn pid(&self) -> ProjectId {
        self.project.metadata.id
    }

    pub async fn cluster(&self, name: &str) -> Cluster {
        let c = self
            .commit(clusters::create_cluster(
                &self.ctx(&self.admin),
                self.pid(),
                name,
                BTreeMap::new(),
                &good_cluster(),
            ))
            .await;
        // Pretend the control plane came up.
        let mut running = c.clone();
        running.status.phase = ClusterPhase::Running;
        running.status.current_version = Some(c.spec.kubernetes_version);
        running.metadata.resource_version += 1;
        let mut ch = Change::none();
        ch.put(
            accord_provisioner::trees::CLUSTERS,
            &c.metadata.id.to_string(),
            &running,
            accord_store::Expect::Any,
        )
        .unwrap();
        self.reader.store().commit(ch.commit).await.unwrap();
        running
    }
}

pub fn good_cluster() -> ClusterInput {
    ClusterInput {
        kubernetes_version: "1.31".into(),
        region: "eu-iceland1".into(),
        vpc_subnet: "10.0.0.0/16".into(),
        pod_cidr: "10.244.0.0/16".into(),
        service_cidr: "10.96.0.0/12".into(),
        node_cidr_mask_size: 24,
        ..ClusterInput::default()
    }
}

pub fn gpu_pool(count: u32) -> PoolInput {
    PoolInput {
        instance_type: "h100-80gb-sxm-ib.8x".into(),
        count,
        ..PoolInput::default()
    }
}

pub fn field_of(e: &DomainError) -> Vec<String> {
    match e {
        DomainError::InvalidArgument(v) => v.iter().map(|f| f.field.clone()).collect(),
        other => panic!("expected INVALID_ARGUMENT, got {other:?}"),
    }
}
