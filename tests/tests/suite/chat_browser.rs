//! Live chat end to end in headless Chromium: a plain page on another origin embeds the widget
//! snippet; an agent works the chat console on frontdesk's origin. What a person sees and clicks.

use frontdesk_tests::browser::{Browser, Page};
use frontdesk_tests::{PASSWORD, spawn_app};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A third-party website on its own port (so its own origin).
async fn host_site() -> (tokio::net::TcpListener, String) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("a port");
    let origin = format!("http://{}", listener.local_addr().expect("an address"));
    (listener, origin)
}

/// Serves `html` for every request.
fn serve(listener: tokio::net::TcpListener, html: String) {
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let html = html.clone();
            tokio::spawn(async move {
                let mut request = [0u8; 4096];
                let _ = stream.read(&mut request).await;
                let response = format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{html}",
                    html.len()
                );
                let _ = stream.write_all(response.as_bytes()).await;
            });
        }
    });
}

/// The shop's page with the snippet an admin copies from the widget settings.
fn shop_html(frontdesk: &str, site: &str) -> String {
    format!(
        r#"<!doctype html><html lang="en"><head><title>Shop</title></head><body><h1>Plain shop</h1>
<script>
  window.frontdeskSettings = {{ position: "right", color: "\#0f766e", launcherText: "Chat with us" }};
  window.Frontdesk = window.Frontdesk || function () {{ (window.Frontdesk.q = window.Frontdesk.q || []).push(arguments); }};
  window.__unread = [];
  Frontdesk("on", "unread", function (detail) {{ window.__unread.push(detail.count); }});
</script>
<script async src="{frontdesk}/widget.js" data-site="{site}"></script>
</body></html>"#
    )
}

/// Opens the widget's panel from the launcher and switches into its frame.
async fn open_panel(page: &Page) {
    page.click("#frontdesk-widget .fd-launcher").await;
    let frame = page.find("#frontdesk-widget iframe.fd-frame").await;
    frame.enter_frame().await.expect("into the panel");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_visitor_on_another_site_chats_with_an_agent_who_accepts_and_replies() {
    let app = spawn_app().await;
    let admin = app.create_admin("ada@example.com", "Ada").await;
    // Ada's capacity is 0, so the chat waits for her to accept it.
    app.execute("UPDATE agents SET chat_capacity = 0").await;
    let (listener, shop) = host_site().await;
    let site = app.create_widget_site(&admin, &shop, false).await;
    serve(listener, shop_html(&app.base_url, &site.public_token));
    let mut browser = Browser::start().await;

    let agent = browser.open().await;
    agent.sign_in(&app.base_url, "ada@example.com", PASSWORD).await;
    agent.goto(&format!("{}/app/chats", app.base_url)).await;
    agent.wait_for_hydration().await;
    agent.click("#chat-status [data-status=online]").await;
    agent.wait_for_text("#chat-status [aria-checked=true]", "Online").await;

    let visitor = browser.open().await;
    visitor.goto(&shop).await;
    open_panel(&visitor).await;
    visitor.fill("#fd-prechat input[name=name]", "Carol").await;
    visitor.fill("#fd-prechat input[name=email]", "carol@example.com").await;
    // While the first message is typed, help articles that may answer it are suggested.
    visitor.fill("#fd-prechat textarea[name=body]", "how do business hours work").await;
    visitor.wait_for_text("#fd-prechat #suggestions", "SLA policies and business hours").await;
    let payload =
        r#"<img src=x onerror="window.__xss=1"><script>window.__xss=2</script> Where is my order?"#;
    visitor.fill("#fd-prechat textarea[name=body]", payload).await;
    visitor.click("#fd-prechat button.fd-primary").await;
    visitor.wait_for_text("#fd-transcript .fd-msg.fd-visitor .fd-text", "Where is my order?").await;
    visitor.wait_for_text("#fd-status", "in line").await;

    // The agent is told: the sidebar count and the waiting list; she accepts.
    agent.wait_for_text("#chats-count", "1").await;
    agent.wait_for_text("#chat-queue", "Carol").await;
    agent.click("#chat-queue .accept-chat").await;
    agent.wait_for_text("#chat-transcript .chat-text", "Where is my order?").await;
    let shown =
        agent.find("#chat-transcript .from-visitor .chat-text").await.text().await.expect("text");
    assert_eq!(shown, payload, "the visitor's HTML is shown as text");
    assert_eq!(
        agent.eval("return window.__xss || null").await,
        serde_json::Value::Null,
        "and runs nothing"
    );
    agent.fill("#chat-reply", "Hi Carol, it ships today.").await;
    agent.click("#chat-composer button[type=submit]").await;

    visitor.wait_for_text("#fd-transcript .fd-agent .fd-text", "Hi Carol, it ships today.").await;
    visitor.wait_for_text("#fd-status", "Ada").await;
    assert_eq!(visitor.eval("return window.__xss || null").await, serde_json::Value::Null);

    // Closed, the launcher shows the unread count and a preview of the agent's message.
    visitor.click(".fd-close").await;
    visitor.client.enter_parent_frame().await.expect("back to the shop");
    agent.fill("#chat-reply", "Anything else?").await;
    agent.click("#chat-composer button[type=submit]").await;
    visitor.wait_for_text("#frontdesk-widget .fd-badge", "1").await;
    visitor.wait_for_text("#frontdesk-widget .fd-preview", "Anything else?").await;
    visitor.screenshot("chat-widget-unread").await;
    assert!(
        visitor.eval("return window.__unread.includes(1)").await == serde_json::Value::Bool(true),
        "the host page got the unread event"
    );

    // A reload keeps the conversation.
    visitor.goto(&shop).await;
    open_panel(&visitor).await;
    visitor.wait_for_text("#fd-transcript .fd-agent .fd-text", "Anything else?").await;
    let texts = visitor.eval("return [...document.querySelectorAll('#fd-transcript .fd-msg .fd-text')].map(e => e.textContent)").await;
    let texts: Vec<String> = serde_json::from_value(texts).expect("strings");
    assert_eq!(
        texts.iter().filter(|t| t.contains("Where is my order?")).count(),
        1,
        "history once, no duplicates: {texts:?}"
    );
    assert!(texts.iter().any(|t| t == "Hi Carol, it ships today."), "{texts:?}");

    // Files both ways: the visitor's image shows inline for the agent; the agent's file reaches
    // the visitor as a link that downloads for them.
    let files = tempfile::tempdir().expect("a temporary directory");
    let image = files.path().join("receipt.png");
    std::fs::write(&image, PNG_1X1).expect("an image file");
    let manual = files.path().join("manual <v2>.txt");
    std::fs::write(&manual, "Step one: unplug it.").expect("a text file");
    visitor.choose_file("#fd-file", &image).await;
    visitor.wait_for_text("#fd-transcript .fd-visitor .attachment-name", "receipt.png").await;
    agent.wait_for_text("#chat-transcript .from-visitor .attachment-name", "receipt.png").await;
    agent.find("#chat-transcript .from-visitor img.attachment-image").await;
    agent.choose_file("#chat-file", &manual).await;
    agent.wait_for_text("#chat-transcript .from-agent .attachment-name", "manual <v2>.txt").await;
    visitor.wait_for_text("#fd-transcript .fd-agent .attachment-name", "manual <v2>.txt").await;
    let downloaded = visitor
        .eval("const a = [...document.querySelectorAll('#fd-transcript .fd-agent a.attachment')].pop(); return fetch(a.href).then(r => r.text())")
        .await;
    assert_eq!(downloaded, serde_json::Value::String("Step one: unplug it.".into()));
}

/// The smallest PNG: one transparent pixel.
const PNG_1X1: &[u8] = &[
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52,
    0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1f, 0x15, 0xc4,
    0x89, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9c, 0x63, 0x00, 0x01, 0x00, 0x00,
    0x05, 0x00, 0x01, 0x0d, 0x0a, 0x2d, 0xb4, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4e, 0x44, 0xae,
    0x42, 0x60, 0x82,
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_a_phone_nothing_covers_the_panels_send_button_and_no_email_is_promised() {
    let app = spawn_app().await;
    let admin = app.create_admin("ada@example.com", "Ada").await;
    let (listener, shop) = host_site().await;
    let site = app.create_widget_site(&admin, &shop, false).await;
    serve(listener, shop_html(&app.base_url, &site.public_token));
    let mut browser = Browser::start().await;
    let visitor = browser.open().await;
    visitor.client.set_window_size(390, 844).await.expect("a phone-sized window");

    visitor.goto(&shop).await;
    open_panel(&visitor).await;
    let send = visitor.find("#fd-offline button[type=submit]").await;
    let promise = visitor.find("#fd-offline .fd-lead").await.text().await.unwrap_or_default();
    let (x, y, width, height) = send.rectangle().await.expect("where Send is");
    visitor.client.enter_parent_frame().await.expect("back to the shop");
    let (cx, cy) = (x + width / 2.0, y + height / 2.0);
    let on_top = visitor
        .eval(&format!(
            "const e = document.elementFromPoint({cx}, {cy}); return e ? e.className : null"
        ))
        .await;

    assert_eq!(
        on_top,
        serde_json::json!("fd-frame"),
        "the panel's Send button at ({cx}, {cy}) is what a tap there reaches"
    );
    assert!(!promise.contains("email"), "no email is sent yet, so none is promised: {promise}");
}
