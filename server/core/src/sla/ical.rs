//! Holidays from an iCalendar file (RFC 5545), as public-holiday calendars publish them: every
//! `VEVENT` becomes a range of whole days. All-day events end the day before their `DTEND`
//! (which is exclusive); timed events cover the days they touch; `RRULE:FREQ=YEARLY` repeats an
//! event (honouring `COUNT` and `UNTIL`) for [`YEARS_AHEAD`] years. Anything else in the file is
//! ignored.

use jiff::ToSpan;
use jiff::civil::Date;

/// How many years a yearly rule without an end is expanded for.
pub const YEARS_AHEAD: i16 = 10;

/// The most events one file may hold.
const MAX_EVENTS: usize = 5_000;

/// Why a file could not be read.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum IcalError {
    /// It has no `BEGIN:VCALENDAR`.
    #[error("this is not an iCalendar file (no BEGIN:VCALENDAR)")]
    NotCalendar,
    /// An event's date could not be read.
    #[error("event {0} has an unreadable date: {1}")]
    BadDate(usize, String),
    /// An event has no start.
    #[error("event {0} has no DTSTART")]
    NoStart(usize),
    /// Too many events.
    #[error("the file holds more than {MAX_EVENTS} events")]
    TooMany,
}

/// One content line: name, parameters and value.
struct Property<'a> {
    name: String,
    value: &'a str,
}

/// Joins folded lines (a line break followed by a space or tab continues the line).
fn unfold(text: &str) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    for raw in text.split('\n') {
        let raw = raw.strip_suffix('\r').unwrap_or(raw);
        match (raw.strip_prefix([' ', '\t']), lines.last_mut()) {
            (Some(rest), Some(last)) => last.push_str(rest),
            _ => lines.push(raw.to_owned()),
        }
    }
    lines
}

fn property(line: &str) -> Option<Property<'_>> {
    let (head, value) = line.split_once(':')?;
    let name = head.split(';').next().unwrap_or(head).trim().to_ascii_uppercase();
    Some(Property { name, value: value.trim() })
}

/// `20261225` or `20261225T100000Z` as a date.
fn date(value: &str) -> Option<Date> {
    let digits = value.get(..8)?;
    if !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let (y, m, d) =
        (digits[..4].parse().ok()?, digits[4..6].parse().ok()?, digits[6..8].parse().ok()?);
    Date::new(y, m, d).ok()
}

#[derive(Default)]
struct Event {
    start: Option<(Date, bool)>,
    end: Option<(Date, bool)>,
    yearly: bool,
    count: Option<i16>,
    until: Option<Date>,
}

impl Event {
    /// Its days as `(first, last)` ranges, repeated as its rule says.
    fn ranges(&self, number: usize) -> Result<Vec<(Date, Date)>, IcalError> {
        let (start, all_day) = self.start.ok_or(IcalError::NoStart(number))?;
        let last = match self.end {
            // An all-day end is exclusive; a timed end is the last day touched.
            Some((end, true)) if all_day && end > start => end.yesterday().unwrap_or(start),
            Some((end, _)) if end >= start && !all_day => end,
            _ => start,
        };
        let span = start.until(last).map_err(|e| IcalError::BadDate(number, e.to_string()))?;
        let repeats =
            if self.yearly { self.count.unwrap_or(YEARS_AHEAD).clamp(1, YEARS_AHEAD) } else { 1 };
        let mut ranges = Vec::new();
        for year in 0..repeats {
            let Ok(first) = start.checked_add(i32::from(year).years()) else { break };
            if self.until.is_some_and(|until| first > until) {
                break;
            }
            let last =
                first.checked_add(span).map_err(|e| IcalError::BadDate(number, e.to_string()))?;
            ranges.push((first, last));
        }
        Ok(ranges)
    }
}

/// The holidays in an iCalendar file, as `(first, last)` days (both included), sorted, each
/// range once.
pub fn holidays(text: &str) -> Result<Vec<(Date, Date)>, IcalError> {
    let lines = unfold(text);
    if !lines.iter().any(|l| l.trim().eq_ignore_ascii_case("BEGIN:VCALENDAR")) {
        return Err(IcalError::NotCalendar);
    }
    let mut ranges = Vec::new();
    let mut event: Option<Event> = None;
    let mut number = 0;
    for line in &lines {
        let Some(p) = property(line) else { continue };
        match (p.name.as_str(), event.as_mut()) {
            ("BEGIN", None) if p.value.eq_ignore_ascii_case("VEVENT") => {
                number += 1;
                if number > MAX_EVENTS {
                    return Err(IcalError::TooMany);
                }
                event = Some(Event::default());
            }
            ("END", Some(e)) if p.value.eq_ignore_ascii_case("VEVENT") => {
                ranges.extend(e.ranges(number)?);
                event = None;
            }
            ("DTSTART" | "DTEND", Some(e)) => {
                let day =
                    date(p.value).ok_or_else(|| IcalError::BadDate(number, p.value.to_owned()))?;
                let all_day = !p.value.contains('T');
                if p.name == "DTSTART" {
                    e.start = Some((day, all_day))
                } else {
                    e.end = Some((day, all_day))
                }
            }
            ("RRULE", Some(e)) => {
                for part in p.value.split(';') {
                    match part.split_once('=') {
                        Some(("FREQ", freq)) => e.yearly = freq.eq_ignore_ascii_case("YEARLY"),
                        Some(("COUNT", n)) => e.count = n.parse().ok(),
                        Some(("UNTIL", until)) => e.until = date(until),
                        _ => {}
                    }
                }
            }
            _ => {}
        }
    }
    ranges.sort();
    ranges.dedup();
    Ok(ranges)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(text: &str) -> Date {
        text.parse().expect("date")
    }

    const FILE: &str = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Example//Holidays//EN\r\n\
        BEGIN:VEVENT\r\nUID:1\r\nDTSTART;VALUE=DATE:20261225\r\nDTEND;VALUE=DATE:20261227\r\nSUMMARY:Christmas\r\n and Boxing Day\r\nEND:VEVENT\r\n\
        BEGIN:VEVENT\r\nUID:2\r\nDTSTART;VALUE=DATE:20270101\r\nSUMMARY:New Year\r\nEND:VEVENT\r\n\
        BEGIN:VEVENT\r\nUID:3\r\nDTSTART:20261231T090000Z\r\nDTEND:20261231T120000Z\r\nSUMMARY:Half day\r\nEND:VEVENT\r\n\
        END:VCALENDAR\r\n";

    #[test]
    fn all_day_events_end_the_day_before_dtend() {
        assert_eq!(
            holidays(FILE).expect("parsed"),
            [
                (d("2026-12-25"), d("2026-12-26")),
                (d("2026-12-31"), d("2026-12-31")),
                (d("2027-01-01"), d("2027-01-01"))
            ]
        );
    }

    #[test]
    fn yearly_rules_repeat_until_their_end() {
        let file = "BEGIN:VCALENDAR\nBEGIN:VEVENT\nDTSTART;VALUE=DATE:20260501\nRRULE:FREQ=YEARLY;COUNT=3\nEND:VEVENT\n\
            BEGIN:VEVENT\nDTSTART;VALUE=DATE:20261003\nRRULE:FREQ=YEARLY;UNTIL=20271231\nEND:VEVENT\nEND:VCALENDAR\n";
        assert_eq!(
            holidays(file).expect("parsed"),
            [
                (d("2026-05-01"), d("2026-05-01")),
                (d("2026-10-03"), d("2026-10-03")),
                (d("2027-05-01"), d("2027-05-01")),
                (d("2027-10-03"), d("2027-10-03")),
                (d("2028-05-01"), d("2028-05-01")),
            ]
        );
        let endless = "BEGIN:VCALENDAR\nBEGIN:VEVENT\nDTSTART;VALUE=DATE:20261225\nRRULE:FREQ=YEARLY\nEND:VEVENT\nEND:VCALENDAR\n";
        assert_eq!(holidays(endless).expect("parsed").len(), YEARS_AHEAD as usize);
    }

    #[test]
    fn files_that_are_not_calendars_or_have_bad_dates_are_refused() {
        assert_eq!(holidays("2026-12-25"), Err(IcalError::NotCalendar));
        let bad = "BEGIN:VCALENDAR\nBEGIN:VEVENT\nDTSTART;VALUE=DATE:2026-12-25\nEND:VEVENT\nEND:VCALENDAR\n";
        assert!(matches!(holidays(bad), Err(IcalError::BadDate(1, _))));
        let no_start = "BEGIN:VCALENDAR\nBEGIN:VEVENT\nSUMMARY:x\nEND:VEVENT\nEND:VCALENDAR\n";
        assert_eq!(holidays(no_start), Err(IcalError::NoStart(1)));
    }
}
