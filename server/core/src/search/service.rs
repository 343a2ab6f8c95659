//! Search over the knowledge base and tickets: keeping the tantivy index (`frontdesk-search`) in
//! step with the database, and answering searches for agents, customers and the public.
//!
//! The index is derived data. Triggers write a row to `search_changes` in the same transaction
//! as every change to an article, a ticket, its messages or tags; [`follow`] loads the changed
//! rows, commits them to the index and only then deletes those change rows. A crash between the
//! database commit and the index commit therefore loses nothing: the rows are still there at the
//! next start, and writing a document twice is harmless (one document per key). An index that is
//! missing, unreadable, of an older schema or half rebuilt is rebuilt from the tables ([`rebuild`]).
//!
//! Searches run on the blocking thread pool, never on the async runtime.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::path::Path;

use frontdesk_search::{
    ArticleDoc, Audience, Counts, Doc, DocKey, Hit, IndexState, Kind, Results, SearchIndex,
    SearchRequest, Similar, TicketDoc,
};

use crate::agents::Agent;
use crate::platform::context::AppContext;
use crate::platform::db::{Db, bind_params, id_list, on_pool};
use crate::error::{Error, Result};
use crate::search::{FacetCount, Found, FoundItem, SearchQuery};
use crate::platform::time::Timestamp;

/// How many changes one [`follow`] round takes.
pub const FOLLOW_BATCH: i64 = 1000;
/// Documents loaded per query while rebuilding.
const REBUILD_BATCH: i64 = 2000;
/// Documents written between commits while rebuilding.
const REBUILD_COMMIT_EVERY: u64 = 100_000;
/// The longest query text taken.
const MAX_QUERY_CHARS: usize = 200;
/// Hits per search page.
const PAGE: usize = 20;
/// Tags shown with counts.
const TOP_TAGS: usize = 15;

fn index_failed(e: impl std::error::Error + Send + Sync + 'static) -> Error {
    Error::internal_from("the search index failed", e)
}

/// Runs `f` on the index on the blocking pool.
async fn with_index<T: Send + 'static>(
    ctx: &AppContext,
    f: impl FnOnce(&SearchIndex) -> frontdesk_search::Result<T> + Send + 'static,
) -> Result<T> {
    let index = ctx
        .shared_part::<SearchIndex>()
        .ok_or_else(|| Error::internal("this application was built without its search index"))?;
    tokio::task::spawn_blocking(move || f(&index)).await.map_err(index_failed)?.map_err(index_failed)
}

/// Opens (or creates) the index in `dir`, to become part of the application; says whether it
/// must be rebuilt before it is complete.
pub async fn open(dir: &Path) -> Result<(SearchIndex, IndexState)> {
    let dir = dir.to_owned();
    tokio::task::spawn_blocking(move || SearchIndex::open(&dir))
        .await
        .map_err(index_failed)?
        .map_err(index_failed)
}

/// Writes what changed since the last round to the index, then forgets those changes. Returns
/// how many changes it took.
pub async fn follow(ctx: &AppContext, limit: i64) -> Result<usize> {
    let db = ctx.db();
    let changes: Vec<(i64, String, i64)> = on_pool!(db, |pool| sqlx::query_as(
        "SELECT id, kind, entity_id FROM search_changes ORDER BY id LIMIT $1"
    )
    .bind(limit)
    .fetch_all(pool)
    .await)?;
    if changes.is_empty() {
        return Ok(0);
    }
    let mut wanted: BTreeMap<&str, BTreeSet<i64>> = BTreeMap::new();
    for (_, kind, id) in &changes {
        wanted.entry(kind.as_str()).or_default().insert(*id);
    }
    let mut docs = Vec::new();
    let mut removed = Vec::new();
    for (kind, ids) in wanted {
        let Some(kind) = Kind::from_name(kind) else { continue };
        let ids: Vec<i64> = ids.into_iter().collect();
        let found = load(db, kind, &ids).await?;
        let present: HashSet<i64> = found.iter().map(|d| d.key().id).collect();
        removed.extend(
            ids.into_iter().filter(|id| !present.contains(id)).map(|id| DocKey { kind, id }),
        );
        docs.extend(found);
    }
    with_index(ctx, move |index| index.write(&docs, &removed, IndexState::Complete)).await?;
    let ids: Vec<i64> = changes.iter().map(|c| c.0).collect();
    let (params, list) = id_list(db, &ids);
    let sql = format!("DELETE FROM search_changes WHERE id IN ({list})");
    on_pool!(db, |pool| bind_params!(sqlx::query(&sql), params).execute(pool).await.map(drop))?;
    Ok(changes.len())
}

/// Replaces the whole index with every article and ticket in the database, reporting
/// `(written, total)` as it goes. Changes made meanwhile stay in the change log for [`follow`].
pub async fn rebuild(ctx: &AppContext, progress: &(dyn Fn(u64, u64) + Send + Sync)) -> Result<u64> {
    let db = ctx.db();
    // Changes up to here are covered by reading the tables afterwards.
    let covered: Option<i64> =
        on_pool!(db, |pool| sqlx::query_scalar("SELECT MAX(id) FROM search_changes")
            .fetch_one(pool)
            .await)?;
    let total: i64 = on_pool!(db, |pool| sqlx::query_scalar(
        "SELECT (SELECT COUNT(*) FROM kb_articles) + (SELECT COUNT(*) FROM tickets)"
    )
    .fetch_one(pool)
    .await)?;
    let total = u64::try_from(total).unwrap_or_default();
    with_index(ctx, SearchIndex::clear).await?;
    let mut written = 0_u64;
    let mut since_commit = 0_u64;
    progress(0, total);
    for (kind, table) in [(Kind::Article, "kb_articles"), (Kind::Ticket, "tickets")] {
        let sql = format!("SELECT id FROM {table} WHERE id > $1 ORDER BY id LIMIT $2");
        let mut after = 0_i64;
        loop {
            let ids: Vec<i64> = on_pool!(db, |pool| sqlx::query_scalar(&sql)
                .bind(after)
                .bind(REBUILD_BATCH)
                .fetch_all(pool)
                .await)?;
            let Some(&last) = ids.last() else { break };
            after = last;
            let docs = load(db, kind, &ids).await?;
            let n = docs.len() as u64;
            since_commit += n;
            let commit = since_commit >= REBUILD_COMMIT_EVERY;
            with_index(ctx, move |index| {
                index.stage(&docs, &[])?;
                if commit { index.commit(IndexState::NeedsRebuild) } else { Ok(()) }
            })
            .await?;
            if commit {
                since_commit = 0;
            }
            written += n;
            progress(written, total.max(written));
        }
    }
    with_index(ctx, |index| index.commit(IndexState::Complete)).await?;
    if let Some(covered) = covered {
        on_pool!(db, |pool| sqlx::query("DELETE FROM search_changes WHERE id <= $1")
            .bind(covered)
            .execute(pool)
            .await
            .map(drop))?;
    }
    Ok(written)
}

/// Loads the documents of `kind` with these ids; ids with no row are left out.
async fn load(db: &Db, kind: Kind, ids: &[i64]) -> Result<Vec<Doc>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    Ok(match kind {
        Kind::Article => load_articles(db, ids).await?.into_iter().map(Doc::Article).collect(),
        Kind::Ticket => load_tickets(db, ids).await?.into_iter().map(Doc::Ticket).collect(),
    })
}

type ArticleRow = (i64, String, String, String, String, String, String, i64);

async fn load_articles(db: &Db, ids: &[i64]) -> Result<Vec<ArticleDoc>> {
    let (params, list) = id_list(db, ids);
    let sql = format!(
        "SELECT id, title, body, locale, status, slug, tags, updated_at FROM kb_articles WHERE id IN ({list})"
    );
    let rows: Vec<ArticleRow> =
        on_pool!(db, |pool| bind_params!(sqlx::query_as(&sql), params).fetch_all(pool).await)?;
    // Articles are indexed as the text a reader sees, so snippets show no markdown syntax.
    let rows = tokio::task::spawn_blocking(move || {
        rows.into_iter()
            .map(|(id, title, body, locale, status, slug, tags, updated_at)| {
                (
                    id,
                    title,
                    crate::platform::markdown::to_plain_text(&body),
                    locale,
                    status,
                    slug,
                    tags,
                    updated_at,
                )
            })
            .collect::<Vec<_>>()
    })
    .await
    .map_err(|e| Error::internal_from("reading articles as text failed", e))?;
    Ok(rows
        .into_iter()
        .map(|(id, title, body, locale, status, slug, tags, updated_at)| ArticleDoc {
            id,
            title,
            body,
            locale,
            status,
            slug,
            tags: serde_json::from_str(&tags).unwrap_or_default(),
            updated_at,
        })
        .collect())
}

type TicketRow = (i64, i64, String, String, i64, Option<i64>, i64, String);

async fn load_tickets(db: &Db, ids: &[i64]) -> Result<Vec<TicketDoc>> {
    let (params, list) = id_list(db, ids);
    let sql = format!(
        "SELECT t.id, t.number, t.subject, t.status, t.requester_id, t.resolution_message_id, t.updated_at, c.name
         FROM tickets t JOIN contacts c ON c.id = t.requester_id WHERE t.id IN ({list})"
    );
    let rows: Vec<TicketRow> =
        on_pool!(db, |pool| bind_params!(sqlx::query_as(&sql), params).fetch_all(pool).await)?;
    let (params, list) = id_list(db, ids);
    let sql = format!(
        "SELECT ticket_id, id, kind, body FROM ticket_messages WHERE ticket_id IN ({list}) ORDER BY ticket_id, id"
    );
    let messages: Vec<(i64, i64, String, String)> =
        on_pool!(db, |pool| bind_params!(sqlx::query_as(&sql), params).fetch_all(pool).await)?;
    // A chat's transcript after its first message (which is the ticket's first message too).
    // Ending a chat updates its ticket's status, so the whole transcript is indexed by then.
    let (params, list) = id_list(db, ids);
    let sql = format!(
        "SELECT chat_id, sender, body FROM chat_messages WHERE chat_id IN ({list}) AND seq > 1 AND sender <> 'system' ORDER BY chat_id, seq"
    );
    let chat_lines: Vec<(i64, String, String)> =
        on_pool!(db, |pool| bind_params!(sqlx::query_as(&sql), params).fetch_all(pool).await)?;
    let mut tags = crate::tickets::load_tags(db, ids).await?;
    let mut threads: HashMap<i64, Vec<(i64, String, String)>> = HashMap::new();
    for (ticket_id, id, kind, body) in messages {
        threads.entry(ticket_id).or_default().push((id, kind, body));
    }
    let mut chats: HashMap<i64, Vec<(String, String)>> = HashMap::new();
    for (chat_id, sender, body) in chat_lines.into_iter().filter(|line| !line.2.is_empty()) {
        chats.entry(chat_id).or_default().push((sender, body));
    }
    Ok(rows
        .into_iter()
        .map(|(id, number, subject, status, requester_id, resolution_id, updated_at, requester)| {
            let thread = threads.remove(&id).unwrap_or_default();
            let chat = chats.remove(&id).unwrap_or_default();
            let joined = |kind: &str| {
                thread
                    .iter()
                    .filter(|m| m.1 == kind)
                    .map(|m| m.2.as_str())
                    .collect::<Vec<_>>()
                    .join("\n\n")
            };
            let chat_text = |from: Option<&str>| {
                chat.iter()
                    .filter(|(sender, _)| from.is_none_or(|f| f == sender))
                    .map(|(_, body)| body.as_str())
                    .collect::<Vec<_>>()
                    .join("\n\n")
            };
            let replies = [joined("reply"), chat_text(None)]
                .into_iter()
                .filter(|t| !t.is_empty())
                .collect::<Vec<_>>()
                .join("\n\n");
            // A chat solved without a written reply: what its agents said is how it was solved.
            let chat_resolution = (status == "solved" && !chat.is_empty())
                .then(|| chat_text(Some("agent")))
                .filter(|t| !t.is_empty());
            TicketDoc {
                id,
                number,
                subject,
                replies,
                notes: joined("note"),
                resolution: resolution_id
                    .and_then(|r| {
                        thread.iter().find(|m| m.0 == r && m.1 == "reply").map(|m| m.2.clone())
                    })
                    .or(chat_resolution)
                    .map(|text| reusable_answer(&text, &[&requester])),
                status,
                requester_id,
                tags: tags.remove(&id).unwrap_or_default(),
                updated_at,
            }
        })
        .collect())
}

/// The search request for what was typed and picked: text cut to a sane length, filters read.
fn request(query: &SearchQuery) -> Result<SearchRequest> {
    let day = |field: &str, text: &str, end: bool| -> Result<Option<i64>> {
        if text.is_empty() {
            return Ok(None);
        }
        let date =
            time::Date::parse(text, time::macros::format_description!("[year]-[month]-[day]"))
                .map_err(|_| Error::invalid(field, "Use a date like 2026-01-31."))?;
        let date = if end { date.next_day().unwrap_or(date) } else { date };
        Ok(Some(date.midnight().assume_utc().unix_timestamp() * 1000))
    };
    let pick = |s: &str| Some(s.trim().to_owned()).filter(|s| !s.is_empty());
    let kind = match query.kind.as_str() {
        "" => None,
        other => Some(
            Kind::from_name(other)
                .ok_or_else(|| Error::invalid("kind", "Pick articles or tickets."))?,
        ),
    };
    Ok(SearchRequest {
        text: query.q.chars().take(MAX_QUERY_CHARS).collect(),
        as_you_type: query.as_you_type,
        kind,
        status: pick(&query.status),
        tag: pick(&query.tag),
        locale: pick(&query.locale),
        updated_from: day("from", &query.from, false)?,
        updated_before: day("to", &query.to, true)?,
        limit: PAGE,
    })
}

fn facet(counts: BTreeMap<String, u64>, keep: usize) -> Vec<FacetCount> {
    let mut out: Vec<FacetCount> =
        counts.into_iter().map(|(value, count)| FacetCount { value, count }).collect();
    out.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.value.cmp(&b.value)));
    out.truncate(keep);
    out
}

fn item(hit: Hit, audience: Audience) -> FoundItem {
    let number = (hit.key.kind == Kind::Ticket).then(|| hit.link.parse().ok()).flatten();
    let url = match (hit.key.kind, audience) {
        (Kind::Article, _) => format!("/help/articles/{}", hit.link),
        (Kind::Ticket, Audience::Agent) => format!("/app/tickets/{}", hit.link),
        (Kind::Ticket, _) => format!("/portal/tickets/{}", hit.link),
    };
    FoundItem {
        kind: hit.key.kind.as_str().to_owned(),
        title: hit.title,
        url,
        number,
        status: hit.status,
        snippet_html: hit.snippet,
        // Indexed answers are already cleaned; this also cleans those indexed before that was so.
        resolution: hit.resolution.map(|text| reusable_answer(&text, &[])),
    }
}

fn found(results: Results, audience: Audience) -> Found {
    let Counts { kind, status, locale, tag, estimated } = results.counts;
    Found {
        items: results.hits.into_iter().map(|h| item(h, audience)).collect(),
        total: results.total,
        kinds: facet(kind, usize::MAX),
        statuses: facet(status, usize::MAX),
        locales: facet(locale, usize::MAX),
        tags: facet(tag, TOP_TAGS),
        counts_estimated: estimated,
    }
}

async fn run(ctx: &AppContext, query: &SearchQuery, audience: Audience) -> Result<Found> {
    let request = request(query)?;
    let results = with_index(ctx, move |index| index.search(&request, audience)).await?;
    if results.total == 0 && !query.as_you_type && audience != Audience::Agent {
        record_miss(ctx, &query.q).await?;
    }
    Ok(found(results, audience))
}

/// Searches everything: articles in any status, tickets with their internal notes.
pub async fn search_as_agent(
    ctx: &AppContext,
    actor: &Agent,
    query: &SearchQuery,
) -> Result<Found> {
    crate::tickets::authorize(actor, crate::tickets::TicketAction::View)?;
    run(ctx, query, Audience::Agent).await
}

/// Searches published articles and, for a signed-in customer (`contact_id`), their own tickets'
/// subjects and public replies.
pub async fn search_public(
    ctx: &AppContext,
    contact_id: Option<i64>,
    query: &SearchQuery,
) -> Result<Found> {
    run(ctx, query, contact_id.map_or(Audience::Public, Audience::Customer)).await
}

/// Solved tickets and articles like ticket `number` (its subject and messages), with their
/// resolutions: answers an agent may reuse.
pub async fn similar(ctx: &AppContext, actor: &Agent, number: i64) -> Result<Vec<FoundItem>> {
    crate::tickets::authorize(actor, crate::tickets::TicketAction::View)?;
    let id = crate::tickets::id_for_number(ctx.db(), number).await?;
    let Some(ticket) = load_tickets(ctx.db(), &[id]).await?.pop() else {
        return Err(Error::NotFound("ticket"));
    };
    let text = format!("{}\n{}\n{}", ticket.subject, ticket.subject, ticket.replies);
    let hits = with_index(ctx, move |index| {
        index.similar(&Similar {
            text: &text,
            exclude: Some(DocKey { kind: Kind::Ticket, id }),
            limit: 5,
        })
    })
    .await?;
    Ok(hits.into_iter().map(|h| item(h, Audience::Agent)).collect())
}

/// Counts a search that found nothing, so admins see what to write.
async fn record_miss(ctx: &AppContext, text: &str) -> Result<()> {
    let normalized = text.split_whitespace().collect::<Vec<_>>().join(" ").to_lowercase();
    if normalized.chars().count() < 3 {
        return Ok(());
    }
    let now = Timestamp::now();
    on_pool!(ctx.db(), |pool| {
        sqlx::query(
        "INSERT INTO search_misses (query, count, last_at) VALUES ($1, 1, $2)
         ON CONFLICT (query) DO UPDATE SET count = search_misses.count + 1, last_at = excluded.last_at"
    )
    .bind(&normalized)
    .bind(now)
    .execute(pool)
    .await.map(drop)
    })?;
    Ok(())
}

/// A past answer as another customer may be sent it: without its greeting ("Hello Lucas,"), its
/// sign-off and signature ("Best regards, ..."), the names of the person it answered, and the
/// email addresses and phone numbers in it.
fn reusable_answer(text: &str, names: &[&str]) -> String {
    const GREETINGS: [&str; 14] = [
        "hi",
        "hello",
        "hey",
        "dear",
        "good morning",
        "good afternoon",
        "good evening",
        "greetings",
        "bonjour",
        "hallo",
        "hola",
        "guten tag",
        "moin",
        "ciao",
    ];
    const SIGN_OFFS: [&str; 14] = [
        "best",
        "best regards",
        "kind regards",
        "regards",
        "warm regards",
        "thanks",
        "thank you",
        "many thanks",
        "cheers",
        "sincerely",
        "yours",
        "all the best",
        "viele grüße",
        "cordialement",
    ];
    let lines: Vec<&str> = text.lines().collect();
    let mut start = 0;
    while start < lines.len() && lines[start].trim().is_empty() {
        start += 1;
    }
    if let Some(first) = lines.get(start) {
        let lower = first.trim().to_lowercase();
        let greets = GREETINGS.iter().any(|g| {
            lower == *g
                || lower.starts_with(&format!("{g} "))
                || lower.starts_with(&format!("{g},"))
                || lower.starts_with(&format!("{g}!"))
        });
        // A greeting line is short and stands alone ("Hello Lucas,"); "Hi, restart the router."
        // is an answer that happens to start with a greeting.
        let alone = lower.ends_with([',', '!', ':']) || GREETINGS.contains(&lower.as_str());
        if greets && alone && lower.chars().count() <= 60 {
            start += 1;
        }
    }
    let mut end = lines.len();
    for (i, line) in lines.iter().enumerate().skip(start) {
        let lower = line.trim().trim_end_matches([',', '.', '!']).to_lowercase();
        if line.trim_end() == "--"
            || line.trim_end() == "-- "
            || SIGN_OFFS.contains(&lower.as_str())
        {
            end = i;
            break;
        }
    }
    let mut kept = lines[start..end.max(start)].join("\n").trim().to_owned();
    // The person's name as written in it (case-sensitive: "Will Page" leaves "the page" alone).
    for name in names.iter().filter(|n| !n.trim().is_empty()) {
        for part in std::iter::once(name.trim())
            .chain(name.split_whitespace().filter(|p| p.chars().count() >= 3))
        {
            kept = replace_word(&kept, part, "there");
        }
    }
    redact_phones(&redact_lines(&kept))
}

/// Runs of digits and phone punctuation holding at least seven digits, replaced by `[phone]`.
fn redact_phones(text: &str) -> String {
    let is_part =
        |c: char| c.is_ascii_digit() || matches!(c, '+' | '-' | '/' | '.' | '(' | ')' | ' ');
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < chars.len() {
        let starts = chars[i].is_ascii_digit() || chars[i] == '+' || chars[i] == '(';
        let preceded_by_word = i > 0 && chars[i - 1].is_alphanumeric();
        if starts && !preceded_by_word {
            let mut j = i;
            while j < chars.len() && is_part(chars[j]) {
                j += 1;
            }
            // Trailing spaces and punctuation belong to the sentence, not the number.
            while j > i && !chars[j - 1].is_ascii_digit() {
                j -= 1;
            }
            let run: String = chars[i..j].iter().collect();
            let digits = run.chars().filter(char::is_ascii_digit).count();
            if digits >= 7 && !starts_like_a_date(&run) {
                out.push_str("[phone]");
                i = j;
                continue;
            }
        }
        out.push(chars[i]);
        i += 1;
    }
    out
}

/// Each line with its email addresses replaced by a placeholder.
fn redact_lines(text: &str) -> String {
    text.lines()
        .map(|line| {
            let mut out = String::with_capacity(line.len());
            for (i, word) in line.split(' ').enumerate() {
                if i > 0 {
                    out.push(' ');
                }
                out.push_str(&redact_contact(word));
            }
            out
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// A word that is an email address, replaced; any other word as it is.
fn redact_contact(word: &str) -> String {
    let core = word.trim_matches(|c: char| {
        matches!(c, '(' | ')' | '<' | '>' | ',' | '.' | ';' | ':' | '!' | '?' | '"' | '\'')
    });
    if core.contains('@') && core.contains('.') && !core.starts_with('@') {
        return word.replace(core, "[email]");
    }
    word.to_owned()
}

/// `text` with whole-word occurrences of `word` (as written) replaced.
fn replace_word(text: &str, word: &str, with: &str) -> String {
    if word.is_empty() {
        return text.to_owned();
    }
    let mut out = String::with_capacity(text.len());
    let mut last = 0;
    for (at, found) in text.match_indices(word) {
        let before = text[..at].chars().next_back();
        let after = text[at + found.len()..].chars().next();
        if at < last
            || before.is_some_and(char::is_alphanumeric)
            || after.is_some_and(char::is_alphanumeric)
        {
            continue;
        }
        out.push_str(&text[last..at]);
        out.push_str(with);
        last = at + found.len();
    }
    out.push_str(&text[last..]);
    out
}

/// Whether a run of digits and punctuation starts like a date (`2024-01-15`, `15/01/2024`,
/// `1.2.2024`), which is no phone number.
fn starts_like_a_date(run: &str) -> bool {
    let groups: Vec<&str> = run.splitn(4, ['-', '/', '.']).take(3).collect();
    let digits = |g: &str, min: usize, max: usize| {
        (min..=max).contains(&g.len()) && g.chars().all(|c| c.is_ascii_digit())
    };
    groups.len() == 3
        && ((digits(groups[0], 4, 4)
            && digits(groups[1], 1, 2)
            && groups[2].get(..2).is_some_and(|g| digits(g, 2, 2)))
            || (digits(groups[0], 1, 2)
                && digits(groups[1], 1, 2)
                && groups[2].get(..4).is_some_and(|g| digits(g, 4, 4))))
}

#[cfg(test)]
mod reuse_tests {
    use super::reusable_answer;

    #[test]
    fn a_reused_answer_loses_the_greeting_sign_off_name_and_contact_details() {
        let reply = "Hello Lucas Schmidt,\n\nRestart the router, then call 0170 1234567 or write to lucas@example.com.\nLucas, it should work then.\n\nBest regards,\nAda\nSupport team";

        let reused = reusable_answer(reply, &["Lucas Schmidt"]);

        assert_eq!(
            reused,
            "Restart the router, then call [phone] or write to [email].\nthere, it should work then."
        );
    }

    #[test]
    fn names_dates_and_greeting_words_in_sentences_survive() {
        let reply = "Hi, restart the router.\nIt will reload the page on 2024-01-15 10:30 or 15/01/2024; O\u{212A} then.";
        assert_eq!(
            reusable_answer(reply, &["Will Page", "O\u{212A}"]),
            "Hi, restart the router.\nIt will reload the page on 2024-01-15 10:30 or 15/01/2024; there then."
        );
    }

    #[test]
    fn an_answer_without_greeting_or_signature_is_kept_whole() {
        let reply = "Open Settings > Billing.\n\nThen choose **Download invoice**.";
        assert_eq!(reusable_answer(reply, &[]), reply);
    }
}
