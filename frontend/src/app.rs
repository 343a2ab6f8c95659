//! The HTML shell, the routes, and the agent console's layout.

use leptos::prelude::*;
use leptos_meta::{MetaTags, Stylesheet, Title, provide_meta_context};
use leptos_router::components::{A, Outlet, ParentRoute, Redirect, Route, Router, Routes};
use leptos_router::{SsrMode, path};

use crate::api::{HOME_PATH, SIGN_IN_PATH, SignOut, Viewer, load_viewer};
use crate::components::ErrorNotice;
use crate::pages::{
    AgentHome, AgentSearchPage, AgentsPage, CannedResponsesPage, ChatsPage, ContentGapsPage,
    CustomerFieldsPage, CustomerPage, DuplicatesPage, HelpArticlePage, HelpCategoryPage, HelpHome,
    HelpSearchPage, KbEditorPage, KbListPage, MailboxesPage, MergeCustomersPage, NewTicketPage,
    NotFound, NotificationsLink, NotificationsPage, OrganizationPage, OrganizationsPage,
    OutboxPage, PortalHome, PortalNewRequest, PortalSignIn, PortalTicketPage, QuarantinePage,
    SetupPage, SignInPage, SlaReportPage, SlasPage, TeamsPage, TicketPage, TicketsPage,
    WidgetFrame, WidgetSitesPage,
};

/// The page the server renders around the app: head, hydration scripts, body.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <link rel="icon" href="/favicon.svg" type="image/svg+xml"/>
                <AutoReload options=options.clone()/>
                <HydrationScripts options/>
                <MetaTags/>
            </head>
            <body>
                <App/>
            </body>
        </html>
    }
}

/// The whole app: every route of the web UI.
///
/// Pages render in `Async` mode: the server waits for their data and sends complete HTML, so
/// they read and submit without JavaScript, and redirects are real HTTP redirects.
#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    // Effects run only in the browser, once the page is live: mark it, for people debugging and
    // for the browser tests, which wait for it before clicking.
    Effect::new(|_| {
        if let Some(root) = document().document_element() {
            let _ = root.set_attribute("data-hydrated", "true");
        }
    });
    view! {
        <Stylesheet id="frontdesk-css" href="/pkg/frontdesk.css"/>
        <Title text="frontdesk" formatter=crate::components::title_text/>
        <Router>
            <Routes fallback=NotFound>
                <Route path=path!("/") view=Landing ssr=SsrMode::Async/>
                <Route path=path!("/login") view=SignInPage ssr=SsrMode::Async/>
                <Route path=path!("/setup") view=SetupPage ssr=SsrMode::Async/>
                <Route path=path!("/help") view=HelpHome ssr=SsrMode::Async/>
                <Route path=path!("/help/search") view=HelpSearchPage ssr=SsrMode::Async/>
                <Route path=path!("/help/categories/:slug") view=HelpCategoryPage ssr=SsrMode::Async/>
                <Route path=path!("/help/articles/:slug") view=HelpArticlePage ssr=SsrMode::Async/>
                <Route path=path!("/portal") view=PortalHome ssr=SsrMode::Async/>
                <Route path=path!("/portal/new") view=PortalNewRequest ssr=SsrMode::Async/>
                <Route path=path!("/portal/sign-in/:token") view=PortalSignIn ssr=SsrMode::Async/>
                <Route path=path!("/portal/tickets/:number") view=PortalTicketPage ssr=SsrMode::Async/>
                <Route path=path!("/widget/frame") view=WidgetFrame ssr=SsrMode::Async/>
                <ParentRoute path=path!("/app") view=AgentLayout ssr=SsrMode::Async>
                    <Route path=path!("") view=AgentHome ssr=SsrMode::Async/>
                    <Route path=path!("tickets") view=TicketsPage ssr=SsrMode::Async/>
                    <Route path=path!("chats") view=ChatsPage ssr=SsrMode::Async/>
                    <Route path=path!("search") view=AgentSearchPage ssr=SsrMode::Async/>
                    <Route path=path!("kb") view=KbListPage ssr=SsrMode::Async/>
                    <Route path=path!("kb/new") view=KbEditorPage ssr=SsrMode::Async/>
                    <Route path=path!("kb/:id") view=KbEditorPage ssr=SsrMode::Async/>
                    <Route path=path!("tickets/new") view=NewTicketPage ssr=SsrMode::Async/>
                    <Route path=path!("tickets/:number") view=TicketPage ssr=SsrMode::Async/>
                    <Route path=path!("customers/duplicates") view=DuplicatesPage ssr=SsrMode::Async/>
                    <Route path=path!("customers/:id") view=CustomerPage ssr=SsrMode::Async/>
                    <Route path=path!("organizations") view=OrganizationsPage ssr=SsrMode::Async/>
                    <Route path=path!("organizations/:id") view=OrganizationPage ssr=SsrMode::Async/>
                    <Route path=path!("customers/:id/merge/:other") view=MergeCustomersPage ssr=SsrMode::Async/>
                    <Route path=path!("settings/agents") view=AgentsPage ssr=SsrMode::Async/>
                    <Route path=path!("settings/outbox") view=OutboxPage ssr=SsrMode::Async/>
                    <Route path=path!("settings/mailboxes") view=MailboxesPage ssr=SsrMode::Async/>
                    <Route path=path!("settings/quarantine") view=QuarantinePage ssr=SsrMode::Async/>
                    <Route path=path!("settings/teams") view=TeamsPage ssr=SsrMode::Async/>
                    <Route path=path!("settings/customer-fields") view=CustomerFieldsPage ssr=SsrMode::Async/>
                    <Route path=path!("settings/slas") view=SlasPage ssr=SsrMode::Async/>
                    <Route path=path!("settings/widget-sites") view=WidgetSitesPage ssr=SsrMode::Async/>
                    <Route path=path!("settings/canned-responses") view=CannedResponsesPage ssr=SsrMode::Async/>
                    <Route path=path!("settings/content-gaps") view=ContentGapsPage ssr=SsrMode::Async/>
                    <Route path=path!("notifications") view=NotificationsPage ssr=SsrMode::Async/>
                    <Route path=path!("reports/sla") view=SlaReportPage ssr=SsrMode::Async/>
                </ParentRoute>
            </Routes>
        </Router>
    }
}

/// Who is looking, loaded once per page by the layout and shared with the pages inside it.
pub type ViewerResource = Resource<Result<Viewer, crate::api::ApiError>>;

/// `/`: sends people where they belong: setup on first run, the console if signed in, else sign-in.
#[component]
fn Landing() -> impl IntoView {
    let viewer = Resource::new_blocking(|| (), |()| load_viewer());
    view! {
        <Suspense>
            {move || Suspend::new(async move {
                let target = match viewer.await {
                    Ok(Viewer { setup_complete: false, .. }) => "/setup",
                    Ok(Viewer { agent: Some(_), .. }) => HOME_PATH,
                    _ => SIGN_IN_PATH,
                };
                view! { <Redirect path=target/> }
            })}
        </Suspense>
    }
}

/// The keyboard shortcut overlay (`?`).
#[component]
fn ShortcutHelp(on_close: impl Fn() + Send + Sync + 'static) -> impl IntoView {
    view! {
        <div class="overlay" role="dialog" aria-modal="true" aria-labelledby="shortcuts-title" id="shortcut-help">
            <div class="card overlay-card">
                <h2 id="shortcuts-title">"Keyboard shortcuts"</h2>
                <dl class="shortcuts">
                    {crate::keyboard::SHORTCUTS.map(|(key, what)| view! { <dt><kbd>{key}</kbd></dt><dd>{what}</dd> })}
                </dl>
                <button type="button" class="small" on:click=move |_| on_close()>"Close"</button>
            </div>
        </div>
    }
}

/// Moves focus to the search box in the navigation (the `/` shortcut).
fn focus_global_search(event: &leptos::ev::KeyboardEvent) {
    use leptos::wasm_bindgen::JsCast;
    if let Some(field) = document()
        .get_element_by_id("global-search")
        .and_then(|e| e.dyn_into::<web_sys::HtmlElement>().ok())
    {
        event.prevent_default();
        let _ = field.focus();
    }
}

/// Everything under `/app`: the navigation beside the page. Signed-out visitors go to sign-in.
#[component]
fn AgentLayout() -> impl IntoView {
    let viewer: ViewerResource = Resource::new_blocking(|| (), |()| load_viewer());
    provide_context(viewer);
    crate::live::Live::provide();
    let sign_out = ServerAction::<SignOut>::new();
    let show_help = RwSignal::new(false);
    crate::keyboard::on_shortcut(move |key, event| match key {
        "?" => show_help.update(|shown| *shown = !*shown),
        "/" => focus_global_search(event),
        "Escape" => show_help.set(false),
        _ => {}
    });
    view! {
        <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match viewer.await {
                    Ok(Viewer { agent: Some(agent), .. }) => {
                        let is_admin = agent.is_admin();
                        view! {
                            <div class="console">
                                <nav class="sidebar" aria-label="Main">
                                    <a class="brand" href=HOME_PATH>"frontdesk"</a>
                                    <form class="global-search" method="get" action="/app/search" role="search">
                                        <label for="global-search" class="visually-hidden">"Search"</label>
                                        <input id="global-search" type="search" name="q" placeholder="Search  /" autocomplete="off"/>
                                    </form>
                                    <A href=HOME_PATH exact=true>"Home"</A>
                                    <A href="/app/tickets">"Tickets"</A>
                                    <crate::pages::ChatsLink/>
                                    <A href="/app/organizations">"Organizations"</A>
                                    <A href="/app/customers/duplicates">"Duplicates"</A>
                                    <A href="/app/kb">"Knowledge base"</A>
                                    <A href="/app/settings/canned-responses">"Canned responses"</A>
                                    <NotificationsLink/>
                                    <Show when=move || is_admin>
                                        <p class="nav-heading">"Reports"</p>
                                        <A href="/app/reports/sla">"SLA compliance"</A>
                                        <p class="nav-heading">"Settings"</p>
                                        <A href="/app/settings/agents">"Agents"</A>
                                        <A href="/app/settings/teams">"Teams"</A>
                                        <A href="/app/settings/customer-fields">"Customer fields"</A>
                                        <A href="/app/settings/slas">"SLAs"</A>
                                        <A href="/app/settings/widget-sites">"Chat widget"</A>
                                        <A href="/app/settings/content-gaps">"Articles to write"</A>
                                        <A href="/app/settings/mailboxes">"Mailboxes"</A>
                                        <A href="/app/settings/quarantine">"Quarantine"</A>
                                        <A href="/app/settings/outbox">"Outbox"</A>
                                    </Show>
                                    <div class="me">
                                        <span class="me-name">{agent.name.clone()}</span>
                                        <span class="me-role">{agent.role.label()}</span>
                                        <ActionForm action=sign_out>
                                            <button type="submit" class="link-button" id="sign-out">"Sign out"</button>
                                        </ActionForm>
                                    </div>
                                </nav>
                                <main class="content">
                                    <Outlet/>
                                </main>
                                <Show when=move || show_help.get()>
                                    <ShortcutHelp on_close=move || show_help.set(false)/>
                                </Show>
                            </div>
                        }
                            .into_any()
                    }
                    Ok(_) => view! { <Redirect path=SIGN_IN_PATH/> }.into_any(),
                    Err(e) => view! { <ErrorNotice error=e/> }.into_any(),
                }
            })}
        </Suspense>
    }
}
