//! Demo and benchmark data: `frontdesk seed` fills a database with agents, teams, organizations,
//! customers and tickets with threads and histories that look like a real helpdesk's. The same
//! `--seed` gives the same data. Tickets are written in batches, one transaction each.

use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use serde_json::json;

use crate::agent::{NewAgent, Role};
use crate::context::AppContext;
use crate::db::{BeginWrite, on_pool};
use crate::error::{Error, Result};
use crate::time::Timestamp;

/// How much to generate.
#[derive(Clone, Copy, Debug)]
pub struct SeedPlan {
    /// Agents (the first is an admin), all with [`DEMO_PASSWORD`].
    pub agents: u32,
    /// Teams; agents are spread over them.
    pub teams: u32,
    /// Organizations, each with its own email domain.
    pub organizations: u32,
    /// Customers; most belong to an organization.
    pub customers: u32,
    /// Tickets, spread over the customers and the last year.
    pub tickets: u64,
    /// The random seed.
    pub seed: u64,
}

/// The password of every seeded agent.
pub const DEMO_PASSWORD: &str = "frontdesk-demo-password";

/// Tickets written per transaction.
const BATCH: u64 = 500;

const FIRST: &[&str] = &["Maria", "James", "Aiko", "Liam", "Fatima", "Noah", "Elena", "Omar", "Sofia", "Lucas", "Priya", "Mateo", "Chloe", "Ivan", "Amara", "Jonas", "Mei", "Diego", "Hannah", "Kofi"];
const LAST: &[&str] = &["Lopez", "Smith", "Tanaka", "Murphy", "Haddad", "Johnson", "Rossi", "Khan", "Silva", "Martin", "Patel", "Garcia", "Dubois", "Petrov", "Okafor", "Berg", "Chen", "Fernandez", "Schmidt", "Mensah"];
const COMPANIES: &[&str] = &["Acme", "Globex", "Initech", "Umbrella", "Hooli", "Vandelay", "Stark", "Wayne", "Tyrell", "Soylent", "Cyberdyne", "Aperture", "Wonka", "Gringotts", "Pied Piper"];
const TEAMS: &[&str] = &["Support", "Billing", "Technical", "Onboarding", "Enterprise", "Returns"];
const TOPICS: &[(&str, &str, &str)] = &[
    ("Cannot log in after password reset", "I reset my password but the login page still says it is wrong.", "Clear the browser cache and sign in with the new password; the old session cookie was being reused."),
    ("Invoice shows the wrong VAT number", "Our invoice for last month has an old VAT number on it.", "Update the VAT number under Billing → Company details, then regenerate the invoice from the Invoices tab."),
    ("Export to CSV is empty", "When I export my contacts to CSV the file only has the header row.", "The export uses the current filter; clear the filter before exporting to get every contact."),
    ("Refund for duplicate charge", "I was charged twice for the annual plan.", "We refunded the duplicate charge; it shows on your statement within 5 to 10 business days."),
    ("Two-factor codes are rejected", "The codes from my authenticator app are always invalid.", "The phone clock had drifted; enabling automatic time fixed the codes."),
    ("How do I add a team member?", "Where can I invite a colleague to our account?", "Admins invite colleagues under Settings → Team → Invite; the invite link is valid for 7 days."),
    ("Webhook deliveries failing", "Our endpoint stopped receiving webhooks yesterday.", "Your endpoint's TLS certificate expired; deliveries resumed after renewal, and failed ones were retried."),
    ("Change the billing email", "Invoices go to a former employee.", "Change the billing contact under Billing → Contacts; future invoices go to the new address."),
    ("App crashes on startup", "The mobile app closes right after the splash screen.", "Version 4.2.1 fixes the crash on Android 14; update from the store."),
    ("Order arrived damaged", "The package was crushed and the item is broken.", "We shipped a replacement at no cost; no need to return the damaged item."),
    ("API rate limit too low", "We hit 429 errors during our nightly sync.", "Batch requests with the bulk endpoint; it counts as one request per 100 records."),
    ("Dark mode for the dashboard", "Is there a dark mode?", "Dark mode follows your system setting; you can force it under Profile → Appearance."),
];
const TAGS: &[&str] = &["billing", "login", "bug", "refund", "how-to", "api", "mobile", "shipping", "vip", "feature-request"];
const STATUSES: &[(&str, u32)] = &[("new", 10), ("open", 20), ("pending", 10), ("on_hold", 5), ("solved", 40), ("closed", 15)];
const PRIORITIES: &[(&str, u32)] = &[("low", 20), ("normal", 55), ("high", 20), ("urgent", 5)];

fn weighted<'a>(rng: &mut StdRng, choices: &'a [(&'a str, u32)]) -> &'a str {
    let total: u32 = choices.iter().map(|(_, w)| w).sum();
    let mut pick = rng.gen_range(0..total);
    for (value, weight) in choices {
        if pick < *weight {
            return value;
        }
        pick -= weight;
    }
    choices[0].0
}

fn pick<'a>(rng: &mut StdRng, list: &'a [&'a str]) -> &'a str {
    list.choose(rng).copied().unwrap_or_default()
}

/// What was generated.
#[derive(Clone, Copy, Debug, Default)]
pub struct SeedReport {
    /// Agents created.
    pub agents: u32,
    /// Customers created.
    pub customers: u32,
    /// Tickets created.
    pub tickets: u64,
}

/// Generates `plan` into the database; `progress(done, total)` is called after every batch.
pub async fn seed(ctx: &AppContext, plan: SeedPlan, progress: impl Fn(u64, u64)) -> Result<SeedReport> {
    let mut rng = StdRng::seed_from_u64(plan.seed);
    let db = ctx.db();
    let run = rng.gen_range(1000..10_000);
    let now = Timestamp::now();

    let mut agent_ids = Vec::new();
    for i in 0..plan.agents {
        let (first, last) = (pick(&mut rng, FIRST), pick(&mut rng, LAST));
        let email = format!("{}.{}.{run}{i}@frontdesk.test", first.to_lowercase(), last.to_lowercase());
        let role = if i == 0 { Role::Admin } else { Role::Agent };
        let new = NewAgent::parse(&email, &format!("{first} {last}"), role, DEMO_PASSWORD)
            .map_err(Error::Invalid)?;
        agent_ids.push(crate::agents::create_unattended(ctx, new).await?.id);
    }

    let team_ids: Vec<i64> = on_pool!(db, |pool| async {
        let mut ids = Vec::new();
        for i in 0..plan.teams {
            let name = format!("{} {run}-{i}", TEAMS[i as usize % TEAMS.len()]);
            ids.push(sqlx::query_scalar("INSERT INTO teams (name, created_at) VALUES ($1, $2) RETURNING id").bind(name).bind(now).fetch_one(pool).await?);
        }
        for (i, agent) in agent_ids.iter().enumerate() {
            if let Some(team) = ids.get(i % ids.len().max(1)) {
                sqlx::query("INSERT INTO team_members (team_id, agent_id) VALUES ($1, $2)").bind(*team).bind(*agent).execute(pool).await?;
            }
        }
        Ok::<_, sqlx::Error>(ids)
    }
    .await)?;

    let (org_ids, customer_ids): (Vec<i64>, Vec<(i64, String)>) = on_pool!(db, |pool| async {
        let mut tx = pool.begin_write().await?;
        let mut orgs = Vec::new();
        for i in 0..plan.organizations {
            let company = COMPANIES[i as usize % COMPANIES.len()];
            let id: i64 = sqlx::query_scalar("INSERT INTO organizations (name, created_at, updated_at) VALUES ($1, $2, $2) RETURNING id")
                .bind(format!("{company} {i}"))
                .bind(now)
                .fetch_one(&mut *tx)
                .await?;
            sqlx::query("INSERT INTO organization_domains (domain, organization_id) VALUES ($1, $2)")
                .bind(format!("{}-{run}-{i}.test", company.to_lowercase().replace(' ', "-")))
                .bind(id)
                .execute(&mut *tx)
                .await?;
            orgs.push(id);
        }
        let mut customers = Vec::new();
        for i in 0..plan.customers {
            let name = format!("{} {}", pick(&mut rng, FIRST), pick(&mut rng, LAST));
            let org = if orgs.is_empty() || rng.gen_bool(0.2) { None } else { orgs.get(rng.gen_range(0..orgs.len())).copied() };
            let id: i64 = sqlx::query_scalar("INSERT INTO contacts (name, organization_id, created_at, updated_at) VALUES ($1, $2, $3, $3) RETURNING id")
                .bind(&name)
                .bind(org)
                .bind(now)
                .fetch_one(&mut *tx)
                .await?;
            let email = format!("{}.{run}.{i}@customer.test", name.to_lowercase().replace(' ', "."));
            sqlx::query("INSERT INTO contact_emails (email, contact_id, created_at) VALUES ($1, $2, $3)").bind(&email).bind(id).bind(now).execute(&mut *tx).await?;
            customers.push((id, name));
        }
        tx.commit().await?;
        Ok::<_, sqlx::Error>((orgs, customers))
    }
    .await)?;
    let _ = org_ids;
    if customer_ids.is_empty() && plan.tickets > 0 {
        return Err(Error::invalid("customers", "Tickets need at least one customer."));
    }

    let year_ms: i64 = 365 * 24 * 3600 * 1000;
    let mut done = 0;
    while done < plan.tickets {
        let batch = BATCH.min(plan.tickets - done);
        on_pool!(db, |pool| async {
            let mut tx = pool.begin_write().await?;
            let last: i64 = sqlx::query_scalar("UPDATE counters SET value = value + $1 WHERE name = 'ticket_number' RETURNING value")
                .bind(i64::try_from(batch).unwrap_or(i64::MAX))
                .fetch_one(&mut *tx)
                .await?;
            let first_number = last - i64::try_from(batch).unwrap_or(0) + 1;
            for n in 0..batch {
                let number = first_number + i64::try_from(n).unwrap_or(0);
                let (requester, requester_name) = &customer_ids[rng.gen_range(0..customer_ids.len())];
                let (subject, question, answer) = TOPICS[rng.gen_range(0..TOPICS.len())];
                let status = weighted(&mut rng, STATUSES);
                let priority = weighted(&mut rng, PRIORITIES);
                let assignee = if status == "new" || agent_ids.is_empty() { None } else { Some(agent_ids[rng.gen_range(0..agent_ids.len())]) };
                let team = if team_ids.is_empty() { None } else { Some(team_ids[rng.gen_range(0..team_ids.len())]) };
                let created = now.unix_millis() - rng.gen_range(0..year_ms);
                let updated = created + rng.gen_range(0..(now.unix_millis() - created).max(1));
                let (created, updated) = (Timestamp::from_unix_millis(created), Timestamp::from_unix_millis(updated));
                let done_status = status == "solved" || status == "closed";
                let id: i64 = sqlx::query_scalar(
                    "INSERT INTO tickets (number, subject, status, priority, channel, requester_id, assignee_id, team_id,
                        created_at, updated_at, solved_at, version, last_seq)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 1, 0) RETURNING id",
                )
                .bind(number)
                .bind(subject)
                .bind(status)
                .bind(priority)
                .bind(["web_form", "email", "chat", "api"][rng.gen_range(0..4)])
                .bind(*requester)
                .bind(assignee)
                .bind(team)
                .bind(created)
                .bind(updated)
                .bind(done_status.then_some(updated))
                .fetch_one(&mut *tx)
                .await?;
                let mut tags: Vec<&str> = (0..rng.gen_range(0..3)).map(|_| pick(&mut rng, TAGS)).collect();
                tags.sort_unstable();
                tags.dedup();
                for tag in tags {
                    sqlx::query("INSERT INTO ticket_tags (ticket_id, tag) VALUES ($1, $2)").bind(id).bind(tag).execute(&mut *tx).await?;
                }
                let mut seq = 0_i64;
                let mut event = |kind: &'static str, detail: serde_json::Value| {
                    seq += 1;
                    (seq, kind, detail.to_string())
                };
                let mut events = vec![event("created", json!({ "number": number, "subject": subject }))];
                let question_id: i64 = sqlx::query_scalar(
                    "INSERT INTO ticket_messages (ticket_id, kind, author_contact_id, body, created_at) VALUES ($1, 'reply', $2, $3, $4) RETURNING id",
                )
                .bind(id)
                .bind(*requester)
                .bind(format!("Hi,\n\n{question}\n\nThanks,\n{requester_name}"))
                .bind(created)
                .fetch_one(&mut *tx)
                .await?;
                events.push(event("reply_added", json!({ "message_id": question_id })));
                let mut resolution = None;
                if let Some(agent) = assignee {
                    let answer_id: i64 = sqlx::query_scalar(
                        "INSERT INTO ticket_messages (ticket_id, kind, author_agent_id, body, created_at) VALUES ($1, 'reply', $2, $3, $4) RETURNING id",
                    )
                    .bind(id)
                    .bind(agent)
                    .bind(format!("Hello {requester_name},\n\n{answer}"))
                    .bind(updated)
                    .fetch_one(&mut *tx)
                    .await?;
                    events.push(event("reply_added", json!({ "message_id": answer_id })));
                    events.push(event("status_changed", json!({ "from": "new", "to": status })));
                    if done_status {
                        resolution = Some(answer_id);
                        events.push(event("resolution_marked", json!({ "message_id": answer_id })));
                    }
                }
                for (seq, kind, detail) in &events {
                    sqlx::query(
                        "INSERT INTO ticket_events (ticket_id, seq, actor_agent_id, actor_contact_id, kind, detail, internal, created_at)
                         VALUES ($1, $2, $3, $4, $5, $6, FALSE, $7)",
                    )
                    .bind(id)
                    .bind(*seq)
                    .bind(if *seq <= 2 { None } else { assignee })
                    .bind(if *seq <= 2 { Some(*requester) } else { None })
                    .bind(*kind)
                    .bind(detail)
                    .bind(if *seq <= 2 { created } else { updated })
                    .execute(&mut *tx)
                    .await?;
                }
                sqlx::query("UPDATE tickets SET last_seq = $2, resolution_message_id = $3 WHERE id = $1")
                    .bind(id)
                    .bind(seq)
                    .bind(resolution)
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await?;
            Ok::<_, sqlx::Error>(())
        }
        .await)?;
        done += batch;
        progress(done, plan.tickets);
    }
    Ok(SeedReport { agents: plan.agents, customers: plan.customers, tickets: plan.tickets })
}
