//! SLA settings: business-hours calendars and policies (admins), and the due-time preview.
#![expect(
    clippy::too_many_arguments,
    reason = "one argument per form field or filter; on the item, #[server] would copy the \
              expectation onto a generated item where it goes unfulfilled"
)]
#![expect(
    missing_docs,
    reason = "#[server] generates an argument struct per function; the function is documented"
)]

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
    /// What happens at a breach, in words.
    pub at_breach: String,
    /// Its settings as the edit form shows them.
    pub form: PolicyForm,
}

/// A policy's settings as form values (the edit form starts from them).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyForm {
    /// Its calendar, or 24/7.
    pub calendar_id: Option<i64>,
    /// Priority names it covers (none: all).
    pub priorities: Vec<String>,
    /// Channel names it covers (none: all).
    pub channels: Vec<String>,
    /// Tags, comma-separated.
    pub tags: String,
    /// Teams it covers.
    pub team_ids: Vec<i64>,
    /// Organization names, comma-separated.
    pub organizations: String,
    /// Hours per `METRIC_PRIORITY` key.
    pub targets: HashMap<String, String>,
    /// Pause while pending.
    pub pause_pending: bool,
    /// Pause while on hold.
    pub pause_on_hold: bool,
    /// Warning share.
    pub warn_percent: u8,
    /// Raise the priority at a breach.
    pub raise_priority: bool,
    /// Move to this team at a breach.
    pub breach_team_id: Option<i64>,
}

/// Calendars and policies, in order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SlaSettings {
    /// Calendars by name.
    pub calendars: Vec<CalendarRow>,
    /// Policies, first match first.
    pub policies: Vec<PolicyRow>,
    /// Every team, for conditions and breach actions: `(id, name)`.
    pub teams: Vec<(i64, String)>,
}

/// The weekday keys of the calendar form, Monday first.
pub const WEEKDAY_FIELDS: [(&str, &str); 7] = [
    ("mon", "Monday"),
    ("tue", "Tuesday"),
    ("wed", "Wednesday"),
    ("thu", "Thursday"),
    ("fri", "Friday"),
    ("sat", "Saturday"),
    ("sun", "Sunday"),
];

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
            let (from, to) = part
                .split_once('-')
                .ok_or_else(|| format!("'{part}' is not a range like 09:00-17:00."))?;
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
    intervals
        .iter()
        .map(|&(a, b)| format!("{}-{}", clock(a), clock(b)))
        .collect::<Vec<_>>()
        .join(", ")
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

#[cfg(feature = "ssr")]
fn hours_number(ms: i64) -> String {
    let hours = ms as f64 / 3_600_000.0;
    if hours.fract() == 0.0 { format!("{hours:.0}") } else { format!("{hours}") }
}

/// Every calendar and policy.
#[server(prefix = "/api", endpoint = "list_slas")]
pub async fn list_slas() -> Result<SlaSettings, ApiError> {
    use super::server::{respond, signed_in_agent};
    use frontdesk_core::sla;
    use frontdesk_core::sla::clock::Metric;
    use frontdesk_core::tickets::{Priority, Status};
    respond(
        async {
            let (ctx, actor) = signed_in_agent().await?;
            let calendars = sla::list_calendars(&ctx, &actor).await?;
            let policies = sla::list_policies(&ctx, &actor).await?;
            let names = sla::ConditionNames::of(ctx.db(), &policies).await?;
            let mut teams: Vec<(i64, String)> =
                names.teams.iter().map(|(id, name)| (*id, name.clone())).collect();
            teams.sort_by(|a, b| a.1.cmp(&b.1).then(a.0.cmp(&b.0)));
            let calendar_name = |id: Option<i64>| {
                id.and_then(|id| calendars.iter().find(|c| c.id == id))
                    .map_or_else(|| "24/7".to_owned(), |c| c.name.clone())
            };
            let mut rows = Vec::with_capacity(policies.len());
            for p in &policies {
                let organizations = names.organizations_named(&p.conditions.organization_ids);
                let mut targets = HashMap::new();
                for (priority, set) in Priority::ALL.iter().zip(p.targets) {
                    for metric in Metric::ALL {
                        if let Some(ms) = set.of(metric) {
                            targets.insert(
                                format!("{}_{}", metric.as_str(), priority.as_str()),
                                hours_number(ms),
                            );
                        }
                    }
                }
                let mut at_breach = vec!["notify the assignee and the team".to_owned()];
                if p.breach_actions.raise_priority {
                    at_breach.push("raise the priority".to_owned());
                }
                if let Some(team) = p.breach_actions.team_id {
                    at_breach.push(format!("move to {}", names.teams_named(&[team]).join("")));
                }
                let applies_to = sla::describe_conditions(&p.conditions, &names);
                rows.push(PolicyRow {
                    id: p.id,
                    name: p.name.clone(),
                    calendar: calendar_name(p.calendar_id),
                    applies_to,
                    targets: p
                        .targets
                        .iter()
                        .map(|t| {
                            Metric::ALL
                                .iter()
                                .map(|m| {
                                    format!("{} {}", m.label().to_lowercase(), hours_text(t.of(*m)))
                                })
                                .collect::<Vec<_>>()
                                .join(" · ")
                        })
                        .collect(),
                    pauses: p
                        .pause_statuses
                        .iter()
                        .map(|s| s.label())
                        .collect::<Vec<_>>()
                        .join(", "),
                    at_breach: at_breach.join(", "),
                    form: PolicyForm {
                        calendar_id: p.calendar_id,
                        priorities: p
                            .conditions
                            .priorities
                            .iter()
                            .map(|x| x.as_str().to_owned())
                            .collect(),
                        channels: p
                            .conditions
                            .channels
                            .iter()
                            .map(|x| x.as_str().to_owned())
                            .collect(),
                        tags: p.conditions.tags.join(", "),
                        team_ids: p.conditions.team_ids.clone(),
                        organizations: organizations.join(", "),
                        targets,
                        pause_pending: p.pause_statuses.contains(&Status::Pending),
                        pause_on_hold: p.pause_statuses.contains(&Status::OnHold),
                        warn_percent: p.warn_percent,
                        raise_priority: p.breach_actions.raise_priority,
                        breach_team_id: p.breach_actions.team_id,
                    },
                });
            }
            let policies = rows;
            let calendars = calendars
                .into_iter()
                .map(|c| CalendarRow {
                    id: c.id,
                    name: c.name,
                    time_zone: c.time_zone,
                    hours: c.hours.iter().map(|d| format_hours(d)).collect(),
                    holidays: c
                        .holidays
                        .iter()
                        .map(|(a, b)| if a == b { a.clone() } else { format!("{a}..{b}") })
                        .collect(),
                })
                .collect();
            Ok(SlaSettings { calendars, policies, teams })
        }
        .await,
    )
}

/// Creates (`id` empty) or changes a calendar (admins only): weekday fields hold
/// `09:00-17:00, ...` (empty: closed), `holidays` one date or `first..last` range per line, and
/// `ical` the text of an iCalendar file whose events are added as holidays.
#[server(prefix = "/api", endpoint = "save_sla_calendar")]
pub async fn save_sla_calendar(
    id: String,
    name: String,
    time_zone: String,
    hours: HashMap<String, String>,
    holidays: String,
    ical: Option<String>,
) -> Result<i64, ApiError> {
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
                    Err(message) => problems.push(FieldError::new(
                        &format!("hours[{key}]"),
                        format!("{label}: {message}"),
                    )),
                }
            }
            let mut holidays = parse_holidays(&holidays);
            match ical
                .as_deref()
                .map(str::trim)
                .filter(|t| !t.is_empty())
                .map(frontdesk_core::sla::ical::holidays)
            {
                Some(Ok(days)) => {
                    holidays.extend(days.into_iter().map(|(a, b)| (a.to_string(), b.to_string())))
                }
                Some(Err(e)) => problems.push(FieldError::new(
                    "ical",
                    format!("The iCalendar file cannot be read: {e}."),
                )),
                None => {}
            }
            if !problems.is_empty() {
                return Err(ApiError::Invalid(problems));
            }
            holidays.sort();
            holidays.dedup();
            let id = parse_id(&id)?.unwrap_or(0);
            let def = CalendarDef {
                id,
                name,
                time_zone: time_zone.trim().to_owned(),
                hours: week,
                holidays,
            };
            Ok(sla::save_calendar(&ctx, &actor, &def).await?.id)
        }
        .await,
    )
}

/// An optional id from a form field: empty is `None`; anything unreadable is "not found".
#[cfg(feature = "ssr")]
fn parse_id(text: &str) -> Result<Option<i64>, ApiError> {
    match text.trim() {
        "" => Ok(None),
        id => id.parse().map(Some).map_err(|_| ApiError::NotFound),
    }
}

/// The keys of a checkbox group (`name[KEY]`) that were ticked.
#[cfg(feature = "ssr")]
fn ticked(group: Option<HashMap<String, String>>) -> Vec<String> {
    let mut keys: Vec<String> = group.unwrap_or_default().into_keys().collect();
    keys.sort();
    keys
}

/// Creates (`id` empty, placed after the others) or changes a policy (admins only). `targets`
/// holds hours keyed `METRIC_PRIORITY` (`first_response_high`; empty: no target); the ticked
/// `priorities[..]`, `channels[..]` and `teams[ID]`, the comma-separated `tags` and
/// `organizations` (names) narrow which tickets it covers (none: any).
#[server(prefix = "/api", endpoint = "save_sla_policy")]
pub async fn save_sla_policy(
    id: String,
    name: String,
    calendar_id: String,
    priorities: Option<HashMap<String, String>>,
    channels: Option<HashMap<String, String>>,
    teams: Option<HashMap<String, String>>,
    tags: String,
    organizations: String,
    targets: HashMap<String, String>,
    pause_pending: Option<String>,
    pause_on_hold: Option<String>,
    warn_percent: String,
    raise_priority: Option<String>,
    breach_team_id: String,
) -> Result<i64, ApiError> {
    use super::server::{respond, signed_in_agent};
    use frontdesk_core::error::FieldError;
    use frontdesk_core::sla::clock::{Metric, Targets};
    use frontdesk_core::sla::{self, BreachActions, Conditions, PolicyDef};
    use frontdesk_core::tickets::{Priority, Status};
    respond(
        async {
            let (ctx, actor) = signed_in_agent().await?;
            let invalid = |field: &str, message: &str| {
                ApiError::Invalid(vec![FieldError::new(field, message)])
            };
            let one = |e: FieldError| ApiError::Invalid(vec![e]);
            let mut set: [Targets; 4] = Default::default();
            for (i, p) in Priority::ALL.iter().enumerate() {
                for metric in Metric::ALL {
                    let key = format!("{}_{}", metric.as_str(), p.as_str());
                    let text = targets.get(&key).map_or("", |v| v.trim());
                    if text.is_empty() {
                        continue;
                    }
                    let hours: f64 =
                        text.parse().ok().filter(|h: &f64| h.is_finite() && *h > 0.0).ok_or_else(
                            || {
                                ApiError::Invalid(vec![FieldError::new(
                                    &format!("targets[{key}]"),
                                    format!("'{text}' is not a number of hours."),
                                )])
                            },
                        )?;
                    let ms = Some((hours * 3_600_000.0).round() as i64);
                    match metric {
                        Metric::FirstResponse => set[i].first_response = ms,
                        Metric::NextResponse => set[i].next_response = ms,
                        Metric::Resolution => set[i].resolution = ms,
                    }
                }
            }
            let calendar_id = parse_id(&calendar_id)
                .map_err(|_| invalid("calendar_id", "There is no such calendar."))?;
            let team_id = |text: &str| {
                text.parse::<i64>().map_err(|_| invalid("teams", "There is no such team."))
            };
            let list = |text: &str| {
                text.split(',')
                    .map(str::trim)
                    .filter(|t| !t.is_empty())
                    .map(str::to_owned)
                    .collect::<Vec<_>>()
            };
            let organization_ids = frontdesk_core::customers::organizations::ids_by_names(
                &ctx,
                &actor,
                &list(&organizations),
                "organizations",
            )
            .await?;
            let conditions = Conditions {
                priorities: ticked(priorities)
                    .iter()
                    .map(|p| p.parse())
                    .collect::<Result<_, _>>()
                    .map_err(one)?,
                channels: ticked(channels)
                    .iter()
                    .map(|c| c.parse())
                    .collect::<Result<_, _>>()
                    .map_err(one)?,
                team_ids: ticked(teams).iter().map(|t| team_id(t)).collect::<Result<_, _>>()?,
                tags: list(&tags.to_lowercase()),
                organization_ids,
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
                w => w
                    .parse()
                    .map_err(|_| invalid("warn_percent", "Use a whole percentage below 100."))?,
            };
            let breach_team = parse_id(&breach_team_id)
                .map_err(|_| invalid("breach_team_id", "There is no such team."))?;
            let id = parse_id(&id)?;
            let position = match id {
                Some(id) => {
                    sla::list_policies(&ctx, &actor)
                        .await?
                        .into_iter()
                        .find(|p| p.id == id)
                        .ok_or(ApiError::NotFound)?
                        .position
                }
                None => 0,
            };
            let def = PolicyDef {
                id: id.unwrap_or(0),
                name,
                position,
                calendar_id,
                conditions,
                targets: set,
                pause_statuses,
                warn_percent,
                breach_actions: BreachActions {
                    raise_priority: raise_priority.is_some(),
                    team_id: breach_team,
                },
            };
            Ok(sla::save_policy(&ctx, &actor, &def).await?.id)
        }
        .await,
    )
}

/// Moves a policy one place up (earlier) or down in the order (admins only).
#[server(prefix = "/api", endpoint = "move_sla_policy")]
pub async fn move_sla_policy(id: i64, direction: String) -> Result<(), ApiError> {
    use super::server::{respond, signed_in_agent};
    respond(
        async {
            let (ctx, actor) = signed_in_agent().await?;
            Ok(frontdesk_core::sla::move_policy(&ctx, &actor, id, direction == "up").await?)
        }
        .await,
    )
}

/// Deletes a policy (admins only).
#[server(prefix = "/api", endpoint = "delete_sla_policy")]
pub async fn delete_sla_policy(id: i64) -> Result<(), ApiError> {
    use super::server::{respond, signed_in_agent};
    respond(
        async {
            let (ctx, actor) = signed_in_agent().await?;
            Ok(frontdesk_core::sla::delete_policy(&ctx, &actor, id).await?)
        }
        .await,
    )
}

/// The SLA compliance report over the UTC days `from..=to`, one row per `group_by` (policy,
/// team or agent); admins only.
#[server(prefix = "/api", endpoint = "sla_report")]
pub async fn sla_report(
    from: String,
    to: String,
    group_by: String,
) -> Result<frontdesk_core::sla::report::SlaReport, ApiError> {
    use super::server::{respond, signed_in_agent};
    use frontdesk_core::sla::report;
    respond(
        async {
            let (ctx, actor) = signed_in_agent().await?;
            let group_by = group_by.parse().map_err(|e| ApiError::Invalid(vec![e]))?;
            Ok(report::report(&ctx, &actor, &from, &to, group_by).await?)
        }
        .await,
    )
}

/// When a ticket created now with `priority` would come due under policy `policy_id`:
/// `(metric, local time)` per target.
#[server(prefix = "/api", endpoint = "preview_sla")]
pub async fn preview_sla(
    policy_id: i64,
    priority: String,
) -> Result<Vec<(String, String)>, ApiError> {
    use super::server::{respond, signed_in_agent};
    use frontdesk_core::sla;
    respond(
        async {
            let (ctx, actor) = signed_in_agent().await?;
            let priority = priority.parse().map_err(|e| ApiError::Invalid(vec![e]))?;
            let (zone, due) = sla::preview(&ctx, &actor, policy_id, priority).await?;
            Ok(due
                .into_iter()
                .map(|(metric, at)| (metric.label().to_owned(), sla::local_time(&zone, at)))
                .collect())
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
            [
                ("2026-12-25".to_owned(), "2026-12-25".to_owned()),
                ("2026-12-31".to_owned(), "2027-01-01".to_owned())
            ]
        );
    }
}
