//! `/app/settings/agents`: the team's accounts. Admins add agents, change roles, set how many live
//! chats each takes at once, and deactivate.

use frontdesk_core::agents::{Agent, Role};
use leptos::html::Form;
use leptos::prelude::*;
use leptos_meta::Title;

use crate::api::{ChangeAgentRole, CreateAgent, SetAgentActive, SetAgentChatCapacity, list_agents};
use crate::app::ViewerResource;
use crate::components::{ErrorNotice, Field, action_error};

/// The agents table and, for admins, the form to add one.
#[component]
pub fn AgentsPage() -> impl IntoView {
    let viewer = expect_context::<ViewerResource>();
    let create = ServerAction::<CreateAgent>::new();
    let change_role = ServerAction::<ChangeAgentRole>::new();
    let set_active = ServerAction::<SetAgentActive>::new();
    let set_capacity = ServerAction::<SetAgentChatCapacity>::new();
    let agents = Resource::new(
        move || {
            (
                create.version().get(),
                change_role.version().get(),
                set_active.version().get(),
                set_capacity.version().get(),
            )
        },
        |_| list_agents(),
    );
    let created = move || create.value().get();
    let form = NodeRef::<Form>::new();
    Effect::new(move |_| {
        if let (Some(Ok(_)), Some(form)) = (create.value().get(), form.get()) {
            form.reset();
        }
    });
    let row_error = move || {
        action_error(move || change_role.value().get(), "*")
            .get()
            .or_else(|| action_error(move || set_active.value().get(), "*").get())
            .or_else(|| action_error(move || set_capacity.value().get(), "*").get())
            .or_else(|| action_error(move || set_capacity.value().get(), "chat_capacity").get())
    };

    view! {
        <Title text="Agents · frontdesk"/>
        <header class="page-header">
            <h1>"Agents"</h1>
        </header>
        <Suspense>
            {move || Suspend::new(async move {
                let me = viewer.await.ok().and_then(|v| v.agent);
                let is_admin = me.as_ref().is_some_and(Agent::is_admin);
                let my_id = me.map(|m| m.id);
                view! {
                    <Show
                        when=move || is_admin
                        fallback=|| view! { <p class="notice">"Only admins can add or change agents."</p> }
                    >
                        <section class="card">
                            <h2>"Add an agent"</h2>
                            <ActionForm action=create node_ref=form>
                                <div class="form-grid">
                                    <Field label="Name" name="name" error=action_error(created, "name")/>
                                    <Field label="Email" name="email" kind="email" error=action_error(created, "email")/>
                                    <div class="field">
                                        <label for="field-role">"Role"</label>
                                        <select id="field-role" name="role">
                                            {Role::ALL.iter().map(|r| view! { <option value=r.as_str()>{r.label()}</option> }).collect_view()}
                                        </select>
                                    </div>
                                    <Field label="Initial password" name="password" kind="password" autocomplete="new-password" error=action_error(created, "password")/>
                                </div>
                                <p class="form-error" role="alert">{move || action_error(created, "*").get()}</p>
                                <p class="form-success" role="status">
                                    {move || match created() {
                                        Some(Ok(agent)) => Some(format!("Added {}. They can sign in now.", agent.name)),
                                        _ => None,
                                    }}
                                </p>
                                <button type="submit" class="primary" disabled=move || create.pending().get()>"Add agent"</button>
                            </ActionForm>
                        </section>
                    </Show>
                    <section class="card">
                        <p class="form-error" role="alert">{row_error}</p>
                        <Transition fallback=|| view! { <p class="loading">"Loading agents…"</p> }>
                            {move || Suspend::new(async move {
                                match agents.await {
                                    Ok(list) => view! {
                                        <AgentTable agents=list my_id is_admin change_role set_active set_capacity/>
                                    }
                                        .into_any(),
                                    Err(e) => view! { <ErrorNotice error=e/> }.into_any(),
                                }
                            })}
                        </Transition>
                    </section>
                }
            })}
        </Suspense>
    }
}

/// The list of agents; each row of another agent has the admin's controls.
#[component]
fn AgentTable(
    agents: Vec<Agent>,
    my_id: Option<i64>,
    is_admin: bool,
    change_role: ServerAction<ChangeAgentRole>,
    set_active: ServerAction<SetAgentActive>,
    set_capacity: ServerAction<SetAgentChatCapacity>,
) -> impl IntoView {
    let rows = agents
        .into_iter()
        .map(|agent| {
            let editable = is_admin && Some(agent.id) != my_id;
            let id = agent.id.to_string();
            let id_for_status = id.clone();
            let id_for_capacity = id.clone();
            let capacity_label = format!("Chats at once for {}", agent.name);
            let status = if agent.active { "Active" } else { "Deactivated" };
            view! {
                <tr data-email=agent.email.clone() class:inactive=!agent.active>
                    <td>
                        {agent.name.clone()}
                        {(Some(agent.id) == my_id).then_some(" (you)")}
                    </td>
                    <td>{agent.email.clone()}</td>
                    <td>
                        {if editable {
                            view! {
                                <ActionForm action=change_role attr:class="inline">
                                    <input type="hidden" name="agent_id" value=id.clone()/>
                                    <select name="role" aria-label="Role">
                                        {Role::ALL.iter().map(|r| view! {
                                            <option value=r.as_str() selected=*r == agent.role>{r.label()}</option>
                                        }).collect_view()}
                                    </select>
                                    <button type="submit" class="small">"Save"</button>
                                </ActionForm>
                            }
                                .into_any()
                        } else {
                            agent.role.label().into_any()
                        }}
                    </td>
                    <td class="chat-capacity">
                        {if is_admin {
                            view! {
                                <ActionForm action=set_capacity attr:class="inline">
                                    <input type="hidden" name="agent_id" value=id_for_capacity/>
                                    <input
                                        type="number"
                                        name="chat_capacity"
                                        min="0"
                                        max=frontdesk_core::agents::MAX_CHAT_CAPACITY.to_string()
                                        value=agent.chat_capacity.to_string()
                                        aria-label=capacity_label
                                        class="narrow"
                                    />
                                    <button type="submit" class="small">"Save"</button>
                                </ActionForm>
                            }
                                .into_any()
                        } else {
                            agent.chat_capacity.to_string().into_any()
                        }}
                    </td>
                    <td class="status">{status}</td>
                    <td>
                        {editable.then(|| view! {
                            <ActionForm action=set_active attr:class="inline">
                                <input type="hidden" name="agent_id" value=id_for_status/>
                                <input type="hidden" name="active" value=(!agent.active).to_string()/>
                                <button type="submit" class="small" class:danger=agent.active>
                                    {if agent.active { "Deactivate" } else { "Reactivate" }}
                                </button>
                            </ActionForm>
                        })}
                    </td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <table class="table" id="agents">
            <thead>
                <tr>
                    <th>"Name"</th>
                    <th>"Email"</th>
                    <th>"Role"</th>
                    <th title="How many live chats routing gives them at once">"Chats at once"</th>
                    <th>"Status"</th>
                    <th></th>
                </tr>
            </thead>
            <tbody>{rows}</tbody>
        </table>
    }
}
