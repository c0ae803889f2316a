//! Quantities: the accepted forms, the refusals and the canonical round trip.

use proptest::prelude::*;

use crate::quantity::{GIB, KIB, TIB, format_quantity, gib_ceil, parse_quantity};

#[test]
fn accepts_binary_decimal_plain_and_exact_fractions() {
    assert_eq!(parse_quantity("100Gi"), Ok(100 * GIB));
    assert_eq!(parse_quantity("1Ti"), Ok(TIB));
    assert_eq!(parse_quantity("500G"), Ok(500_000_000_000));
    assert_eq!(parse_quantity("1.5Ti"), Ok(TIB + TIB / 2));
    assert_eq!(parse_quantity("0.5Gi"), Ok(GIB / 2));
    assert_eq!(parse_quantity("2k"), Ok(2000));
    assert_eq!(parse_quantity("1024"), Ok(1024));
    assert_eq!(parse_quantity("0"), Ok(0));
    assert_eq!(parse_quantity("007Ki"), Ok(7 * KIB));
    assert!(parse_quantity("16Ei").is_err(), "2^64 bytes overflows");
    assert_eq!(parse_quantity("15Ei"), Ok(15 << 60));
}

#[test]
fn refuses_signs_exponents_milli_unknown_suffixes_and_partial_bytes() {
    for bad in [
        "", "-1Gi", "+1Gi", "1e9", "1E3Gi", "100m", "1 Gi", "1gi", "1GB", "1.", ".5Gi", "1.2.3Gi",
        "Gi", "1.5", "0.1Ki", "1x",
    ] {
        assert!(parse_quantity(bad).is_err(), "{bad:?} was accepted");
    }
}

#[test]
fn refuses_overflow_and_long_input_without_echoing_it() {
    let err = parse_quantity("99999999999999999999Gi").unwrap_err();
    assert!(err.contains("larger than"), "{err}");
    let long = "1".repeat(10_000);
    let err = parse_quantity(&long).unwrap_err();
    assert!(err.len() < 100, "{err}");
    let junk = format!("1{}", "z".repeat(20));
    let err = parse_quantity(&junk).unwrap_err();
    assert!(err.len() < 200, "{err}");
}

#[test]
fn formats_canonically() {
    assert_eq!(format_quantity(0), "0");
    assert_eq!(format_quantity(GIB), "1Gi");
    assert_eq!(format_quantity(TIB + TIB / 2), "1536Gi");
    assert_eq!(format_quantity(10 * TIB), "10Ti");
    assert_eq!(format_quantity(500_000_000_000), "500G");
    assert_eq!(format_quantity(1023), "1023");
    assert_eq!(format_quantity(1000), "1k");
    assert_eq!(gib_ceil(GIB + 1), 2);
}

proptest! {
    #[test]
    fn format_then_parse_is_identity(bytes in any::<u64>()) {
        prop_assert_eq!(parse_quantity(&format_quantity(bytes)), Ok(bytes));
    }

    #[test]
    fn whole_units_parse_exactly(n in 0u64..1_000_000, unit in 0usize..4) {
        let (suffix, mult) = [("Ki", KIB), ("Gi", GIB), ("Ti", TIB), ("G", 1_000_000_000)][unit];
        prop_assert_eq!(parse_quantity(&format!("{n}{suffix}")), Ok(n * mult));
    }

    #[test]
    fn never_panics(s in ".{0,40}") {
        let _ = parse_quantity(&s);
    }
}
