//! `GET /app/reports/sla.csv?from=YYYY-MM-DD&to=YYYY-MM-DD&group_by=policy|team|agent`: the SLA
//! compliance report as a download. The report page shows the same data; the core service
//! authorizes it (admins only).

use axum::extract::{Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use frontdesk_core::AppContext;
use frontdesk_core::sla::report::{self, GroupBy};
use frontdesk_frontend::api::{ApiError, agent_of_session};
use serde::Deserialize;
use tower_sessions::Session;

/// The report's query string.
#[derive(Debug, Deserialize)]
pub(super) struct ReportQuery {
    from: String,
    to: String,
    group_by: String,
}

/// Answers with the CSV, or the status and words of what is wrong.
pub(super) async fn sla_csv(
    State(ctx): State<AppContext>,
    session: Session,
    Query(query): Query<ReportQuery>,
) -> Result<Response, ApiError> {
    let agent = agent_of_session(&ctx, &session).await?;
    let report = match query.group_by.parse::<GroupBy>() {
        Ok(group_by) => report::report(&ctx, &agent, &query.from, &query.to, group_by)
            .await
            .map_err(ApiError::from),
        Err(e) => Err(ApiError::Invalid(vec![e])),
    };
    let report = match report {
        Ok(report) => report,
        // A download has no form to show its fields next to: the words name them.
        Err(ApiError::Invalid(fields)) => {
            let words: Vec<String> =
                fields.iter().map(|f| format!("{}: {}", f.field, f.message)).collect();
            return Ok((StatusCode::UNPROCESSABLE_ENTITY, words.join("\n")).into_response());
        }
        Err(e) => return Err(e),
    };
    let name = format!(
        "attachment; filename=\"sla-{}-{}-by-{}.csv\"",
        report.from, report.to, report.group_by
    );
    let disposition =
        HeaderValue::from_str(&name).unwrap_or(HeaderValue::from_static("attachment"));
    Ok((
        [
            (header::CONTENT_TYPE, HeaderValue::from_static("text/csv; charset=utf-8")),
            (header::CONTENT_DISPOSITION, disposition),
            (header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")),
        ],
        report.to_csv(),
    )
        .into_response())
}
