//! `/app/organizations`: the companies customers belong to, with the email domains that bring
//! their new contacts in; `/app/organizations/:id`: one organization, its people and its queue.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_params_map, use_query_map};

use crate::api::{
    ApiError, CreateOrganization, UpdateOrganization, get_organization, list_organizations,
};
use crate::components::{ErrorNotice, action_error};

/// The list of organizations, a search box and the form to create one.
#[component]
pub fn OrganizationsPage() -> impl IntoView {
    let query = use_query_map();
    let search = Memo::new(move |_| query.read().get("q").unwrap_or_default());
    let create = ServerAction::<CreateOrganization>::new();
    let organizations = Resource::new(move || search.get(), |q| list_organizations(Some(q)));
    let created = move || create.value().get();
    view! {
        <Title text="Organizations · frontdesk"/>
        <header class="page-header"><h1>"Organizations"</h1></header>
        <section class="card">
            <h2>"New organization"</h2>
            <ActionForm action=create>
                <div class="field">
                    <label for="organization-name">"Name"</label>
                    <input id="organization-name" name="name" required/>
                    <p class="field-error">{move || action_error(created, "name").get()}</p>
                </div>
                <div class="field">
                    <label for="organization-domains">"Email domains"</label>
                    <input id="organization-domains" name="domains" placeholder="example.com, example.org"/>
                    <p class="hint">"Customers with an email at these domains join this organization."</p>
                    <p class="field-error">{move || action_error(created, "domains").get()}</p>
                </div>
                <p class="form-error" role="alert">{move || action_error(created, "*").get()}</p>
                <button type="submit" class="primary" id="create-organization">"Create organization"</button>
            </ActionForm>
        </section>
        <section class="card">
            <form method="get" action="/app/organizations" class="inline">
                <input type="search" name="q" aria-label="Search organizations" placeholder="Search by name" value=move || search.get()/>
                <button type="submit" class="small">"Search"</button>
            </form>
            <Transition fallback=|| view! { <p class="loading">"Loading organizations…"</p> }>
                {move || Suspend::new(async move {
                    match organizations.await {
                        Ok(list) if list.is_empty() => view! { <p class="muted">"No organizations."</p> }.into_any(),
                        Ok(list) => view! {
                            <table class="table" id="organizations">
                                <thead><tr><th>"Name"</th><th>"Domains"</th><th>"Customers"</th></tr></thead>
                                <tbody>
                                    {list.into_iter().map(|o| view! {
                                        <tr>
                                            <td><a href=format!("/app/organizations/{}", o.id)>{o.name}</a></td>
                                            <td>{o.domains.join(", ")}</td>
                                            <td>{o.contacts}</td>
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

/// One organization: edit its name and domains, see its people, open its tickets in the queue.
#[component]
pub fn OrganizationPage() -> impl IntoView {
    let params = use_params_map();
    let id = Memo::new(move |_| params.read().get("id").and_then(|v| v.parse::<i64>().ok()));
    let update = ServerAction::<UpdateOrganization>::new();
    let organization = Resource::new(
        move || (id.get(), update.version().get()),
        |(id, _)| async move {
            match id {
                Some(id) => get_organization(id).await,
                None => Err(ApiError::NotFound),
            }
        },
    );
    let value = move || update.value().get();
    view! {
        <Transition fallback=|| view! { <p class="loading">"Loading organization…"</p> }>
            {move || Suspend::new(async move {
                let (o, members) = match organization.await {
                    Ok(found) => found,
                    Err(e) => return view! { <ErrorNotice error=e/> }.into_any(),
                };
                view! {
                    <Title text=format!("{} · frontdesk", o.name)/>
                    <header class="page-header">
                        <div>
                            <h1 id="organization-title">{o.name.clone()}</h1>
                            <p class="muted">{format!("{} customers", o.contacts)}</p>
                        </div>
                        <a class="button" id="organization-tickets" href=format!("/app/tickets?view=open&organization_id={}", o.id)>"Open tickets"</a>
                    </header>
                    <div class="ticket-layout">
                        <section class="card">
                            <h2>"Customers"</h2>
                            {if members.is_empty() {
                                view! { <p class="muted">"Nobody yet."</p> }.into_any()
                            } else {
                                view! {
                                    <ul class="duplicates" id="organization-members">
                                        {members.into_iter().map(|m| view! {
                                            <li><a href=format!("/app/customers/{}", m.id)>{m.name}</a></li>
                                        }).collect_view()}
                                    </ul>
                                }
                                    .into_any()
                            }}
                        </section>
                        <aside class="card ticket-fields">
                            <h2>"Details"</h2>
                            <ActionForm action=update>
                                <input type="hidden" name="id" value=o.id.to_string()/>
                                <div class="field">
                                    <label for="organization-name">"Name"</label>
                                    <input id="organization-name" name="name" value=o.name.clone() required/>
                                    <p class="field-error">{move || action_error(value, "name").get()}</p>
                                </div>
                                <div class="field">
                                    <label for="organization-domains">"Email domains"</label>
                                    <input id="organization-domains" name="domains" value=o.domains.join(", ")/>
                                    <p class="field-error">{move || action_error(value, "domains").get()}</p>
                                </div>
                                <p class="form-error" role="alert">{move || action_error(value, "*").get()}</p>
                                <button type="submit" class="primary" id="save-organization">"Save"</button>
                            </ActionForm>
                        </aside>
                    </div>
                }
                    .into_any()
            })}
        </Transition>
    }
}
