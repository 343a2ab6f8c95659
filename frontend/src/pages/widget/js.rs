//! The few browser APIs the panel needs beyond the web-sys features the workspace enables
//! (storage, fetch, crypto), reached through `Reflect`. Each gives up quietly where the
//! browser refuses: storage is often blocked in third-party frames.

use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::js_sys::{Array, Function, JSON, Object, Promise, Reflect};

fn get(target: &JsValue, key: &str) -> Result<JsValue, JsValue> {
    Reflect::get(target, &JsValue::from_str(key))
}

fn call(target: &JsValue, method: &str, args: &[JsValue]) -> Result<JsValue, JsValue> {
    let function: Function = get(target, method)?.dyn_into()?;
    function.apply(target, &args.iter().collect::<Array>())
}

fn window() -> JsValue {
    leptos::prelude::window().into()
}

/// Which Web Storage.
#[derive(Clone, Copy)]
pub enum Store {
    /// Kept across visits.
    Local,
    /// Kept for this tab.
    Session,
}

fn storage(store: Store) -> Option<JsValue> {
    let name = match store {
        Store::Local => "localStorage",
        Store::Session => "sessionStorage",
    };
    get(&window(), name).ok().filter(JsValue::is_object)
}

pub fn load(store: Store, key: &str) -> Option<String> {
    call(&storage(store)?, "getItem", &[key.into()]).ok()?.as_string()
}

pub fn save(store: Store, key: &str, value: &str) {
    if let Some(storage) = storage(store) {
        let _ = call(&storage, "setItem", &[key.into(), value.into()]);
    }
}

pub fn remove(store: Store, key: &str) {
    if let Some(storage) = storage(store) {
        let _ = call(&storage, "removeItem", &[key.into()]);
    }
}

/// POSTs JSON to our own origin; the status and the body's text.
pub async fn post_json(url: &str, body: &str) -> Result<(u16, String), JsValue> {
    let headers = Object::new();
    Reflect::set(&headers, &"content-type".into(), &"application/json".into())?;
    let init = Object::new();
    Reflect::set(&init, &"method".into(), &"POST".into())?;
    Reflect::set(&init, &"headers".into(), &headers)?;
    Reflect::set(&init, &"body".into(), &body.into())?;
    Reflect::set(&init, &"credentials".into(), &"same-origin".into())?;
    let response = JsFuture::from(
        call(&window(), "fetch", &[url.into(), init.into()])?.dyn_into::<Promise>()?,
    )
    .await?;
    let status = get(&response, "status")?.as_f64().map_or(0, |s| s as u16);
    let text = JsFuture::from(call(&response, "text", &[])?.dyn_into::<Promise>()?).await?;
    Ok((status, text.as_string().unwrap_or_default()))
}

pub fn to_js(value: &serde_json::Value) -> Option<JsValue> {
    JSON::parse(&value.to_string()).ok()
}

pub fn from_js(value: &JsValue) -> Option<serde_json::Value> {
    serde_json::from_str(&JSON::stringify(value).ok()?.as_string()?).ok()
}
