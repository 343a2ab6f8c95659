//! `/app/customers/:id`: one customer's profile: who they are, every ticket and chat newest
//! first, likely duplicates; and `/app/customers/:id/merge/:other` to merge two profiles.

use frontdesk_core::customer::{Contact, TimelineEntry};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::Redirect;
use leptos_router::hooks::use_params_map;

use crate::api::{ApiError, MergeCustomers, UpdateCustomer, customer_duplicates, customer_timeline, get_customer};
use crate::components::{ErrorNotice, action_error};
use crate::pages::tickets::StatusBadge;

fn id_param(name: &'static str) -> Memo<Option<i64>> {
    let params = use_params_map();
    Memo::new(move |_| params.read().get(name).and_then(|v| v.parse::<i64>().ok()))
}

async fn load_customer(id: Option<i64>) -> Result<Contact, ApiError> {
    match id {
        Some(id) => get_customer(id).await,
        None => Err(ApiError::NotFound),
    }
}

/// The profile page. A merged customer's page redirects to the survivor.
#[component]
pub fn CustomerPage() -> impl IntoView {
    let id = id_param("id");
    let update = ServerAction::<UpdateCustomer>::new();
    let contact = Resource::new(move || (id.get(), update.version().get()), |(id, _)| load_customer(id));
    let timeline = Resource::new(move || id.get(), |id| async move {
        match id {
            Some(id) => customer_timeline(id, None).await,
            None => Err(ApiError::NotFound),
        }
    });
    let duplicates = Resource::new(move || (id.get(), update.version().get()), |(id, _)| async move {
        match id {
            Some(id) => customer_duplicates(id).await,
            None => Err(ApiError::NotFound),
        }
    });
    let value = move || update.value().get();
    view! {
        <Transition fallback=|| view! { <p class="loading">"Loading customer…"</p> }>
            {move || Suspend::new(async move {
                let c = match contact.await {
                    Ok(c) => c,
                    Err(e) => return view! { <ErrorNotice error=e/> }.into_any(),
                };
                if let Some(survivor) = c.merged_into {
                    return view! { <Redirect path=format!("/app/customers/{survivor}")/> }.into_any();
                }
                let entries = timeline.await.map(|p| p.entries).unwrap_or_default();
                let duplicates = duplicates.await.unwrap_or_default();
                let id = c.id;
                view! {
                    <Title text=format!("{} · frontdesk", c.name)/>
                    <header class="page-header">
                        <div>
                            <h1 id="customer-name">{c.name.clone()}</h1>
                            <p class="muted" id="customer-emails">{c.emails.join(", ")}</p>
                            <p class="muted">{c.organization.as_ref().map(|o| o.name.clone()).unwrap_or_else(|| "No organization".into())}</p>
                        </div>
                    </header>
                    <div class="ticket-layout">
                        <section class="card">
                            <h2>"Timeline"</h2>
                            <Timeline entries/>
                        </section>
                        <aside class="card ticket-fields">
                            <h2>"Profile"</h2>
                            <ActionForm action=update>
                                <input type="hidden" name="id" value=id.to_string()/>
                                <div class="field">
                                    <label for="customer-name-field">"Name"</label>
                                    <input id="customer-name-field" name="name" value=c.name.clone()/>
                                    <p class="field-error">{move || action_error(value, "name").get()}</p>
                                </div>
                                <div class="field">
                                    <label for="customer-phone">"Phone"</label>
                                    <input id="customer-phone" name="phone" value=c.phone.clone().unwrap_or_default()/>
                                    <p class="field-error">{move || action_error(value, "phone").get()}</p>
                                </div>
                                <div class="field">
                                    <label for="customer-notes">"Notes"</label>
                                    <textarea id="customer-notes" name="notes" rows="4">{c.notes.clone()}</textarea>
                                </div>
                                <button type="submit" class="primary" id="save-customer">"Save"</button>
                            </ActionForm>
                            <h2>"Possible duplicates"</h2>
                            {if duplicates.is_empty() {
                                view! { <p class="muted">"None found."</p> }.into_any()
                            } else {
                                view! {
                                    <ul class="duplicates" id="duplicates">
                                        {duplicates.into_iter().map(|d| view! {
                                            <li>
                                                <a href=format!("/app/customers/{}", d.contact.id)>{d.contact.name}</a>
                                                <span class="muted">{format!(" · {}", d.reason)}</span>
                                                " "
                                                <a class="button small" href=format!("/app/customers/{id}/merge/{}", d.contact.id)>"Merge…"</a>
                                            </li>
                                        }).collect_view()}
                                    </ul>
                                }
                                    .into_any()
                            }}
                        </aside>
                    </div>
                }
                    .into_any()
            })}
        </Transition>
    }
}

#[component]
fn Timeline(entries: Vec<TimelineEntry>) -> impl IntoView {
    if entries.is_empty() {
        return view! { <p class="muted">"No tickets or chats yet."</p> }.into_any();
    }
    view! {
        <ol class="timeline" id="timeline">
            {entries.into_iter().map(|e| view! {
                <li>
                    <a href=format!("/app/tickets/{}", e.number)>{format!("#{} {}", e.number, e.subject)}</a>
                    " "
                    <StatusBadge status=e.status/>
                    <span class="muted">{format!(" {} · {}", e.channel.label(), e.created_at.display_utc())}</span>
                </li>
            }).collect_view()}
        </ol>
    }
    .into_any()
}

/// Merge two customers: for every field that differs, the agent picks the value to keep.
#[component]
pub fn MergeCustomersPage() -> impl IntoView {
    let survivor_id = id_param("id");
    let merged_id = id_param("other");
    let survivor = Resource::new(move || survivor_id.get(), load_customer);
    let merged = Resource::new(move || merged_id.get(), load_customer);
    let merge = ServerAction::<MergeCustomers>::new();
    let value = move || merge.value().get();
    view! {
        <Title text="Merge customers · frontdesk"/>
        <header class="page-header"><h1>"Merge customers"</h1></header>
        <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
                let (a, b) = match (survivor.await, merged.await) {
                    (Ok(a), Ok(b)) => (a, b),
                    (Err(e), _) | (_, Err(e)) => return view! { <ErrorNotice error=e/> }.into_any(),
                };
                let org = |c: &Contact| c.organization.as_ref().map(|o| o.name.clone()).unwrap_or_else(|| "none".into());
                let rows = [
                    ("name", "Name", a.name.clone(), b.name.clone()),
                    ("phone", "Phone", a.phone.clone().unwrap_or_else(|| "none".into()), b.phone.clone().unwrap_or_else(|| "none".into())),
                    ("organization", "Organization", org(&a), org(&b)),
                    ("notes", "Notes", a.notes.clone(), b.notes.clone()),
                ];
                view! {
                    <p class="lead">{format!(
                        "Everything of {} ({}) moves to {} ({}): emails, tickets, chats and messages. {}'s address will redirect.",
                        b.name, b.emails.join(", "), a.name, a.emails.join(", "), b.name
                    )}</p>
                    <section class="card">
                        <ActionForm action=merge>
                            <input type="hidden" name="survivor_id" value=a.id.to_string()/>
                            <input type="hidden" name="merged_id" value=b.id.to_string()/>
                            <table class="table merge-table">
                                <thead><tr><th>"Field"</th><th>"Keep"</th><th>"Or"</th></tr></thead>
                                <tbody>
                                    {rows.into_iter().map(|(field, label, keep, other)| {
                                        let same = keep == other;
                                        view! {
                                            <tr>
                                                <td>{label}</td>
                                                <td><label><input type="radio" name=field value="survivor" checked/>" "{keep}</label></td>
                                                <td>
                                                    {if same {
                                                        view! { <span class="muted">"same"</span> }.into_any()
                                                    } else {
                                                        view! { <label><input type="radio" name=field value="merged"/>" "{other}</label> }.into_any()
                                                    }}
                                                </td>
                                            </tr>
                                        }
                                    }).collect_view()}
                                </tbody>
                            </table>
                            <p class="form-error" role="alert">{move || action_error(value, "*").get()}</p>
                            <button type="submit" class="primary danger" id="merge">"Merge"</button>
                        </ActionForm>
                    </section>
                }
                    .into_any()
            })}
        </Suspense>
    }
}
