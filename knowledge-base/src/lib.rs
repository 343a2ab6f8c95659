//! frontdesk's search index: knowledge-base articles and tickets (subject, public replies,
//! internal notes, the resolution of solved tickets) in one tantivy index.
//!
//! This crate owns the schema, the analyzers, writing documents and answering queries, with the
//! reader's visibility enforced inside every query. It knows nothing of the database: the core
//! crate loads documents and follows the change log, and this crate is told what to index.
//!
//! - [`analysis`]: per-language analyzers.
//! - [`index`]: opening (or recreating) the index directory, writing batches, rebuild state.
//! - [`query`]: searching with filters and counts, snippets, and similar solved tickets.

pub mod analysis;
pub mod index;
pub mod query;
mod schema;

pub use index::{IndexState, SearchIndex};
pub use query::{Audience, Counts, Hit, Results, SearchRequest, Similar};

use serde::{Deserialize, Serialize};

/// Every error of this crate: the index could not be opened, written or read.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// tantivy failed.
    #[error("search index: {0}")]
    Index(#[from] tantivy::TantivyError),
    /// The index directory could not be read or written.
    #[error("search index files: {0}")]
    Files(#[from] std::io::Error),
}

/// This crate's result.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What a document is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// A knowledge-base article.
    Article,
    /// A ticket.
    Ticket,
}

impl Kind {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Article => "article",
            Kind::Ticket => "ticket",
        }
    }

    /// The kind named `name`.
    pub fn from_name(name: &str) -> Option<Kind> {
        match name {
            "article" => Some(Kind::Article),
            "ticket" => Some(Kind::Ticket),
            _ => None,
        }
    }
}

/// One document's identity: its kind and database id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct DocKey {
    /// Article or ticket.
    pub kind: Kind,
    /// The row id.
    pub id: i64,
}

impl DocKey {
    /// The indexed form, `article:12`.
    pub fn encode(self) -> String {
        format!("{}:{}", self.kind.as_str(), self.id)
    }

    /// Reads [`DocKey::encode`]'s form back.
    pub fn decode(text: &str) -> Option<DocKey> {
        let (kind, id) = text.split_once(':')?;
        Some(DocKey { kind: Kind::from_name(kind)?, id: id.parse().ok()? })
    }
}

/// A knowledge-base article as indexed.
#[derive(Debug, Clone, PartialEq)]
pub struct ArticleDoc {
    /// Row id.
    pub id: i64,
    /// The article's title.
    pub title: String,
    /// Its markdown body.
    pub body: String,
    /// Its locale (`en`, `de-AT`).
    pub locale: String,
    /// `draft`, `internal` or `published`.
    pub status: String,
    /// Its slug, for links.
    pub slug: String,
    /// Lower-case tags.
    pub tags: Vec<String>,
    /// Last change, milliseconds since the epoch.
    pub updated_at: i64,
}

/// A ticket as indexed.
#[derive(Debug, Clone, PartialEq)]
pub struct TicketDoc {
    /// Row id.
    pub id: i64,
    /// The ticket number, for links and lookups by number.
    pub number: i64,
    /// Its subject.
    pub subject: String,
    /// Every public reply, customer's and agents', in order.
    pub replies: String,
    /// Every internal note: agents only.
    pub notes: String,
    /// The reply marked as the resolution, when solved.
    pub resolution: Option<String>,
    /// The ticket status (`open`, `solved`, ...).
    pub status: String,
    /// The requester's contact id: the one customer who may find it.
    pub requester_id: i64,
    /// Tags.
    pub tags: Vec<String>,
    /// Last change, milliseconds since the epoch.
    pub updated_at: i64,
}

/// A document to index.
#[derive(Debug, Clone, PartialEq)]
pub enum Doc {
    /// An article.
    Article(ArticleDoc),
    /// A ticket.
    Ticket(TicketDoc),
}

impl Doc {
    /// Its identity.
    pub fn key(&self) -> DocKey {
        match self {
            Doc::Article(a) => DocKey { kind: Kind::Article, id: a.id },
            Doc::Ticket(t) => DocKey { kind: Kind::Ticket, id: t.id },
        }
    }
}

#[cfg(test)]
mod tests;
