//! The application context every request handler and server function gets: the database, the
//! session store, rate limits and settings. Cheap to clone.

use std::sync::Arc;

use crate::auth::SignInLimits;
use crate::db::Db;
use crate::sessions::DbSessionStore;

/// Settings that change how services behave, fixed at startup.
#[derive(Clone, Debug, Default)]
pub struct Settings {
    /// Whether frontdesk is served over HTTPS (cookies are then marked `Secure`).
    pub secure_cookies: bool,
    /// The address customers reach frontdesk at, for links in emails (`https://help.example.com`).
    pub public_url: String,
    /// Live chat limits and timings.
    pub chat: crate::chats::ChatSettings,
}

/// Everything a service call needs, shared by all requests.
#[derive(Clone, Debug)]
pub struct AppContext {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    db: Db,
    sessions: DbSessionStore,
    sign_in_limits: SignInLimits,
    portal_limits: crate::portal::PortalLimits,
    hub: crate::live::Hub,
    settings: Settings,
    search: std::sync::OnceLock<Arc<frontdesk_search::SearchIndex>>,
    chat_hub: Arc<crate::chats::ChatHub>,
    chat_limits: crate::chats::ChatLimits,
    chat_writer: std::sync::OnceLock<crate::chats::Writer>,
    chat_routing: tokio::sync::Mutex<()>,
}

impl AppContext {
    /// A context over a connected, migrated database.
    pub fn new(db: Db, settings: Settings) -> Self {
        Self {
            inner: Arc::new(Inner {
                sessions: DbSessionStore::new(db.clone()),
                db,
                sign_in_limits: SignInLimits::default(),
                portal_limits: crate::portal::PortalLimits::default(),
                hub: crate::live::Hub::default(),
                chat_hub: Arc::new(crate::chats::ChatHub::new()),
                chat_limits: crate::chats::ChatLimits::new(&settings.chat),
                chat_writer: std::sync::OnceLock::new(),
                chat_routing: tokio::sync::Mutex::new(()),
                settings,
                search: std::sync::OnceLock::new(),
            }),
        }
    }

    /// The database.
    pub fn db(&self) -> &Db {
        &self.inner.db
    }

    /// The session store (the same database).
    pub fn sessions(&self) -> &DbSessionStore {
        &self.inner.sessions
    }

    /// Sign-in rate limits.
    pub fn sign_in_limits(&self) -> &SignInLimits {
        &self.inner.sign_in_limits
    }

    /// Customer portal rate limits.
    pub fn portal_limits(&self) -> &crate::portal::PortalLimits {
        &self.inner.portal_limits
    }

    /// The live-update hub.
    pub fn hub(&self) -> &crate::live::Hub {
        &self.inner.hub
    }

    /// The live chat hub: per-chat channels and agent availability.
    pub fn chat_hub(&self) -> &crate::chats::ChatHub {
        &self.inner.chat_hub
    }

    /// The widget's rate limits.
    pub fn chat_limits(&self) -> &crate::chats::ChatLimits {
        &self.inner.chat_limits
    }

    /// The chat writer, started on first use (it needs a running Tokio runtime).
    pub(crate) fn chat_writer(&self) -> &crate::chats::Writer {
        self.inner.chat_writer.get_or_init(|| {
            crate::chats::Writer::start(self.inner.db.clone(), self.inner.chat_hub.clone())
        })
    }

    /// Held while chats are created and routed, so routing decisions never interleave.
    pub(crate) fn chat_routing(&self) -> &tokio::sync::Mutex<()> {
        &self.inner.chat_routing
    }

    /// Startup settings.
    pub fn settings(&self) -> &Settings {
        &self.inner.settings
    }

    /// Attaches the open search index (once; later calls are ignored).
    pub fn attach_search(&self, index: Arc<frontdesk_search::SearchIndex>) {
        let _ = self.inner.search.set(index);
    }

    /// The search index, once attached.
    pub fn search_index(&self) -> Option<Arc<frontdesk_search::SearchIndex>> {
        self.inner.search.get().cloned()
    }
}
