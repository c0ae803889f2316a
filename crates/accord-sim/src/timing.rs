//! How long simulated operations take.
//!
//! Each [`Operation`] has a base duration modelled on a real GPU cloud; the simulator scales it
//! by the configured clock factor (1.0 = real time, 0.001 = a thousand times faster) and applies
//! a seeded jitter of ±[`JITTER`], so runs with the same seed take the same times.
//!
//! Invariant: a scaled duration is never negative and never NaN (the clock factor is checked to
//! be finite and non-negative when the fleet is created).

use std::time::Duration;

use rand::Rng;

/// Relative jitter applied to every base duration (±15 %).
pub const JITTER: f64 = 0.15;

/// A timed operation of the simulated infrastructure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Operation {
    /// Creating one control-plane replica (the three run in parallel).
    ReplicaProvision,
    /// Replacing one control-plane replica with a newer version (one at a time).
    ReplicaUpgrade,
    /// Tearing a control plane down.
    ControlPlaneDelete,
    /// Provisioning a GPU instance up to a Ready kubelet (image, driver, fabric bring-up).
    GpuNodeProvision,
    /// Provisioning a CPU-only instance up to a Ready kubelet.
    CpuNodeProvision,
    /// A provisioning attempt that fails reports after this long.
    NodeProvisionFailure,
    /// Cordon and evict every evictable pod.
    NodeDrain,
    /// Terminating an instance.
    NodeTerminate,
    /// Evicting the pods that use one GPU (the `drain-gpu` step of a GPU reset).
    GpuDrain,
    /// Resetting one GPU (`nvidia-smi --gpu-reset`).
    GpuReset,
    /// Checking a reset GPU answers and is healthy.
    GpuVerify,
    /// A reset of a GPU that is off the bus gives up after this long.
    GpuResetRefusal,
    /// Powering a machine off and on through its BMC (the `power-cycle` step of a reboot).
    NodePowerCycle,
    /// A GPU instance booting up to a Ready kubelet (driver load, fabric bring-up).
    GpuNodeBoot,
    /// A CPU-only instance booting up to a Ready kubelet.
    CpuNodeBoot,
    /// Exempting the API server from a failing admission webhook (a `failurePolicy: Ignore`
    /// override rolled to every API server).
    BypassWebhook,
    /// Moving a flooding client into its own low API Priority and Fairness level.
    ThrottleClient,
    /// Rate-limiting a workload's InfiniBand traffic to its share on every port of the cluster.
    IsolateFabricTraffic,
}

impl Operation {
    /// Every operation, for tables and tests.
    pub const ALL: [Operation; 18] = [
        Operation::ReplicaProvision,
        Operation::ReplicaUpgrade,
        Operation::ControlPlaneDelete,
        Operation::GpuNodeProvision,
        Operation::CpuNodeProvision,
        Operation::NodeProvisionFailure,
        Operation::NodeDrain,
        Operation::NodeTerminate,
        Operation::GpuDrain,
        Operation::GpuReset,
        Operation::GpuVerify,
        Operation::GpuResetRefusal,
        Operation::NodePowerCycle,
        Operation::GpuNodeBoot,
        Operation::CpuNodeBoot,
        Operation::BypassWebhook,
        Operation::ThrottleClient,
        Operation::IsolateFabricTraffic,
    ];

    /// The unscaled duration, without jitter.
    pub fn base(self) -> Duration {
        Duration::from_secs(match self {
            Operation::ReplicaProvision => 120,
            Operation::ReplicaUpgrade => 60,
            Operation::ControlPlaneDelete => 30,
            Operation::GpuNodeProvision => 180,
            Operation::CpuNodeProvision => 60,
            Operation::NodeProvisionFailure => 90,
            Operation::NodeDrain => 30,
            Operation::NodeTerminate => 20,
            Operation::GpuDrain => 20,
            Operation::GpuReset => 30,
            Operation::GpuVerify => 10,
            Operation::GpuResetRefusal => 5,
            Operation::NodePowerCycle => 15,
            Operation::GpuNodeBoot => 180,
            Operation::CpuNodeBoot => 60,
            Operation::BypassWebhook => 5,
            Operation::ThrottleClient => 5,
            Operation::IsolateFabricTraffic => 20,
        })
    }
}

/// Turns operations into durations for one fleet.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Timing {
    clock_factor: f64,
}

impl Timing {
    /// A timing with `clock_factor`; non-finite or negative factors are treated as 0 (instant).
    pub fn new(clock_factor: f64) -> Self {
        let clock_factor = if clock_factor.is_finite() && clock_factor > 0.0 {
            clock_factor
        } else {
            0.0
        };
        Timing { clock_factor }
    }

    /// The clock factor in use.
    pub fn clock_factor(&self) -> f64 {
        self.clock_factor
    }

    /// How long `op` takes this time: base × clock factor × a jitter in [1 − JITTER, 1 + JITTER].
    pub fn duration(&self, op: Operation, rng: &mut impl Rng) -> Duration {
        let jitter = rng.random_range((1.0 - JITTER)..=(1.0 + JITTER));
        let secs = op.base().as_secs_f64() * self.clock_factor * jitter;
        Duration::try_from_secs_f64(secs).unwrap_or(Duration::ZERO)
    }
}

#[cfg(test)]
mod tests {
    use rand::{SeedableRng, rngs::StdRng};

    use super::*;

    #[test]
    fn scales_and_jitters_within_bounds() {
        let timing = Timing::new(0.001);
        let mut rng = StdRng::seed_from_u64(7);
        for op in Operation::ALL {
            let base = op.base().as_secs_f64() * 0.001;
            for _ in 0..200 {
                let d = timing.duration(op, &mut rng).as_secs_f64();
                assert!(d >= base * (1.0 - JITTER) - 1e-9, "{op:?} {d}");
                assert!(d <= base * (1.0 + JITTER) + 1e-9, "{op:?} {d}");
            }
        }
    }

    #[test]
    fn same_seed_same_durations() {
        let timing = Timing::new(1.0);
        let mut a = StdRng::seed_from_u64(42);
        let mut b = StdRng::seed_from_u64(42);
        for op in Operation::ALL {
            assert_eq!(timing.duration(op, &mut a), timing.duration(op, &mut b));
        }
    }

    #[test]
    fn every_operation_is_listed_once() {
        let unique: std::collections::HashSet<Operation> = Operation::ALL.into_iter().collect();
        assert_eq!(unique.len(), Operation::ALL.len());
    }

    #[test]
    fn bad_factors_mean_instant() {
        let mut rng = StdRng::seed_from_u64(1);
        for factor in [f64::NAN, -1.0, f64::INFINITY, 0.0] {
            let timing = Timing::new(factor);
            assert_eq!(timing.clock_factor(), 0.0);
            assert_eq!(
                timing.duration(Operation::GpuNodeProvision, &mut rng),
                Duration::ZERO
            );
        }
    }
}
