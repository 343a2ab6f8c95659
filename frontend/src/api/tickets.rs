//! Tickets: the queue, one ticket with its thread and history, creating, replying, changing.
#![expect(
    clippy::too_many_arguments,
    reason = "one argument per form field or filter; on the item, #[server] would copy the \
              expectation onto a generated item where it goes unfulfilled"
)]
#![expect(
    missing_docs,
    reason = "#[server] generates an argument struct per function; the function is documented"
)]

use frontdesk_core::tickets::{TicketDetail, TicketSummary};
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use super::ApiError;

/// One page of a queue, with the opaque cursor of the next page.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueuePage {
    /// The tickets, most recently changed first.
    pub tickets: Vec<TicketSummary>,
    /// Pass back as `cursor` for the next page; `None` on the last page.
    pub next_cursor: Option<String>,
}

/// One page of a queue view: `unassigned`, `mine`, `open`, `pending`, `solved`, or `team`
/// (with `team_id`), optionally filtered (`status`, `priority`, `assignee_id`, `tag`,
/// `requester_id`, `organization_id`, and `created_from`/`created_to`/`updated_from`/`updated_to`
/// as unix milliseconds; `sla_due_before` keeps tickets with an SLA clock due before that
/// instant) and sorted (`sort`: `updated`, `created` or `priority`).
#[server(prefix = "/api", endpoint = "list_queue")]
pub async fn list_queue(
    view: String,
    team_id: Option<i64>,
    cursor: Option<String>,
    status: Option<String>,
    priority: Option<String>,
    assignee_id: Option<String>,
    tag: Option<String>,
    sort: Option<String>,
    requester_id: Option<i64>,
    organization_id: Option<i64>,
    created_from: Option<i64>,
    created_to: Option<i64>,
    updated_from: Option<i64>,
    updated_to: Option<i64>,
    sla_due_before: Option<i64>,
) -> Result<QueuePage, ApiError> {
    use super::server::{respond, signed_in_agent};
    use frontdesk_core::error::FieldError;
    use frontdesk_core::platform::time::Timestamp;
    use frontdesk_core::tickets::Tag;
    use frontdesk_core::tickets::{self, QueueCursor, QueueFilter, QueueSort, QueueView};
    respond(
        async {
            let (ctx, actor) = signed_in_agent().await?;
            let invalid = |field: &str, message: &str| {
                ApiError::Invalid(vec![FieldError::new(field, message)])
            };
            let one = |e: FieldError| ApiError::Invalid(vec![e]);
            let present = |v: Option<String>| v.filter(|v| !v.trim().is_empty());
            let view = match (view.as_str(), team_id) {
                ("unassigned", _) => QueueView::Unassigned,
                ("mine", _) => QueueView::Mine,
                ("open", _) => QueueView::AllOpen,
                ("pending", _) => QueueView::Pending,
                ("solved", _) => QueueView::RecentlySolved,
                ("breaching", _) => QueueView::BreachingSoon,
                ("team", Some(id)) => QueueView::Team(id),
                _ => return Err(invalid("view", "Unknown queue view.")),
            };
            let sort = match present(sort).as_deref() {
                None | Some("updated") => QueueSort::Updated,
                Some("created") => QueueSort::Created,
                Some("priority") => QueueSort::Priority,
                Some("sla") => QueueSort::SlaDue,
                Some(_) => {
                    return Err(invalid("sort", "Sort by updated, created, priority or sla."));
                }
            };
            let filter = QueueFilter {
                status: present(status).map(|s| s.parse()).transpose().map_err(one)?,
                priority: present(priority).map(|p| p.parse()).transpose().map_err(one)?,
                assignee_id: present(assignee_id)
                    .map(|a| a.parse().map_err(|_| invalid("assignee_id", "Not a valid id.")))
                    .transpose()?,
                team_id: None,
                tag: present(tag).map(|t| Tag::parse(&t)).transpose().map_err(one)?,
                requester_id,
                organization_id,
                created_from: created_from.map(Timestamp::from_unix_millis),
                created_to: created_to.map(Timestamp::from_unix_millis),
                updated_from: updated_from.map(Timestamp::from_unix_millis),
                updated_to: updated_to.map(Timestamp::from_unix_millis),
                sla_due_before: sla_due_before.map(Timestamp::from_unix_millis),
            };
            let after = match present(cursor) {
                None => None,
                Some(text) => {
                    let parsed = text
                        .split_once('.')
                        .and_then(|(k, i)| Some((k.parse().ok()?, i.parse().ok()?)));
                    let (key, id) = parsed.ok_or_else(|| invalid("cursor", "Invalid cursor."))?;
                    Some(QueueCursor { key, id })
                }
            };
            let page = tickets::queue(&ctx, &actor, view, &filter, sort, after, 50).await?;
            Ok(QueuePage {
                tickets: page.tickets,
                next_cursor: page.next_cursor.map(|c| format!("{}.{}", c.key, c.id)),
            })
        }
        .await,
    )
}

/// How many tickets each predefined view holds (capped at 1000).
#[server(prefix = "/api", endpoint = "queue_counts")]
pub async fn queue_counts() -> Result<Vec<(String, i64)>, ApiError> {
    use super::server::{respond, signed_in_agent};
    use frontdesk_core::tickets::QueueView;
    respond(
        async {
            let (ctx, actor) = signed_in_agent().await?;
            let counts = frontdesk_core::tickets::view_counts(&ctx, &actor).await?;
            Ok(counts
                .into_iter()
                .map(|(view, n)| {
                    let key = match view {
                        QueueView::Unassigned => "unassigned",
                        QueueView::Mine => "mine",
                        QueueView::AllOpen => "open",
                        QueueView::Pending => "pending",
                        QueueView::RecentlySolved | QueueView::Team(_) => "solved",
                        QueueView::BreachingSoon => "breaching",
                    };
                    (key.to_owned(), n)
                })
                .collect())
        }
        .await,
    )
}

/// What a bulk action did.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BulkOutcome {
    /// Tickets changed.
    pub updated: Vec<i64>,
    /// Tickets not changed, and why.
    pub failed: Vec<(i64, String)>,
}

/// Applies one change to many tickets (`numbers`: comma-separated ticket numbers, at most 100).
#[server(prefix = "/api", endpoint = "bulk_update_tickets")]
pub async fn bulk_update_tickets(
    numbers: String,
    status: Option<String>,
    priority: Option<String>,
    assignee_id: Option<String>,
    add_tags: Option<String>,
    remove_tags: Option<String>,
) -> Result<BulkOutcome, ApiError> {
    use super::server::{respond, signed_in_agent};
    use frontdesk_core::error::FieldError;
    use frontdesk_core::tickets::BulkChanges;
    use frontdesk_core::tickets::Tag;
    respond(
        async {
            let (ctx, actor) = signed_in_agent().await?;
            let one = |e: FieldError| ApiError::Invalid(vec![e]);
            let present = |v: Option<String>| v.filter(|v| !v.trim().is_empty());
            let numbers = numbers
                .split(',')
                .filter(|n| !n.trim().is_empty())
                .map(|n| n.trim().parse::<i64>())
                .collect::<Result<Vec<_>, _>>()
                .map_err(|_| {
                    one(FieldError::new("numbers", "Ticket numbers are whole numbers."))
                })?;
            if numbers.is_empty() {
                return Err(one(FieldError::new("numbers", "Select at least one ticket.")));
            }
            let changes = BulkChanges {
                status: present(status).map(|s| s.parse()).transpose().map_err(one)?,
                priority: present(priority).map(|p| p.parse()).transpose().map_err(one)?,
                assignee_id: match assignee_id.as_deref().map(str::trim) {
                    None | Some("") => None,
                    Some("none") => Some(None),
                    Some(id) => Some(Some(
                        id.parse()
                            .map_err(|_| one(FieldError::new("assignee_id", "Not a valid id.")))?,
                    )),
                },
                add_tags: Tag::parse_list(add_tags.as_deref().unwrap_or_default()).map_err(one)?,
                remove_tags: Tag::parse_list(remove_tags.as_deref().unwrap_or_default())
                    .map_err(one)?,
            };
            let (updated, failed) =
                frontdesk_core::tickets::bulk_update(&ctx, &actor, &numbers, &changes).await?;
            Ok(BulkOutcome { updated, failed })
        }
        .await,
    )
}

/// One ticket with its thread and history.
#[server(prefix = "/api", endpoint = "get_ticket")]
pub async fn get_ticket(number: i64) -> Result<TicketDetail, ApiError> {
    use super::server::{respond, signed_in_agent};
    respond(
        async {
            let (ctx, actor) = signed_in_agent().await?;
            Ok(frontdesk_core::tickets::get(&ctx, &actor, number).await?)
        }
        .await,
    )
}

/// Creates a ticket for a customer (found or created by email), with a first public message.
#[server(prefix = "/api", endpoint = "create_ticket")]
pub async fn create_ticket(
    requester_email: String,
    requester_name: String,
    subject: String,
    body: String,
    priority: String,
    tags: String,
) -> Result<TicketDetail, ApiError> {
    use super::server::{respond, signed_in_agent};
    use frontdesk_core::agents::{Email, PersonName};
    use frontdesk_core::tickets::{Channel, MessageBody, Subject, Tag};
    respond(
        async {
            let (ctx, actor) = signed_in_agent().await?;
            let rename = |mut e: frontdesk_core::error::FieldError, to: &str| {
                e.field = to.to_owned();
                e
            };
            let email = Email::parse(&requester_email).map_err(|e| rename(e, "requester_email"));
            let name = PersonName::parse(&requester_name).map_err(|e| rename(e, "requester_name"));
            let subject = Subject::parse(&subject);
            let body = MessageBody::parse(&body);
            let priority = priority.parse();
            let tags = Tag::parse_list(&tags);
            let new = match (email, name, subject, body, priority, tags) {
                (
                    Ok(requester_email),
                    Ok(requester_name),
                    Ok(subject),
                    Ok(body),
                    Ok(priority),
                    Ok(tags),
                ) => frontdesk_core::tickets::NewTicket {
                    requester_email,
                    requester_name,
                    subject,
                    body,
                    priority,
                    channel: Channel::Api,
                    tags,
                },
                (a, b, c, d, e, f) => {
                    let errors = [a.err(), b.err(), c.err(), d.err(), e.err(), f.err()]
                        .into_iter()
                        .flatten()
                        .collect();
                    return Err(ApiError::Invalid(errors));
                }
            };
            Ok(frontdesk_core::tickets::create(&ctx, &actor, new).await?)
        }
        .await,
    )
}

/// Adds a public reply (`kind = reply`) or an internal note (`kind = note`). With
/// `composing_since` (the last event sequence number the agent had seen when they started
/// writing), the message is held (409 `NewActivity`) if others wrote since; send again without it
/// to send anyway.
#[server(prefix = "/api", endpoint = "add_ticket_message")]
pub async fn add_ticket_message(
    number: i64,
    kind: String,
    body: String,
    composing_since: Option<i64>,
) -> Result<TicketDetail, ApiError> {
    use super::server::{respond, signed_in_agent};
    use frontdesk_core::tickets::MessageBody;
    respond(
        async {
            let (ctx, actor) = signed_in_agent().await?;
            let kind = kind.parse().map_err(|e| ApiError::Invalid(vec![e]))?;
            let body = MessageBody::parse(&body).map_err(|e| ApiError::Invalid(vec![e]))?;
            Ok(frontdesk_core::tickets::add_message(
                &ctx,
                &actor,
                number,
                kind,
                body,
                composing_since,
            )
            .await?)
        }
        .await,
    )
}

/// Changes a ticket's fields, from the `version` the agent saw. Omitted fields stay; an empty
/// `assignee_id` or `team_id` clears it. A stale version answers 409 with the current ticket.
#[server(prefix = "/api", endpoint = "update_ticket")]
pub async fn update_ticket(
    number: i64,
    version: i64,
    status: Option<String>,
    priority: Option<String>,
    assignee_id: Option<String>,
    team_id: Option<String>,
    add_tags: Option<String>,
    remove_tags: Option<String>,
    resolution_message_id: Option<i64>,
) -> Result<TicketDetail, ApiError> {
    use super::server::{respond, signed_in_agent};
    use frontdesk_core::error::FieldError;
    use frontdesk_core::tickets::Tag;
    use frontdesk_core::tickets::TicketChanges;
    fn optional_id(field: &str, value: Option<String>) -> Result<Option<Option<i64>>, FieldError> {
        match value.as_deref().map(str::trim) {
            None => Ok(None),
            Some("") => Ok(Some(None)),
            Some(text) => text
                .parse()
                .map(|id| Some(Some(id)))
                .map_err(|_| FieldError::new(field, "Not a valid id.")),
        }
    }
    respond(
        async {
            let (ctx, actor) = signed_in_agent().await?;
            let one = |e: FieldError| ApiError::Invalid(vec![e]);
            let changes = TicketChanges {
                version,
                status: status.map(|s| s.parse()).transpose().map_err(one)?,
                priority: priority.map(|p| p.parse()).transpose().map_err(one)?,
                assignee_id: optional_id("assignee_id", assignee_id).map_err(one)?,
                team_id: optional_id("team_id", team_id).map_err(one)?,
                add_tags: Tag::parse_list(add_tags.as_deref().unwrap_or_default()).map_err(one)?,
                remove_tags: Tag::parse_list(remove_tags.as_deref().unwrap_or_default())
                    .map_err(one)?,
                resolution_message_id,
            };
            Ok(frontdesk_core::tickets::update(&ctx, &actor, number, changes).await?)
        }
        .await,
    )
}

/// A ticket's SLA for its page: which policy applies and why, each clock, and what happened to
/// them, with times in the policy's time zone.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SlaView {
    /// The policy that applies, if any.
    pub policy: Option<String>,
    /// Why it applies.
    pub reason: String,
    /// The clocks: metric, state, and due or breach time.
    pub clocks: Vec<SlaClockView>,
    /// `(when, metric, what happened)`, oldest first.
    pub timeline: Vec<(String, String, String)>,
}

/// One SLA clock, for display.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SlaClockView {
    /// First response, next response or resolution.
    pub metric: String,
    /// Running, paused, met or breached.
    pub status: String,
    /// When it comes due, while running.
    pub due_at: Option<frontdesk_core::platform::time::Timestamp>,
    /// Due or breach time in the policy's zone.
    pub when: Option<String>,
}

/// The SLA of ticket `number`.
#[server(prefix = "/api", endpoint = "ticket_sla")]
pub async fn ticket_sla(number: i64) -> Result<SlaView, ApiError> {
    use super::server::{respond, signed_in_agent};
    use frontdesk_core::platform::time::Timestamp;
    use frontdesk_core::sla;
    respond(
        async {
            let (ctx, actor) = signed_in_agent().await?;
            let state = sla::for_ticket(&ctx, &actor, number).await?;
            let zone = state.time_zone.clone();
            let clocks = state
                .clocks
                .iter()
                .map(|c| SlaClockView {
                    metric: c.metric.label().to_owned(),
                    status: format!("{:?}", c.status).to_lowercase(),
                    due_at: c.due_at.map(Timestamp::from_unix_millis),
                    when: c.due_at.or(c.breached_at).map(|ms| sla::local_time(&zone, ms)),
                })
                .collect();
            let timeline = state
                .timeline
                .iter()
                .map(|s| {
                    (
                        sla::local_time(&zone, s.at),
                        s.metric.label().to_owned(),
                        format!("{:?}", s.step).to_lowercase(),
                    )
                })
                .collect();
            Ok(SlaView { policy: state.policy, reason: state.reason, clocks, timeline })
        }
        .await,
    )
}
