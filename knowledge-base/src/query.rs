//! Answering searches: the reader's visibility inside the query, BM25 with a title boost, quoted
//! phrases, typo tolerance, prefix matching of the last word while typing, filters, counts per
//! filter value, highlighted snippets, and "similar solved tickets and articles" for a ticket.
//!
//! A search with many matches counts them from a sample, and finds its top hits with block-WAND
//! over its words, which skips what cannot reach them; when common words only rank, among the
//! best matches of its rarer words. Only a search with a phrase scores every match.

use crate::analysis::{Lang, folded, tokens};
use crate::index::SearchIndex;
use crate::{DocKey, Kind, Result};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use std::ops::Bound;
use tantivy::collector::{Count, TopDocs};
use tantivy::columnar::StrColumn;
use tantivy::index::SegmentReader;
use tantivy::query::{
    BooleanQuery, BoostQuery, DfaWrapper, EnableScoring, FuzzyTermQuery, Occur, PhraseQuery, Query,
    RangeQuery, TermQuery,
};
use tantivy::schema::{Field, IndexRecordOption, Value};
use tantivy::snippet::SnippetGenerator;
use tantivy::{
    COLLECT_BLOCK_BUFFER_LEN, DocAddress, DocSet, Score, Searcher, TERMINATED, TantivyDocument,
    Term,
};

/// Who is searching: decides which documents and fields the query may touch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Audience {
    /// Anyone: published articles only.
    Public,
    /// A signed-in customer (contact id): published articles, and their own tickets' subjects
    /// and public replies.
    Customer(i64),
    /// An agent: everything, internal notes included.
    Agent,
}

/// A search: the words typed, who types them, and the filters picked.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SearchRequest {
    /// Words; `"quoted words"` must appear as a phrase.
    pub text: String,
    /// Whether the last word may still be incomplete (search as you type).
    pub as_you_type: bool,
    /// Only this kind.
    pub kind: Option<Kind>,
    /// Only this status.
    pub status: Option<String>,
    /// Only documents with this tag.
    pub tag: Option<String>,
    /// Only this locale.
    pub locale: Option<String>,
    /// Changed at or after (milliseconds since the epoch).
    pub updated_from: Option<i64>,
    /// Changed before (milliseconds since the epoch).
    pub updated_before: Option<i64>,
    /// At most this many hits.
    pub limit: usize,
}

/// One result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Hit {
    /// The document.
    pub key: DocKey,
    /// Article title or ticket subject.
    pub title: String,
    /// The article slug or the ticket number.
    pub link: String,
    /// Article or ticket status.
    pub status: String,
    /// Locale.
    pub locale: String,
    /// HTML: escaped text with the matched words in `<b>`.
    pub snippet: String,
    /// A solved ticket's resolution (agents only), plain text.
    pub resolution: Option<String>,
    /// BM25 score.
    pub score: f32,
}

/// Counts of matching documents per filter value, before the filters are applied.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Counts {
    /// Per kind.
    pub kind: BTreeMap<String, u64>,
    /// Per status.
    pub status: BTreeMap<String, u64>,
    /// Per locale.
    pub locale: BTreeMap<String, u64>,
    /// Per tag.
    pub tag: BTreeMap<String, u64>,
    /// Whether the counts were scaled up from a sample of the matches (see [`Effort::count_exactly`]).
    pub estimated: bool,
}

/// A page of results.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Results {
    /// The best hits, best first.
    pub hits: Vec<Hit>,
    /// How many documents match with the filters; without filters, an estimate when the counts
    /// are ([`Counts::estimated`]).
    pub total: u64,
    /// How many match per filter value, without the filters.
    pub counts: Counts,
}

/// What to find similar documents for.
#[derive(Debug, Clone, PartialEq)]
pub struct Similar<'a> {
    /// The ticket's subject and messages.
    pub text: &'a str,
    /// The ticket itself, left out of the results.
    pub exclude: Option<DocKey>,
    /// At most this many.
    pub limit: usize,
}

/// Boosts per text field: a match in the title counts most.
const TITLE_BOOST: f32 = 2.5;
const RESOLUTION_BOOST: f32 = 1.3;
const NOTES_BOOST: f32 = 0.6;
/// A typo-tolerant or prefix match counts less than the word itself.
const FUZZY_FACTOR: f32 = 0.35;
/// A word the index does not know stands for at most this many of its commonest words one or
/// two letters away: scored like any word, and cheap to rank.
const TYPO_EXPANSIONS: usize = 3;
/// The word being typed stands for at most this many of the commonest words it starts.
const PREFIX_EXPANSIONS: usize = 10;
/// A word found in fewer than one document in this many may be a typo, so it is also matched
/// with one or two letters changed; a word the index knows well is taken as typed (which also
/// spares expanding the commonest words into thousands of neighbours).
const RARE_PER: u64 = 10_000;
/// In a small index, a word counts as rare below this many documents.
const RARE_AT_LEAST: u64 = 2;
/// A word found in at least one document in this many (and in at least [`COMMON_AT_LEAST`]) is
/// common: like a stop word of this index, it ranks the documents that match the query's rarer
/// words but does not make a document match on its own.
const COMMON_PER: u64 = 10;
/// A word is common only in at least this many documents: small indexes, cheap to scan whole,
/// keep every word.
const COMMON_AT_LEAST: u64 = 5_000;
const SNIPPET_CHARS: usize = 180;
/// Statuses of a ticket whose resolution may answer someone else.
const DONE_STATUSES: [&str; 2] = ["solved", "closed"];

/// A word of a text field, scored by how often it occurs.
fn word_term(field: Field, text: &str) -> Box<dyn Query> {
    Box::new(TermQuery::new(Term::from_field_text(field, text), IndexRecordOption::WithFreqs))
}

fn raw_term(field: Field, value: &str) -> Box<dyn Query> {
    Box::new(TermQuery::new(Term::from_field_text(field, value), IndexRecordOption::Basic))
}

fn boosted(query: Box<dyn Query>, boost: f32) -> Box<dyn Query> {
    if (boost - 1.0).abs() < f32::EPSILON { query } else { Box::new(BoostQuery::new(query, boost)) }
}

fn all(clauses: Vec<Box<dyn Query>>) -> Box<dyn Query> {
    Box::new(BooleanQuery::new(clauses.into_iter().map(|q| (Occur::Must, q)).collect()))
}

fn any(clauses: Vec<Box<dyn Query>>) -> Box<dyn Query> {
    Box::new(BooleanQuery::new(clauses.into_iter().map(|q| (Occur::Should, q)).collect()))
}

/// The query for the typed words.
struct TextQuery {
    /// What matches, and how it ranks.
    query: Box<dyn Query>,
    /// When common words only rank: the rarer words in titles and bodies, a plain union whose
    /// best matches (found by block-WAND) are the candidates to rank with every word.
    rarer: Option<Box<dyn Query>>,
    /// The analyzed words per language, for snippets.
    terms: HashMap<Lang, Vec<String>>,
}

/// The typed words' terms, split by how common they are.
struct WordClauses {
    /// Terms of rarer words: a match needs one of them.
    rarer: Vec<Box<dyn Query>>,
    /// The same in titles and bodies only: where the best matches of many are looked for.
    rarer_in_text: Vec<Box<dyn Query>>,
    /// Terms of common words: they rank matches.
    common: Vec<Box<dyn Query>>,
    /// Whether some rarer term is in the index.
    rarer_found: bool,
    /// A word in this many documents or more is common.
    common_at: u64,
}

impl WordClauses {
    /// `text` (in `docs` documents) in each of `fields`, its boosts scaled by `factor`.
    fn add(
        &mut self,
        text: &str,
        docs: u64,
        fields: &[(Field, f32)],
        factor: f32,
        may_be_common: bool,
    ) {
        let terms =
            fields.iter().map(|&(field, boost)| boosted(word_term(field, text), boost * factor));
        if may_be_common && docs >= self.common_at {
            self.common.extend(terms);
        } else {
            self.rarer_found |= docs > 0;
            self.rarer.extend(terms);
            self.rarer_in_text.extend(
                fields
                    .iter()
                    .take(2)
                    .map(|&(field, boost)| boosted(word_term(field, text), boost * factor)),
            );
        }
    }
}

/// A piece of the typed text.
enum Piece {
    Word(String),
    Phrase(String),
}

fn pieces(text: &str) -> Vec<Piece> {
    let mut out = Vec::new();
    for (i, part) in text.split('"').enumerate() {
        if i % 2 == 1 {
            if !part.trim().is_empty() {
                out.push(Piece::Phrase(part.to_owned()));
            }
        } else {
            out.extend(part.split_whitespace().map(|w| Piece::Word(w.to_owned())));
        }
    }
    out
}

impl SearchIndex {
    fn text_fields(&self, audience: Audience) -> Vec<(Field, f32)> {
        let f = &self.fields;
        let mut fields = vec![(f.title, TITLE_BOOST), (f.body, 1.0)];
        if audience == Audience::Agent {
            fields.extend([(f.resolution, RESOLUTION_BOOST), (f.notes, NOTES_BOOST)]);
        }
        fields
    }

    /// Up to `limit` words of the titles and bodies that `automaton` accepts, other than
    /// `except`, the commonest first, with how many documents hold each: what a misspelled word
    /// or a word's start stands for.
    fn expansions(
        &self,
        searcher: &Searcher,
        automaton: &DfaWrapper,
        except: &str,
        limit: usize,
    ) -> Result<Vec<(String, u64)>> {
        let mut found: HashMap<Vec<u8>, u64> = HashMap::new();
        for segment in searcher.segment_readers() {
            for field in [self.fields.title, self.fields.body] {
                let inverted = segment.inverted_index(field)?;
                let mut terms = inverted.terms().search(automaton).into_stream()?;
                while terms.advance() {
                    *found.entry(terms.key().to_vec()).or_default() +=
                        u64::from(terms.value().doc_freq);
                }
            }
        }
        let mut found: Vec<(String, u64)> = found
            .into_iter()
            .filter_map(|(word, docs)| String::from_utf8(word).ok().map(|word| (word, docs)))
            .filter(|(word, _)| word != except)
            .collect();
        found.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        found.truncate(limit);
        Ok(found)
    }

    fn langs(&self) -> Vec<Lang> {
        self.langs.read().unwrap_or_else(|e| e.into_inner()).iter().copied().collect()
    }

    /// The query for the typed words; `None` when there are none.
    fn text_query(
        &self,
        searcher: &Searcher,
        request: &SearchRequest,
        audience: Audience,
    ) -> Result<Option<TextQuery>> {
        let langs = self.langs();
        let f = &self.fields;
        // A word the index knows well is taken as typed; typo tolerance is for the rest.
        let rare = (searcher.num_docs() / RARE_PER).max(RARE_AT_LEAST);
        let common = (searcher.num_docs() / COMMON_PER).max(COMMON_AT_LEAST);
        let doc_freq = |text: &str| -> Result<u64> {
            let mut docs = 0;
            for field in [f.title, f.body] {
                docs += searcher.doc_freq(&Term::from_field_text(field, text))?;
            }
            Ok(docs)
        };
        let fields = self.text_fields(audience);
        let mut terms_by_lang: HashMap<Lang, Vec<String>> = HashMap::new();
        let mut words = WordClauses {
            rarer: Vec::new(),
            rarer_in_text: Vec::new(),
            common: Vec::new(),
            rarer_found: false,
            common_at: common,
        };
        let mut phrases: Vec<Box<dyn Query>> = Vec::new();
        let pieces = pieces(&request.text);
        let last = pieces.len().saturating_sub(1);
        let typing = request.as_you_type && !request.text.ends_with(char::is_whitespace);
        for (i, piece) in pieces.iter().enumerate() {
            match piece {
                Piece::Word(word) => {
                    let mut seen = Vec::new();
                    // The word being typed is incomplete: never set aside as common.
                    let may_be_common = !(i == last && typing);
                    for &lang in &langs {
                        for token in tokens(lang, word) {
                            terms_by_lang.entry(lang).or_default().push(token.text.clone());
                            if seen.contains(&token.text) {
                                continue;
                            }
                            let len = token.text.chars().count();
                            let docs = doc_freq(&token.text)?;
                            words.add(&token.text, docs, &fields, 1.0, may_be_common);
                            if len >= 4 && docs < rare {
                                let distance = if len >= 8 { 2 } else { 1 };
                                let automaton = FuzzyTermQuery::new(
                                    Term::from_field_text(f.body, &token.text),
                                    distance,
                                    true,
                                )
                                .automaton()?;
                                for (near, docs) in self.expansions(
                                    searcher,
                                    &automaton,
                                    &token.text,
                                    TYPO_EXPANSIONS,
                                )? {
                                    words.add(&near, docs, &fields, FUZZY_FACTOR, may_be_common);
                                }
                            }
                            seen.push(token.text);
                        }
                    }
                    if i == last && typing {
                        let prefix = folded(word);
                        if !prefix.is_empty() {
                            let automaton = FuzzyTermQuery::new_prefix(
                                Term::from_field_text(f.body, &prefix),
                                0,
                                true,
                            )
                            .automaton()?;
                            for (completed, docs) in
                                self.expansions(searcher, &automaton, "", PREFIX_EXPANSIONS)?
                            {
                                words.add(&completed, docs, &fields[..2], FUZZY_FACTOR, false);
                            }
                        }
                    }
                    if word.trim_start_matches('#').chars().all(|c| c.is_ascii_digit())
                        && !word.is_empty()
                    {
                        let number =
                            || boosted(raw_term(f.link, word.trim_start_matches('#')), 10.0);
                        words.rarer_found = true;
                        words.rarer.push(number());
                        words.rarer_in_text.push(number());
                    }
                }
                Piece::Phrase(phrase) => {
                    let mut variants: Vec<Box<dyn Query>> = Vec::new();
                    for &lang in &langs {
                        let toks = tokens(lang, phrase);
                        terms_by_lang
                            .entry(lang)
                            .or_default()
                            .extend(toks.iter().map(|t| t.text.clone()));
                        for &(field, boost) in &fields {
                            let query: Box<dyn Query> = match toks.as_slice() {
                                [] => continue,
                                [one] => word_term(field, &one.text),
                                many => Box::new(PhraseQuery::new_with_offset(
                                    many.iter()
                                        .map(|t| {
                                            (t.position, Term::from_field_text(field, &t.text))
                                        })
                                        .collect(),
                                )),
                            };
                            variants.push(boosted(query, boost));
                        }
                    }
                    if !variants.is_empty() {
                        phrases.push(any(variants));
                    }
                }
            }
        }
        // Phrases are required; words only rank, except that common words (when a rarer word
        // is in the index, and no phrase) rank only documents that match a rarer word: scanning
        // the half of a large index that holds them would find nothing better. One flat union of
        // every word's terms scores the same as a union per word, and lets block-WAND skip
        // documents that cannot reach the top hits.
        let WordClauses {
            rarer: mut should,
            rarer_in_text,
            common: mut common_words,
            rarer_found,
            ..
        } = words;
        let mut must = phrases;
        let mut rarer = None;
        if !rarer_found || !must.is_empty() {
            should.append(&mut common_words);
        } else if !common_words.is_empty() {
            let rarer_words = any(std::mem::take(&mut should));
            rarer = Some(any(rarer_in_text));
            must.push(rarer_words);
            should = common_words;
        }
        let clauses: Vec<(Occur, Box<dyn Query>)> = must
            .into_iter()
            .map(|q| (Occur::Must, q))
            .chain(should.into_iter().map(|q| (Occur::Should, q)))
            .collect();
        if clauses.is_empty() {
            return Ok(None);
        }
        Ok(Some(TextQuery {
            query: Box::new(BooleanQuery::new(clauses)),
            rarer,
            terms: terms_by_lang,
        }))
    }

    /// Which documents `audience` may see, as a query to require.
    fn visible(&self, audience: Audience) -> Option<Box<dyn Query>> {
        let f = &self.fields;
        let published =
            || all(vec![raw_term(f.kind, Kind::Article.as_str()), raw_term(f.status, "published")]);
        match audience {
            Audience::Agent => None,
            Audience::Public => Some(published()),
            Audience::Customer(contact) => Some(any(vec![
                published(),
                all(vec![
                    raw_term(f.kind, Kind::Ticket.as_str()),
                    Box::new(TermQuery::new(
                        Term::from_field_i64(f.owner, contact),
                        IndexRecordOption::Basic,
                    )),
                ]),
            ])),
        }
    }

    fn filters(&self, request: &SearchRequest) -> Vec<Box<dyn Query>> {
        let f = &self.fields;
        let mut out = Vec::new();
        if let Some(kind) = request.kind {
            out.push(raw_term(f.kind, kind.as_str()));
        }
        for (field, value) in
            [(f.status, &request.status), (f.tag, &request.tag), (f.locale, &request.locale)]
        {
            if let Some(value) = value {
                out.push(raw_term(field, value));
            }
        }
        if request.updated_from.is_some() || request.updated_before.is_some() {
            let bound = |v: Option<i64>, inclusive: bool| match v {
                None => Bound::Unbounded,
                Some(v) if inclusive => Bound::Included(Term::from_field_i64(f.updated, v)),
                Some(v) => Bound::Excluded(Term::from_field_i64(f.updated, v)),
            };
            out.push(Box::new(RangeQuery::new(
                bound(request.updated_from, true),
                bound(request.updated_before, false),
            )));
        }
        out
    }

    /// Searches as `audience`. Blank text finds nothing.
    pub fn search(&self, request: &SearchRequest, audience: Audience) -> Result<Results> {
        let searcher = self.searcher();
        let Some(TextQuery { query, rarer, terms }) =
            self.text_query(&searcher, request, audience)?
        else {
            return Ok(Results::default());
        };
        let limit = request.limit.clamp(1, 100);
        let visible = self.visible(audience);
        let filters = self.filters(request);
        // `query` with the reader's visibility, and the filters when `filtered`.
        let scoped = |query: Box<dyn Query>, filtered: bool| -> Box<dyn Query> {
            let mut clauses = vec![query];
            clauses.extend(visible.iter().map(|q| q.box_clone()));
            if filtered {
                clauses.extend(filters.iter().map(|q| q.box_clone()));
            }
            if clauses.len() == 1 { clauses.remove(0) } else { all(clauses) }
        };
        // The counts per filter value are taken before the filters.
        let effort = self.effort;
        let (matches, counts) =
            count_matches(&searcher, &*scoped(query.box_clone(), false), effort.count_exactly)?;
        let ranking = scoped(query, true);
        let total =
            if filters.is_empty() { matches } else { searcher.search(&*ranking, &Count)? as u64 };
        // A plain union of words skips what cannot reach the top hits; with common words that
        // only rank, many matches are ranked from the best candidates of the rarer words.
        let top = match rarer {
            Some(rarer) if total > effort.rank_every_match_up_to => {
                let best =
                    TopDocs::with_limit(effort.ranked_candidates.max(limit)).order_by_score();
                rank(&searcher, &*ranking, searcher.search(&*scoped(rarer, true), &best)?, limit)?
            }
            _ => searcher.search(&*ranking, &TopDocs::with_limit(limit).order_by_score())?,
        };
        let hits = self.hits(&searcher, &top, &terms, audience)?;
        Ok(Results { hits, total, counts })
    }

    /// Solved tickets and agent-visible articles most like `similar.text`, for an agent.
    pub fn similar(&self, similar: &Similar<'_>) -> Result<Vec<Hit>> {
        let searcher = self.searcher();
        let f = self.fields;
        let mut freq: HashMap<String, u32> = HashMap::new();
        for token in tokens(Lang::ENGLISH, similar.text) {
            if token.text.chars().count() > 2 && !token.text.chars().all(|c| c.is_ascii_digit()) {
                *freq.entry(token.text).or_default() += 1;
            }
        }
        let docs = searcher.num_docs().max(1) as f32;
        let mut weighted = Vec::new();
        for (text, tf) in freq {
            let df = searcher.doc_freq(&Term::from_field_text(f.body, &text))?
                + searcher.doc_freq(&Term::from_field_text(f.title, &text))?;
            if df == 0 {
                continue;
            }
            let idf = (docs / df as f32).ln_1p();
            weighted.push((text, (tf as f32).sqrt() * idf));
        }
        weighted.sort_by(|a, b| b.1.total_cmp(&a.1));
        weighted.truncate(25);
        if weighted.is_empty() {
            return Ok(Vec::new());
        }
        let top = weighted[0].1;
        let mut words = Vec::new();
        for (text, weight) in &weighted {
            for (field, boost) in
                [(f.title, TITLE_BOOST), (f.body, 1.0), (f.resolution, RESOLUTION_BOOST)]
            {
                let q: Box<dyn Query> = Box::new(TermQuery::new(
                    Term::from_field_text(field, text),
                    IndexRecordOption::WithFreqs,
                ));
                words.push(boosted(q, boost * weight / top));
            }
        }
        let answers = any(vec![
            all(vec![
                raw_term(f.kind, Kind::Ticket.as_str()),
                any(DONE_STATUSES.iter().map(|s| raw_term(f.status, s)).collect()),
            ]),
            all(vec![
                raw_term(f.kind, Kind::Article.as_str()),
                any(vec![raw_term(f.status, "published"), raw_term(f.status, "internal")]),
            ]),
        ]);
        let mut clauses = vec![(Occur::Must, any(words)), (Occur::Must, answers)];
        if let Some(exclude) = similar.exclude {
            clauses.push((Occur::MustNot, raw_term(f.key, &exclude.encode())));
        }
        let query = BooleanQuery::new(clauses);
        let top_docs = searcher
            .search(&query, &TopDocs::with_limit(similar.limit.clamp(1, 50)).order_by_score())?;
        let terms =
            HashMap::from([(Lang::ENGLISH, weighted.into_iter().map(|(t, _)| t).collect())]);
        self.hits(&searcher, &top_docs, &terms, Audience::Agent)
    }

    fn hits(
        &self,
        searcher: &Searcher,
        top: &[(Score, DocAddress)],
        terms: &HashMap<Lang, Vec<String>>,
        audience: Audience,
    ) -> Result<Vec<Hit>> {
        let f = &self.fields;
        let mut hits = Vec::with_capacity(top.len());
        for &(score, address) in top {
            let doc: TantivyDocument = searcher.doc(address)?;
            let text = |field: Field| {
                doc.get_first(field).and_then(|v| v.as_str()).unwrap_or_default().to_owned()
            };
            let Some(key) = DocKey::decode(&text(f.key)) else { continue };
            let locale = text(f.locale);
            let lang = Lang::of_locale(&locale);
            let words = terms.get(&lang).map_or(&[][..], Vec::as_slice);
            let resolution = Some(text(f.resolution_text))
                .filter(|r| audience == Audience::Agent && !r.is_empty());
            let source = resolution.clone().unwrap_or_else(|| text(f.body_text));
            hits.push(Hit {
                key,
                title: text(f.title_text),
                link: text(f.link),
                status: text(f.status),
                snippet: snippet(lang, words, &source),
                locale,
                resolution,
                score,
            });
        }
        Ok(hits)
    }
}

/// How much work a search does on many matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Effort {
    /// Up to this many matches, every match is ranked.
    pub(crate) rank_every_match_up_to: u64,
    /// Of more matches, when common words only rank, the top hits are found among this many of
    /// the best matches of the rarer words in titles and bodies (block-WAND finds those without
    /// scoring every match): scoring every match for its common words and internal notes too
    /// would cost passes over long lists for a change in order that seldom reaches the top.
    pub(crate) ranked_candidates: usize,
    /// Up to about this many matches, counts per filter value are exact; beyond, they are
    /// scaled up from a sample of about this many, which keeps a search for common words as
    /// fast as any.
    pub(crate) count_exactly: u64,
}

impl Default for Effort {
    fn default() -> Self {
        Effort { rank_every_match_up_to: 10_000, ranked_candidates: 100, count_exactly: 25_000 }
    }
}

/// `candidates`, which all match `query`, scored by it: the best `limit`, best first.
fn rank(
    searcher: &Searcher,
    query: &dyn Query,
    candidates: Vec<(Score, DocAddress)>,
    limit: usize,
) -> Result<Vec<(Score, DocAddress)>> {
    let weight = query.weight(EnableScoring::enabled_from_searcher(searcher))?;
    let mut by_segment: BTreeMap<u32, Vec<u32>> = BTreeMap::new();
    for (_, address) in candidates {
        by_segment.entry(address.segment_ord).or_default().push(address.doc_id);
    }
    let mut ranked = Vec::new();
    for (segment, mut docs) in by_segment {
        docs.sort_unstable();
        let mut scorer = weight.scorer(searcher.segment_reader(segment), 1.0)?;
        for doc in docs {
            if scorer.doc() < doc {
                scorer.seek(doc);
            }
            if scorer.doc() == doc {
                ranked.push((scorer.score(), DocAddress::new(segment, doc)));
            }
        }
    }
    ranked.sort_by(|a, b| b.0.total_cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
    ranked.truncate(limit);
    Ok(ranked)
}

/// `source` cut around the words, escaped, with matches in `<b>`; its start when none match.
fn snippet(lang: Lang, words: &[String], source: &str) -> String {
    let terms: BTreeMap<String, Score> = words.iter().map(|w| (w.clone(), 1.0)).collect();
    let generator =
        SnippetGenerator::new(terms, lang.analyzer(), Field::from_field_id(0), SNIPPET_CHARS);
    let found = generator.snippet(source);
    if !found.is_empty() {
        return found.to_html();
    }
    let mut html = String::new();
    for c in source.chars().take(SNIPPET_CHARS) {
        match c {
            '<' => html.push_str("&lt;"),
            '>' => html.push_str("&gt;"),
            '&' => html.push_str("&amp;"),
            '"' => html.push_str("&quot;"),
            '\'' => html.push_str("&#x27;"),
            c => html.push(c),
        }
    }
    html
}

/// Documents per window when counting matches from a sample.
const COUNT_WINDOW: u32 = 512;

/// How many documents match `query`, and how many per kind, status, locale and tag, read from
/// the fast columns. Each segment counts its share of `exactly` matches one by one; when what is
/// left of it holds many more at that rate, the rest is estimated from windows of documents
/// spread evenly over it (skipping between windows is what keeps a search for the commonest
/// words cheap).
fn count_matches(searcher: &Searcher, query: &dyn Query, exactly: u64) -> Result<(u64, Counts)> {
    let weight = query.weight(EnableScoring::disabled_from_searcher(searcher))?;
    let docs_in_all: u64 =
        searcher.segment_readers().iter().map(|s| u64::from(s.max_doc())).sum::<u64>().max(1);
    let fruits = searcher.index().search_executor().map(
        |reader: &SegmentReader| {
            let max_doc = reader.max_doc();
            let mut counts = SegmentCounts::new(
                reader,
                (exactly * u64::from(max_doc)).div_ceil(docs_in_all).max(1),
            )?;
            let mut scorer = weight.scorer(reader, 1.0)?;
            // One by one, up to this segment's share.
            let mut doc = scorer.doc();
            while doc != TERMINATED
                && counts.matches + (counts.pending.len() as u64) < counts.exactly
            {
                counts.push(reader, doc, 1);
                doc = scorer.advance();
            }
            counts.flush(1);
            // Then one window in `every`, each match standing for `every` (for what is left of
            // the segment, when that is less).
            let remaining = u64::from(max_doc.saturating_sub(doc));
            let every = if doc == TERMINATED {
                1
            } else {
                (counts.matches * remaining).div_ceil(u64::from(doc.max(1)) * counts.exactly).max(1)
            };
            let every = u32::try_from(every).unwrap_or(u32::MAX);
            let mut start = doc;
            while start < max_doc {
                let end = start.saturating_add(COUNT_WINDOW).min(max_doc);
                let next = start.saturating_add(COUNT_WINDOW.saturating_mul(every)).min(max_doc);
                let weight = (next - start + (end - start) / 2) / (end - start);
                let mut doc = if scorer.doc() < start { scorer.seek(start) } else { scorer.doc() };
                while doc < end {
                    counts.push(reader, doc, weight);
                    doc = scorer.advance();
                }
                counts.flush(weight);
                start = next;
            }
            Ok(counts.harvest())
        },
        searcher.segment_readers().iter(),
    )?;
    let mut matches = 0;
    let mut total = Counts::default();
    for (segment_matches, fruit) in fruits {
        matches += segment_matches;
        total.estimated |= fruit.estimated;
        for (into, from) in [
            (&mut total.kind, fruit.kind),
            (&mut total.status, fruit.status),
            (&mut total.locale, fruit.locale),
            (&mut total.tag, fruit.tag),
        ] {
            for (value, n) in from {
                *into.entry(value).or_default() += n;
            }
        }
    }
    Ok((matches, total))
}

/// The fields counted, in the order of [`Counts`]' fields.
const COUNTED: [&str; 4] = ["kind", "status", "locale", "tag"];

/// One segment's counts.
struct SegmentCounts {
    columns: Vec<Option<StrColumn>>,
    /// Per column, estimated matches per value ordinal (a segment has few distinct values).
    counts: Vec<Vec<u64>>,
    /// Matches, estimated once some count for more than themselves.
    matches: u64,
    /// This segment's share of the matches counted one by one.
    exactly: u64,
    /// Whether some match was counted for more than itself.
    scaled: bool,
    /// Matches not yet counted: columns are read a block at a time, which costs a fraction of
    /// reading them document by document.
    pending: Vec<u32>,
    /// The value ordinals of a block of documents, for columns with one value per document.
    ords: Vec<Option<u64>>,
}

impl SegmentCounts {
    fn new(segment: &SegmentReader, exactly: u64) -> tantivy::Result<Self> {
        let mut columns = Vec::new();
        for name in COUNTED {
            columns.push(segment.fast_fields().str(name)?);
        }
        let counts =
            columns.iter().map(|c| vec![0; c.as_ref().map_or(0, |c| c.num_terms())]).collect();
        Ok(SegmentCounts {
            columns,
            counts,
            matches: 0,
            exactly,
            scaled: false,
            pending: Vec::with_capacity(COLLECT_BLOCK_BUFFER_LEN),
            ords: Vec::new(),
        })
    }

    /// Counts `doc` (unless deleted) for `weight` matches.
    fn push(&mut self, segment: &SegmentReader, doc: u32, weight: u32) {
        if segment.alive_bitset().is_none_or(|alive| alive.is_alive(doc)) {
            self.pending.push(doc);
            if self.pending.len() == COLLECT_BLOCK_BUFFER_LEN {
                self.flush(weight);
            }
        }
    }

    /// Counts the pending matches, each for `weight`.
    fn flush(&mut self, weight: u32) {
        let weight = u64::from(weight);
        self.matches += self.pending.len() as u64 * weight;
        self.scaled |= weight > 1 && !self.pending.is_empty();
        let SegmentCounts { columns, counts, pending, ords: block, .. } = self;
        for (column, counts) in columns.iter().zip(counts) {
            let Some(ords) = column.as_ref().map(|c| c.ords()) else { continue };
            if ords.get_cardinality().is_multivalue() {
                for &doc in pending.iter() {
                    ords.values_for_doc(doc).for_each(|ord| bump(counts, ord, weight));
                }
            } else {
                block.clear();
                block.resize(pending.len(), None);
                ords.first_vals(pending, block);
                block.iter().flatten().for_each(|&ord| bump(counts, ord, weight));
            }
        }
        pending.clear();
    }

    fn harvest(self) -> (u64, Counts) {
        let mut named: Vec<BTreeMap<String, u64>> = Vec::new();
        for (column, counts) in self.columns.iter().zip(self.counts) {
            let mut out = BTreeMap::new();
            if let Some(column) = column {
                for (ord, n) in (0_u64..).zip(counts).filter(|(_, n)| *n > 0) {
                    let mut value = String::new();
                    if column.ord_to_str(ord, &mut value).unwrap_or(false) {
                        out.insert(value, n);
                    }
                }
            }
            named.push(out);
        }
        let mut named = named.into_iter();
        let mut next = || named.next().unwrap_or_default();
        let counts = Counts {
            kind: next(),
            status: next(),
            locale: next(),
            tag: next(),
            estimated: self.scaled,
        };
        (self.matches, counts)
    }
}

fn bump(counts: &mut [u64], ord: u64, by: u64) {
    if let Some(n) = usize::try_from(ord).ok().and_then(|ord| counts.get_mut(ord)) {
        *n += by;
    }
}
