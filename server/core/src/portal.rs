//! The customer portal: customers open requests through a public form, sign in with an expiring,
//! single-use link, and see and answer their own tickets only.
//!
//! Links carry 256 random bits; only their SHA-256 is stored, so a leaked database holds no
//! usable link. A link is sent through the mail outbox, written with the token in one transaction
//! (admins can read the outbox while no mail server is set up). Every function that takes a `contact_id` reads only that
//! contact's tickets: another customer's ticket is reported as not found.

use std::net::IpAddr;
use std::time::{Duration, Instant};

use crate::agents::{Email, PersonName};
use crate::platform::context::AppContext;
use crate::platform::db::{Db, on_pool};
use crate::error::{Error, Result};
use crate::search::{FoundItem, SearchQuery};
use crate::agents::password::token_hash as hash;
use crate::platform::rate_limit::RateLimiter;
use crate::tickets::{
    Channel, CustomerMessage, CustomerTicket, MessageBody, MessageKind, Priority, Status, Subject,
};
use crate::tickets::{self, Author, NewTicket};
use crate::platform::time::Timestamp;

/// How long a sign-in link works.
pub const LINK_LIFETIME: Duration = Duration::from_secs(30 * 60);

/// Public searches and article votes allowed per IP and minute.
pub const SEARCHES_PER_MINUTE: usize = 120;
/// Article suggestions allowed per IP and minute: typing asks again after each pause (about four
/// times a second at most), so they get their own, larger budget and never use up the searches.
pub const SUGGESTIONS_PER_MINUTE: usize = 600;
/// How many articles the request form suggests at most.
pub const SUGGESTED_ARTICLES: usize = 5;

/// Rate limits on the public endpoints, per client IP.
#[derive(Debug)]
pub struct PortalLimits {
    requests: RateLimiter,
    links: RateLimiter,
    searches: RateLimiter,
    suggestions: RateLimiter,
}

impl PortalLimits {
    /// Counts one public search or article vote from `ip`; refused past
    /// [`SEARCHES_PER_MINUTE`].
    pub fn check_search(&self, ip: IpAddr) -> Result<()> {
        limit(&self.searches, ip)
    }

    /// Counts one suggestion as you type from `ip`; refused past [`SUGGESTIONS_PER_MINUTE`].
    /// Separate from [`Self::check_search`], so typing never blocks a real search.
    pub fn check_suggestion(&self, ip: IpAddr) -> Result<()> {
        limit(&self.suggestions, ip)
    }
}

impl Default for PortalLimits {
    fn default() -> Self {
        let minute = Duration::from_secs(60);
        Self {
            requests: RateLimiter::new(10, Duration::from_secs(60 * 60)),
            links: RateLimiter::new(10, Duration::from_secs(60 * 60)),
            searches: RateLimiter::new(SEARCHES_PER_MINUTE, minute),
            suggestions: RateLimiter::new(SUGGESTIONS_PER_MINUTE, minute),
        }
    }
}

fn limit(limiter: &RateLimiter, ip: IpAddr) -> Result<()> {
    let (key, now) = (ip.to_string(), Instant::now());
    limiter
        .check(&key, now)
        .map_err(|wait| Error::RateLimited { retry_after_secs: wait.secs() })?;
    limiter.record(&key, now);
    Ok(())
}

/// A request from the public form, validated.
#[derive(Clone, Debug)]
pub struct PortalRequest {
    /// The customer's name.
    pub name: PersonName,
    /// The customer's email: their profile is found or created from it.
    pub email: Email,
    /// One-line summary.
    pub subject: Subject,
    /// The question.
    pub body: MessageBody,
}

/// Opens a ticket from the public form and sends the customer a sign-in link. Returns the ticket
/// number.
pub async fn submit_request(ctx: &AppContext, request: PortalRequest, ip: IpAddr) -> Result<i64> {
    limit(&ctx.part::<PortalLimits>().requests, ip)?;
    let new = NewTicket {
        requester_email: request.email.clone(),
        requester_name: request.name,
        subject: request.subject,
        body: request.body,
        priority: Priority::Normal,
        channel: Channel::WebForm,
        tags: Vec::new(),
    };
    let id = tickets::insert_ticket(ctx, &new, None).await?;
    let detail = tickets::load_detail(ctx.db(), id).await?;
    issue_link(ctx, detail.ticket.requester.id, &request.email).await?;
    Ok(detail.ticket.number)
}

/// Published articles that may answer what someone is typing (a request's subject and message,
/// or a help-centre search), best first, at most [`SUGGESTED_ARTICLES`]. Public: the search shows
/// published articles only. Counted against the suggestion budget of `ip`. The words only rank:
/// quotes typed in a message do not make phrases that every article must contain.
pub async fn suggest_articles(ctx: &AppContext, text: &str, ip: IpAddr) -> Result<Vec<FoundItem>> {
    ctx.part::<PortalLimits>().check_suggestion(ip)?;
    let words = text.replace('"', " ");
    if words.trim().chars().count() < 3 {
        return Ok(Vec::new());
    }
    let query = SearchQuery {
        q: words,
        as_you_type: true,
        kind: "article".into(),
        ..SearchQuery::default()
    };
    let mut found = crate::search::search_public(ctx, None, &query).await?;
    found.items.truncate(SUGGESTED_ARTICLES);
    Ok(found.items)
}

/// Sends a fresh sign-in link if `email` belongs to a customer. Answers the same either way, so
/// the form reveals nothing about who is a customer.
pub async fn request_link(ctx: &AppContext, email: &Email, ip: IpAddr) -> Result<()> {
    limit(&ctx.part::<PortalLimits>().links, ip)?;
    let contact: Option<i64> = on_pool!(ctx.db(), |pool| sqlx::query_scalar(
        "SELECT contact_id FROM contact_emails WHERE email = $1"
    )
    .bind(email.as_str())
    .fetch_optional(pool)
    .await)?;
    match contact {
        Some(contact_id) => issue_link(ctx, contact_id, email).await,
        None => Ok(()),
    }
}

/// Uses a sign-in link: returns its contact if the link exists, has not expired and was never
/// used, and marks it used in the same statement.
pub async fn redeem_link(ctx: &AppContext, token: &str) -> Result<i64> {
    let now = Timestamp::now();
    let contact: Option<i64> = on_pool!(ctx.db(), |pool| sqlx::query_scalar(
        "UPDATE portal_tokens SET used_at = $2
         WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2
         RETURNING contact_id"
    )
    .bind(hash(token))
    .bind(now)
    .fetch_optional(pool)
    .await)?;
    contact.ok_or_else(|| {
        Error::Conflict(
            "This sign-in link has expired or was already used. Ask for a new one.".into(),
        )
    })
}

/// The customer's own tickets, most recently changed first.
pub async fn my_tickets(ctx: &AppContext, contact_id: i64) -> Result<Vec<CustomerTicket>> {
    let contact_id = crate::customers::canonical_id(ctx.db(), contact_id).await?;
    let numbers: Vec<i64> = on_pool!(ctx.db(), |pool| {
        sqlx::query_scalar(
        "SELECT number FROM tickets WHERE requester_id = $1 ORDER BY updated_at DESC, id DESC LIMIT 200"
    )
    .bind(contact_id)
    .fetch_all(pool)
    .await
    })?;
    let mut list = Vec::with_capacity(numbers.len());
    for number in numbers {
        list.push(get_ticket(ctx, contact_id, number).await?);
    }
    Ok(list)
}

/// One of the customer's own tickets; anyone else's is [`Error::NotFound`].
pub async fn get_ticket(ctx: &AppContext, contact_id: i64, number: i64) -> Result<CustomerTicket> {
    let id = own_ticket_id(ctx.db(), contact_id, number).await?;
    let detail = tickets::load_detail(ctx.db(), id).await?;
    let t = detail.ticket;
    Ok(CustomerTicket {
        number: t.number,
        subject: t.subject,
        status: t.status,
        created_at: t.created_at,
        updated_at: t.updated_at,
        messages: detail
            .messages
            .into_iter()
            .filter(|m| m.kind == MessageKind::Reply)
            .map(|m| CustomerMessage {
                author: m.author.name,
                from_customer: !m.by_agent,
                body_html: m.body_html,
                created_at: m.created_at,
            })
            .collect(),
    })
}

/// The customer answers their own ticket; a pending or solved ticket reopens.
pub async fn reply(
    ctx: &AppContext,
    contact_id: i64,
    number: i64,
    body: MessageBody,
) -> Result<CustomerTicket> {
    let id = own_ticket_id(ctx.db(), contact_id, number).await?;
    let status: String =
        on_pool!(ctx.db(), |pool| sqlx::query_scalar("SELECT status FROM tickets WHERE id = $1")
            .bind(id)
            .fetch_one(pool)
            .await)?;
    if status == Status::Closed.as_str() {
        return Err(Error::Conflict("This request is closed. Please open a new one.".into()));
    }
    let author = crate::customers::canonical_id(ctx.db(), contact_id).await?;
    tickets::post_message(ctx, id, Author::Contact(author), MessageKind::Reply, &body).await?;
    get_ticket(ctx, contact_id, number).await
}

async fn own_ticket_id(db: &Db, contact_id: i64, number: i64) -> Result<i64> {
    // A session may predate a merge: the customer's tickets now belong to the survivor.
    let contact_id = crate::customers::canonical_id(db, contact_id).await?;
    on_pool!(db, |pool| sqlx::query_scalar(
        "SELECT id FROM tickets WHERE number = $1 AND requester_id = $2"
    )
    .bind(number)
    .bind(contact_id)
    .fetch_optional(pool)
    .await)?
    .ok_or(Error::NotFound("ticket"))
}

/// Creates a link for `contact_id` and puts it in the outbox for `email`.
async fn issue_link(ctx: &AppContext, contact_id: i64, email: &Email) -> Result<()> {
    let token = crate::agents::password::random_token(32);
    let now = Timestamp::now();
    let link =
        format!("{}/portal/sign-in/{token}", ctx.settings().public_url.trim_end_matches('/'));
    let body = format!(
        "Hello,\n\nFollow your requests at frontdesk with this link (it works once, for {} minutes):\n\n{link}\n",
        LINK_LIFETIME.as_secs() / 60
    );
    on_pool!(ctx.db(), |pool| {
        async {
        let mut tx = pool.begin().await?;
        sqlx::query("INSERT INTO portal_tokens (token_hash, contact_id, created_at, expires_at) VALUES ($1, $2, $3, $4)")
            .bind(hash(&token))
            .bind(contact_id)
            .bind(now)
            .bind(now.plus(LINK_LIFETIME))
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO mail_outbox (kind, to_address, subject, body, next_attempt_at, created_at)
             VALUES ('sign_in', $1, $2, $3, $4, $4)",
        )
        .bind(email.as_str())
        .bind("Your sign-in link")
        .bind(&body)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        tx.commit().await
    }
    .await
    })?;
    tracing::info!(contact_id, to = email.as_str(), "portal sign-in link queued");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggestions_have_their_own_budget_and_never_use_up_the_searches() {
        let limits = PortalLimits::default();
        let (ip, other): (IpAddr, IpAddr) =
            ("192.0.2.1".parse().expect("ip"), "192.0.2.2".parse().expect("ip"));
        for _ in 0..SUGGESTIONS_PER_MINUTE {
            limits.check_suggestion(ip).expect("within the suggestion budget");
        }
        assert!(
            matches!(limits.check_suggestion(ip), Err(Error::RateLimited { .. })),
            "the suggestion budget ends"
        );
        assert!(limits.check_suggestion(other).is_ok(), "per IP");
        for _ in 0..SEARCHES_PER_MINUTE {
            limits.check_search(ip).expect("searches are counted apart");
        }
        assert!(
            matches!(limits.check_search(ip), Err(Error::RateLimited { .. })),
            "the search budget ends"
        );
        const { assert!(SUGGESTIONS_PER_MINUTE > SEARCHES_PER_MINUTE) };
    }
}
