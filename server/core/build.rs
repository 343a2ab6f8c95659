//! The migrations are embedded by `sqlx::migrate!`; rebuild when any of them changes. The
//! starter knowledge base (`knowledge-base/articles/*.md`) is embedded too: this writes the list
//! `kb.rs` includes.

use std::path::Path;

fn main() {
    println!("cargo:rerun-if-changed=../../migrations");
    let articles = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../knowledge-base/articles");
    println!("cargo:rerun-if-changed={}", articles.display());
    let mut files: Vec<_> = std::fs::read_dir(&articles)
        .map(|entries| {
            entries
                .flatten()
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|x| x == "md"))
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    let mut out = String::from(
        "/// The starter knowledge base: `(file name, text)` of each article.\npub const STARTER_ARTICLES: &[(&str, &str)] = &[\n",
    );
    for path in &files {
        let path = path.canonicalize().unwrap_or_else(|_| path.clone());
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        out.push_str(&format!("    ({name:?}, include_str!({:?})),\n", path.display().to_string()));
    }
    out.push_str("];\n");
    let target = Path::new(&std::env::var("OUT_DIR").expect("OUT_DIR")).join("starter_kb.rs");
    std::fs::write(target, out).expect("write the starter knowledge-base list");
}
