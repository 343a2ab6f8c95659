//! `/app/settings/slas`: business-hours calendars and SLA policies (admins), with a preview of
//! when a ticket created now would come due.

use frontdesk_core::ticket::{Channel, Priority};
use leptos::prelude::*;
use leptos_meta::Title;

use crate::api::{CreateSlaCalendar, CreateSlaPolicy, PolicyRow, PreviewSla, WEEKDAY_FIELDS, list_slas};
use crate::components::{ErrorNotice, action_error};

/// The SLA settings page.
#[component]
pub fn SlasPage() -> impl IntoView {
    let calendar = ServerAction::<CreateSlaCalendar>::new();
    let policy = ServerAction::<CreateSlaPolicy>::new();
    let settings = Resource::new(move || (calendar.version().get(), policy.version().get()), |_| list_slas());
    let calendar_result = move || calendar.value().get();
    let policy_result = move || policy.value().get();
    view! {
        <Title text="SLAs · frontdesk"/>
        <header class="page-header"><h1>"SLAs"</h1></header>
        <Transition fallback=|| view! { <p class="loading">"Loading SLA settings…"</p> }>
            {move || Suspend::new(async move {
                let settings = match settings.await {
                    Ok(s) => s,
                    Err(e) => return view! { <ErrorNotice error=e/> }.into_any(),
                };
                let calendars = settings.calendars.clone();
                view! {
                    <section class="card">
                        <h2>"Policies"</h2>
                        <p class="muted">"The first policy whose conditions match a ticket applies."</p>
                        {if settings.policies.is_empty() {
                            view! { <p class="muted">"No policies yet: tickets have no SLA."</p> }.into_any()
                        } else {
                            view! {
                                <ol class="policies" id="policies">
                                    {settings.policies.into_iter().map(|p| view! { <PolicyItem policy=p/> }).collect_view()}
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
                                    <thead><tr><th>"Name"</th><th>"Time zone"</th><th>"Hours (Mon–Sun)"</th><th>"Holidays"</th></tr></thead>
                                    <tbody>
                                        {settings.calendars.into_iter().map(|c| view! {
                                            <tr>
                                                <td>{c.name}</td>
                                                <td>{c.time_zone}</td>
                                                <td>{c.hours.iter().map(|h| if h.is_empty() { "closed".to_owned() } else { h.clone() }).collect::<Vec<_>>().join(" · ")}</td>
                                                <td>{c.holidays.join(", ")}</td>
                                            </tr>
                                        }).collect_view()}
                                    </tbody>
                                </table>
                            }
                                .into_any()
                        }}
                    </section>
                    <section class="card">
                        <h2>"New policy"</h2>
                        <ActionForm action=policy attr:id="policy-form">
                            <div class="field">
                                <label for="policy-name">"Name"</label>
                                <input id="policy-name" name="name" required/>
                                <p class="field-error">{move || action_error(policy_result, "name").get()}</p>
                            </div>
                            <div class="field">
                                <label for="policy-calendar">"Calendar"</label>
                                <select id="policy-calendar" name="calendar_id">
                                    <option value="">"24/7"</option>
                                    {calendars.into_iter().map(|c| view! { <option value=c.id.to_string()>{c.name}</option> }).collect_view()}
                                </select>
                            </div>
                            <fieldset class="field">
                                <legend>"Applies to tickets with"</legend>
                                <select name="priority" aria-label="Priority condition">
                                    <option value="">"any priority"</option>
                                    {Priority::ALL.iter().map(|p| view! { <option value=p.as_str()>{p.label()}</option> }).collect_view()}
                                </select>
                                <select name="channel" aria-label="Channel condition">
                                    <option value="">"any channel"</option>
                                    {Channel::ALL.iter().map(|c| view! { <option value=c.as_str()>{c.label()}</option> }).collect_view()}
                                </select>
                                <input name="tag" placeholder="any tag" aria-label="Tag condition"/>
                            </fieldset>
                            <table class="table targets">
                                <thead><tr><th>"Hours of business time"</th><th>"First response"</th><th>"Next response"</th><th>"Resolution"</th></tr></thead>
                                <tbody>
                                    {Priority::ALL.iter().map(|p| {
                                        let input = move |metric: &'static str| {
                                            let key = format!("{metric}_{}", p.as_str());
                                            view! {
                                                <td>
                                                    <input type="number" min="0" step="any" name=format!("targets[{key}]") id=format!("target-{key}") aria-label=format!("{metric} {}", p.label())/>
                                                    <p class="field-error">{move || action_error(policy_result, format!("targets[{key}]")).get()}</p>
                                                </td>
                                            }
                                        };
                                        view! { <tr><th>{p.label()}</th>{input("first_response")}{input("next_response")}{input("resolution")}</tr> }
                                    }).collect_view()}
                                </tbody>
                            </table>
                            <p class="field-error">{move || action_error(policy_result, "targets").get()}</p>
                            <fieldset class="field">
                                <legend>"Pause the clocks while"</legend>
                                <label><input type="checkbox" name="pause_pending" checked/>" pending"</label>
                                <label><input type="checkbox" name="pause_on_hold" checked/>" on hold"</label>
                            </fieldset>
                            <div class="field">
                                <label for="policy-warn">"Warn at (% of a target)"</label>
                                <input id="policy-warn" name="warn_percent" type="number" min="0" max="99" value="75"/>
                                <p class="field-error">{move || action_error(policy_result, "warn_percent").get()}</p>
                            </div>
                            <label><input type="checkbox" name="raise_priority"/>" At a breach, raise the priority"</label>
                            <p class="form-error" role="alert">{move || action_error(policy_result, "*").get()}</p>
                            <button type="submit" class="primary" id="create-policy">"Add policy"</button>
                        </ActionForm>
                    </section>
                    <section class="card">
                        <h2>"New calendar"</h2>
                        <ActionForm action=calendar attr:id="calendar-form">
                            <div class="field">
                                <label for="calendar-name">"Name"</label>
                                <input id="calendar-name" name="name" required/>
                                <p class="field-error">{move || action_error(calendar_result, "name").get()}</p>
                            </div>
                            <div class="field">
                                <label for="calendar-zone">"Time zone"</label>
                                <input id="calendar-zone" name="time_zone" value="UTC" placeholder="Europe/Berlin"/>
                                <p class="field-error">{move || action_error(calendar_result, "time_zone").get()}</p>
                            </div>
                            {WEEKDAY_FIELDS.iter().enumerate().map(|(i, (key, label))| view! {
                                <div class="field">
                                    <label for=format!("hours-{key}")>{*label}</label>
                                    <input id=format!("hours-{key}") name=format!("hours[{key}]") value=if i < 5 { "09:00-17:00" } else { "" } placeholder="closed"/>
                                    <p class="field-error">{move || action_error(calendar_result, format!("hours[{key}]")).get()}</p>
                                </div>
                            }).collect_view()}
                            <p class="field-error">{move || action_error(calendar_result, "hours").get()}</p>
                            <div class="field">
                                <label for="calendar-holidays">"Holidays (one per line: 2026-12-25 or 2026-12-24..2026-12-26)"</label>
                                <textarea id="calendar-holidays" name="holidays" rows="3"></textarea>
                                <p class="field-error">{move || action_error(calendar_result, "holidays").get()}</p>
                            </div>
                            <p class="form-error" role="alert">{move || action_error(calendar_result, "*").get()}</p>
                            <button type="submit" class="primary" id="create-calendar">"Add calendar"</button>
                        </ActionForm>
                    </section>
                }
                    .into_any()
            })}
        </Transition>
    }
}

/// One policy with its targets and the preview form.
#[component]
fn PolicyItem(policy: PolicyRow) -> impl IntoView {
    let preview = ServerAction::<PreviewSla>::new();
    view! {
        <li class="policy" data-policy=policy.name.clone()>
            <strong>{policy.name.clone()}</strong>
            <span class="muted">{format!(" · {} · {} · pauses: {}", policy.calendar, policy.applies_to, if policy.pauses.is_empty() { "none".to_owned() } else { policy.pauses.clone() })}</span>
            <ul class="muted">
                {Priority::ALL.iter().zip(policy.targets).map(|(p, t)| view! { <li>{format!("{}: {t}", p.label())}</li> }).collect_view()}
            </ul>
            <ActionForm action=preview attr:class="inline">
                <input type="hidden" name="policy_id" value=policy.id.to_string()/>
                <label>"A ticket created now with priority "
                    <select name="priority" aria-label="Preview priority">
                        {Priority::ALL.iter().map(|p| view! { <option value=p.as_str() selected=*p == Priority::Normal>{p.label()}</option> }).collect_view()}
                    </select>
                </label>
                <button type="submit" class="small">"would be due…"</button>
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
        </li>
    }
}
