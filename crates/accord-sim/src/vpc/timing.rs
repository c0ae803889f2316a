//! How long the simulated network's operations take: a range modelled on a real cloud,
//! scaled by the clock factor, the point in it drawn from the VPC's seeded generator (so runs
//! with the same seed take the same times).

use std::time::Duration;

use rand::Rng;

/// A timed operation of the simulated VPC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum VpcOperation {
    /// Replacing a cluster's rule set in the VPC firewall (2–5 s).
    FirewallApply,
    /// Removing a cluster's rule set (2–5 s).
    FirewallDelete,
    /// Creating a load balancer up to serving traffic (30–60 s).
    LoadBalancerCreate,
    /// Changing a load balancer's ports, backends or health check (5–15 s).
    LoadBalancerUpdate,
    /// Removing a load balancer and releasing its address (10–20 s).
    LoadBalancerDelete,
}

impl VpcOperation {
    /// Every operation, for tables and tests.
    pub const ALL: [VpcOperation; 5] = [
        VpcOperation::FirewallApply,
        VpcOperation::FirewallDelete,
        VpcOperation::LoadBalancerCreate,
        VpcOperation::LoadBalancerUpdate,
        VpcOperation::LoadBalancerDelete,
    ];

    /// The unscaled range (shortest, longest).
    pub fn range(self) -> (Duration, Duration) {
        let (lo, hi) = match self {
            VpcOperation::FirewallApply | VpcOperation::FirewallDelete => (2, 5),
            VpcOperation::LoadBalancerCreate => (30, 60),
            VpcOperation::LoadBalancerUpdate => (5, 15),
            VpcOperation::LoadBalancerDelete => (10, 20),
        };
        (Duration::from_secs(lo), Duration::from_secs(hi))
    }

    /// How long the operation takes this time, scaled by `clock_factor` (finite, ≥ 0).
    pub(crate) fn duration(self, clock_factor: f64, rng: &mut impl Rng) -> Duration {
        let (lo, hi) = self.range();
        let secs = rng.random_range(lo.as_secs_f64()..=hi.as_secs_f64()) * clock_factor;
        Duration::try_from_secs_f64(secs).unwrap_or(Duration::ZERO)
    }
}
