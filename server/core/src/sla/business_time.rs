//! Business time: the clock SLAs count in. A [`Calendar`] is a time zone, weekly working hours
//! (any number of intervals per day, in local wall-clock time) and holidays (date ranges); the
//! default is 24/7. [`Calendar::add`] answers "when is `d` of business time after `t`" and
//! [`Calendar::elapsed`] "how much business time lies between `a` and `b`"; the two are inverse.
//!
//! Working hours follow the wall clock across daylight-saving changes: 09:00-17:00 is eight hours
//! on a normal day, and on a day whose clocks jump inside the interval it is as long as the clock
//! says. A local time that does not exist (inside a spring-forward gap) moves to just after the
//! gap; an ambiguous one (inside a fall-back fold) takes its earlier occurrence. All instants are
//! unix milliseconds, like [`crate::platform::time::Timestamp`].

use jiff::civil::{Date, Time};
use jiff::tz::TimeZone;

/// Minutes in a day: an interval may end at 24:00.
pub const DAY_MINUTES: u16 = 24 * 60;

/// How far ahead [`Calendar::add`] looks for working time before giving up (about ten years).
const HORIZON_DAYS: u32 = 3_700;

/// Why a calendar definition was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CalendarError {
    /// The IANA time zone name is unknown.
    #[error("unknown time zone '{0}'")]
    UnknownZone(String),
    /// An interval is empty, reversed, past 24:00, or overlaps the one before it.
    #[error("{0}")]
    BadInterval(String),
    /// A holiday ends before it starts.
    #[error("holiday {0} ends before it starts")]
    BadHoliday(String),
}

/// Working time in one time zone. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Calendar {
    zone: TimeZone,
    /// Per weekday, Monday first: `[start, end)` in minutes after local midnight, sorted.
    week: [Vec<(u16, u16)>; 7],
    /// Inclusive local date ranges with no working time.
    holidays: Vec<(Date, Date)>,
    always: bool,
}

impl Calendar {
    /// Around the clock, every day, in UTC.
    pub fn always() -> Self {
        Self {
            zone: TimeZone::UTC,
            week: std::array::from_fn(|_| vec![(0, DAY_MINUTES)]),
            holidays: Vec::new(),
            always: true,
        }
    }

    /// A calendar in the IANA zone `zone` (for example `Europe/Berlin`), with `week[0]` the
    /// Monday intervals. Intervals of a day are sorted and must not overlap.
    pub fn new(
        zone: &str,
        week: [Vec<(u16, u16)>; 7],
        holidays: Vec<(Date, Date)>,
    ) -> Result<Self, CalendarError> {
        let tz = TimeZone::get(zone).map_err(|_| CalendarError::UnknownZone(zone.to_owned()))?;
        let mut week = week;
        for (day, intervals) in week.iter_mut().enumerate() {
            intervals.sort_unstable();
            let mut previous_end = 0;
            for &(start, end) in intervals.iter() {
                if start >= end || end > DAY_MINUTES || start < previous_end {
                    return Err(CalendarError::BadInterval(format!(
                        "{} {}-{} is empty, reversed, past 24:00 or overlapping",
                        WEEKDAYS[day],
                        clock(start),
                        clock(end)
                    )));
                }
                previous_end = end;
            }
        }
        for &(from, to) in &holidays {
            if to < from {
                return Err(CalendarError::BadHoliday(from.to_string()));
            }
        }
        let always = holidays.is_empty()
            && week.iter().all(|d| d == &[(0, DAY_MINUTES)])
            && tz == TimeZone::UTC;
        Ok(Self { zone: tz, week, holidays, always })
    }

    /// Whether the calendar has any working time at all.
    pub fn has_working_time(&self) -> bool {
        self.week.iter().any(|d| !d.is_empty())
    }

    /// The instant `duration_ms` of business time after `start_ms`. `None` when no working time
    /// comes within about ten years (a calendar of holidays only). A zero duration gives `start`.
    pub fn add(&self, start_ms: i64, duration_ms: i64) -> Option<i64> {
        if self.always {
            return start_ms.checked_add(duration_ms);
        }
        let mut left = duration_ms.max(0);
        if left == 0 {
            return Some(start_ms);
        }
        let mut date = self.local_date(start_ms)?;
        for _ in 0..HORIZON_DAYS {
            for (from, to) in self.working_on(date) {
                let from = from.max(start_ms);
                if to <= from {
                    continue;
                }
                if to - from >= left {
                    return Some(from + left);
                }
                left -= to - from;
            }
            date = date.tomorrow().ok()?;
        }
        None
    }

    /// Business time between two instants (zero when `to` is not after `from`).
    pub fn elapsed(&self, from_ms: i64, to_ms: i64) -> i64 {
        if to_ms <= from_ms {
            return 0;
        }
        if self.always {
            return to_ms - from_ms;
        }
        let (Some(first), Some(last)) = (self.local_date(from_ms), self.local_date(to_ms)) else {
            return 0;
        };
        // Whole days in between that no time-zone transition touches last exactly as long as
        // their intervals say: count them without converting each boundary to an instant.
        let irregular = self.irregular_days(from_ms, to_ms);
        let mut date = first;
        let mut total = 0;
        while date <= last {
            if date != first && date != last && !irregular.contains(&date) {
                total += self.plain_day_ms(date);
            } else {
                for (start, end) in self.working_on(date) {
                    let (start, end) = (start.max(from_ms), end.min(to_ms));
                    if end > start {
                        total += end - start;
                    }
                }
            }
            match date.tomorrow() {
                Ok(next) => date = next,
                Err(_) => break,
            }
        }
        total
    }

    /// The local dates around every time-zone transition between two instants (with two days'
    /// margin): the only days whose working time can differ from the sum of their intervals.
    fn irregular_days(&self, from_ms: i64, to_ms: i64) -> Vec<Date> {
        const MARGIN_MS: i64 = 2 * 86_400_000;
        let Ok(start) = jiff::Timestamp::from_millisecond(from_ms.saturating_sub(MARGIN_MS)) else {
            return Vec::new();
        };
        let mut days = Vec::new();
        for transition in self.zone.following(start) {
            let at = transition.timestamp().as_millisecond();
            if at > to_ms.saturating_add(MARGIN_MS) {
                break;
            }
            for instant in [at - 1, at] {
                if let Some(date) = self.local_date(instant) {
                    days.extend(date.yesterday().ok());
                    days.push(date);
                }
            }
        }
        days
    }

    /// The working time of a local date that no transition touches.
    fn plain_day_ms(&self, date: Date) -> i64 {
        self.intervals_of(date).iter().map(|&(start, end)| i64::from(end - start) * 60_000).sum()
    }

    /// A local date's working intervals in minutes (none on a holiday).
    fn intervals_of(&self, date: Date) -> &[(u16, u16)] {
        if self.is_holiday(date) {
            return &[];
        }
        &self.week[usize::try_from(date.weekday().to_monday_zero_offset()).unwrap_or(0)]
    }

    fn local_date(&self, ms: i64) -> Option<Date> {
        let instant = jiff::Timestamp::from_millisecond(ms).ok()?;
        Some(instant.to_zoned(self.zone.clone()).date())
    }

    fn is_holiday(&self, date: Date) -> bool {
        self.holidays.iter().any(|&(from, to)| from <= date && date <= to)
    }

    /// The working intervals of a local date, as instants, in order.
    fn working_on(&self, date: Date) -> Vec<(i64, i64)> {
        self.intervals_of(date)
            .iter()
            .filter_map(|&(start, end)| {
                let (from, to) = (self.instant(date, start)?, self.instant(date, end)?);
                (to > from).then_some((from, to))
            })
            .collect()
    }

    /// The instant of a wall-clock minute on a local date (24:00 is the next midnight).
    fn instant(&self, date: Date, minute: u16) -> Option<i64> {
        let (date, minute) =
            if minute >= DAY_MINUTES { (date.tomorrow().ok()?, 0) } else { (date, minute) };
        let time =
            Time::new(i8::try_from(minute / 60).ok()?, i8::try_from(minute % 60).ok()?, 0, 0)
                .ok()?;
        let zoned = self.zone.to_ambiguous_zoned(date.to_datetime(time)).compatible().ok()?;
        Some(zoned.timestamp().as_millisecond())
    }
}

const WEEKDAYS: [&str; 7] =
    ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"];

/// `HH:MM` of a minute of the day.
pub fn clock(minute: u16) -> String {
    format!("{:02}:{:02}", minute / 60, minute % 60)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const HOUR: i64 = 3_600_000;
    const MINUTE: i64 = 60_000;

    fn at(zone: &str, text: &str) -> i64 {
        let dt: jiff::civil::DateTime = text.parse().expect("a date-time");
        dt.to_zoned(TimeZone::get(zone).expect("zone"))
            .expect("exists")
            .timestamp()
            .as_millisecond()
    }

    fn office(zone: &str, holidays: Vec<(Date, Date)>) -> Calendar {
        let day = vec![(9 * 60, 17 * 60)];
        let week =
            [day.clone(), day.clone(), day.clone(), day.clone(), day, Vec::new(), Vec::new()];
        Calendar::new(zone, week, holidays).expect("a valid calendar")
    }

    fn date(text: &str) -> Date {
        text.parse().expect("a date")
    }

    /// Cases worked out by hand.
    #[test]
    fn hand_computed_cases() {
        let berlin = office("Europe/Berlin", vec![(date("2026-12-24"), date("2026-12-26"))]);
        let split = Calendar::new(
            "America/New_York",
            [
                vec![(8 * 60, 12 * 60), (13 * 60, 17 * 60)],
                vec![(8 * 60, 12 * 60), (13 * 60, 17 * 60)],
                vec![],
                vec![],
                vec![],
                vec![],
                vec![],
            ],
            vec![],
        )
        .expect("calendar");
        let night = Calendar::new(
            "Asia/Tokyo",
            std::array::from_fn(|_| vec![(0, 2 * 60), (22 * 60, DAY_MINUTES)]),
            vec![],
        )
        .expect("calendar");
        let cases: Vec<(&str, &Calendar, &str, &str, i64, &str)> = vec![
            // Friday 16:00 plus two hours: one hour on Friday, one on Monday.
            (
                "friday afternoon",
                &berlin,
                "Europe/Berlin",
                "2026-11-20T16:00",
                2 * HOUR,
                "2026-11-23T10:00",
            ),
            // Saturday: the clock waits for Monday 09:00.
            (
                "weekend",
                &berlin,
                "Europe/Berlin",
                "2026-11-21T11:00",
                30 * MINUTE,
                "2026-11-23T09:30",
            ),
            // Before opening: starts at 09:00.
            (
                "early morning",
                &berlin,
                "Europe/Berlin",
                "2026-11-24T06:00",
                8 * HOUR,
                "2026-11-24T17:00",
            ),
            // Christmas Eve to Boxing Day are holidays (Thursday to Saturday): Wednesday 16:00 + 2h
            // is one hour on Wednesday and one on Monday the 28th.
            (
                "holidays",
                &berlin,
                "Europe/Berlin",
                "2026-12-23T16:00",
                2 * HOUR,
                "2026-12-28T10:00",
            ),
            // The lunch break does not count.
            ("split day", &split, "America/New_York", "2026-11-23T11:30", HOUR, "2026-11-23T13:30"),
            // Tuesday evening to the next Monday morning.
            (
                "split week",
                &split,
                "America/New_York",
                "2026-11-24T16:00",
                2 * HOUR,
                "2026-11-30T09:00",
            ),
            // Overnight shifts: 22:00-02:00 counts as one span across midnight.
            ("overnight", &night, "Asia/Tokyo", "2026-11-23T23:00", 2 * HOUR, "2026-11-24T01:00"),
            (
                "after the night shift",
                &night,
                "Asia/Tokyo",
                "2026-11-24T03:00",
                3 * HOUR,
                "2026-11-25T01:00",
            ),
            // Berlin springs forward on 2026-03-29 (a Sunday) and falls back on 2026-10-25 (a
            // Sunday); office hours are wall-clock hours on either side.
            (
                "before spring forward",
                &berlin,
                "Europe/Berlin",
                "2026-03-27T16:00",
                2 * HOUR,
                "2026-03-30T10:00",
            ),
            (
                "after fall back",
                &berlin,
                "Europe/Berlin",
                "2026-10-23T16:30",
                HOUR,
                "2026-10-26T09:30",
            ),
        ];
        for (name, calendar, zone, start, duration, expected) in cases {
            let start = at(zone, start);
            let due = calendar.add(start, duration);
            assert_eq!(due, Some(at(zone, expected)), "{name}");
            assert_eq!(
                calendar.elapsed(start, at(zone, expected)),
                duration,
                "{name}: elapsed is the inverse"
            );
        }
    }

    #[test]
    fn a_round_the_clock_calendar_in_a_dst_zone_counts_the_short_and_long_days() {
        let all_day =
            Calendar::new("Europe/Berlin", std::array::from_fn(|_| vec![(0, DAY_MINUTES)]), vec![])
                .expect("calendar");
        let zone = "Europe/Berlin";
        assert_eq!(
            all_day.elapsed(at(zone, "2026-03-29T00:00"), at(zone, "2026-03-30T00:00")),
            23 * HOUR
        );
        assert_eq!(
            all_day.elapsed(at(zone, "2026-10-25T00:00"), at(zone, "2026-10-26T00:00")),
            25 * HOUR
        );
    }

    #[test]
    fn a_calendar_without_working_time_never_comes_due() {
        let closed =
            Calendar::new("UTC", std::array::from_fn(|_| Vec::new()), vec![]).expect("calendar");
        assert_eq!(closed.add(0, MINUTE), None);
        assert_eq!(closed.elapsed(0, 365 * 24 * HOUR), 0);
        assert!(!closed.has_working_time());
    }

    #[test]
    fn bad_definitions_are_refused() {
        let overlapping: [Vec<(u16, u16)>; 7] =
            std::array::from_fn(|i| if i == 0 { vec![(540, 720), (700, 800)] } else { vec![] });
        assert!(matches!(
            Calendar::new("UTC", overlapping, vec![]),
            Err(CalendarError::BadInterval(_))
        ));
        assert!(matches!(
            Calendar::new("Mars/Olympus", std::array::from_fn(|_| vec![]), vec![]),
            Err(CalendarError::UnknownZone(_))
        ));
        let late: [Vec<(u16, u16)>; 7] = std::array::from_fn(|_| vec![(600, 1500)]);
        assert!(Calendar::new("UTC", late, vec![]).is_err());
        let reversed = vec![(date("2026-01-02"), date("2026-01-01"))];
        assert!(matches!(
            Calendar::new("UTC", std::array::from_fn(|_| vec![]), reversed),
            Err(CalendarError::BadHoliday(_))
        ));
    }

    const ZONES: [&str; 6] = [
        "UTC",
        "Europe/Berlin",
        "America/New_York",
        "Australia/Sydney",
        "Asia/Kolkata",
        "America/St_Johns",
    ];

    /// A random but valid calendar: per day up to three intervals on a 15-minute grid (at least
    /// four hours a week), and up to three holiday ranges in 2025-2027.
    fn calendars() -> impl Strategy<Value = Calendar> {
        let day = proptest::collection::vec(0u16..=96, 0..=6).prop_map(|mut cuts| {
            cuts.sort_unstable();
            cuts.dedup();
            cuts.chunks_exact(2).map(|pair| (pair[0] * 15, pair[1] * 15)).collect::<Vec<_>>()
        });
        let holiday = (0i32..1_000, 0i32..20).prop_map(|(start, length)| {
            let from = date("2025-01-01").checked_add(jiff::Span::new().days(start)).expect("date");
            (from, from.checked_add(jiff::Span::new().days(length)).expect("date"))
        });
        (
            proptest::sample::select(ZONES.to_vec()),
            proptest::array::uniform7(day),
            proptest::collection::vec(holiday, 0..=3),
        )
            .prop_filter_map("needs four hours a week", |(zone, week, holidays)| {
                let weekly: u32 =
                    week.iter().flatten().map(|&(from, to)| u32::from(to - from)).sum();
                Calendar::new(zone, week, holidays).ok().filter(|_| weekly >= 4 * 60)
            })
    }

    /// Instants from 2025 to 2027, which cover every DST change of the zones above twice.
    fn instants() -> impl Strategy<Value = i64> {
        1_735_689_600_000i64..1_798_761_600_000
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]

        #[test]
        fn elapsed_undoes_add(calendar in calendars(), start in instants(), duration in 0i64..(10 * 24 * HOUR)) {
            let due = calendar.add(start, duration).expect("working time comes");
            prop_assert!(due >= start);
            prop_assert_eq!(calendar.elapsed(start, due), duration);
        }

        #[test]
        fn elapsed_adds_up_over_any_split(calendar in calendars(), a in instants(), b in instants(), c in instants()) {
            let mut points = [a, b, c];
            points.sort_unstable();
            let [a, b, c] = points;
            prop_assert_eq!(calendar.elapsed(a, b) + calendar.elapsed(b, c), calendar.elapsed(a, c));
            prop_assert!(calendar.elapsed(a, c) <= c - a);
        }

        #[test]
        fn long_spans_counted_in_whole_days_match_counting_day_by_day(calendar in calendars(), a in instants(), days in 1i64..400) {
            let by_day: i64 = (0..days).map(|i| calendar.elapsed(a + i * 24 * HOUR, a + (i + 1) * 24 * HOUR)).sum();
            prop_assert_eq!(calendar.elapsed(a, a + days * 24 * HOUR), by_day);
        }

        #[test]
        fn add_grows_with_the_duration_and_ends_in_working_time(calendar in calendars(), start in instants(), d in 1i64..(10 * 24 * HOUR), more in 0i64..(24 * HOUR)) {
            let due = calendar.add(start, d).expect("due");
            let later = calendar.add(start, d + more).expect("due");
            prop_assert!(later >= due);
            // The moment just before a due time is working time: nothing comes due in a break.
            prop_assert_eq!(calendar.elapsed(due - 1, due), 1);
        }

        #[test]
        fn round_the_clock_utc_is_plain_arithmetic(start in instants(), d in 0i64..(400 * 24 * HOUR)) {
            prop_assert_eq!(Calendar::always().add(start, d), Some(start + d));
            prop_assert_eq!(Calendar::always().elapsed(start, start + d), d);
        }
    }
}
