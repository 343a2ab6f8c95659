//! `/app/settings/customer-fields`: the typed custom fields every customer profile has (admins).

use frontdesk_core::customers::FieldKind;
use leptos::prelude::*;
use leptos_meta::Title;

use crate::api::{DefineContactField, RemoveContactField, list_contact_fields};
use crate::components::{ErrorNotice, action_error};

/// The fields, the form to add one, and a button to delete each.
#[component]
pub fn CustomerFieldsPage() -> impl IntoView {
    let define = ServerAction::<DefineContactField>::new();
    let remove = ServerAction::<RemoveContactField>::new();
    let fields = Resource::new(
        move || (define.version().get(), remove.version().get()),
        |_| list_contact_fields(),
    );
    let defined = move || define.value().get();
    view! {
        <Title text="Customer fields · frontdesk"/>
        <header class="page-header"><h1>"Customer fields"</h1></header>
        <section class="card">
            <h2>"New field"</h2>
            <ActionForm action=define>
                <div class="field">
                    <label for="field-label">"Name"</label>
                    <input id="field-label" name="label" required/>
                    <p class="field-error">{move || action_error(defined, "label").get()}</p>
                </div>
                <div class="field">
                    <label for="field-kind">"Type"</label>
                    <select id="field-kind" name="kind">
                        {FieldKind::ALL.iter().map(|k| view! { <option value=k.as_str()>{k.label()}</option> }).collect_view()}
                    </select>
                </div>
                <p class="form-error" role="alert">{move || action_error(defined, "*").get()}</p>
                <button type="submit" class="primary" id="create-field">"Add field"</button>
            </ActionForm>
        </section>
        <p class="form-error" role="alert">{move || action_error(move || remove.value().get(), "*").get()}</p>
        <section class="card">
            <Transition fallback=|| view! { <p class="loading">"Loading fields…"</p> }>
                {move || Suspend::new(async move {
                    match fields.await {
                        Ok(list) if list.is_empty() => view! { <p class="muted">"No custom fields yet."</p> }.into_any(),
                        Ok(list) => view! {
                            <table class="table" id="customer-fields">
                                <thead><tr><th>"Name"</th><th>"Key"</th><th>"Type"</th><th></th></tr></thead>
                                <tbody>
                                    {list.into_iter().map(|f| view! {
                                        <tr>
                                            <td>{f.label}</td>
                                            <td><code>{f.key.clone()}</code></td>
                                            <td>{f.kind.label()}</td>
                                            <td>
                                                <ActionForm action=remove attr:class="inline">
                                                    <input type="hidden" name="key" value=f.key/>
                                                    <button type="submit" class="small danger">"Delete"</button>
                                                </ActionForm>
                                            </td>
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
