//! `/app/settings/slas`: business-hours calendars and SLA policies (admins): create, edit,
//! reorder and delete policies, create and edit calendars (holidays typed or imported from an
//! iCalendar file), and a preview of when a ticket created now would come due.

use frontdesk_core::tickets::{Channel, Priority};
use leptos::prelude::*;
use leptos_meta::Title;

use crate::api::{
    CalendarRow, DeleteSlaPolicy, MoveSlaPolicy, PolicyForm, PolicyRow, PreviewSla,
    SaveSlaCalendar, SaveSlaPolicy, WEEKDAY_FIELDS, list_slas,
};
use crate::components::{ErrorNotice, action_error};

/// The SLA settings page.
#[component]
pub fn SlasPage() -> impl IntoView {
    // Each form has its own action, so its errors show beside it; a successful save bumps this.
    let saved = RwSignal::new(0u64);
    let moved = ServerAction::<MoveSlaPolicy>::new();
    let deleted = ServerAction::<DeleteSlaPolicy>::new();
    let settings = Resource::new(
        move || (saved.get(), moved.version().get(), deleted.version().get()),
        |_| list_slas(),
    );
    view! {
        <Title text="SLAs · frontdesk"/>
        <header class="page-header"><h1>"SLAs"</h1></header>
        <Transition fallback=|| view! { <p class="loading">"Loading SLA settings…"</p> }>
            {move || Suspend::new(async move {
                let settings = match settings.await {
                    Ok(s) => s,
                    Err(e) => return view! { <ErrorNotice error=e/> }.into_any(),
                };
                let calendars: Vec<(i64, String)> = settings.calendars.iter().map(|c| (c.id, c.name.clone())).collect();
                let choices = Choices { calendars, teams: settings.teams.clone() };
                let count = settings.policies.len();
                view! {
                    <section class="card">
                        <h2>"Policies"</h2>
                        <p class="muted">"The first policy whose conditions match a ticket applies."</p>
                        {if settings.policies.is_empty() {
                            view! { <p class="muted">"No policies yet: tickets have no SLA."</p> }.into_any()
                        } else {
                            let choices = choices.clone();
                            view! {
                                <ol class="policies" id="policies">
                                    {settings.policies.into_iter().enumerate().map(|(i, p)| view! {
                                        <PolicyItem policy=p first=i == 0 last=i + 1 == count choices=choices.clone() saved moved deleted/>
                                    }).collect_view()}
                                </ol>
                            }
                                .into_any()
                        }}
                    </section>
                    <section class="card">
                        <h2>"Calendars"</h2>
                        {if settings.calendars.is_empty() {
                            view! { <p class="muted">"No calendars: policies count around the clock."</p> }.into_any()
                        } else {
                            view! {
                                <table class="table" id="calendars">
                                    <thead><tr><th>"Name"</th><th>"Time zone"</th><th>"Hours (Mon–Sun)"</th><th>"Holidays"</th><th></th></tr></thead>
                                    <tbody>
                                        {settings.calendars.into_iter().map(|c| view! { <CalendarItem calendar=c saved/> }).collect_view()}
                                    </tbody>
                                </table>
                            }
                                .into_any()
                        }}
                    </section>
                    <section class="card">
                        <h2>"New policy"</h2>
                        <PolicyFields saved id=None name=String::new() form=PolicyForm::new_policy() choices=choices.clone() prefix="policy"/>
                    </section>
                    <section class="card">
                        <h2>"New calendar"</h2>
                        <CalendarFields saved calendar=None prefix="calendar"/>
                    </section>
                }
                    .into_any()
            })}
        </Transition>
    }
}

/// What the policy form offers to pick from: `(id, name)` each.
#[derive(Clone)]
struct Choices {
    calendars: Vec<(i64, String)>,
    teams: Vec<(i64, String)>,
}

impl PolicyForm {
    /// A new policy's defaults: pause while pending and on hold, warn at 75%.
    fn new_policy() -> Self {
        Self { pause_pending: true, pause_on_hold: true, warn_percent: 75, ..Self::default() }
    }
}

/// One policy: what it does, its order buttons, its edit form and the preview.
#[component]
fn PolicyItem(
    policy: PolicyRow,
    first: bool,
    last: bool,
    choices: Choices,
    saved: RwSignal<u64>,
    moved: ServerAction<MoveSlaPolicy>,
    deleted: ServerAction<DeleteSlaPolicy>,
) -> impl IntoView {
    let preview = ServerAction::<PreviewSla>::new();
    let id = policy.id.to_string();
    let order_button = |direction: &'static str, label: &'static str, disabled: bool| {
        let id = id.clone();
        view! {
            <ActionForm action=moved attr:class="inline">
                <input type="hidden" name="id" value=id.clone()/>
                <input type="hidden" name="direction" value=direction/>
                <button type="submit" class="small" disabled=disabled aria-label=format!("Move {label}") data-move=direction>{label}</button>
            </ActionForm>
        }
    };
    view! {
        <li class="policy" data-policy=policy.name.clone()>
            <div class="policy-head">
                <strong>{policy.name.clone()}</strong>
                {order_button("up", "up", first)}
                {order_button("down", "down", last)}
                <ActionForm action=deleted attr:class="inline">
                    <input type="hidden" name="id" value=policy.id.to_string()/>
                    <button type="submit" class="small danger" data-delete="policy">"Delete"</button>
                </ActionForm>
            </div>
            <p class="muted">{format!("{} · {} · pauses: {}", policy.calendar, policy.applies_to, if policy.pauses.is_empty() { "none".to_owned() } else { policy.pauses.clone() })}</p>
            <p class="muted">{format!("At a breach: {}", policy.at_breach)}</p>
            <ul class="muted">
                {Priority::ALL.iter().zip(policy.targets.clone()).map(|(p, t)| view! { <li>{format!("{}: {t}", p.label())}</li> }).collect_view()}
            </ul>
            <ActionForm action=preview attr:class="inline">
                <input type="hidden" name="policy_id" value=policy.id.to_string()/>
                <label>"A ticket created now with priority "
                    <select name="priority" aria-label="Preview priority">
                        {Priority::ALL.iter().map(|p| view! { <option value=p.as_str() selected=*p == Priority::Normal>{p.label()}</option> }).collect_view()}
                    </select>
                </label>
                <button type="submit" class="small" data-preview="policy">"would be due…"</button>
            </ActionForm>
            {move || preview.value().get().map(|result| match result {
                Ok(due) => view! {
                    <ul class="preview">
                        {due.into_iter().map(|(metric, at)| view! { <li>{format!("{metric}: {at}")}</li> }).collect_view()}
                    </ul>
                }
                    .into_any(),
                Err(e) => view! { <ErrorNotice error=e/> }.into_any(),
            })}
            <details class="edit">
                <summary>"Edit"</summary>
                <PolicyFields saved id=Some(policy.id) name=policy.name.clone() form=policy.form choices prefix="edit-policy"/>
            </details>
        </li>
    }
}

/// The policy form, empty for a new policy or filled with an existing one's settings. Element
/// ids start with `prefix` (and the policy id when editing).
#[component]
fn PolicyFields(
    saved: RwSignal<u64>,
    id: Option<i64>,
    name: String,
    form: PolicyForm,
    choices: Choices,
    prefix: &'static str,
) -> impl IntoView {
    let action = ServerAction::<SaveSlaPolicy>::new();
    let result = move || action.value().get();
    bump_when_saved(result, saved);
    let error = move |field: String| move || action_error(result, field.clone()).get();
    let key = id.map_or_else(|| prefix.to_owned(), |id| format!("{prefix}-{id}"));
    let targets = form.targets.clone();
    let form_id = format!("{key}-form");
    view! {
        <ActionForm action=action attr:id=form_id attr:class="policy-form">
            <IdAndName key=key.clone() id name error=Signal::derive(error("name".into()))/>
            <div class="field">
                <label for=format!("{key}-calendar")>"Calendar"</label>
                <select id=format!("{key}-calendar") name="calendar_id">
                    <option value="">"24/7"</option>
                    {choices.calendars.iter().map(|(cid, cname)| view! { <option value=cid.to_string() selected=form.calendar_id == Some(*cid)>{cname.clone()}</option> }).collect_view()}
                </select>
            </div>
            <fieldset class="field">
                <legend>"Applies to tickets with (nothing ticked: any)"</legend>
                <p class="checks">"Priority: "
                    {Priority::ALL.iter().map(|p| view! {
                        <label><input type="checkbox" name=format!("priorities[{}]", p.as_str()) checked=form.priorities.iter().any(|x| x == p.as_str())/>{format!(" {} ", p.label())}</label>
                    }).collect_view()}
                </p>
                <p class="checks">"Channel: "
                    {Channel::ALL.iter().map(|c| view! {
                        <label><input type="checkbox" name=format!("channels[{}]", c.as_str()) checked=form.channels.iter().any(|x| x == c.as_str())/>{format!(" {} ", c.label())}</label>
                    }).collect_view()}
                </p>
                {(!choices.teams.is_empty()).then(|| view! {
                    <p class="checks">"Team: "
                        {choices.teams.iter().map(|(tid, tname)| view! {
                            <label><input type="checkbox" name=format!("teams[{tid}]") checked=form.team_ids.contains(tid)/>{format!(" {tname} ")}</label>
                        }).collect_view()}
                    </p>
                })}
                <p class="field-error">{error("teams".into())}</p>
                <label>"Tags (any of, comma-separated) " <input name="tags" value=form.tags.clone() id=format!("{key}-tags")/></label>
                <label>"Requester organizations (names, comma-separated) " <input name="organizations" value=form.organizations.clone() id=format!("{key}-organizations")/></label>
                <p class="field-error">{error("organizations".into())}</p>
            </fieldset>
            <table class="table targets">
                <thead><tr><th>"Hours of business time"</th><th>"First response"</th><th>"Next response"</th><th>"Resolution"</th></tr></thead>
                <tbody>
                    {Priority::ALL.iter().map(|p| {
                        let input = |metric: &'static str| {
                            let field = format!("{metric}_{}", p.as_str());
                            view! {
                                <td>
                                    <input type="number" min="0" step="any" name=format!("targets[{field}]") id=format!("{key}-target-{field}")
                                        value=targets.get(&field).cloned().unwrap_or_default() aria-label=format!("{metric} {}", p.label())/>
                                    <p class="field-error">{error(format!("targets[{field}]"))}</p>
                                </td>
                            }
                        };
                        view! { <tr><th>{p.label()}</th>{input("first_response")}{input("next_response")}{input("resolution")}</tr> }
                    }).collect_view()}
                </tbody>
            </table>
            <p class="field-error">{error("targets".into())}</p>
            <fieldset class="field">
                <legend>"Pause the clocks while"</legend>
                <label><input type="checkbox" name="pause_pending" checked=form.pause_pending/>" pending"</label>
                <label><input type="checkbox" name="pause_on_hold" checked=form.pause_on_hold/>" on hold"</label>
            </fieldset>
            <div class="field">
                <label for=format!("{key}-warn")>"Warn at (% of a target)"</label>
                <input id=format!("{key}-warn") name="warn_percent" type="number" min="0" max="99" value=form.warn_percent.to_string()/>
                <p class="field-error">{error("warn_percent".into())}</p>
            </div>
            <fieldset class="field">
                <legend>"At a breach (the assignee and the team are always notified)"</legend>
                <label><input type="checkbox" name="raise_priority" checked=form.raise_priority/>" raise the priority"</label>
                <label>" move the ticket to "
                    <select name="breach_team_id" id=format!("{key}-breach-team")>
                        <option value="">"(keep its team)"</option>
                        {choices.teams.iter().map(|(tid, tname)| view! { <option value=tid.to_string() selected=form.breach_team_id == Some(*tid)>{tname.clone()}</option> }).collect_view()}
                    </select>
                </label>
                <p class="field-error">{error("breach_team_id".into())}</p>
            </fieldset>
            <p class="form-error" role="alert">{error("*".into())}</p>
            <button type="submit" class="primary" id=format!("{key}-save")>{if id.is_some() { "Save policy" } else { "Add policy" }}</button>
        </ActionForm>
    }
}

/// One calendar row, with its edit form.
#[component]
fn CalendarItem(calendar: CalendarRow, saved: RwSignal<u64>) -> impl IntoView {
    let hours = calendar
        .hours
        .iter()
        .map(|h| if h.is_empty() { "closed".to_owned() } else { h.clone() })
        .collect::<Vec<_>>()
        .join(" · ");
    let (name, zone, holidays) =
        (calendar.name.clone(), calendar.time_zone.clone(), calendar.holidays.join(", "));
    let data_name = name.clone();
    view! {
        <tr data-calendar=data_name>
            <td>{name}</td>
            <td>{zone}</td>
            <td>{hours}</td>
            <td class="holidays">{holidays}</td>
            <td>
                <details class="edit">
                    <summary>"Edit"</summary>
                    <CalendarFields saved calendar=Some(calendar) prefix="edit-calendar"/>
                </details>
            </td>
        </tr>
    }
}

/// The calendar form, empty or filled with an existing calendar.
#[component]
fn CalendarFields(
    saved: RwSignal<u64>,
    calendar: Option<CalendarRow>,
    prefix: &'static str,
) -> impl IntoView {
    let action = ServerAction::<SaveSlaCalendar>::new();
    let id = calendar.as_ref().map(|c| c.id);
    let result = move || action.value().get();
    bump_when_saved(result, saved);
    let error = move |field: String| move || action_error(result, field.clone()).get();
    let key = id.map_or_else(|| prefix.to_owned(), |id| format!("{prefix}-{id}"));
    let hours: Vec<String> = (0..7)
        .map(|day| {
            calendar.as_ref().map_or_else(
                || if day < 5 { "09:00-17:00".to_owned() } else { String::new() },
                |c| c.hours[day].clone(),
            )
        })
        .collect();
    let name = calendar.as_ref().map(|c| c.name.clone());
    let zone = calendar.as_ref().map_or_else(|| "UTC".to_owned(), |c| c.time_zone.clone());
    let holidays = calendar.as_ref().map(|c| c.holidays.join("\n"));
    let (form_id, ical_id) = (format!("{key}-form"), format!("{key}-ical"));
    let ical_target = ical_id.clone();
    view! {
        <ActionForm action=action attr:id=form_id>
            <IdAndName key=key.clone() id name error=Signal::derive(error("name".into()))/>
            <div class="field">
                <label for=format!("{key}-zone")>"Time zone"</label>
                <input id=format!("{key}-zone") name="time_zone" value=zone placeholder="Europe/Berlin"/>
                <p class="field-error">{error("time_zone".into())}</p>
            </div>
            {WEEKDAY_FIELDS.iter().enumerate().map(|(i, (day, label))| view! {
                <div class="field">
                    <label for=format!("{key}-hours-{day}")>{*label}</label>
                    <input id=format!("{key}-hours-{day}") name=format!("hours[{day}]") value=hours[i].clone() placeholder="closed"/>
                    <p class="field-error">{error(format!("hours[{day}]"))}</p>
                </div>
            }).collect_view()}
            <p class="field-error">{error("hours".into())}</p>
            <div class="field">
                <label for=format!("{key}-holidays")>"Holidays (one per line: 2026-12-25 or 2026-12-24..2026-12-26)"</label>
                <textarea id=format!("{key}-holidays") name="holidays" rows="3">{holidays.map(crate::components::textarea_text)}</textarea>
                <p class="field-error">{error("holidays".into())}</p>
            </div>
            <div class="field">
                <label for=format!("{key}-ical")>"Import holidays from an iCalendar file (.ics): choose it or paste its text"</label>
                <input type="file" accept=".ics,text/calendar" id=format!("{key}-ical-file") aria-label="iCalendar file"
                    on:change=move |ev| read_file_into(ev, ical_target.clone())/>
                <textarea id=ical_id name="ical" rows="2" placeholder="BEGIN:VCALENDAR…"></textarea>
                <p class="field-error">{error("ical".into())}</p>
            </div>
            <p class="form-error" role="alert">{error("*".into())}</p>
            <button type="submit" class="primary" id=format!("{key}-save")>{if id.is_some() { "Save calendar" } else { "Add calendar" }}</button>
        </ActionForm>
    }
}

/// The hidden id (empty for a new one) and the name field both forms start with.
#[component]
fn IdAndName(
    key: String,
    id: Option<i64>,
    #[prop(into)] name: Option<String>,
    error: Signal<Option<String>>,
) -> impl IntoView {
    view! {
        <input type="hidden" name="id" value=id.map(|i| i.to_string()).unwrap_or_default()/>
        <div class="field">
            <label for=format!("{key}-name")>"Name"</label>
            <input id=format!("{key}-name") name="name" required value=name/>
            <p class="field-error">{error}</p>
        </div>
    }
}

/// Bumps `saved` each time a form's action succeeds, so the page reloads the settings (and
/// keeps the form with its errors when it fails).
fn bump_when_saved<T: 'static>(
    result: impl Fn() -> Option<Result<T, crate::api::ApiError>> + 'static,
    saved: RwSignal<u64>,
) {
    Effect::new(move |_| {
        if matches!(result(), Some(Ok(_))) {
            saved.update(|n| *n += 1);
        }
    });
}

/// Reads the chosen file's text into the textarea `target` (in the browser; without JavaScript
/// the text can be pasted).
fn read_file_into(event: leptos::ev::Event, target: String) {
    #[cfg(feature = "hydrate")]
    {
        use wasm_bindgen::JsCast;
        let Some(input) =
            event.target().and_then(|t| t.dyn_into::<web_sys::HtmlInputElement>().ok())
        else {
            return;
        };
        let Some(file) = input.files().and_then(|files| files.get(0)) else { return };
        leptos::task::spawn_local(async move {
            let Ok(text) = wasm_bindgen_futures::JsFuture::from(file.text()).await else { return };
            if let Some(area) = document()
                .get_element_by_id(&target)
                .and_then(|e| e.dyn_into::<web_sys::HtmlTextAreaElement>().ok())
            {
                area.set_value(&text.as_string().unwrap_or_default());
            }
        });
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = (event, target);
}
