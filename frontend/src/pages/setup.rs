//! `/setup`: the one-time first-run page that creates the first admin.

use leptos::prelude::*;
use leptos_meta::Title;

use crate::api::{SIGN_IN_PATH, SetUp, Viewer, load_viewer};
use crate::components::{Field, action_error};

/// Creates the first admin; once one exists the page only points to sign-in.
#[component]
pub fn SetupPage() -> impl IntoView {
    let viewer = Resource::new_blocking(|| (), |()| load_viewer());
    let action = ServerAction::<SetUp>::new();
    let value = move || action.value().get();
    view! {
        <Title text="Set up · frontdesk"/>
        <main class="auth">
            <div class="auth-card">
                <p class="brand">"frontdesk"</p>
                <Suspense>
                    {move || Suspend::new(async move {
                        if let Ok(Viewer { setup_complete: true, .. }) = viewer.await {
                            view! {
                                <h1>"Already set up"</h1>
                                <p class="notice">
                                    "This frontdesk already has an admin. "
                                    <a href=SIGN_IN_PATH>"Sign in"</a>
                                </p>
                            }
                                .into_any()
                        } else {
                            view! {
                                <h1>"Welcome to frontdesk"</h1>
                                <p class="lead">"Create the first admin account. You can add your team next."</p>
                                <ActionForm action=action>
                                    <Field label="Your name" name="name" autocomplete="name" error=action_error(value, "name")/>
                                    <Field label="Email" name="email" kind="email" autocomplete="username" error=action_error(value, "email")/>
                                    <Field label="Password (at least 12 characters)" name="password" kind="password" autocomplete="new-password" error=action_error(value, "password")/>
                                    <p class="form-error" role="alert">{move || action_error(value, "*").get()}</p>
                                    <button type="submit" class="primary" disabled=move || action.pending().get()>"Create admin"</button>
                                </ActionForm>
                            }
                                .into_any()
                        }
                    })}
                </Suspense>
            </div>
        </main>
    }
}
