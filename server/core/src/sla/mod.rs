//! Service level agreements: business-hours calendars, ordered policies, each ticket's SLA clocks,
//! the worker that fires warnings and breaches, and the compliance report.
//!
//! - [`report`]: the compliance report's types (browser-safe) and its query;
//! - [`business_time`] and [`ical`]: the calendars SLAs count in, and holidays from iCalendar;
//! - [`clock`]: the arithmetic of one ticket's clocks, from its history;
//! - the service (re-exported here): policies, calendars, evaluation and the worker.

pub mod report;

store! {
    pub mod business_time;
    pub mod clock;
    pub mod ical;
    mod service;
    pub use service::*;
}
