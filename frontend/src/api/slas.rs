//! SLA settings: business-hours calendars and policies (admins), and the due-time preview.
#![expect(missing_docs, reason = "#[server] generates an argument struct per function; the function is documented")]

use leptos::prelude::*;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

use super::ApiError;

/// A calendar, for display.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CalendarRow {
    /// Database id.
    pub id: i64,
    /// Name.
    pub name: String,
    /// IANA time zone.
    pub time_zone: String,
    /// Per weekday, Monday first: `09:00-17:00, ...` or empty.
    pub hours: Vec<String>,
    /// `2026-12-24..2026-12-26` per holiday range.
    pub holidays: Vec<String>,
}

/// A policy, for display.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyRow {
    /// Database id.
    pub id: i64,
    /// Name.
    pub name: String,
    /// Its calendar's name, or 24/7.
    pub calendar: String,
    /// Which tickets it covers, in words.
    pub applies_to: String,
    /// Per priority (low to urgent): `first response 4h · next response 8h · resolution 1d`.
    pub targets: Vec<String>,
    /// Statuses that pause it.
    pub pauses: String,
}

/// Calendars and policies, in order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SlaSettings {
    /// Calendars by name.
    pub calendars: Vec<CalendarRow>,
    /// Policies, first match first.
    pub policies: Vec<PolicyRow>,
}

/// The weekday keys of the calendar form, Monday first.
pub const WEEKDAY_FIELDS: [(&str, &str); 7] =
    [("mon", "Monday"), ("tue", "Tuesday"), ("wed", "Wednesday"), ("thu", "Thursday"), ("fri", "Friday"), ("sat", "Saturday"), ("sun", "Sunday")];

/// Parses `09:00-12:00, 13:00-17:00` into minute intervals; empty means closed.
pub fn parse_hours(text: &str) -> Result<Vec<(u16, u16)>, String> {
    let minute = |t: &str| -> Option<u16> {
        let (h, m) = t.trim().split_once(':')?;
        let (h, m): (u16, u16) = (h.parse().ok()?, m.parse().ok()?);
        (m < 60 && (h < 24 || (h == 24 && m == 0))).then_some(h * 60 + m)
    };
    text.split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|part| {
            let (from, to) = part.split_once('-').ok_or_else(|| format!("'{part}' is not a range like 09:00-17:00."))?;
            match (minute(from), minute(to)) {
                (Some(from), Some(to)) => Ok((from, to)),
                _ => Err(format!("'{part}' is not a range like 09:00-17:00.")),
            }
        })
        .collect()
}

/// `[start, end)` minutes as `09:00-17:00, ...`.
pub fn format_hours(intervals: &[(u16, u16)]) -> String {
    let clock = |m: u16| format!("{:02}:{:02}", m / 60, m % 60);
    intervals.iter().map(|&(a, b)| format!("{}-{}", clock(a), clock(b))).collect::<Vec<_>>().join(", ")
}

/// Parses one holiday per line: `2026-12-25` or `2026-12-24..2026-12-26`.
pub fn parse_holidays(text: &str) -> Vec<(String, String)> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(|line| match line.split_once("..") {
            Some((from, to)) => (from.trim().to_owned(), to.trim().to_owned()),
            None => (line.to_owned(), line.to_owned()),
        })
        .collect()
}

#[cfg(feature = "ssr")]
fn hours_text(ms: Option<i64>) -> String {
    match ms {
        None => "none".into(),
        Some(ms) if ms % 86_400_000 == 0 => format!("{}d", ms / 86_400_000),
        Some(ms) if ms % 3_600_000 == 0 => format!("{}h", ms / 3_600_000),
        Some(ms) => format!("{}m", ms / 60_000),
    }
}

/// Every calendar and policy.
#[server(prefix = "/api", endpoint = "list_slas")]
pub async fn list_slas() -> Result<SlaSettings, ApiError> {
    use super::server::{respond, signed_in_agent};
    use frontdesk_core::sla;
    use frontdesk_core::sla_clock::Metric;
    respond(
        async {
            let (ctx, actor) = signed_in_agent().await?;
            let calendars = sla::list_calendars(&ctx, &actor).await?;
            let policies = sla::list_policies(&ctx, &actor).await?;
            let calendar_name = |id: Option<i64>| {
                id.and_then(|id| calendars.iter().find(|c| c.id == id)).map_or_else(|| "24/7".to_owned(), |c| c.name.clone())
            };
            let policies = policies
                .iter()
                .map(|p| PolicyRow {
                    id: p.id,
                    name: p.name.clone(),
                    calendar: calendar_name(p.calendar_id),
                    applies_to: sla::describe_conditions(&p.conditions),
                    targets: p
                        .targets
                        .iter()
                        .map(|t| Metric::ALL.iter().map(|m| format!("{} {}", m.label().to_lowercase(), hours_text(t.of(*m)))).collect::<Vec<_>>().join(" · "))
                        .collect(),
                    pauses: p.pause_statuses.iter().map(|s| s.label()).collect::<Vec<_>>().join(", "),
                })
                .collect();
            let calendars = calendars
                .into_iter()
                .map(|c| CalendarRow {
                    id: c.id,
                    name: c.name,
                    time_zone: c.time_zone,
                    hours: c.hours.iter().map(|d| format_hours(d)).collect(),
                    holidays: c.holidays.iter().map(|(a, b)| if a == b { a.clone() } else { format!("{a}..{b}") }).collect(),
                })
                .collect();
            Ok(SlaSettings { calendars, policies })
        }
        .await,
    )
}

/// Creates a calendar (admins only): weekday fields hold `09:00-17:00, ...` (empty: closed),
/// `holidays` one date or `first..last` range per line.
#[server(prefix = "/api", endpoint = "create_sla_calendar")]
pub async fn create_sla_calendar(name: String, time_zone: String, hours: HashMap<String, String>, holidays: String) -> Result<i64, ApiError> {
    use super::server::{respond, signed_in_agent};
    use frontdesk_core::error::FieldError;
    use frontdesk_core::sla::{self, CalendarDef};
    respond(
        async {
            let (ctx, actor) = signed_in_agent().await?;
            let mut week: [Vec<(u16, u16)>; 7] = Default::default();
            let mut problems = Vec::new();
            for (day, (key, label)) in WEEKDAY_FIELDS.iter().enumerate() {
                match parse_hours(hours.get(*key).map_or("", String::as_str)) {
                    Ok(intervals) => week[day] = intervals,
                    Err(message) => problems.push(FieldError::new(&format!("hours[{key}]"), format!("{label}: {message}"))),
                }
            }
            if !problems.is_empty() {
                return Err(ApiError::Invalid(problems));
            }
            let def = CalendarDef { id: 0, name, time_zone: time_zone.trim().to_owned(), hours: week, holidays: parse_holidays(&holidays) };
            Ok(sla::save_calendar(&ctx, &actor, &def).await?.id)
        }
        .await,
    )
}

/// Creates a policy (admins only), placed after the others. `targets` holds hours keyed
/// `METRIC_PRIORITY` (`first_response_high`; empty: no target); `priority`, `channel` and `tag`
/// narrow which tickets it covers (empty: any).
#[server(prefix = "/api", endpoint = "create_sla_policy")]
#[expect(clippy::too_many_arguments, reason = "one argument per form field")]
pub async fn create_sla_policy(
    name: String,
    calendar_id: String,
    priority: String,
    channel: String,
    tag: String,
    targets: HashMap<String, String>,
    pause_pending: Option<String>,
    pause_on_hold: Option<String>,
    warn_percent: String,
    raise_priority: Option<String>,
) -> Result<i64, ApiError> {
    use super::server::{respond, signed_in_agent};
    use frontdesk_core::error::FieldError;
    use frontdesk_core::sla::{self, BreachActions, Conditions, PolicyDef};
    use frontdesk_core::sla_clock::{Metric, Targets};
    use frontdesk_core::ticket::{Priority, Status};
    respond(
        async {
            let (ctx, actor) = signed_in_agent().await?;
            let invalid = |field: &str, message: &str| ApiError::Invalid(vec![FieldError::new(field, message)]);
            let one = |e: FieldError| ApiError::Invalid(vec![e]);
            let mut set: [Targets; 4] = Default::default();
            for (i, p) in Priority::ALL.iter().enumerate() {
                for metric in Metric::ALL {
                    let key = format!("{}_{}", metric.as_str(), p.as_str());
                    let text = targets.get(&key).map_or("", |v| v.trim());
                    if text.is_empty() {
                        continue;
                    }
                    let hours: f64 = text.parse().ok().filter(|h: &f64| h.is_finite() && *h > 0.0).ok_or_else(|| {
                        ApiError::Invalid(vec![FieldError::new(&format!("targets[{key}]"), format!("'{text}' is not a number of hours."))])
                    })?;
                    let ms = Some((hours * 3_600_000.0).round() as i64);
                    match metric {
                        Metric::FirstResponse => set[i].first_response = ms,
                        Metric::NextResponse => set[i].next_response = ms,
                        Metric::Resolution => set[i].resolution = ms,
                    }
                }
            }
            let calendar_id = match calendar_id.trim() {
                "" => None,
                id => Some(id.parse().map_err(|_| invalid("calendar_id", "There is no such calendar."))?),
            };
            let conditions = Conditions {
                priorities: Some(priority.trim()).filter(|v| !v.is_empty()).map(str::parse).transpose().map_err(one)?.into_iter().collect(),
                channels: Some(channel.trim()).filter(|v| !v.is_empty()).map(str::parse).transpose().map_err(one)?.into_iter().collect(),
                tags: Some(tag.trim().to_lowercase()).filter(|v| !v.is_empty()).into_iter().collect(),
                ..Conditions::default()
            };
            let mut pause_statuses = Vec::new();
            if pause_pending.is_some() {
                pause_statuses.push(Status::Pending);
            }
            if pause_on_hold.is_some() {
                pause_statuses.push(Status::OnHold);
            }
            let warn_percent = match warn_percent.trim() {
                "" => 0,
                w => w.parse().map_err(|_| invalid("warn_percent", "Use a whole percentage below 100."))?,
            };
            let def = PolicyDef {
                id: 0,
                name,
                position: 0,
                calendar_id,
                conditions,
                targets: set,
                pause_statuses,
                warn_percent,
                breach_actions: BreachActions { raise_priority: raise_priority.is_some(), team_id: None },
            };
            Ok(sla::save_policy(&ctx, &actor, &def).await?.id)
        }
        .await,
    )
}

/// When a ticket created now with `priority` would come due under policy `policy_id`:
/// `(metric, local time)` per target.
#[server(prefix = "/api", endpoint = "preview_sla")]
pub async fn preview_sla(policy_id: i64, priority: String) -> Result<Vec<(String, String)>, ApiError> {
    use super::server::{respond, signed_in_agent};
    use frontdesk_core::sla;
    respond(
        async {
            let (ctx, actor) = signed_in_agent().await?;
            let priority = priority.parse().map_err(|e| ApiError::Invalid(vec![e]))?;
            let (zone, due) = sla::preview(&ctx, &actor, policy_id, priority).await?;
            Ok(due.into_iter().map(|(metric, at)| (metric.label().to_owned(), sla::local_time(&zone, at))).collect())
        }
        .await,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hours_parse_and_print_back() {
        assert_eq!(parse_hours("09:00-12:00, 13:00-17:30"), Ok(vec![(540, 720), (780, 1050)]));
        assert_eq!(parse_hours("00:00-24:00"), Ok(vec![(0, 1440)]));
        assert_eq!(parse_hours(""), Ok(vec![]));
        assert!(parse_hours("9 to 5").is_err());
        assert!(parse_hours("09:00-25:00").is_err());
        assert_eq!(format_hours(&[(540, 720), (780, 1050)]), "09:00-12:00, 13:00-17:30");
    }

    #[test]
    fn holidays_are_single_days_or_ranges() {
        assert_eq!(
            parse_holidays("2026-12-25\n 2026-12-31..2027-01-01 \n"),
            [("2026-12-25".to_owned(), "2026-12-25".to_owned()), ("2026-12-31".to_owned(), "2027-01-01".to_owned())]
        );
    }
}
