//! Customer profiles: contacts (a person, with one or more email addresses) and organizations
//! (which claim email domains, so new contacts from those domains join them automatically);
//! the timeline of a customer's tickets and chats; typed custom fields (admins define them,
//! agents fill them in); likely duplicates; and merging two contacts without losing anything.

use crate::agents::{Agent, Email, PersonName};
use crate::platform::audit::{self, AuditEvent};
use crate::platform::context::AppContext;
use crate::customers::{
    Contact, ContactField, Duplicate, DuplicatePair, FieldKind, FieldValue, Keep,
};
use crate::platform::db::{BeginWrite, Db, on_pool};
use crate::error::{Error, FieldError, Result};
use crate::agents::PersonRef;
use crate::platform::time::Timestamp;

/// The contact who owns `email`, created (and linked to the organization that claims the email's
/// domain) if nobody does yet. Safe against two requests creating the same contact at once.
pub async fn find_or_create_by_email(db: &Db, email: &Email, name: &PersonName) -> Result<i64> {
    let find = "SELECT contact_id FROM contact_emails WHERE email = $1";
    if let Some(id) = on_pool!(db, |pool| sqlx::query_scalar::<_, i64>(find)
        .bind(email.as_str())
        .fetch_optional(pool)
        .await)?
    {
        return Ok(id);
    }
    let domain = email.as_str().rsplit_once('@').map_or("", |(_, d)| d).to_owned();
    let now = Timestamp::now();
    let created: Option<i64> = on_pool!(db, |pool| {
        async {
        let mut tx = pool.begin_write().await?;
        let organization: Option<i64> =
            sqlx::query_scalar("SELECT organization_id FROM organization_domains WHERE domain = $1")
                .bind(&domain)
                .fetch_optional(&mut *tx)
                .await?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO contacts (name, organization_id, created_at, updated_at) VALUES ($1, $2, $3, $3) RETURNING id",
        )
        .bind(name.as_str())
        .bind(organization)
        .bind(now)
        .fetch_one(&mut *tx)
        .await?;
        let claimed = sqlx::query(
            "INSERT INTO contact_emails (email, contact_id, created_at) VALUES ($1, $2, $3) ON CONFLICT (email) DO NOTHING",
        )
        .bind(email.as_str())
        .bind(id)
        .bind(now)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if claimed == 1 {
            tx.commit().await?;
            Ok::<_, sqlx::Error>(Some(id))
        } else {
            // Someone created this email's contact meanwhile: use theirs.
            tx.rollback().await?;
            Ok(None)
        }
    }
    .await
    })?;
    match created {
        Some(id) => Ok(id),
        None => Ok(on_pool!(db, |pool| sqlx::query_scalar::<_, i64>(find)
            .bind(email.as_str())
            .fetch_one(pool)
            .await)?),
    }
}

/// Who may see and change customer profiles: every active agent.
pub fn authorize(actor: &Agent) -> Result<()> {
    if actor.active { Ok(()) } else { Err(Error::Unauthenticated) }
}

#[derive(sqlx::FromRow)]
struct ContactRow {
    id: i64,
    name: String,
    phone: Option<String>,
    unverified_email: Option<String>,
    notes: String,
    created_at: Timestamp,
    merged_into_id: Option<i64>,
    organization_id: Option<i64>,
    organization_name: Option<String>,
}

/// A contact's profile (also for merged contacts, whose `merged_into` says where they went).
pub async fn get(ctx: &AppContext, actor: &Agent, id: i64) -> Result<Contact> {
    authorize(actor)?;
    load(ctx.db(), id).await
}

async fn load(db: &Db, id: i64) -> Result<Contact> {
    let row: ContactRow = on_pool!(db, |pool| {
        sqlx::query_as(
        "SELECT c.id, c.name, c.phone, c.unverified_email, c.notes, c.created_at, c.merged_into_id,
                o.id AS organization_id, o.name AS organization_name
         FROM contacts c LEFT JOIN organizations o ON o.id = c.organization_id WHERE c.id = $1"
    )
    .bind(id)
    .fetch_optional(pool)
    .await
    })?
    .ok_or(Error::NotFound("customer"))?;
    let emails: Vec<String> = on_pool!(db, |pool| sqlx::query_scalar(
        "SELECT email FROM contact_emails WHERE contact_id = $1 ORDER BY created_at, email"
    )
    .bind(id)
    .fetch_all(pool)
    .await)?;
    let values: Vec<(String, String)> = on_pool!(db, |pool| sqlx::query_as(
        "SELECT key, value FROM contact_field_values WHERE contact_id = $1"
    )
    .bind(id)
    .fetch_all(pool)
    .await)?;
    let fields = load_fields(db)
        .await?
        .into_iter()
        .map(|field| {
            let value = values.iter().find(|(key, _)| *key == field.key).map(|(_, v)| v.clone());
            FieldValue { field, value }
        })
        .collect();
    Ok(Contact {
        id: row.id,
        name: row.name,
        emails,
        unverified_email: row.unverified_email,
        fields,
        phone: row.phone,
        organization: row
            .organization_id
            .zip(row.organization_name)
            .map(|(id, name)| PersonRef { id, name }),
        notes: row.notes,
        created_at: row.created_at,
        merged_into: row.merged_into_id,
    })
}

/// The contact a (possibly merged) contact id stands for now.
pub async fn canonical_id(db: &Db, mut id: i64) -> Result<i64> {
    // Merges form chains at most as long as the number of merges; a cycle cannot be written.
    for _ in 0..32 {
        let next: Option<Option<i64>> = on_pool!(db, |pool| sqlx::query_scalar(
            "SELECT merged_into_id FROM contacts WHERE id = $1"
        )
        .bind(id)
        .fetch_optional(pool)
        .await)?;
        match next {
            Some(Some(survivor)) => id = survivor,
            _ => return Ok(id),
        }
    }
    Ok(id)
}

/// Contacts that look like the same person: the same phone, the same name in the same
/// organization, or an email with the same local part at another domain.
pub async fn likely_duplicates(ctx: &AppContext, actor: &Agent, id: i64) -> Result<Vec<Duplicate>> {
    authorize(actor)?;
    let contact = load(ctx.db(), id).await?;
    let mut found: Vec<Duplicate> = Vec::new();
    let mut add = |rows: Vec<(i64, String)>, reason: &str| {
        for (other, name) in rows {
            if other != id && !found.iter().any(|d| d.contact.id == other) {
                found.push(Duplicate {
                    contact: PersonRef { id: other, name },
                    reason: reason.to_owned(),
                });
            }
        }
    };
    if let Some(phone) = contact.phone.as_deref().filter(|p| !p.trim().is_empty()) {
        let rows = on_pool!(ctx.db(), |pool| sqlx::query_as(
            "SELECT id, name FROM contacts WHERE phone = $1 AND merged_into_id IS NULL LIMIT 20"
        )
        .bind(phone)
        .fetch_all(pool)
        .await)?;
        add(rows, "same phone number");
    }
    if let Some(org) = &contact.organization {
        let rows = on_pool!(ctx.db(), |pool| {
            sqlx::query_as(
            "SELECT id, name FROM contacts WHERE organization_id = $1 AND LOWER(name) = LOWER($2) AND merged_into_id IS NULL LIMIT 20"
        )
        .bind(org.id)
        .bind(&contact.name)
        .fetch_all(pool)
        .await
        })?;
        add(rows, "same name in the same organization");
    }
    for email in &contact.emails {
        let Some((local, _)) = email.split_once('@') else { continue };
        let pattern =
            format!("{}@%", local.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_"));
        let rows = on_pool!(ctx.db(), |pool| {
            sqlx::query_as(
            "SELECT DISTINCT c.id, c.name FROM contact_emails e JOIN contacts c ON c.id = e.contact_id
             WHERE e.email LIKE $1 ESCAPE '\\' AND c.merged_into_id IS NULL LIMIT 20"
        )
        .bind(pattern)
        .fetch_all(pool)
        .await
        })?;
        add(rows, "same email name at another domain");
    }
    Ok(found)
}

/// Most pairs the review list shows at once.
const PAIRS_SHOWN: i64 = 100;

/// Pairs of contacts across the whole helpdesk that look like the same person, for review:
/// the same phone number, the same name within one organization, or the same email name at
/// different domains. At most 100 of each kind, oldest first.
pub async fn duplicate_pairs(ctx: &AppContext, actor: &Agent) -> Result<Vec<DuplicatePair>> {
    authorize(actor)?;
    let db = ctx.db();
    let local_part = match db {
        Db::Sqlite(_) => "substr(e.email, 1, instr(e.email, '@') - 1)",
        Db::Postgres(_) => "split_part(e.email, '@', 1)",
    };
    let queries = [
        (
            "same phone number".to_owned(),
            "SELECT a.id, a.name, b.id, b.name FROM contacts a JOIN contacts b ON b.phone = a.phone AND b.id > a.id
             WHERE a.phone IS NOT NULL AND a.merged_into_id IS NULL AND b.merged_into_id IS NULL
             ORDER BY a.id, b.id LIMIT $1"
                .to_owned(),
        ),
        (
            "same name in the same organization".to_owned(),
            "SELECT a.id, a.name, b.id, b.name FROM contacts a
             JOIN contacts b ON b.organization_id = a.organization_id AND LOWER(b.name) = LOWER(a.name) AND b.id > a.id
             WHERE a.organization_id IS NOT NULL AND a.merged_into_id IS NULL AND b.merged_into_id IS NULL
             ORDER BY a.id, b.id LIMIT $1"
                .to_owned(),
        ),
        (
            "same email name at another domain".to_owned(),
            format!(
                "SELECT a.id, a.name, b.id, b.name FROM (
                    SELECT MIN(c.id) AS first, MAX(c.id) AS second FROM contact_emails e JOIN contacts c ON c.id = e.contact_id
                    WHERE c.merged_into_id IS NULL GROUP BY {local_part} HAVING COUNT(DISTINCT c.id) > 1
                 ) pairs JOIN contacts a ON a.id = pairs.first JOIN contacts b ON b.id = pairs.second
                 ORDER BY a.id, b.id LIMIT $1"
            ),
        ),
    ];
    let mut pairs: Vec<DuplicatePair> = Vec::new();
    for (reason, sql) in queries {
        let rows: Vec<(i64, String, i64, String)> =
            on_pool!(db, |pool| sqlx::query_as(&sql).bind(PAIRS_SHOWN).fetch_all(pool).await)?;
        for (a, a_name, b, b_name) in rows {
            if !pairs.iter().any(|p| p.first.id == a && p.second.id == b) {
                pairs.push(DuplicatePair {
                    first: PersonRef { id: a, name: a_name },
                    second: PersonRef { id: b, name: b_name },
                    reason: reason.clone(),
                });
            }
        }
    }
    Ok(pairs)
}

/// The field choices of a merge.
#[derive(Clone, Copy, Debug, Default)]
pub struct MergeChoices {
    /// Whose name survives.
    pub name: Keep,
    /// Whose phone survives.
    pub phone: Keep,
    /// Whose organization survives.
    pub organization: Keep,
    /// Whose notes survive.
    pub notes: Keep,
    /// Whose value survives for each custom field both contacts have set; a field only one of
    /// them has set always survives.
    pub fields: Keep,
}

/// Merges contact `merged` into `survivor`: every email, ticket, chat, message, event, sign-in
/// link and session moves to the survivor; the merged contact stays as a pointer (its URL
/// redirects) and an audit entry records the merge with the counts moved.
pub async fn merge(
    ctx: &AppContext,
    actor: &Agent,
    survivor: i64,
    merged: i64,
    choices: MergeChoices,
) -> Result<Contact> {
    authorize(actor)?;
    if survivor == merged {
        return Err(Error::invalid("merged_id", "Choose two different customers."));
    }
    let (a, b) = (load(ctx.db(), survivor).await?, load(ctx.db(), merged).await?);
    if a.merged_into.is_some() || b.merged_into.is_some() {
        return Err(Error::Conflict("One of these customers was already merged.".into()));
    }
    let pick = |keep: Keep, survivor: Option<String>, merged: Option<String>| match keep {
        Keep::Survivor => survivor,
        Keep::Merged => merged,
    };
    let name = pick(choices.name, Some(a.name.clone()), Some(b.name.clone())).unwrap_or_default();
    let phone = pick(choices.phone, a.phone.clone(), b.phone.clone());
    let organization = match choices.organization {
        Keep::Survivor => a.organization.as_ref().map(|o| o.id),
        Keep::Merged => b.organization.as_ref().map(|o| o.id),
    };
    let notes =
        pick(choices.notes, Some(a.notes.clone()), Some(b.notes.clone())).unwrap_or_default();
    let now = Timestamp::now();
    on_pool!(ctx.db(), |pool| {
        async {
        let mut tx = pool.begin_write().await?;
        let mut moved = serde_json::Map::new();
        for (label, sql) in [
            ("emails", "UPDATE contact_emails SET contact_id = $1 WHERE contact_id = $2"),
            ("tickets", "UPDATE tickets SET requester_id = $1 WHERE requester_id = $2"),
            ("messages", "UPDATE ticket_messages SET author_contact_id = $1 WHERE author_contact_id = $2"),
            ("events", "UPDATE ticket_events SET actor_contact_id = $1 WHERE actor_contact_id = $2"),
            ("links", "UPDATE portal_tokens SET contact_id = $1 WHERE contact_id = $2"),
            ("sessions", "UPDATE sessions SET contact_id = $1 WHERE contact_id = $2"),
            ("chats", "UPDATE chats SET contact_id = $1 WHERE contact_id = $2"),
            ("chat_visitors", "UPDATE chat_visitors SET contact_id = $1 WHERE contact_id = $2"),
            ("chat_identities", "UPDATE chat_identities SET contact_id = $1 WHERE contact_id = $2"),
        ] {
            let n = sqlx::query(sql).bind(survivor).bind(merged).execute(&mut *tx).await?.rows_affected();
            moved.insert(label.to_owned(), n.into());
        }
        let copy_fields = match choices.fields {
            Keep::Survivor => "INSERT INTO contact_field_values (contact_id, key, value)
                SELECT $1, key, value FROM contact_field_values WHERE contact_id = $2
                ON CONFLICT (contact_id, key) DO NOTHING",
            Keep::Merged => "INSERT INTO contact_field_values (contact_id, key, value)
                SELECT $1, key, value FROM contact_field_values WHERE contact_id = $2
                ON CONFLICT (contact_id, key) DO UPDATE SET value = excluded.value",
        };
        let n = sqlx::query(copy_fields).bind(survivor).bind(merged).execute(&mut *tx).await?.rows_affected();
        moved.insert("fields".to_owned(), n.into());
        sqlx::query("UPDATE contacts SET name = $2, phone = $3, organization_id = $4, notes = $5, updated_at = $6 WHERE id = $1")
            .bind(survivor)
            .bind(&name)
            .bind(&phone)
            .bind(organization)
            .bind(&notes)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        sqlx::query("UPDATE contacts SET merged_into_id = $2, updated_at = $3 WHERE id = $1")
            .bind(merged)
            .bind(survivor)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        let event = AuditEvent {
            actor_id: Some(actor.id),
            action: "contact.merged",
            subject_type: "contact",
            subject_id: survivor,
            detail: serde_json::json!({ "merged": merged, "moved": moved, "kept": {
                "name": choices.name, "phone": choices.phone, "organization": choices.organization, "notes": choices.notes,
                "fields": choices.fields,
            }}),
        };
        audit::record(&mut *tx, &event).await?;
        tx.commit().await?;
        Ok::<_, Error>(())
    }
    .await
    })?;
    load(ctx.db(), survivor).await
}

/// The editable part of a profile.
#[derive(Clone, Debug)]
pub struct ContactUpdate {
    /// Display name.
    pub name: PersonName,
    /// Phone number; empty for none.
    pub phone: String,
    /// Agents' notes.
    pub notes: String,
    /// The organization they belong to: `Some(None)` for none, `None` to leave it as it is.
    pub organization_id: Option<Option<i64>>,
    /// Custom field values by key, as typed; an empty value clears the field. Fields not
    /// listed keep their value.
    pub fields: Vec<(String, String)>,
}

/// Changes a contact's profile. Every problem is reported at once, each naming its field
/// (custom fields as `field.KEY`).
pub async fn update(
    ctx: &AppContext,
    actor: &Agent,
    id: i64,
    change: &ContactUpdate,
) -> Result<Contact> {
    authorize(actor)?;
    let mut problems = Vec::new();
    let phone = Some(change.phone.trim()).filter(|p| !p.is_empty());
    if phone.is_some_and(|p| {
        p.len() > 40 || !p.chars().all(|c| c.is_ascii_digit() || " +-().".contains(c))
    }) {
        problems.push(FieldError::new("phone", "Use digits, spaces and + - ( ) only."));
    }
    if change.notes.len() > 10_000 {
        problems.push(FieldError::new("notes", "Notes are limited to 10,000 characters."));
    }
    let defined = load_fields(ctx.db()).await?;
    let mut values = Vec::new();
    for (key, input) in &change.fields {
        let Some(field) = defined.iter().find(|f| f.key == *key) else {
            problems.push(FieldError::new(&format!("field.{key}"), "There is no such field."));
            continue;
        };
        match field.kind.normalize(input) {
            Ok(value) => values.push((key.clone(), value)),
            Err(message) => problems.push(FieldError::new(&format!("field.{key}"), message)),
        }
    }
    if let Some(Some(org)) = change.organization_id {
        let exists: Option<i64> = on_pool!(ctx.db(), |pool| sqlx::query_scalar(
            "SELECT id FROM organizations WHERE id = $1"
        )
        .bind(org)
        .fetch_optional(pool)
        .await)?;
        if exists.is_none() {
            problems.push(FieldError::new("organization_id", "There is no such organization."));
        }
    }
    if !problems.is_empty() {
        return Err(Error::Invalid(problems));
    }
    let now = Timestamp::now();
    on_pool!(ctx.db(), |pool| async {
        let mut tx = pool.begin_write().await?;
        let updated = sqlx::query(
            "UPDATE contacts SET name = $2, phone = $3, notes = $4, updated_at = $6,
                organization_id = CASE WHEN $7 THEN $5 ELSE organization_id END
             WHERE id = $1 AND merged_into_id IS NULL",
        )
        .bind(id)
        .bind(change.name.as_str())
        .bind(phone)
        .bind(&change.notes)
        .bind(change.organization_id.flatten())
        .bind(now)
        .bind(change.organization_id.is_some())
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if updated == 0 {
            return Err(Error::NotFound("customer"));
        }
        for (key, value) in &values {
            match value {
                Some(value) => sqlx::query(
                    "INSERT INTO contact_field_values (contact_id, key, value) VALUES ($1, $2, $3)
                     ON CONFLICT (contact_id, key) DO UPDATE SET value = excluded.value",
                )
                .bind(id)
                .bind(key)
                .bind(value)
                .execute(&mut *tx)
                .await?,
                None => {
                    sqlx::query(
                        "DELETE FROM contact_field_values WHERE contact_id = $1 AND key = $2",
                    )
                    .bind(id)
                    .bind(key)
                    .execute(&mut *tx)
                    .await?
                }
            };
        }
        tx.commit().await?;
        Ok(())
    }
    .await)?;
    load(ctx.db(), id).await
}

/// The custom fields, in display order.
pub async fn fields(ctx: &AppContext, actor: &Agent) -> Result<Vec<ContactField>> {
    authorize(actor)?;
    load_fields(ctx.db()).await
}

async fn load_fields(db: &Db) -> Result<Vec<ContactField>> {
    let rows: Vec<(String, String, String)> = on_pool!(db, |pool| sqlx::query_as(
        "SELECT key, label, kind FROM contact_fields ORDER BY position, key"
    )
    .fetch_all(pool)
    .await)?;
    rows.into_iter()
        .map(|(key, label, kind)| {
            Ok(ContactField {
                key,
                label,
                kind: kind.parse().map_err(|e: FieldError| Error::internal(e.message))?,
            })
        })
        .collect()
}

/// Most custom fields.
const MAX_FIELDS: i64 = 50;

/// Adds a custom field after the others (admins only); its key is made from the label.
pub async fn define_field(
    ctx: &AppContext,
    actor: &Agent,
    label: &str,
    kind: FieldKind,
) -> Result<ContactField> {
    authorize_fields(actor)?;
    let label = label.trim();
    let key: String = label
        .to_lowercase()
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|part| !part.is_empty())
        .collect::<Vec<_>>()
        .join("_");
    if label.is_empty() || label.chars().count() > 60 || key.is_empty() {
        return Err(Error::invalid(
            "label",
            "Give the field a name of up to 60 characters, with at least one letter or digit.",
        ));
    }
    let field = ContactField { key, label: label.to_owned(), kind };
    let created: Result<()> = on_pool!(ctx.db(), |pool| {
        async {
        let mut tx = pool.begin_write().await?;
        let (count, last): (i64, Option<i64>) = sqlx::query_as("SELECT COUNT(*), MAX(position) FROM contact_fields").fetch_one(&mut *tx).await?;
        if count >= MAX_FIELDS {
            return Err(Error::invalid("label", format!("There can be at most {MAX_FIELDS} fields.")));
        }
        sqlx::query("INSERT INTO contact_fields (key, label, kind, position, created_at) VALUES ($1, $2, $3, $4, $5)")
            .bind(&field.key)
            .bind(&field.label)
            .bind(field.kind.as_str())
            .bind(last.unwrap_or(0) + 1)
            .bind(Timestamp::now())
            .execute(&mut *tx)
            .await?;
        let detail = serde_json::json!({ "key": field.key, "label": field.label, "kind": field.kind });
        let event = AuditEvent { actor_id: Some(actor.id), action: "contact_field.created", subject_type: "contact_field", subject_id: 0, detail };
        audit::record(&mut *tx, &event).await?;
        tx.commit().await?;
        Ok(())
    }
    .await
    });
    created.map_err(|e| {
        if e.is_unique_violation() {
            Error::invalid("label", "A field with this name already exists.")
        } else {
            e
        }
    })?;
    Ok(field)
}

/// Deletes a custom field and every value of it (admins only).
pub async fn remove_field(ctx: &AppContext, actor: &Agent, key: &str) -> Result<()> {
    authorize_fields(actor)?;
    on_pool!(ctx.db(), |pool| async {
        let mut tx = pool.begin_write().await?;
        let deleted = sqlx::query("DELETE FROM contact_fields WHERE key = $1")
            .bind(key)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if deleted == 0 {
            return Err(Error::NotFound("field"));
        }
        let event = AuditEvent {
            actor_id: Some(actor.id),
            action: "contact_field.deleted",
            subject_type: "contact_field",
            subject_id: 0,
            detail: serde_json::json!({ "key": key }),
        };
        audit::record(&mut *tx, &event).await?;
        tx.commit().await?;
        Ok(())
    }
    .await)
}

/// Only active admins define custom fields.
fn authorize_fields(actor: &Agent) -> Result<()> {
    authorize(actor)?;
    if actor.is_admin() { Ok(()) } else { Err(Error::Forbidden) }
}
