//! `/login`: email and password.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::Redirect;

use crate::api::{HOME_PATH, SignIn, Viewer, load_viewer};
use crate::components::{Field, action_error};

/// The sign-in form. Points to setup on a fresh install; sends signed-in agents to the console.
#[component]
pub fn SignInPage() -> impl IntoView {
    let viewer = Resource::new_blocking(|| (), |()| load_viewer());
    let action = ServerAction::<SignIn>::new();
    let value = move || action.value().get();
    view! {
        <Title text="Sign in · frontdesk"/>
        <main class="auth">
            <div class="auth-card">
                <p class="brand">"frontdesk"</p>
                <h1>"Sign in"</h1>
                <Suspense>
                    {move || Suspend::new(async move {
                        match viewer.await {
                            Ok(Viewer { agent: Some(_), .. }) => view! { <Redirect path=HOME_PATH/> }.into_any(),
                            Ok(Viewer { setup_complete: false, .. }) => view! {
                                <p class="notice">
                                    "This frontdesk has no admin yet. "
                                    <a href="/setup">"Set it up"</a>
                                </p>
                            }
                                .into_any(),
                            _ => ().into_any(),
                        }
                    })}
                </Suspense>
                <ActionForm action=action>
                    <Field label="Email" name="email" kind="email" autocomplete="username" error=action_error(value, "email")/>
                    <Field label="Password" name="password" kind="password" autocomplete="current-password" error=action_error(value, "password")/>
                    <p class="form-error" role="alert">{move || action_error(value, "*").get()}</p>
                    <button type="submit" class="primary" disabled=move || action.pending().get()>"Sign in"</button>
                </ActionForm>
            </div>
        </main>
    }
}
