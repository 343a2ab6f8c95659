//! Small pieces the pages share: form fields and errors, the customer-facing frame, article
//! suggestions, status and priority badges, and text helpers.

use frontdesk_core::tickets::{Priority, Status};
use leptos::prelude::*;

use crate::api::{ApiError, suggest_articles};

/// What people typed, as the text of a `<textarea>`. On the server tachys writes a textarea's
/// children into the page as they are (and never hydrates them), so `</textarea><script>` would
/// end the field and run: escape there. In the browser the child is a text node and stays as is.
pub fn textarea_text(text: String) -> String {
    if cfg!(feature = "ssr") {
        // The HTML parser drops one newline right after `<textarea>`: keep a leading one.
        let lead = if text.starts_with('\n') { "\n" } else { "" };
        format!("{lead}{}", frontdesk_core::platform::html::escape(&text))
    } else {
        text
    }
}

/// A page title as `<title>` text. leptos_meta writes titles into the server's HTML unescaped,
/// so a customer named `</title><script>` would break the page and run; `document.title` in the
/// browser takes plain text. Every page's title goes through this (set once, in `App`).
pub fn title_text(text: String) -> String {
    if cfg!(feature = "ssr") { frontdesk_core::platform::html::escape(&text) } else { text }
}

/// A failed request, explained.
#[component]
pub fn ErrorNotice(error: ApiError) -> impl IntoView {
    view! { <p class="form-error" role="alert">{error.to_string()}</p> }
}

/// A labelled form input with the server's message for it, if the last attempt had one.
#[component]
pub fn Field(
    /// The visible label.
    label: &'static str,
    /// The form field's name (and the server function argument it fills).
    name: &'static str,
    /// The input type (`text`, `email`, `password`).
    #[prop(default = "text")]
    kind: &'static str,
    /// The browser's autocomplete hint.
    #[prop(default = "off")]
    autocomplete: &'static str,
    /// The value the field starts with (a stored one being edited).
    #[prop(optional, into)]
    value: Option<String>,
    /// Whether the form needs it filled in.
    #[prop(default = true)]
    required: bool,
    /// The message from the last failed attempt, if it concerns this field.
    #[prop(into)]
    error: Signal<Option<String>>,
) -> impl IntoView {
    let id = format!("field-{name}");
    let error_id = format!("{id}-error");
    view! {
        <div class="field" class:invalid=move || error.get().is_some()>
            <label for=id.clone()>{label}</label>
            <input
                id=id
                type=kind
                name=name
                value=value
                autocomplete=autocomplete
                aria-describedby=error_id.clone()
                required=required
            />
            <p class="field-error" id=error_id>{move || error.get()}</p>
        </div>
    }
}

/// A labelled multi-line input with the server's message for it.
#[component]
pub fn TextAreaField(
    /// The visible label.
    label: &'static str,
    /// The form field's name (and the server function argument it fills).
    name: &'static str,
    /// Visible lines.
    #[prop(default = 6)]
    rows: u32,
    /// The message from the last failed attempt, if it concerns this field.
    #[prop(into)]
    error: Signal<Option<String>>,
) -> impl IntoView {
    let id = format!("field-{name}");
    view! {
        <div class="field" class:invalid=move || error.get().is_some()>
            <label for=id.clone()>{label}</label>
            <textarea id=id name=name rows=rows.to_string() required></textarea>
            <p class="field-error">{move || error.get()}</p>
        </div>
    }
}

/// The message of an action's last error for one field, or its general message for `"*"`.
pub fn action_error<T>(
    value: impl Fn() -> Option<Result<T, ApiError>> + Send + Sync + 'static,
    field: impl AsRef<str> + Send + Sync + 'static,
) -> Signal<Option<String>>
where
    T: 'static,
{
    Signal::derive(move || match value() {
        Some(Err(e)) if field.as_ref() == "*" => match e {
            ApiError::Invalid(_) => None,
            other => Some(other.to_string()),
        },
        Some(Err(e)) => e.field(field.as_ref()),
        _ => None,
    })
}

/// `source`, passed on only once it has stayed unchanged for `delay`: what typing asks the
/// server for, so a pause sends one request instead of one per key. While rendering on the
/// server (where effects never run) it stays the first value.
pub fn debounced(source: Signal<String>, delay: std::time::Duration) -> ReadSignal<String> {
    let (settled, set_settled) = signal(source.get_untracked());
    let pending = StoredValue::new(None::<TimeoutHandle>);
    Effect::new(move |_| {
        let value = source.get();
        if let Some(timer) = pending.get_value() {
            timer.clear();
        }
        let changed = value != settled.get_untracked();
        pending.set_value(
            changed
                .then(|| set_timeout_with_handle(move || set_settled.set(value), delay).ok())
                .flatten(),
        );
    });
    settled
}

/// Sets the page's HTTP status to 404 while it renders on the server (a browser that already
/// shows the app has no status to set).
pub fn not_found_status() {
    #[cfg(feature = "ssr")]
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        response.set_status(axum::http::StatusCode::NOT_FOUND);
    }
}

/// Milliseconds since the unix epoch by this machine's clock (the server's while rendering, the
/// browser's after hydration).
pub fn now_ms() -> i64 {
    #[cfg(target_arch = "wasm32")]
    {
        web_sys::js_sys::Date::now() as i64
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
    }
}

/// A duration in the largest two units: `2d 3h`, `3h 20m`, `12m`.
pub fn short_duration(ms: i64) -> String {
    let minutes = ms.max(0) / 60_000;
    let (days, hours, mins) = (minutes / 1440, minutes / 60 % 24, minutes % 60);
    match (days, hours) {
        (0, 0) => format!("{mins}m"),
        (0, _) => format!("{hours}h {mins}m"),
        _ => format!("{days}d {hours}h"),
    }
}

/// How long until an SLA comes due, coloured by urgency: red once breached, orange within the
/// hour, amber within four hours.
#[component]
pub fn SlaBadge(due: Option<frontdesk_core::platform::time::Timestamp>) -> impl IntoView {
    due.map(|due| {
        let left = due.unix_millis() - now_ms();
        let (class, text) = match left {
            l if l < 0 => ("sla-breached", format!("{} over", short_duration(-l))),
            l if l < 3_600_000 => ("sla-urgent", short_duration(l)),
            l if l < 4 * 3_600_000 => ("sla-soon", short_duration(l)),
            l => ("sla-ok", short_duration(l)),
        };
        view! { <span class=format!("badge sla {class}") title=format!("SLA due {}", due.display_utc())>{text}</span> }
    })
}

/// The frame of the customer-facing pages (portal and help centre): a header, then the page.
#[component]
pub fn PortalFrame(children: Children) -> impl IntoView {
    view! {
        <div class="portal">
            <header class="portal-header">
                <a class="brand" href="/help">"frontdesk · Help center"</a>
                <a href="/portal">"My requests"</a>
                <a href="/portal/new">"New request"</a>
            </header>
            <main class="portal-content">{children()}</main>
        </div>
    }
}

/// How long typing must pause before suggestions are asked for.
const SUGGEST_AFTER: std::time::Duration = std::time::Duration::from_millis(250);

/// Published articles that may answer `text`, asked for once typing pauses (so only in the
/// browser: `text` changes as people type). `detailed` lists each with its snippet and opens
/// it in a new tab, so a half-written form is not lost; otherwise titles only.
#[component]
pub fn SuggestedArticles(text: Signal<String>, #[prop(optional)] detailed: bool) -> impl IntoView {
    let settled = debounced(text, SUGGEST_AFTER);
    let suggestions = Resource::new(
        move || settled.get(),
        |text| async move {
            if text.trim().chars().count() < 3 {
                Ok(Vec::new())
            } else {
                suggest_articles(text).await
            }
        },
    );
    view! {
        <Transition>
            {move || suggestions.get().and_then(Result::ok).filter(|items| !items.is_empty()).map(|items| view! {
                <ul class="suggestions" class:detailed=detailed id="suggestions" aria-label="Suggested articles">
                    {items.into_iter().map(|i| if detailed {
                        view! {
                            <li>
                                <a href=i.url target="_blank" rel="noopener">{i.title}</a>
                                <p class="snippet" inner_html=i.snippet_html></p>
                            </li>
                        }
                            .into_any()
                    } else {
                        view! { <li><a href=i.url>{i.title}</a></li> }.into_any()
                    }).collect_view()}
                </ul>
            })}
        </Transition>
    }
}

/// A ticket's status as a coloured pill.
#[component]
pub fn StatusBadge(status: Status) -> impl IntoView {
    view! { <span class=format!("badge status-{}", status.as_str())>{status.label()}</span> }
}

/// A ticket's priority as a coloured pill.
#[component]
pub fn PriorityBadge(priority: Priority) -> impl IntoView {
    view! { <span class=format!("badge priority-{}", priority.as_str())>{priority.label()}</span> }
}
