//! `/app`: the agent's home.

use leptos::prelude::*;
use leptos_meta::Title;

use crate::app::ViewerResource;

/// The start page of the console. Queues and chats appear here as those channels arrive.
#[component]
pub fn AgentHome() -> impl IntoView {
    let viewer = expect_context::<ViewerResource>();
    view! {
        <Title text="Home · frontdesk"/>
        <header class="page-header">
            <h1>"Home"</h1>
        </header>
        <Suspense>
            {move || Suspend::new(async move {
                let name = viewer.await.ok().and_then(|v| v.agent).map(|a| a.name).unwrap_or_default();
                view! {
                    <section class="empty-state">
                        <h2>{format!("Welcome, {name}")}</h2>
                        <p>"Nothing needs you right now. New tickets and chats will show up here."</p>
                    </section>
                }
            })}
        </Suspense>
    }
}
