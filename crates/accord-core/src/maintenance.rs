//! Maintenance windows: when AutoClusters may carry out preventive (non-urgent) remediations.
//!
//! A cluster's [`MaintenanceSchedule`] is a set of recurring weekly windows (days of the week,
//! an opening time in UTC and a duration of up to a day, so a window may run past midnight)
//! and exclusions (absolute periods, e.g. a launch week, during which no window opens). A
//! schedule without windows has no maintenance windows at all: the policy is told none is open
//! and preventive actions are answered with what to do meanwhile, as before windows existed.
//!
//! Spelling (the CLI's and `accord describe`'s): a window is `DAYS HH:MM+DURATION`, where
//! DAYS is `daily` or a comma list of `mon`…`sun` and ranges (`mon-fri`), and DURATION is
//! `4h`, `90m` or `1h30m`, e.g. `sat,sun 02:00+4h`; an exclusion is `START/END` in RFC 3339.
//!
//! Pure and bounded: at most [`MAX_WINDOWS`] windows and [`MAX_EXCLUSIONS`] exclusions, so
//! [`MaintenanceSchedule::next_open`] looks at a fixed number of candidate times.

use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime, Time, Weekday, format_description::well_known::Rfc3339};

use crate::error::{Violations, echo};

/// Most recurring windows per cluster.
pub const MAX_WINDOWS: usize = 8;
/// Most exclusions per cluster.
pub const MAX_EXCLUSIONS: usize = 16;
/// Shortest window, in minutes.
pub const MIN_WINDOW_MINUTES: u16 = 15;
/// Longest window, in minutes (a day).
pub const MAX_WINDOW_MINUTES: u16 = 24 * 60;
/// Longest exclusion.
pub const MAX_EXCLUSION: Duration = Duration::days(92);
/// Longest exclusion reason, in bytes.
pub const MAX_REASON: usize = 256;
/// How far ahead [`MaintenanceSchedule::next_open`] looks.
pub const LOOKAHEAD: Duration = Duration::days(14);

/// A day of the week.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Day {
    /// Monday.
    Mon,
    /// Tuesday.
    Tue,
    /// Wednesday.
    Wed,
    /// Thursday.
    Thu,
    /// Friday.
    Fri,
    /// Saturday.
    Sat,
    /// Sunday.
    Sun,
}

impl Day {
    /// Monday first.
    pub const ALL: [Day; 7] = [
        Day::Mon,
        Day::Tue,
        Day::Wed,
        Day::Thu,
        Day::Fri,
        Day::Sat,
        Day::Sun,
    ];

    /// Three-letter lowercase name.
    pub fn as_str(self) -> &'static str {
        match self {
            Day::Mon => "mon",
            Day::Tue => "tue",
            Day::Wed => "wed",
            Day::Thu => "thu",
            Day::Fri => "fri",
            Day::Sat => "sat",
            Day::Sun => "sun",
        }
    }

    /// The day named `s` (`mon`…`sun`, any case).
    pub fn parse(s: &str) -> Option<Day> {
        let s = s.to_ascii_lowercase();
        Self::ALL.into_iter().find(|d| d.as_str() == s)
    }

    fn of(w: Weekday) -> Day {
        match w {
            Weekday::Monday => Day::Mon,
            Weekday::Tuesday => Day::Tue,
            Weekday::Wednesday => Day::Wed,
            Weekday::Thursday => Day::Thu,
            Weekday::Friday => Day::Fri,
            Weekday::Saturday => Day::Sat,
            Weekday::Sunday => Day::Sun,
        }
    }
}

/// A recurring weekly window.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MaintenanceWindow {
    /// Days it opens on (in UTC); empty: every day.
    #[serde(default)]
    pub days: Vec<Day>,
    /// Opening time, minutes after midnight UTC (0–1439).
    pub start_minute: u16,
    /// How long it stays open, in minutes ([`MIN_WINDOW_MINUTES`]–[`MAX_WINDOW_MINUTES`]).
    pub duration_minutes: u16,
}

/// A period during which no window opens.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MaintenanceExclusion {
    /// From (inclusive).
    #[serde(with = "time::serde::rfc3339")]
    pub start: OffsetDateTime,
    /// Until (exclusive).
    #[serde(with = "time::serde::rfc3339")]
    pub end: OffsetDateTime,
    /// Why (shown to whoever wonders why nothing happened).
    #[serde(default)]
    pub reason: String,
}

/// A cluster's maintenance windows and exclusions.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MaintenanceSchedule {
    /// Recurring windows; empty: the cluster has no maintenance windows.
    #[serde(default)]
    pub windows: Vec<MaintenanceWindow>,
    /// Periods when no window opens.
    #[serde(default)]
    pub exclusions: Vec<MaintenanceExclusion>,
}

impl MaintenanceWindow {
    /// Parses `DAYS HH:MM+DURATION` (see the module docs); the error says what is wrong
    /// without repeating more than a bounded part of the input.
    pub fn parse(s: &str) -> Result<Self, String> {
        let usage =
            "expected DAYS HH:MM+DURATION, e.g. \"sat,sun 02:00+4h\" or \"daily 22:00+90m\"";
        let (days, rest) = s.trim().split_once(' ').ok_or_else(|| usage.to_owned())?;
        let (start, duration) = rest
            .trim()
            .split_once('+')
            .ok_or_else(|| usage.to_owned())?;
        let days = parse_days(days.trim())?;
        let start = parse_hhmm(start.trim())?;
        let duration = parse_duration(duration.trim())?;
        Ok(Self {
            days,
            start_minute: start,
            duration_minutes: duration,
        })
    }

    fn opens_on(&self, day: Day) -> bool {
        self.days.is_empty() || self.days.contains(&day)
    }

    /// The openings of this window that could cover any time in `[from, to)`: one per day
    /// from the day before `from`.
    fn openings(
        &self,
        from: OffsetDateTime,
        to: OffsetDateTime,
    ) -> impl Iterator<Item = (OffsetDateTime, OffsetDateTime)> + '_ {
        let first = from.date().previous_day().unwrap_or(from.date());
        let start = Time::from_hms(
            u8::try_from(self.start_minute / 60).unwrap_or(0),
            u8::try_from(self.start_minute % 60).unwrap_or(0),
            0,
        )
        .unwrap_or(Time::MIDNIGHT);
        let len = Duration::minutes(i64::from(self.duration_minutes));
        (0..)
            .map_while(move |d| {
                let date = first.checked_add(Duration::days(d))?;
                let opens = date.with_time(start).assume_utc();
                (opens < to).then_some((date, opens))
            })
            .filter(move |(date, _)| self.opens_on(Day::of(date.weekday())))
            .map(move |(_, opens)| (opens, opens + len))
            .filter(move |(_, closes)| *closes > from)
    }
}

impl std::fmt::Display for MaintenanceWindow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let days = if self.days.is_empty() {
            "daily".to_owned()
        } else {
            self.days
                .iter()
                .map(|d| d.as_str())
                .collect::<Vec<_>>()
                .join(",")
        };
        let (h, m) = (self.duration_minutes / 60, self.duration_minutes % 60);
        let duration = match (h, m) {
            (0, m) => format!("{m}m"),
            (h, 0) => format!("{h}h"),
            (h, m) => format!("{h}h{m}m"),
        };
        write!(
            f,
            "{days} {:02}:{:02}+{duration}",
            self.start_minute / 60,
            self.start_minute % 60
        )
    }
}

impl MaintenanceExclusion {
    /// Parses `START/END` (RFC 3339 both).
    pub fn parse(s: &str) -> Result<Self, String> {
        let usage =
            "expected START/END in RFC 3339, e.g. 2026-12-20T00:00:00Z/2027-01-04T00:00:00Z";
        let (start, end) = s.trim().split_once('/').ok_or_else(|| usage.to_owned())?;
        let time = |v: &str| {
            OffsetDateTime::parse(v.trim(), &Rfc3339)
                .map_err(|_| format!("{} is not an RFC 3339 time; {usage}", echo(v)))
        };
        Ok(Self {
            start: time(start)?,
            end: time(end)?,
            reason: String::new(),
        })
    }

    fn covers(&self, t: OffsetDateTime) -> bool {
        self.start <= t && t < self.end
    }
}

impl std::fmt::Display for MaintenanceExclusion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let t = |v: OffsetDateTime| v.format(&Rfc3339).unwrap_or_default();
        write!(f, "{}/{}", t(self.start), t(self.end))?;
        if !self.reason.is_empty() {
            write!(f, " ({})", self.reason)?;
        }
        Ok(())
    }
}

impl MaintenanceSchedule {
    /// Whether the cluster has maintenance windows at all.
    pub fn is_empty(&self) -> bool {
        self.windows.is_empty()
    }

    /// Whether a window is open at `now` (and no exclusion covers it).
    pub fn open_at(&self, now: OffsetDateTime) -> bool {
        !self.excluded(now)
            && self.windows.iter().any(|w| {
                w.openings(now, now + Duration::seconds(1))
                    .any(|(opens, closes)| opens <= now && now < closes)
            })
    }

    fn excluded(&self, t: OffsetDateTime) -> bool {
        self.exclusions.iter().any(|e| e.covers(t))
    }

    /// The first time at or after `now` when a window is open, within [`LOOKAHEAD`]; `None`
    /// when no window opens that soon (or there are none).
    pub fn next_open(&self, now: OffsetDateTime) -> Option<OffsetDateTime> {
        let horizon = now + LOOKAHEAD;
        let mut intervals: Vec<(OffsetDateTime, OffsetDateTime)> = self
            .windows
            .iter()
            .flat_map(|w| w.openings(now, horizon))
            .map(|(opens, closes)| (opens.max(now), closes))
            .collect();
        intervals.sort();
        intervals.into_iter().find_map(|(mut t, closes)| {
            // Skip past the exclusions covering `t`: each pass moves `t` forward, and there
            // are at most MAX_EXCLUSIONS of them.
            for _ in 0..=self.exclusions.len() {
                match self.exclusions.iter().find(|e| e.covers(t)) {
                    Some(e) => t = e.end,
                    None => break,
                }
            }
            (t < closes && !self.excluded(t)).then_some(t)
        })
    }

    /// Records every problem with the schedule, naming the windows' and exclusions' fields
    /// `{windows}[i].…` and `{exclusions}[i].…`.
    pub fn check(&self, v: &mut Violations, windows: &str, exclusions: &str) {
        if self.windows.len() > MAX_WINDOWS {
            v.add(windows.to_owned(), format!("at most {MAX_WINDOWS} windows"));
        }
        if self.exclusions.len() > MAX_EXCLUSIONS {
            v.add(
                exclusions.to_owned(),
                format!("at most {MAX_EXCLUSIONS} exclusions"),
            );
        }
        for (i, w) in self.windows.iter().enumerate().take(MAX_WINDOWS) {
            if w.start_minute >= 24 * 60 {
                v.add(
                    format!("{windows}[{i}].start"),
                    "must be a time of day, 00:00 to 23:59",
                );
            }
            if !(MIN_WINDOW_MINUTES..=MAX_WINDOW_MINUTES).contains(&w.duration_minutes) {
                v.add(
                    format!("{windows}[{i}].duration_minutes"),
                    format!(
                        "must be between {MIN_WINDOW_MINUTES} minutes and {} hours",
                        MAX_WINDOW_MINUTES / 60
                    ),
                );
            }
            let mut days = w.days.clone();
            days.sort();
            days.dedup();
            if days.len() != w.days.len() {
                v.add(format!("{windows}[{i}].days"), "names a day twice");
            }
        }
        for (i, e) in self.exclusions.iter().enumerate().take(MAX_EXCLUSIONS) {
            if e.end <= e.start {
                v.add(format!("{exclusions}[{i}].end"), "must be after its start");
            } else if e.end - e.start > MAX_EXCLUSION {
                v.add(
                    format!("{exclusions}[{i}]"),
                    format!("lasts at most {} days", MAX_EXCLUSION.whole_days()),
                );
            }
            if e.reason.len() > MAX_REASON {
                v.add(
                    format!("{exclusions}[{i}].reason"),
                    format!("at most {MAX_REASON} bytes"),
                );
            }
        }
    }
}

fn parse_days(s: &str) -> Result<Vec<Day>, String> {
    if s.eq_ignore_ascii_case("daily") {
        return Ok(Vec::new());
    }
    let mut days = Vec::new();
    for part in s.split(',') {
        let bad = || {
            format!(
                "{} is not a day: use mon…sun, a range like mon-fri, or daily",
                echo(part)
            )
        };
        match part.split_once('-') {
            Some((a, b)) => {
                let (a, b) = (
                    Day::parse(a).ok_or_else(bad)?,
                    Day::parse(b).ok_or_else(bad)?,
                );
                if b < a {
                    return Err(format!(
                        "{} runs backwards: write it from Monday's side",
                        echo(part)
                    ));
                }
                days.extend(Day::ALL.into_iter().filter(|d| (a..=b).contains(d)));
            }
            None => days.push(Day::parse(part).ok_or_else(bad)?),
        }
    }
    days.sort();
    days.dedup();
    Ok(days)
}

fn parse_hhmm(s: &str) -> Result<u16, String> {
    let bad = || format!("{} is not a time of day (HH:MM, UTC)", echo(s));
    let (h, m) = s.split_once(':').ok_or_else(bad)?;
    let (h, m) = (
        h.parse::<u16>().map_err(|_| bad())?,
        m.parse::<u16>().map_err(|_| bad())?,
    );
    if h > 23 || m > 59 || s.len() != 5 {
        return Err(bad());
    }
    Ok(h * 60 + m)
}

fn parse_duration(s: &str) -> Result<u16, String> {
    let bad = || format!("{} is not a duration (e.g. 4h, 90m, 1h30m)", echo(s));
    let (hours, rest) = match s.split_once('h') {
        Some((h, rest)) => (h.parse::<u16>().map_err(|_| bad())?, rest),
        None => (0, s),
    };
    let minutes = match rest {
        "" => 0,
        m => m
            .strip_suffix('m')
            .ok_or_else(bad)?
            .parse::<u16>()
            .map_err(|_| bad())?,
    };
    hours
        .checked_mul(60)
        .and_then(|h| h.checked_add(minutes))
        .filter(|&d| d > 0)
        .ok_or_else(bad)
}

#[cfg(test)]
mod tests;
