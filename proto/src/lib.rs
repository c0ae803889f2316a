//! Accord's wire API: the generated protobuf/gRPC types and the conversions between them and
//! the domain model.
//!
//! Invariant: this is the only crate that knows both the wire types and `accord-core`; services
//! convert at their gRPC edge through [`convert`] and work with domain types everywhere else.

#![allow(clippy::all, missing_docs)]

/// `accord.provisioner.v1`: projects and IAM, clusters, node pools, nodes, AutoClusters
/// remediations.
pub mod provisioner {
    /// Version 1.
    pub mod v1 {
        tonic::include_proto!("accord.provisioner.v1");
    }
}

/// `accord.addons.v1`: the add-on catalogue and installations.
pub mod addons {
    /// Version 1.
    pub mod v1 {
        tonic::include_proto!("accord.addons.v1");
    }
}

/// `accord.support.v1`: support tickets and platform incidents; customer webhook notifications.
pub mod support {
    /// Version 1.
    pub mod v1 {
        tonic::include_proto!("accord.support.v1");
    }
}

/// `accord.telemetry.v1`: node health verdicts, health findings and the latest samples.
pub mod telemetry {
    /// Version 1.
    pub mod v1 {
        tonic::include_proto!("accord.telemetry.v1");
    }
}

/// `accord.firewall.v1`: a cluster's firewall (required and customer rules).
pub mod firewall {
    /// Version 1.
    pub mod v1 {
        tonic::include_proto!("accord.firewall.v1");
    }
}

/// `accord.storage.v1`: volumes, snapshots, StorageClasses, the NFS gate and migrations.
pub mod storage {
    /// Version 1.
    pub mod v1 {
        tonic::include_proto!("accord.storage.v1");
    }
}

/// `accord.images.v1`: worker images, builds and their lifecycle.
pub mod images {
    /// Version 1.
    pub mod v1 {
        tonic::include_proto!("accord.images.v1");
    }
}

pub mod codec;
pub mod convert;

/// Encoded `FileDescriptorSet` of every Accord proto, for gRPC reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/accord_descriptor.bin"));

/// The full method paths (`/accord.support.v1.Support/FileTicket`) of gRPC service `service`
/// (`accord.support.v1.Support`) in an encoded `FileDescriptorSet`; `None` when the set does not
/// describe that service. Servers check their RPC rule tables against this at start-up.
pub fn service_methods(
    file_descriptor_set: &[u8],
    service: &str,
) -> Result<Option<Vec<String>>, prost::DecodeError> {
    use prost::Message as _;
    let fds = prost_types::FileDescriptorSet::decode(file_descriptor_set)?;
    for file in &fds.file {
        for svc in &file.service {
            let full = if file.package().is_empty() {
                svc.name().to_owned()
            } else {
                format!("{}.{}", file.package(), svc.name())
            };
            if full == service {
                return Ok(Some(
                    svc.method
                        .iter()
                        .map(|m| format!("/{full}/{}", m.name()))
                        .collect(),
                ));
            }
        }
    }
    Ok(None)
}
