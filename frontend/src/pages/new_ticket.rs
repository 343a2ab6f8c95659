//! `/app/tickets/new`: an agent opens a ticket on a customer's behalf (phone, walk-in, API).

use frontdesk_core::tickets::Priority;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_navigate;

use crate::api::CreateTicket;
use crate::components::{Field, TextAreaField, action_error};

/// The new-ticket form; on success, opens the ticket.
#[component]
pub fn NewTicketPage() -> impl IntoView {
    let create = ServerAction::<CreateTicket>::new();
    let value = move || create.value().get();
    let navigate = use_navigate();
    Effect::new(move |_| {
        if let Some(Ok(detail)) = create.value().get() {
            navigate(&format!("/app/tickets/{}", detail.ticket.number), Default::default());
        }
    });
    view! {
        <Title text="New ticket · frontdesk"/>
        <header class="page-header"><h1>"New ticket"</h1></header>
        <section class="card">
            <ActionForm action=create>
                <div class="form-grid">
                    <Field label="Customer email" name="requester_email" kind="email" error=action_error(value, "requester_email")/>
                    <Field label="Customer name" name="requester_name" error=action_error(value, "requester_name")/>
                </div>
                <Field label="Subject" name="subject" error=action_error(value, "subject")/>
                <TextAreaField label="Message" name="body" error=action_error(value, "body")/>
                <div class="form-grid">
                    <div class="field">
                        <label for="field-priority">"Priority"</label>
                        <select id="field-priority" name="priority">
                            {Priority::ALL.iter().map(|p| view! { <option value=p.as_str() selected=*p == Priority::Normal>{p.label()}</option> }).collect_view()}
                        </select>
                    </div>
                    <div class="field">
                        <label for="field-tags">"Tags"</label>
                        <input id="field-tags" name="tags" placeholder="billing, refund"/>
                        <p class="field-error">{move || action_error(value, "tags").get()}</p>
                    </div>
                </div>
                <p class="form-error" role="alert">{move || action_error(value, "*").get()}</p>
                <button type="submit" class="primary" disabled=move || create.pending().get()>"Create ticket"</button>
            </ActionForm>
        </section>
    }
}
