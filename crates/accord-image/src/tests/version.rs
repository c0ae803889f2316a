//! Image version labels: the format, the order, the next release, serde.

use proptest::prelude::*;
use time::macros::date;

use crate::ImageVersion;

fn v(s: &str) -> ImageVersion {
    s.parse().unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn parses_and_prints_the_calendar_form() {
    let x = v("2026.09.12");
    assert_eq!((x.year, x.month, x.n), (2026, 9, 12));
    assert_eq!(x.to_string(), "2026.09.12");
}

#[test]
fn refuses_other_forms() {
    for bad in [
        "",
        "2026.9.0",
        "2026.13.0",
        "2026.00.0",
        "2026.09.01",
        "1999.01.0",
        "2026.09",
        "2026.09.0.1",
        "v2026.09.0",
        "2026.09.-1",
        "2026.09.x",
        "26.09.0",
        "2026.09.99999999999",
    ] {
        let err = bad.parse::<ImageVersion>().unwrap_err();
        assert!(err.contains("YYYY.MM.N"), "{bad}: {err}");
    }
}

#[test]
fn orders_numerically() {
    assert!(v("2026.09.10") > v("2026.09.9"));
    assert!(v("2026.09.9") > v("2026.08.20"));
    assert!(v("2027.01.0") > v("2026.12.5"));
    let mut all = vec![v("2026.10.0"), v("2026.09.10"), v("2026.09.2")];
    all.sort();
    assert_eq!(all, [v("2026.09.2"), v("2026.09.10"), v("2026.10.0")]);
}

#[test]
fn next_starts_a_new_month_or_counts_within_one() {
    assert_eq!(v("2026.11.0").next(date!(2026 - 12 - 04)), v("2026.12.0"));
    assert_eq!(v("2026.12.0").next(date!(2026 - 12 - 20)), v("2026.12.1"));
    assert_eq!(v("2026.12.3").next(date!(2027 - 01 - 02)), v("2027.01.0"));
    // A clock behind the last release still moves forward.
    assert_eq!(v("2026.12.3").next(date!(2026 - 10 - 01)), v("2026.12.4"));
}

#[test]
fn serde_uses_the_label() {
    let json = serde_json::to_string(&v("2026.12.0")).unwrap();
    assert_eq!(json, "\"2026.12.0\"");
    assert_eq!(
        serde_json::from_str::<ImageVersion>(&json).unwrap(),
        v("2026.12.0")
    );
    assert!(serde_json::from_str::<ImageVersion>("\"2026.1.0\"").is_err());
}

proptest! {
    #[test]
    fn next_is_always_greater(year in 2000u16..=2100, month in 1u8..=12, n in 0u32..1000,
                              days in 0i64..100_000) {
        let current = ImageVersion { year, month, n };
        let today = date!(2000 - 01 - 01) + time::Duration::days(days);
        prop_assert!(current.next(today) > current);
    }

    #[test]
    fn display_round_trips(year in 2000u16..=9999, month in 1u8..=12, n in 0u32..u32::MAX) {
        let x = ImageVersion { year, month, n };
        prop_assert_eq!(x.to_string().parse::<ImageVersion>(), Ok(x));
    }
}
