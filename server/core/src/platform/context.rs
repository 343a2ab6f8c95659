//! The application context every service call gets: the database, the startup settings, the
//! owned background tasks, and each domain's runtime state ("parts": the live hub, the chat
//! writer, rate limits, the search index). Cheap to clone.
//!
//! The context knows no domain: a domain defines its own state type, the composition root
//! (`crate::app`) puts one of each on the context before anything serves, and the domain finds
//! its state again by type ([`AppContext::part`]). That keeps every domain's state private to it
//! and the imports one-way: domains use the platform, never the other way round.

use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::sync::Arc;

use super::db::Db;
use super::tasks::Tasks;

/// Settings that change how services behave, fixed at startup.
#[derive(Clone, Debug, Default)]
pub struct Settings {
    /// Whether frontdesk is served over HTTPS (cookies are then marked `Secure`).
    pub secure_cookies: bool,
    /// The address customers reach frontdesk at, for links in emails (`https://help.example.com`).
    pub public_url: String,
}

type Part = Arc<dyn Any + Send + Sync>;

/// Everything a service call needs, shared by all requests.
#[derive(Clone)]
pub struct AppContext {
    inner: Arc<Inner>,
}

struct Inner {
    db: Db,
    settings: Settings,
    tasks: Tasks,
    parts: HashMap<TypeId, (&'static str, Part)>,
}

impl std::fmt::Debug for AppContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut parts: Vec<&str> = self.inner.parts.values().map(|(name, _)| *name).collect();
        parts.sort_unstable();
        f.debug_struct("AppContext")
            .field("db", &self.inner.db.backend_name())
            .field("settings", &self.inner.settings)
            .field("parts", &parts)
            .finish_non_exhaustive()
    }
}

impl AppContext {
    /// Starts a context over a connected, migrated database; add the parts, then build.
    pub fn builder(db: Db, settings: Settings) -> Builder {
        Builder { db, settings, tasks: Tasks::default(), parts: HashMap::new() }
    }

    /// The database.
    pub fn db(&self) -> &Db {
        &self.inner.db
    }

    /// Startup settings.
    pub fn settings(&self) -> &Settings {
        &self.inner.settings
    }

    /// The application's background tasks and its shutdown signal.
    pub fn tasks(&self) -> &Tasks {
        &self.inner.tasks
    }

    /// A domain's runtime state.
    ///
    /// # Panics
    ///
    /// When the context was built without it: a wiring mistake in the composition root that
    /// the first test of that domain finds.
    pub fn part<T: Any + Send + Sync>(&self) -> &T {
        self.try_part().unwrap_or_else(|| {
            panic!("{} is not part of this application context", std::any::type_name::<T>())
        })
    }

    /// A domain's runtime state, when the context has it (a command-line tool's context has no
    /// search index, for example).
    pub fn try_part<T: Any + Send + Sync>(&self) -> Option<&T> {
        self.inner.parts.get(&TypeId::of::<T>()).and_then(|(_, part)| part.downcast_ref())
    }

    /// A domain's runtime state as a shared handle, to move into a blocking task.
    pub fn shared_part<T: Any + Send + Sync>(&self) -> Option<Arc<T>> {
        let (_, part) = self.inner.parts.get(&TypeId::of::<T>())?;
        part.clone().downcast().ok()
    }
}

/// A context being assembled.
pub struct Builder {
    db: Db,
    settings: Settings,
    tasks: Tasks,
    parts: HashMap<TypeId, (&'static str, Part)>,
}

impl Builder {
    /// The database, for parts that need it.
    pub fn db(&self) -> &Db {
        &self.db
    }

    /// The task set the context will own, for parts that start tasks.
    pub fn tasks(&self) -> &Tasks {
        &self.tasks
    }

    /// Adds a domain's runtime state (one per type; a second replaces the first).
    pub fn with<T: Any + Send + Sync>(self, part: T) -> Self {
        self.with_shared(Arc::new(part))
    }

    /// Adds a domain's runtime state that is already shared.
    pub fn with_shared<T: Any + Send + Sync>(mut self, part: Arc<T>) -> Self {
        self.parts.insert(TypeId::of::<T>(), (std::any::type_name::<T>(), part));
        self
    }

    /// The finished context.
    pub fn build(self) -> AppContext {
        let Self { db, settings, tasks, parts } = self;
        AppContext { inner: Arc::new(Inner { db, settings, tasks, parts }) }
    }
}
