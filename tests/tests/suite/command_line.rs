//! The `frontdesk` binary: bad configuration exits non-zero with one clear line; the admin and
//! migrate commands work without the browser; --help documents the options.

use frontdesk_tests::{PASSWORD, ServerProcess, TestDatabase, frontdesk_binary};
use std::io::Write;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// Runs the binary with `args` and `stdin`, without inheriting frontdesk settings from the
/// environment, and kills it if it has not exited within 60 s.
fn frontdesk(args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(frontdesk_binary())
        .args(args)
        .env_remove("DATABASE_URL")
        .env_remove("FRONTDESK_DATA_DIR")
        .env_remove("FRONTDESK_LISTEN")
        .env_remove("FRONTDESK_CONFIG")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("frontdesk starts");
    if let Some(mut input) = child.stdin.take() {
        input.write_all(stdin.as_bytes()).expect("write stdin");
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    while child.try_wait().expect("poll frontdesk").is_none() {
        if Instant::now() > deadline {
            child.kill().ok();
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().expect("frontdesk output")
}

/// Asserts a failed run with exactly one line on stderr that contains `expected`.
fn assert_fails_with_one_line(output: &Output, expected: &str) {
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        !output.status.success(),
        "expected failure, got {:?}; stderr: {stderr}",
        output.status
    );
    let lines: Vec<_> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "expected one line, got: {stderr}");
    assert!(lines[0].starts_with("frontdesk: error: "), "{}", lines[0]);
    assert!(lines[0].contains(expected), "expected {expected:?} in {:?}", lines[0]);
}

#[test]
fn an_unparseable_database_url_exits_with_one_line() {
    let data = tempfile::tempdir().expect("temp dir");
    let dir = data.path().to_str().expect("utf-8 path");

    let output = frontdesk(
        &["serve", "--data-dir", dir, "--database-url", "postgres://ann@db:notaport/x"],
        "",
    );

    assert_fails_with_one_line(&output, "invalid database URL");
    assert_eq!(output.status.code(), Some(2));
}

#[test]
fn a_public_url_without_a_scheme_exits_with_one_line() {
    let data = tempfile::tempdir().expect("temp dir");
    let dir = data.path().to_str().expect("utf-8 path");

    let output = frontdesk(&["serve", "--data-dir", dir, "--public-url", "help.example.com"], "");

    assert_fails_with_one_line(&output, "invalid public URL");
    assert_eq!(output.status.code(), Some(2));
}

#[test]
fn an_unknown_database_scheme_exits_with_one_line() {
    let data = tempfile::tempdir().expect("temp dir");
    let output = frontdesk(
        &[
            "migrate",
            "--data-dir",
            data.path().to_str().expect("utf-8"),
            "--database-url",
            "mysql://x/y",
        ],
        "",
    );

    assert_fails_with_one_line(&output, "expected postgres://... or sqlite:...");
}

#[test]
fn an_unwritable_data_dir_exits_with_one_line() {
    let data = tempfile::tempdir().expect("temp dir");
    let file = data.path().join("a-file");
    std::fs::write(&file, b"not a directory").expect("write file");
    let inside_file = file.join("data");

    let output = frontdesk(&["serve", "--data-dir", inside_file.to_str().expect("utf-8")], "");

    assert_fails_with_one_line(&output, "is not writable");
    assert_eq!(output.status.code(), Some(2));
}

#[test]
fn a_port_in_use_exits_with_one_line() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a port");
    let addr = taken.local_addr().expect("address").to_string();
    let data = tempfile::tempdir().expect("temp dir");

    let output = frontdesk(
        &["serve", "--listen", &addr, "--data-dir", data.path().to_str().expect("utf-8")],
        "",
    );

    assert_fails_with_one_line(&output, &format!("cannot listen on {addr}"));
}

#[test]
fn a_config_file_with_an_unknown_key_exits_with_one_line() {
    let data = tempfile::tempdir().expect("temp dir");
    let config = data.path().join("frontdesk.toml");
    std::fs::write(&config, "listen = \"127.0.0.1:0\"\nport = 8080\n").expect("write config");

    let output = frontdesk(&["serve", "--config", config.to_str().expect("utf-8")], "");

    assert_fails_with_one_line(&output, "unknown field `port`");
}

#[test]
fn help_documents_every_serve_option() {
    let output = frontdesk(&["serve", "--help"], "");
    let help = String::from_utf8_lossy(&output.stdout);

    assert!(output.status.success());
    for option in
        ["--listen", "--data-dir", "--database-url", "DATABASE_URL", "--secure-cookies", "--config"]
    {
        assert!(help.contains(option), "{option} missing from:\n{help}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_create_reads_the_password_from_stdin_and_then_migrate_has_nothing_to_do() {
    let data = tempfile::tempdir().expect("temp dir");
    let database = TestDatabase::create().await;
    let mut args = vec!["--data-dir", data.path().to_str().expect("utf-8")];
    if let Some(url) = &database.url {
        args.extend(["--database-url", url]);
    }
    let create = |stdin: &str| {
        let mut full = vec!["admin", "create", "--email", "Root@Example.com", "--name", "Root"];
        full.extend(&args);
        frontdesk(&full, stdin)
    };

    let short = create("short\n");
    assert_fails_with_one_line(&short, "password: Use at least 12 characters.");
    let created = create(&format!("{PASSWORD}\n"));
    assert!(created.status.success(), "{}", String::from_utf8_lossy(&created.stderr));
    assert!(
        String::from_utf8_lossy(&created.stdout).contains("Created admin Root <root@example.com>")
    );
    let again = create(&format!("{PASSWORD}\n"));
    assert_fails_with_one_line(&again, "already exists");

    let mut migrate_args = vec!["migrate"];
    migrate_args.extend(&args);
    let migrate = frontdesk(&migrate_args, "");
    assert!(migrate.status.success());
    assert!(String::from_utf8_lossy(&migrate.stdout).contains("is up to date"));
}

#[test]
fn sigterm_stops_the_server_gracefully() {
    let data = tempfile::tempdir().expect("temp dir");
    let mut server = ServerProcess::start(data.path(), None);
    let health = std::net::TcpStream::connect(&server.address).and_then(|mut stream| {
        stream.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")?;
        let mut answer = String::new();
        std::io::Read::read_to_string(&mut stream, &mut answer)?;
        Ok(answer)
    });
    assert!(health.expect("healthz answered").starts_with("HTTP/1.1 200"));

    server.signal("TERM");
    let rest: Vec<String> = server.log.by_ref().map_while(Result::ok).collect();
    let status = server.child.wait().expect("frontdesk exits");

    assert!(status.success(), "exit status {status:?}; log: {rest:?}");
    assert!(rest.iter().any(|l| l.contains("frontdesk stopped")), "log: {rest:?}");
}

#[test]
fn seed_fills_a_database_and_reports_progress() {
    let data = tempfile::tempdir().expect("temp dir");

    let output = frontdesk(
        &[
            "seed",
            "--tickets",
            "1200",
            "--customers",
            "30",
            "--data-dir",
            data.path().to_str().expect("utf-8"),
        ],
        "",
    );

    let (stdout, stderr) =
        (String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    assert!(output.status.success(), "{stderr}");
    assert!(stdout.contains("1200 tickets"), "{stdout}");
    assert!(stderr.contains("100% 1200/1200 tickets"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kb_import_creates_then_updates_and_never_duplicates_and_names_bad_files() {
    let data = tempfile::tempdir().expect("temp dir");
    let database = TestDatabase::create().await;
    let folder = tempfile::tempdir().expect("articles dir");
    let article = |slug: &str, body: &str| {
        format!(
            "---\ntitle: About {slug}\nslug: {slug}\ncategory: Basics\ntags: [a, b]\nstatus: published\n---\n{body}\n"
        )
    };
    std::fs::create_dir(folder.path().join("more")).expect("subfolder");
    std::fs::write(folder.path().join("one.md"), article("one", "First.")).expect("write");
    std::fs::write(folder.path().join("more/two.md"), article("two", "Second.")).expect("write");
    std::fs::write(folder.path().join("broken.md"), "no front matter here").expect("write");
    std::fs::write(folder.path().join("notes.txt"), "not markdown: skipped").expect("write");
    let mut args = vec![
        "kb",
        "import",
        folder.path().to_str().expect("utf-8"),
        "--data-dir",
        data.path().to_str().expect("utf-8"),
    ];
    if let Some(url) = &database.url {
        args.extend(["--database-url", url]);
    }
    let run = || {
        let output = frontdesk(&args, "");
        (
            output.status.success(),
            String::from_utf8_lossy(&output.stdout).into_owned(),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        )
    };

    let (ok, stdout, stderr) = run();
    assert!(!ok, "a broken file fails the import");
    assert!(stdout.contains("2 created, 0 updated, 0 unchanged, 1 failed"), "{stdout}");
    assert!(stderr.contains("broken.md: it does not start with front matter"), "{stderr}");
    assert!(
        stderr
            .lines()
            .last()
            .is_some_and(|l| l.starts_with("frontdesk: error: 1 files could not be imported")),
        "{stderr}"
    );

    std::fs::remove_file(folder.path().join("broken.md")).expect("remove");
    let (ok, stdout, stderr) = run();
    assert!(ok, "{stderr}");
    assert!(stdout.contains("0 created, 0 updated, 2 unchanged, 0 failed"), "{stdout}");

    std::fs::write(folder.path().join("one.md"), article("one", "First, revised.")).expect("write");
    let (ok, stdout, _) = run();
    assert!(ok);
    assert!(stdout.contains("0 created, 1 updated, 1 unchanged"), "{stdout}");

    let db = frontdesk_core::platform::db::DatabaseTarget::from_config(
        database.url.as_deref(),
        data.path(),
    )
    .expect("target")
    .connect()
    .await
    .expect("connect");
    let count = async |sql: &str| -> i64 {
        match &db {
            frontdesk_core::platform::db::Db::Sqlite(pool) => {
                sqlx::query_scalar(sql).fetch_one(pool).await
            }
            frontdesk_core::platform::db::Db::Postgres(pool) => {
                sqlx::query_scalar(sql).fetch_one(pool).await
            }
        }
        .expect("count")
    };
    assert_eq!(count("SELECT COUNT(*) FROM kb_articles").await, 2, "no duplicates");
    assert_eq!(count("SELECT COUNT(*) FROM kb_revisions").await, 1, "the replaced version is kept");
    assert_eq!(count("SELECT COUNT(*) FROM kb_categories").await, 1);
    assert_eq!(
        count("SELECT COUNT(*) FROM kb_articles WHERE body LIKE 'First, revised.%'").await,
        1
    );

    let missing = frontdesk(
        &[
            "kb",
            "import",
            "/nonexistent/folder",
            "--data-dir",
            data.path().to_str().expect("utf-8"),
        ],
        "",
    );
    assert_fails_with_one_line(&missing, "/nonexistent/folder is not a folder");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_install_loads_the_starter_knowledge_base_once() {
    let app = frontdesk_tests::spawn_app().await;
    let count = async |app: &frontdesk_tests::TestApp| -> i64 {
        match app.ctx.db() {
            frontdesk_core::platform::db::Db::Sqlite(pool) => {
                sqlx::query_scalar("SELECT COUNT(*) FROM kb_articles").fetch_one(pool).await
            }
            frontdesk_core::platform::db::Db::Postgres(pool) => {
                sqlx::query_scalar("SELECT COUNT(*) FROM kb_articles").fetch_one(pool).await
            }
        }
        .expect("count")
    };
    let starter = frontdesk_core::kb::STARTER_ARTICLES.len() as i64;
    assert_eq!(count(&app).await, starter);
    // An admin's deletion is not undone by the next start: the starter loads into an empty
    // knowledge base only, and restarting with articles present adds nothing.
    app.execute("DELETE FROM kb_articles WHERE slug = 'getting-started'").await;
    let app = app.restart(async |_| {}).await;
    assert_eq!(count(&app).await, starter - 1);
}
