//! What the public help centre (`/help`) shows: published knowledge-base articles only, by
//! category. Shared by the server and the browser; the queries live in [`crate::kb`].

use serde::{Deserialize, Serialize};

use crate::platform::time::Timestamp;

/// A link to an article.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArticleLink {
    /// Its stable URL part.
    pub slug: String,
    /// Its title.
    pub title: String,
}

/// A category and its published articles, in title order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HelpCategory {
    /// Name.
    pub name: String,
    /// Stable URL part.
    pub slug: String,
    /// Its articles.
    pub articles: Vec<ArticleLink>,
}

/// One published article, rendered.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HelpArticle {
    /// Stable URL part.
    pub slug: String,
    /// Title.
    pub title: String,
    /// The body as sanitized HTML (scripts, event handlers and `javascript:` links removed).
    pub html: String,
    /// Its category, if any.
    pub category: Option<(String, String)>,
    /// Tags.
    pub tags: Vec<String>,
    /// Last changed.
    pub updated_at: Timestamp,
}
