//! Files in chats, on both sides: the attach button, uploading the chosen file (the raw body, its
//! name percent-encoded in `X-File-Name`, as `server/src/http/attachments.rs` expects), and a sent
//! file in a transcript: images shown small and inline, every file a download link. The server
//! always serves them as downloads that cannot run in our origin.

use frontdesk_core::chats::{Attachment, MAX_ATTACHMENT_BYTES};
use leptos::prelude::*;

/// A sent file: a thumbnail for images, and its name and size as a download link.
#[component]
pub fn AttachmentLink(file: Attachment, href: String) -> impl IntoView {
    let image = matches!(
        file.content_type.as_str(),
        "image/png" | "image/jpeg" | "image/gif" | "image/webp"
    );
    let thumbnail = image.then(|| view! { <img class="attachment-image" src=href.clone() alt=file.file_name.clone() loading="lazy"/> });
    let download = file.file_name.clone();
    view! {
        <a class="attachment" href=href download=download rel="noopener noreferrer">
            {thumbnail}
            <span class="attachment-name">{file.file_name}</span>
            " "
            <span class="attachment-size">{size_label(file.size)}</span>
        </a>
    }
}

/// A size people read: bytes, KB or MB.
pub fn size_label(bytes: i64) -> String {
    match bytes {
        b if b < 1024 => format!("{b} B"),
        b if b < 1024 * 1024 => format!("{} KB", (b + 1023) / 1024),
        b => format!("{:.1} MB", b as f64 / (1024.0 * 1024.0)),
    }
}

/// A paperclip button that picks one file; `on_pick` gets it (in the browser).
#[component]
pub fn AttachButton(
    id: &'static str,
    on_pick: impl Fn(web_sys::File) + Send + Sync + 'static,
) -> impl IntoView {
    let on_change = move |ev: leptos::ev::Event| {
        #[cfg(feature = "hydrate")]
        {
            use wasm_bindgen::JsCast;
            let Some(input) =
                ev.target().and_then(|t| t.dyn_into::<web_sys::HtmlInputElement>().ok())
            else {
                return;
            };
            let file = input.files().and_then(|files| files.get(0));
            // Picking the same file again must fire `change` again.
            input.set_value("");
            if let Some(file) = file {
                on_pick(file);
            }
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = (ev, &on_pick);
    };
    view! {
        <input type="file" id=id class="visually-hidden attach-input" on:change=on_change/>
        <label class="attach-button" for=id title="Attach a file">
            <span aria-hidden="true">"📎"</span>
            <span class="visually-hidden">"Attach a file"</span>
        </label>
    }
}

/// Why a file cannot be sent, before uploading it.
#[cfg_attr(
    not(any(feature = "hydrate", test)),
    expect(dead_code, reason = "checked in the browser")
)]
pub fn check_size(size: f64) -> Option<String> {
    (size > MAX_ATTACHMENT_BYTES as f64)
        .then(|| format!("Files can be at most {} MB.", MAX_ATTACHMENT_BYTES / 1024 / 1024))
}

/// Uploads `file` to `url` (same origin, with cookies); the stored attachment, or the server's
/// reason in words.
#[cfg(feature = "hydrate")]
pub async fn upload(url: &str, file: &web_sys::File) -> Result<Attachment, String> {
    use wasm_bindgen::JsCast;
    use wasm_bindgen_futures::JsFuture;
    let failed = |_| "The file could not be sent. Check your connection and try again.".to_owned();
    if let Some(problem) = check_size(file.size()) {
        return Err(problem);
    }
    let headers = web_sys::Headers::new().map_err(failed)?;
    let name: String = web_sys::js_sys::encode_uri_component(&file.name()).into();
    headers.set("x-file-name", &name).map_err(failed)?;
    let content_type = file.type_();
    headers
        .set(
            "content-type",
            if content_type.is_empty() { "application/octet-stream" } else { &content_type },
        )
        .map_err(failed)?;
    let init = web_sys::RequestInit::new();
    init.set_method("POST");
    init.set_headers(&headers);
    init.set_body(file);
    let response =
        JsFuture::from(window().fetch_with_str_and_init(url, &init)).await.map_err(failed)?;
    let response: web_sys::Response = response.dyn_into().map_err(failed)?;
    let text = JsFuture::from(response.text().map_err(failed)?)
        .await
        .map_err(failed)?
        .as_string()
        .unwrap_or_default();
    if response.ok() {
        serde_json::from_str(&text)
            .map_err(|_| "The server's answer was not understood.".to_owned())
    } else if text.is_empty() || response.status() >= 500 {
        Err("The file could not be sent. Try again.".to_owned())
    } else {
        Err(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_as_bytes_kilobytes_or_megabytes() {
        assert_eq!(size_label(512), "512 B");
        assert_eq!(size_label(1500), "2 KB");
        assert_eq!(size_label(5 * 1024 * 1024), "5.0 MB");
    }

    #[test]
    fn a_file_over_the_cap_is_refused_before_upload() {
        assert!(check_size(MAX_ATTACHMENT_BYTES as f64).is_none());
        assert!(check_size(MAX_ATTACHMENT_BYTES as f64 + 1.0).is_some());
    }
}
