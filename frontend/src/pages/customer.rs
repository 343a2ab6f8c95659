//! `/app/customers/:id`: one customer's profile: who they are, their custom fields, every ticket
//! and chat newest first, likely duplicates; `/app/customers/:id/merge/:other` to merge two
//! profiles; and `/app/customers/duplicates`, every likely duplicate pair to review.

use frontdesk_core::customers::{Contact, FieldKind, FieldValue};
use frontdesk_core::tickets::TimelineEntry;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::Redirect;
use leptos_router::hooks::use_params_map;

use crate::api::{
    ApiError, MergeCustomers, UpdateCustomer, customer_duplicates, customer_timeline,
    duplicate_pairs, get_customer, list_organizations,
};
use crate::components::{ErrorNotice, StatusBadge, action_error};

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
    let contact =
        Resource::new(move || (id.get(), update.version().get()), |(id, _)| load_customer(id));
    let timeline = Resource::new(
        move || id.get(),
        |id| async move {
            match id {
                Some(id) => customer_timeline(id, None).await,
                None => Err(ApiError::NotFound),
            }
        },
    );
    let duplicates = Resource::new(
        move || (id.get(), update.version().get()),
        |(id, _)| async move {
            match id {
                Some(id) => customer_duplicates(id).await,
                None => Err(ApiError::NotFound),
            }
        },
    );
    let organizations = Resource::new(|| (), |()| list_organizations(None));
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
                let organizations = organizations.await.unwrap_or_default();
                let current_org = c.organization.as_ref().map(|o| o.id);
                let id = c.id;
                view! {
                    <Title text=format!("{} · frontdesk", c.name)/>
                    <header class="page-header">
                        <div>
                            <h1 id="customer-name">{c.name.clone()}</h1>
                            <p class="muted" id="customer-emails">{c.emails.join(", ")}</p>
                            {c.unverified_email.clone().map(|email| view! {
                                <p class="muted" id="customer-unverified-email" title="Typed into the chat widget; not proven to be theirs">
                                    {email}" (unverified)"
                                </p>
                            })}
                            <p class="muted" id="customer-organization">
                                {match c.organization.clone() {
                                    Some(o) => view! { <a href=format!("/app/organizations/{}", o.id)>{o.name}</a> }.into_any(),
                                    None => view! { "No organization" }.into_any(),
                                }}
                            </p>
                        </div>
                        <a class="button" href=format!("/app/tickets?view=open&requester_id={id}")>"Open tickets"</a>
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
                                    <label for="customer-organization-field">"Organization"</label>
                                    <select id="customer-organization-field" name="organization_id">
                                        <option value="" selected=current_org.is_none()>"None"</option>
                                        {organizations.into_iter().map(|o| view! {
                                            <option value=o.id.to_string() selected=current_org == Some(o.id)>{o.name}</option>
                                        }).collect_view()}
                                    </select>
                                    <p class="field-error">{move || action_error(value, "organization_id").get()}</p>
                                </div>
                                {c.fields.clone().into_iter().map(|f| view! { <CustomField field=f value/> }).collect_view()}
                                <div class="field">
                                    <label for="customer-notes">"Notes"</label>
                                    <textarea id="customer-notes" name="notes" rows="4">{crate::components::textarea_text(c.notes.clone())}</textarea>
                                    <p class="field-error">{move || action_error(value, "notes").get()}</p>
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

/// One custom field's input, typed, named `fields[KEY]`, with its error.
#[component]
fn CustomField(
    field: FieldValue,
    value: impl Fn() -> Option<Result<Contact, ApiError>> + Copy + Send + Sync + 'static,
) -> impl IntoView {
    let FieldValue { field, value: current } = field;
    let id = format!("custom-{}", field.key);
    let name = format!("fields[{}]", field.key);
    let error_key = format!("field.{}", field.key);
    let current = current.unwrap_or_default();
    let input = match field.kind {
        FieldKind::Boolean => view! {
            <select id=id.clone() name=name>
                <option value="" selected=current.is_empty()>"—"</option>
                <option value="true" selected=current == "true">"Yes"</option>
                <option value="false" selected=current == "false">"No"</option>
            </select>
        }
        .into_any(),
        kind => {
            let (input_type, step) = match kind {
                FieldKind::Number => ("number", Some("any")),
                FieldKind::Date => ("date", None),
                _ => ("text", None),
            };
            view! { <input id=id.clone() name=name type=input_type step=step value=current/> }
                .into_any()
        }
    };
    view! {
        <div class="field">
            <label for=id>{field.label}</label>
            {input}
            <p class="field-error">{move || action_error(value, error_key.clone()).get()}</p>
        </div>
    }
}

/// Every pair of customers that look like the same person, each with a link to merge them.
#[component]
pub fn DuplicatesPage() -> impl IntoView {
    let pairs = Resource::new(|| (), |()| duplicate_pairs());
    view! {
        <Title text="Possible duplicates · frontdesk"/>
        <header class="page-header"><h1>"Possible duplicates"</h1></header>
        <section class="card">
            <Transition fallback=|| view! { <p class="loading">"Looking for duplicates…"</p> }>
                {move || Suspend::new(async move {
                    match pairs.await {
                        Ok(list) if list.is_empty() => view! { <p class="muted">"No likely duplicates."</p> }.into_any(),
                        Ok(list) => view! {
                            <table class="table" id="duplicate-pairs">
                                <thead><tr><th>"Customer"</th><th>"Looks like"</th><th>"Why"</th><th></th></tr></thead>
                                <tbody>
                                    {list.into_iter().map(|p| view! {
                                        <tr>
                                            <td><a href=format!("/app/customers/{}", p.first.id)>{p.first.name}</a></td>
                                            <td><a href=format!("/app/customers/{}", p.second.id)>{p.second.name}</a></td>
                                            <td class="muted">{p.reason}</td>
                                            <td><a class="button small" href=format!("/app/customers/{}/merge/{}", p.first.id, p.second.id)>"Merge…"</a></td>
                                        </tr>
                                    }).collect_view()}
                                </tbody>
                            </table>
                        }
                            .into_any(),
                        Err(e) => view! { <ErrorNotice error=e/> }.into_any(),
                    }
                })}
            </Transition>
        </section>
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
                    ("fields", "Custom fields set on both", custom_fields(&a, &b), custom_fields(&b, &a)),
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

/// `contact`'s values of the custom fields both contacts have set, for the merge table.
fn custom_fields(contact: &Contact, other: &Contact) -> String {
    let both: Vec<String> = contact
        .fields
        .iter()
        .filter_map(|f| {
            let theirs = other.fields.iter().find(|o| o.field.key == f.field.key)?.value.as_ref();
            f.value.as_ref().filter(|_| theirs.is_some()).map(|v| format!("{}: {v}", f.field.label))
        })
        .collect();
    if both.is_empty() { "none".into() } else { both.join("; ") }
}
