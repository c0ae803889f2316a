//! Properties of the canonical form: the bytes do not depend on key order or whitespace of the
//! input, re-serialisation is the identity, and the id changes when any field changes.

use proptest::prelude::*;
use serde_json::Value;

use super::production;
use crate::{Manifest, canonical_bytes, manifest_id, parse_canonical, parse_manifest_json};

/// `value` as JSON with every object's keys in an order drawn from `seed` and random
/// whitespace between tokens.
fn scrambled(value: &Value, seed: &mut u64, out: &mut String) {
    fn draw(seed: &mut u64) -> usize {
        *seed = seed
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (*seed >> 33) as usize
    }
    let space = |n: usize| [" ", "", "\n  ", "\t"][n % 4];
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            for i in (1..keys.len()).rev() {
                keys.swap(i, draw(seed) % (i + 1));
            }
            out.push('{');
            for (i, k) in keys.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(space(draw(seed)));
                out.push_str(&serde_json::to_string(k).unwrap());
                out.push_str(space(draw(seed)));
                out.push(':');
                scrambled(&map[k.as_str()], seed, out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                scrambled(item, seed, out);
            }
            out.push(']');
        }
        other => {
            out.push_str(space(draw(seed)));
            out.push_str(&serde_json::to_string(other).unwrap());
        }
    }
}

/// Changes one field of `m` (chosen by `which`) by appending `suffix` or adding an entry.
fn mutate(m: &mut Manifest, which: usize, suffix: &str) {
    match which % 20 {
        0 => m.api_version.push_str(suffix),
        1 => m.os.id.push_str(suffix),
        2 => m.os.version_id.push_str(suffix),
        3 => m.kernel.version.push_str(suffix),
        4 => m.containerd.version.push_str(suffix),
        5 => m.runc.version.push_str(suffix),
        6 => {
            m.kubelet.insert(format!("9.{suffix}"), suffix.into());
        }
        7 => m.kubelet.values_mut().for_each(|v| v.push_str(suffix)),
        8 => m.gpu_driver.branch.push_str(suffix),
        9 => m.gpu_driver.version.push_str(suffix),
        10 => m.fabric_manager.version.push_str(suffix),
        11 => m.doca_ofed.version.push_str(suffix),
        12 => m.cuda_compat.version.push_str(suffix),
        13 => {
            m.firmware.insert(format!("fw{suffix}"), "1".into());
        }
        14 => m.firmware.values_mut().for_each(|v| v.push_str(suffix)),
        15 => {
            m.instance_types.insert(format!("x{suffix}"));
        }
        16 => {
            m.base.sysctls.insert(format!("net.{suffix}"), "1".into());
        }
        17 => m.base.kernel_args.push(suffix.into()),
        18 => m.base.kernel_args.reverse(),
        _ => m.base.hardening.push_str(suffix),
    }
}

fn arbitrary_manifest() -> impl Strategy<Value = Manifest> {
    let s = || any::<String>().prop_map(|s| s.chars().take(12).collect::<String>());
    (
        (s(), s(), s(), s(), s()),
        proptest::collection::btree_map(s(), s(), 0..4),
        proptest::collection::btree_set(s(), 0..4),
        proptest::collection::vec(s(), 0..4),
    )
        .prop_map(|((a, b, c, d, e), map, set, list)| {
            let mut m = Manifest {
                api_version: a,
                kubelet: map.clone(),
                firmware: map.clone(),
                instance_types: set,
                ..Manifest::default()
            };
            m.os.id = b;
            m.kernel.version = c;
            m.gpu_driver.version = d;
            m.base.hardening = e;
            m.base.sysctls = map;
            m.base.kernel_args = list;
            m
        })
}

proptest! {
    #[test]
    fn canonical_bytes_ignore_key_order_and_whitespace(seed in any::<u64>()) {
        let m = production();
        let canonical = canonical_bytes(&m).unwrap();
        let mut text = String::new();
        let mut state = seed;
        scrambled(&serde_json::to_value(&m).unwrap(), &mut state, &mut text);
        let reparsed = parse_manifest_json(text.as_bytes()).unwrap();
        prop_assert_eq!(canonical_bytes(&reparsed).unwrap(), canonical);
    }

    #[test]
    fn reserialising_canonical_bytes_is_the_identity(m in arbitrary_manifest()) {
        let bytes = canonical_bytes(&m).unwrap();
        let back = parse_canonical(&bytes).unwrap();
        prop_assert_eq!(&back, &m);
        prop_assert_eq!(canonical_bytes(&back).unwrap(), bytes);
    }

    #[test]
    fn the_id_changes_when_any_field_changes(which in 0usize..20, suffix in "[a-z0-9]{1,8}") {
        let original = production();
        let mut changed = original.clone();
        mutate(&mut changed, which, &suffix);
        prop_assume!(changed != original);
        prop_assert_ne!(manifest_id(&changed).unwrap(), manifest_id(&original).unwrap());
    }
}
