//! Knowledge-base articles as agents write them: the list, the editor's form values, and the
//! revisions of an article. Shared by the server and the browser; the queries live in
//! [`crate::kb::editor`] (and the public help centre's in [`crate::kb`]).

pub mod help;

store! {
    pub mod editor;
    mod service;
    pub use service::*;
}

use serde::{Deserialize, Serialize};

use crate::platform::time::Timestamp;

named_enum!(
    /// Who may read an article.
    ArticleStatus, "status" {
        /// Being written: agents only.
        Draft = "draft", "Draft";
        /// For agents only.
        Internal = "internal", "Internal";
        /// Public: customers and visitors read it.
        Published = "published", "Published";
    }
);

/// One line of the agents' article list.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArticleSummary {
    /// Database id.
    pub id: i64,
    /// Title.
    pub title: String,
    /// Stable URL part.
    pub slug: String,
    /// Locale like `en` or `pt-BR`.
    pub locale: String,
    /// Who may read it.
    pub status: ArticleStatus,
    /// Its category's name, if any.
    pub category: Option<String>,
    /// Who saved the current version; `None` when it came from an import.
    pub author: Option<String>,
    /// When the current version was saved.
    pub updated_at: Timestamp,
}

/// An article as the editor's form holds it: text as typed, so a rejected save gives every
/// value back unchanged.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArticleDraft {
    /// Title.
    pub title: String,
    /// Stable URL part; empty on a new article means "from the title".
    pub slug: String,
    /// Locale like `en` or `pt-BR`.
    pub locale: String,
    /// Category name: an existing one, or a new one to create; empty for none.
    pub category: String,
    /// Tags, comma-separated.
    pub tags: String,
    /// `draft`, `internal` or `published`.
    pub status: String,
    /// Markdown body.
    pub body: String,
}

/// An earlier version of an article: who wrote it and when.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Revision {
    /// Database id.
    pub id: i64,
    /// Its title then.
    pub title: String,
    /// The agent who wrote it; `None` when it came from an import.
    pub author: Option<String>,
    /// When it was written.
    pub created_at: Timestamp,
}

/// An article opened in the editor, with its history.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EditableArticle {
    /// Database id.
    pub id: i64,
    /// The current version as form values.
    pub draft: ArticleDraft,
    /// Who saved the current version; `None` when it came from an import.
    pub author: Option<String>,
    /// When the current version was saved.
    pub updated_at: Timestamp,
    /// Earlier versions, newest first.
    pub revisions: Vec<Revision>,
}
