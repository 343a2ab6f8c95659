//! Customer profiles: contacts (a person, with one or more email addresses) and organizations
//! (which claim email domains, so new contacts from those domains join them automatically);
//! the timeline of a customer's tickets and chats; likely duplicates; and merging two contacts
//! without losing anything.

use crate::agent::{Agent, Email, PersonName};
use crate::audit::{self, AuditEvent};
use crate::context::AppContext;
use crate::customer::{Contact, Duplicate, Keep, TimelineEntry, TimelinePage};
use crate::db::{BeginWrite, Db, on_pool};
use crate::error::{Error, Result};
use crate::ticket::PersonRef;
use crate::time::Timestamp;

/// The contact who owns `email`, created (and linked to the organization that claims the email's
/// domain) if nobody does yet. Safe against two requests creating the same contact at once.
pub async fn find_or_create_by_email(db: &Db, email: &Email, name: &PersonName) -> Result<i64> {
    let find = "SELECT contact_id FROM contact_emails WHERE email = $1";
    if let Some(id) = on_pool!(db, |pool| sqlx::query_scalar::<_, i64>(find).bind(email.as_str()).fetch_optional(pool).await)? {
        return Ok(id);
    }
    let domain = email.as_str().rsplit_once('@').map_or("", |(_, d)| d).to_owned();
    let now = Timestamp::now();
    let created: Option<i64> = on_pool!(db, |pool| async {
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
    .await)?;
    match created {
        Some(id) => Ok(id),
        None => Ok(on_pool!(db, |pool| sqlx::query_scalar::<_, i64>(find).bind(email.as_str()).fetch_one(pool).await)?),
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
    let row: ContactRow = on_pool!(db, |pool| sqlx::query_as(
        "SELECT c.id, c.name, c.phone, c.notes, c.created_at, c.merged_into_id,
                o.id AS organization_id, o.name AS organization_name
         FROM contacts c LEFT JOIN organizations o ON o.id = c.organization_id WHERE c.id = $1"
    )
    .bind(id)
    .fetch_optional(pool)
    .await)?
    .ok_or(Error::NotFound("customer"))?;
    let emails: Vec<String> = on_pool!(db, |pool| sqlx::query_scalar(
        "SELECT email FROM contact_emails WHERE contact_id = $1 ORDER BY created_at, email"
    )
    .bind(id)
    .fetch_all(pool)
    .await)?;
    Ok(Contact {
        id: row.id,
        name: row.name,
        emails,
        phone: row.phone,
        organization: row.organization_id.zip(row.organization_name).map(|(id, name)| PersonRef { id, name }),
        notes: row.notes,
        created_at: row.created_at,
        merged_into: row.merged_into_id,
    })
}

/// The contact a (possibly merged) contact id stands for now.
pub async fn canonical_id(db: &Db, mut id: i64) -> Result<i64> {
    // Merges form chains at most as long as the number of merges; a cycle cannot be written.
    for _ in 0..32 {
        let next: Option<Option<i64>> = on_pool!(db, |pool| sqlx::query_scalar("SELECT merged_into_id FROM contacts WHERE id = $1")
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

/// The customer's tickets and chats, newest first, 25 per page.
pub async fn timeline(ctx: &AppContext, actor: &Agent, id: i64, cursor: Option<(Timestamp, i64)>) -> Result<TimelinePage> {
    authorize(actor)?;
    const PAGE: usize = 25;
    let (before, before_id) = cursor.unwrap_or((Timestamp::from_unix_millis(i64::MAX), i64::MAX));
    let mut entries: Vec<TimelineEntry> = on_pool!(ctx.db(), |pool| sqlx::query_as(
        "SELECT id, number, subject, status, channel, created_at FROM tickets
         WHERE requester_id = $1 AND (created_at < $2 OR (created_at = $2 AND id < $3))
         ORDER BY created_at DESC, id DESC LIMIT $4"
    )
    .bind(id)
    .bind(before)
    .bind(before_id)
    .bind(i64::try_from(PAGE + 1).unwrap_or(26))
    .fetch_all(pool)
    .await)?;
    let next_cursor = (entries.len() > PAGE).then(|| {
        entries.truncate(PAGE);
        entries.last().map(|e| format!("{}.{}", e.created_at.unix_millis(), e.id))
    });
    Ok(TimelinePage { entries, next_cursor: next_cursor.flatten() })
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
                found.push(Duplicate { contact: PersonRef { id: other, name }, reason: reason.to_owned() });
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
        let rows = on_pool!(ctx.db(), |pool| sqlx::query_as(
            "SELECT id, name FROM contacts WHERE organization_id = $1 AND LOWER(name) = LOWER($2) AND merged_into_id IS NULL LIMIT 20"
        )
        .bind(org.id)
        .bind(&contact.name)
        .fetch_all(pool)
        .await)?;
        add(rows, "same name in the same organization");
    }
    for email in &contact.emails {
        let Some((local, _)) = email.split_once('@') else { continue };
        let pattern = format!("{}@%", local.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_"));
        let rows = on_pool!(ctx.db(), |pool| sqlx::query_as(
            "SELECT DISTINCT c.id, c.name FROM contact_emails e JOIN contacts c ON c.id = e.contact_id
             WHERE e.email LIKE $1 ESCAPE '\\' AND c.merged_into_id IS NULL LIMIT 20"
        )
        .bind(pattern)
        .fetch_all(pool)
        .await)?;
        add(rows, "same email name at another domain");
    }
    Ok(found)
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
}

/// Merges contact `merged` into `survivor`: every email, ticket, chat, message, event, sign-in
/// link and session moves to the survivor; the merged contact stays as a pointer (its URL
/// redirects) and an audit entry records the merge with the counts moved.
pub async fn merge(ctx: &AppContext, actor: &Agent, survivor: i64, merged: i64, choices: MergeChoices) -> Result<Contact> {
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
    let notes = pick(choices.notes, Some(a.notes.clone()), Some(b.notes.clone())).unwrap_or_default();
    let now = Timestamp::now();
    on_pool!(ctx.db(), |pool| async {
        let mut tx = pool.begin_write().await?;
        let mut moved = serde_json::Map::new();
        for (label, sql) in [
            ("emails", "UPDATE contact_emails SET contact_id = $1 WHERE contact_id = $2"),
            ("tickets", "UPDATE tickets SET requester_id = $1 WHERE requester_id = $2"),
            ("messages", "UPDATE ticket_messages SET author_contact_id = $1 WHERE author_contact_id = $2"),
            ("events", "UPDATE ticket_events SET actor_contact_id = $1 WHERE actor_contact_id = $2"),
            ("links", "UPDATE portal_tokens SET contact_id = $1 WHERE contact_id = $2"),
            ("sessions", "UPDATE sessions SET contact_id = $1 WHERE contact_id = $2"),
        ] {
            let n = sqlx::query(sql).bind(survivor).bind(merged).execute(&mut *tx).await?.rows_affected();
            moved.insert(label.to_owned(), n.into());
        }
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
            }}),
        };
        audit::record(&mut *tx, &event).await?;
        tx.commit().await?;
        Ok::<_, Error>(())
    }
    .await)?;
    load(ctx.db(), survivor).await
}

/// Changes a contact's name, phone and notes.
pub async fn update(ctx: &AppContext, actor: &Agent, id: i64, name: &PersonName, phone: Option<&str>, notes: &str) -> Result<Contact> {
    authorize(actor)?;
    let phone = phone.map(str::trim).filter(|p| !p.is_empty());
    if phone.is_some_and(|p| p.len() > 40 || !p.chars().all(|c| c.is_ascii_digit() || " +-().".contains(c))) {
        return Err(Error::invalid("phone", "Use digits, spaces and + - ( ) only."));
    }
    if notes.len() > 10_000 {
        return Err(Error::invalid("notes", "Notes are limited to 10,000 characters."));
    }
    let updated = on_pool!(ctx.db(), |pool| sqlx::query(
        "UPDATE contacts SET name = $2, phone = $3, notes = $4, updated_at = $5 WHERE id = $1 AND merged_into_id IS NULL"
    )
    .bind(id)
    .bind(name.as_str())
    .bind(phone)
    .bind(notes)
    .bind(Timestamp::now())
    .execute(pool)
    .await
    .map(|r| r.rows_affected()))?;
    if updated == 0 {
        return Err(Error::NotFound("customer"));
    }
    load(ctx.db(), id).await
}
