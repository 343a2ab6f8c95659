//! The page for every unknown path, sent with status 404.

use leptos::prelude::*;
use leptos_meta::Title;

/// "Not found", with a way back.
#[component]
pub fn NotFound() -> impl IntoView {
    crate::components::not_found_status();
    view! {
        <Title text="Not found · frontdesk"/>
        <main class="auth">
            <div class="auth-card">
                <p class="brand">"frontdesk"</p>
                <h1>"Page not found"</h1>
                <p class="lead">"There is nothing at this address. It may have moved, or the link may be mistyped."</p>
                <a href="/" class="primary button">"Go to frontdesk"</a>
            </div>
        </main>
    }
}
