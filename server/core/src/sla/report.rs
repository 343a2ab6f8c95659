//! The SLA compliance report: per policy, team or agent over a period, how many clock runs met
//! or breached each target, and the median and 90th percentile of the business time they took.
//!
//! The types are shared with the browser; the query ([`report`], behind the `store` feature)
//! reads the clock runs the SLA worker stores for each ticket (`ticket_sla_clocks`), so the
//! report agrees with every ticket's SLA timeline. A run counts in the period it started in;
//! times are business time in the policy's calendar, over the runs that have stopped.

use serde::{Deserialize, Serialize};

named_enum!(
    /// What the report's rows are.
    GroupBy, "group_by" {
        /// One row per SLA policy.
        Policy = "policy", "Policy";
        /// One row per team of the ticket.
        Team = "team", "Team";
        /// One row per assignee.
        Agent = "agent", "Agent";
    }
);

/// The report's metrics, in column order.
pub const METRICS: [(&str, &str); 3] = [
    ("first_response", "First response"),
    ("next_response", "Next response"),
    ("resolution", "Resolution"),
];

/// One target's outcomes in one row.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MetricStats {
    /// Runs that kept the promise.
    pub met: u64,
    /// Runs that missed it (met late or still open).
    pub breached: u64,
    /// Runs still counting (or paused) within their target.
    pub open: u64,
    /// Median business time of the runs that stopped, in milliseconds.
    pub median_ms: Option<i64>,
    /// 90th percentile of the same.
    pub p90_ms: Option<i64>,
}

impl MetricStats {
    /// Met share of the decided runs, in percent.
    pub fn compliance(&self) -> Option<f64> {
        let decided = self.met + self.breached;
        (decided > 0).then(|| self.met as f64 * 100.0 / decided as f64)
    }

    /// The stats of these runs: `(status, counted ms, stopped)` each.
    pub fn of(runs: &[(&str, i64, bool)]) -> Self {
        let mut stats = Self::default();
        let mut times: Vec<i64> = Vec::new();
        for &(status, counted, stopped) in runs {
            match status {
                "met" => stats.met += 1,
                "breached" => stats.breached += 1,
                _ => stats.open += 1,
            }
            if stopped {
                times.push(counted);
            }
        }
        times.sort_unstable();
        stats.median_ms = percentile(&times, 50);
        stats.p90_ms = percentile(&times, 90);
        stats
    }
}

/// The nearest-rank percentile of sorted values.
fn percentile(sorted: &[i64], p: usize) -> Option<i64> {
    let rank = (sorted.len() * p).div_ceil(100).max(1);
    sorted.get(rank - 1).copied()
}

/// One row: a policy, team or agent, and its stats per metric ([`METRICS`] order).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportRow {
    /// The policy, team or agent name.
    pub group: String,
    /// First response, next response, resolution.
    pub metrics: [MetricStats; 3],
}

/// The whole report.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SlaReport {
    /// First day (UTC, `YYYY-MM-DD`).
    pub from: String,
    /// Last day, included.
    pub to: String,
    /// What the rows are.
    pub group_by: GroupBy,
    /// One per group, by name.
    pub rows: Vec<ReportRow>,
    /// Every run of the period.
    pub total: ReportRow,
}

fn hours(ms: Option<i64>) -> String {
    ms.map(|ms| format!("{:.2}", ms as f64 / 3_600_000.0)).unwrap_or_default()
}

/// A CSV field, quoted when needed; a leading `=`, `+`, `-` or `@` is defused so spreadsheets
/// do not run it as a formula.
fn csv_field(text: &str) -> String {
    let text =
        if text.starts_with(['=', '+', '-', '@']) { format!("'{text}") } else { text.to_owned() };
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text
    }
}

impl SlaReport {
    /// The report as CSV: one line per group and a total, times in business hours.
    pub fn to_csv(&self) -> String {
        let mut header = vec![self.group_by.label().to_owned()];
        for (_, label) in METRICS {
            for column in ["met", "breached", "open", "compliance %", "median hours", "p90 hours"] {
                header.push(format!("{label} {column}"));
            }
        }
        let mut out = header.join(",") + "\r\n";
        for row in self.rows.iter().chain([&self.total]) {
            let mut fields = vec![csv_field(&row.group)];
            for m in &row.metrics {
                fields.extend([
                    m.met.to_string(),
                    m.breached.to_string(),
                    m.open.to_string(),
                    m.compliance().map(|c| format!("{c:.1}")).unwrap_or_default(),
                    hours(m.median_ms),
                    hours(m.p90_ms),
                ]);
            }
            out += &(fields.join(",") + "\r\n");
        }
        out
    }
}

#[cfg(feature = "store")]
pub use query::report;

#[cfg(feature = "store")]
mod query {
    /// One metric's clock runs in a group: (status, business time counted, stopped in time).
    type Runs<'a> = Vec<(&'a str, i64, bool)>;

    use std::collections::BTreeMap;

    use super::{GroupBy, METRICS, MetricStats, ReportRow, SlaReport};
    use crate::agents::Agent;
    use crate::error::{Error, Result};
    use crate::platform::context::AppContext;
    use crate::platform::db::on_pool;
    use crate::platform::time::Timestamp;

    /// The longest period one report covers.
    const MAX_DAYS: i64 = 366;

    type Run = (String, String, i64, Option<i64>, Option<String>, Option<String>, Option<String>);

    /// The report over the UTC days `from..=to` (`YYYY-MM-DD`; empty `to` is today, empty
    /// `from` 29 days before `to`), for admins.
    pub async fn report(
        ctx: &AppContext,
        actor: &Agent,
        from: &str,
        to: &str,
        group_by: GroupBy,
    ) -> Result<SlaReport> {
        if !actor.active {
            return Err(Error::Unauthenticated);
        }
        if !actor.is_admin() {
            return Err(Error::Forbidden);
        }
        let to = match to.trim() {
            "" => jiff::Timestamp::now().to_zoned(jiff::tz::TimeZone::UTC).date().to_string(),
            to => to.to_owned(),
        };
        let from = match from.trim() {
            "" => to
                .parse::<jiff::civil::Date>()
                .ok()
                .and_then(|d| d.checked_sub(jiff::Span::new().days(29)).ok())
                .map_or_else(String::new, |d| d.to_string()),
            from => from.to_owned(),
        };
        let (from, to) = (from.as_str(), to.as_str());
        let start = Timestamp::start_of_utc_date(from)
            .ok_or_else(|| Error::invalid("from", "Use a date like 2026-11-01."))?;
        let last = Timestamp::start_of_utc_date(to)
            .ok_or_else(|| Error::invalid("to", "Use a date like 2026-11-30."))?;
        let end = last.unix_millis() + 86_400_000;
        if end <= start.unix_millis() {
            return Err(Error::invalid("to", "The period ends before it starts."));
        }
        if end - start.unix_millis() > MAX_DAYS * 86_400_000 {
            return Err(Error::invalid("to", "Report on at most a year at a time."));
        }
        let runs: Vec<Run> = on_pool!(ctx.db(), |pool| sqlx::query_as(
            "SELECT c.metric, c.status, c.counted, c.stopped_at, p.name, tm.name, a.name
             FROM ticket_sla_clocks c JOIN tickets t ON t.id = c.ticket_id
             LEFT JOIN sla_policies p ON p.id = c.policy_id
             LEFT JOIN teams tm ON tm.id = t.team_id
             LEFT JOIN agents a ON a.id = t.assignee_id
             WHERE c.started_at >= $1 AND c.started_at < $2"
        )
        .bind(start.unix_millis())
        .bind(end)
        .fetch_all(pool)
        .await)?;
        let mut groups: BTreeMap<String, [Runs<'_>; 3]> = BTreeMap::new();
        let mut total: [Runs<'_>; 3] = Default::default();
        for (metric, status, counted, stopped_at, policy, team, agent) in &runs {
            let Some(index) = METRICS.iter().position(|(name, _)| name == metric) else { continue };
            let group = match group_by {
                GroupBy::Policy => policy.clone().unwrap_or_else(|| "(deleted policy)".to_owned()),
                GroupBy::Team => team.clone().unwrap_or_else(|| "(no team)".to_owned()),
                GroupBy::Agent => agent.clone().unwrap_or_else(|| "(unassigned)".to_owned()),
            };
            let run = (status.as_str(), *counted, stopped_at.is_some());
            groups.entry(group).or_default()[index].push(run);
            total[index].push(run);
        }
        let row = |group: String, runs: &[Vec<(&str, i64, bool)>; 3]| ReportRow {
            group,
            metrics: runs.each_ref().map(|r| MetricStats::of(r)),
        };
        Ok(SlaReport {
            from: from.to_owned(),
            to: to.to_owned(),
            group_by,
            rows: groups.iter().map(|(group, runs)| row(group.clone(), runs)).collect(),
            total: row("All".to_owned(), &total),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_use_the_nearest_rank() {
        let values: Vec<i64> = (1..=10).collect();
        assert_eq!(percentile(&values, 50), Some(5));
        assert_eq!(percentile(&values, 90), Some(9));
        assert_eq!(percentile(&[7], 90), Some(7));
        assert_eq!(percentile(&[], 50), None);
    }

    #[test]
    fn stats_count_outcomes_and_time_only_stopped_runs() {
        let stats = MetricStats::of(&[
            ("met", 10, true),
            ("breached", 50, true),
            ("running", 99, false),
            ("breached", 70, false),
        ]);
        assert_eq!((stats.met, stats.breached, stats.open), (1, 2, 1));
        assert_eq!((stats.median_ms, stats.p90_ms), (Some(10), Some(50)));
        assert_eq!(stats.compliance().map(|c| c.round()), Some(33.0));
    }

    #[test]
    fn csv_quotes_fields_and_defuses_formulas() {
        assert_eq!(csv_field("Tier 1, EU"), "\"Tier 1, EU\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        assert_eq!(csv_field("Support"), "Support");
    }
}
