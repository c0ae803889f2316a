//! A quick timing of the engine on 10,000 random customer rules: index build, one packet
//! through the index and through the linear scan, and the whole-set shadow analysis.
//! `cargo run --release -p accord-firewall --example timing`. (The benchmark proper belongs
//! to `cargo xtask bench`; tests never assert wall-clock time.)

use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

use accord_firewall::{
    Action, ClusterNetwork, Cni, CustomerRule, Direction, Firewall, Packet, PacketProtocol,
    PortRange, Protocol, ProviderRanges, Selector, Target, analyze, linear_scan,
};
use ipnet::Ipv4Net;

/// xorshift64*: deterministic, no dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

fn rule(rng: &mut Rng, i: usize) -> CustomerRule {
    let protocol =
        [Protocol::Tcp, Protocol::Udp, Protocol::Icmp, Protocol::Any][rng.below(4) as usize];
    let ports = if protocol.has_ports() {
        let lo = 1 + rng.below(60_000) as u16;
        let width = if rng.below(4) == 0 {
            rng.below(200) as u16
        } else {
            0
        };
        vec![PortRange { lo, hi: lo + width }]
    } else {
        Vec::new()
    };
    let peers = (0..1 + rng.below(3))
        .map(|_| {
            let len = if rng.below(50) == 0 {
                0
            } else {
                8 + rng.below(25) as u8
            };
            Ipv4Net::new(Ipv4Addr::from(rng.next() as u32), len)
                .map(|n| n.trunc())
                .unwrap_or_default()
        })
        .collect();
    CustomerRule {
        name: format!("r{i}"),
        priority: rng.below(65_536) as u16,
        action: if rng.below(2) == 0 {
            Action::Allow
        } else {
            Action::Deny
        },
        selector: Selector {
            direction: if rng.below(2) == 0 {
                Direction::Ingress
            } else {
                Direction::Egress
            },
            protocol,
            ports,
            peers,
            target: Target::AllNodes,
        },
    }
}

fn percentile(times: &mut [Duration], p: f64) -> Duration {
    times.sort_unstable();
    let at = ((times.len() as f64 - 1.0) * p) as usize;
    times.get(at).copied().unwrap_or_default()
}

fn main() {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let cluster = ClusterNetwork {
        vpc_subnet: Ipv4Net::new(Ipv4Addr::new(10, 0, 0, 0), 16).unwrap_or_default(),
        pod_cidr: Ipv4Net::new(Ipv4Addr::new(10, 244, 0, 0), 16).unwrap_or_default(),
        service_cidr: Ipv4Net::new(Ipv4Addr::new(10, 96, 0, 0), 12).unwrap_or_default(),
        cni: Cni::default(),
        pools: Vec::new(),
        provider: ProviderRanges::default(),
    };
    let rules: Vec<CustomerRule> = (0..10_000).map(|i| rule(&mut rng, i)).collect();

    let start = Instant::now();
    let firewall = Firewall::new(cluster.clone(), rules.clone());
    println!("index build: {:?}", start.elapsed());

    let packets: Vec<Packet> = (0..5_000)
        .map(|_| {
            let ingress = rng.below(2) == 0;
            let protocol = [
                PacketProtocol::Tcp,
                PacketProtocol::Udp,
                PacketProtocol::Icmp,
            ][rng.below(3) as usize];
            let peer = Ipv4Addr::from(rng.next() as u32);
            let node = Ipv4Addr::new(10, 0, rng.below(256) as u8, rng.below(256) as u8);
            let (from, to) = if ingress { (peer, node) } else { (node, peer) };
            Packet {
                direction: if ingress {
                    Direction::Ingress
                } else {
                    Direction::Egress
                },
                protocol,
                port: (protocol != PacketProtocol::Icmp).then(|| 1 + rng.below(65_535) as u16),
                from,
                to,
            }
        })
        .collect();
    let mut fast = Vec::with_capacity(packets.len());
    let mut slow = Vec::with_capacity(packets.len());
    let mut customer_decided = 0;
    for packet in &packets {
        let t = Instant::now();
        let a = std::hint::black_box(firewall.evaluate(packet));
        fast.push(t.elapsed());
        let t = Instant::now();
        let b = std::hint::black_box(linear_scan(
            &cluster,
            firewall.provider_rules(),
            &rules,
            packet,
        ));
        slow.push(t.elapsed());
        if a != b {
            println!("MISMATCH on {packet:?}: {a:?} vs {b:?}");
        }
        if a.tier == accord_firewall::Tier::Customer {
            customer_decided += 1;
        }
    }
    let (f50, f99) = (percentile(&mut fast, 0.5), percentile(&mut fast, 0.99));
    let (s50, s99) = (percentile(&mut slow, 0.5), percentile(&mut slow, 0.99));
    println!("index:  p50 {f50:?} p99 {f99:?}");
    println!("linear: p50 {s50:?} p99 {s99:?}");
    println!(
        "ratio p50 {:.1}x; {customer_decided} of {} packets decided by a customer rule",
        s50.as_secs_f64() / f50.as_secs_f64().max(1e-12),
        packets.len()
    );

    let start = Instant::now();
    let warnings = analyze(&cluster, firewall.provider_rules(), &rules);
    println!(
        "shadow analysis of {} rules: {:?} ({} warnings)",
        rules.len(),
        start.elapsed(),
        warnings.len()
    );
}
