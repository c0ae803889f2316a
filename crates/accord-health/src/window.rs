//! The two pieces of memory the rules keep besides previous values: a sliding [`Window`] of
//! event counts (per-minute and per-hour rules) and an [`Episode`] (sustained conditions).
//!
//! A window is [`SLOTS`] fixed slots of `slot_ms` each (5 s for a minute, 5 min for an hour):
//! 56 bytes whatever the event rate or the sample interval, so a node's memory does not depend
//! on what it reports. It counts the events of the last `SLOTS - 1` whole slots plus the
//! current one — between 55 and 60 minutes of an hour, 55 and 60 s of a minute.
//!
//! Attribution: the events a sample's counter gained happened some time in the `elapsed_ms`
//! since the previous sample. When that gap is shorter than the window they all go to the
//! current slot (they are certainly inside the window now; they may stay in it up to one gap
//! longer than they should). When the gap is longer than the window, only the window's share
//! of them is counted (`amount × window / gap`, the rate over the gap): 3 link drops over a
//! 2-hour silence are not "3 within an hour".

/// Slots per window.
pub const SLOTS: usize = 12;

/// Slot length of the per-minute windows, ms (12 × 5 s = 1 min).
pub const MINUTE_SLOT_MS: i64 = 5_000;

/// Slot length of the per-hour windows, ms (12 × 5 min = 1 h).
pub const HOUR_SLOT_MS: i64 = 300_000;

/// Event counts over the last `SLOTS × slot_ms`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    /// Slot number (`ts_ms / slot_ms`) of the newest slot; `i64::MIN` before the first event.
    head: i64,
    /// Counts, ring-indexed by slot number (saturating).
    slots: [u32; SLOTS],
}

impl Default for Window {
    fn default() -> Self {
        Window {
            head: i64::MIN,
            slots: [0; SLOTS],
        }
    }
}

impl Window {
    /// Records `amount` events that happened in the `elapsed_ms` before `ts_ms`, and returns
    /// the events in the window ending at `ts_ms`. `ts_ms` never goes backwards for one window
    /// (the checker drops out-of-order samples before they reach a rule).
    pub fn record(&mut self, ts_ms: i64, elapsed_ms: i64, amount: u64, slot_ms: i64) -> u64 {
        let slot = ts_ms.div_euclid(slot_ms.max(1));
        self.advance(slot);
        let window_ms = slot_ms.saturating_mul(SLOTS as i64);
        let counted = if elapsed_ms > window_ms {
            let share = u128::from(amount) * window_ms.unsigned_abs() as u128
                / elapsed_ms.unsigned_abs() as u128;
            u64::try_from(share).unwrap_or(u64::MAX)
        } else {
            amount
        };
        let index = Self::index(self.head);
        if let Some(count) = self.slots.get_mut(index) {
            *count = count.saturating_add(u32::try_from(counted).unwrap_or(u32::MAX));
        }
        self.slots.iter().map(|&c| u64::from(c)).sum()
    }

    /// Moves the head to `slot`, clearing the slots that fell out of the window.
    fn advance(&mut self, slot: i64) {
        if self.head == i64::MIN || slot.saturating_sub(self.head) >= SLOTS as i64 {
            self.slots = [0; SLOTS];
            self.head = slot;
            return;
        }
        while self.head < slot {
            self.head += 1;
            if let Some(count) = self.slots.get_mut(Self::index(self.head)) {
                *count = 0;
            }
        }
    }

    fn index(slot: i64) -> usize {
        // rem_euclid of a positive modulus is in 0..SLOTS.
        usize::try_from(slot.rem_euclid(SLOTS as i64)).unwrap_or(0)
    }
}

/// A condition that lasts: since when it holds, and whether its finding was raised.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Episode {
    /// `ts_ms` of the first sample of the episode; `None` when the condition does not hold.
    pub since: Option<i64>,
    /// The episode's one finding was raised.
    pub raised: bool,
}

impl Episode {
    /// Feeds one sample's condition; returns the episode start when the episode has lasted
    /// `after_ms` and its finding is due (once per episode). A false condition ends it.
    pub fn observe(&mut self, holds: bool, ts_ms: i64, after_ms: i64) -> Option<i64> {
        if !holds {
            *self = Episode::default();
            return None;
        }
        let since = *self.since.get_or_insert(ts_ms);
        if !self.raised && ts_ms.saturating_sub(since) >= after_ms {
            self.raised = true;
            return Some(since);
        }
        None
    }

    /// Starts the episode over at `ts_ms` (the condition ended and began again between two
    /// samples).
    pub fn restart(&mut self, ts_ms: i64) {
        *self = Episode {
            since: Some(ts_ms),
            raised: false,
        };
    }

    /// The condition holds and its finding was raised.
    pub fn active(&self) -> bool {
        self.since.is_some() && self.raised
    }
}

/// A windowed counter rule's memory: the counter's last value, its window, and whether the
/// rule is tripped (raised, and not yet back under its limit).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counter {
    /// The counter in the previous sample.
    pub prev: u64,
    /// Its increments.
    pub window: Window,
    /// Raised, and the window has not yet fallen back to the limit.
    pub tripped: bool,
}
