//! Keyboard shortcuts of the agent console: one window listener per page that wants keys,
//! removed when the page goes away, and never firing while the agent types in a field.

use leptos::ev;
use leptos::prelude::*;
use leptos::wasm_bindgen::JsCast;
use send_wrapper::SendWrapper;

/// The shortcuts, as shown in the help overlay.
pub const SHORTCUTS: [(&str, &str); 7] = [
    ("/", "Search everything"),
    ("j", "Next ticket in the list"),
    ("k", "Previous ticket in the list"),
    ("Enter", "Open the selected ticket"),
    ("r", "Reply to the open ticket"),
    ("?", "Show or hide this help"),
    ("Esc", "Close this help"),
];

/// Calls `on_key` with each key pressed while this component lives (browser only), except when
/// focus is in a text field or a modifier (Ctrl, Alt, Meta) is held.
pub fn on_shortcut(on_key: impl Fn(&str, &ev::KeyboardEvent) + 'static) {
    let on_key = std::rc::Rc::new(on_key);
    // Effects run only in the browser, after hydration.
    Effect::new(move |_| {
        let on_key = on_key.clone();
        let handle = window_event_listener(ev::keydown, move |event: ev::KeyboardEvent| {
            if event.ctrl_key() || event.alt_key() || event.meta_key() || typing_in_field(&event) {
                return;
            }
            on_key(&event.key(), &event);
        });
        // The handle is browser-only state; the wrapper lets the cleanup hook hold it.
        let handle = SendWrapper::new(handle);
        on_cleanup(move || handle.take().remove());
    });
}

fn typing_in_field(event: &ev::KeyboardEvent) -> bool {
    let Some(element) = event.target().and_then(|t| t.dyn_into::<web_sys::Element>().ok()) else {
        return false;
    };
    matches!(element.tag_name().as_str(), "INPUT" | "TEXTAREA" | "SELECT")
        || element.get_attribute("contenteditable").is_some()
}
