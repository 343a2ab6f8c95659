//! `/app/reports/sla`: SLA compliance by policy, team or agent over a period (admins), as a
//! table, a chart of the met share per target, and a CSV download of the same figures.

use frontdesk_core::sla::report::{GroupBy, METRICS, MetricStats, SlaReport};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use crate::api::sla_report;
use crate::components::{ErrorNotice, short_duration};

/// The report page: the period and grouping come from the query string (a plain GET form).
#[component]
pub fn SlaReportPage() -> impl IntoView {
    let query = use_query_map();
    let params = Memo::new(move |_| {
        let q = query.read();
        (
            q.get("from").unwrap_or_default(),
            q.get("to").unwrap_or_default(),
            q.get("group_by").unwrap_or_else(|| "policy".to_owned()),
        )
    });
    let report =
        Resource::new(move || params.get(), |(from, to, group_by)| sla_report(from, to, group_by));
    view! {
        <Title text="SLA compliance · frontdesk"/>
        <header class="page-header"><h1>"SLA compliance"</h1></header>
        <Transition fallback=|| view! { <p class="loading">"Loading the report…"</p> }>
            {move || Suspend::new(async move {
                match report.await {
                    Ok(report) => view! { <ReportView report/> }.into_any(),
                    Err(e) => view! {
                        <ErrorNotice error=e.clone()/>
                        <p class="field-error">{e.field("from").or_else(|| e.field("to")).unwrap_or_default()}</p>
                        <p><a href="/app/reports/sla">"Back to the last 30 days"</a></p>
                    }
                        .into_any(),
                }
            })}
        </Transition>
    }
}

fn percent(stats: &MetricStats) -> String {
    stats.compliance().map_or_else(|| "–".to_owned(), |c| format!("{c:.1}%"))
}

fn duration(ms: Option<i64>) -> String {
    ms.map_or_else(|| "–".to_owned(), short_duration)
}

#[component]
fn ReportView(report: SlaReport) -> impl IntoView {
    let csv = format!(
        "/app/reports/sla.csv?from={}&to={}&group_by={}",
        report.from, report.to, report.group_by
    );
    let group_label = report.group_by.label();
    let rows: Vec<_> = report.rows.iter().cloned().chain([report.total.clone()]).collect();
    view! {
        <form method="get" action="/app/reports/sla" class="card filters" id="report-form">
            <label>"From " <input type="date" name="from" value=report.from.clone() id="report-from"/></label>
            <label>"to " <input type="date" name="to" value=report.to.clone() id="report-to"/></label>
            <label>"by "
                <select name="group_by" id="report-group">
                    {GroupBy::ALL.iter().map(|g| view! { <option value=g.as_str() selected=*g == report.group_by>{g.label()}</option> }).collect_view()}
                </select>
            </label>
            <button type="submit" class="small">"Show"</button>
            <a href=csv class="button small" id="report-csv" download>"Download CSV"</a>
        </form>
        <p class="muted">
            "Clock runs that started between " {report.from.clone()} " and " {report.to.clone()}
            " (UTC). Times are business time in each policy's calendar, over the runs that stopped."
        </p>
        {if report.total.metrics.iter().all(|m| m.met + m.breached + m.open == 0) {
            view! { <p class="empty-state">"No SLA clocks started in this period."</p> }.into_any()
        } else {
            view! {
                <ComplianceChart rows=report.rows.clone()/>
                <table class="table report" id="sla-report">
                    <thead>
                        <tr>
                            <th rowspan="2">{group_label}</th>
                            {METRICS.map(|(_, label)| view! { <th colspan="5">{label}</th> })}
                        </tr>
                        <tr>
                            {METRICS.map(|_| view! { <th>"Met"</th><th>"Breached"</th><th>"Running"</th><th>"Median"</th><th>"90th pct."</th> })}
                        </tr>
                    </thead>
                    <tbody>
                        {rows.into_iter().map(|row| view! {
                            <tr data-group=row.group.clone()>
                                <td class="group">{row.group.clone()}</td>
                                {row.metrics.iter().map(|m| view! {
                                    <td class="num">{format!("{} ({})", m.met, percent(m))}</td>
                                    <td class="num">{m.breached}</td>
                                    <td class="num">{m.open}</td>
                                    <td class="num">{duration(m.median_ms)}</td>
                                    <td class="num">{duration(m.p90_ms)}</td>
                                }).collect_view()}
                            </tr>
                        }).collect_view()}
                    </tbody>
                </table>
            }
                .into_any()
        }}
    }
}

/// Horizontal bars: per group, the met share of each target.
#[component]
fn ComplianceChart(rows: Vec<frontdesk_core::sla::report::ReportRow>) -> impl IntoView {
    const LABEL: f64 = 180.0;
    const WIDTH: f64 = 420.0;
    const BAR: f64 = 12.0;
    let block = BAR * 3.0 + 14.0;
    let height = block * rows.len() as f64 + 24.0;
    let colours = ["var(--accent)", "#7a5af8", "#12b76a"];
    view! {
        <figure class="card chart">
            <svg id="sla-chart" role="img" aria-label="Met share per target" width=LABEL + WIDTH + 60.0 height=height viewBox=format!("0 0 {} {height}", LABEL + WIDTH + 60.0)>
                {rows.into_iter().enumerate().map(|(i, row)| {
                    let top = i as f64 * block;
                    view! {
                        <g>
                            <text x="0" y=top + BAR * 2.0 class="chart-label">{row.group.clone()}</text>
                            {row.metrics.iter().enumerate().map(|(j, m)| {
                                let share = m.compliance().unwrap_or(0.0);
                                let y = top + j as f64 * BAR;
                                view! {
                                    <rect x=LABEL y=y width=WIDTH * share / 100.0 height=BAR - 2.0 fill=colours[j]>
                                        <title>{format!("{}: {}", METRICS[j].1, percent(m))}</title>
                                    </rect>
                                    <text x=LABEL + WIDTH * share / 100.0 + 4.0 y=y + BAR - 3.0 class="chart-value">{percent(m)}</text>
                                }
                            }).collect_view()}
                        </g>
                    }
                }).collect_view()}
            </svg>
            <figcaption class="legend">
                {METRICS.iter().zip(colours).map(|((_, label), colour)| view! {
                    <span><i style=format!("background:{colour}")></i>{*label}</span>
                }).collect_view()}
            </figcaption>
        </figure>
    }
}
