//! The customer portal (`/portal/...`): open a request, sign in by link, follow and answer your
//! own tickets. No agent console here, and nothing but public replies.

use frontdesk_core::tickets::CustomerTicket;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;

use crate::api::{
    ApiError, PortalRedeem, PortalReply, PortalRequestLink, PortalSignOut, PortalSubmit,
    portal_ticket, portal_tickets,
};
use crate::components::{
    ErrorNotice, Field, PortalFrame, StatusBadge, SuggestedArticles, TextAreaField, action_error,
};

/// `/portal`: the customer's tickets, or how to get in.
#[component]
pub fn PortalHome() -> impl IntoView {
    let tickets = Resource::new_blocking(|| (), |()| portal_tickets());
    let sign_out = ServerAction::<PortalSignOut>::new();
    let request_link = ServerAction::<PortalRequestLink>::new();
    let link_value = move || request_link.value().get();
    view! {
        <Title text="Help center · frontdesk"/>
        <PortalFrame>
            <Suspense>
                {move || Suspend::new(async move {
                    match tickets.await {
                        Ok(list) => view! {
                            <header class="page-header">
                                <h1>"Your requests"</h1>
                                <ActionForm action=sign_out>
                                    <button type="submit" class="link-button" id="portal-sign-out">"Sign out"</button>
                                </ActionForm>
                            </header>
                            <PortalTicketList tickets=list/>
                        }
                            .into_any(),
                        Err(ApiError::Unauthenticated) => view! {
                            <h1>"Follow your requests"</h1>
                            <p class="lead">"Ask for a sign-in link here. It works once, for 30 minutes. Email delivery is not set up yet, so our team sends the link to you."</p>
                            <section class="card">
                                <ActionForm action=request_link>
                                    <Field label="Your email" name="email" kind="email" autocomplete="email" error=action_error(link_value, "email")/>
                                    <p class="form-error" role="alert">{move || action_error(link_value, "*").get()}</p>
                                    <p class="form-success" role="status">
                                        {move || matches!(link_value(), Some(Ok(()))).then_some("If that email has requests with us, a sign-in link is ready: our team will send it to you.")}
                                    </p>
                                    <button type="submit" class="primary">"Send me a link"</button>
                                </ActionForm>
                            </section>
                            <p>"New here? " <a href="/portal/new">"Open a request"</a></p>
                        }
                            .into_any(),
                        Err(e) => view! { <ErrorNotice error=e/> }.into_any(),
                    }
                })}
            </Suspense>
        </PortalFrame>
    }
}

#[component]
fn PortalTicketList(tickets: Vec<CustomerTicket>) -> impl IntoView {
    if tickets.is_empty() {
        return view! { <p class="empty-state">"You have no requests yet."</p> }.into_any();
    }
    view! {
        <ul class="portal-tickets" id="portal-tickets">
            {tickets.into_iter().map(|t| view! {
                <li data-number=t.number.to_string()>
                    <a href=format!("/portal/tickets/{}", t.number)>{format!("#{} {}", t.number, t.subject)}</a>
                    " "
                    <StatusBadge status=t.status/>
                    <span class="muted">{format!(" updated {}", t.updated_at.display_utc())}</span>
                </li>
            }).collect_view()}
        </ul>
    }
    .into_any()
}

/// `/portal/new`: the public request form. As the customer types the subject and message,
/// published articles that may already answer them appear before they send.
#[component]
pub fn PortalNewRequest() -> impl IntoView {
    let submit = ServerAction::<PortalSubmit>::new();
    let value = move || submit.value().get();
    let (subject, body) = (RwSignal::new(String::new()), RwSignal::new(String::new()));
    let typed = Signal::derive(move || format!("{} {}", subject.get(), body.get()));
    // Input events bubble up from both fields to the form's wrapper.
    let on_input = move |ev: leptos::ev::Event| {
        use leptos::wasm_bindgen::JsCast;
        let name = ev
            .target()
            .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
            .and_then(|e| e.get_attribute("name"));
        match name.as_deref() {
            Some("subject") => subject.set(event_target_value(&ev)),
            Some("body") => body.set(event_target_value(&ev)),
            _ => {}
        }
    };
    view! {
        <Title text="New request · frontdesk"/>
        <PortalFrame>
            <h1>"How can we help?"</h1>
            {move || match value() {
                Some(Ok(number)) => view! {
                    <section class="card" id="request-received">
                        <h2>{format!("Request #{number} received")}</h2>
                        <p>"Our team has it and will answer you. Keep this number to refer to your request."</p>
                    </section>
                }
                    .into_any(),
                _ => view! {
                    <section class="card">
                        <ActionForm action=submit>
                            <div class="form-grid">
                                <Field label="Your name" name="name" autocomplete="name" error=action_error(value, "name")/>
                                <Field label="Your email" name="email" kind="email" autocomplete="email" error=action_error(value, "email")/>
                            </div>
                            <div on:input=on_input>
                                <Field label="Subject" name="subject" error=action_error(value, "subject")/>
                                <TextAreaField label="Message" name="body" error=action_error(value, "body")/>
                            </div>
                            <section class="suggested" id="suggested-articles" aria-live="polite">
                                <SuggestedArticles text=typed detailed=true/>
                            </section>
                            <p class="form-error" role="alert">{move || action_error(value, "*").get()}</p>
                            <button type="submit" class="primary" disabled=move || submit.pending().get()>"Send request"</button>
                        </ActionForm>
                    </section>
                }
                    .into_any(),
            }}
        </PortalFrame>
    }
}

/// `/portal/sign-in/:token`: a button that uses the link. Opening the page alone does not, so
/// mail scanners that fetch links cannot use them up.
#[component]
pub fn PortalSignIn() -> impl IntoView {
    let params = use_params_map();
    let token = move || params.read().get("token").unwrap_or_default();
    let redeem = ServerAction::<PortalRedeem>::new();
    let value = move || redeem.value().get();
    view! {
        <Title text="Sign in · frontdesk"/>
        <PortalFrame>
            <h1>"Welcome back"</h1>
            <section class="card">
                <ActionForm action=redeem>
                    <input type="hidden" name="token" value=token/>
                    <p class="form-error" role="alert">{move || action_error(value, "*").get()}</p>
                    <button type="submit" class="primary" id="continue">"Continue to your requests"</button>
                </ActionForm>
            </section>
        </PortalFrame>
    }
}

/// `/portal/tickets/:number`: one of the customer's tickets, with a reply box.
#[component]
pub fn PortalTicketPage() -> impl IntoView {
    let params = use_params_map();
    let number =
        Memo::new(move |_| params.read().get("number").and_then(|n| n.parse::<i64>().ok()));
    let reply = ServerAction::<PortalReply>::new();
    let ticket = Resource::new(
        move || (number.get(), reply.version().get()),
        |(number, _)| async move {
            match number {
                Some(n) => portal_ticket(n).await,
                None => Err(ApiError::NotFound),
            }
        },
    );
    let value = move || reply.value().get();
    view! {
        <PortalFrame>
            <Transition fallback=|| view! { <p class="loading">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match ticket.await {
                        Ok(t) => view! {
                            <Title text=format!("#{} {} · frontdesk", t.number, t.subject)/>
                            <header class="page-header ticket-header">
                                <div>
                                    <p class="muted">{format!("Request #{}", t.number)}</p>
                                    <h1>{t.subject.clone()}</h1>
                                </div>
                                <div class="badges"><StatusBadge status=t.status/></div>
                            </header>
                            <ol class="messages" id="thread">
                                {t.messages.into_iter().map(|m| view! {
                                    <li class="message" class:from-customer=m.from_customer>
                                        <header>
                                            <strong>{m.author}</strong>
                                            <span class="muted">{format!(" · {}", m.created_at.display_utc())}</span>
                                        </header>
                                        <div class="message-body" inner_html=m.body_html></div>
                                    </li>
                                }).collect_view()}
                            </ol>
                            <section class="card composer">
                                <ActionForm action=reply>
                                    <input type="hidden" name="number" value=t.number.to_string()/>
                                    <label for="composer-body">"Your reply"</label>
                                    <textarea id="composer-body" name="body" rows="4" required></textarea>
                                    <p class="field-error">{move || action_error(value, "body").get()}</p>
                                    <p class="form-error" role="alert">{move || action_error(value, "*").get()}</p>
                                    <button type="submit" class="primary">"Send"</button>
                                </ActionForm>
                            </section>
                        }
                            .into_any(),
                        Err(ApiError::Unauthenticated) => view! {
                            <p class="notice">"Sign in to see this request. " <a href="/portal">"Get a sign-in link"</a></p>
                        }
                            .into_any(),
                        Err(e) => view! { <ErrorNotice error=e/> }.into_any(),
                    }
                })}
            </Transition>
        </PortalFrame>
    }
}
