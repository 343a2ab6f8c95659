//! The email channel's pages: `/app/settings/mailboxes` (admins add support addresses, edit their
//! acknowledgement and signature, and make the HTTP endpoint's secret), `/app/settings/quarantine`
//! (mail held back, released or deleted), `/app/settings/outbox` (what was sent, with each
//! server's answer), and the agent's email notification choices on the notifications page.

use frontdesk_core::mail::{DEFAULT_ACK_BODY, DEFAULT_ACK_SUBJECT, Mailbox, MailboxInput};
use leptos::prelude::*;
use leptos_meta::Title;

use crate::api::{
    DeleteQuarantined, NewMailboxSecret, ReleaseQuarantined, SaveMailPreferences, SaveMailbox,
    list_mailboxes, list_outbox, list_quarantine, list_teams, load_mail_preferences,
};
use crate::components::{ErrorNotice, Field, action_error, textarea_text};

/// The mailboxes page (admins).
#[component]
pub fn MailboxesPage() -> impl IntoView {
    let save = ServerAction::<SaveMailbox>::new();
    let secret = ServerAction::<NewMailboxSecret>::new();
    let mailboxes =
        Resource::new(move || (save.version().get(), secret.version().get()), |_| list_mailboxes());
    let teams = Resource::new(|| (), |()| list_teams());
    view! {
        <Title text="Mailboxes · frontdesk"/>
        <header class="page-header"><h1>"Mailboxes"</h1></header>
        <p class="lead">"Support addresses: mail to them becomes tickets, and replies go out from them. Mail servers and passwords are set in the config file or the environment (see the README), never here."</p>
        {move || match secret.value().get() {
            Some(Ok(made)) => Some(view! {
                <section class="card notice" id="mailbox-secret">
                    <p><strong>"The new secret, shown once:"</strong></p>
                    <code class="secret">{made}</code>
                    <p class="muted">"Post raw messages to /api/mail/inbound/NAME with the header Authorization: Bearer SECRET."</p>
                </section>
            }.into_any()),
            Some(Err(e)) => Some(view! { <ErrorNotice error=e/> }.into_any()),
            None => None,
        }}
        <Transition fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
                let teams = teams.await.unwrap_or_default();
                match mailboxes.await {
                    Ok(list) => view! {
                        {list.into_iter().map(|mailbox| view! { <MailboxForm mailbox=Some(mailbox) teams=teams.clone() save secret/> }).collect_view()}
                        <MailboxForm mailbox=None teams save secret/>
                    }.into_any(),
                    Err(e) => view! { <ErrorNotice error=e/> }.into_any(),
                }
            })}
        </Transition>
    }
}

/// One mailbox's form (or the form for a new one).
#[component]
fn MailboxForm(
    mailbox: Option<Mailbox>,
    teams: Vec<frontdesk_core::agents::Team>,
    save: ServerAction<SaveMailbox>,
    secret: ServerAction<NewMailboxSecret>,
) -> impl IntoView {
    let saved = move || save.value().get();
    let id = mailbox.as_ref().map(|m| m.id);
    let field = |get: fn(&MailboxInput) -> String| mailbox.as_ref().map(|m| get(&m.settings));
    let team = mailbox.as_ref().and_then(|m| m.settings.team_id);
    let acknowledge = mailbox.as_ref().is_none_or(|m| m.settings.acknowledge);
    let plus = mailbox.as_ref().is_some_and(|m| m.settings.plus_addressing);
    let ack_subject =
        field(|m| m.ack_subject.clone()).unwrap_or_else(|| DEFAULT_ACK_SUBJECT.to_owned());
    let ack_body = field(|m| m.ack_body.clone()).unwrap_or_else(|| DEFAULT_ACK_BODY.to_owned());
    let signature = field(|m| m.signature.clone()).unwrap_or_default();
    let name = field(|m| m.name.clone()).unwrap_or_default();
    let address = field(|m| m.address.clone()).unwrap_or_default();
    let display_name = field(|m| m.display_name.clone()).unwrap_or_default();
    let key = id.map_or_else(|| "new".to_owned(), |id| id.to_string());
    let form_id = format!("mailbox-form-{key}");
    let (team_select, signature_id, ack_body_id) =
        (format!("team-{key}"), format!("signature-{key}"), format!("ack-body-{key}"));
    let heading =
        mailbox.as_ref().map_or_else(|| "New mailbox".to_owned(), |m| m.settings.address.clone());
    let endpoint = mailbox.as_ref().map(|m| (m.id, m.has_inbound_secret, m.settings.name.clone()));
    let connections = mailbox.as_ref().map(|m| {
        let imap = match &m.imap {
            Some(account) => format!("Read over IMAP from {account}."),
            None => "Not read over IMAP (add a [[mail.imap]] section for it to the config file).".to_owned(),
        };
        let smtp = match &m.smtp {
            Some(server) => format!("Mail goes out through {server}."),
            None => "No mail server is set up: mail waits in the outbox ([mail.smtp] in the config file).".to_owned(),
        };
        view! { <p class="muted mailbox-connections">{imap}" "{smtp}" The pipe command takes mail for it too: frontdesk mail receive --mailbox "{m.settings.name.clone()}"."</p> }
    });
    view! {
        <section class="card mailbox" data-mailbox=key.clone()>
            <h2>{heading}</h2>
            {connections}
            <ActionForm action=save attr:id=form_id>
                <input type="hidden" name="id" value=id.map(|i| i.to_string()).unwrap_or_default()/>
                <Field label="Short name (for the pipe command and the HTTP endpoint)" name="name" value=name error=action_error(saved, "name")/>
                <Field label="Address" name="address" kind="email" value=address error=action_error(saved, "address")/>
                <Field label="Sender name" name="display_name" value=display_name error=action_error(saved, "display_name")/>
                <div class="field">
                    <label for=team_select.clone()>"New tickets go to"</label>
                    <select id=team_select name="team_id">
                        <option value="" selected=team.is_none()>"No team"</option>
                        {teams.into_iter().map(|t| view! { <option value=t.id.to_string() selected=Some(t.id) == team>{t.name}</option> }).collect_view()}
                    </select>
                </div>
                <div class="field">
                    <label for=signature_id.clone()>"Signature (under every reply)"</label>
                    <textarea id=signature_id name="signature" rows="3">{textarea_text(signature)}</textarea>
                    <p class="field-error">{move || action_error(saved, "signature").get()}</p>
                </div>
                <label class="inline-check"><input type="checkbox" name="acknowledge" value="on" checked=acknowledge/>" Acknowledge new requests by email"</label>
                <Field label="Acknowledgement subject ({number}, {subject})" name="ack_subject" value=ack_subject required=false error=action_error(saved, "ack_subject")/>
                <div class="field">
                    <label for=ack_body_id.clone()>"Acknowledgement text ({name}, {number}, {subject})"</label>
                    <textarea id=ack_body_id name="ack_body" rows="5">{textarea_text(ack_body)}</textarea>
                    <p class="field-error">{move || action_error(saved, "ack_body").get()}</p>
                </div>
                <label class="inline-check"><input type="checkbox" name="plus_addressing" value="on" checked=plus/>" Ask customers to reply to address+ticket (the mail server must deliver plus addresses)"</label>
                <p class="form-error" role="alert">{move || action_error(saved, "*").get()}</p>
                <button type="submit" class="primary">{if id.is_some() { "Save" } else { "Add mailbox" }}</button>
            </ActionForm>
            {endpoint.map(|(id, has_secret, name)| view! {
                <p class="muted">{if has_secret { format!("The HTTP endpoint /api/mail/inbound/{name} is on.") } else { format!("The HTTP endpoint /api/mail/inbound/{name} is off until you make a secret.") }}</p>
                <ActionForm action=secret attr:class="inline">
                    <input type="hidden" name="id" value=id.to_string()/>
                    <button type="submit" class="small">{if has_secret { "Replace the secret" } else { "Make a secret" }}</button>
                </ActionForm>
            })}
        </section>
    }
}

/// The quarantine (admins).
#[component]
pub fn QuarantinePage() -> impl IntoView {
    let release = ServerAction::<ReleaseQuarantined>::new();
    let delete = ServerAction::<DeleteQuarantined>::new();
    let held = Resource::new(
        move || (release.version().get(), delete.version().get()),
        |_| list_quarantine(),
    );
    view! {
        <Title text="Quarantine · frontdesk"/>
        <header class="page-header"><h1>"Quarantine"</h1></header>
        <p class="lead">"Mail that could not be read or tripped a guard (a loop, too many messages from one sender, automatic mail that answers no ticket). Release it to make it a ticket, or delete it."</p>
        <p class="form-error" role="alert">{move || action_error(move || release.value().get(), "*").get()}</p>
        {move || match release.value().get() { Some(Ok(what)) => Some(view! { <p class="notice" id="released">{format!("Released: {what}.")}</p> }), _ => None }}
        <Transition fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match held.await {
                    Ok(list) if list.is_empty() => view! { <p class="empty-state">"Nothing is held back."</p> }.into_any(),
                    Ok(list) => view! {
                        <ol class="quarantine" id="quarantine">
                            {list.into_iter().map(|q| view! {
                                <li class="card" data-quarantined=q.id.to_string()>
                                    <p><strong>{if q.subject.is_empty() { "(no subject)".to_owned() } else { q.subject }}</strong>
                                        {format!(" from {} to {} · {} · {} KB", if q.from_address.is_empty() { "(unknown)".to_owned() } else { q.from_address }, q.mailbox.unwrap_or_default(), q.created_at.display_utc(), (q.size + 1023) / 1024)}</p>
                                    <p class="reason">{q.reason}</p>
                                    <ActionForm action=release attr:class="inline">
                                        <input type="hidden" name="id" value=q.id.to_string()/>
                                        <button type="submit" class="small">"Release"</button>
                                    </ActionForm>
                                    <ActionForm action=delete attr:class="inline">
                                        <input type="hidden" name="id" value=q.id.to_string()/>
                                        <button type="submit" class="small">"Delete"</button>
                                    </ActionForm>
                                </li>
                            }).collect_view()}
                        </ol>
                    }.into_any(),
                    Err(e) => view! { <ErrorNotice error=e/> }.into_any(),
                }
            })}
        </Transition>
    }
}

/// The outbox, newest first (admins).
#[component]
pub fn OutboxPage() -> impl IntoView {
    let emails = Resource::new(|| (), |()| list_outbox());
    view! {
        <Title text="Outbox · frontdesk"/>
        <header class="page-header"><h1>"Outbox"</h1></header>
        <p class="lead">"Email frontdesk sends, with each mail server's answer. Without a mail server set up, mail waits here (forward sign-in links by hand)."</p>
        <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match emails.await {
                    Ok(list) if list.is_empty() => view! { <p class="empty-state">"The outbox is empty."</p> }.into_any(),
                    Ok(list) => view! {
                        <ol class="outbox" id="outbox">
                            {list.into_iter().map(|e| view! {
                                <li class="card" data-state=e.state.as_str()>
                                    <p><strong>{if e.subject.is_empty() { e.kind.replace('_', " ") } else { e.subject }}</strong>
                                        {format!(" → {} · {} · {}", if e.to_email.is_empty() { "(composed when sent)".to_owned() } else { e.to_email }, e.created_at.display_utc(), e.state.label())}</p>
                                    {e.last_result.map(|r| view! { <p class="muted">{r}</p> })}
                                    {(!e.body.is_empty()).then(|| view! { <pre>{e.body}</pre> })}
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

/// The agent's choice of notifications by email.
#[component]
pub fn MailPreferencesForm() -> impl IntoView {
    let save = ServerAction::<SaveMailPreferences>::new();
    let current = Resource::new(move || save.version().get(), |_| load_mail_preferences());
    view! {
        <section class="card">
            <h2>"Email me when"</h2>
            <Transition fallback=|| view! { <p class="loading">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match current.await {
                        Ok(p) => view! {
                            <ActionForm action=save attr:id="mail-preferences">
                                <label class="inline-check"><input type="checkbox" name="assigned" value="on" checked=p.assigned/>" a ticket is assigned to me"</label>
                                <label class="inline-check"><input type="checkbox" name="customer_replied" value="on" checked=p.customer_replied/>" a customer replies on my or my team's ticket"</label>
                                <label class="inline-check"><input type="checkbox" name="sla" value="on" checked=p.sla/>" an SLA is about to breach or breached"</label>
                                <button type="submit" class="small">"Save"</button>
                            </ActionForm>
                        }.into_any(),
                        Err(e) => view! { <ErrorNotice error=e/> }.into_any(),
                    }
                })}
            </Transition>
        </section>
    }
}
