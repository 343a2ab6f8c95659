//! Answering searches: the reader's visibility inside the query, BM25 with a title boost, quoted
//! phrases, typo tolerance, prefix matching of the last word while typing, filters, counts per
//! filter value, highlighted snippets, and "similar solved tickets and articles" for a ticket.

use crate::analysis::{Lang, folded, tokens};
use crate::index::SearchIndex;
use crate::{DocKey, Kind, Result};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use std::ops::Bound;
use tantivy::collector::{Collector, Count, SegmentCollector, TopDocs};
use tantivy::columnar::StrColumn;
use tantivy::index::SegmentReader;
use tantivy::query::{BooleanQuery, BoostQuery, FuzzyTermQuery, Occur, PhraseQuery, Query, RangeQuery, TermQuery};
use tantivy::schema::{Field, IndexRecordOption, Value};
use tantivy::snippet::SnippetGenerator;
use tantivy::{DocAddress, Score, Searcher, TantivyDocument, Term};

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
    /// Whether the counts were scaled up from a sample of the matches (see [`COUNT_EXACTLY`]).
    pub estimated: bool,
}

/// A page of results.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Results {
    /// The best hits, best first.
    pub hits: Vec<Hit>,
    /// How many documents match with the filters.
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

    fn langs(&self) -> Vec<Lang> {
        self.langs.read().unwrap_or_else(|e| e.into_inner()).iter().copied().collect()
    }

    /// The query for the typed words, and the analyzed terms per language (for snippets).
    fn text_query(&self, searcher: &Searcher, request: &SearchRequest, audience: Audience) -> Result<(Option<Box<dyn Query>>, HashMap<Lang, Vec<String>>)> {
        let langs = self.langs();
        // A word the index knows well is taken as typed; typo tolerance is for the rest.
        let rare = (searcher.num_docs() / RARE_PER).max(RARE_AT_LEAST);
        let common = (searcher.num_docs() / COMMON_PER).max(COMMON_AT_LEAST);
        let doc_freq = |text: &str| -> Result<u64> {
            let mut docs = 0;
            for field in [self.fields.title, self.fields.body] {
                docs += searcher.doc_freq(&Term::from_field_text(field, text))?;
            }
            Ok(docs)
        };
        let mut common_words: Vec<Box<dyn Query>> = Vec::new();
        let fields = self.text_fields(audience);
        let mut terms_by_lang: HashMap<Lang, Vec<String>> = HashMap::new();
        let mut should: Vec<Box<dyn Query>> = Vec::new();
        let mut must: Vec<Box<dyn Query>> = Vec::new();
        let pieces = pieces(&request.text);
        let last = pieces.len().saturating_sub(1);
        let typing = request.as_you_type && !request.text.ends_with(char::is_whitespace);
        for (i, piece) in pieces.iter().enumerate() {
            match piece {
                Piece::Word(word) => {
                    let mut variants: Vec<Box<dyn Query>> = Vec::new();
                    let mut seen = Vec::new();
                    let mut is_common = !(i == last && typing);
                    for &lang in &langs {
                        for token in tokens(lang, word) {
                            terms_by_lang.entry(lang).or_default().push(token.text.clone());
                            if seen.contains(&token.text) {
                                continue;
                            }
                            let len = token.text.chars().count();
                            let docs = doc_freq(&token.text)?;
                            let fuzzy = len >= 4 && docs < rare;
                            is_common &= docs >= common;
                            for &(field, boost) in &fields {
                                let term = Term::from_field_text(field, &token.text);
                                variants.push(boosted(Box::new(TermQuery::new(term.clone(), IndexRecordOption::WithFreqs)), boost));
                                if fuzzy {
                                    let distance = if len >= 8 { 2 } else { 1 };
                                    variants.push(boosted(Box::new(FuzzyTermQuery::new(term, distance, true)), boost * FUZZY_FACTOR));
                                }
                            }
                            seen.push(token.text);
                        }
                    }
                    if i == last && typing {
                        let prefix = folded(word);
                        if !prefix.is_empty() {
                            for &(field, boost) in &fields[..2] {
                                let term = Term::from_field_text(field, &prefix);
                                variants.push(boosted(Box::new(FuzzyTermQuery::new_prefix(term, 0, true)), boost * FUZZY_FACTOR));
                            }
                        }
                    }
                    if word.trim_start_matches('#').chars().all(|c| c.is_ascii_digit()) && !word.is_empty() {
                        variants.push(boosted(raw_term(self.fields.link, word.trim_start_matches('#')), 10.0));
                    }
                    // One flat union of every word's variants scores the same as a union per
                    // word, and lets the top hits be found by block-WAND, skipping documents
                    // that cannot reach them.
                    if is_common && !seen.is_empty() { common_words.extend(variants) } else { should.extend(variants) }
                }
                Piece::Phrase(phrase) => {
                    let mut variants: Vec<Box<dyn Query>> = Vec::new();
                    for &lang in &langs {
                        let toks = tokens(lang, phrase);
                        terms_by_lang.entry(lang).or_default().extend(toks.iter().map(|t| t.text.clone()));
                        for &(field, boost) in &fields {
                            let query: Box<dyn Query> = match toks.as_slice() {
                                [] => continue,
                                [one] => Box::new(TermQuery::new(Term::from_field_text(field, &one.text), IndexRecordOption::WithFreqs)),
                                many => Box::new(PhraseQuery::new_with_offset(
                                    many.iter().map(|t| (t.position, Term::from_field_text(field, &t.text))).collect(),
                                )),
                            };
                            variants.push(boosted(query, boost));
                        }
                    }
                    if !variants.is_empty() {
                        must.push(any(variants));
                    }
                }
            }
        }
        // Common words only rank documents that match a rarer word, when there is one (and no
        // phrase): scanning the half of a large index that holds them would find nothing better.
        if should.is_empty() || !must.is_empty() {
            should.append(&mut common_words);
        } else if !common_words.is_empty() {
            must.push(any(std::mem::take(&mut should)));
            should = common_words;
        }
        // Phrases are required; words only rank.
        let clauses: Vec<(Occur, Box<dyn Query>)> =
            must.into_iter().map(|q| (Occur::Must, q)).chain(should.into_iter().map(|q| (Occur::Should, q))).collect();
        let query: Option<Box<dyn Query>> = (!clauses.is_empty()).then(|| Box::new(BooleanQuery::new(clauses)) as Box<dyn Query>);
        Ok((query, terms_by_lang))
    }

    /// Which documents `audience` may see, as a query to require.
    fn visible(&self, audience: Audience) -> Option<Box<dyn Query>> {
        let f = &self.fields;
        let published = || all(vec![raw_term(f.kind, Kind::Article.as_str()), raw_term(f.status, "published")]);
        match audience {
            Audience::Agent => None,
            Audience::Public => Some(published()),
            Audience::Customer(contact) => Some(any(vec![
                published(),
                all(vec![
                    raw_term(f.kind, Kind::Ticket.as_str()),
                    Box::new(TermQuery::new(Term::from_field_i64(f.owner, contact), IndexRecordOption::Basic)),
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
        for (field, value) in [(f.status, &request.status), (f.tag, &request.tag), (f.locale, &request.locale)] {
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
            out.push(Box::new(RangeQuery::new(bound(request.updated_from, true), bound(request.updated_before, false))));
        }
        out
    }

    /// Searches as `audience`. Blank text finds nothing.
    pub fn search(&self, request: &SearchRequest, audience: Audience) -> Result<Results> {
        let searcher = self.searcher();
        let (Some(text), terms) = self.text_query(&searcher, request, audience)? else { return Ok(Results::default()) };
        let unfiltered = match self.visible(audience) {
            Some(visible) => all(vec![text, visible]),
            None => text,
        };
        let filters = self.filters(request);
        let top_docs = TopDocs::with_limit(request.limit.clamp(1, 100)).order_by_score();
        // The top hits come from a scored pass that may skip documents; the total and the counts
        // per filter value (taken before the filters) from an unscored pass over every match.
        let matches = searcher.search(&*unfiltered, &Count)?;
        let counts = searcher.search(&*unfiltered, &CountsCollector::for_matches(matches))?;
        let (top, total) = if filters.is_empty() {
            (searcher.search(&*unfiltered, &top_docs)?, matches)
        } else {
            let filtered = all(std::iter::once(unfiltered).chain(filters).collect());
            (searcher.search(&*filtered, &top_docs)?, searcher.search(&*filtered, &Count)?)
        };
        let hits = self.hits(&searcher, &top, &terms, audience)?;
        Ok(Results { hits, total: total as u64, counts })
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
            let df = searcher.doc_freq(&Term::from_field_text(f.body, &text))? + searcher.doc_freq(&Term::from_field_text(f.title, &text))?;
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
            for (field, boost) in [(f.title, TITLE_BOOST), (f.body, 1.0), (f.resolution, RESOLUTION_BOOST)] {
                let q: Box<dyn Query> = Box::new(TermQuery::new(Term::from_field_text(field, text), IndexRecordOption::WithFreqs));
                words.push(boosted(q, boost * weight / top));
            }
        }
        let answers = any(vec![
            all(vec![raw_term(f.kind, Kind::Ticket.as_str()), any(DONE_STATUSES.iter().map(|s| raw_term(f.status, s)).collect())]),
            all(vec![raw_term(f.kind, Kind::Article.as_str()), any(vec![raw_term(f.status, "published"), raw_term(f.status, "internal")])]),
        ]);
        let mut clauses = vec![(Occur::Must, any(words)), (Occur::Must, answers)];
        if let Some(exclude) = similar.exclude {
            clauses.push((Occur::MustNot, raw_term(f.key, &exclude.encode())));
        }
        let query = BooleanQuery::new(clauses);
        let top_docs = searcher.search(&query, &TopDocs::with_limit(similar.limit.clamp(1, 50)).order_by_score())?;
        let terms = HashMap::from([(Lang::ENGLISH, weighted.into_iter().map(|(t, _)| t).collect())]);
        self.hits(&searcher, &top_docs, &terms, Audience::Agent)
    }

    fn hits(&self, searcher: &Searcher, top: &[(Score, DocAddress)], terms: &HashMap<Lang, Vec<String>>, audience: Audience) -> Result<Vec<Hit>> {
        let f = &self.fields;
        let mut hits = Vec::with_capacity(top.len());
        for &(score, address) in top {
            let doc: TantivyDocument = searcher.doc(address)?;
            let text = |field: Field| doc.get_first(field).and_then(|v| v.as_str()).unwrap_or_default().to_owned();
            let Some(key) = DocKey::decode(&text(f.key)) else { continue };
            let locale = text(f.locale);
            let lang = Lang::of_locale(&locale);
            let words = terms.get(&lang).map_or(&[][..], Vec::as_slice);
            let resolution = Some(text(f.resolution_text)).filter(|r| audience == Audience::Agent && !r.is_empty());
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

/// `source` cut around the words, escaped, with matches in `<b>`; its start when none match.
fn snippet(lang: Lang, words: &[String], source: &str) -> String {
    let terms: BTreeMap<String, Score> = words.iter().map(|w| (w.clone(), 1.0)).collect();
    let generator = SnippetGenerator::new(terms, lang.analyzer(), Field::from_field_id(0), SNIPPET_CHARS);
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

/// Up to this many matches, counts per filter value are exact; beyond, they are scaled up from
/// an even sample of about this many, which keeps a search for common words as fast as any.
const COUNT_EXACTLY: usize = 100_000;

/// Counts matches per kind, status, locale and tag in one pass over the fast columns, looking
/// at every `stride`-th match of each segment.
pub(crate) struct CountsCollector {
    pub(crate) stride: usize,
}

impl CountsCollector {
    /// Counts exactly when `matches` are few enough, else samples them.
    fn for_matches(matches: usize) -> Self {
        CountsCollector { stride: matches.div_ceil(COUNT_EXACTLY).max(1) }
    }
}

/// The fields [`CountsCollector`] counts, in the order of [`Counts`]' fields.
const COUNTED: [&str; 4] = ["kind", "status", "locale", "tag"];

pub(crate) struct SegmentCounts {
    columns: Vec<Option<StrColumn>>,
    /// Per column, matches per value ordinal (a segment has few distinct values per column).
    counts: Vec<Vec<u64>>,
    /// The value ordinals of a block of documents, for columns with one value per document.
    block: Vec<Option<u64>>,
    /// Every `stride`-th match is counted, for `stride` matches each.
    stride: usize,
    /// Matches to pass over before the next one counted.
    skip: usize,
    /// The sampled documents of a block.
    sampled: Vec<u32>,
}

fn bump(counts: &mut [u64], ord: u64) {
    if let Some(n) = usize::try_from(ord).ok().and_then(|ord| counts.get_mut(ord)) {
        *n += 1;
    }
}

impl Collector for CountsCollector {
    type Fruit = Counts;
    type Child = SegmentCounts;

    fn for_segment(&self, _: u32, segment: &SegmentReader) -> tantivy::Result<SegmentCounts> {
        let mut columns = Vec::new();
        for name in COUNTED {
            columns.push(segment.fast_fields().str(name)?);
        }
        let counts = columns.iter().map(|c| vec![0; c.as_ref().map_or(0, |c| c.num_terms())]).collect();
        Ok(SegmentCounts { counts, columns, block: Vec::new(), stride: self.stride, skip: 0, sampled: Vec::new() })
    }

    fn requires_scoring(&self) -> bool {
        false
    }

    fn merge_fruits(&self, fruits: Vec<Counts>) -> tantivy::Result<Counts> {
        let mut total = Counts { estimated: self.stride > 1, ..Counts::default() };
        for fruit in fruits {
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
        Ok(total)
    }
}

impl SegmentCollector for SegmentCounts {
    type Fruit = Counts;

    fn collect(&mut self, doc: u32, _: Score) {
        self.collect_block(&[doc]);
    }

    /// Unscored passes hand over documents in blocks: single-valued columns are read a block at
    /// a time, which costs a fraction of reading them document by document.
    fn collect_block(&mut self, docs: &[u32]) {
        let docs = if self.stride == 1 {
            docs
        } else {
            self.sampled.clear();
            let mut at = self.skip;
            while let Some(&doc) = docs.get(at) {
                self.sampled.push(doc);
                at += self.stride;
            }
            self.skip = at - docs.len();
            &self.sampled[..]
        };
        let SegmentCounts { columns, counts, block, .. } = self;
        for (column, counts) in columns.iter().zip(counts) {
            let Some(ords) = column.as_ref().map(|c| c.ords()) else { continue };
            if ords.get_cardinality().is_multivalue() {
                for &doc in docs {
                    ords.values_for_doc(doc).for_each(|ord| bump(counts, ord));
                }
            } else {
                block.clear();
                block.resize(docs.len(), None);
                ords.first_vals(docs, block);
                block.iter().flatten().for_each(|&ord| bump(counts, ord));
            }
        }
    }

    fn harvest(self) -> Counts {
        let mut named: Vec<BTreeMap<String, u64>> = Vec::new();
        for (column, counts) in self.columns.iter().zip(self.counts) {
            let mut out = BTreeMap::new();
            if let Some(column) = column {
                for (ord, n) in (0_u64..).zip(counts).filter(|(_, n)| *n > 0) {
                    let mut value = String::new();
                    if column.ord_to_str(ord, &mut value).unwrap_or(false) {
                        out.insert(value, n * self.stride as u64);
                    }
                }
            }
            named.push(out);
        }
        let mut named = named.into_iter();
        let mut next = || named.next().unwrap_or_default();
        Counts { kind: next(), status: next(), locale: next(), tag: next(), estimated: self.stride > 1 }
    }
}
