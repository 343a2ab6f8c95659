//! Points in time as frontdesk stores and sends them: UTC, millisecond precision.
//!
//! Both databases store a [`Timestamp`] as a BIGINT of unix milliseconds. That keeps comparisons
//! and ordering exact on SQLite (whose text timestamps compare wrongly when their fractions differ
//! in length) and lets one query text serve both backends. Time zones belong to calendars and
//! display, never to storage.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// A UTC instant with millisecond precision.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Timestamp(i64);

impl Timestamp {
    /// The instant `millis` milliseconds after the unix epoch.
    pub const fn from_unix_millis(millis: i64) -> Self {
        Self(millis)
    }

    /// Milliseconds since the unix epoch.
    pub const fn unix_millis(self) -> i64 {
        self.0
    }

    /// The current time. Server-side only: browsers have no reliable clock for us.
    #[cfg(feature = "store")]
    pub fn now() -> Self {
        Self::from(OffsetDateTime::now_utc())
    }

    /// This instant plus a duration (saturating).
    pub fn plus(self, duration: std::time::Duration) -> Self {
        let millis = i64::try_from(duration.as_millis()).unwrap_or(i64::MAX);
        Self(self.0.saturating_add(millis))
    }

    /// This instant as a `time` value, for formatting.
    pub fn to_datetime(self) -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp_nanos(i128::from(self.0) * 1_000_000)
            .unwrap_or(OffsetDateTime::UNIX_EPOCH)
    }

    /// Midnight UTC at the start of a `YYYY-MM-DD` date (as date inputs give it); `None` if the
    /// text is not a date.
    pub fn start_of_utc_date(text: &str) -> Option<Self> {
        let format = time::macros::format_description!("[year]-[month]-[day]");
        let date = time::Date::parse(text.trim(), format).ok()?;
        Some(Self::from(date.midnight().assume_utc()))
    }

    /// `YYYY-MM-DD HH:MM UTC`, the form agents read in tables.
    pub fn display_utc(self) -> String {
        let t = self.to_datetime();
        format!(
            "{:04}-{:02}-{:02} {:02}:{:02} UTC",
            t.year(),
            u8::from(t.month()),
            t.day(),
            t.hour(),
            t.minute()
        )
    }
}

impl From<OffsetDateTime> for Timestamp {
    fn from(t: OffsetDateTime) -> Self {
        let millis = t.unix_timestamp_nanos() / 1_000_000;
        Self(i64::try_from(millis).unwrap_or(i64::MAX))
    }
}

#[cfg(feature = "store")]
mod sql {
    //! A `Timestamp` is an `i64` to every database sqlx speaks.
    use super::Timestamp;
    use sqlx::{Database, Decode, Encode, Type, encode::IsNull, error::BoxDynError};

    impl<DB: Database> Type<DB> for Timestamp
    where
        i64: Type<DB>,
    {
        fn type_info() -> DB::TypeInfo {
            <i64 as Type<DB>>::type_info()
        }

        fn compatible(ty: &DB::TypeInfo) -> bool {
            <i64 as Type<DB>>::compatible(ty)
        }
    }

    impl<'q, DB: Database> Encode<'q, DB> for Timestamp
    where
        i64: Encode<'q, DB>,
    {
        fn encode_by_ref(
            &self,
            buf: &mut <DB as Database>::ArgumentBuffer<'q>,
        ) -> Result<IsNull, BoxDynError> {
            <i64 as Encode<'q, DB>>::encode_by_ref(&self.0, buf)
        }
    }

    impl<'r, DB: Database> Decode<'r, DB> for Timestamp
    where
        i64: Decode<'r, DB>,
    {
        fn decode(value: <DB as Database>::ValueRef<'r>) -> Result<Self, BoxDynError> {
            <i64 as Decode<'r, DB>>::decode(value).map(Timestamp)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_timestamp_round_trips_through_offset_date_time() {
        let t = Timestamp::from_unix_millis(1_700_000_000_123);
        assert_eq!(Timestamp::from(t.to_datetime()), t);
    }

    #[test]
    fn a_date_starts_at_midnight_utc() {
        assert_eq!(
            Timestamp::start_of_utc_date("1970-01-02"),
            Some(Timestamp::from_unix_millis(86_400_000))
        );
        assert_eq!(Timestamp::start_of_utc_date("2026-02-30"), None);
        assert_eq!(Timestamp::start_of_utc_date("yesterday"), None);
    }

    #[test]
    fn display_utc_shows_minutes_in_utc() {
        let t = Timestamp::from_unix_millis(0).plus(std::time::Duration::from_secs(61 * 60));
        assert_eq!(t.display_utc(), "1970-01-01 01:01 UTC");
    }
}
