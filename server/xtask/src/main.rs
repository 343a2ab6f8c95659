//! `cargo xtask`: the project's two commands and the build steps they share.
//!
//! - `cargo xtask run [-- ARGS]`: builds the wasm bundle (release) and the server (release), then
//!   runs `frontdesk serve ARGS` on <http://127.0.0.1:8080> with its data in `./data`.
//! - `cargo xtask test [-- ARGS]`: builds the bundle and the binary (debug), installs Chromium and
//!   ChromeDriver if they are missing, then runs `cargo test --workspace ARGS`.
//! - `cargo xtask build [--release]`: only builds.
//! - `cargo xtask check`: the style gate CI runs before the tests: `rustfmt --check`, then clippy
//!   with every warning an error, for the server build and for the browser (wasm) build.
//! - `cargo xtask bench NAME [-- ARGS]`: runs the benchmark `tests/src/bin/bench_NAME.rs`, built
//!   with optimisations (the `bench` profile); `bench chat` first builds the `frontdesk` binary in
//!   that profile too, and runs it as a separate process.
//!
//! Whatever a fresh machine lacks (the wasm32 target, Chromium) is installed when missing; the
//! wasm-bindgen version is pinned in Cargo.lock and used as a library, so nothing is downloaded
//! from outside the package registries.

use anyhow::{Context, Result, bail};
use std::path::{Path, PathBuf};
use std::process::Command;

const WASM_TARGET: &str = "wasm32-unknown-unknown";
const FRONTEND_PACKAGE: &str = "frontdesk-frontend";
const FRONTEND_ARTIFACT: &str = "frontdesk_frontend.wasm";
const OUTPUT_NAME: &str = "frontdesk";

fn main() {
    if let Err(e) = run() {
        eprintln!("xtask: error: {e:#}");
        std::process::exit(1);
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Profile {
    Debug,
    Release,
}

fn run() -> Result<()> {
    let mut args = std::env::args().skip(1);
    let task = args.next().unwrap_or_default();
    let rest: Vec<String> = args.collect();
    let (flags, passthrough) = match rest.iter().position(|a| a == "--") {
        Some(i) => (rest[..i].to_vec(), rest[i + 1..].to_vec()),
        None => (rest, Vec::new()),
    };
    let release = flags.iter().any(|f| f == "--release");
    let debug = flags.iter().any(|f| f == "--debug");
    let root = workspace_root()?;
    match task.as_str() {
        "run" => {
            let profile = if debug { Profile::Debug } else { Profile::Release };
            build(&root, profile)?;
            serve(&root, profile, &passthrough)
        }
        "build" => build(&root, if release { Profile::Release } else { Profile::Debug }),
        "check" => check(&root),
        "test" => {
            build(&root, Profile::Debug)?;
            ensure_browser()?;
            ensure_mail_servers()?;
            test(&root, &passthrough)
        }
        "bench" => {
            let Some(name) = flags.first() else {
                bail!("usage: cargo xtask bench NAME [-- ARGS], e.g. cargo xtask bench queue")
            };
            bench(&root, name, &passthrough)
        }
        _ => bail!(
            "usage: cargo xtask run [--debug] [-- SERVER ARGS] | cargo xtask test [-- CARGO TEST ARGS] | cargo xtask build [--release] | cargo xtask check | cargo xtask bench NAME [-- ARGS]"
        ),
    }
}

fn workspace_root() -> Result<PathBuf> {
    let manifest_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest_dir
        .ancestors()
        .nth(2)
        .map(Path::to_path_buf)
        .context("xtask is not inside the frontdesk workspace")
}

fn target_dir(root: &Path) -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root.join("target"), PathBuf::from)
}

/// Where the built site lives: `pkg/` (wasm, JS glue, CSS) is served from here.
fn site_dir(root: &Path) -> PathBuf {
    target_dir(root).join("site")
}

fn build(root: &Path, profile: Profile) -> Result<()> {
    ensure_wasm_target()?;
    build_wasm(root, profile)?;
    let mut server = cargo(root);
    server.args(["build", "--package", "frontdesk-server", "--bin", "frontdesk"]);
    if profile == Profile::Release {
        server.arg("--release");
    }
    step("building the server", &mut server)
}

/// Formatting, then clippy (warnings are errors) on the server build and on the wasm build.
fn check(root: &Path) -> Result<()> {
    step("checking formatting", cargo(root).args(["fmt", "--all", "--", "--check"]))?;
    step(
        "clippy on the server build",
        cargo(root).args(["clippy", "--workspace", "--all-targets", "--", "-D", "warnings"]),
    )?;
    ensure_wasm_target()?;
    step(
        "clippy on the browser build",
        cargo(root)
            .args(["clippy", "--package", FRONTEND_PACKAGE, "--lib", "--target", WASM_TARGET])
            .args(["--no-default-features", "--features", "hydrate", "--", "-D", "warnings"]),
    )
}

fn ensure_wasm_target() -> Result<()> {
    let installed = Command::new("rustup").args(["target", "list", "--installed"]).output();
    if let Ok(out) = &installed
        && String::from_utf8_lossy(&out.stdout).lines().any(|l| l.trim() == WASM_TARGET)
    {
        return Ok(());
    }
    step(
        "installing the wasm32 target",
        Command::new("rustup").args(["target", "add", WASM_TARGET]),
    )
}

fn build_wasm(root: &Path, profile: Profile) -> Result<()> {
    let (cargo_profile, dir) = match profile {
        Profile::Debug => ("dev", "debug"),
        Profile::Release => ("wasm-release", "wasm-release"),
    };
    let mut wasm = cargo(root);
    wasm.args(["build", "--package", FRONTEND_PACKAGE, "--lib", "--target", WASM_TARGET]).args([
        "--no-default-features",
        "--features",
        "hydrate",
        "--profile",
        cargo_profile,
    ]);
    step("building the browser bundle", &mut wasm)?;

    let input = target_dir(root).join(WASM_TARGET).join(dir).join(FRONTEND_ARTIFACT);
    let pkg = site_dir(root).join("pkg");
    std::fs::create_dir_all(&pkg).with_context(|| format!("cannot create {}", pkg.display()))?;
    eprintln!("xtask: generating JS bindings into {}", pkg.display());
    wasm_bindgen_cli_support::Bindgen::new()
        .input_path(&input)
        .out_name(OUTPUT_NAME)
        .web(true)?
        .debug(profile == Profile::Debug)
        .generate(&pkg)
        .with_context(|| format!("wasm-bindgen failed on {}", input.display()))?;
    let css = root.join("frontend/style/main.css");
    std::fs::copy(&css, pkg.join(format!("{OUTPUT_NAME}.css")))
        .with_context(|| format!("cannot copy {}", css.display()))?;
    Ok(())
}

fn serve(root: &Path, profile: Profile, args: &[String]) -> Result<()> {
    let dir = if profile == Profile::Release { "release" } else { "debug" };
    let binary = target_dir(root).join(dir).join("frontdesk");
    let mut server = Command::new(&binary);
    server.current_dir(root).arg("serve").args(args).env("FRONTDESK_SITE_DIR", site_dir(root));
    step("running frontdesk", &mut server)
}

/// Chromium and ChromeDriver for the browser tests, from Debian's archive when missing. They come
/// from one source package, so their versions always match.
fn ensure_browser() -> Result<()> {
    let have = |bin: &str| {
        Command::new("sh")
            .args(["-c", &format!("command -v {bin}")])
            .output()
            .is_ok_and(|o| o.status.success())
    };
    if have("chromium") && have("chromedriver") {
        return Ok(());
    }
    if !have("apt-get") {
        bail!(
            "the browser tests need Chromium and ChromeDriver: install them (Debian: chromium chromium-driver)"
        );
    }
    let sudo = if is_root() { "" } else { "sudo " };
    step(
        "installing Chromium and ChromeDriver",
        Command::new("sh").args([
            "-c",
            &format!(
                "{sudo}apt-get update -qq && DEBIAN_FRONTEND=noninteractive {sudo}apt-get install -y -qq --no-install-recommends chromium chromium-driver"
            ),
        ]),
    )
}

/// Postfix and Dovecot for the email tests, from Debian's archive when missing. The tests start
/// their own instances (`tests/mail/start.sh`); nothing of the system's is configured or started.
fn ensure_mail_servers() -> Result<()> {
    let present = [
        "/usr/sbin/postfix",
        "/usr/sbin/dovecot",
        "/usr/lib/dovecot/lmtp",
        "/usr/lib/dovecot/imap",
    ]
    .iter()
    .all(|path| Path::new(path).exists());
    if present {
        return Ok(());
    }
    let sudo = if is_root() { "" } else { "sudo " };
    step(
        "installing Postfix and Dovecot",
        Command::new("sh").args([
            "-c",
            &format!(
                "{sudo}apt-get update -qq && DEBIAN_FRONTEND=noninteractive {sudo}apt-get install -y -qq --no-install-recommends postfix dovecot-imapd dovecot-lmtpd"
            ),
        ]),
    )
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

fn test(root: &Path, args: &[String]) -> Result<()> {
    let mut cargo_test = cargo(root);
    cargo_test
        .args(["test", "--workspace"])
        .args(args)
        .env("FRONTDESK_SITE_DIR", site_dir(root))
        .env("FRONTDESK_BIN", target_dir(root).join("debug").join("frontdesk"));
    step("running the tests", &mut cargo_test)
}

fn bench(root: &Path, name: &str, args: &[String]) -> Result<()> {
    let mut run = cargo(root);
    run.args([
        "run",
        "--profile",
        "bench",
        "--package",
        "frontdesk-tests",
        "--bin",
        &format!("bench_{name}"),
        "--",
    ])
    .args(args)
    .env("FRONTDESK_SITE_DIR", site_dir(root));
    if name == "chat" || name == "mail" {
        // The chat and mail benchmarks run the real server as a child process, built the same way. Cargo
        // puts the `bench` profile's output in `target/release`.
        let mut server = cargo(root);
        server.args([
            "build",
            "--profile",
            "bench",
            "--package",
            "frontdesk-server",
            "--bin",
            "frontdesk",
        ]);
        step("building the server for the benchmark", &mut server)?;
        run.env("FRONTDESK_BIN", target_dir(root).join("release").join("frontdesk"));
    }
    step(&format!("running the {name} benchmark"), &mut run)
}

fn cargo(root: &Path) -> Command {
    let mut cmd = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    cmd.current_dir(root);
    cmd
}

fn step(what: &str, cmd: &mut Command) -> Result<()> {
    eprintln!("xtask: {what}");
    let status =
        cmd.status().with_context(|| format!("{what}: cannot start {:?}", cmd.get_program()))?;
    if !status.success() {
        bail!("{what} failed ({status})");
    }
    Ok(())
}
