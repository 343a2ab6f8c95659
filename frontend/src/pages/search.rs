//! Search pages and panels: the agents' search (`/app/search`, results grouped by type, filters
//! with counts), the help-centre search (`/help/search`, readable without JavaScript, with
//! suggestions as the visitor types), the suggested articles the portal's request form shows,
//! the similar-answers panel on a ticket, and the admins' "articles to write" list.
//!
//! Snippets arrive as escaped HTML from the search index (only `<b>` around matched words is
//! markup), so they are set as inner HTML; everything else is text.

use frontdesk_core::search::{FacetCount, Found, FoundItem, SearchQuery};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use crate::api::{ApiError, list_content_gaps, search_everything, search_help, similar_answers};
use crate::components::{ErrorNotice, PortalFrame, SuggestedArticles};

/// The query in the page's URL (`?q=..&kind=..`), so searches are links and work as GET forms.
fn query_from_url() -> Memo<SearchQuery> {
    let params = use_query_map();
    Memo::new(move |_| {
        let p = params.read();
        let get = |k: &str| p.get(k).unwrap_or_default();
        SearchQuery {
            q: get("q"),
            as_you_type: false,
            kind: get("kind"),
            status: get("status"),
            tag: get("tag"),
            locale: get("locale"),
            from: get("from"),
            to: get("to"),
        }
    })
}

/// One group of filter values with counts; the picked one is marked, and picking it again clears it.
#[component]
fn Facet(
    path: &'static str,
    label: &'static str,
    key: &'static str,
    counts: Vec<FacetCount>,
    estimated: bool,
) -> impl IntoView {
    if counts.is_empty() {
        return None;
    }
    // The link keeps the other filters of the page's query string.
    let params = use_query_map().get_untracked();
    let picked = params.get(key).unwrap_or_default();
    Some(view! {
        <div class="facet" id=format!("facet-{key}")>
            <h3>{label}</h3>
            <ul>
                {counts.into_iter().map(|c| {
                    let on = c.value == picked;
                    let mut linked = params.clone();
                    if on { linked.remove(key); } else { linked.replace(key, c.value.clone()); }
                    let href = format!("{path}{}", linked.to_query_string());
                    view! {
                        <li class:picked=on>
                            <a href=href data-value=c.value.clone()>{c.value.replace('_', " ")}</a>
                            <span class="count">{if estimated { format!("~{}", c.count) } else { c.count.to_string() }}</span>
                        </li>
                    }
                }).collect_view()}
            </ul>
        </div>
    })
}

/// One result: title link, type and status, snippet, and a solved ticket's resolution.
#[component]
fn FoundRow(item: FoundItem) -> impl IntoView {
    let label = match item.number {
        Some(n) => format!("#{n} · {}", item.status.replace('_', " ")),
        None => item.status.replace('_', " "),
    };
    view! {
        <li class="found" data-kind=item.kind.clone()>
            <a class="found-title" href=item.url>{item.title}</a>
            <span class="muted">{format!(" {label}")}</span>
            <p class="snippet" inner_html=item.snippet_html></p>
            {item.resolution.map(|r| view! { <p class="resolution"><strong>"Resolution: "</strong>{r}</p> })}
        </li>
    }
}

/// The search form: a GET to `path`, so it works before (and without) hydration.
#[component]
fn SearchForm(
    path: &'static str,
    query: Memo<SearchQuery>,
    #[prop(optional)] suggest: bool,
) -> impl IntoView {
    let typed = RwSignal::new(query.get_untracked().q);
    view! {
        <form class="search-form" method="get" action=path role="search">
            <label for="search-q" class="visually-hidden">"Search"</label>
            <input
                id="search-q"
                type="search"
                name="q"
                value=move || query.get().q
                placeholder="Search…"
                autocomplete="off"
                on:input=move |ev| typed.set(event_target_value(&ev))
            />
            <button type="submit" class="primary" id="search-submit">"Search"</button>
        </form>
        <Show when=move || suggest>
            <SuggestedArticles text=typed.into()/>
        </Show>
    }
}

/// `/app/search`: everything an agent may find, grouped by type, with filters and counts.
#[component]
pub fn AgentSearchPage() -> impl IntoView {
    let query = query_from_url();
    let results = Resource::new(
        move || query.get(),
        |q| async move {
            if q.q.trim().is_empty() { Ok(Found::default()) } else { search_everything(q).await }
        },
    );
    view! {
        <Title text="Search · frontdesk"/>
        <header class="page-header"><h1>"Search"</h1></header>
        <SearchForm path="/app/search" query/>
        <Transition fallback=|| view! { <p class="loading">"Searching…"</p> }>
            {move || Suspend::new(async move {
                let q = query.get();
                match results.await {
                    Ok(found) => view! { <Results path="/app/search" found query=q grouped=true/> }.into_any(),
                    Err(e) => view! { <ErrorNotice error=e/> }.into_any(),
                }
            })}
        </Transition>
    }
}

/// The results with their filters, grouped by type for agents.
#[component]
fn Results(path: &'static str, found: Found, query: SearchQuery, grouped: bool) -> impl IntoView {
    if query.q.trim().is_empty() {
        return view! { <p class="empty-state">"Type a few words: an error message, a product name, a customer's question."</p> }.into_any();
    }
    if found.items.is_empty() {
        return view! { <p class="empty-state" id="no-results">{format!("Nothing found for “{}”.", query.q)}</p> }.into_any();
    }
    let Found { items, total, kinds, statuses, locales, tags, counts_estimated: estimated } = found;
    let groups: Vec<(&'static str, Vec<FoundItem>)> = if grouped {
        let (articles, tickets): (Vec<_>, Vec<_>) =
            items.into_iter().partition(|i| i.kind == "article");
        vec![("Articles", articles), ("Tickets", tickets)]
    } else {
        vec![("Results", items)]
    };
    view! {
        <div class="search-layout">
            <aside class="facets">
                <p class="muted" id="result-count">{if estimated { format!("about {total} found") } else { format!("{total} found") }}</p>
                <Facet path label="Type" key="kind" counts=kinds estimated/>
                <Facet path label="Status" key="status" counts=statuses estimated/>
                <Facet path label="Language" key="locale" counts=locales estimated/>
                <Facet path label="Tags" key="tag" counts=tags estimated/>
            </aside>
            <div class="search-results" id="search-results">
                {groups.into_iter().filter(|(_, list)| !list.is_empty()).map(|(title, list)| view! {
                    <section class="card">
                        <h2>{title}</h2>
                        <ol class="found-list">{list.into_iter().map(|item| view! { <FoundRow item/> }).collect_view()}</ol>
                    </section>
                }).collect_view()}
            </div>
        </div>
    }
    .into_any()
}

/// `/help/search`: published articles (and a signed-in customer's own tickets). Typos are
/// forgiven; suggestions appear while typing once the page is interactive.
#[component]
pub fn HelpSearchPage() -> impl IntoView {
    let query = query_from_url();
    let results = Resource::new_blocking(
        move || query.get(),
        |q| async move {
            if q.q.trim().is_empty() { Ok(Found::default()) } else { search_help(q).await }
        },
    );
    view! {
        <Title text="Search · Help center"/>
        <PortalFrame>
            <p class="breadcrumbs"><a href="/help">"Help center"</a></p>
            <h1>"Search the help center"</h1>
            <SearchForm path="/help/search" query suggest=true/>
            <Suspense>
                {move || Suspend::new(async move {
                    let q = query.get();
                    match results.await {
                        Ok(found) => view! { <Results path="/help/search" found query=q grouped=false/> }.into_any(),
                        Err(e) => view! { <ErrorNotice error=e/> }.into_any(),
                    }
                })}
            </Suspense>
        </PortalFrame>
    }
}

/// The help-centre search box for other help pages.
#[component]
pub fn HelpSearchBox() -> impl IntoView {
    view! {
        <form class="search-form" method="get" action="/help/search" role="search">
            <label for="help-q" class="visually-hidden">"Search the help center"</label>
            <input id="help-q" type="search" name="q" placeholder="Search the help center…"/>
            <button type="submit" class="primary">"Search"</button>
        </form>
    }
}

/// Appends `text` to the reply composer and focuses it (browser only).
fn insert_into_composer(text: &str) {
    use leptos::wasm_bindgen::JsCast;
    let Some(field) = document().get_element_by_id("composer-body") else { return };
    let Ok(field) = field.dyn_into::<web_sys::HtmlTextAreaElement>() else { return };
    let current = field.value();
    let joined = if current.trim().is_empty() {
        text.to_owned()
    } else {
        format!("{}\n\n{text}", current.trim_end())
    };
    field.set_value(&joined);
    if let Ok(event) = web_sys::Event::new("input") {
        let _ = field.dispatch_event(&event);
    }
    let _ = field.focus();
}

/// What an answer inserts: a solved ticket's resolution as a quote, or a link to an article.
fn insertion(item: &FoundItem) -> String {
    match &item.resolution {
        Some(resolution) => {
            resolution.lines().map(|l| format!("> {l}")).collect::<Vec<_>>().join("\n")
        }
        None => {
            let origin = window().location().origin().unwrap_or_default();
            format!("[{}]({origin}{})", item.title.replace(['[', ']'], ""), item.url)
        }
    }
}

/// On a ticket: solved tickets and articles like it, each insertable into the reply.
#[component]
pub fn SimilarAnswers(number: Memo<Option<i64>>) -> impl IntoView {
    let answers = Resource::new(
        move || number.get(),
        |n| async move {
            match n {
                Some(n) => similar_answers(n).await,
                None => Err(ApiError::NotFound),
            }
        },
    );
    view! {
        <section class="card similar" id="similar-answers">
            <h2>"Similar solved tickets and articles"</h2>
            <Transition fallback=|| view! { <p class="loading">"Looking for answers…"</p> }>
                {move || Suspend::new(async move {
                    match answers.await {
                        Ok(list) if list.is_empty() => view! { <p class="muted">"Nothing similar yet."</p> }.into_any(),
                        Ok(list) => view! {
                            <ol class="found-list">
                                {list.into_iter().map(|item| {
                                    let text = StoredValue::new(item.clone());
                                    let button = if item.resolution.is_some() { "Insert resolution" } else { "Insert link" };
                                    view! {
                                        <li class="found" data-kind=item.kind.clone()>
                                            <a class="found-title" href=item.url.clone()>{item.title.clone()}</a>
                                            <p class="snippet" inner_html=item.snippet_html.clone()></p>
                                            <button type="button" class="small insert-answer" on:click=move |_| insert_into_composer(&insertion(&text.get_value()))>{button}</button>
                                        </li>
                                    }
                                }).collect_view()}
                            </ol>
                        }
                            .into_any(),
                        Err(e) => view! { <ErrorNotice error=e/> }.into_any(),
                    }
                })}
            </Transition>
        </section>
    }
}

/// `/app/settings/content-gaps`: what customers looked for and did not find, and unhelpful
/// articles (admins).
#[component]
pub fn ContentGapsPage() -> impl IntoView {
    let gaps = Resource::new(|| (), |()| list_content_gaps());
    view! {
        <Title text="Articles to write · frontdesk"/>
        <header class="page-header"><h1>"Articles to write"</h1></header>
        <p class="lead">"Searches in the help center that found nothing, and articles readers found unhelpful."</p>
        <Transition fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match gaps.await {
                    Ok(list) if list.is_empty() => view! { <p class="empty-state">"Nothing yet: every search found something."</p> }.into_any(),
                    Ok(list) => view! {
                        <table class="table" id="content-gaps">
                            <thead><tr><th>"What"</th><th>"Source"</th><th>"Times"</th></tr></thead>
                            <tbody>
                                {list.into_iter().map(|g| view! {
                                    <tr>
                                        <td>{match g.slug {
                                            Some(slug) => view! { <a href=format!("/help/articles/{slug}")>{g.text}</a> }.into_any(),
                                            None => view! { <span>{g.text}</span> }.into_any(),
                                        }}</td>
                                        <td>{if g.source == "search" { "Search with no results" } else { "Voted unhelpful" }}</td>
                                        <td>{g.count}</td>
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
