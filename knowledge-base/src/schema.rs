//! The index schema and how a [`Doc`] becomes a tantivy document.
//!
//! Text fields are indexed pre-tokenized (each document in its own language) and not stored; the
//! `*_text` fields store the original text for snippets. Everything a filter or a count reads is
//! a raw string or integer with a fast column.

use crate::analysis::{Lang, tokens};
use crate::{Doc, Kind};
use tantivy::TantivyDocument;
use tantivy::schema::{
    FAST, Field, INDEXED, IndexRecordOption, STORED, STRING, Schema, TextFieldIndexing, TextOptions,
};
use tantivy::tokenizer::PreTokenizedString;

/// Bumped whenever the schema, the analysis or what is indexed changes: an index of another
/// version is rebuilt. 2: articles are indexed as plain text, without markdown syntax.
pub const VERSION: u32 = 2;

/// The fields, resolved once.
#[derive(Debug, Clone, Copy)]
pub struct Fields {
    pub key: Field,
    pub kind: Field,
    pub title: Field,
    pub body: Field,
    pub notes: Field,
    pub resolution: Field,
    pub title_text: Field,
    pub body_text: Field,
    pub resolution_text: Field,
    pub locale: Field,
    pub status: Field,
    pub tag: Field,
    pub owner: Field,
    pub updated: Field,
    pub link: Field,
}

/// Builds the schema and its fields.
pub fn build() -> (Schema, Fields) {
    let mut b = Schema::builder();
    let text = TextOptions::default().set_indexing_options(
        TextFieldIndexing::default().set_index_option(IndexRecordOption::WithFreqsAndPositions),
    );
    let raw = STRING | STORED | FAST;
    let fields = Fields {
        key: b.add_text_field("key", STRING | STORED),
        kind: b.add_text_field("kind", raw.clone()),
        title: b.add_text_field("title", text.clone()),
        body: b.add_text_field("body", text.clone()),
        notes: b.add_text_field("notes", text.clone()),
        resolution: b.add_text_field("resolution", text),
        title_text: b.add_text_field("title_text", STORED),
        body_text: b.add_text_field("body_text", STORED),
        resolution_text: b.add_text_field("resolution_text", STORED),
        locale: b.add_text_field("locale", raw.clone()),
        status: b.add_text_field("status", raw.clone()),
        tag: b.add_text_field("tag", raw),
        owner: b.add_i64_field("owner", INDEXED | STORED),
        updated: b.add_i64_field("updated", INDEXED | FAST | STORED),
        link: b.add_text_field("link", STRING | STORED),
    };
    (b.build(), fields)
}

fn analyzed(lang: Lang, text: &str) -> PreTokenizedString {
    PreTokenizedString { text: text.to_owned(), tokens: tokens(lang, text) }
}

impl Fields {
    /// The tantivy document for `doc`.
    pub fn document(&self, doc: &Doc) -> TantivyDocument {
        let mut d = TantivyDocument::default();
        d.add_text(self.key, doc.key().encode());
        match doc {
            Doc::Article(a) => {
                let lang = Lang::of_locale(&a.locale);
                d.add_text(self.kind, Kind::Article.as_str());
                d.add_pre_tokenized_text(self.title, analyzed(lang, &a.title));
                d.add_pre_tokenized_text(self.body, analyzed(lang, &a.body));
                d.add_text(self.title_text, &a.title);
                d.add_text(self.body_text, &a.body);
                d.add_text(self.locale, &a.locale);
                d.add_text(self.status, &a.status);
                d.add_i64(self.owner, -1);
                d.add_i64(self.updated, a.updated_at);
                d.add_text(self.link, &a.slug);
                for tag in &a.tags {
                    d.add_text(self.tag, tag);
                }
            }
            Doc::Ticket(t) => {
                let lang = Lang::ENGLISH;
                d.add_text(self.kind, Kind::Ticket.as_str());
                d.add_pre_tokenized_text(self.title, analyzed(lang, &t.subject));
                d.add_pre_tokenized_text(self.body, analyzed(lang, &t.replies));
                d.add_pre_tokenized_text(self.notes, analyzed(lang, &t.notes));
                d.add_text(self.title_text, &t.subject);
                d.add_text(self.body_text, &t.replies);
                if let Some(resolution) = &t.resolution {
                    d.add_pre_tokenized_text(self.resolution, analyzed(lang, resolution));
                    d.add_text(self.resolution_text, resolution);
                }
                d.add_text(self.locale, "en");
                d.add_text(self.status, &t.status);
                d.add_i64(self.owner, t.requester_id);
                d.add_i64(self.updated, t.updated_at);
                d.add_text(self.link, t.number.to_string());
                for tag in &t.tags {
                    d.add_text(self.tag, tag);
                }
            }
        }
        d
    }
}
