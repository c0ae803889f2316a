//! What the simulated provider sells: instance types and regions with their failure domains
//! (worker images come from the image-builder, not from here), plus the hardware facts the
//! node agents need to report plausible values (GPU memory, power envelope, throttle temperature, IB port count).
//!
//! Invariants: every region has at least three failure domains (an HA control plane needs
//! them); every GPU model named by an instance type has a [`GpuProfile`].

use accord_core::infra::{Catalog, InstanceType, Region};

/// The catalogue the simulator offers by default.
pub fn default_catalog() -> Catalog {
    Catalog {
        instance_types: vec![
            instance("h200-141gb-sxm-ib.8x", 8, "H200", true, 128, 1600),
            instance("h100-80gb-sxm-ib.8x", 8, "H100", true, 128, 1600),
            instance("l40s-48gb.10x", 10, "L40S", false, 160, 1280),
            instance("c1a.16x", 0, "", false, 16, 64),
        ],
        regions: ["eu-iceland1", "us-east1", "us-southcentral1"]
            .into_iter()
            .map(|name| Region {
                name: name.to_owned(),
                failure_domains: ["a", "b", "c"]
                    .into_iter()
                    .map(|zone| format!("{name}-{zone}"))
                    .collect(),
            })
            .collect(),
    }
}

fn instance(
    name: &str,
    gpu_count: u32,
    gpu_model: &str,
    infiniband: bool,
    vcpus: u32,
    memory_gib: u32,
) -> InstanceType {
    InstanceType {
        name: name.to_owned(),
        gpu_count,
        gpu_model: gpu_model.to_owned(),
        infiniband,
        vcpus,
        memory_gib,
    }
}

/// Hardware facts about one GPU model (approximate public datasheet values).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GpuProfile {
    /// The name `nvidia-smi` / DCGM reports (`modelName` label).
    pub model_name: &'static str,
    /// Framebuffer size, MiB.
    pub fb_total_mib: u64,
    /// Board power limit, W.
    pub max_power_w: f64,
    /// Power drawn when idle, W.
    pub idle_power_w: f64,
    /// Temperature at which the GPU starts to throttle, °C.
    pub slowdown_temp_c: u32,
}

/// The profile of a catalogue GPU model (`H200`, `H100`, `L40S`); `None` for unknown models.
pub fn gpu_profile(model: &str) -> Option<GpuProfile> {
    Some(match model {
        "H200" => GpuProfile {
            model_name: "NVIDIA H200",
            fb_total_mib: 143_771,
            max_power_w: 700.0,
            idle_power_w: 75.0,
            slowdown_temp_c: 87,
        },
        "H100" => GpuProfile {
            model_name: "NVIDIA H100 80GB HBM3",
            fb_total_mib: 81_559,
            max_power_w: 700.0,
            idle_power_w: 70.0,
            slowdown_temp_c: 87,
        },
        "L40S" => GpuProfile {
            model_name: "NVIDIA L40S",
            fb_total_mib: 46_068,
            max_power_w: 350.0,
            idle_power_w: 35.0,
            slowdown_temp_c: 88,
        },
        _ => return None,
    })
}

/// InfiniBand ports of an instance type: one 400 Gb/s NDR HCA per GPU on the fabric, none off it.
pub fn ib_port_count(instance_type: &InstanceType) -> u32 {
    if instance_type.infiniband {
        instance_type.gpu_count
    } else {
        0
    }
}

/// Whether an instance type is provisioned on the slower GPU path (bigger image, driver and
/// fabric bring-up) rather than the CPU path.
pub fn is_gpu(instance_type: &InstanceType) -> bool {
    instance_type.gpu_count > 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalogue_is_consistent() {
        let catalog = default_catalog();
        assert_eq!(catalog.instance_types.len(), 4);
        for t in &catalog.instance_types {
            if t.gpu_count > 0 {
                assert!(gpu_profile(&t.gpu_model).is_some(), "{}", t.name);
            } else {
                assert!(!t.infiniband);
            }
        }
        let h200 = catalog.instance_type("h200-141gb-sxm-ib.8x").unwrap();
        assert_eq!((h200.gpu_count, h200.infiniband), (8, true));
        assert_eq!(ib_port_count(h200), 8);
        let l40s = catalog.instance_type("l40s-48gb.10x").unwrap();
        assert_eq!((l40s.gpu_count, ib_port_count(l40s)), (10, 0));
        assert!(!is_gpu(catalog.instance_type("c1a.16x").unwrap()));

        for r in &catalog.regions {
            assert_eq!(r.failure_domains.len(), 3, "{}", r.name);
            assert!(r.failure_domains.iter().all(|fd| fd.starts_with(&r.name)));
        }
        assert_eq!(
            catalog.region("eu-iceland1").unwrap().failure_domains,
            ["eu-iceland1-a", "eu-iceland1-b", "eu-iceland1-c"]
        );
    }
}
