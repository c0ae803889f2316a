//! The customer tier's index, built once per rule set, answering "which customer rule decides
//! this packet" without looking at every rule.
//!
//! Layout: one table per (target, direction, packet protocol) — target 0 is `all-nodes`, then
//! one per pool named by a rule; an `any` rule is entered in the tcp, udp and icmp tables. A
//! table maps each peer CIDR of its rules to a **port map**: the port axis cut into segments at
//! every boundary of those rules' port ranges, each segment holding the smallest
//! [`CustomerRule::key`] (priority, then deny before allow, then list order) among the rules of
//! that CIDR covering it. CIDRs are grouped by prefix length, each group sorted by network.
//!
//! Lookup: for the packet's node, its pools; for each of those tables (all-nodes and at most a
//! few pools), for each prefix length present (at most 33), mask the peer address, binary-search
//! the group, binary-search the port map: the smallest key found is the winning rule. Cost:
//! O(tables × lengths × log n), independent of how many rules there are in total.
//!
//! Building paints each port map's segments in key order, skipping painted segments with a
//! "next unpainted" union-find, so it is O(entries · α + segments) per CIDR.
//!
//! Invariant: `lookup` returns the same key as the smallest key over every matching rule
//! ([`crate::eval::linear_scan`] checks this in the property test).

use std::collections::{BTreeMap, HashMap};
use std::net::Ipv4Addr;

use ipnet::Ipv4Net;

use crate::addr::bounds;
use crate::cluster::NodePool;
use crate::rule::{CustomerRule, Direction, PacketProtocol, PortRange, Protocol, Target};

/// Smallest winning key per port segment; `starts[i]..starts[i+1]` (the last to 65535).
#[derive(Debug, Default)]
struct PortMap {
    starts: Vec<u16>,
    best: Vec<u64>,
}

impl PortMap {
    /// Builds the map of `rules` (key, port ranges), painting in key order.
    fn build(mut rules: Vec<(u64, &[PortRange])>) -> PortMap {
        rules.sort_unstable_by_key(|(key, _)| *key);
        let mut cuts: Vec<u32> = vec![0];
        for (_, ranges) in &rules {
            for r in *ranges {
                cuts.push(u32::from(r.lo));
                cuts.push(u32::from(r.hi) + 1);
            }
        }
        cuts.sort_unstable();
        cuts.dedup();
        cuts.retain(|c| *c <= u32::from(u16::MAX));
        let segments = cuts.len();
        let mut best = vec![u64::MAX; segments];
        // next[i]: a segment index ≥ i that may be unpainted (segments == none left).
        let mut next: Vec<usize> = (0..=segments).collect();
        for (key, ranges) in &rules {
            for r in *ranges {
                let from = cuts.partition_point(|c| *c < u32::from(r.lo));
                let to = cuts.partition_point(|c| *c <= u32::from(r.hi));
                let mut i = find(&mut next, from);
                while i < to {
                    best[i] = *key;
                    next[i] = i + 1;
                    i = find(&mut next, i + 1);
                }
            }
        }
        // Merge neighbours that agree.
        let mut starts = Vec::with_capacity(segments);
        let mut merged: Vec<u64> = Vec::with_capacity(segments);
        for (cut, key) in cuts.iter().zip(best) {
            if merged.last() != Some(&key) {
                starts.push(u16::try_from(*cut).unwrap_or(u16::MAX));
                merged.push(key);
            }
        }
        PortMap {
            starts,
            best: merged,
        }
    }

    fn lookup(&self, port: u16) -> u64 {
        let at = self.starts.partition_point(|s| *s <= port);
        match at.checked_sub(1) {
            Some(i) => self.best.get(i).copied().unwrap_or(u64::MAX),
            None => u64::MAX,
        }
    }
}

/// Union-find "next unpainted segment" with path halving.
fn find(next: &mut [usize], mut i: usize) -> usize {
    while next[i] != i {
        let up = next[next[i]];
        next[i] = up;
        i = up;
    }
    i
}

/// The CIDRs of one prefix length, sorted by network, with their port maps.
#[derive(Debug)]
struct Level {
    mask: u32,
    networks: Vec<u32>,
    maps: Vec<PortMap>,
}

/// Every CIDR of one (target, direction, protocol).
#[derive(Debug, Default)]
struct Table {
    levels: Vec<Level>,
}

impl Table {
    fn lookup(&self, peer: u32, port: u16) -> u64 {
        let mut best = u64::MAX;
        for level in &self.levels {
            let net = peer & level.mask;
            if let Ok(i) = level.networks.binary_search(&net)
                && let Some(map) = level.maps.get(i)
            {
                best = best.min(map.lookup(port));
            }
        }
        best
    }
}

const BUCKETS: usize = 6;

/// One table's rules before building: (prefix length, network) → (key, port ranges).
type Entries<'a> = BTreeMap<(u8, u32), Vec<(u64, &'a [PortRange])>>;

fn bucket(direction: Direction, protocol: PacketProtocol) -> usize {
    direction.index() * 3 + protocol.index()
}

/// The customer tier, indexed.
#[derive(Debug, Default)]
pub(crate) struct CustomerIndex {
    /// `tables[target][bucket]`; target 0 is all-nodes.
    tables: Vec<[Table; BUCKETS]>,
    /// Node address segments (first addresses, sorted) and the target tables of each.
    pool_starts: Vec<u32>,
    pool_targets: Vec<Vec<usize>>,
}

impl CustomerIndex {
    /// Indexes `rules` (positions are their places in the slice) for a cluster with `pools`.
    pub(crate) fn build(rules: &[CustomerRule], pools: &[NodePool]) -> CustomerIndex {
        let mut target_ids: HashMap<&str, usize> = HashMap::new();
        for rule in rules {
            if let Target::Pool(pool) = &rule.selector.target {
                let next = target_ids.len() + 1;
                target_ids.entry(pool.as_str()).or_insert(next);
            }
        }
        // entries[target][bucket]
        let mut entries: Vec<[Entries<'_>; BUCKETS]> =
            (0..=target_ids.len()).map(|_| Default::default()).collect();
        let icmp_ports: &[PortRange] = std::slice::from_ref(&PortRange::ALL);
        for (position, rule) in rules.iter().enumerate() {
            let s = &rule.selector;
            let target = match &s.target {
                Target::AllNodes => 0,
                Target::Pool(pool) => target_ids.get(pool.as_str()).copied().unwrap_or(0),
            };
            let key = rule.key(position);
            for protocol in PacketProtocol::ALL {
                if !s.protocol.covers(protocol) {
                    continue;
                }
                let ports = if protocol == PacketProtocol::Icmp || s.protocol == Protocol::Any {
                    icmp_ports
                } else {
                    s.effective_ports()
                };
                let Some(slot) = entries.get_mut(target) else {
                    continue;
                };
                let table = &mut slot[bucket(s.direction, protocol)];
                for net in &s.peers {
                    table
                        .entry((net.prefix_len(), bounds(net).0))
                        .or_default()
                        .push((key, ports));
                }
            }
        }
        let tables = entries
            .into_iter()
            .map(|buckets| buckets.map(build_table))
            .collect();

        // Pool membership: cut the address space at every pool entry's bounds; each segment
        // lists the target tables of the pools covering it.
        let mut spans: Vec<(u32, u32, usize)> = Vec::new();
        for pool in pools {
            if let Some(&target) = target_ids.get(pool.name.as_str()) {
                for net in &pool.nodes {
                    let (lo, hi) = bounds(net);
                    spans.push((lo, hi, target));
                }
            }
        }
        // Sweep: +1 at a span's first address, -1 after its last.
        let mut events: Vec<(u64, bool, usize)> = Vec::with_capacity(spans.len() * 2 + 1);
        for (lo, hi, target) in &spans {
            events.push((u64::from(*lo), true, *target));
            events.push((u64::from(*hi) + 1, false, *target));
        }
        events.sort_unstable();
        let mut active: BTreeMap<usize, usize> = BTreeMap::new();
        let mut pool_starts = vec![0u32];
        let mut pool_targets: Vec<Vec<usize>> = vec![Vec::new()];
        let mut i = 0;
        while i < events.len() {
            let at = events[i].0;
            while let Some(&(pos, opens, target)) = events.get(i)
                && pos == at
            {
                let count = active.entry(target).or_default();
                if opens {
                    *count += 1;
                } else {
                    *count = count.saturating_sub(1);
                }
                if *count == 0 {
                    active.remove(&target);
                }
                i += 1;
            }
            let Ok(start) = u32::try_from(at) else {
                break;
            };
            let targets: Vec<usize> = active.keys().copied().collect();
            if pool_targets.last() == Some(&targets) {
                continue;
            }
            if pool_starts.last() == Some(&start) {
                pool_targets.pop();
                pool_starts.pop();
            }
            pool_starts.push(start);
            pool_targets.push(targets);
        }
        CustomerIndex {
            tables,
            pool_starts,
            pool_targets,
        }
    }

    /// The smallest key of a customer rule matching the packet (`u64::MAX`: none).
    pub(crate) fn lookup(
        &self,
        direction: Direction,
        protocol: PacketProtocol,
        port: u16,
        peer: Ipv4Addr,
        node: Ipv4Addr,
    ) -> u64 {
        let b = bucket(direction, protocol);
        let peer = u32::from(peer);
        let mut best = self
            .tables
            .first()
            .map_or(u64::MAX, |t| t[b].lookup(peer, port));
        let node = u32::from(node);
        let at = self.pool_starts.partition_point(|s| *s <= node);
        if let Some(targets) = at.checked_sub(1).and_then(|i| self.pool_targets.get(i)) {
            for &t in targets {
                if let Some(tables) = self.tables.get(t) {
                    best = best.min(tables[b].lookup(peer, port));
                }
            }
        }
        best
    }
}

fn build_table(entries: Entries<'_>) -> Table {
    let mut levels: Vec<Level> = Vec::new();
    // BTreeMap order: by prefix length, then network — each level comes out sorted.
    for ((len, network), rules) in entries {
        let map = PortMap::build(rules);
        match levels.last_mut() {
            Some(level) if level.mask == mask(len) => {
                level.networks.push(network);
                level.maps.push(map);
            }
            _ => levels.push(Level {
                mask: mask(len),
                networks: vec![network],
                maps: vec![map],
            }),
        }
    }
    Table { levels }
}

fn mask(len: u8) -> u32 {
    u32::from(Ipv4Net::new(Ipv4Addr::BROADCAST, len).map_or(Ipv4Addr::BROADCAST, |n| n.netmask()))
}
