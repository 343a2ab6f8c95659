//! Building and running the application: connect and migrate the database, bind the listener
//! (port 0 works, for tests), assemble the router, start background tasks, and shut everything
//! down gracefully.

use anyhow::Context;
use frontdesk_core::AppContext;
use frontdesk_core::app::{self, Options};
use frontdesk_core::platform::context::Settings;
use frontdesk_search::IndexState;
use std::future::{Future, IntoFuture};
use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::time::Instant;

use crate::config::Config;
use crate::http;

/// How long shutdown waits for open requests, sockets and background work to finish before the
/// database is closed anyway.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// A built application, bound to its port, not yet serving.
pub struct Application {
    listener: TcpListener,
    router: axum::Router,
    ctx: AppContext,
    search: Option<IndexState>,
}

impl Application {
    /// Connects and migrates the database, builds every domain's state (the search index, the
    /// chat writer), binds the listen address and builds the router.
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
        let options = Options {
            settings: Settings { secure_cookies: config.secure_cookies, public_url },
            chat: config.chat.clone(),
            search_dir: Some(config.search_dir()),
            mail: config.mail.clone(),
        };
        let app::Built { ctx, search } = app::build(db, options).await?;
        if let Some(report) = frontdesk_core::kb::load_starter(&ctx).await? {
            tracing::info!(articles = report.created, "loaded the starter knowledge base");
        }
        if !config.site_dir.join("pkg").is_dir() {
            tracing::warn!(site_dir = %config.site_dir.display(),
                "web assets not found: pages will render but not hydrate; build them with `cargo xtask build`");
        }
        let router = http::router(ctx.clone(), &config);
        Ok(Self { listener, router, ctx, search })
    }

    /// The address actually bound (the real port when 0 was asked for).
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// The application context, for tests and commands that act beside the server.
    pub fn context(&self) -> &AppContext {
        &self.ctx
    }

    /// Starts the background workers and serves until `shutdown` resolves. Then, within
    /// [`SHUTDOWN_GRACE`] in all: stops taking connections and signals every task at once (open
    /// requests finish; sockets answer what they took and say goodbye; workers stop between
    /// rounds; the chat writer commits and acks what it accepted); waits for both; and closes
    /// the database.
    pub async fn run_until(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let addr = self.local_addr()?;
        tracing::info!(%addr, database = self.ctx.db().backend_name(), "frontdesk is listening on http://{addr}");
        app::start_workers(&self.ctx, self.search);
        let tasks = self.ctx.tasks().clone();
        let signalled_at = Arc::new(OnceLock::new());
        let (signalled, stopping) = tokio::sync::oneshot::channel::<()>();
        let service = self.router.into_make_service_with_connect_info::<SocketAddr>();
        let serve = axum::serve(self.listener, service).with_graceful_shutdown({
            let signalled_at = signalled_at.clone();
            async move {
                shutdown.await;
                tracing::info!("frontdesk is stopping");
                signalled_at.get_or_init(Instant::now);
                tasks.stop();
                let _ = signalled.send(());
            }
        });
        // Everything gets the grace period, counted from the signal, and no longer.
        let deadline = || signalled_at.get().map_or_else(Instant::now, |at| *at + SHUTDOWN_GRACE);
        let overdue = async {
            match stopping.await {
                Ok(()) => tokio::time::sleep_until(deadline()).await,
                Err(_) => std::future::pending().await,
            }
        };
        let served = tokio::select! {
            served = serve.into_future() => served,
            () = overdue => {
                tracing::warn!("open requests did not finish within the grace period");
                Ok(())
            }
        };
        let left = deadline().saturating_duration_since(Instant::now());
        let abandoned = self.ctx.tasks().shut_down(left).await;
        if abandoned > 0 {
            tracing::warn!(tasks = abandoned, "some tasks did not finish within the grace period");
        }
        self.ctx.db().close().await;
        tracing::info!("frontdesk stopped");
        served.context("the HTTP server failed")
    }
}
