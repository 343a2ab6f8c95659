//! The composition root: the one place that knows every domain. [`build`] puts each domain's
//! runtime state on a new [`AppContext`] (the live hub, sign-in and portal limits, the session
//! store, the chat runtime with its writer, the search index); [`start_workers`] starts the
//! background work a serving application does. Both run before anything serves, and everything
//! they start belongs to the context's task set, which stops it at shutdown.
//!
//! The change logs the workers follow, and where each is written:
//! - `search_changes`: by SQL triggers on articles, tickets, messages and tags (see the
//!   migrations), in the transaction of each change; followed by [`crate::search::follow`].
//! - `mail_outbox`: by SQL triggers on ticket messages (agents' public replies on email tickets)
//!   and notifications, and by the mail and portal services, in the transaction of each cause;
//!   followed by [`crate::mail::send_due`].
//! - `sla_dirty`: by the ticket services in Rust ([`crate::tickets`], [`crate::sla`]), in the
//!   transaction of each ticket event that can move an SLA clock; followed by
//!   [`crate::sla::work`].

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use frontdesk_search::{IndexState, SearchIndex};
use tower_sessions::ExpiredDeletion;

use crate::agents::auth::SignInLimits;
use crate::agents::hub::Hub;
use crate::agents::sessions::DbSessionStore;
use crate::chats::{ChatRuntime, ChatSettings};
use crate::error::{Error, Result};
use crate::mail::{IngestTurn, MailSettings, ThreadKey, Transport};
use crate::platform::context::{AppContext, Settings};
use crate::platform::db::Db;
use crate::portal::PortalLimits;

/// What an application is built with, besides its database.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// Settings every service may read.
    pub settings: Settings,
    /// Live chat's limits and timings.
    pub chat: ChatSettings,
    /// Where the search index lives; `None` builds an application without search (commands
    /// that never search, and tests of other domains).
    pub search_dir: Option<PathBuf>,
    /// The email channel: mail servers and limits.
    pub mail: MailSettings,
}

/// A built application context, and whether its search index must be rebuilt.
#[derive(Debug)]
pub struct Built {
    /// The context, with every domain's state.
    pub ctx: AppContext,
    /// The search index's state when it was opened (`None` without search).
    pub search: Option<IndexState>,
}

/// Builds the context over a connected, migrated database: opens the search index and starts
/// the chat writer.
pub async fn build(db: Db, options: Options) -> Result<Built> {
    let Options { settings, chat, search_dir, mail } = options;
    let thread_key = ThreadKey::load(&db).await?;
    let mut builder = AppContext::builder(db.clone(), settings)
        .with(Hub::default())
        .with(mail)
        .with(thread_key)
        .with(Transport::default())
        .with(IngestTurn::default())
        .with(SignInLimits::default())
        .with(PortalLimits::default())
        .with(DbSessionStore::new(db));
    let chats = ChatRuntime::start(builder.db(), chat, builder.tasks());
    builder = builder.with(chats);
    let mut search = None;
    if let Some(dir) = search_dir {
        let (index, state) = crate::search::open(&dir).await?;
        builder = builder.with::<SearchIndex>(index);
        search = Some(state);
    }
    Ok(Built { ctx: builder.build(), search })
}

/// How long the SLA worker rests when it found nothing to do: the bound on how stale a due time
/// or an alarm can be.
const SLA_IDLE: Duration = Duration::from_millis(250);

/// How long the search indexer rests when the change log was empty: with the commit, the bound
/// on how long a change takes to become searchable.
const SEARCH_IDLE: Duration = Duration::from_millis(100);

/// How long the mail sender rests when the outbox had nothing due: the bound on how long a
/// queued email waits before it is sent.
const OUTBOX_IDLE: Duration = Duration::from_millis(250);

/// How often expired sessions are deleted.
const SESSION_CLEANUP_INTERVAL: Duration = Duration::from_secs(60 * 60);

/// Starts what a serving application runs in the background, as tasks of the context: the SLA
/// worker, the search indexer (after rebuilding the index when `search` says so), the mail
/// sender and IMAP readers (when configured) and the deletion of expired sessions.
pub fn start_workers(ctx: &AppContext, search: Option<IndexState>) {
    let tasks = ctx.tasks();
    let sla = ctx.clone();
    tasks.follow("sla", SLA_IDLE, move || {
        let ctx = sla.clone();
        async move { crate::sla::work(&ctx).await }
    });

    if let Some(state) = search {
        let indexer = ctx.clone();
        let incomplete = Arc::new(AtomicBool::new(state == IndexState::NeedsRebuild));
        tasks.follow("search", SEARCH_IDLE, move || {
            let ctx = indexer.clone();
            let incomplete = incomplete.clone();
            async move {
                if incomplete.load(Ordering::Acquire) {
                    tracing::info!("rebuilding the search index");
                    // A failed rebuild is tried again next round: until one succeeds the index
                    // is incomplete, and following changes would not make it whole.
                    let documents = crate::search::rebuild(&ctx, &|_, _| {}).await?;
                    incomplete.store(false, Ordering::Release);
                    tracing::info!(documents, "rebuilt the search index");
                }
                crate::search::follow(&ctx, crate::search::FOLLOW_BATCH).await
            }
        });
    }

    let settings = ctx.part::<MailSettings>();
    if settings.smtp.is_some() {
        let sender = ctx.clone();
        tasks.follow("mail outbox", OUTBOX_IDLE, move || {
            let ctx = sender.clone();
            async move { crate::mail::send_due(&ctx).await.map(|report| report.handled()) }
        });
    }
    for imap in &settings.imap {
        tasks.spawn(crate::mail::poll_forever(ctx.clone(), imap.clone()));
    }

    let sessions = ctx.clone();
    tasks.follow("expired sessions", SESSION_CLEANUP_INTERVAL, move || {
        let ctx = sessions.clone();
        async move {
            ctx.part::<DbSessionStore>()
                .delete_expired()
                .await
                .map(|()| 0)
                .map_err(|e| Error::internal_from("deleting expired sessions failed", e))
        }
    });
}
