//! Chat settings: `/app/settings/widget-sites` (admins add the websites that embed the widget,
//! with the snippet to paste and the identity secret) and `/app/settings/canned-responses`
//! (every agent manages the replies picked with `/` in the chat composer).

use frontdesk_core::chats::{CannedResponse, WidgetSite};
use leptos::prelude::*;
use leptos_meta::Title;

use crate::api::{
    DeleteCannedResponse, SaveCannedResponse, SaveWidgetSite, list_canned_responses,
    list_widget_sites,
};
use crate::components::{ErrorNotice, Field, TextAreaField, action_error};

/// The widget sites page (admins).
#[component]
pub fn WidgetSitesPage() -> impl IntoView {
    let save = ServerAction::<SaveWidgetSite>::new();
    let sites = Resource::new(move || save.version().get(), |_| list_widget_sites());
    let saved = move || save.value().get();
    view! {
        <Title text="Chat widget · frontdesk"/>
        <header class="page-header"><h1>"Chat widget"</h1></header>
        <section class="card">
            <h2>"New website"</h2>
            <ActionForm action=save attr:id="new-widget-site">
                <input type="hidden" name="id" value=""/>
                <Field label="Name" name="name" error=action_error(saved, "name")/>
                <TextAreaField label="Allowed origins (one per line, like https://shop.example.com)" name="allowed_origins" rows=3 error=action_error(saved, "allowed_origins")/>
                <Field label="Greeting" name="greeting" required=false error=action_error(saved, "greeting")/>
                <label class="inline-check"><input type="checkbox" name="ask_email" value="on" checked=true/>" Ask for an email before the chat"</label>
                <label class="inline-check"><input type="checkbox" name="enforce_identity" value="on"/>" Require identity verification for signed-in users"</label>
                <p class="form-error" role="alert">{move || action_error(saved, "*").get()}</p>
                <button type="submit" class="primary">"Add website"</button>
            </ActionForm>
        </section>
        <Transition fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match sites.await {
                    Ok(list) => list.into_iter().map(|site| view! { <SiteCard site/> }).collect_view().into_any(),
                    Err(e) => view! { <ErrorNotice error=e/> }.into_any(),
                }
            })}
        </Transition>
    }
}

/// One site: its snippet, its identity secret and how to sign user ids.
#[component]
fn SiteCard(site: WidgetSite) -> impl IntoView {
    let origin = window_origin();
    let snippet = format!(
        "<script>\n  window.frontdeskSettings = {{ position: \"right\", color: \"#0f766e\", launcherText: \"Chat with us\" }};\n  window.Frontdesk = window.Frontdesk || function () {{ (window.Frontdesk.q = window.Frontdesk.q || []).push(arguments); }};\n</script>\n<script async src=\"{origin}/widget.js\" data-site=\"{}\"></script>",
        site.public_token
    );
    view! {
        <section class="card widget-site" data-site=site.public_token.clone()>
            <h2>{site.name.clone()}</h2>
            <p class="muted">{if site.allowed_origins.is_empty() { "No origins allowed yet: the widget works nowhere.".to_owned() } else { format!("Allowed on {}", site.allowed_origins.join(", ")) }}</p>
            <h3>"Snippet"</h3>
            <pre class="snippet"><code>{snippet}</code></pre>
            <h3>"Identity verification"</h3>
            <p>"Your server signs the signed-in user's id with this secret and passes it to "<code>"Frontdesk('setUser', { id, hash })"</code>": "<code>"hash = hex(HMAC-SHA256(secret, id))"</code>"."
                {if site.enforce_identity { " Required: unsigned or wrongly signed users are refused." } else { " Not required: unsigned users chat anonymously." }}</p>
            <details><summary>"Show the secret"</summary><code class="secret">{site.identity_secret.clone()}</code></details>
        </section>
    }
}

/// The address frontdesk is reached at, for the snippet (empty while rendering on the server).
fn window_origin() -> String {
    #[cfg(feature = "hydrate")]
    {
        window().location().origin().unwrap_or_default()
    }
    #[cfg(not(feature = "hydrate"))]
    {
        String::new()
    }
}

/// The canned responses page.
#[component]
pub fn CannedResponsesPage() -> impl IntoView {
    let save = ServerAction::<SaveCannedResponse>::new();
    let delete = ServerAction::<DeleteCannedResponse>::new();
    let list = Resource::new(
        move || (save.version().get(), delete.version().get()),
        |_| list_canned_responses(),
    );
    let saved = move || save.value().get();
    view! {
        <Title text="Canned responses · frontdesk"/>
        <header class="page-header"><h1>"Canned responses"</h1></header>
        <section class="card">
            <h2>"New canned response"</h2>
            <p class="muted">"Type / and the shortcut in a chat reply to insert it."</p>
            <ActionForm action=save attr:id="new-canned-response">
                <input type="hidden" name="id" value=""/>
                <Field label="Shortcut" name="shortcut" error=action_error(saved, "shortcut")/>
                <Field label="Title" name="title" error=action_error(saved, "title")/>
                <TextAreaField label="Reply" name="body" rows=4 error=action_error(saved, "body")/>
                <p class="form-error" role="alert">{move || action_error(saved, "*").get()}</p>
                <button type="submit" class="primary">"Add"</button>
            </ActionForm>
        </section>
        <Transition fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match list.await {
                    Ok(items) if items.is_empty() => view! { <p class="empty-state">"No canned responses yet."</p> }.into_any(),
                    Ok(items) => view! {
                        <ul class="canned-list card" id="canned-responses">
                            {items.into_iter().map(|item| view! { <CannedItem item delete/> }).collect_view()}
                        </ul>
                    }.into_any(),
                    Err(e) => view! { <ErrorNotice error=e/> }.into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
fn CannedItem(item: CannedResponse, delete: ServerAction<DeleteCannedResponse>) -> impl IntoView {
    view! {
        <li data-shortcut=item.shortcut.clone()>
            <strong>{format!("/{}", item.shortcut)}</strong>" · "{item.title}
            <p class="chat-text">{item.body}</p>
            <ActionForm action=delete attr:class="inline">
                <input type="hidden" name="id" value=item.id.to_string()/>
                <button type="submit" class="small">"Delete"</button>
            </ActionForm>
        </li>
    }
}
