//! The index directory: opening it, recreating it when it is missing, unreadable, half rebuilt
//! or of another schema version, and writing batches of documents.
//!
//! Each commit carries a payload naming the index state: `complete v1` once every document was
//! written, `rebuilding v1` while a rebuild runs. Anything else at open means "rebuild me". There
//! is one writer, behind a mutex; the reader reloads after every commit, so a written batch is
//! searchable as soon as [`SearchIndex::write`] returns.

use crate::analysis::Lang;
use crate::query::Effort;
use crate::schema::{self, Fields};
use crate::{Doc, DocKey, Result};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, RwLock};
use std::time::{Duration, Instant};
use tantivy::directory::error::LockError;
use tantivy::{Index, IndexReader, IndexWriter, ReloadPolicy, Searcher, TantivyError, Term};

/// Memory for the writer's in-memory segments, split across its threads.
const WRITER_MEMORY: usize = 128 * 1024 * 1024;

/// How long opening waits for the writer lock that another handle still holds.
const LOCK_WAIT: Duration = Duration::from_secs(10);

/// The index's one writer. A handle in this process may still be letting go of the lock (a
/// server shutting down while a search finishes on the blocking pool), so a busy lock is tried
/// again for [`LOCK_WAIT`]; a second process on the same directory gets the error after that.
fn writer_when_free(index: &Index) -> Result<IndexWriter> {
    let deadline = Instant::now() + LOCK_WAIT;
    loop {
        match index.writer(WRITER_MEMORY) {
            Err(TantivyError::LockFailure(LockError::LockBusy, _)) if Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(50));
            }
            written => return Ok(written?),
        }
    }
}

/// Whether the index holds every document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IndexState {
    /// Every document was written; only the change log is left to follow.
    Complete,
    /// It must be (or is being) rebuilt from the database.
    NeedsRebuild,
}

fn payload(state: IndexState) -> String {
    match state {
        IndexState::Complete => format!("complete v{}", schema::VERSION),
        IndexState::NeedsRebuild => format!("rebuilding v{}", schema::VERSION),
    }
}

/// The open index: one writer, one reader, and the languages its articles are in.
pub struct SearchIndex {
    pub(crate) fields: Fields,
    reader: IndexReader,
    writer: Mutex<IndexWriter>,
    pub(crate) langs: RwLock<BTreeSet<Lang>>,
    pub(crate) effort: Effort,
    dir: Option<PathBuf>,
}

impl std::fmt::Debug for SearchIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SearchIndex").field("dir", &self.dir).finish_non_exhaustive()
    }
}

impl SearchIndex {
    /// Opens the index in `dir`, or creates it there (after removing whatever unreadable files
    /// were in the way), and says whether it holds every document.
    pub fn open(dir: &Path) -> Result<(SearchIndex, IndexState)> {
        let (schema, fields) = schema::build();
        let opened = Index::open_in_dir(dir)
            .ok()
            .filter(|index| index.schema() == schema)
            .and_then(|index| {
                let state = index.load_metas().ok()?.payload;
                Some((index, state))
            });
        let (index, state) = match opened {
            Some((index, Some(state))) if state == payload(IndexState::Complete) => {
                (index, IndexState::Complete)
            }
            Some((index, _)) => (index, IndexState::NeedsRebuild),
            None => {
                if dir.exists() {
                    std::fs::remove_dir_all(dir)?;
                }
                std::fs::create_dir_all(dir)?;
                (Index::create_in_dir(dir, schema)?, IndexState::NeedsRebuild)
            }
        };
        Ok((SearchIndex::from_index(index, fields, Some(dir.to_owned()))?, state))
    }

    /// An index in memory (tests and tools).
    pub fn in_memory() -> Result<SearchIndex> {
        let (schema, fields) = schema::build();
        SearchIndex::from_index(Index::create_in_ram(schema), fields, None)
    }

    fn from_index(mut index: Index, fields: Fields, dir: Option<PathBuf>) -> Result<SearchIndex> {
        // A search runs over the segments on every core, not one after the other.
        index.set_default_multithread_executor()?;
        let reader = index.reader_builder().reload_policy(ReloadPolicy::Manual).try_into()?;
        let writer = writer_when_free(&index)?;
        let this = SearchIndex {
            fields,
            reader,
            writer: Mutex::new(writer),
            langs: RwLock::default(),
            effort: Effort::default(),
            dir,
        };
        this.load_langs()?;
        Ok(this)
    }

    /// Reads which languages the articles are in from the locale terms.
    fn load_langs(&self) -> Result<()> {
        let mut langs = BTreeSet::from([Lang::ENGLISH]);
        for segment in self.searcher().segment_readers() {
            let inverted = segment.inverted_index(self.fields.locale)?;
            let mut terms = inverted.terms().stream()?;
            while terms.advance() {
                langs.insert(Lang::of_locale(&String::from_utf8_lossy(terms.key())));
            }
        }
        *self.langs.write().unwrap_or_else(|e| e.into_inner()) = langs;
        Ok(())
    }

    /// A searcher over the last commit.
    pub fn searcher(&self) -> Searcher {
        self.reader.searcher()
    }

    /// Replaces `docs`, removes `removed`, and commits with `state`; searchable on return.
    pub fn write(&self, docs: &[Doc], removed: &[DocKey], state: IndexState) -> Result<()> {
        self.stage(docs, removed)?;
        self.commit(state)
    }

    /// Replaces `docs` and removes `removed` in the writer, not yet committed.
    pub fn stage(&self, docs: &[Doc], removed: &[DocKey]) -> Result<()> {
        let writer = self.writer.lock().unwrap_or_else(|e| e.into_inner());
        let mut langs = BTreeSet::new();
        for key in removed.iter().copied().chain(docs.iter().map(Doc::key)) {
            writer.delete_term(Term::from_field_text(self.fields.key, &key.encode()));
        }
        for doc in docs {
            if let Doc::Article(a) = doc {
                langs.insert(Lang::of_locale(&a.locale));
            }
            writer.add_document(self.fields.document(doc))?;
        }
        drop(writer);
        self.langs.write().unwrap_or_else(|e| e.into_inner()).extend(langs);
        Ok(())
    }

    /// Commits what was staged, recording `state`; searchable on return.
    pub fn commit(&self, state: IndexState) -> Result<()> {
        let mut writer = self.writer.lock().unwrap_or_else(|e| e.into_inner());
        let mut commit = writer.prepare_commit()?;
        commit.set_payload(&payload(state));
        commit.commit()?;
        drop(writer);
        self.reader.reload()?;
        Ok(())
    }

    /// Removes every document and marks the index as being rebuilt.
    pub fn clear(&self) -> Result<()> {
        let mut writer = self.writer.lock().unwrap_or_else(|e| e.into_inner());
        writer.delete_all_documents()?;
        let mut commit = writer.prepare_commit()?;
        commit.set_payload(&payload(IndexState::NeedsRebuild));
        commit.commit()?;
        drop(writer);
        self.reader.reload()?;
        Ok(())
    }

    /// How many documents are searchable.
    pub fn len(&self) -> u64 {
        self.searcher().num_docs()
    }

    /// Whether no document is searchable.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Every indexed key.
    #[cfg(test)]
    pub fn keys(&self) -> Result<Vec<DocKey>> {
        use tantivy::TantivyDocument;
        use tantivy::schema::Value;
        let searcher = self.searcher();
        let mut keys = Vec::new();
        for (ord, segment) in searcher.segment_readers().iter().enumerate() {
            for doc in segment.doc_ids_alive() {
                let stored: TantivyDocument =
                    searcher.doc(tantivy::DocAddress::new(ord as u32, doc))?;
                if let Some(key) = stored
                    .get_first(self.fields.key)
                    .and_then(|v| v.as_str())
                    .and_then(DocKey::decode)
                {
                    keys.push(key);
                }
            }
        }
        Ok(keys)
    }
}
