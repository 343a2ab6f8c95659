//! Canned responses: replies agents insert by typing `/shortcut` in the chat composer. Every
//! active agent may read, add, change and remove them (a team's shared snippets, as in Chatwoot).

use crate::agents::Agent;
use crate::chats::CannedResponse;
use crate::platform::context::AppContext;
use crate::platform::db::on_pool;
use crate::error::{Error, FieldError, Result};
use crate::platform::time::Timestamp;

/// The longest shortcut, in characters.
const MAX_SHORTCUT: usize = 32;
/// The longest text, in characters.
const MAX_BODY: usize = 4_000;

/// Who may use and manage canned responses: every active agent.
pub fn authorize(actor: &Agent) -> Result<()> {
    if actor.active { Ok(()) } else { Err(Error::Forbidden) }
}

/// A canned response as submitted, validated.
#[derive(Clone, Debug)]
pub struct CannedDraft {
    shortcut: String,
    title: String,
    body: String,
}

impl CannedDraft {
    /// Validates a submitted form: the shortcut is lower-case letters, digits and dashes (a
    /// leading `/` is dropped).
    pub fn parse(shortcut: &str, title: &str, body: &str) -> Result<Self, Vec<FieldError>> {
        let mut errors = Vec::new();
        let shortcut = shortcut.trim().trim_start_matches('/').to_lowercase();
        if shortcut.is_empty()
            || shortcut.chars().count() > MAX_SHORTCUT
            || !shortcut.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        {
            errors.push(FieldError::new(
                "shortcut",
                format!("Use 1 to {MAX_SHORTCUT} letters, digits or dashes."),
            ));
        }
        let title = title.trim().to_owned();
        if title.is_empty() || title.chars().count() > 120 {
            errors.push(FieldError::new("title", "Give it a title of up to 120 characters."));
        }
        let body = body.trim().to_owned();
        if body.is_empty() || body.chars().count() > MAX_BODY {
            errors.push(FieldError::new(
                "body",
                format!("Write the reply (up to {MAX_BODY} characters)."),
            ));
        }
        if errors.is_empty() { Ok(Self { shortcut, title, body }) } else { Err(errors) }
    }
}

/// Every canned response, by shortcut.
pub async fn list(ctx: &AppContext, actor: &Agent) -> Result<Vec<CannedResponse>> {
    authorize(actor)?;
    let rows: Vec<(i64, String, String, String)> = on_pool!(ctx.db(), |pool| sqlx::query_as(
        "SELECT id, shortcut, title, body FROM canned_responses ORDER BY shortcut"
    )
    .fetch_all(pool)
    .await)?;
    Ok(rows
        .into_iter()
        .map(|(id, shortcut, title, body)| CannedResponse { id, shortcut, title, body })
        .collect())
}

/// Adds (`id` none) or changes a canned response. A shortcut in use is a field error.
pub async fn save(
    ctx: &AppContext,
    actor: &Agent,
    id: Option<i64>,
    draft: CannedDraft,
) -> Result<CannedResponse> {
    authorize(actor)?;
    let now = Timestamp::now();
    let saved: Result<Option<i64>> = match id {
        None => on_pool!(ctx.db(), |pool| sqlx::query_scalar(
            "INSERT INTO canned_responses (shortcut, title, body, created_by, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $5) RETURNING id"
        )
        .bind(&draft.shortcut)
        .bind(&draft.title)
        .bind(&draft.body)
        .bind(actor.id)
        .bind(now)
        .fetch_optional(pool)
        .await)
        .map_err(Error::from),
        Some(id) => on_pool!(ctx.db(), |pool| sqlx::query_scalar(
            "UPDATE canned_responses SET shortcut = $2, title = $3, body = $4, updated_at = $5 WHERE id = $1 RETURNING id"
        )
        .bind(id)
        .bind(&draft.shortcut)
        .bind(&draft.title)
        .bind(&draft.body)
        .bind(now)
        .fetch_optional(pool)
        .await)
        .map_err(Error::from),
    };
    match saved {
        Ok(Some(id)) => Ok(CannedResponse {
            id,
            shortcut: draft.shortcut,
            title: draft.title,
            body: draft.body,
        }),
        Ok(None) => Err(Error::NotFound("canned response")),
        Err(e) if e.is_unique_violation() => {
            Err(Error::invalid("shortcut", format!("/{} is already taken.", draft.shortcut)))
        }
        Err(e) => Err(e),
    }
}

/// Removes a canned response.
pub async fn delete(ctx: &AppContext, actor: &Agent, id: i64) -> Result<()> {
    authorize(actor)?;
    let gone =
        on_pool!(ctx.db(), |pool| sqlx::query("DELETE FROM canned_responses WHERE id = $1")
            .bind(id)
            .execute(pool)
            .await
            .map(|r| r.rows_affected()))?;
    if gone == 0 { Err(Error::NotFound("canned response")) } else { Ok(()) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_shortcut_is_lower_case_letters_digits_and_dashes() {
        assert_eq!(
            CannedDraft::parse("/Refund-Policy", "Refunds", "We refund within 30 days.")
                .map(|d| d.shortcut),
            Ok("refund-policy".into())
        );
        assert!(CannedDraft::parse("two words", "t", "b").is_err());
        assert!(CannedDraft::parse("ok", "", "b").is_err_and(|e| e[0].field == "title"));
    }
}
