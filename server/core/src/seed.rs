//! Demo and benchmark data: `frontdesk seed` fills a database with agents, teams, organizations,
//! customers and tickets with threads and histories that look like a real helpdesk's. The same
//! `--seed` gives the same data. Rows are written in batches of multi-row statements, one
//! transaction per batch, so a million tickets take minutes, not hours.

use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use serde_json::json;
use std::collections::HashMap;
use std::sync::OnceLock;

use crate::agents::{NewAgent, Role};
use crate::platform::context::AppContext;
use crate::platform::db::{BeginWrite, Db, Param, Params, bind_params, on_pool};
use crate::error::{Error, Result};
use crate::platform::time::Timestamp;

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
    /// Words of generated prose added to each ticket's subject (a tenth of them) and messages,
    /// drawn with the word frequencies of a real manual; 0 keeps the short templates alone.
    pub words: u32,
}

/// The password of every seeded agent.
pub const DEMO_PASSWORD: &str = "frontdesk-demo-password";

/// Tickets written per transaction.
const BATCH: u64 = 500;

const FIRST: &[&str] = &[
    "Maria", "James", "Aiko", "Liam", "Fatima", "Noah", "Elena", "Omar", "Sofia", "Lucas", "Priya",
    "Mateo", "Chloe", "Ivan", "Amara", "Jonas", "Mei", "Diego", "Hannah", "Kofi",
];
const LAST: &[&str] = &[
    "Lopez",
    "Smith",
    "Tanaka",
    "Murphy",
    "Haddad",
    "Johnson",
    "Rossi",
    "Khan",
    "Silva",
    "Martin",
    "Patel",
    "Garcia",
    "Dubois",
    "Petrov",
    "Okafor",
    "Berg",
    "Chen",
    "Fernandez",
    "Schmidt",
    "Mensah",
];
const COMPANIES: &[&str] = &[
    "Acme",
    "Globex",
    "Initech",
    "Umbrella",
    "Hooli",
    "Vandelay",
    "Stark",
    "Wayne",
    "Tyrell",
    "Soylent",
    "Cyberdyne",
    "Aperture",
    "Wonka",
    "Gringotts",
    "Pied Piper",
];
const TEAMS: &[&str] = &["Support", "Billing", "Technical", "Onboarding", "Enterprise", "Returns"];
const TOPICS: &[(&str, &str, &str)] = &[
    (
        "Cannot log in after password reset",
        "I reset my password but the login page still says it is wrong.",
        "Clear the browser cache and sign in with the new password; the old session cookie was being reused.",
    ),
    (
        "Invoice shows the wrong VAT number",
        "Our invoice for last month has an old VAT number on it.",
        "Update the VAT number under Billing → Company details, then regenerate the invoice from the Invoices tab.",
    ),
    (
        "Export to CSV is empty",
        "When I export my contacts to CSV the file only has the header row.",
        "The export uses the current filter; clear the filter before exporting to get every contact.",
    ),
    (
        "Refund for duplicate charge",
        "I was charged twice for the annual plan.",
        "We refunded the duplicate charge; it shows on your statement within 5 to 10 business days.",
    ),
    (
        "Two-factor codes are rejected",
        "The codes from my authenticator app are always invalid.",
        "The phone clock had drifted; enabling automatic time fixed the codes.",
    ),
    (
        "How do I add a team member?",
        "Where can I invite a colleague to our account?",
        "Admins invite colleagues under Settings → Team → Invite; the invite link is valid for 7 days.",
    ),
    (
        "Webhook deliveries failing",
        "Our endpoint stopped receiving webhooks yesterday.",
        "Your endpoint's TLS certificate expired; deliveries resumed after renewal, and failed ones were retried.",
    ),
    (
        "Change the billing email",
        "Invoices go to a former employee.",
        "Change the billing contact under Billing → Contacts; future invoices go to the new address.",
    ),
    (
        "App crashes on startup",
        "The mobile app closes right after the splash screen.",
        "Version 4.2.1 fixes the crash on Android 14; update from the store.",
    ),
    (
        "Order arrived damaged",
        "The package was crushed and the item is broken.",
        "We shipped a replacement at no cost; no need to return the damaged item.",
    ),
    (
        "API rate limit too low",
        "We hit 429 errors during our nightly sync.",
        "Batch requests with the bulk endpoint; it counts as one request per 100 records.",
    ),
    (
        "Dark mode for the dashboard",
        "Is there a dark mode?",
        "Dark mode follows your system setting; you can force it under Profile → Appearance.",
    ),
];
const TAGS: &[&str] = &[
    "billing",
    "login",
    "bug",
    "refund",
    "how-to",
    "api",
    "mobile",
    "shipping",
    "vip",
    "feature-request",
];
const STATUSES: &[(&str, u32)] =
    &[("new", 10), ("open", 20), ("pending", 10), ("on_hold", 5), ("solved", 40), ("closed", 15)];
const PRIORITIES: &[(&str, u32)] = &[("low", 20), ("normal", 55), ("high", 20), ("urgent", 5)];

/// Every word of a real manual (Git's, the relevance set in `tests/relevance/`) seen at least
/// twice, with how often: `word count` per line, most frequent first.
const WORDS: &str = include_str!("seed_words.txt");

/// The words the seeded prose is drawn from, with how often each occurs in the manual, most
/// frequent first (benchmarks draw their queries from them too).
pub fn manual_words() -> impl Iterator<Item = (&'static str, u64)> {
    WORDS
        .lines()
        .filter_map(|line| line.split_once(' '))
        .map(|(word, count)| (word, count.trim().parse().unwrap_or(1)))
}

/// Generated prose whose words follow [`WORDS`]' frequencies, so searches over seeded tickets
/// meet posting lists shaped like real text's.
struct Prose {
    words: Vec<&'static str>,
    /// Running totals of the counts, for drawing a word by weight.
    cumulative: Vec<u64>,
}

impl Prose {
    fn get() -> &'static Prose {
        static PROSE: OnceLock<Prose> = OnceLock::new();
        PROSE.get_or_init(|| {
            let mut total = 0;
            let (words, cumulative) = manual_words()
                .map(|(word, count)| {
                    total += count;
                    (word, total)
                })
                .unzip();
            Prose { words, cumulative }
        })
    }

    /// `n` words drawn by frequency, joined by spaces.
    fn words(&self, rng: &mut StdRng, n: u32) -> String {
        let total = self.cumulative.last().copied().unwrap_or(0);
        if total == 0 {
            return String::new();
        }
        let words: Vec<&str> = (0..n)
            .map(|_| {
                let drawn = rng.gen_range(0..total);
                self.words[self.cumulative.partition_point(|&c| c <= drawn)]
            })
            .collect();
        words.join(" ")
    }
}

/// A template text, followed by `words` words of prose when asked for.
fn with_prose(rng: &mut StdRng, text: &str, words: u32) -> String {
    if words == 0 { text.to_owned() } else { format!("{text} {}", Prose::get().words(rng, words)) }
}

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
pub async fn seed(
    ctx: &AppContext,
    plan: SeedPlan,
    progress: impl Fn(u64, u64),
) -> Result<SeedReport> {
    let mut rng = StdRng::seed_from_u64(plan.seed);
    let db = ctx.db();
    let run = rng.gen_range(1000..10_000);
    let now = Timestamp::now();

    let mut agent_ids = Vec::new();
    for i in 0..plan.agents {
        let (first, last) = (pick(&mut rng, FIRST), pick(&mut rng, LAST));
        let email =
            format!("{}.{}.{run}{i}@frontdesk.test", first.to_lowercase(), last.to_lowercase());
        let role = if i == 0 { Role::Admin } else { Role::Agent };
        let new = NewAgent::parse(&email, &format!("{first} {last}"), role, DEMO_PASSWORD)
            .map_err(Error::Invalid)?;
        agent_ids.push(crate::agents::create_unattended(ctx, new).await?.id);
    }

    let team_ids: Vec<i64> = on_pool!(db, |pool| async {
        let mut ids = Vec::new();
        for i in 0..plan.teams {
            let name = format!("{} {run}-{i}", TEAMS[i as usize % TEAMS.len()]);
            ids.push(
                sqlx::query_scalar(
                    "INSERT INTO teams (name, created_at) VALUES ($1, $2) RETURNING id",
                )
                .bind(name)
                .bind(now)
                .fetch_one(pool)
                .await?,
            );
        }
        for (i, agent) in agent_ids.iter().enumerate() {
            if let Some(team) = ids.get(i % ids.len().max(1)) {
                sqlx::query("INSERT INTO team_members (team_id, agent_id) VALUES ($1, $2)")
                    .bind(*team)
                    .bind(*agent)
                    .execute(pool)
                    .await?;
            }
        }
        Ok::<_, sqlx::Error>(ids)
    }
    .await)?;

    let org_ids: Vec<i64> = on_pool!(db, |pool| {
        async {
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
        tx.commit().await?;
        Ok::<_, sqlx::Error>(orgs)
    }
    .await
    })?;

    let mut customers: Vec<(i64, String)> = Vec::new();
    let mut made = 0;
    while made < plan.customers {
        let batch = CUSTOMER_BATCH.min(plan.customers - made);
        let rows = (0..batch).map(|_| {
            let name = format!("{} {}", pick(&mut rng, FIRST), pick(&mut rng, LAST));
            let org = if org_ids.is_empty() || rng.gen_bool(0.2) {
                None
            } else {
                Some(org_ids[rng.gen_range(0..org_ids.len())])
            };
            [
                Param::Text(name),
                Param::OptInt(org),
                Param::Int(now.unix_millis()),
                Param::Int(now.unix_millis()),
            ]
        });
        let created = insert_customers(db, rows.collect(), run, now).await?;
        customers.extend(created);
        made += batch;
    }
    if customers.is_empty() && plan.tickets > 0 {
        return Err(Error::invalid("customers", "Tickets need at least one customer."));
    }

    let people = People { customers: &customers, agents: &agent_ids, teams: &team_ids };
    let mut done = 0;
    while done < plan.tickets {
        let batch = BATCH.min(plan.tickets - done);
        insert_tickets(db, &people, &mut rng, batch, now, plan.words).await?;
        done += batch;
        progress(done, plan.tickets);
    }
    // The planner picks the queue's indexes from statistics, which a bulk load makes stale.
    db.analyze().await?;
    Ok(SeedReport { agents: plan.agents, customers: plan.customers, tickets: plan.tickets })
}

/// Customers written per statement.
const CUSTOMER_BATCH: u32 = 1_000;

/// Inserts customers (rows of name, organization, created, updated) and one email address each;
/// returns their ids and names.
async fn insert_customers(
    db: &Db,
    rows: Vec<[Param; 4]>,
    run: u32,
    now: Timestamp,
) -> Result<Vec<(i64, String)>> {
    let mut params = Params::in_order(db);
    let values: Vec<String> = rows.into_iter().map(|row| params.row(row)).collect();
    let sql = format!(
        "INSERT INTO contacts (name, organization_id, created_at, updated_at) VALUES {} RETURNING id, name",
        values.join(", ")
    );
    Ok(on_pool!(db, |pool| async {
        let mut tx = pool.begin_write().await?;
        let created: Vec<(i64, String)> =
            bind_params!(sqlx::query_as(&sql), params).fetch_all(&mut *tx).await?;
        let mut emails = Params::in_order(db);
        let values: Vec<String> = created
            .iter()
            .map(|(id, name)| {
                let email =
                    format!("{}.{run}.{id}@customer.test", name.to_lowercase().replace(' ', "."));
                emails.row([Param::Text(email), Param::Int(*id), Param::Int(now.unix_millis())])
            })
            .collect();
        let sql = format!(
            "INSERT INTO contact_emails (email, contact_id, created_at) VALUES {}",
            values.join(", ")
        );
        bind_params!(sqlx::query(&sql), emails).execute(&mut *tx).await?;
        tx.commit().await?;
        Ok::<_, sqlx::Error>(created)
    }
    .await)?)
}

/// Who tickets are spread over.
struct People<'a> {
    customers: &'a [(i64, String)],
    agents: &'a [i64],
    teams: &'a [i64],
}

/// One generated ticket before it is written.
struct Draft {
    number: i64,
    topic: usize,
    subject: String,
    status: &'static str,
    /// Index into [`People::customers`].
    requester: usize,
    assignee: Option<i64>,
    created: i64,
    updated: i64,
    tags: Vec<&'static str>,
}

impl Draft {
    fn finished(&self) -> bool {
        matches!(self.status, "solved" | "closed")
    }

    /// The events its history gets: created, the question, and if an agent took it the answer,
    /// the status change and for finished tickets the resolution.
    fn event_count(&self) -> i64 {
        match (self.assignee.is_some(), self.finished()) {
            (false, _) => 2,
            (true, false) => 4,
            (true, true) => 5,
        }
    }
}

/// Writes `count` tickets with tags, a question, an answer when assigned, and their history, in
/// one transaction and a handful of multi-row statements.
async fn insert_tickets(
    db: &Db,
    people: &People<'_>,
    rng: &mut StdRng,
    count: u64,
    now: Timestamp,
    words: u32,
) -> Result<()> {
    const YEAR_MS: i64 = 365 * 24 * 3600 * 1000;
    let count_i64 = i64::try_from(count).unwrap_or(i64::MAX);
    on_pool!(db, |pool| {
        async {
        let mut tx = pool.begin_write().await?;
        let last: i64 = sqlx::query_scalar("UPDATE counters SET value = value + $1 WHERE name = 'ticket_number' RETURNING value")
            .bind(count_i64)
            .fetch_one(&mut *tx)
            .await?;
        let first_number = last - count_i64 + 1;

        let mut params = Params::in_order(db);
        let mut values = Vec::new();
        let mut drafts = HashMap::new();
        for number in first_number..=last {
            let status = weighted(rng, STATUSES);
            let assignee = if status == "new" || people.agents.is_empty() { None } else { Some(people.agents[rng.gen_range(0..people.agents.len())]) };
            let created = now.unix_millis() - rng.gen_range(0..YEAR_MS);
            let mut tags: Vec<&str> = (0..rng.gen_range(0..3)).map(|_| pick(rng, TAGS)).collect();
            tags.sort_unstable();
            tags.dedup();
            let topic = rng.gen_range(0..TOPICS.len());
            let draft = Draft {
                number,
                topic,
                subject: with_prose(rng, TOPICS[topic].0, words / 10),
                status,
                requester: rng.gen_range(0..people.customers.len()),
                assignee,
                created,
                updated: created + rng.gen_range(0..(now.unix_millis() - created).max(1)),
                tags,
            };
            let team = if people.teams.is_empty() { None } else { Some(people.teams[rng.gen_range(0..people.teams.len())]) };
            values.push(params.row([
                Param::Int(number),
                Param::Text(draft.subject.clone()),
                Param::Text(status.to_owned()),
                Param::Text(weighted(rng, PRIORITIES).to_owned()),
                Param::Text(["web_form", "email", "chat", "api"][rng.gen_range(0..4)].to_owned()),
                Param::Int(people.customers[draft.requester].0),
                Param::OptInt(draft.assignee),
                Param::OptInt(team),
                Param::Int(draft.created),
                Param::Int(draft.updated),
                Param::OptInt(draft.finished().then_some(draft.updated)),
                Param::Int(draft.event_count()),
            ]));
            drafts.insert(number, draft);
        }
        let sql = format!(
            "INSERT INTO tickets (number, subject, status, priority, channel, requester_id, assignee_id, team_id,
                created_at, updated_at, solved_at, last_seq) VALUES {} RETURNING id, number",
            values.join(", ")
        );
        let ids: Vec<(i64, i64)> = bind_params!(sqlx::query_as(&sql), params).fetch_all(&mut *tx).await?;
        let by_id: Vec<(i64, &Draft)> = ids.iter().filter_map(|(id, number)| drafts.get(number).map(|d| (*id, d))).collect();

        let mut params = Params::in_order(db);
        let values: Vec<String> = by_id
            .iter()
            .flat_map(|(id, d)| d.tags.iter().map(move |tag| (*id, *tag)))
            .map(|(id, tag)| params.row([Param::Int(id), Param::Text(tag.to_owned())]))
            .collect();
        if !values.is_empty() {
            let sql = format!("INSERT INTO ticket_tags (ticket_id, tag) VALUES {}", values.join(", "));
            bind_params!(sqlx::query(&sql), params).execute(&mut *tx).await?;
        }

        let mut params = Params::in_order(db);
        let mut values = Vec::new();
        for (id, d) in &by_id {
            let (_, question, answer) = TOPICS[d.topic];
            let (question, answer) = (with_prose(rng, question, words), with_prose(rng, answer, words));
            let (requester, name) = &people.customers[d.requester];
            values.push(params.row([
                Param::Int(*id),
                Param::Text("reply".to_owned()),
                Param::OptInt(None),
                Param::OptInt(Some(*requester)),
                Param::Text(format!("Hi,\n\n{question}\n\nThanks,\n{name}")),
                Param::Int(d.created),
            ]));
            if let Some(agent) = d.assignee {
                values.push(params.row([
                    Param::Int(*id),
                    Param::Text("reply".to_owned()),
                    Param::OptInt(Some(agent)),
                    Param::OptInt(None),
                    Param::Text(format!("Hello {name},\n\n{answer}")),
                    Param::Int(d.updated),
                ]));
            }
        }
        let sql = format!(
            "INSERT INTO ticket_messages (ticket_id, kind, author_agent_id, author_contact_id, body, created_at) VALUES {}
             RETURNING id, ticket_id, author_contact_id",
            values.join(", ")
        );
        let messages: Vec<(i64, i64, Option<i64>)> = bind_params!(sqlx::query_as(&sql), params).fetch_all(&mut *tx).await?;
        let mut question_of = HashMap::new();
        let mut answer_of = HashMap::new();
        for (message, ticket, contact) in messages {
            if contact.is_some() { question_of.insert(ticket, message) } else { answer_of.insert(ticket, message) };
        }

        let mut params = Params::in_order(db);
        let mut values = Vec::new();
        for (id, d) in &by_id {
            let subject = &d.subject;
            let mut events = vec![
                ("created", json!({ "number": d.number, "subject": subject })),
                ("reply_added", json!({ "message_id": question_of.get(id) })),
            ];
            if let Some(answer) = answer_of.get(id) {
                events.push(("reply_added", json!({ "message_id": answer })));
                events.push(("status_changed", json!({ "from": "new", "to": d.status })));
                if d.finished() {
                    events.push(("resolution_marked", json!({ "message_id": answer })));
                }
            }
            for (seq, (kind, detail)) in (1..).zip(events) {
                let by_customer = seq <= 2;
                values.push(params.row([
                    Param::Int(*id),
                    Param::Int(seq),
                    Param::OptInt(if by_customer { None } else { d.assignee }),
                    Param::OptInt(by_customer.then_some(people.customers[d.requester].0)),
                    Param::Text(kind.to_owned()),
                    Param::Text(detail.to_string()),
                    Param::Bool(false),
                    Param::Int(if by_customer { d.created } else { d.updated }),
                ]));
            }
        }
        let sql = format!(
            "INSERT INTO ticket_events (ticket_id, seq, actor_agent_id, actor_contact_id, kind, detail, internal, created_at) VALUES {}",
            values.join(", ")
        );
        bind_params!(sqlx::query(&sql), params).execute(&mut *tx).await?;

        sqlx::query(
            "UPDATE tickets SET resolution_message_id =
                (SELECT MAX(m.id) FROM ticket_messages m WHERE m.ticket_id = tickets.id AND m.author_agent_id IS NOT NULL)
             WHERE number BETWEEN $1 AND $2 AND status IN ('solved', 'closed')",
        )
        .bind(first_number)
        .bind(last)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok::<_, sqlx::Error>(())
    }
    .await
    })?;
    Ok(())
}
