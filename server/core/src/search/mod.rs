//! What a search shows: hits, counts per filter value, and the query that asked. Shared by the
//! server and the browser; searching lives in [`crate::search`] (over the `frontdesk-search`
//! index).

store! {
    mod service;
    pub use service::*;
}

use serde::{Deserialize, Serialize};

/// One result.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FoundItem {
    /// `article` or `ticket`.
    pub kind: String,
    /// Article title or ticket subject.
    pub title: String,
    /// Where it opens: `/help/articles/SLUG`, `/app/tickets/NUMBER`, `/portal/tickets/NUMBER`.
    pub url: String,
    /// The ticket number, for tickets.
    pub number: Option<i64>,
    /// Article or ticket status.
    pub status: String,
    /// Escaped HTML with the matched words in `<b>`: safe to set as inner HTML.
    pub snippet_html: String,
    /// A solved ticket's resolution, plain text (agents only).
    pub resolution: Option<String>,
}

/// One filter value and how many documents match with it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FacetCount {
    /// The value (`ticket`, `solved`, `en`, a tag).
    pub value: String,
    /// Matching documents.
    pub count: u64,
}

/// A page of results.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Found {
    /// The best hits, best first.
    pub items: Vec<FoundItem>,
    /// How many match with the filters.
    pub total: u64,
    /// Counts per type, before the filters.
    pub kinds: Vec<FacetCount>,
    /// Counts per status, before the filters.
    pub statuses: Vec<FacetCount>,
    /// Counts per locale, before the filters.
    pub locales: Vec<FacetCount>,
    /// Counts per tag (the most common), before the filters.
    pub tags: Vec<FacetCount>,
    /// Whether the total and the counts are estimates: above about 100,000 matches they are scaled
    /// up from a sample.
    #[serde(default)]
    pub counts_estimated: bool,
}

/// What someone typed and picked.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SearchQuery {
    /// The words.
    pub q: String,
    /// Whether the last word may be incomplete.
    #[serde(default)]
    pub as_you_type: bool,
    /// `article` or `ticket`; empty for both.
    #[serde(default)]
    pub kind: String,
    /// A status; empty for any.
    #[serde(default)]
    pub status: String,
    /// A tag; empty for any.
    #[serde(default)]
    pub tag: String,
    /// A locale; empty for any.
    #[serde(default)]
    pub locale: String,
    /// Changed on or after this date (`YYYY-MM-DD`); empty for any.
    #[serde(default)]
    pub from: String,
    /// Changed on or before this date (`YYYY-MM-DD`); empty for any.
    #[serde(default)]
    pub to: String,
}

/// A query nobody found anything for, or an article voted unhelpful: something to write.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContentGap {
    /// The query as typed (normalized), or the article title.
    pub text: String,
    /// `search` or `article`.
    pub source: String,
    /// How many times.
    pub count: i64,
    /// The article's slug, for unhelpful articles.
    pub slug: Option<String>,
}
