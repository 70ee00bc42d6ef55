//! Maintenance windows, pure rules: times in IANA zones (DST included), the lifecycle states and
//! which stages an update may move a window to.

use super::types::Invalid;
use crate::clock::{Millis, DAY, MINUTE};
use jiff::civil::DateTime;
use jiff::tz::{AmbiguousOffset, TimeZone};
use jiff::Timestamp;

/// The longest window, end minus start.
pub const MAX_WINDOW: Millis = 30 * DAY;
/// The longest reminder lead: a week.
pub const MAX_REMINDER_MINUTES: i64 = 10_080;
/// The reminder lead when a caller gives none.
pub const DEFAULT_REMINDER_MINUTES: i64 = 60;
/// Posted when a window starts and the caller (or the scheduler) gives no message.
pub const START_MESSAGE: &str = "Scheduled maintenance is now in progress.";
/// Posted when a window completes and the caller (or the scheduler) gives no message.
pub const COMPLETE_MESSAGE: &str = "Scheduled maintenance has been completed.";
/// Posted when a window is cancelled without a message.
pub const CANCEL_MESSAGE: &str = "This scheduled maintenance has been cancelled.";

/// A known IANA time zone, kept with its canonical name.
#[derive(Debug, Clone)]
pub struct Zone {
    name: String,
    tz: TimeZone,
}

impl Zone {
    /// An IANA name such as `Europe/London` or `UTC` (case-insensitive; stored canonically).
    pub fn parse(name: &str) -> Result<Zone, Invalid> {
        let bad = || Invalid(format!("unknown time zone '{name}'; use an IANA name like Europe/London or UTC"));
        if name.is_empty() || name.len() > 64 || name.contains("..") {
            return Err(bad());
        }
        let tz = TimeZone::get(name).map_err(|_| bad())?;
        let canonical = tz.iana_name().unwrap_or(name).to_string();
        Ok(Zone { name: canonical, tz })
    }

    /// The canonical IANA name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Parses an instant: RFC 3339 with an offset (`2027-03-28T09:00:00Z`, `...+01:00`), or a
    /// local date-time without one (`2027-03-28T09:00:00`), read as wall-clock time in this zone.
    /// A local time that the clocks skip, or that happens twice, is refused: the caller must
    /// say which instant they mean.
    pub fn instant(&self, s: &str) -> Result<Millis, Invalid> {
        if let Ok(ts) = s.parse::<Timestamp>() {
            return Ok(ts.as_millisecond());
        }
        let dt: DateTime = s.parse().map_err(|_| {
            Invalid(
                "must be an RFC 3339 timestamp like 2027-03-28T09:00:00Z, or a local date-time like \
                 2027-03-28T09:00:00 in time_zone"
                    .into(),
            )
        })?;
        let ambiguous = self.tz.to_ambiguous_timestamp(dt);
        match ambiguous.offset() {
            AmbiguousOffset::Unambiguous { .. } => {}
            AmbiguousOffset::Gap { .. } => {
                return Err(Invalid(format!(
                    "{dt} does not exist in {}: the clocks go forward over it; pick a time outside the gap",
                    self.name
                )))
            }
            AmbiguousOffset::Fold { before, after } => {
                let (a, b) = (rfc_offset(before), rfc_offset(after));
                return Err(Invalid(format!(
                    "{dt} happens twice in {} (the clocks go back); say which with an offset: {dt}{a} or {dt}{b}",
                    self.name
                )));
            }
        }
        ambiguous.unambiguous().map(|t| t.as_millisecond()).map_err(|_| Invalid("is out of range".into()))
    }

    /// An instant as wall-clock time in this zone, with its offset: `2027-03-28T03:30:00+01:00`.
    pub fn local(&self, ms: Millis) -> String {
        match Timestamp::from_millisecond(ms) {
            Ok(ts) => ts.to_zoned(self.tz.clone()).strftime("%Y-%m-%dT%H:%M:%S%:z").to_string(),
            Err(_) => String::new(),
        }
    }

    /// A short human form for messages: `2027-03-28 03:30 BST`.
    pub fn human(&self, ms: Millis) -> String {
        match Timestamp::from_millisecond(ms) {
            Ok(ts) => ts.to_zoned(self.tz.clone()).strftime("%Y-%m-%d %H:%M %Z").to_string(),
            Err(_) => String::new(),
        }
    }
}

/// An offset as RFC 3339 writes it: `+01:00`.
fn rfc_offset(o: jiff::tz::Offset) -> String {
    let s = o.seconds();
    let sign = if s < 0 { '-' } else { '+' };
    format!("{sign}{:02}:{:02}", s.abs() / 3600, s.abs() % 3600 / 60)
}

/// Checks a window's bounds: the end after the start, at most [`MAX_WINDOW`] apart.
/// The error names the field to blame.
pub fn check_window(starts_at: Millis, ends_at: Millis) -> Result<(), (&'static str, Invalid)> {
    if ends_at <= starts_at {
        return Err(("ends_at", Invalid("must be after starts_at".into())));
    }
    if ends_at - starts_at > MAX_WINDOW {
        return Err(("ends_at", Invalid("a window lasts at most 30 days".into())));
    }
    Ok(())
}

/// Checks a reminder lead in minutes (0 = no reminder).
pub fn check_reminder(minutes: i64) -> Result<i64, Invalid> {
    if (0..=MAX_REMINDER_MINUTES).contains(&minutes) {
        Ok(minutes)
    } else {
        Err(Invalid(format!("must be 0 (no reminder) to {MAX_REMINDER_MINUTES} (a week)")))
    }
}

/// When the reminder is due, if the window has one.
pub fn reminder_due_at(starts_at: Millis, reminder_minutes: i64) -> Option<Millis> {
    (reminder_minutes > 0).then(|| starts_at - reminder_minutes * MINUTE)
}

/// True when a window announced (or rescheduled) at `now` is already inside its reminder lead:
/// the announcement is the reminder, so no second message follows it.
pub fn announcement_is_reminder(starts_at: Millis, reminder_minutes: i64, now: Millis) -> bool {
    reminder_due_at(starts_at, reminder_minutes).is_some_and(|due| due <= now)
}

/// Where a window is in its life, from its timestamps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    Scheduled,
    InProgress,
    Completed,
    Cancelled,
}

impl State {
    /// The state a window's timestamps describe.
    pub fn of(started_at: Option<Millis>, completed_at: Option<Millis>, cancelled_at: Option<Millis>) -> State {
        match (started_at, completed_at, cancelled_at) {
            (_, _, Some(_)) => State::Cancelled,
            (_, Some(_), None) => State::Completed,
            (Some(_), None, None) => State::InProgress,
            (None, None, None) => State::Scheduled,
        }
    }

    /// The API's name for the state.
    pub fn key(self) -> &'static str {
        match self {
            State::Scheduled => "scheduled",
            State::InProgress => "in_progress",
            State::Completed => "completed",
            State::Cancelled => "cancelled",
        }
    }

    /// Completed or cancelled: nothing changes any more.
    pub fn is_finished(self) -> bool {
        matches!(self, State::Completed | State::Cancelled)
    }
}

/// A page's maintenance stages in order: first = scheduled, second = in progress,
/// second-to-last = completed, last = cancelled; any between are further in-progress stages.
#[derive(Debug, Clone)]
pub struct Stages(Vec<String>);

impl Stages {
    /// Needs at least four stages (the page's lifecycle settings guarantee it).
    pub fn new(keys: Vec<String>) -> Option<Stages> {
        (keys.len() >= 4).then_some(Stages(keys))
    }

    /// The stage of a freshly scheduled window.
    pub fn scheduled(&self) -> &str {
        &self.0[0]
    }

    /// The stage a window enters when it starts.
    pub fn in_progress(&self) -> &str {
        &self.0[1]
    }

    /// The stage of a completed window.
    pub fn completed(&self) -> &str {
        &self.0[self.0.len() - 2]
    }

    /// The stage of a cancelled window.
    pub fn cancelled(&self) -> &str {
        &self.0[self.0.len() - 1]
    }

    fn position(&self, key: &str) -> Option<usize> {
        self.0.iter().position(|k| k == key)
    }

    /// The stage an update may move a window to: a known stage, never backwards, never to the
    /// end stages (those have their own routes), and no in-progress stage before the start.
    pub fn for_update(&self, current: &str, state: State, wanted: &str) -> Result<String, Invalid> {
        let pos = self
            .position(wanted)
            .ok_or_else(|| Invalid(format!("unknown stage '{wanted}'; this page has {}", self.0.join(", "))))?;
        if pos < self.position(current).unwrap_or(0) {
            return Err(Invalid(format!("stages only move forward: the window is at '{current}'")));
        }
        let n = self.0.len();
        if pos == n - 2 {
            return Err(Invalid("to complete the window, POST .../complete".into()));
        }
        if pos == n - 1 {
            return Err(Invalid("to cancel the window, POST .../cancel".into()));
        }
        if pos >= 1 && state == State::Scheduled {
            return Err(Invalid("the window has not started; POST .../start first".into()));
        }
        Ok(wanted.to_string())
    }

    /// Checks a backfilled update's stage: an in-progress stage, at or after `from`.
    pub fn for_backfill(&self, from: usize, wanted: &str) -> Result<usize, Invalid> {
        let pos = self
            .position(wanted)
            .ok_or_else(|| Invalid(format!("unknown stage '{wanted}'; this page has {}", self.0.join(", "))))?;
        if pos < from {
            return Err(Invalid("stages only move forward".into()));
        }
        if pos == 0 || pos >= self.0.len() - 2 {
            return Err(Invalid("a backfilled update sits at an in-progress stage".into()));
        }
        Ok(pos)
    }

    /// The key at a position.
    pub fn at(&self, pos: usize) -> &str {
        &self.0[pos]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::{parse_rfc3339, HOUR};

    fn london() -> Zone {
        Zone::parse("Europe/London").unwrap()
    }

    #[test]
    fn zones_are_iana_names_stored_canonically() {
        assert_eq!(Zone::parse("europe/london").unwrap().name(), "Europe/London");
        assert_eq!(Zone::parse("UTC").unwrap().name(), "UTC");
        for bad in ["", "Mars/Olympus", "Europe/../etc/passwd", "+01:00", &"x".repeat(65)] {
            assert!(Zone::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn local_times_cross_the_spring_change_in_real_time() {
        let z = london();
        let start = z.instant("2026-03-29T00:30:00").unwrap();
        let end = z.instant("2026-03-29T03:30:00").unwrap();
        assert_eq!(start, parse_rfc3339("2026-03-29T00:30:00Z").unwrap(), "GMT before the change");
        assert_eq!(end - start, 2 * HOUR, "an hour is skipped");
        assert_eq!(z.local(end), "2026-03-29T03:30:00+01:00");
        assert_eq!(z.human(end), "2026-03-29 03:30 BST");
    }

    #[test]
    fn local_times_cross_the_autumn_change_in_real_time() {
        let z = london();
        let start = z.instant("2026-10-25T00:30:00").unwrap();
        let end = z.instant("2026-10-25T03:30:00").unwrap();
        assert_eq!(end - start, 4 * HOUR, "an hour happens twice");
        assert_eq!(z.local(start), "2026-10-25T00:30:00+01:00");
        assert_eq!(z.local(end), "2026-10-25T03:30:00+00:00");
    }

    #[test]
    fn skipped_and_repeated_local_times_must_be_made_explicit() {
        let z = london();
        let gap = z.instant("2026-03-29T01:30:00").unwrap_err();
        assert!(gap.0.contains("does not exist"), "{gap}");
        let fold = z.instant("2026-10-25T01:30:00").unwrap_err();
        assert!(fold.0.contains("happens twice") && fold.0.contains("+01:00"), "{fold}");
        let explicit = z.instant("2026-10-25T01:30:00+00:00").unwrap();
        assert_eq!(explicit, parse_rfc3339("2026-10-25T01:30:00Z").unwrap());
        assert!(z.instant("next tuesday").is_err());
    }

    #[test]
    fn offsets_win_over_the_zone() {
        let z = london();
        assert_eq!(z.instant("2026-07-01T09:00:00+02:00").unwrap(), parse_rfc3339("2026-07-01T07:00:00Z").unwrap());
    }

    #[test]
    fn windows_end_after_they_start_and_last_at_most_30_days() {
        assert!(check_window(0, 1).is_ok());
        assert!(check_window(0, MAX_WINDOW).is_ok());
        assert_eq!(check_window(5, 5).unwrap_err().0, "ends_at");
        assert!(check_window(5, 4).is_err());
        assert!(check_window(0, MAX_WINDOW + 1).is_err());
    }

    #[test]
    fn reminders_are_bounded_and_skipped_inside_the_lead() {
        assert!(check_reminder(0).is_ok() && check_reminder(10_080).is_ok());
        assert!(check_reminder(-1).is_err() && check_reminder(10_081).is_err());
        assert_eq!(reminder_due_at(10 * HOUR, 60), Some(9 * HOUR));
        assert_eq!(reminder_due_at(10 * HOUR, 0), None);
        assert!(announcement_is_reminder(10 * HOUR, 60, 9 * HOUR + 1));
        assert!(!announcement_is_reminder(10 * HOUR, 60, 8 * HOUR));
        assert!(!announcement_is_reminder(10 * HOUR, 0, 10 * HOUR));
    }

    #[test]
    fn states_follow_the_timestamps() {
        assert_eq!(State::of(None, None, None), State::Scheduled);
        assert_eq!(State::of(Some(1), None, None), State::InProgress);
        assert_eq!(State::of(Some(1), Some(2), None), State::Completed);
        assert_eq!(State::of(None, None, Some(2)), State::Cancelled);
        assert!(State::Cancelled.is_finished() && !State::InProgress.is_finished());
    }

    #[test]
    fn updates_move_stages_forward_within_the_in_progress_band() {
        let keys = ["scheduled", "in_progress", "verifying", "completed", "cancelled"];
        let s = Stages::new(keys.iter().map(|k| k.to_string()).collect()).unwrap();
        assert_eq!((s.scheduled(), s.in_progress(), s.completed(), s.cancelled()), keys_of(&keys));
        assert_eq!(s.for_update("in_progress", State::InProgress, "verifying").unwrap(), "verifying");
        assert_eq!(s.for_update("scheduled", State::Scheduled, "scheduled").unwrap(), "scheduled");
        for (cur, state, wanted, why) in [
            ("verifying", State::InProgress, "in_progress", "forward"),
            ("scheduled", State::Scheduled, "in_progress", "not started"),
            ("in_progress", State::InProgress, "completed", "complete"),
            ("in_progress", State::InProgress, "cancelled", "cancel"),
            ("in_progress", State::InProgress, "nope", "unknown"),
        ] {
            let e = s.for_update(cur, state, wanted).unwrap_err();
            assert!(e.0.contains(why), "{cur} -> {wanted}: {e}");
        }
        assert_eq!(s.for_backfill(1, "verifying").unwrap(), 2);
        assert!(s.for_backfill(2, "in_progress").is_err());
        assert!(s.for_backfill(1, "completed").is_err());
        assert!(Stages::new(vec!["a".into(), "b".into(), "c".into()]).is_none());
    }

    fn keys_of<'a>(k: &[&'a str]) -> (&'a str, &'a str, &'a str, &'a str) {
        (k[0], k[1], k[3], k[4])
    }
}
