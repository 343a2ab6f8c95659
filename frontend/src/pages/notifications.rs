//! `/app/notifications`: the agent's notifications (SLA warnings and breaches on their tickets
//! and their teams' tickets), newest first, and the sidebar link with the unread count. Both
//! refresh when the live socket delivers a new one.

use leptos::prelude::*;
use leptos_meta::Title;

use crate::api::{MarkNotificationsRead, list_notifications, unread_notifications};
use crate::components::ErrorNotice;
use crate::live::Live;

/// The sidebar link, with the unread count when there is one.
#[component]
pub fn NotificationsLink() -> impl IntoView {
    let live = expect_context::<Live>();
    let unread = Resource::new(
        move || (live.notification_id.get(), live.notifications_read.get()),
        |_| unread_notifications(),
    );
    view! {
        <a href="/app/notifications" id="notifications-link">
            "Notifications"
            <Transition>
                {move || unread.get().and_then(Result::ok).filter(|n| *n > 0).map(|n| view! {
                    <span class="count" id="unread-count" aria-label=format!("{n} unread")>{n}</span>
                })}
            </Transition>
        </a>
    }
}

/// The notifications page.
#[component]
pub fn NotificationsPage() -> impl IntoView {
    let live = expect_context::<Live>();
    let mark_read = ServerAction::<MarkNotificationsRead>::new();
    let list = Resource::new(
        move || (live.notification_id.get(), live.notifications_read.get()),
        |_| list_notifications(),
    );
    Effect::new(move |_| {
        if matches!(mark_read.value().get(), Some(Ok(_))) {
            live.notifications_read.update(|n| *n += 1);
        }
    });
    view! {
        <Title text="Notifications · frontdesk"/>
        <header class="page-header"><h1>"Notifications"</h1></header>
        <super::MailPreferencesForm/>
        <Transition fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match list.await {
                    Ok((items, _)) if items.is_empty() => view! { <p class="empty-state">"Nothing yet. Assignments, customer replies, SLA warnings and breaches on your tickets and your teams' tickets show up here."</p> }.into_any(),
                    Ok((items, unread)) => {
                        let newest = items.first().map_or(0, |n| n.id);
                        view! {
                            <ActionForm action=mark_read attr:class="inline">
                                <input type="hidden" name="up_to" value=newest.to_string()/>
                                <button type="submit" class="small" id="mark-read" disabled=unread == 0>"Mark all read"</button>
                            </ActionForm>
                            <ol class="notifications" id="notifications">
                                {items.into_iter().map(|n| view! {
                                    <li class=if n.read { "notification" } else { "notification unread" } data-kind=n.kind.clone()>
                                        <a href=format!("/app/tickets/{}", n.ticket_number)>{n.body}</a>
                                        <span class="muted">{format!(" · {}", n.created_at.display_utc())}</span>
                                    </li>
                                }).collect_view()}
                            </ol>
                        }
                            .into_any()
                    }
                    Err(e) => view! { <ErrorNotice error=e/> }.into_any(),
                }
            })}
        </Transition>
    }
}
