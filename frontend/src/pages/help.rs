//! The public help centre (`/help`): categories, category pages and article pages with stable
//! slug URLs, rendered on the server so they read without JavaScript. Published articles only.

use frontdesk_core::kb::help::HelpCategory;
use leptos::prelude::*;
use leptos_meta::{Meta, Title};
use leptos_router::hooks::use_params_map;

use crate::api::{ApiError, RateArticle, get_help_article, list_help_categories};
use crate::components::{ErrorNotice, PortalFrame, not_found_status};

use crate::pages::search::HelpSearchBox;

/// One category's article list.
#[component]
fn CategoryArticles(category: HelpCategory) -> impl IntoView {
    view! {
        <ul class="help-articles">
            {category.articles.into_iter().map(|a| view! { <li><a href=format!("/help/articles/{}", a.slug)>{a.title}</a></li> }).collect_view()}
        </ul>
    }
}

/// `/help`: every category and its articles.
#[component]
pub fn HelpHome() -> impl IntoView {
    let categories = Resource::new_blocking(|| (), |()| list_help_categories());
    view! {
        <Title text="Help center"/>
        <PortalFrame>
            <h1>"How can we help?"</h1>
            <HelpSearchBox/>
            <Suspense>
                {move || Suspend::new(async move {
                    match categories.await {
                        Ok(list) if list.is_empty() => view! { <p class="empty-state">"No articles yet."</p> }.into_any(),
                        Ok(list) => view! {
                            <div class="help-categories" id="help-categories">
                                {list.into_iter().map(|c| {
                                    let (id, href, name) = (format!("category-{}", c.slug), format!("/help/categories/{}", c.slug), c.name.clone());
                                    view! {
                                        <section class="card" id=id>
                                            <h2><a href=href>{name}</a></h2>
                                            <CategoryArticles category=c/>
                                        </section>
                                    }
                                }).collect_view()}
                            </div>
                        }
                            .into_any(),
                        Err(e) => view! { <ErrorNotice error=e/> }.into_any(),
                    }
                })}
            </Suspense>
        </PortalFrame>
    }
}

/// `/help/categories/:slug`: one category's articles.
#[component]
pub fn HelpCategoryPage() -> impl IntoView {
    let params = use_params_map();
    let slug = move || params.read().get("slug").unwrap_or_default();
    let categories = Resource::new_blocking(|| (), |()| list_help_categories());
    view! {
        <PortalFrame>
            <Suspense>
                {move || Suspend::new(async move {
                    let found = categories.await.and_then(|list| list.into_iter().find(|c| c.slug == slug()).ok_or(ApiError::NotFound));
                    match found {
                        Ok(category) => view! {
                            <Title text=format!("{} · Help center", category.name)/>
                            <p class="breadcrumbs"><a href="/help">"Help center"</a></p>
                            <h1>{category.name.clone()}</h1>
                            <CategoryArticles category/>
                        }
                            .into_any(),
                        Err(e) => view! { <NotFoundOr error=e/> }.into_any(),
                    }
                })}
            </Suspense>
        </PortalFrame>
    }
}

/// `/help/articles/:slug`: one article.
#[component]
pub fn HelpArticlePage() -> impl IntoView {
    let params = use_params_map();
    let article = Resource::new_blocking(
        move || params.read().get("slug").unwrap_or_default(),
        get_help_article,
    );
    view! {
        <PortalFrame>
            <Suspense>
                {move || Suspend::new(async move {
                    match article.await {
                        Ok(a) => view! {
                            <Title text=format!("{} · Help center", a.title)/>
                            <Meta name="description" content=a.title.clone()/>
                            <p class="breadcrumbs">
                                <a href="/help">"Help center"</a>
                                {a.category.clone().map(|(name, slug)| view! { " › " <a href=format!("/help/categories/{slug}")>{name}</a> })}
                            </p>
                            <article class="card help-article" id="help-article">
                                <h1>{a.title.clone()}</h1>
                                <div class="message-body" inner_html=a.html></div>
                                <p class="muted">{format!("Updated {}", a.updated_at.display_utc())}</p>
                            </article>
                            <Feedback slug=a.slug.clone()/>
                        }
                            .into_any(),
                        Err(e) => view! { <NotFoundOr error=e/> }.into_any(),
                    }
                })}
            </Suspense>
        </PortalFrame>
    }
}

/// "Was this helpful?": two buttons posting a vote; works as a plain form without JavaScript.
#[component]
fn Feedback(slug: String) -> impl IntoView {
    let rate = ServerAction::<RateArticle>::new();
    let slug = StoredValue::new(slug);
    view! {
        <section class="card feedback" id="feedback">
            {move || match rate.value().get() {
                Some(Ok(())) => view! { <p id="feedback-thanks">"Thanks for telling us."</p> }.into_any(),
                other => view! {
                    <ActionForm action=rate>
                        <input type="hidden" name="slug" value=slug.get_value()/>
                        <span>"Was this article helpful? "</span>
                        <button type="submit" class="small" name="helpful" value="true" id="helpful-yes">"Yes"</button>
                        " "
                        <button type="submit" class="small" name="helpful" value="false" id="helpful-no">"No"</button>
                        {other.and_then(Result::err).map(|e| view! { <ErrorNotice error=e/> })}
                    </ActionForm>
                }
                    .into_any(),
            }}
        </section>
    }
}

/// "Not found" with a way back (and a 404 status when rendered on the server), or the error.
#[component]
fn NotFoundOr(error: ApiError) -> impl IntoView {
    match error {
        ApiError::NotFound => {
            not_found_status();
            view! {
                <Title text="Not found · Help center"/>
                <h1>"We could not find that page"</h1>
                <p><a href="/help">"Browse the help center"</a></p>
            }
            .into_any()
        }
        other => view! { <ErrorNotice error=other/> }.into_any(),
    }
}
