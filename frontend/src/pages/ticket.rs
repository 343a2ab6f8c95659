//! `/app/tickets/:number`: one ticket. The thread (public replies and internal notes, rendered
//! from sanitized markdown), a composer with the traffic cop, the ticket's fields, its history, and
//! who else is looking, all kept current by the live socket.

use frontdesk_core::agents::Activity;
use frontdesk_core::tickets::{Message, MessageKind, Priority, Status, TicketDetail};
use leptos::html::Form;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;

use crate::api::{
    AddTicketMessage, ApiError, UpdateTicket, get_ticket, list_agents, list_teams, load_chat,
    load_ticket_mail, ticket_sla,
};
use crate::components::{ErrorNotice, PriorityBadge, SlaBadge, StatusBadge, action_error};
use crate::keyboard::on_shortcut;
use crate::live::Live;
use frontdesk_core::mail::{MessageMail, TicketMail};

use leptos::wasm_bindgen::JsCast;

/// The ticket page.
#[component]
pub fn TicketPage() -> impl IntoView {
    let params = use_params_map();
    let number =
        Memo::new(move |_| params.read().get("number").and_then(|n| n.parse::<i64>().ok()));
    let live = expect_context::<Live>();
    let reply = ServerAction::<AddTicketMessage>::new();
    let update = ServerAction::<UpdateTicket>::new();
    // Refetched after our own actions and whenever the live socket reports a new event.
    let ticket = Resource::new(
        move || {
            (
                number.get(),
                reply.version().get(),
                update.version().get(),
                number.get().map(|n| live.seq(n)),
            )
        },
        |(number, ..)| async move {
            match number {
                Some(n) => get_ticket(n).await,
                None => Err(ApiError::NotFound),
            }
        },
    );
    // The last event sequence number of the ticket as shown.
    let shown_seq = RwSignal::new(0_i64);
    Effect::new(move |_| {
        if let Some(Ok(detail)) = ticket.get() {
            let seq = detail.events.last().map_or(0, |e| e.seq);
            shown_seq.set(seq);
            live.follow_ticket(detail.ticket.number, seq);
            live.set_activity(detail.ticket.number, Activity::Viewing);
        }
    });
    on_cleanup(move || {
        if let Some(n) = number.get_untracked() {
            live.unfollow_ticket(n);
        }
    });
    let agents = Resource::new(|| (), |()| list_agents());
    let teams = Resource::new(|| (), |()| list_teams());
    // A chat's transcript (not found for other tickets). Made here with the page, not once the
    // ticket has loaded: a resource made inside a resolved Suspense gets one id on the server
    // and another in the browser, and the page then fails to hydrate.
    let transcript = Resource::new(
        move || (number.get(), number.get().map(|n| live.seq(n))),
        |(number, _)| async move {
            match number {
                Some(n) => load_chat(n).await,
                None => Err(ApiError::NotFound),
            }
        },
    );
    // The email side (delivery states, originals, files, followers), made with the page like the
    // transcript; refetched with the ticket.
    let mail = Resource::new(
        move || (number.get(), reply.version().get(), number.get().map(|n| live.seq(n))),
        |(number, ..)| async move {
            match number {
                Some(n) => load_ticket_mail(n).await,
                None => Err(ApiError::NotFound),
            }
        },
    );
    let update_error = move || match update.value().get() {
        Some(Err(e)) => Some(e.to_string()),
        _ => None,
    };

    view! {
        <PresenceBanner number live/>
        <Transition fallback=|| view! { <p class="loading">"Loading ticket…"</p> }>
            {move || Suspend::new(async move {
                let detail = match ticket.await {
                    Ok(detail) => detail,
                    Err(e) => return view! { <ErrorNotice error=e/> }.into_any(),
                };
                let agents = agents.await.unwrap_or_default();
                let teams = teams.await.unwrap_or_default();
                let mail = mail.await.unwrap_or_default();
                let TicketDetail { ticket: t, messages, resolution_message_id, events } = detail;
                let number = t.number.to_string();
                let version = t.version.to_string();
                let solvable = !t.status.is_done();
                let thread = messages
                    .into_iter()
                    .map(|m| {
                        let is_resolution = Some(m.id) == resolution_message_id;
                        let email = mail.messages.iter().find(|e| e.message_id == m.id).cloned();
                        view! {
                            <MessageItem message=m email is_resolution solvable number=number.clone() version=version.clone() update/>
                        }
                    })
                    .collect_view();
                view! {
                    <Title text=format!("#{} {} · frontdesk", t.number, t.subject)/>
                    <header class="page-header ticket-header">
                        <div>
                            <p class="muted">
                                {format!("#{} · {} · requested by ", t.number, t.channel.label())}
                                <a href=format!("/app/customers/{}", t.requester.id) id="requester">{t.requester.name.clone()}</a>
                            </p>
                            <h1>{t.subject.clone()}</h1>
                        </div>
                        <div class="badges">
                            <StatusBadge status=t.status/>
                            <PriorityBadge priority=t.priority/>
                        </div>
                    </header>
                    <div class="ticket-layout">
                        <div class="thread">
                            <ol class="messages" id="thread">{thread}</ol>
                            {(t.channel == frontdesk_core::tickets::Channel::Chat).then(|| view! { <super::chats::ChatTranscript chat=transcript/> })}
                        </div>
                        <aside class="card ticket-fields">
                            <MailPanel mail=mail.clone()/>
                            <h2>"Details"</h2>
                            <ActionForm action=update>
                                <input type="hidden" name="number" value=number/>
                                <input type="hidden" name="version" value=version/>
                                <div class="field">
                                    <label for="ticket-status">"Status"</label>
                                    <select id="ticket-status" name="status">
                                        {Status::ALL.iter().map(|s| view! { <option value=s.as_str() selected=*s == t.status>{s.label()}</option> }).collect_view()}
                                    </select>
                                </div>
                                <div class="field">
                                    <label for="ticket-priority">"Priority"</label>
                                    <select id="ticket-priority" name="priority">
                                        {Priority::ALL.iter().map(|p| view! { <option value=p.as_str() selected=*p == t.priority>{p.label()}</option> }).collect_view()}
                                    </select>
                                </div>
                                <div class="field">
                                    <label for="ticket-assignee">"Assignee"</label>
                                    <select id="ticket-assignee" name="assignee_id">
                                        <option value="" selected=t.assignee.is_none()>"Unassigned"</option>
                                        {agents.iter().filter(|a| a.active).map(|a| {
                                            let selected = t.assignee.as_ref().is_some_and(|x| x.id == a.id);
                                            view! { <option value=a.id.to_string() selected=selected>{a.picker_label(&agents)}</option> }
                                        }).collect_view()}
                                    </select>
                                </div>
                                <div class="field">
                                    <label for="ticket-team">"Team"</label>
                                    <select id="ticket-team" name="team_id">
                                        <option value="" selected=t.team.is_none()>"No team"</option>
                                        {teams.into_iter().map(|team| {
                                            let selected = t.team.as_ref().is_some_and(|x| x.id == team.id);
                                            view! { <option value=team.id.to_string() selected=selected>{team.name}</option> }
                                        }).collect_view()}
                                    </select>
                                </div>
                                <div class="field">
                                    <label for="ticket-add-tags">{format!("Tags: {}", if t.tags.is_empty() { "none".to_owned() } else { t.tags.join(", ") })}</label>
                                    <input id="ticket-add-tags" name="add_tags" placeholder="Add tags, comma-separated"/>
                                </div>
                                <p class="form-error" role="alert">{update_error}</p>
                                <button type="submit" class="primary" id="save-ticket" disabled=move || update.pending().get()>"Save"</button>
                            </ActionForm>
                            <h2>"History"</h2>
                            <ol class="history">
                                {events.into_iter().rev().map(|e| view! {
                                    <li>
                                        <span class="history-kind">{e.kind.replace('_', " ")}</span>
                                        <span class="muted">{format!(" {} · {}", e.actor.unwrap_or_default(), e.created_at.display_utc())}</span>
                                    </li>
                                }).collect_view()}
                            </ol>
                        </aside>
                    </div>
                }
                    .into_any()
            })}
        </Transition>
        <Composer number reply shown_seq live/>
        <crate::pages::search::SimilarAnswers number/>
        <section class="card sla-card">
            <SlaPanel number live/>
        </section>
    }
}

/// The SLA: the policy and why it applies, each clock with its badge, and the timeline of starts,
/// pauses, resumes, met and breached targets in the policy's time zone.
#[component]
fn SlaPanel(number: Memo<Option<i64>>, live: Live) -> impl IntoView {
    let sla = Resource::new(
        move || (number.get(), number.get().map(|n| live.seq(n))),
        |(number, _)| async move {
            match number {
                Some(n) => ticket_sla(n).await,
                None => Err(ApiError::NotFound),
            }
        },
    );
    view! {
        <h2>"SLA"</h2>
        <Suspense fallback=|| view! { <p class="loading">"…"</p> }>
            {move || Suspend::new(async move {
                match sla.await {
                    Ok(view) => view! {
                        <div id="sla">
                            <p class="muted" id="sla-policy">{match view.policy.clone() {
                                Some(name) => format!("{name} · {}", view.reason),
                                None => view.reason.clone(),
                            }}</p>
                            <ul class="sla-clocks">
                                {view.clocks.into_iter().map(|c| view! {
                                    <li data-metric=c.metric.clone()>
                                        {c.metric.clone()}" "
                                        <span class="muted">{c.status.clone()}</span>" "
                                        <SlaBadge due=c.due_at/>
                                        <span class="muted">{c.when.map(|w| format!(" {w}")).unwrap_or_default()}</span>
                                    </li>
                                }).collect_view()}
                            </ul>
                            <ol class="sla-timeline" id="sla-timeline">
                                {view.timeline.into_iter().map(|(when, metric, step)| view! {
                                    <li data-step=step.clone()><span class="muted">{when}</span>" "{metric}" "{step.clone()}</li>
                                }).collect_view()}
                            </ol>
                        </div>
                    }
                        .into_any(),
                    Err(e) => view! { <ErrorNotice error=e/> }.into_any(),
                }
            })}
        </Suspense>
    }
}

/// "Bob is replying", from the live socket.
#[component]
fn PresenceBanner(number: Memo<Option<i64>>, live: Live) -> impl IntoView {
    let others = move || {
        number.get().and_then(|n| live.presence.with(|p| p.get(&n).cloned())).unwrap_or_default()
    };
    view! {
        <p class="presence" id="presence" aria-live="polite">
            {move || others().into_iter().map(|a| {
                let doing = if a.activity == Activity::Replying { "is replying…" } else { "is viewing" };
                view! { <span class="presence-agent" class:replying=a.activity == Activity::Replying>{format!("{} {doing}", a.name)}</span> }
            }).collect_view()}
        </p>
    }
}

/// The reply box. It lives outside the refreshing ticket view, so live updates never wipe a
/// draft. The traffic cop: the form carries the sequence number shown when typing began; if
/// someone wrote since, the server holds the message and the new messages are shown first.
#[component]
fn Composer(
    number: Memo<Option<i64>>,
    reply: ServerAction<AddTicketMessage>,
    shown_seq: RwSignal<i64>,
    live: Live,
) -> impl IntoView {
    let composing_since = RwSignal::new(None::<i64>);
    let form = NodeRef::<Form>::new();
    Effect::new(move |_| match reply.value().get() {
        Some(Ok(_)) => {
            composing_since.set(None);
            if let Some(form) = form.get() {
                form.reset();
            }
            if let Some(n) = number.get_untracked() {
                live.set_activity(n, Activity::Viewing);
            }
        }
        // Held: the next press sends anyway.
        Some(Err(ApiError::NewActivity(_))) => composing_since.set(None),
        _ => {}
    });
    let held = move || match reply.value().get() {
        Some(Err(ApiError::NewActivity(messages))) => Some(messages),
        _ => None,
    };
    // Keyboard: r starts a reply.
    on_shortcut(move |key, event| {
        if key == "r"
            && let Some(field) = document().get_element_by_id("composer-body")
            && let Ok(field) = field.dyn_into::<web_sys::HtmlElement>()
        {
            event.prevent_default();
            let _ = field.focus();
        }
    });
    let on_input = move |_| {
        if composing_since.get_untracked().is_none() {
            composing_since.set(Some(shown_seq.get_untracked()));
        }
        if let Some(n) = number.get_untracked() {
            live.set_activity(n, Activity::Replying);
        }
    };
    view! {
        <section class="card composer">
            <Show when=move || held().is_some()>
                <div class="held" id="held" role="alert">
                    <p><strong>"New messages arrived while you were writing. Read them first:"</strong></p>
                    <ol class="messages">
                        {move || held().unwrap_or_default().into_iter().map(|m| view! {
                            <li class="message" class:note=m.kind == MessageKind::Note>
                                <header><strong>{m.author.name}</strong></header>
                                <div class="message-body" inner_html=m.body_html></div>
                            </li>
                        }).collect_view()}
                    </ol>
                </div>
            </Show>
            <ActionForm action=reply node_ref=form>
                <input type="hidden" name="number" value=move || number.get().map(|n| n.to_string()).unwrap_or_default()/>
                {move || composing_since.get().map(|seq| view! { <input type="hidden" name="composing_since" value=seq.to_string()/> })}
                <div class="composer-kind" role="radiogroup" aria-label="Message type">
                    <label><input type="radio" name="kind" value="reply" checked/>" Public reply"</label>
                    <label><input type="radio" name="kind" value="note"/>" Internal note"</label>
                </div>
                <label for="composer-body" class="visually-hidden">"Message"</label>
                <textarea id="composer-body" name="body" rows="5" placeholder="Write a reply (markdown)…" required on:input=on_input></textarea>
                <p class="field-error">{move || action_error(move || reply.value().get(), "body").get()}</p>
                <p class="form-error" role="alert">
                    {move || match reply.value().get() {
                        Some(Err(ApiError::NewActivity(_))) => None,
                        _ => action_error(move || reply.value().get(), "*").get(),
                    }}
                </p>
                <button type="submit" class="primary" id="send" disabled=move || reply.pending().get()>
                    {move || if held().is_some() { "Send anyway" } else { "Send" }}
                </button>
            </ActionForm>
        </section>
    }
}

/// An email ticket's addresses: where replies go (and whether mail there bounced) and who
/// follows it. Nothing for other tickets.
#[component]
fn MailPanel(mail: TicketMail) -> impl IntoView {
    mail.customer_address.clone().map(|customer| {
        let followers = mail.followers.join(", ");
        view! {
            <section class="mail-panel" id="mail-panel">
                <h2>"Email"</h2>
                <p class="muted">{format!("Through {}", mail.mailbox.clone().unwrap_or_default())}</p>
                <p>"Replies go to "<strong id="mail-customer">{customer}</strong></p>
                {mail.customer_bounced.clone().map(|why| view! { <p class="form-error" id="mail-bounced">{format!("Mail to this address bounced: {why}")}</p> })}
                {(!mail.followers.is_empty()).then(|| view! { <p id="mail-followers">{format!("Copied: {followers}")}</p> })}
            </section>
        }
    })
}

/// What email did with a message: its delivery state (replies sent by mail), its original and
/// its files (messages received by mail).
#[component]
fn MessageMailInfo(email: MessageMail) -> impl IntoView {
    let delivery = email.delivery.map(|(state, result)| {
        let title = result.clone().unwrap_or_default();
        view! {
            <span class=format!("badge delivery delivery-{}", state.as_str()) title=title.clone() data-delivery=state.as_str()>
                {format!("Email {}", state.label().to_lowercase())}
            </span>
            {(state == frontdesk_core::mail::DeliveryState::Failed || state == frontdesk_core::mail::DeliveryState::Retrying).then(|| view! { <span class="muted delivery-result">{format!(" {title}")}</span> })}
        }
    });
    let original = email.original_id.map(|id| view! {
        <a class="small" href=format!("/api/mail/originals/{id}") download="">"Original (.eml)"</a>
    });
    let files = (!email.files.is_empty()).then(|| view! {
        <ul class="mail-files">
            {email.files.into_iter().map(|f| view! {
                <li><a href=format!("/api/mail/files/{}", f.id) download="">{f.file_name}</a><span class="muted">{format!(" {} KB", (f.size + 1023) / 1024)}</span></li>
            }).collect_view()}
        </ul>
    });
    view! { <div class="message-mail">{delivery}" "{original}{files}</div> }
}

/// One reply or note. An unsolved ticket's public replies offer "Solve with this reply".
#[component]
fn MessageItem(
    message: Message,
    email: Option<MessageMail>,
    is_resolution: bool,
    solvable: bool,
    number: String,
    version: String,
    update: ServerAction<UpdateTicket>,
) -> impl IntoView {
    let note = message.kind == MessageKind::Note;
    let can_solve = solvable && !note && message.by_agent;
    view! {
        <li class="message" class:note=note class:resolution=is_resolution data-message-id=message.id.to_string()>
            <header>
                <strong>{message.author.name}</strong>
                <span class="muted">{format!(" · {}{}", if note { "internal note · " } else { "" }, message.created_at.display_utc())}</span>
                {is_resolution.then(|| view! { <span class="badge status-solved">"Resolution"</span> })}
            </header>
            <div class="message-body" inner_html=message.body_html></div>
            {email.map(|email| view! { <MessageMailInfo email/> })}
            {can_solve.then(|| view! {
                <ActionForm action=update attr:class="inline">
                    <input type="hidden" name="number" value=number/>
                    <input type="hidden" name="version" value=version/>
                    <input type="hidden" name="status" value="solved"/>
                    <input type="hidden" name="resolution_message_id" value=message.id.to_string()/>
                    <button type="submit" class="small solve">"Solve with this reply"</button>
                </ActionForm>
            })}
        </li>
    }
}
