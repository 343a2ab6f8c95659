//! `/app/chats`: the agent's chat console. The inbox (the queue with accept buttons, the agent's
//! live chats with unread counts, chats ended today), several chats open at once as tabs, each
//! with its transcript (text only, never HTML), the visitor's typing and read receipts, a composer
//! where `/` picks a canned response and the paperclip sends a file, transfer and end, and the
//! customer's profile beside it.
//! Everything live comes from the console's socket ([`Live`]); actions are server functions.

use frontdesk_core::chats::{
    AgentStatus, Attachment, CannedResponse, ChatState, ChatSummary, Sender,
};
use leptos::prelude::*;
use leptos_meta::Title;

use crate::api::{
    AcceptChat, EndChat, TransferChat, get_customer, list_agents, list_canned_responses, list_teams,
};
use crate::attachments::{AttachButton, AttachmentLink};
use crate::components::ErrorNotice;
use crate::live::Live;

/// The sidebar link, with how many chats wait and how many of this agent's have unread messages.
#[component]
pub fn ChatsLink() -> impl IntoView {
    let live = expect_context::<Live>();
    let waiting = move || {
        live.chat_inbox.with(|chats| {
            chats
                .iter()
                .filter(|c| {
                    c.state == ChatState::Queued
                        || (c.state == ChatState::Active && unread(&live, c) > 0)
                })
                .count()
        })
    };
    view! {
        <a href="/app/chats" id="chats-link">
            "Chats"
            {move || (waiting() > 0).then(|| view! { <span class="count" id="chats-count" aria-label=format!("{} waiting or unread", waiting())>{waiting()}</span> })}
        </a>
    }
}

/// The chat console.
#[component]
pub fn ChatsPage() -> impl IntoView {
    let live = expect_context::<Live>();
    // Chats opened as tabs, and the one shown.
    let open = RwSignal::new(Vec::<i64>::new());
    let current = RwSignal::new(None::<i64>);
    let show = move |number: i64| {
        live.follow_chat(number);
        open.update(|tabs| {
            if !tabs.contains(&number) {
                tabs.push(number);
            }
        });
        current.set(Some(number));
    };
    // A chat routed to this agent opens by itself.
    Effect::new(move |_| {
        let me = live.chat_inbox.with(|chats| {
            chats
                .iter()
                .filter(|c| c.state == ChatState::Active)
                .map(|c| c.number)
                .collect::<Vec<_>>()
        });
        for number in me {
            if !open.with_untracked(|tabs| tabs.contains(&number)) {
                live.follow_chat(number);
                open.update(|tabs| tabs.push(number));
                if current.get_untracked().is_none() {
                    current.set(Some(number));
                }
            }
        }
    });
    let canned = Resource::new(|| (), |()| list_canned_responses());
    view! {
        <Title text="Chats · frontdesk"/>
        <header class="page-header">
            <h1>"Chats"</h1>
            <StatusPicker/>
        </header>
        <div class="chat-console">
            <Inbox on_open=show/>
            <section class="chat-main" aria-label="Open chats">
                <nav class="chat-tabs" role="tablist">
                    <For each=move || open.get() key=|n| *n let:number>
                        <button
                            type="button"
                            role="tab"
                            class="chat-tab"
                            data-number=number.to_string()
                            aria-selected=move || (current.get() == Some(number)).to_string()
                            on:click=move |_| current.set(Some(number))
                        >
                            {move || tab_label(&live, number)}
                        </button>
                    </For>
                </nav>
                {move || match current.get() {
                    Some(number) => view! {
                        <ChatPane
                            number
                            canned=Signal::derive(move || canned.get().and_then(Result::ok).unwrap_or_default())
                            on_close=move || {
                                open.update(|tabs| tabs.retain(|n| *n != number));
                                current.set(open.with_untracked(|tabs| tabs.last().copied()));
                            }
                        />
                    }.into_any(),
                    None => view! { <p class="empty-state">"Pick a chat from the inbox. New chats open here when they are routed to you."</p> }.into_any(),
                }}
            </section>
        </div>
    }
}

fn summary(live: &Live, number: i64) -> Option<ChatSummary> {
    live.chat_inbox.with(|chats| chats.iter().find(|c| c.number == number).cloned())
}

/// Unread messages in a chat: the newest seq received (or known) past what this agent read.
fn unread(live: &Live, chat: &ChatSummary) -> i64 {
    let newest = live
        .chat_messages
        .with(|all| all.get(&chat.number).and_then(|m| m.last()).map_or(0, |m| m.seq))
        .max(chat.last_seq);
    (newest - chat.agent_read_seq).max(0)
}

fn tab_label(live: &Live, number: i64) -> String {
    summary(live, number).map_or_else(|| format!("#{number}"), |c| c.customer)
}

/// Online, away or offline for chats.
#[component]
fn StatusPicker() -> impl IntoView {
    let live = expect_context::<Live>();
    let choices = [
        (AgentStatus::Online, "Online"),
        (AgentStatus::Away, "Away"),
        (AgentStatus::Offline, "Offline"),
    ];
    view! {
        <div class="chat-status" role="radiogroup" aria-label="Your chat status" id="chat-status">
            {choices.map(|(status, label)| view! {
                <button
                    type="button"
                    role="radio"
                    class="small"
                    data-status=label.to_lowercase()
                    aria-checked=move || (live.chat_status.get() == status).to_string()
                    on:click=move |_| live.set_chat_status(status)
                >{label}</button>
            })}
        </div>
    }
}

/// The queue, this agent's chats, and the ones ended today.
#[component]
fn Inbox(on_open: impl Fn(i64) + Copy + Send + Sync + 'static) -> impl IntoView {
    let live = expect_context::<Live>();
    let accept = ServerAction::<AcceptChat>::new();
    Effect::new(move |_| {
        if let Some(Ok(chat)) = accept.value().get() {
            on_open(chat.number);
        }
    });
    let section = move |state: ChatState| {
        live.chat_inbox
            .with(|chats| chats.iter().filter(|c| c.state == state).cloned().collect::<Vec<_>>())
    };
    view! {
        <aside class="chat-inbox" aria-label="Chat inbox" id="chat-inbox">
            {move || accept.value().get().and_then(Result::err).map(|e| view! { <ErrorNotice error=e/> })}
            <h2>"Waiting"</h2>
            <ul class="chat-list" id="chat-queue">
                {move || {
                    let queued = section(ChatState::Queued);
                    if queued.is_empty() {
                        return view! { <li class="muted">"Nobody is waiting."</li> }.into_any();
                    }
                    queued.into_iter().enumerate().map(|(i, chat)| view! {
                        <li class="chat-item queued" data-number=chat.number.to_string()>
                            <span class="chat-who">{format!("{}. {}", i + 1, chat.customer)}</span>
                            <span class="chat-preview">{chat.preview}</span>
                            <ActionForm action=accept attr:class="inline">
                                <input type="hidden" name="number" value=chat.number.to_string()/>
                                <button type="submit" class="small primary accept-chat">"Accept"</button>
                            </ActionForm>
                        </li>
                    }).collect_view().into_any()
                }}
            </ul>
            <h2>"Mine"</h2>
            <ul class="chat-list" id="chat-mine">
                {move || section(ChatState::Active).into_iter().map(|chat| {
                    let number = chat.number;
                    let count = unread(&live, &chat);
                    view! {
                        <li class="chat-item active" data-number=number.to_string()>
                            <button type="button" class="link" on:click=move |_| on_open(number)>{chat.customer.clone()}</button>
                            {(count > 0).then(|| view! { <span class="count" aria-label=format!("{count} unread")>{count}</span> })}
                            <span class="chat-preview">{chat.preview.clone()}</span>
                        </li>
                    }
                }).collect_view()}
            </ul>
            <h2>"Ended today"</h2>
            <ul class="chat-list" id="chat-ended">
                {move || section(ChatState::Ended).into_iter().map(|chat| {
                    let number = chat.number;
                    view! {
                        <li class="chat-item ended" data-number=number.to_string()>
                            <button type="button" class="link" on:click=move |_| on_open(number)>{chat.customer}</button>
                            <a class="muted" href=format!("/app/tickets/{number}")>{format!("#{number}")}</a>
                        </li>
                    }
                }).collect_view()}
            </ul>
        </aside>
    }
}

/// One open chat: transcript, composer, actions, and the customer beside it.
#[component]
fn ChatPane(
    number: i64,
    canned: Signal<Vec<CannedResponse>>,
    on_close: impl Fn() + Copy + Send + Sync + 'static,
) -> impl IntoView {
    let live = expect_context::<Live>();
    let chat = Memo::new(move |_| summary(&live, number));
    let messages = Memo::new(move |_| {
        live.chat_messages.with(|all| all.get(&number).cloned().unwrap_or_default())
    });
    let pending = Memo::new(move |_| {
        live.chat_outbox.with(|outbox| {
            outbox.iter().filter(|o| o.number == number).cloned().collect::<Vec<_>>()
        })
    });
    // Read receipts: everything shown while this tab is visible is read.
    Effect::new(move |_| {
        let newest = messages.with(|m| m.last().map(|m| m.seq));
        let read = chat.with(|c| c.as_ref().map_or(0, |c| c.agent_read_seq));
        if let Some(seq) = newest.filter(|seq| *seq > read) {
            live.chat_read(number, seq);
        }
    });
    let visitor_read = move || {
        live.chat_visitor_read
            .with(|r| r.get(&number).copied())
            .or_else(|| chat.with(|c| c.as_ref().map(|c| c.visitor_read_seq)))
            .unwrap_or(0)
    };
    let typing = move || live.chat_typing.with(|t| t.get(&number).copied().unwrap_or(false));
    let mine = move || chat.with(|c| c.as_ref().is_some_and(|c| c.state == ChatState::Active));
    view! {
        <div class="chat-pane" id="chat-pane" data-number=number.to_string()>
            <header class="chat-pane-header">
                <h2>{move || chat.with(|c| c.as_ref().map_or_else(|| format!("Chat #{number}"), |c| c.customer.clone()))}</h2>
                <a href=format!("/app/tickets/{number}") class="muted">{format!("Ticket #{number}")}</a>
                <ChatActions number on_close/>
            </header>
            <div class="chat-body">
                <ol class="chat-transcript" id="chat-transcript" aria-live="polite">
                    <For each=move || messages.get() key=|m| m.seq let:message>
                        <li class=format!("chat-msg from-{}", sender_class(message.sender)) data-seq=message.seq.to_string()>
                            {(message.sender != Sender::System).then(|| view! { <span class="chat-author">{message.author.clone()}</span> })}
                            <p class="chat-text">{message.body.clone()}</p>
                            {message.attachment.clone().map(file_link)}
                            {(message.sender == Sender::Agent).then(|| {
                                let seq = message.seq;
                                view! { <span class="chat-receipt muted">{move || if visitor_read() >= seq { "Seen" } else { "Sent" }}</span> }
                            })}
                        </li>
                    </For>
                    <For each=move || pending.get() key=|o| o.client_id.clone() let:item>
                        <li class="chat-msg from-agent pending">
                            <p class="chat-text">{item.body}</p>
                            {item.attachment.map(|file| view! { <p class="attachment-name">{file.file_name}</p> })}
                            <span class="chat-receipt muted">"Sending…"</span>
                        </li>
                    </For>
                </ol>
                {move || typing().then(|| view! { <p class="chat-typing muted" id="chat-typing">"The customer is typing…"</p> })}
                {move || if mine() {
                    view! { <Composer number canned/> }.into_any()
                } else {
                    view! { <p class="muted chat-closed">{move || match chat.with(|c| c.as_ref().map(|c| c.state)) {
                        Some(ChatState::Queued) => "Accept this chat to reply.",
                        Some(ChatState::Ended) => "This chat has ended. Its transcript stays on the ticket.",
                        _ => "Another agent has this chat.",
                    }}</p> }.into_any()
                }}
            </div>
            {move || chat.get().map(|c| view! { <CustomerCard contact_id=c.contact_id site=c.site/> })}
        </div>
    }
}

/// A sent file, for an agent (their session authorizes the download).
fn file_link(file: Attachment) -> impl IntoView {
    view! { <AttachmentLink href=format!("/api/chat/attachments/{}", file.id) file/> }
}

fn sender_class(sender: Sender) -> &'static str {
    match sender {
        Sender::Visitor => "visitor",
        Sender::Agent => "agent",
        Sender::System => "system",
    }
}

/// The reply box: Enter sends, Shift+Enter breaks the line, `/` opens the canned responses.
#[component]
fn Composer(number: i64, canned: Signal<Vec<CannedResponse>>) -> impl IntoView {
    let live = expect_context::<Live>();
    let text = RwSignal::new(String::new());
    let problem = RwSignal::new(None::<String>);
    let typing_since = StoredValue::new(None::<f64>);
    // `/word` at the start picks from the canned responses whose shortcut starts with `word`.
    let matches = Memo::new(move |_| {
        let typed = text.get();
        let Some(prefix) = typed.strip_prefix('/') else { return Vec::new() };
        if prefix.contains(char::is_whitespace) {
            return Vec::new();
        }
        canned
            .get()
            .into_iter()
            .filter(|c| c.shortcut.starts_with(prefix))
            .take(8)
            .collect::<Vec<_>>()
    });
    let send = move || {
        let body = text.get_untracked().trim().to_owned();
        if body.is_empty() {
            return;
        }
        live.send_chat(number, body, None);
        live.chat_typing(number, false);
        typing_since.set_value(None);
        text.set(String::new());
    };
    let on_input = move |value: String| {
        text.set(value);
        let now = crate::components::now_ms() as f64;
        if typing_since.get_value().is_none_or(|since| now - since > 3_000.0) {
            typing_since.set_value(Some(now));
            live.chat_typing(number, true);
        }
    };
    view! {
        <form class="chat-composer" id="chat-composer" on:submit=move |ev| {
            ev.prevent_default();
            send();
        }>
            {move || {
                let found = matches.get();
                (!found.is_empty()).then(|| view! {
                    <ul class="canned-picker" id="canned-picker" role="listbox" aria-label="Canned responses">
                        {found.into_iter().map(|c| {
                            let body = c.body.clone();
                            view! {
                                <li role="option">
                                    <button type="button" class="link canned-choice" data-shortcut=c.shortcut.clone() on:click=move |_| text.set(body.clone())>
                                        <strong>{format!("/{}", c.shortcut)}</strong>" "{c.title}
                                    </button>
                                </li>
                            }
                        }).collect_view()}
                    </ul>
                })
            }}
            <label class="visually-hidden" for="chat-reply">"Reply"</label>
            <textarea
                id="chat-reply"
                name="body"
                rows="3"
                placeholder="Write a reply. Type / for canned responses."
                prop:value=move || text.get()
                on:input=move |ev| on_input(event_target_value(&ev))
                on:keydown=move |ev| {
                    if ev.key() == "Enter" && !ev.shift_key() {
                        ev.prevent_default();
                        send();
                    }
                }
            ></textarea>
            <div class="chat-composer-actions">
                <AttachButton id="chat-file" on_pick=move |file| send_file(live, number, file, problem)/>
                <button type="submit" class="primary">"Send"</button>
            </div>
            <p class="field-error" id="chat-file-error" role="alert">{move || problem.get()}</p>
        </form>
    }
}

/// Uploads a file to the chat, then sends it as a reply; a refusal shows under the composer.
fn send_file(live: Live, number: i64, file: web_sys::File, problem: RwSignal<Option<String>>) {
    problem.set(None);
    #[cfg(feature = "hydrate")]
    {
        leptos::task::spawn_local(async move {
            match crate::attachments::upload(&format!("/api/chat/{number}/attachments"), &file)
                .await
            {
                Ok(attachment) => live.send_chat(number, String::new(), Some(attachment)),
                Err(reason) => problem.set(Some(reason)),
            }
        });
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = (live, number, file);
}

/// Transfer to an agent or a team, and end the chat (solving the ticket or keeping it open).
#[component]
fn ChatActions(number: i64, on_close: impl Fn() + Copy + Send + Sync + 'static) -> impl IntoView {
    let transfer = ServerAction::<TransferChat>::new();
    let end = ServerAction::<EndChat>::new();
    let agents = Resource::new(|| (), |()| list_agents());
    let teams = Resource::new(|| (), |()| list_teams());
    view! {
        <div class="chat-actions">
            <ActionForm action=transfer attr:class="inline" attr:id="transfer-chat">
                <input type="hidden" name="number" value=number.to_string()/>
                <label class="visually-hidden" for=format!("transfer-{number}")>"Transfer to"</label>
                <select name="to" id=format!("transfer-{number}")>
                    <option value="">"Transfer to…"</option>
                    <Transition>
                        {move || agents.get().and_then(Result::ok).map(|list| list.iter().filter(|a| a.active).map(|a| view! {
                            <option value=format!("agent:{}", a.id)>{a.picker_label(&list)}</option>
                        }).collect_view())}
                        {move || teams.get().and_then(Result::ok).map(|list| list.into_iter().map(|t| view! {
                            <option value=format!("team:{}", t.id)>{format!("Team {}", t.name)}</option>
                        }).collect_view())}
                    </Transition>
                </select>
                <button type="submit" class="small">"Transfer"</button>
            </ActionForm>
            <ActionForm action=end attr:class="inline" attr:id="end-chat">
                <input type="hidden" name="number" value=number.to_string()/>
                <label class="inline-check"><input type="checkbox" name="solve" value="true" checked=true/>" Solve the ticket"</label>
                <button type="submit" class="small">"End chat"</button>
            </ActionForm>
            <button type="button" class="small link" on:click=move |_| on_close()>"Close tab"</button>
            {move || transfer.value().get().and_then(Result::err).map(|e| view! { <ErrorNotice error=e/> })}
            {move || end.value().get().and_then(Result::err).map(|e| view! { <ErrorNotice error=e/> })}
        </div>
    }
}

/// Who the customer is, beside the chat, with a link to their whole history.
#[component]
fn CustomerCard(contact_id: i64, site: String) -> impl IntoView {
    let customer = Resource::new(move || contact_id, get_customer);
    let site = StoredValue::new(site);
    view! {
        <aside class="chat-customer card" aria-label="Customer" id="chat-customer">
            <Transition fallback=|| view! { <p class="loading">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match customer.await {
                        Ok(contact) => view! {
                            <h3><a href=format!("/app/customers/{}", contact.id)>{contact.name.clone()}</a></h3>
                            <ul class="plain">
                                {contact.emails.iter().map(|e| view! { <li>{e.clone()}</li> }).collect_view()}
                                {contact.organization.as_ref().map(|o| view! { <li class="muted">{o.name.clone()}</li> })}
                            </ul>
                            <p class="muted">{format!("Via {}", site.get_value())}</p>
                            <a href=format!("/app/customers/{}", contact.id)>"Full history"</a>
                        }.into_any(),
                        Err(e) => view! { <ErrorNotice error=e/> }.into_any(),
                    }
                })}
            </Transition>
        </aside>
    }
}

/// A chat ticket's whole transcript, on the ticket page (which loads it).
#[component]
pub fn ChatTranscript(
    chat: Resource<Result<frontdesk_core::chats::ChatDetail, crate::api::ApiError>>,
) -> impl IntoView {
    view! {
        <section class="card chat-record" aria-label="Chat transcript" id="chat-record">
            <h2>"Chat transcript"</h2>
            <Transition fallback=|| view! { <p class="loading">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match chat.await {
                        Ok(detail) => view! {
                            <ol class="chat-transcript">
                                {detail.messages.into_iter().map(|m| view! {
                                    <li class=format!("chat-msg from-{}", sender_class(m.sender)) data-seq=m.seq.to_string()>
                                        {(m.sender != Sender::System).then(|| view! { <span class="chat-author">{m.author.clone()}</span> })}
                                        <p class="chat-text">{m.body}</p>
                                        {m.attachment.map(file_link)}
                                        <span class="muted chat-time">{m.created_at.display_utc()}</span>
                                    </li>
                                }).collect_view()}
                            </ol>
                        }.into_any(),
                        Err(crate::api::ApiError::NotFound) => view! { <p class="muted">"No transcript."</p> }.into_any(),
                        Err(e) => view! { <ErrorNotice error=e/> }.into_any(),
                    }
                })}
            </Transition>
        </section>
    }
}
