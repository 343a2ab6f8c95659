//! The public help centre: server-rendered pages readable without JavaScript, published
//! articles only, article markdown rendered inert, and a sitemap.

use frontdesk_core::kb;
use frontdesk_tests::spawn_app;

fn article(slug: &str, status: &str, body: &str) -> (String, Result<String, String>) {
    let text = format!(
        "---\ntitle: Title of {slug}\nslug: {slug}\ncategory: Billing help\nstatus: {status}\n---\n{body}\n"
    );
    (format!("{slug}.md"), Ok(text))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn visitors_read_published_articles_only_rendered_inert_with_a_sitemap() {
    let app = spawn_app().await;
    let hostile = "Pay by card.\n\n<script>alert('owned')</script>\n\n[Click me](javascript:alert(1)) <img src=x onerror=alert(2)>";
    let report = kb::import(
        &app.ctx,
        vec![
            article("paying-invoices", "published", hostile),
            article("refund-policy-draft", "draft", "Secret plan."),
            article("agent-macros", "internal", "Internal only."),
        ],
    )
    .await
    .expect("import");
    assert_eq!(report.created, 3);
    let visitor = app.client();

    let home = visitor.get("/help").await;
    assert_eq!(home.status(), 200);
    let html = home.text().await.expect("body");
    assert!(
        html.contains("Title of paying-invoices")
            && html.contains("Getting started with frontdesk"),
        "published and starter articles are listed"
    );
    assert!(
        !html.contains("refund-policy-draft") && !html.contains("agent-macros"),
        "drafts and internal articles are not"
    );

    let page = visitor.get("/help/articles/paying-invoices").await;
    assert_eq!(page.status(), 200);
    let html = page.text().await.expect("body");
    let body = &html[html.find("id=\"help-article\"").expect("the article")..];
    assert!(body.contains("Pay by card."));
    assert!(
        !body.contains("<script>alert")
            && !body.contains("javascript:")
            && !body.contains("onerror"),
        "rendered inert: {body}"
    );

    for hidden in ["refund-policy-draft", "agent-macros", "no-such-article"] {
        assert_eq!(
            visitor.get(&format!("/help/articles/{hidden}")).await.status(),
            404,
            "{hidden}"
        );
    }
    let category = visitor.get("/help/categories/billing-help").await;
    assert_eq!(category.status(), 200);
    assert!(category.text().await.expect("body").contains("Title of paying-invoices"));
    assert_eq!(visitor.get("/help/categories/nope").await.status(), 404);

    let sitemap = visitor.get("/help/sitemap.xml").await;
    assert_eq!(sitemap.headers()["content-type"], "application/xml; charset=utf-8");
    let xml = sitemap.text().await.expect("body");
    assert!(xml.contains("/help/articles/paying-invoices</loc>"), "{xml}");
    assert!(!xml.contains("refund-policy-draft") && !xml.contains("agent-macros"), "{xml}");
}
