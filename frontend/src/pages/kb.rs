//! The agents' knowledge base (`/app/kb`): every article in any status and locale, and the
//! editor (`/app/kb/new`, `/app/kb/:id`) with a live preview beside the markdown and the
//! article's history.
//!
//! The preview is rendered by the server exactly as the help centre publishes it (sanitized
//! HTML), asked for once typing pauses, and set as inner HTML; everything else is text. A
//! rejected save leaves the form as the agent typed it, with each problem beside its field.

use frontdesk_core::kb::{ArticleDraft, ArticleStatus, EditableArticle};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_navigate, use_params_map, use_query_map};

use crate::api::{
    ApiError, SaveKbArticle, list_kb_articles, list_kb_categories, load_kb_article,
    preview_kb_article,
};
use crate::components::{ErrorNotice, Field, action_error, debounced, not_found_status};

/// How long typing must pause before the preview is rendered again.
const PREVIEW_AFTER: std::time::Duration = std::time::Duration::from_millis(250);

/// The list's status tabs: `(query value, label)`; empty shows every status.
const STATUS_TABS: [(&str, &str); 4] =
    [("", "All"), ("draft", "Drafts"), ("internal", "Internal"), ("published", "Published")];

/// `/app/kb`: every article, most recently changed first, by status.
#[component]
pub fn KbListPage() -> impl IntoView {
    let params = use_query_map();
    let status = Memo::new(move |_| params.read().get("status").unwrap_or_default());
    let articles = Resource::new(move || status.get(), list_kb_articles);
    view! {
        <Title text="Knowledge base · frontdesk"/>
        <header class="page-header">
            <h1>"Knowledge base"</h1>
            <a class="button primary" id="new-article" href="/app/kb/new">"New article"</a>
        </header>
        <nav class="tabs" aria-label="Article status">
            {STATUS_TABS.map(|(key, label)| view! {
                <a
                    href=if key.is_empty() { "/app/kb".to_owned() } else { format!("/app/kb?status={key}") }
                    class="tab"
                    class:active=move || status.get() == key
                    aria-current=move || (status.get() == key).then_some("page")
                >
                    {label}
                </a>
            })}
        </nav>
        <Transition fallback=|| view! { <p class="loading">"Loading articles…"</p> }>
            {move || Suspend::new(async move {
                match articles.await {
                    Ok(list) if list.is_empty() => view! { <p class="empty-state">"No articles here yet."</p> }.into_any(),
                    Ok(list) => view! {
                        <table class="table" id="kb-articles">
                            <thead>
                                <tr><th>"Title"</th><th>"Status"</th><th>"Locale"</th><th>"Category"</th><th>"Author"</th><th>"Updated"</th></tr>
                            </thead>
                            <tbody>
                                {list.into_iter().map(|a| view! {
                                    <tr data-slug=a.slug.clone()>
                                        <td><a href=format!("/app/kb/{}", a.id)>{a.title}</a></td>
                                        <td class="status">{a.status.label()}</td>
                                        <td>{a.locale}</td>
                                        <td>{a.category.unwrap_or_default()}</td>
                                        <td>{a.author.unwrap_or_else(|| "import".to_owned())}</td>
                                        <td>{a.updated_at.display_utc()}</td>
                                    </tr>
                                }).collect_view()}
                            </tbody>
                        </table>
                    }
                        .into_any(),
                    Err(e) => view! { <ErrorNotice error=e/> }.into_any(),
                }
            })}
        </Transition>
    }
}

/// `/app/kb/new` and `/app/kb/:id`: the editor. A new article, once saved, opens at its own
/// address.
#[component]
pub fn KbEditorPage() -> impl IntoView {
    let params = use_params_map();
    let id = Memo::new(move |_| params.read().get("id"));
    let save = ServerAction::<SaveKbArticle>::new();
    // Reload the article (and its history) after each successful save only: a failed one keeps
    // the form as typed.
    let saved = RwSignal::new(0u64);
    let navigate = use_navigate();
    Effect::new(move |_| {
        if let Some(Ok(saved_id)) = save.value().get() {
            if id.get_untracked().is_none() {
                navigate(&format!("/app/kb/{saved_id}"), Default::default());
            } else {
                saved.update(|n| *n += 1);
            }
        }
    });
    let article = Resource::new(
        move || (id.get(), saved.get()),
        |(id, _)| async move {
            match id {
                None => Ok(None),
                Some(text) => match text.parse() {
                    Ok(id) => load_kb_article(id).await.map(Some),
                    Err(_) => Err(ApiError::NotFound),
                },
            }
        },
    );
    let categories = Resource::new(move || saved.get(), |_| list_kb_categories());
    // The preview is made with the page, not inside the form once the article has loaded: a
    // resource made inside a resolved Suspense gets one id on the server and another in the
    // browser, and the page then fails to hydrate. Until the agent types, it shows the stored body.
    let edited = RwSignal::new(None::<String>);
    let settled =
        debounced(Signal::derive(move || edited.get().unwrap_or_default()), PREVIEW_AFTER);
    let preview = Resource::new(
        move || (id.get(), saved.get(), edited.with(Option::is_some).then(|| settled.get())),
        |(id, _, typed)| async move {
            let body = match (typed, id.and_then(|id| id.parse::<i64>().ok())) {
                (Some(body), _) => body,
                (None, Some(id)) => {
                    load_kb_article(id).await.map(|a| a.draft.body).unwrap_or_default()
                }
                (None, None) => String::new(),
            };
            if body.trim().is_empty() { Ok(String::new()) } else { preview_kb_article(body).await }
        },
    );
    view! {
        <Transition fallback=|| view! { <p class="loading">"Loading the article…"</p> }>
            {move || Suspend::new(async move {
                let categories = categories.await.unwrap_or_default();
                match article.await {
                    Ok(None) => view! {
                        <Title text="New article · frontdesk"/>
                        <header class="page-header"><h1>"New article"</h1></header>
                        <ArticleForm id=None draft=ArticleDraft { locale: "en".into(), status: ArticleStatus::Draft.as_str().into(), ..ArticleDraft::default() } categories save edited preview/>
                    }
                        .into_any(),
                    Ok(Some(a)) => view! {
                        <Title text=format!("{} · Knowledge base · frontdesk", a.draft.title)/>
                        <header class="page-header">
                            <h1>{a.draft.title.clone()}</h1>
                            {(a.draft.status == ArticleStatus::Published.as_str() && a.draft.locale == "en").then(|| view! {
                                <a class="button" id="view-published" href=format!("/help/articles/{}", a.draft.slug) target="_blank" rel="noopener">"View in the help center"</a>
                            })}
                        </header>
                        <ArticleForm id=Some(a.id) draft=a.draft.clone() categories save edited preview/>
                        <History article=a/>
                    }
                        .into_any(),
                    Err(ApiError::NotFound) => {
                        not_found_status();
                        view! {
                            <Title text="Not found · frontdesk"/>
                            <p class="empty-state" id="article-not-found">"There is no such article. " <a href="/app/kb">"All articles"</a></p>
                        }
                            .into_any()
                    }
                    Err(e) => view! { <ErrorNotice error=e/> }.into_any(),
                }
            })}
        </Transition>
    }
}

/// The article form with the markdown beside its live preview.
#[component]
fn ArticleForm(
    id: Option<i64>,
    draft: ArticleDraft,
    categories: Vec<String>,
    save: ServerAction<SaveKbArticle>,
    /// The body as the agent typed it (`None` until they do).
    edited: RwSignal<Option<String>>,
    /// The rendered preview of the body.
    preview: Resource<Result<String, ApiError>>,
) -> impl IntoView {
    let result = move || save.value().get();
    let error = move |field: &'static str| action_error(result, field);
    let body_error = error("body");
    view! {
        <ActionForm action=save attr:id="article-form" attr:class="article-form">
            <input type="hidden" name="id" value=id.map(|i| i.to_string()).unwrap_or_default()/>
            <div class="form-grid">
                <Field label="Title" name="title" value=draft.title error=error("title")/>
                <Field label="Slug (the address; empty: made from the title)" name="slug" value=draft.slug required=false error=error("slug")/>
            </div>
            <div class="form-grid">
                <Field label="Locale (en, pt-BR…)" name="locale" value=draft.locale error=error("locale")/>
                <div class="field" class:invalid=move || error("category").get().is_some()>
                    <label for="field-category">"Category (pick one or type a new name)"</label>
                    <input id="field-category" name="category" list="kb-categories" value=draft.category autocomplete="off"/>
                    <datalist id="kb-categories">
                        {categories.into_iter().map(|c| view! { <option value=c></option> }).collect_view()}
                    </datalist>
                    <p class="field-error" id="field-category-error">{move || error("category").get()}</p>
                </div>
            </div>
            <div class="form-grid">
                <Field label="Tags (comma-separated)" name="tags" value=draft.tags required=false error=error("tags")/>
                <div class="field" class:invalid=move || error("status").get().is_some()>
                    <label for="field-status">"Status"</label>
                    <select id="field-status" name="status">
                        {ArticleStatus::ALL.iter().map(|s| view! {
                            <option value=s.as_str() selected=draft.status == s.as_str()>{s.label()}</option>
                        }).collect_view()}
                    </select>
                    <p class="field-error" id="field-status-error">{move || error("status").get()}</p>
                </div>
            </div>
            <div class="editor-panes">
                <div class="field" class:invalid=move || body_error.get().is_some()>
                    <label for="field-body">"Body (Markdown)"</label>
                    <textarea id="field-body" name="body" rows="22" on:input=move |ev| edited.set(Some(event_target_value(&ev)))>{crate::components::textarea_text(draft.body)}</textarea>
                    <p class="field-error" id="field-body-error">{move || body_error.get()}</p>
                </div>
                <div class="field">
                    <span class="label">"Preview (as the help center shows it)"</span>
                    <div class="card message-body preview-pane" id="article-preview">
                        <Transition>
                            {move || Suspend::new(async move {
                                match preview.await {
                                    Ok(html) => view! { <div inner_html=html></div> }.into_any(),
                                    Err(e) => {
                                        let message = e.field("body").unwrap_or_else(|| e.to_string());
                                        view! { <p class="form-error" role="alert">{message}</p> }.into_any()
                                    }
                                }
                            })}
                        </Transition>
                    </div>
                </div>
            </div>
            <p class="form-error" role="alert">{move || error("*").get()}</p>
            <p class="form-success" role="status" id="article-saved">{move || matches!(result(), Some(Ok(_))).then_some("Saved.")}</p>
            <button type="submit" class="primary" id="save-article" disabled=move || save.pending().get()>"Save"</button>
        </ActionForm>
    }
}

/// Who wrote each version of the article and when, newest first.
#[component]
fn History(article: EditableArticle) -> impl IntoView {
    let by = |author: Option<String>| author.unwrap_or_else(|| "import".to_owned());
    view! {
        <section class="card" id="revisions">
            <h2>"History"</h2>
            <ol class="revisions">
                <li class="current">
                    <strong>"Current version"</strong>
                    {format!(" · {} · {}", by(article.author), article.updated_at.display_utc())}
                </li>
                {article.revisions.into_iter().map(|r| view! {
                    <li data-revision=r.id.to_string()>
                        <span class="revision-author">{by(r.author)}</span>
                        {format!(" · {} · ", r.created_at.display_utc())}
                        <span class="muted">{r.title}</span>
                    </li>
                }).collect_view()}
            </ol>
        </section>
    }
}
