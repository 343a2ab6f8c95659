//! Customer profiles: the profile, its timeline, likely duplicates, editing and merging.
#![expect(
    missing_docs,
    reason = "#[server] generates an argument struct per function; the function is documented"
)]

use frontdesk_core::agents::PersonRef;
use frontdesk_core::customers::{Contact, ContactField, Duplicate, DuplicatePair, Organization};
use leptos::prelude::*;
use std::collections::HashMap;

use super::ApiError;

/// A customer's profile (a merged one says where it went in `merged_into`).
#[server(prefix = "/api", endpoint = "get_customer")]
pub async fn get_customer(id: i64) -> Result<Contact, ApiError> {
    use super::server::{respond, signed_in_agent};
    respond(
        async {
            let (ctx, actor) = signed_in_agent().await?;
            Ok(frontdesk_core::customers::get(&ctx, &actor, id).await?)
        }
        .await,
    )
}

/// A customer's tickets and chats, newest first; pass `cursor` from the previous page.
#[server(prefix = "/api", endpoint = "customer_timeline")]
pub async fn customer_timeline(
    id: i64,
    cursor: Option<String>,
) -> Result<frontdesk_core::tickets::TimelinePage, ApiError> {
    use super::server::{respond, signed_in_agent};
    use frontdesk_core::platform::time::Timestamp;
    respond(
        async {
            let (ctx, actor) = signed_in_agent().await?;
            let cursor = match cursor.as_deref().filter(|c| !c.is_empty()) {
                None => None,
                Some(text) => {
                    let parsed = text
                        .split_once('.')
                        .and_then(|(t, i)| Some((t.parse().ok()?, i.parse().ok()?)));
                    let (at, id) = parsed.ok_or_else(|| {
                        ApiError::Invalid(vec![frontdesk_core::error::FieldError::new(
                            "cursor",
                            "Invalid cursor.",
                        )])
                    })?;
                    Some((Timestamp::from_unix_millis(at), id))
                }
            };
            Ok(frontdesk_core::tickets::timeline(&ctx, &actor, id, cursor).await?)
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
            Ok(frontdesk_core::customers::likely_duplicates(&ctx, &actor, id).await?)
        }
        .await,
    )
}

/// Changes a customer's profile. `organization_id` empty means none, absent means unchanged;
/// `fields` holds custom field
/// values by key (form inputs named `fields[KEY]`); an empty value clears that field.
#[server(prefix = "/api", endpoint = "update_customer")]
pub async fn update_customer(
    id: i64,
    name: String,
    phone: String,
    notes: String,
    organization_id: Option<String>,
    fields: Option<HashMap<String, String>>,
) -> Result<Contact, ApiError> {
    use super::server::{respond, signed_in_agent};
    use frontdesk_core::customers::ContactUpdate;
    respond(
        async {
            let (ctx, actor) = signed_in_agent().await?;
            let name = frontdesk_core::agents::PersonName::parse(&name)
                .map_err(|e| ApiError::Invalid(vec![e]))?;
            let organization_id = match organization_id.as_deref().map(str::trim) {
                None => None,
                Some("") => Some(None),
                Some(v) => Some(Some(v.parse().map_err(|_| {
                    ApiError::Invalid(vec![frontdesk_core::error::FieldError::new(
                        "organization_id",
                        "There is no such organization.",
                    )])
                })?)),
            };
            let mut fields: Vec<(String, String)> =
                fields.unwrap_or_default().into_iter().collect();
            fields.sort();
            let change = ContactUpdate { name, phone, notes, organization_id, fields };
            Ok(frontdesk_core::customers::update(&ctx, &actor, id, &change).await?)
        }
        .await,
    )
}

/// Pairs of customers across the helpdesk that look like the same person.
#[server(prefix = "/api", endpoint = "duplicate_pairs")]
pub async fn duplicate_pairs() -> Result<Vec<DuplicatePair>, ApiError> {
    use super::server::{respond, signed_in_agent};
    respond(
        async {
            let (ctx, actor) = signed_in_agent().await?;
            Ok(frontdesk_core::customers::duplicate_pairs(&ctx, &actor).await?)
        }
        .await,
    )
}

/// The custom fields of customer profiles, in order.
#[server(prefix = "/api", endpoint = "list_contact_fields")]
pub async fn list_contact_fields() -> Result<Vec<ContactField>, ApiError> {
    use super::server::{respond, signed_in_agent};
    respond(
        async {
            let (ctx, actor) = signed_in_agent().await?;
            Ok(frontdesk_core::customers::fields(&ctx, &actor).await?)
        }
        .await,
    )
}

/// Adds a custom field (admins only); `kind` is text, number, date or boolean.
#[server(prefix = "/api", endpoint = "define_contact_field")]
pub async fn define_contact_field(label: String, kind: String) -> Result<ContactField, ApiError> {
    use super::server::{respond, signed_in_agent};
    respond(
        async {
            let (ctx, actor) = signed_in_agent().await?;
            let kind = kind.parse().map_err(|e| ApiError::Invalid(vec![e]))?;
            Ok(frontdesk_core::customers::define_field(&ctx, &actor, &label, kind).await?)
        }
        .await,
    )
}

/// Deletes a custom field and its values (admins only).
#[server(prefix = "/api", endpoint = "remove_contact_field")]
pub async fn remove_contact_field(key: String) -> Result<(), ApiError> {
    use super::server::{respond, signed_in_agent};
    respond(
        async {
            let (ctx, actor) = signed_in_agent().await?;
            Ok(frontdesk_core::customers::remove_field(&ctx, &actor, &key).await?)
        }
        .await,
    )
}

/// Organizations whose name contains `query` (all when empty), by name.
#[server(prefix = "/api", endpoint = "list_organizations")]
pub async fn list_organizations(query: Option<String>) -> Result<Vec<Organization>, ApiError> {
    use super::server::{respond, signed_in_agent};
    respond(
        async {
            let (ctx, actor) = signed_in_agent().await?;
            Ok(frontdesk_core::customers::organizations::list(
                &ctx,
                &actor,
                query.as_deref().unwrap_or_default(),
            )
            .await?)
        }
        .await,
    )
}

/// One organization and its contacts.
#[server(prefix = "/api", endpoint = "get_organization")]
pub async fn get_organization(id: i64) -> Result<(Organization, Vec<PersonRef>), ApiError> {
    use super::server::{respond, signed_in_agent};
    respond(
        async {
            let (ctx, actor) = signed_in_agent().await?;
            let organization =
                frontdesk_core::customers::organizations::get(&ctx, &actor, id).await?;
            let members =
                frontdesk_core::customers::organizations::members(&ctx, &actor, id).await?;
            Ok((organization, members))
        }
        .await,
    )
}

/// Creates an organization; `domains` is a comma- or space-separated list.
#[server(prefix = "/api", endpoint = "create_organization")]
pub async fn create_organization(name: String, domains: String) -> Result<Organization, ApiError> {
    use super::server::{respond, signed_in_agent};
    use frontdesk_core::customers::organizations;
    respond(
        async {
            let (ctx, actor) = signed_in_agent().await?;
            let name = frontdesk_core::agents::PersonName::parse(&name)
                .map_err(|e| ApiError::Invalid(vec![e]))?;
            let organization = organizations::create(
                &ctx,
                &actor,
                &name,
                &organizations::parse_domains(&domains)?,
            )
            .await?;
            leptos_axum::redirect(&format!("/app/organizations/{}", organization.id));
            Ok(organization)
        }
        .await,
    )
}

/// Renames an organization and replaces its domains.
#[server(prefix = "/api", endpoint = "update_organization")]
pub async fn update_organization(
    id: i64,
    name: String,
    domains: String,
) -> Result<Organization, ApiError> {
    use super::server::{respond, signed_in_agent};
    use frontdesk_core::customers::organizations;
    respond(
        async {
            let (ctx, actor) = signed_in_agent().await?;
            let name = frontdesk_core::agents::PersonName::parse(&name)
                .map_err(|e| ApiError::Invalid(vec![e]))?;
            Ok(organizations::update(
                &ctx,
                &actor,
                id,
                &name,
                &organizations::parse_domains(&domains)?,
            )
            .await?)
        }
        .await,
    )
}

/// Merges customer `merged_id` into `survivor_id`; for each field, `survivor` or `merged` says
/// whose value is kept (`fields` covers the custom fields both have set; survivor by default).
#[server(prefix = "/api", endpoint = "merge_customers")]
pub async fn merge_customers(
    survivor_id: i64,
    merged_id: i64,
    name: String,
    phone: String,
    organization: String,
    notes: String,
    fields: Option<String>,
) -> Result<Contact, ApiError> {
    use super::server::{respond, signed_in_agent};
    use frontdesk_core::customers::Keep;
    use frontdesk_core::customers::MergeChoices;
    respond(
        async {
            let (ctx, actor) = signed_in_agent().await?;
            let keep = |field: &str, value: &str| match value {
                "survivor" => Ok(Keep::Survivor),
                "merged" => Ok(Keep::Merged),
                _ => Err(ApiError::Invalid(vec![frontdesk_core::error::FieldError::new(
                    field,
                    "Choose survivor or merged.",
                )])),
            };
            let choices = MergeChoices {
                name: keep("name", &name)?,
                phone: keep("phone", &phone)?,
                organization: keep("organization", &organization)?,
                notes: keep("notes", &notes)?,
                fields: keep("fields", fields.as_deref().unwrap_or("survivor"))?,
            };
            let survivor =
                frontdesk_core::customers::merge(&ctx, &actor, survivor_id, merged_id, choices)
                    .await?;
            leptos_axum::redirect(&format!("/app/customers/{}", survivor.id));
            Ok(survivor)
        }
        .await,
    )
}
