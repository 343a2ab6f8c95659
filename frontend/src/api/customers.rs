//! Customer profiles: the profile, its timeline, likely duplicates, editing and merging.
#![expect(missing_docs, reason = "#[server] generates an argument struct per function; the function is documented")]

use frontdesk_core::customer::{Contact, Duplicate, TimelinePage};
use leptos::prelude::*;

use super::ApiError;

/// A customer's profile (a merged one says where it went in `merged_into`).
#[server(prefix = "/api", endpoint = "get_customer")]
pub async fn get_customer(id: i64) -> Result<Contact, ApiError> {
    use super::server::{respond, signed_in_agent};
    respond(
        async {
            let (ctx, actor) = signed_in_agent().await?;
            Ok(frontdesk_core::contacts::get(&ctx, &actor, id).await?)
        }
        .await,
    )
}

/// A customer's tickets and chats, newest first; pass `cursor` from the previous page.
#[server(prefix = "/api", endpoint = "customer_timeline")]
pub async fn customer_timeline(id: i64, cursor: Option<String>) -> Result<TimelinePage, ApiError> {
    use super::server::{respond, signed_in_agent};
    use frontdesk_core::time::Timestamp;
    respond(
        async {
            let (ctx, actor) = signed_in_agent().await?;
            let cursor = match cursor.as_deref().filter(|c| !c.is_empty()) {
                None => None,
                Some(text) => {
                    let parsed = text.split_once('.').and_then(|(t, i)| Some((t.parse().ok()?, i.parse().ok()?)));
                    let (at, id) = parsed.ok_or_else(|| ApiError::Invalid(vec![frontdesk_core::error::FieldError::new("cursor", "Invalid cursor.")]))?;
                    Some((Timestamp::from_unix_millis(at), id))
                }
            };
            Ok(frontdesk_core::contacts::timeline(&ctx, &actor, id, cursor).await?)
        }
        .await,
    )
}

/// Contacts that look like the same person.
#[server(prefix = "/api", endpoint = "customer_duplicates")]
pub async fn customer_duplicates(id: i64) -> Result<Vec<Duplicate>, ApiError> {
    use super::server::{respond, signed_in_agent};
    respond(
        async {
            let (ctx, actor) = signed_in_agent().await?;
            Ok(frontdesk_core::contacts::likely_duplicates(&ctx, &actor, id).await?)
        }
        .await,
    )
}

/// Changes a customer's name, phone and notes.
#[server(prefix = "/api", endpoint = "update_customer")]
pub async fn update_customer(id: i64, name: String, phone: String, notes: String) -> Result<Contact, ApiError> {
    use super::server::{respond, signed_in_agent};
    respond(
        async {
            let (ctx, actor) = signed_in_agent().await?;
            let name = frontdesk_core::agent::PersonName::parse(&name).map_err(|e| ApiError::Invalid(vec![e]))?;
            Ok(frontdesk_core::contacts::update(&ctx, &actor, id, &name, Some(&phone), &notes).await?)
        }
        .await,
    )
}

/// Merges customer `merged_id` into `survivor_id`; for each field, `survivor` or `merged` says
/// whose value is kept.
#[server(prefix = "/api", endpoint = "merge_customers")]
pub async fn merge_customers(
    survivor_id: i64,
    merged_id: i64,
    name: String,
    phone: String,
    organization: String,
    notes: String,
) -> Result<Contact, ApiError> {
    use super::server::{respond, signed_in_agent};
    use frontdesk_core::contacts::MergeChoices;
    use frontdesk_core::customer::Keep;
    respond(
        async {
            let (ctx, actor) = signed_in_agent().await?;
            let keep = |field: &str, value: &str| match value {
                "survivor" => Ok(Keep::Survivor),
                "merged" => Ok(Keep::Merged),
                _ => Err(ApiError::Invalid(vec![frontdesk_core::error::FieldError::new(field, "Choose survivor or merged.")])),
            };
            let choices = MergeChoices {
                name: keep("name", &name)?,
                phone: keep("phone", &phone)?,
                organization: keep("organization", &organization)?,
                notes: keep("notes", &notes)?,
            };
            let survivor = frontdesk_core::contacts::merge(&ctx, &actor, survivor_id, merged_id, choices).await?;
            leptos_axum::redirect(&format!("/app/customers/{}", survivor.id));
            Ok(survivor)
        }
        .await,
    )
}
