//! Text analysis: one analyzer per language tantivy can stem (lower-case, ASCII folding, stop
//! words, stemming), and a plain analyzer for every other locale. Documents are tokenized with
//! the analyzer of their own locale before they reach the index, so one set of fields holds every
//! language; a query is tokenized with each language the index holds.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};
use tantivy::tokenizer::{
    AsciiFoldingFilter, Language, LowerCaser, RemoveLongFilter, SimpleTokenizer, Stemmer,
    StopWordFilter, TextAnalyzer, Token,
};

/// A language the index analyzes text in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Lang {
    /// A language with a stemmer, by its ISO 639-1 code.
    Stemmed(&'static str),
    /// Locales tantivy cannot stem: lower-cased and folded only.
    Plain,
}

/// Locale codes with a tantivy stemmer, and that stemmer.
const STEMMED: &[(&str, Language)] = &[
    ("ar", Language::Arabic),
    ("da", Language::Danish),
    ("de", Language::German),
    ("el", Language::Greek),
    ("en", Language::English),
    ("es", Language::Spanish),
    ("fi", Language::Finnish),
    ("fr", Language::French),
    ("hu", Language::Hungarian),
    ("it", Language::Italian),
    ("nl", Language::Dutch),
    ("no", Language::Norwegian),
    ("nb", Language::Norwegian),
    ("pt", Language::Portuguese),
    ("ro", Language::Romanian),
    ("ru", Language::Russian),
    ("sv", Language::Swedish),
    ("ta", Language::Tamil),
    ("tr", Language::Turkish),
];

/// Tokens longer than this are not words (hashes, base64) and are dropped.
const MAX_TOKEN_LEN: usize = 40;

impl Lang {
    /// English: tickets and unknown text.
    pub const ENGLISH: Lang = Lang::Stemmed("en");

    /// The language of a locale such as `en`, `de-AT` or `pt_BR`.
    pub fn of_locale(locale: &str) -> Lang {
        let code = locale.split(['-', '_']).next().unwrap_or_default().to_ascii_lowercase();
        STEMMED.iter().find(|(c, _)| *c == code).map_or(Lang::Plain, |(c, _)| Lang::Stemmed(c))
    }

    /// An analyzer for this language: a clone of one built once per process (stop-word sets
    /// are shared, so a clone is cheap), as indexing asks for one per field of every document.
    pub fn analyzer(self) -> TextAnalyzer {
        static BUILT: OnceLock<Mutex<HashMap<Lang, TextAnalyzer>>> = OnceLock::new();
        let mut built = BUILT.get_or_init(Mutex::default).lock().unwrap_or_else(|e| e.into_inner());
        built.entry(self).or_insert_with(|| self.build()).clone()
    }

    fn build(self) -> TextAnalyzer {
        let base = TextAnalyzer::builder(SimpleTokenizer::default())
            .filter(RemoveLongFilter::limit(MAX_TOKEN_LEN))
            .filter(LowerCaser)
            .filter(AsciiFoldingFilter);
        match self {
            Lang::Plain => base.build(),
            Lang::Stemmed(code) => {
                let language =
                    STEMMED.iter().find(|(c, _)| *c == code).map_or(Language::English, |(_, l)| *l);
                match StopWordFilter::new(language) {
                    Some(stop) => base.filter(stop).filter(Stemmer::new(language)).build(),
                    None => base.filter(Stemmer::new(language)).build(),
                }
            }
        }
    }
}

/// The tokens of `text` in `lang`, with their positions (stop words leave gaps).
pub fn tokens(lang: Lang, text: &str) -> Vec<Token> {
    let mut analyzer = lang.analyzer();
    let mut stream = analyzer.token_stream(text);
    let mut out = Vec::new();
    while stream.advance() {
        out.push(stream.token().clone());
    }
    out
}

/// `word` lower-cased and folded to ASCII, as a prefix to match indexed terms with.
pub fn folded(word: &str) -> String {
    tokens(Lang::Plain, word).into_iter().map(|t| t.text).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(lang: Lang, text: &str) -> Vec<String> {
        tokens(lang, text).into_iter().map(|t| t.text).collect()
    }

    #[test]
    fn english_text_is_stemmed_folded_and_stripped_of_stop_words() {
        assert_eq!(
            texts(Lang::ENGLISH, "The Passwords were Résumés"),
            ["password", "were", "resum"]
        );
    }

    #[test]
    fn each_locale_gets_its_own_stemmer_and_unknown_locales_stay_plain() {
        assert_eq!(Lang::of_locale("de-AT"), Lang::Stemmed("de"));
        assert_eq!(texts(Lang::of_locale("de"), "Rechnungen"), ["rechnung"]);
        assert_eq!(Lang::of_locale("ja"), Lang::Plain);
        assert_eq!(texts(Lang::Plain, "Rechnungen"), ["rechnungen"]);
    }
}
