//! Organizations: the companies customers belong to. Each claims email domains; a new contact
//! whose email is at a claimed domain joins it (see [`crate::customers::find_or_create_by_email`]),
//! and claiming a domain also brings in the existing contacts there that have no organization.
//! Every active agent may see and manage organizations ([`authorize`]).

use serde_json::json;

use crate::agents::{Agent, PersonName};
use crate::platform::audit::{self, AuditEvent};
use crate::platform::context::AppContext;
use crate::customers::Organization;
use crate::platform::db::{BeginWrite, Db, on_pool};
use crate::error::{Error, Result};
use crate::agents::PersonRef;
use crate::platform::time::Timestamp;

/// Every active agent works with organizations.
pub fn authorize(actor: &Agent) -> Result<()> {
    if actor.active { Ok(()) } else { Err(Error::Unauthenticated) }
}

/// Most domains one organization claims.
const MAX_DOMAINS: usize = 20;

/// Parses a comma- or space-separated list of email domains (lower-cased, deduplicated).
pub fn parse_domains(input: &str) -> Result<Vec<String>> {
    let mut domains: Vec<String> = Vec::new();
    for raw in input.split(|c: char| c == ',' || c.is_whitespace()).filter(|d| !d.is_empty()) {
        let domain = raw.trim_start_matches('@').to_ascii_lowercase();
        let valid = domain.len() <= 253
            && domain.contains('.')
            && domain.split('.').all(|label| {
                !label.is_empty()
                    && label.len() <= 63
                    && !label.starts_with('-')
                    && !label.ends_with('-')
                    && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            });
        if !valid {
            return Err(Error::invalid(
                "domains",
                format!("'{raw}' is not an email domain like example.com."),
            ));
        }
        if !domains.contains(&domain) {
            domains.push(domain);
        }
    }
    if domains.len() > MAX_DOMAINS {
        return Err(Error::invalid("domains", format!("Use at most {MAX_DOMAINS} domains.")));
    }
    Ok(domains)
}

#[derive(sqlx::FromRow)]
struct OrganizationRow {
    id: i64,
    name: String,
    created_at: Timestamp,
    contacts: i64,
}

const ORGANIZATION_SELECT: &str = "SELECT o.id, o.name, o.created_at,
        (SELECT COUNT(*) FROM contacts c WHERE c.organization_id = o.id AND c.merged_into_id IS NULL) AS contacts
    FROM organizations o";

/// Organizations by name, optionally only those whose name contains `query`; at most 200.
pub async fn list(ctx: &AppContext, actor: &Agent, query: &str) -> Result<Vec<Organization>> {
    authorize(actor)?;
    let pattern = format!(
        "%{}%",
        query.trim().to_lowercase().replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_")
    );
    let rows: Vec<OrganizationRow> = on_pool!(ctx.db(), |pool| {
        sqlx::query_as(&format!(
        "{ORGANIZATION_SELECT} WHERE LOWER(o.name) LIKE $1 ESCAPE '\\' ORDER BY LOWER(o.name), o.id LIMIT 200"
    ))
    .bind(&pattern)
    .fetch_all(pool)
    .await
    })?;
    let mut organizations = Vec::with_capacity(rows.len());
    for row in rows {
        let domains = domains_of(ctx.db(), row.id).await?;
        organizations.push(Organization {
            id: row.id,
            name: row.name,
            domains,
            contacts: row.contacts,
            created_at: row.created_at,
        });
    }
    Ok(organizations)
}

/// The ids of organizations named exactly (ignoring case) each of `names`, in order; an unknown
/// name is an error on `field`.
pub async fn ids_by_names(
    ctx: &AppContext,
    actor: &Agent,
    names: &[String],
    field: &str,
) -> Result<Vec<i64>> {
    authorize(actor)?;
    let mut ids = Vec::with_capacity(names.len());
    for name in names {
        let id: Option<i64> = on_pool!(ctx.db(), |pool| sqlx::query_scalar(
            "SELECT id FROM organizations WHERE LOWER(name) = $1 ORDER BY id LIMIT 1"
        )
        .bind(name.trim().to_lowercase())
        .fetch_optional(pool)
        .await)?;
        ids.push(id.ok_or_else(|| {
            Error::invalid(field, format!("No organization is called '{}'.", name.trim()))
        })?);
    }
    Ok(ids)
}

/// One organization.
pub async fn get(ctx: &AppContext, actor: &Agent, id: i64) -> Result<Organization> {
    authorize(actor)?;
    load(ctx.db(), id).await
}

async fn load(db: &Db, id: i64) -> Result<Organization> {
    let row: OrganizationRow =
        on_pool!(db, |pool| sqlx::query_as(&format!("{ORGANIZATION_SELECT} WHERE o.id = $1"))
            .bind(id)
            .fetch_optional(pool)
            .await)?
        .ok_or(Error::NotFound("organization"))?;
    let domains = domains_of(db, id).await?;
    Ok(Organization {
        id: row.id,
        name: row.name,
        domains,
        contacts: row.contacts,
        created_at: row.created_at,
    })
}

async fn domains_of(db: &Db, id: i64) -> Result<Vec<String>> {
    Ok(on_pool!(db, |pool| sqlx::query_scalar(
        "SELECT domain FROM organization_domains WHERE organization_id = $1 ORDER BY domain"
    )
    .bind(id)
    .fetch_all(pool)
    .await)?)
}

/// The organization's contacts by name, at most 200.
pub async fn members(ctx: &AppContext, actor: &Agent, id: i64) -> Result<Vec<PersonRef>> {
    authorize(actor)?;
    load(ctx.db(), id).await?;
    let rows: Vec<(i64, String)> = on_pool!(ctx.db(), |pool| {
        sqlx::query_as(
        "SELECT id, name FROM contacts WHERE organization_id = $1 AND merged_into_id IS NULL ORDER BY LOWER(name), id LIMIT 200"
    )
    .bind(id)
    .fetch_all(pool)
    .await
    })?;
    Ok(rows.into_iter().map(|(id, name)| PersonRef { id, name }).collect())
}

/// Creates an organization claiming `domains`.
pub async fn create(
    ctx: &AppContext,
    actor: &Agent,
    name: &PersonName,
    domains: &[String],
) -> Result<Organization> {
    authorize(actor)?;
    let id = save(ctx, actor, None, name, domains).await?;
    load(ctx.db(), id).await
}

/// Renames an organization and replaces its domains. Contacts stay where they are; a newly
/// claimed domain brings in its contacts that have no organization.
pub async fn update(
    ctx: &AppContext,
    actor: &Agent,
    id: i64,
    name: &PersonName,
    domains: &[String],
) -> Result<Organization> {
    authorize(actor)?;
    let before = load(ctx.db(), id).await?;
    save(ctx, actor, Some(before), name, domains).await?;
    load(ctx.db(), id).await
}

/// Writes a new organization (`before` is `None`) or changes one, claims `domains` and adopts
/// the unattached contacts at newly claimed domains, with an audit entry; one transaction.
async fn save(
    ctx: &AppContext,
    actor: &Agent,
    before: Option<Organization>,
    name: &PersonName,
    domains: &[String],
) -> Result<i64> {
    let now = Timestamp::now();
    on_pool!(ctx.db(), |pool| {
        async {
        let mut tx = pool.begin_write().await?;
        let id: i64 = match &before {
            None => sqlx::query_scalar("INSERT INTO organizations (name, created_at, updated_at) VALUES ($1, $2, $2) RETURNING id")
                .bind(name.as_str())
                .bind(now)
                .fetch_one(&mut *tx)
                .await?,
            Some(old) => {
                sqlx::query("UPDATE organizations SET name = $2, updated_at = $3 WHERE id = $1")
                    .bind(old.id)
                    .bind(name.as_str())
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                sqlx::query("DELETE FROM organization_domains WHERE organization_id = $1").bind(old.id).execute(&mut *tx).await?;
                old.id
            }
        };
        let mut joined = 0;
        for domain in domains {
            sqlx::query("INSERT INTO organization_domains (domain, organization_id) VALUES ($1, $2)")
                .bind(domain)
                .bind(id)
                .execute(&mut *tx)
                .await
                .map_err(|e| domain_taken(e, domain))?;
            if before.as_ref().is_some_and(|old| old.domains.contains(domain)) {
                continue;
            }
            // Domains hold only letters, digits, dots and dashes: the pattern needs no escaping.
            let adopted: Vec<i64> = sqlx::query_scalar(
                "UPDATE contacts SET organization_id = $1, updated_at = $3
                 WHERE organization_id IS NULL AND merged_into_id IS NULL
                   AND id IN (SELECT contact_id FROM contact_emails WHERE email LIKE $2)
                 RETURNING id",
            )
            .bind(id)
            .bind(format!("%@{domain}"))
            .bind(now)
            .fetch_all(&mut *tx)
            .await?;
            joined += adopted.len();
        }
        let (action, detail) = match &before {
            None => ("organization.created", json!({ "name": name.as_str(), "domains": domains, "contacts_joined": joined })),
            Some(old) => (
                "organization.updated",
                json!({
                    "name": { "from": old.name, "to": name.as_str() },
                    "domains": { "from": old.domains, "to": domains },
                    "contacts_joined": joined,
                }),
            ),
        };
        let event = AuditEvent { actor_id: Some(actor.id), action, subject_type: "organization", subject_id: id, detail };
        audit::record(&mut *tx, &event).await?;
        tx.commit().await?;
        Ok::<_, Error>(id)
    }
    .await
    })
}

/// A unique violation on a domain means another organization claims it.
fn domain_taken(e: sqlx::Error, domain: &str) -> Error {
    let e = Error::from(e);
    if e.is_unique_violation() {
        Error::invalid("domains", format!("{domain} already belongs to another organization."))
    } else {
        e
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn domains_are_lower_cased_deduplicated_and_checked() {
        let parsed = parse_domains("Example.com, @acme.io example.com").ok();
        assert_eq!(parsed, Some(vec!["example.com".to_owned(), "acme.io".to_owned()]));
        for bad in ["localhost", "exa mple", "-bad.com", "a..b", "x%y.com", "under_score.com"] {
            assert!(parse_domains(bad).is_err(), "{bad} should be refused");
        }
    }
}
