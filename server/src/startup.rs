//! Building and running the application: connect and migrate the database, bind the listener
//! (port 0 works, for tests), assemble the router, start background tasks, and shut everything
//! down gracefully.

use anyhow::Context;
use frontdesk_core::{AppContext, Settings};
use frontdesk_search::IndexState;
use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::net::TcpListener;
use tower_sessions::ExpiredDeletion;

use crate::config::Config;
use crate::http;

/// How often expired sessions are deleted.
const SESSION_CLEANUP_INTERVAL: Duration = Duration::from_secs(60 * 60);

/// A built application, bound to its port, not yet serving.
pub struct Application {
    listener: TcpListener,
    router: axum::Router,
    ctx: AppContext,
    search_state: IndexState,
}

impl Application {
    /// Connects and migrates the database, binds the listen address, builds the router.
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        let db = config.database.clone().connect().await?;
        db.migrate().await?;
        let listener = TcpListener::bind(config.listen)
            .await
            .with_context(|| format!("cannot listen on {}", config.listen))?;
        let public_url = match config.listen.port() {
            // Port 0 (tests) is only known once bound.
            0 => config.public_url.replace(":0", &format!(":{}", listener.local_addr()?.port())),
            _ => config.public_url.clone(),
        };
        let ctx = AppContext::new(
            db,
            Settings {
                secure_cookies: config.secure_cookies,
                public_url,
                chat: config.chat.clone(),
            },
        );
        if let Some(report) = frontdesk_core::kb::load_starter(&ctx).await? {
            tracing::info!(articles = report.created, "loaded the starter knowledge base");
        }
        let search_state = frontdesk_core::search::open(&ctx, &config.search_dir()).await?;
        if !config.site_dir.join("pkg").is_dir() {
            tracing::warn!(site_dir = %config.site_dir.display(),
                "web assets not found: pages will render but not hydrate; build them with `cargo xtask build`");
        }
        let router = http::router(ctx.clone(), &config);
        Ok(Self { listener, router, ctx, search_state })
    }

    /// The address actually bound (the real port when 0 was asked for).
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// The application context, for tests and commands that act beside the server.
    pub fn context(&self) -> &AppContext {
        &self.ctx
    }

    /// Serves until `shutdown` resolves, then lets open requests finish and closes the database.
    pub async fn run_until(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let addr = self.local_addr()?;
        tracing::info!(%addr, database = self.ctx.db().backend_name(), "frontdesk is listening on http://{addr}");
        let cleanup = tokio::spawn(delete_expired_sessions(self.ctx.clone()));
        let sla = tokio::spawn(run_sla_worker(self.ctx.clone()));
        let search = tokio::spawn(run_search_worker(self.ctx.clone(), self.search_state));
        let service = self.router.into_make_service_with_connect_info::<SocketAddr>();
        let served = axum::serve(self.listener, service).with_graceful_shutdown(shutdown).await;
        cleanup.abort();
        // Aborting mid-transaction rolls it back; the worker's marks and alarms are durable.
        sla.abort();
        let _ = tokio::join!(cleanup, sla);
        // The change log keeps whatever the indexer had not committed yet. Waiting for the task
        // to end releases the index's writer lock before `run_until` returns.
        search.abort();
        let _ = search.await;
        self.ctx.db().close().await;
        tracing::info!("frontdesk stopped");
        served.context("the HTTP server failed")
    }
}

/// How long the SLA worker rests when it found nothing to do: the bound on how stale a due time
/// or an alarm can be.
const SLA_IDLE: Duration = Duration::from_millis(250);

/// Keeps SLA state fresh and fires due warnings and breaches (see `frontdesk_core::sla`).
async fn run_sla_worker(ctx: AppContext) {
    loop {
        match frontdesk_core::sla::work(&ctx).await {
            Ok(0) => tokio::time::sleep(SLA_IDLE).await,
            Ok(_) => tokio::task::yield_now().await,
            Err(e) => {
                tracing::warn!(error = %e, "the SLA worker failed; retrying");
                tokio::time::sleep(SLA_IDLE * 4).await;
            }
        }
    }
}

/// How long the search indexer rests when the change log was empty: with the commit, the bound
/// on how long a change takes to become searchable.
const SEARCH_IDLE: Duration = Duration::from_millis(100);

/// Rebuilds the search index when it is not complete, then keeps it in step with the database.
async fn run_search_worker(ctx: AppContext, state: IndexState) {
    if state == IndexState::NeedsRebuild {
        tracing::info!("rebuilding the search index");
        loop {
            match frontdesk_core::search::rebuild(&ctx, &|_, _| {}).await {
                Ok(n) => {
                    tracing::info!(documents = n, "rebuilt the search index");
                    break;
                }
                Err(e) => {
                    tracing::warn!(error = %e, "rebuilding the search index failed; retrying");
                    tokio::time::sleep(SEARCH_IDLE * 50).await;
                }
            }
        }
    }
    loop {
        match frontdesk_core::search::follow(&ctx, frontdesk_core::search::FOLLOW_BATCH).await {
            Ok(0) => tokio::time::sleep(SEARCH_IDLE).await,
            Ok(_) => tokio::task::yield_now().await,
            Err(e) => {
                tracing::warn!(error = %e, "the search indexer failed; retrying");
                tokio::time::sleep(SEARCH_IDLE * 10).await;
            }
        }
    }
}

/// Deletes expired sessions now and then; a failure is logged and retried next time.
async fn delete_expired_sessions(ctx: AppContext) {
    let mut interval = tokio::time::interval(SESSION_CLEANUP_INTERVAL);
    loop {
        interval.tick().await;
        if let Err(e) = ctx.sessions().delete_expired().await {
            tracing::warn!(error = %e, "deleting expired sessions failed");
        }
    }
}
