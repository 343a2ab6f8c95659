//! Headless Chromium, driven through ChromeDriver (both from Debian's packages; `cargo xtask
//! test` installs them when missing).
//!
//! Each [`Browser`] runs its own ChromeDriver on a free port; each [`Browser::open`] is a separate
//! browser profile (its own cookies), so one test can have an admin and an agent side by side.
//! Waiting is bounded: every wait gives up after [`WAIT`] with a message saying what it awaited.

use fantoccini::wd::Capabilities;
use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use tempfile::TempDir;

/// The longest any wait in a browser test lasts before the test fails.
pub const WAIT: Duration = Duration::from_secs(20);

/// A running ChromeDriver.
pub struct Browser {
    driver: Child,
    url: String,
    profiles: Vec<TempDir>,
}

impl Browser {
    /// Starts ChromeDriver and waits until it answers.
    pub async fn start() -> Self {
        let port = free_port();
        let driver = Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect(
                "chromedriver starts (run the tests with `cargo xtask test`, which installs it)",
            );
        let url = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + WAIT;
        while tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_err() {
            assert!(Instant::now() < deadline, "chromedriver did not start listening on {url}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Self { driver, url, profiles: Vec::new() }
    }

    /// Opens a new browser window with a fresh profile.
    pub async fn open(&mut self) -> Page {
        let profile = tempfile::tempdir().expect("a browser profile directory");
        let mut caps = Capabilities::new();
        caps.insert(
            "goog:chromeOptions".into(),
            serde_json::json!({
                "binary": chromium_path(),
                "args": [
                    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                    "--disable-background-networking", "--disable-component-update", "--disable-sync",
                    "--disable-dev-shm-usage", "--window-size=1280,900",
                    format!("--user-data-dir={}", profile.path().display()),
                ],
            }),
        );
        // Keep the console, so tests can fail on any error a page logs.
        caps.insert("goog:loggingPrefs".into(), serde_json::json!({ "browser": "ALL" }));
        self.profiles.push(profile);
        let client = ClientBuilder::new(HttpConnector::new())
            .capabilities(caps)
            .connect(&self.url)
            .await
            .expect("a Chromium session");
        Page { client }
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        // ChromeDriver does not take its browsers down with it, even when the session is never
        // closed because a test failed: end every Chromium process started with one of this
        // browser's profile directories (unique paths), then the driver.
        for profile in &self.profiles {
            let _ = Command::new("pkill").args(["-KILL", "-f"]).arg(profile.path()).status();
        }
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

fn chromium_path() -> String {
    let found = Command::new("sh")
        .args(["-c", "command -v chromium || command -v chromium-browser"])
        .output();
    found
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).lines().next().unwrap_or_default().to_owned())
        .filter(|p| !p.is_empty())
        .unwrap_or_else(|| "/usr/bin/chromium".into())
}

fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
    listener.local_addr().expect("a local address").port()
}

/// One browser window.
pub struct Page {
    /// The WebDriver client, for anything the helpers below do not cover.
    pub client: Client,
}

impl Page {
    /// Navigates and waits for the page to load.
    pub async fn goto(&self, url: &str) {
        self.client.goto(url).await.unwrap_or_else(|e| panic!("open {url}: {e}"));
    }

    /// Waits for an element to exist.
    pub async fn find(&self, css: &str) -> fantoccini::elements::Element {
        self.client
            .wait()
            .at_most(WAIT)
            .for_element(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("waiting for `{css}`: {e}"))
    }

    /// Types into a field.
    pub async fn fill(&self, css: &str, text: &str) {
        let field = self.find(css).await;
        field.clear().await.unwrap_or_else(|e| panic!("clear `{css}`: {e}"));
        field.send_keys(text).await.unwrap_or_else(|e| panic!("type into `{css}`: {e}"));
    }

    /// Chooses a file in a file input, as a person picking it in the file dialog.
    pub async fn choose_file(&self, css: &str, path: &std::path::Path) {
        let input = self.find(css).await;
        input
            .send_keys(&path.to_string_lossy())
            .await
            .unwrap_or_else(|e| panic!("choose a file in `{css}`: {e}"));
    }

    /// Clicks an element. If the page re-rendered it between finding and clicking (a stale
    /// element), it is found again, a few times at most.
    pub async fn click(&self, css: &str) {
        for _ in 0..5 {
            match self.find(css).await.click().await {
                Ok(()) => return,
                Err(e) if e.to_string().contains("stale element") => {
                    tokio::time::sleep(Duration::from_millis(100)).await
                }
                Err(e) => panic!("click `{css}`: {e}"),
            }
        }
        panic!("click `{css}`: the element kept being replaced");
    }

    /// Signs in on `base_url`'s sign-in page and waits for the console.
    pub async fn sign_in(&self, base_url: &str, email: &str, password: &str) {
        self.goto(&format!("{base_url}/login")).await;
        self.wait_for_hydration().await;
        self.fill("#field-email", email).await;
        self.fill("#field-password", password).await;
        self.click("button[type=submit]").await;
        self.wait_for_path("/app").await;
    }

    /// Presses a key on the page itself (not in a field). WebDriver names: `"\u{E007}"` is Enter,
    /// `"\u{E00C}"` is Escape.
    pub async fn press(&self, key: &str) {
        let body = self.find("body").await;
        body.send_keys(key).await.unwrap_or_else(|e| panic!("press {key:?}: {e}"));
    }

    /// Saves a PNG of the window as `NAME.png` in `FRONTDESK_SCREENSHOT_DIR`, when that is set
    /// (for people reviewing what the tests see); does nothing otherwise.
    pub async fn screenshot(&self, name: &str) {
        let Some(dir) = std::env::var_os("FRONTDESK_SCREENSHOT_DIR") else { return };
        let png =
            self.client.screenshot().await.unwrap_or_else(|e| panic!("screenshot {name}: {e}"));
        std::fs::create_dir_all(&dir).expect("screenshot directory");
        std::fs::write(std::path::Path::new(&dir).join(format!("{name}.png")), png)
            .expect("write screenshot");
    }

    /// Waits until the URL's path is `path`.
    pub async fn wait_for_path(&self, path: &str) {
        let mut current = String::new();
        let deadline = Instant::now() + WAIT;
        while Instant::now() < deadline {
            current = self.path().await;
            if current == path {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("expected to reach {path}, still at {current}");
    }

    /// The current URL's path.
    pub async fn path(&self) -> String {
        self.client.current_url().await.map(|u| u.path().to_owned()).unwrap_or_default()
    }

    /// Waits until some element matching `css` contains `text`.
    pub async fn wait_for_text(&self, css: &str, text: &str) {
        let deadline = Instant::now() + WAIT;
        let mut seen = Vec::new();
        while Instant::now() < deadline {
            seen.clear();
            for element in self.client.find_all(Locator::Css(css)).await.unwrap_or_default() {
                seen.push(element.text().await.unwrap_or_default());
            }
            if seen.iter().any(|t| t.contains(text)) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("expected `{css}` to contain {text:?}; saw {seen:?}");
    }

    /// Runs JavaScript in the page and returns its result.
    pub async fn eval(&self, script: &str) -> serde_json::Value {
        self.client.execute(script, Vec::new()).await.unwrap_or_else(|e| panic!("run script: {e}"))
    }

    /// The errors the browser console logged since the last call (script errors, panics of the
    /// wasm app, refused resources, Content-Security-Policy violations).
    pub async fn console_errors(&self) -> Vec<String> {
        let log = self
            .client
            .issue_cmd(BrowserLog)
            .await
            .unwrap_or_else(|e| panic!("read the browser console: {e}"));
        log.as_array()
            .into_iter()
            .flatten()
            .filter(|entry| entry["level"] == "SEVERE")
            .map(|entry| entry["message"].as_str().unwrap_or_default().to_owned())
            .collect()
    }

    /// Waits until the page has hydrated (the wasm bundle has attached to the server's HTML).
    pub async fn wait_for_hydration(&self) {
        let deadline = Instant::now() + WAIT;
        while Instant::now() < deadline {
            if self.eval("return document.documentElement.dataset.hydrated === 'true'").await
                == serde_json::Value::Bool(true)
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("the page did not hydrate within {WAIT:?}");
    }
}

/// ChromeDriver's command for the browser console log (not in the WebDriver standard).
#[derive(Debug)]
struct BrowserLog;

impl fantoccini::wd::WebDriverCompatibleCommand for BrowserLog {
    fn endpoint(
        &self,
        base_url: &url::Url,
        session_id: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base_url.join(&format!("session/{}/se/log", session_id.unwrap_or_default()))
    }

    fn method_and_body(&self, _: &url::Url) -> (http::Method, Option<String>) {
        (http::Method::POST, Some(r#"{"type":"browser"}"#.to_owned()))
    }
}
