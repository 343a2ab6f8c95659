//! `/app/settings/teams`: teams and their members (admins change them; agents see them).

use frontdesk_core::agents::{Agent, Team};
use leptos::prelude::*;
use leptos_meta::Title;

use crate::api::{CreateTeam, SetTeamMember, list_agents, list_teams};
use crate::components::{ErrorNotice, Field, action_error};

/// The teams page.
#[component]
pub fn TeamsPage() -> impl IntoView {
    let create = ServerAction::<CreateTeam>::new();
    let member = ServerAction::<SetTeamMember>::new();
    let teams =
        Resource::new(move || (create.version().get(), member.version().get()), |_| list_teams());
    let agents = Resource::new(|| (), |()| list_agents());
    let created = move || create.value().get();
    view! {
        <Title text="Teams · frontdesk"/>
        <header class="page-header"><h1>"Teams"</h1></header>
        <section class="card">
            <h2>"New team"</h2>
            <ActionForm action=create>
                <Field label="Name" name="name" error=action_error(created, "name")/>
                <p class="form-error" role="alert">{move || action_error(created, "*").get()}</p>
                <button type="submit" class="primary" id="create-team">"Create team"</button>
            </ActionForm>
        </section>
        <p class="form-error" role="alert">{move || action_error(move || member.value().get(), "*").get()}</p>
        <Transition fallback=|| view! { <p class="loading">"Loading teams…"</p> }>
            {move || Suspend::new(async move {
                let agents = agents.await.unwrap_or_default();
                match teams.await {
                    Ok(list) => list.into_iter().map(|team| view! { <TeamCard team agents=agents.clone() member/> }).collect_view().into_any(),
                    Err(e) => view! { <ErrorNotice error=e/> }.into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
fn TeamCard(team: Team, agents: Vec<Agent>, member: ServerAction<SetTeamMember>) -> impl IntoView {
    let team_id = team.id.to_string();
    let others: Vec<Agent> = agents
        .into_iter()
        .filter(|a| a.active && !team.members.iter().any(|m| m.id == a.id))
        .collect();
    let members = team
        .members
        .clone()
        .into_iter()
        .map(|m| {
            let team_id = team_id.clone();
            view! {
                <li data-member=m.name.clone()>
                    {m.name.clone()}
                    <ActionForm action=member attr:class="inline">
                        <input type="hidden" name="team_id" value=team_id/>
                        <input type="hidden" name="agent_id" value=m.id.to_string()/>
                        <input type="hidden" name="member" value="false"/>
                        <button type="submit" class="small">"Remove"</button>
                    </ActionForm>
                </li>
            }
        })
        .collect_view();
    view! {
        <section class="card team" data-team=team.name.clone()>
            <h2>{team.name.clone()}</h2>
            <ul class="duplicates">
                {members}
            </ul>
            <ActionForm action=member attr:class="inline">
                <input type="hidden" name="team_id" value=team_id/>
                <input type="hidden" name="member" value="true"/>
                <select name="agent_id" aria-label="Agent to add">
                    {others.into_iter().map(|a| view! { <option value=a.id.to_string()>{a.name}</option> }).collect_view()}
                </select>
                <button type="submit" class="small">"Add to team"</button>
            </ActionForm>
        </section>
    }
}
