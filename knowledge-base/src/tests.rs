//! The index on its own: visibility, matching, counts, similar tickets, and the index state.

use crate::query::Effort;
use crate::*;

fn article(id: i64, title: &str, body: &str, status: &str, locale: &str) -> Doc {
    Doc::Article(ArticleDoc {
        id,
        title: title.into(),
        body: body.into(),
        locale: locale.into(),
        status: status.into(),
        slug: format!("article-{id}"),
        tags: vec!["billing".into()],
        updated_at: 1_700_000_000 + id,
    })
}

fn ticket(
    id: i64,
    requester_id: i64,
    subject: &str,
    replies: &str,
    notes: &str,
    resolution: Option<&str>,
) -> Doc {
    Doc::Ticket(TicketDoc {
        id,
        number: 1000 + id,
        subject: subject.into(),
        replies: replies.into(),
        notes: notes.into(),
        resolution: resolution.map(Into::into),
        status: if resolution.is_some() { "solved" } else { "open" }.into(),
        requester_id,
        tags: Vec::new(),
        updated_at: 1_700_000_000 + id,
    })
}

fn sample() -> SearchIndex {
    let index = SearchIndex::in_memory().expect("index");
    let docs = vec![
        article(
            1,
            "Resetting your password",
            "Open the sign-in page and choose Forgot password.",
            "published",
            "en",
        ),
        article(2, "Refund policy draft", "Refunds are granted within thirty days.", "draft", "en"),
        article(
            3,
            "Escalation playbook",
            "Internal: escalate refunds to the billing team.",
            "internal",
            "en",
        ),
        article(
            4,
            "Rechnungen herunterladen",
            "Alle Rechnungen finden Sie im Kundenkonto.",
            "published",
            "de",
        ),
        ticket(
            10,
            7,
            "Cannot export invoices",
            "The export button does nothing.",
            "Customer is on the legacy plan, secret discount",
            None,
        ),
        ticket(
            11,
            8,
            "Invoice export broken",
            "Export fails with a timeout.",
            "",
            Some("Clear the browser cache and export again; large exports are emailed."),
        ),
    ];
    index.write(&docs, &[], IndexState::Complete).expect("write");
    index
}

fn keys(results: &Results) -> Vec<String> {
    results.hits.iter().map(|h| h.key.encode()).collect()
}

fn search(index: &SearchIndex, text: &str, audience: Audience) -> Results {
    index
        .search(
            &SearchRequest { text: text.into(), limit: 10, ..SearchRequest::default() },
            audience,
        )
        .expect("search")
}

#[test]
fn a_misspelled_and_inflected_query_finds_the_published_article() {
    let index = sample();
    assert_eq!(keys(&search(&index, "pasword reset", Audience::Public))[0], "article:1");
    assert_eq!(keys(&search(&index, "resets", Audience::Public))[0], "article:1");
}

#[test]
fn the_public_sees_published_articles_only() {
    let index = sample();
    assert!(search(&index, "refunds", Audience::Public).hits.is_empty());
    assert_eq!(keys(&search(&index, "refunds", Audience::Agent)).len(), 2);
}

#[test]
fn a_customer_finds_their_own_tickets_but_never_notes_or_other_customers_tickets() {
    let index = sample();
    assert_eq!(keys(&search(&index, "export", Audience::Customer(7))), ["ticket:10"]);
    assert!(search(&index, "secret discount", Audience::Customer(7)).hits.is_empty());
    assert_eq!(keys(&search(&index, "secret discount", Audience::Agent)), ["ticket:10"]);
    assert!(search(&index, "timeout", Audience::Customer(7)).hits.is_empty());
}

#[test]
fn quoted_words_must_appear_as_a_phrase() {
    let index = sample();
    assert_eq!(keys(&search(&index, "\"export button\"", Audience::Agent)), ["ticket:10"]);
    assert!(search(&index, "\"button export\"", Audience::Agent).hits.is_empty());
}

#[test]
fn the_last_word_typed_matches_as_a_prefix_while_typing() {
    let index = sample();
    let request = SearchRequest {
        text: "passw".into(),
        as_you_type: true,
        limit: 5,
        ..SearchRequest::default()
    };
    assert_eq!(keys(&index.search(&request, Audience::Public).expect("search")), ["article:1"]);
}

#[test]
fn german_articles_are_stemmed_in_german() {
    let index = sample();
    assert_eq!(keys(&search(&index, "Rechnung", Audience::Public)), ["article:4"]);
}

#[test]
fn filters_narrow_the_hits_and_counts_cover_every_value() {
    let index = sample();
    let request = SearchRequest {
        text: "export invoices refunds".into(),
        kind: Some(Kind::Ticket),
        limit: 10,
        ..SearchRequest::default()
    };
    let results = index.search(&request, Audience::Agent).expect("search");
    assert_eq!(results.total, 2);
    assert_eq!(results.counts.kind.get("article"), Some(&2));
    assert_eq!(results.counts.kind.get("ticket"), Some(&2));
    assert_eq!(results.counts.status.get("solved"), Some(&1));
    let solved = SearchRequest { status: Some("solved".into()), ..request };
    assert_eq!(keys(&index.search(&solved, Audience::Agent).expect("search")), ["ticket:11"]);
}

#[test]
fn snippets_highlight_the_words_and_escape_the_text() {
    let index = SearchIndex::in_memory().expect("index");
    let doc = article(
        1,
        "Scripts",
        "Never paste <script>alert(1)</script> into the widget settings.",
        "published",
        "en",
    );
    index.write(&[doc], &[], IndexState::Complete).expect("write");
    let hit = &search(&index, "widget", Audience::Public).hits[0];
    assert!(hit.snippet.contains("<b>widget</b>"), "{}", hit.snippet);
    assert!(
        hit.snippet.contains("&lt;script&gt;") && !hit.snippet.contains("<script>"),
        "{}",
        hit.snippet
    );
}

#[test]
fn similar_finds_solved_tickets_with_their_resolution_and_leaves_out_the_ticket_itself() {
    let index = sample();
    let similar = Similar {
        text: "Cannot export invoices. The export button does nothing.",
        exclude: Some(DocKey { kind: Kind::Ticket, id: 10 }),
        limit: 5,
    };
    let hits = index.similar(&similar).expect("similar");
    assert_eq!(hits[0].key.encode(), "ticket:11");
    assert!(hits[0].resolution.as_deref().is_some_and(|r| r.contains("Clear the browser cache")));
    assert!(hits.iter().all(|h| h.key.encode() != "ticket:10" && h.key.encode() != "article:2"));
}

#[test]
fn replacing_and_removing_documents_keeps_one_copy_per_key() {
    let index = sample();
    index
        .write(
            &[article(1, "Changing your password", "Settings, then Security.", "published", "en")],
            &[DocKey { kind: Kind::Article, id: 4 }],
            IndexState::Complete,
        )
        .expect("write");
    let mut all = index.keys().expect("keys").into_iter().map(DocKey::encode).collect::<Vec<_>>();
    all.sort();
    assert_eq!(all, ["article:1", "article:2", "article:3", "ticket:10", "ticket:11"]);
    assert_eq!(
        search(&index, "changing", Audience::Public).hits[0].title,
        "Changing your password"
    );
}

#[test]
fn an_index_is_complete_only_after_a_complete_commit_and_garbage_is_replaced() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("index");
    let (index, state) = SearchIndex::open(&path).expect("open");
    assert_eq!(state, IndexState::NeedsRebuild);
    index
        .write(&[article(1, "One", "Body", "published", "en")], &[], IndexState::NeedsRebuild)
        .expect("write");
    drop(index);
    assert_eq!(SearchIndex::open(&path).expect("open").1, IndexState::NeedsRebuild);
    let (index, _) = SearchIndex::open(&path).expect("open");
    index.write(&[], &[], IndexState::Complete).expect("write");
    drop(index);
    let (index, state) = SearchIndex::open(&path).expect("open");
    assert_eq!((state, index.len()), (IndexState::Complete, 1));
    drop(index);
    std::fs::remove_dir_all(&path).expect("remove");
    std::fs::create_dir_all(&path).expect("mkdir");
    std::fs::write(path.join("meta.json"), "not json").expect("write garbage");
    let (index, state) = SearchIndex::open(&path).expect("open over garbage");
    assert_eq!((state, index.len()), (IndexState::NeedsRebuild, 0));
}

#[test]
fn in_a_large_index_a_common_word_ranks_but_only_rarer_words_make_a_match() {
    let index = SearchIndex::in_memory().expect("index");
    let docs: Vec<Doc> = (0..6000)
        .map(|id| {
            ticket(
                id,
                1,
                if id % 600 == 0 { "Printer out of toner" } else { "Printer offline" },
                "The printer stopped.",
                "",
                None,
            )
        })
        .collect();
    index.write(&docs, &[], IndexState::Complete).expect("write");
    assert_eq!(
        search(&index, "printer", Audience::Agent).total,
        6000,
        "alone, a common word still finds everything"
    );
    let both = search(&index, "printer toner", Audience::Agent);
    assert_eq!(both.total, 10, "with a rarer word, only its documents match");
    assert!(both.hits.iter().all(|h| h.title.contains("toner")));
}

/// 30,000 tickets: "alpha beta gamma" (common words) in the subjects of 6,000, "restart" in
/// 3,000 of those (solved), "toner" (a rare word) in the subjects of 10 and deep in the long
/// bodies of 10 more.
fn common_and_rare() -> SearchIndex {
    let index = SearchIndex::in_memory().expect("index");
    let long = format!("toner {}", "words ".repeat(200));
    let docs: Vec<Doc> = (0..30_000)
        .map(|id| match id {
            id if id % 3000 == 1 => ticket(id, 1, "Replace the toner", "Open the cover.", "", None),
            id if id % 3000 == 2 => ticket(id, 1, "Other", &long, "", None),
            id if id % 10 == 0 => ticket(
                id,
                1,
                "Alpha beta gamma",
                &format!("Restart the printer.{}", " Then wait.".repeat((id / 10 % 13) as usize)),
                "",
                Some("Restart it."),
            ),
            id if id % 5 == 0 => ticket(id, 1, "Alpha beta gamma", "Nothing else.", "", None),
            id => ticket(id, 1, "Other", "Nothing else.", "", None),
        })
        .collect();
    index.write(&docs, &[], IndexState::Complete).expect("write");
    index
}

fn hits_of(index: &SearchIndex, text: &str) -> (u64, Vec<(DocKey, i64)>) {
    let results = index
        .search(
            &SearchRequest { text: text.into(), limit: 10, ..SearchRequest::default() },
            Audience::Agent,
        )
        .expect("search");
    (
        results.total,
        results.hits.iter().map(|h| (h.key, (h.score * 1000.0).round() as i64)).collect(),
    )
}

#[test]
fn common_words_rank_only_the_documents_that_hold_a_rarer_word() {
    let index = common_and_rare();
    let (total, hits) = hits_of(&index, "alpha beta gamma toner");
    assert_eq!((total, hits.len()), (20, 10));
    let titles: Vec<String> = index
        .search(
            &SearchRequest { text: "alpha toner".into(), limit: 10, ..SearchRequest::default() },
            Audience::Agent,
        )
        .expect("search")
        .hits
        .into_iter()
        .map(|h| h.title)
        .collect();
    assert!(titles.iter().all(|t| t == "Replace the toner"), "{titles:?}");
}

#[test]
fn ranking_the_best_candidates_of_many_matches_finds_the_same_top_hits_as_ranking_them_all() {
    let mut index = common_and_rare();
    let every = hits_of(&index, "alpha restart");
    index.effort = Effort { rank_every_match_up_to: 0, ranked_candidates: 50, ..Effort::default() };
    let candidates = hits_of(&index, "alpha restart");
    // Equal scores may come in either order: the hits are the same when their scores are.
    let scores = |hits: &[(DocKey, i64)]| hits.iter().map(|h| h.1).collect::<Vec<_>>();
    assert_eq!(every.0, 3000, "documents with the rarer word");
    assert_eq!(candidates.0, every.0);
    assert_eq!(scores(&candidates.1), scores(&every.1));
}

#[test]
fn many_matches_are_counted_from_a_sample_marked_estimated_and_few_exactly() {
    let mut index = common_and_rare();
    let exact = index
        .search(
            &SearchRequest { text: "alpha".into(), limit: 5, ..SearchRequest::default() },
            Audience::Agent,
        )
        .expect("search");
    index.effort = Effort { count_exactly: 600, ..Effort::default() };
    let sampled = index
        .search(
            &SearchRequest { text: "alpha".into(), limit: 5, ..SearchRequest::default() },
            Audience::Agent,
        )
        .expect("search");

    assert_eq!(
        (exact.total, exact.counts.status["solved"], exact.counts.estimated),
        (6000, 3000, false)
    );
    assert!(sampled.counts.estimated);
    assert!((5400..=6600).contains(&sampled.total), "about 6,000: {}", sampled.total);
    let solved = sampled.counts.status["solved"];
    assert!((2700..=3300).contains(&solved), "about 3,000 solved: {solved}");
}
