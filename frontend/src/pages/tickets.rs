//! `/app/tickets`: the queue. Views on the left, tickets most recently changed first, more on
//! demand (keyset pages).

use frontdesk_core::platform::time::Timestamp;
use frontdesk_core::tickets::{Priority, Status, TicketSummary};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_navigate, use_query_map};

use crate::api::{BulkUpdateTickets, QueuePage, list_agents, list_queue, list_teams, queue_counts};
use crate::components::{ErrorNotice, PriorityBadge, SlaBadge, StatusBadge, now_ms};
use crate::keyboard::on_shortcut;
use leptos_router::components::Form;

/// The index of the queue row selected with the keyboard.
#[derive(Clone, Copy)]
struct Selection(RwSignal<usize>);

/// The ticket numbers ticked for a bulk action.
#[derive(Clone, Copy)]
struct Checked(RwSignal<Vec<i64>>);

/// The filters and sort of the queue, from the page's query string. Dates are `YYYY-MM-DD`
/// (UTC days, both ends included).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct Filters {
    status: Option<String>,
    priority: Option<String>,
    assignee_id: Option<String>,
    tag: Option<String>,
    sort: Option<String>,
    requester_id: Option<String>,
    organization_id: Option<String>,
    created_from: Option<String>,
    created_to: Option<String>,
    updated_from: Option<String>,
    updated_to: Option<String>,
    sla: Option<String>,
}

const DAY_MS: i64 = 24 * 3600 * 1000;

/// The SLA filter's choices: value, label, and how far from now the due time may be.
const SLA_WINDOWS: [(&str, &str, i64); 4] = [
    ("overdue", "SLA breached", 0),
    ("1h", "SLA due within 1 hour", 3_600_000),
    ("4h", "SLA due within 4 hours", 4 * 3_600_000),
    ("24h", "SLA due within 24 hours", DAY_MS),
];

impl Filters {
    fn from_query(query: &leptos_router::params::ParamsMap) -> Self {
        let get = |key: &str| query.get(key).filter(|v| !v.is_empty());
        Self {
            status: get("status"),
            priority: get("priority"),
            assignee_id: get("assignee_id"),
            tag: get("tag"),
            sort: get("sort"),
            requester_id: get("requester_id"),
            organization_id: get("organization_id"),
            created_from: get("created_from"),
            created_to: get("created_to"),
            updated_from: get("updated_from"),
            updated_to: get("updated_to"),
            sla: get("sla"),
        }
    }

    async fn fetch(
        self,
        view: String,
        team: Option<i64>,
        cursor: Option<String>,
    ) -> Result<QueuePage, crate::api::ApiError> {
        let id = |v: &Option<String>| v.as_deref().and_then(|v| v.parse::<i64>().ok());
        let day = |v: &Option<String>, extra: i64| {
            v.as_deref().and_then(Timestamp::start_of_utc_date).map(|t| t.unix_millis() + extra)
        };
        list_queue(
            view,
            team,
            cursor,
            self.status,
            self.priority,
            self.assignee_id,
            self.tag,
            self.sort,
            id(&self.requester_id),
            id(&self.organization_id),
            day(&self.created_from, 0),
            day(&self.created_to, DAY_MS),
            day(&self.updated_from, 0),
            day(&self.updated_to, DAY_MS),
            self.sla
                .as_deref()
                .and_then(|window| SLA_WINDOWS.iter().find(|w| w.0 == window))
                .map(|w| now_ms() + w.2),
        )
        .await
    }
}

/// Filters and sort, as a GET form: the URL says what the queue shows.
#[component]
fn FilterBar(
    view: Memo<String>,
    team: Memo<Option<i64>>,
    filters: Memo<Filters>,
    agents: Resource<Result<Vec<frontdesk_core::agents::Agent>, crate::api::ApiError>>,
) -> impl IntoView {
    let selected = move |value: Option<String>, option: &str| value.as_deref() == Some(option);
    view! {
        <Form method="GET" action="/app/tickets" attr:class="filters" attr:id="filters">
            <input type="hidden" name="view" value=move || view.get()/>
            {move || team.get().map(|t| view! { <input type="hidden" name="team" value=t.to_string()/> })}
            <select name="status" aria-label="Status">
                <option value="">"Any status"</option>
                {Status::ALL.iter().map(|s| view! { <option value=s.as_str() selected=move || selected(filters.get().status, s.as_str())>{s.label()}</option> }).collect_view()}
            </select>
            <select name="priority" aria-label="Priority">
                <option value="">"Any priority"</option>
                {Priority::ALL.iter().map(|p| view! { <option value=p.as_str() selected=move || selected(filters.get().priority, p.as_str())>{p.label()}</option> }).collect_view()}
            </select>
            <Suspense>
                {move || Suspend::new(async move {
                    let list = agents.await.unwrap_or_default();
                    view! {
                        <select name="assignee_id" aria-label="Assignee">
                            <option value="">"Anyone"</option>
                            {list.iter().map(|a| {
                                let id = a.id.to_string();
                                let is = selected(filters.get_untracked().assignee_id, &id);
                                view! { <option value=id selected=is>{a.picker_label(&list)}</option> }
                            }).collect_view()}
                        </select>
                    }
                })}
            </Suspense>
            <input name="tag" placeholder="Tag" aria-label="Tag" value=move || filters.get().tag.unwrap_or_default()/>
            <select name="sla" aria-label="SLA due">
                <option value="">"Any SLA"</option>
                {SLA_WINDOWS.iter().map(|(value, label, _)| view! { <option value=*value selected=move || selected(filters.get().sla, value)>{*label}</option> }).collect_view()}
            </select>
            <label class="inline-label">"Created"
                <input type="date" name="created_from" aria-label="Created from" value=move || filters.get().created_from.unwrap_or_default()/>
                "–"
                <input type="date" name="created_to" aria-label="Created to" value=move || filters.get().created_to.unwrap_or_default()/>
            </label>
            <label class="inline-label">"Updated"
                <input type="date" name="updated_from" aria-label="Updated from" value=move || filters.get().updated_from.unwrap_or_default()/>
                "–"
                <input type="date" name="updated_to" aria-label="Updated to" value=move || filters.get().updated_to.unwrap_or_default()/>
            </label>
            {move || filters.get().requester_id.map(|id| view! {
                <input type="hidden" name="requester_id" value=id.clone()/>
                <a class="chip" id="requester-filter" href=format!("/app/customers/{id}")>"One customer"</a>
            })}
            {move || filters.get().organization_id.map(|id| view! {
                <input type="hidden" name="organization_id" value=id.clone()/>
                <a class="chip" id="organization-filter" href=format!("/app/organizations/{id}")>"One organization"</a>
            })}
            <select name="sort" aria-label="Sort">
                <option value="updated" selected=move || filters.get().sort.is_none()>"Recently updated"</option>
                <option value="created" selected=move || selected(filters.get().sort, "created")>"Recently created"</option>
                <option value="priority" selected=move || selected(filters.get().sort, "priority")>"Most urgent"</option>
                <option value="sla" selected=move || selected(filters.get().sort, "sla")>"SLA due first"</option>
            </select>
            <button type="submit" class="small">"Apply"</button>
            <a class="small" href=move || format!("/app/tickets?view={}", view.get())>"Clear"</a>
        </Form>
    }
}

/// Shown while tickets are ticked: one change for all of them.
#[component]
fn BulkBar(
    checked: RwSignal<Vec<i64>>,
    bulk: ServerAction<BulkUpdateTickets>,
    agents: Resource<Result<Vec<frontdesk_core::agents::Agent>, crate::api::ApiError>>,
) -> impl IntoView {
    let numbers = move || checked.get().iter().map(i64::to_string).collect::<Vec<_>>().join(",");
    view! {
        <Show when=move || !checked.read().is_empty()>
            <ActionForm action=bulk attr:class="bulk card" attr:id="bulk">
                <strong>{move || format!("{} selected", checked.read().len())}</strong>
                <input type="hidden" name="numbers" value=numbers/>
                <select name="status" aria-label="Set status">
                    <option value="">"Status…"</option>
                    {Status::ALL.iter().map(|s| view! { <option value=s.as_str()>{s.label()}</option> }).collect_view()}
                </select>
                <select name="priority" aria-label="Set priority">
                    <option value="">"Priority…"</option>
                    {Priority::ALL.iter().map(|p| view! { <option value=p.as_str()>{p.label()}</option> }).collect_view()}
                </select>
                <Suspense>
                    {move || Suspend::new(async move {
                        let list = agents.await.unwrap_or_default();
                        view! {
                            <select name="assignee_id" aria-label="Assign to">
                                <option value="">"Assign…"</option>
                                <option value="none">"Unassigned"</option>
                                {list.iter().filter(|a| a.active).map(|a| view! { <option value=a.id.to_string()>{a.picker_label(&list)}</option> }).collect_view()}
                            </select>
                        }
                    })}
                </Suspense>
                <input name="add_tags" placeholder="Add tags" aria-label="Add tags"/>
                <input name="remove_tags" placeholder="Remove tags" aria-label="Remove tags"/>
                <button type="submit" class="primary small" id="apply-bulk">"Apply"</button>
            </ActionForm>
        </Show>
    }
}

/// The queue views, as (query value, label).
const VIEWS: [(&str, &str); 6] = [
    ("unassigned", "Unassigned"),
    ("mine", "Mine"),
    ("open", "All open"),
    ("pending", "Pending"),
    ("breaching", "Breaching soon"),
    ("solved", "Recently solved"),
];

/// The ticket queue.
#[component]
pub fn TicketsPage() -> impl IntoView {
    let query = use_query_map();
    let view = Memo::new(move |_| query.read().get("view").unwrap_or_else(|| "open".to_owned()));
    let live = expect_context::<crate::live::Live>();
    Effect::new(move |_| live.follow_queue());
    // Any ticket change refreshes the first page (the data comes from the database, never from
    // the notice itself).
    let team = Memo::new(move |_| query.read().get("team").and_then(|t| t.parse::<i64>().ok()));
    let filters = Memo::new(move |_| Filters::from_query(&query.read()));
    let bulk = ServerAction::<BulkUpdateTickets>::new();
    let first_page = Resource::new(
        move || {
            (view.get(), team.get(), filters.get(), live.queue_tick.get(), bulk.version().get())
        },
        |(view, team, f, ..)| f.fetch(view, team, None),
    );
    let counts =
        Resource::new(move || (live.queue_tick.get(), bulk.version().get()), |_| queue_counts());
    let agents = Resource::new(|| (), |()| list_agents());
    let checked = RwSignal::new(Vec::<i64>::new());
    Effect::new(move |_| {
        if let Some(Ok(_)) = bulk.value().get() {
            checked.set(Vec::new());
        }
    });
    let teams = Resource::new(|| (), |()| list_teams());
    let more = RwSignal::new(Vec::<TicketSummary>::new());
    let next_cursor = RwSignal::new(None::<String>);
    let load_more = Action::new(move |cursor: &String| {
        let (view, team, f, cursor) =
            (view.get_untracked(), team.get_untracked(), filters.get_untracked(), cursor.clone());
        async move { f.fetch(view, team, Some(cursor)).await }
    });
    Effect::new(move |_| {
        view.track();
        more.set(Vec::new());
    });
    // Keyboard: j/k move the selection, Enter opens the selected ticket.
    let selected = RwSignal::new(0_usize);
    let numbers = Memo::new(move |_| {
        let mut numbers: Vec<i64> = match first_page.get() {
            Some(Ok(page)) => page.tickets.iter().map(|t| t.number).collect(),
            _ => Vec::new(),
        };
        numbers.extend(more.read().iter().map(|t| t.number));
        numbers
    });
    let navigate = use_navigate();
    on_shortcut(move |key, _| {
        let count = numbers.with_untracked(Vec::len);
        match key {
            "j" if count > 0 => selected.update(|i| *i = (*i + 1).min(count - 1)),
            "k" => selected.update(|i| *i = i.saturating_sub(1)),
            "Enter" => {
                if let Some(number) =
                    numbers.with_untracked(|n| n.get(selected.get_untracked()).copied())
                {
                    navigate(&format!("/app/tickets/{number}"), Default::default());
                }
            }
            _ => {}
        }
    });
    provide_context(Selection(selected));
    provide_context(Checked(checked));
    Effect::new(move |_| {
        if let Some(Ok(QueuePage { tickets, next_cursor: next })) = load_more.value().get() {
            more.update(|list| list.extend(tickets));
            next_cursor.set(next);
        }
    });

    view! {
        <Title text="Tickets · frontdesk"/>
        <header class="page-header">
            <h1>"Tickets"</h1>
            <a class="button primary" href="/app/tickets/new">"New ticket"</a>
        </header>
        <nav class="tabs" aria-label="Queue views">
            {VIEWS.map(|(key, label)| view! {
                <a
                    href=format!("/app/tickets?view={key}")
                    class="tab"
                    class:active=move || view.get() == key
                    aria-current=move || (view.get() == key).then_some("page")
                >
                    {label}
                    <Suspense>
                        {move || Suspend::new(async move {
                            let n = counts.await.ok().and_then(|c| c.into_iter().find(|(k, _)| k == key).map(|(_, n)| n));
                            n.map(|n| view! { <span class="count" data-view=key>{if n >= 1000 { "999+".to_owned() } else { n.to_string() }}</span> })
                        })}
                    </Suspense>
                </a>
            })}
            <Suspense>
                {move || Suspend::new(async move {
                    teams.await.unwrap_or_default().into_iter().map(|t| {
                        let id = t.id;
                        view! {
                            <a
                                href=format!("/app/tickets?view=team&team={id}")
                                class="tab"
                                class:active=move || view.get() == "team" && team.get() == Some(id)
                            >
                                {t.name}
                            </a>
                        }
                    }).collect_view()
                })}
            </Suspense>
        </nav>
        <FilterBar view team filters agents/>
        <BulkBar checked bulk agents/>
        <section class="card">
            <Transition fallback=|| view! { <p class="loading">"Loading tickets…"</p> }>
                {move || Suspend::new(async move {
                    match first_page.await {
                        Ok(page) => {
                            next_cursor.set(page.next_cursor.clone());
                            view! {
                                <TicketTable tickets=page.tickets more=more/>
                                <Show when=move || next_cursor.get().is_some()>
                                    <button class="small" id="load-more" on:click=move |_| {
                                        if let Some(cursor) = next_cursor.get_untracked() {
                                            load_more.dispatch(cursor);
                                        }
                                    }>"Show more"</button>
                                </Show>
                            }
                                .into_any()
                        }
                        Err(e) => view! { <ErrorNotice error=e/> }.into_any(),
                    }
                })}
            </Transition>
        </section>
    }
}

/// Ticket rows: the first page, then whatever "Show more" loaded.
#[component]
fn TicketTable(tickets: Vec<TicketSummary>, more: RwSignal<Vec<TicketSummary>>) -> impl IntoView {
    let empty = tickets.is_empty();
    let first = tickets.len();
    view! {
        <Show when=move || !empty || !more.read().is_empty() fallback=|| view! {
            <p class="empty-state">"No tickets here. Nice work."</p>
        }>
            <table class="table" id="tickets">
                <thead>
                    <tr>
                        <th><span class="visually-hidden">"Select"</span></th>
                        <th>"#"</th>
                        <th>"Subject"</th>
                        <th>"Requester"</th>
                        <th>"Status"</th>
                        <th>"Priority"</th>
                        <th>"Assignee"</th>
                        <th>"SLA"</th>
                        <th>"Updated"</th>
                    </tr>
                </thead>
                <tbody>
                    {tickets.clone().into_iter().enumerate().map(|(index, t)| view! { <TicketRow ticket=t index/> }).collect_view()}
                    {move || more.get().into_iter().enumerate().map(|(i, t)| view! { <TicketRow ticket=t index=first + i/> }).collect_view()}
                </tbody>
            </table>
        </Show>
    }
}

/// One queue row; `index` is its place in the list, for keyboard selection.
#[component]
fn TicketRow(ticket: TicketSummary, index: usize) -> impl IntoView {
    let href = format!("/app/tickets/{}", ticket.number);
    let Selection(selected) = expect_context::<Selection>();
    let Checked(checked) = expect_context::<Checked>();
    let number = ticket.number;
    view! {
        <tr data-number=ticket.number.to_string() class:selected=move || selected.get() == index aria-selected=move || (selected.get() == index).to_string()>
            <td>
                <input
                    type="checkbox"
                    class="select-ticket"
                    aria-label=format!("Select ticket {number}")
                    prop:checked=move || checked.read().contains(&number)
                    on:change=move |_| checked.update(|list| {
                        if let Some(i) = list.iter().position(|n| *n == number) {
                            list.remove(i);
                        } else {
                            list.push(number);
                        }
                    })
                />
            </td>
            <td class="number">{format!("#{}", ticket.number)}</td>
            <td><a href=href>{ticket.subject}</a></td>
            <td>{ticket.requester.name}</td>
            <td><StatusBadge status=ticket.status/></td>
            <td><PriorityBadge priority=ticket.priority/></td>
            <td>{ticket.assignee.map(|a| a.name).unwrap_or_else(|| "—".into())}</td>
            <td class="sla-cell"><SlaBadge due=ticket.sla_due_at/></td>
            <td class="muted">{ticket.updated_at.display_utc()}</td>
        </tr>
    }
}
