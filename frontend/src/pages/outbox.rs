//! `/app/settings/outbox`: emails waiting for the email channel (sign-in links for customers).

use leptos::prelude::*;
use leptos_meta::Title;

use crate::api::list_outbox;
use crate::components::ErrorNotice;

/// The outbox, newest first (admins only).
#[component]
pub fn OutboxPage() -> impl IntoView {
    let emails = Resource::new(|| (), |()| list_outbox());
    view! {
        <Title text="Outbox · frontdesk"/>
        <header class="page-header"><h1>"Outbox"</h1></header>
        <p class="lead">"Emails frontdesk would send. Until an email channel is set up, forward them by hand."</p>
        <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match emails.await {
                    Ok(list) if list.is_empty() => view! { <p class="empty-state">"The outbox is empty."</p> }.into_any(),
                    Ok(list) => view! {
                        <ol class="outbox" id="outbox">
                            {list.into_iter().map(|e| view! {
                                <li class="card">
                                    <p><strong>{e.subject}</strong>{format!(" → {} · {}", e.to_email, e.created_at.display_utc())}</p>
                                    <pre>{e.body}</pre>
                                </li>
                            }).collect_view()}
                        </ol>
                    }
                        .into_any(),
                    Err(e) => view! { <ErrorNotice error=e/> }.into_any(),
                }
            })}
        </Suspense>
    }
}
