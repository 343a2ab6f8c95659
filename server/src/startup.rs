//! Building and running the application: connect and migrate the database, bind the listener
//! (port 0 works, for tests), assemble the router, start background tasks, and shut everything
//! down gracefully.

use anyhow::Context;
use frontdesk_core::AppContext;
use frontdesk_core::app::{self, Options};
use frontdesk_core::platform::context::Settings;
use frontdesk_search::IndexState;
use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::net::TcpListener;

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

    /// Starts the background workers and serves until `shutdown` resolves. Then, in order: stops
    /// taking connections and lets open requests finish; signals every task (sockets say
    /// goodbye, workers stop between rounds, the chat writer commits and acks what it accepted);
    /// waits for them up to [`SHUTDOWN_GRACE`]; and closes the database.
    pub async fn run_until(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let addr = self.local_addr()?;
        tracing::info!(%addr, database = self.ctx.db().backend_name(), "frontdesk is listening on http://{addr}");
        app::start_workers(&self.ctx, self.search);
        let service = self.router.into_make_service_with_connect_info::<SocketAddr>();
        let served = axum::serve(self.listener, service).with_graceful_shutdown(shutdown).await;
        tracing::info!("frontdesk is stopping");
        let abandoned = self.ctx.tasks().shut_down(SHUTDOWN_GRACE).await;
        if abandoned > 0 {
            tracing::warn!(tasks = abandoned, "some tasks did not finish within the grace period");
        }
        self.ctx.db().close().await;
        tracing::info!("frontdesk stopped");
        served.context("the HTTP server failed")
    }
}
