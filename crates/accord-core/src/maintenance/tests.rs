//! Maintenance windows: parsing, when a window is open, the next opening, validation.

use time::macros::datetime;

use super::*;

fn schedule(windows: &[&str], exclusions: &[&str]) -> MaintenanceSchedule {
    MaintenanceSchedule {
        windows: windows
            .iter()
            .map(|w| MaintenanceWindow::parse(w).unwrap_or_else(|e| panic!("{w}: {e}")))
            .collect(),
        exclusions: exclusions
            .iter()
            .map(|e| MaintenanceExclusion::parse(e).unwrap_or_else(|err| panic!("{e}: {err}")))
            .collect(),
    }
}

#[test]
fn windows_parse_and_print_in_one_spelling() {
    for (text, printed) in [
        ("sat,sun 02:00+4h", "sat,sun 02:00+4h"),
        ("daily 22:00+90m", "daily 22:00+1h30m"),
        ("mon-fri 01:30+1h30m", "mon,tue,wed,thu,fri 01:30+1h30m"),
        ("SUN,sat 00:00+24h", "sat,sun 00:00+24h"),
    ] {
        let w = MaintenanceWindow::parse(text).unwrap_or_else(|e| panic!("{text}: {e}"));
        assert_eq!(w.to_string(), printed);
        assert_eq!(MaintenanceWindow::parse(printed), Ok(w));
    }
    for bad in [
        "",
        "sat",
        "sat 2:00+4h",
        "sat 24:00+4h",
        "sat 02:00",
        "sat 02:00+4",
        "sat 02:00+0m",
        "caturday 02:00+4h",
        "fri-mon 02:00+4h",
        "sat 02:00+99999h",
    ] {
        assert!(MaintenanceWindow::parse(bad).is_err(), "{bad:?} parsed");
    }
    let long = format!("{} 02:00+4h", "x".repeat(10_000));
    let err = MaintenanceWindow::parse(&long).err().unwrap_or_default();
    assert!(
        err.len() < 300,
        "the error echoes the input: {} bytes",
        err.len()
    );
}

#[test]
fn a_window_is_open_from_its_start_for_its_duration_even_past_midnight() {
    // 2026-12-05 is a Saturday.
    let s = schedule(&["sat 22:00+4h"], &[]);
    assert!(!s.open_at(datetime!(2026-12-05 21:59:59 UTC)));
    assert!(s.open_at(datetime!(2026-12-05 22:00 UTC)));
    assert!(
        s.open_at(datetime!(2026-12-06 01:59 UTC)),
        "runs into Sunday"
    );
    assert!(!s.open_at(datetime!(2026-12-06 02:00 UTC)));
    assert!(!s.open_at(datetime!(2026-12-06 22:30 UTC)), "not on Sunday");
    let daily = schedule(&["daily 03:00+1h"], &[]);
    for day in 1..=7 {
        let t = datetime!(2026-12-07 03:30 UTC) + Duration::days(day);
        assert!(daily.open_at(t), "{t}");
    }
    assert!(!MaintenanceSchedule::default().open_at(datetime!(2026-12-05 22:00 UTC)));
}

#[test]
fn exclusions_close_windows_and_push_the_next_opening() {
    let s = schedule(
        &["sat,sun 02:00+4h"],
        &["2026-12-05T00:00:00Z/2026-12-06T03:00:00Z"],
    );
    assert!(
        !s.open_at(datetime!(2026-12-05 02:30 UTC)),
        "excluded Saturday"
    );
    assert!(
        !s.open_at(datetime!(2026-12-06 02:30 UTC)),
        "excluded early Sunday"
    );
    assert!(
        s.open_at(datetime!(2026-12-06 03:30 UTC)),
        "open after the exclusion"
    );
    // From Friday, the first open moment is when the exclusion ends inside Sunday's window.
    assert_eq!(
        s.next_open(datetime!(2026-12-04 12:00 UTC)),
        Some(datetime!(2026-12-06 03:00 UTC))
    );
    // Inside an open window, the next opening is now.
    let now = datetime!(2026-12-12 03:00 UTC);
    assert_eq!(s.next_open(now), Some(now));
    // A window always excluded within the lookahead never opens.
    let never = schedule(
        &["mon 02:00+1h"],
        &["2026-12-01T00:00:00Z/2027-01-31T00:00:00Z"],
    );
    assert_eq!(never.next_open(datetime!(2026-12-04 12:00 UTC)), None);
    assert_eq!(MaintenanceSchedule::default().next_open(now), None);
}

#[test]
fn the_next_opening_is_the_earliest_of_every_window() {
    let s = schedule(&["sun 02:00+1h", "wed 23:00+2h"], &[]);
    // 2026-12-03 is a Thursday: Wednesday's window still runs until 01:00.
    assert_eq!(
        s.next_open(datetime!(2026-12-03 00:30 UTC)),
        Some(datetime!(2026-12-03 00:30 UTC))
    );
    assert_eq!(
        s.next_open(datetime!(2026-12-03 01:00 UTC)),
        Some(datetime!(2026-12-06 02:00 UTC))
    );
}

#[test]
fn validation_names_each_field() {
    let mut s = schedule(
        &["sat 02:00+4h"],
        &["2026-12-05T00:00:00Z/2026-12-06T00:00:00Z"],
    );
    s.windows.push(MaintenanceWindow {
        days: vec![Day::Mon, Day::Mon],
        start_minute: 24 * 60,
        duration_minutes: 5,
    });
    s.exclusions.push(MaintenanceExclusion {
        start: datetime!(2026-12-06 00:00 UTC),
        end: datetime!(2026-12-05 00:00 UTC),
        reason: "r".repeat(MAX_REASON + 1),
    });
    s.exclusions.push(MaintenanceExclusion {
        start: datetime!(2026-01-01 00:00 UTC),
        end: datetime!(2026-12-01 00:00 UTC),
        reason: String::new(),
    });
    let mut v = Violations::new();
    s.check(&mut v, "m.windows", "m.exclusions");
    let Err(crate::DomainError::InvalidArgument(fields)) = v.into_result() else {
        panic!("accepted");
    };
    let fields: Vec<_> = fields.iter().map(|f| f.field.as_str()).collect();
    assert_eq!(
        fields,
        [
            "m.windows[1].start",
            "m.windows[1].duration_minutes",
            "m.windows[1].days",
            "m.exclusions[1].end",
            "m.exclusions[1].reason",
            "m.exclusions[2]",
        ]
    );
    let many = MaintenanceSchedule {
        windows: vec![s.windows[0].clone(); MAX_WINDOWS + 1],
        exclusions: vec![s.exclusions[0].clone(); MAX_EXCLUSIONS + 1],
    };
    let mut v = Violations::new();
    many.check(&mut v, "m.windows", "m.exclusions");
    let Err(crate::DomainError::InvalidArgument(fields)) = v.into_result() else {
        panic!("accepted");
    };
    assert_eq!(fields.len(), 2);
    let mut v = Violations::new();
    schedule(&["daily 00:00+24h"], &[]).check(&mut v, "m.windows", "m.exclusions");
    assert!(v.is_empty());
}
