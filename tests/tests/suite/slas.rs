//! SLAs end to end on a running frontdesk (SQLite or PostgreSQL): the worker keeps each ticket's
//! due time fresh from its history; pending pauses the clocks; a follow-up restarts next
//! response; changing a policy recomputes open tickets; warnings and breaches fire exactly once,
//! across a restart, including those that fell due while frontdesk was stopped.

use frontdesk_core::platform::db::Db;
use frontdesk_core::sla::clock::{ClockStatus, Metric, Step};
use frontdesk_core::sla::{self, BreachActions, Conditions, PolicyDef};
use frontdesk_core::tickets::{self, TicketChanges};
use frontdesk_core::tickets::{MessageBody, MessageKind, Priority, Status};
use frontdesk_tests::{TestApp, spawn_app};
use std::time::Duration;

const HOUR_MS: i64 = 3_600_000;

fn policy(first_response_hours: i64) -> PolicyDef {
    let targets = sla::minutes(Some(first_response_hours * 60), Some(8 * 60), Some(24 * 60));
    PolicyDef {
        id: 0,
        name: "Standard".into(),
        position: 0,
        calendar_id: None,
        conditions: Conditions::default(),
        targets: [targets; 4],
        pause_statuses: vec![Status::Pending, Status::OnHold],
        warn_percent: 75,
        breach_actions: BreachActions { raise_priority: true, team_id: None },
    }
}

async fn scalar(db: &Db, sql: &str) -> Option<i64> {
    match db {
        Db::Sqlite(pool) => sqlx::query_scalar(sql).fetch_one(pool).await,
        Db::Postgres(pool) => sqlx::query_scalar(sql).fetch_one(pool).await,
    }
    .expect("query")
}

async fn created_at(app: &TestApp, id: i64) -> i64 {
    scalar(app.ctx.db(), &format!("SELECT created_at FROM tickets WHERE id = {id}"))
        .await
        .expect("created_at")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pending_pauses_the_clocks_and_a_follow_up_restarts_next_response() {
    let app = spawn_app().await;
    let admin = app.create_admin("ada@example.com", "Ada").await;
    sla::save_policy(&app.ctx, &admin, &policy(4)).await.expect("policy");
    let ticket =
        app.create_ticket(&admin, "carol@customer.example", "Printer on fire").await.ticket;
    let created = created_at(&app, ticket.id).await;

    let due = app.sla_due_becomes(ticket.id, |d| d.is_some()).await;
    assert_eq!(due, Some(created + 4 * HOUR_MS), "first response is due four hours after creation");

    let changes = TicketChanges {
        version: ticket.version,
        status: Some(Status::Pending),
        ..TicketChanges::default()
    };
    let pending =
        tickets::update(&app.ctx, &admin, ticket.number, changes).await.expect("pending").ticket;
    app.sla_due_becomes(ticket.id, |d| d.is_none()).await;
    let state = sla::for_ticket(&app.ctx, &admin, ticket.number).await.expect("sla");
    assert!(state.clocks.iter().all(|c| c.status == ClockStatus::Paused), "{state:?}");
    assert!(state.timeline.iter().any(|s| s.step == Step::Paused));

    let changes = TicketChanges {
        version: pending.version,
        status: Some(Status::Open),
        ..TicketChanges::default()
    };
    tickets::update(&app.ctx, &admin, ticket.number, changes).await.expect("open");
    let resumed = app.sla_due_becomes(ticket.id, |d| d.is_some()).await.expect("due again");
    assert!(resumed >= created + 4 * HOUR_MS, "the paused time is added back");

    let reply = MessageBody::parse("We are on it.").expect("body");
    tickets::add_message(&app.ctx, &admin, ticket.number, MessageKind::Reply, reply, None)
        .await
        .expect("reply");
    frontdesk_core::portal::reply(
        &app.ctx,
        ticket.requester.id,
        ticket.number,
        MessageBody::parse("Still burning!").expect("body"),
    )
    .await
    .expect("customer follow-up");
    app.sla_due_becomes(ticket.id, |d| {
        d.is_some_and(|d| d >= created + 8 * HOUR_MS && d < created + 9 * HOUR_MS)
    })
    .await;
    let state = sla::for_ticket(&app.ctx, &admin, ticket.number).await.expect("sla");
    let first =
        state.clocks.iter().find(|c| c.metric == Metric::FirstResponse).expect("first response");
    let next =
        state.clocks.iter().find(|c| c.metric == Metric::NextResponse).expect("next response");
    assert_eq!((first.status, next.status), (ClockStatus::Met, ClockStatus::Running));
    assert_eq!(state.policy.as_deref(), Some("Standard"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changing_a_policy_recomputes_open_tickets() {
    let app = spawn_app().await;
    let admin = app.create_admin("ada@example.com", "Ada").await;
    let saved = sla::save_policy(&app.ctx, &admin, &policy(4)).await.expect("policy");
    let ticket = app.create_ticket(&admin, "dan@customer.example", "Slow invoices").await.ticket;
    let created = created_at(&app, ticket.id).await;
    app.sla_due_becomes(ticket.id, |d| d == Some(created + 4 * HOUR_MS)).await;

    sla::save_policy(
        &app.ctx,
        &admin,
        &PolicyDef { targets: [sla::minutes(Some(60), None, None); 4], ..saved },
    )
    .await
    .expect("changed");

    app.sla_due_becomes(ticket.id, |d| d == Some(created + HOUR_MS)).await;
}

/// Runs statements on a connection of the stopped app's own.
async fn run_all(db: &Db, statements: &[String]) {
    for sql in statements {
        match db {
            Db::Sqlite(pool) => sqlx::query(sql).execute(pool).await.map(drop),
            Db::Postgres(pool) => sqlx::query(sql).execute(pool).await.map(drop),
        }
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
    }
}

/// A ticket whose warning (45 min) and breach (1 h) fall due while frontdesk is down for two
/// hours; `touched` also leaves a change committed just before the stop, still to be
/// re-evaluated. Returns the restarted app, the admin and the ticket's id and number.
async fn due_during_downtime(touched: bool) -> (TestApp, frontdesk_core::agents::Agent, i64, i64) {
    let app = spawn_app().await;
    let admin = app.create_admin("ada@example.com", "Ada").await;
    sla::save_policy(&app.ctx, &admin, &policy(1)).await.expect("policy");
    let ticket = app.create_ticket(&admin, "erin@customer.example", "Cannot log in").await.ticket;
    app.sla_due_becomes(ticket.id, |d| d.is_some()).await;
    let id = ticket.id;
    let app = app
        .restart(async |db: &Db| {
            let mut statements = vec![
                format!("UPDATE tickets SET created_at = created_at - {}, updated_at = updated_at - {} WHERE id = {id}", 2 * HOUR_MS, 2 * HOUR_MS),
                format!("UPDATE ticket_events SET created_at = created_at - {} WHERE ticket_id = {id}", 2 * HOUR_MS),
                format!("UPDATE sla_alarms SET due_at = due_at - {}, started_at = started_at - {} WHERE ticket_id = {id}", 2 * HOUR_MS, 2 * HOUR_MS),
            ];
            if touched {
                statements.push(format!("INSERT INTO sla_dirty (ticket_id, seq) VALUES ({id}, 1000) ON CONFLICT (ticket_id) DO UPDATE SET seq = 1000"));
            }
            run_all(db, &statements).await;
        })
        .await;
    (app, admin, id, ticket.number)
}

async fn count_events(app: &TestApp, id: i64, kind: &str) -> i64 {
    scalar(
        app.ctx.db(),
        &format!("SELECT COUNT(*) FROM ticket_events WHERE ticket_id = {id} AND kind = '{kind}'"),
    )
    .await
    .unwrap_or(0)
}

/// Waits until the breach and the warning's fate are recorded; returns (warnings sent, warnings
/// skipped, breaches).
async fn alarm_outcome(app: &TestApp, id: i64) -> (i64, i64, i64) {
    for _ in 0..100 {
        let outcome = (
            count_events(app, id, "sla_warning").await,
            count_events(app, id, "sla_warning_skipped").await,
            count_events(app, id, "sla_breached").await,
        );
        if outcome.2 > 0 && outcome.0 + outcome.1 > 0 {
            return outcome;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    (
        count_events(app, id, "sla_warning").await,
        count_events(app, id, "sla_warning_skipped").await,
        count_events(app, id, "sla_breached").await,
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_warning_due_during_downtime_after_its_breach_is_recorded_as_skipped_and_the_breach_fires_once()
 {
    let (app, admin, id, number) = due_during_downtime(false).await;

    let outcome = alarm_outcome(&app, id).await;

    assert_eq!(outcome, (0, 1, 1), "(warnings sent, skipped, breaches)");
    let detail = tickets::get(&app.ctx, &admin, number).await.expect("ticket");
    assert_eq!(detail.ticket.priority, Priority::High, "the breach raised the priority");
    // Re-evaluating and restarting again fires nothing new.
    app.sla_due_becomes(id, |_| true).await;
    let app = app.restart(async |_: &Db| {}).await;
    sla::recompute(&app.ctx, id).await.expect("recompute");
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(alarm_outcome(&app, id).await, (0, 1, 1), "nothing fired twice");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ticket_changed_just_before_the_stop_gets_the_same_late_warning_record_as_an_untouched_one()
 {
    let (app, _, id, _) = due_during_downtime(true).await;

    let outcome = alarm_outcome(&app, id).await;

    assert_eq!(
        outcome,
        (0, 1, 1),
        "(warnings sent, skipped, breaches): the same rule as untouched"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_breach_moving_the_ticket_records_where_from_like_an_agents_move() {
    let app = spawn_app().await;
    let admin = app.create_admin("ada@example.com", "Ada").await;
    let name = |n: &str| frontdesk_core::agents::PersonName::parse(n).expect("a name");
    let first = frontdesk_core::agents::teams::create(&app.ctx, &admin, &name("Front line"))
        .await
        .expect("team");
    let escalation = frontdesk_core::agents::teams::create(&app.ctx, &admin, &name("Escalation"))
        .await
        .expect("team");
    let mut def = policy(1);
    def.breach_actions = BreachActions { raise_priority: false, team_id: Some(escalation.id) };
    sla::save_policy(&app.ctx, &admin, &def).await.expect("policy");
    let ticket = app.create_ticket(&admin, "erin@customer.example", "Cannot log in").await.ticket;
    let changes = TicketChanges {
        version: ticket.version,
        team_id: Some(Some(first.id)),
        ..TicketChanges::default()
    };
    tickets::update(&app.ctx, &admin, ticket.number, changes).await.expect("to the front line");
    app.sla_due_becomes(ticket.id, |d| d.is_some()).await;

    app.age_ticket(ticket.id, 2).await;
    let mut moved = None;
    for _ in 0..100 {
        let detail = tickets::get(&app.ctx, &admin, ticket.number).await.expect("ticket");
        moved = detail
            .events
            .iter()
            .rev()
            .find(|e| e.kind == "team_changed" && e.actor.is_none())
            .map(|e| e.detail.clone());
        if moved.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let detail: serde_json::Value =
        serde_json::from_str(&moved.expect("the breach moved the ticket")).expect("JSON");
    assert_eq!(detail["from"]["id"], first.id);
    assert_eq!(detail["from"]["name"], "Front line");
    assert_eq!(detail["to"], escalation.id);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_admins_change_policies_and_bad_ones_are_refused_by_field() {
    let app = spawn_app().await;
    let admin = app.create_admin("ada@example.com", "Ada").await;
    let agent =
        app.create_agent(&admin, "bo@example.com", "Bo", frontdesk_core::agents::Role::Agent).await;
    assert!(matches!(
        sla::save_policy(&app.ctx, &agent, &policy(4)).await,
        Err(frontdesk_core::error::Error::Forbidden)
    ));
    let field = |r: frontdesk_core::error::Result<PolicyDef>| match r {
        Err(frontdesk_core::error::Error::Invalid(errors)) => errors[0].field.clone(),
        other => panic!("expected a field error, got {other:?}"),
    };
    assert_eq!(
        field(
            sla::save_policy(&app.ctx, &admin, &PolicyDef { warn_percent: 120, ..policy(4) }).await
        ),
        "warn_percent"
    );
    assert_eq!(
        field(
            sla::save_policy(
                &app.ctx,
                &admin,
                &PolicyDef { pause_statuses: vec![Status::Solved], ..policy(4) }
            )
            .await
        ),
        "pause_statuses"
    );
    assert_eq!(
        field(
            sla::save_policy(&app.ctx, &admin, &PolicyDef { calendar_id: Some(999), ..policy(4) })
                .await
        ),
        "calendar_id"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_breach_notifies_the_assignee_and_the_team_once_each_live_and_stored() {
    use frontdesk_core::agents::notifications;
    use frontdesk_core::agents::{PersonName, Role};
    use frontdesk_core::live::{ClientMessage, ServerMessage};

    let app = spawn_app().await;
    let admin = app.create_admin("ada@example.com", "Ada").await;
    let bo = app.create_agent(&admin, "bo@example.com", "Bo", Role::Agent).await;
    let cy = app.create_agent(&admin, "cy@example.com", "Cy", Role::Agent).await;
    let outsider = app.create_agent(&admin, "di@example.com", "Di", Role::Agent).await;
    let team = frontdesk_core::agents::teams::create(
        &app.ctx,
        &admin,
        &PersonName::parse("Billing").expect("name"),
    )
    .await
    .expect("team");
    for member in [&bo, &cy] {
        frontdesk_core::agents::teams::set_member(&app.ctx, &admin, team.id, member.id, true)
            .await
            .expect("member");
    }
    sla::save_policy(
        &app.ctx,
        &admin,
        &PolicyDef { breach_actions: BreachActions::default(), ..policy(1) },
    )
    .await
    .expect("policy");
    let ticket = app.create_ticket(&admin, "erin@customer.example", "Invoice missing").await.ticket;
    let changes = TicketChanges {
        version: ticket.version,
        assignee_id: Some(Some(bo.id)),
        team_id: Some(Some(team.id)),
        ..TicketChanges::default()
    };
    tickets::update(&app.ctx, &admin, ticket.number, changes).await.expect("assigned");
    app.sla_due_becomes(ticket.id, |d| d.is_some()).await;
    // Being assigned is news for Bo too; he reads it before the SLA's turn.
    let (assigned, _) = notifications::recent(&app.ctx, &bo).await.expect("list");
    assert_eq!(assigned.iter().map(|n| n.kind.as_str()).collect::<Vec<_>>(), ["assigned"]);
    notifications::mark_read(&app.ctx, &bo, assigned[0].id).await.expect("read");

    // Bo follows his notifications on the live socket before anything is due.
    let client = app.client();
    client.sign_in("bo@example.com", frontdesk_tests::PASSWORD).await;
    let cookie = client.session_cookie().expect("signed in");
    let mut live =
        frontdesk_tests::live::connect(&app.base_url, Some(&cookie), None).await.expect("socket");
    live.send(&ClientMessage::SubscribeNotifications { after_id: 0 }).await;

    // The warning falls due (45 minutes into one hour), then the breach.
    let mut bodies = Vec::new();
    for minutes in [50, 20] {
        // The warning's own event makes the worker evaluate the ticket again: let it finish
        // before time jumps, as it does between real minutes.
        app.sla_due_becomes(ticket.id, |_| true).await;
        app.age_ticket_by_minutes(ticket.id, minutes).await;
        let notification = live
            .next_matching(|m| {
                if let ServerMessage::Notification { notification } = m {
                    Some(notification)
                } else {
                    None
                }
            })
            .await;
        assert_eq!(notification.ticket_number, ticket.number);
        bodies.push(notification.body);
    }
    assert!(bodies[0].starts_with("First response is about to breach on #"), "{bodies:?}");
    assert!(
        bodies[1].starts_with("First response breached on #")
            && bodies[1].ends_with("Invoice missing"),
        "{bodies:?}"
    );
    assert!(
        live.next_within(Duration::from_millis(500))
            .await
            .is_none_or(|m| !matches!(m, ServerMessage::Notification { .. })),
        "nothing twice"
    );

    // Stored for each of the ticket's people, once; nobody else gets any.
    for (agent, stored, unread) in [(&bo, 3, 2), (&cy, 2, 2), (&outsider, 0, 0), (&admin, 0, 0)] {
        let (list, unread_now) = notifications::recent(&app.ctx, agent).await.expect("list");
        assert_eq!((list.len(), unread_now), (stored, unread), "{}", agent.name);
    }
    let (list, _) = notifications::recent(&app.ctx, &cy).await.expect("list");
    assert_eq!(notifications::mark_read(&app.ctx, &cy, list[0].id).await.expect("read"), 2);
    assert_eq!(notifications::unread_count(&app.ctx, &cy).await.expect("count"), 0);
    assert_eq!(
        notifications::unread_count(&app.ctx, &bo).await.expect("count"),
        2,
        "marking is per agent"
    );
    assert_eq!(
        notifications::mark_read(&app.ctx, &outsider, list[0].id).await.expect("read"),
        0,
        "nobody marks others' notifications"
    );

    // A socket that reconnects after the last one it saw gets nothing old; one from 0 gets the unread.
    let mut again =
        frontdesk_tests::live::connect(&app.base_url, Some(&cookie), None).await.expect("socket");
    again.send(&ClientMessage::SubscribeNotifications { after_id: list[0].id }).await;
    assert!(again.next_within(Duration::from_millis(400)).await.is_none(), "nothing missed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reordering_and_deleting_policies_changes_which_one_applies() {
    let app = spawn_app().await;
    let admin = app.create_admin("ada@example.com", "Ada").await;
    let standard = sla::save_policy(&app.ctx, &admin, &policy(4)).await.expect("policy");
    let fast = sla::save_policy(&app.ctx, &admin, &PolicyDef { name: "Fast".into(), ..policy(1) })
        .await
        .expect("policy");
    let ticket = app.create_ticket(&admin, "fay@customer.example", "Password reset").await.ticket;
    let created = created_at(&app, ticket.id).await;
    app.sla_due_becomes(ticket.id, |d| d == Some(created + 4 * HOUR_MS)).await;

    sla::move_policy(&app.ctx, &admin, fast.id, true).await.expect("moved up");
    app.sla_due_becomes(ticket.id, |d| d == Some(created + HOUR_MS)).await;
    let names: Vec<String> = sla::list_policies(&app.ctx, &admin)
        .await
        .expect("list")
        .into_iter()
        .map(|p| p.name)
        .collect();
    assert_eq!(names, ["Fast", "Standard"]);
    sla::move_policy(&app.ctx, &admin, fast.id, true)
        .await
        .expect("already first: nothing changes");

    sla::delete_policy(&app.ctx, &admin, fast.id).await.expect("deleted");
    app.sla_due_becomes(ticket.id, |d| d == Some(created + 4 * HOUR_MS)).await;
    assert!(matches!(
        sla::delete_policy(&app.ctx, &admin, fast.id).await,
        Err(frontdesk_core::error::Error::NotFound(_))
    ));
    let agent =
        app.create_agent(&admin, "bo@example.com", "Bo", frontdesk_core::agents::Role::Agent).await;
    assert!(matches!(
        sla::move_policy(&app.ctx, &agent, standard.id, false).await,
        Err(frontdesk_core::error::Error::Forbidden)
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_compliance_report_counts_met_and_breached_runs_with_medians_and_a_csv() {
    use frontdesk_core::sla::report::{self, GroupBy};
    let app = spawn_app().await;
    let admin = app.create_admin("ada@example.com", "Ada").await;
    sla::save_policy(&app.ctx, &admin, &policy(1)).await.expect("policy");
    // One ticket answered at once (met), one answered two hours late (breached).
    let quick = app.create_ticket(&admin, "gus@customer.example", "Quick one").await.ticket;
    let slow = app.create_ticket(&admin, "hal@customer.example", "Slow one").await.ticket;
    app.sla_due_becomes(slow.id, |d| d.is_some()).await;
    app.age_ticket(slow.id, 3).await;
    for number in [quick.number, slow.number] {
        let reply = MessageBody::parse("Here you go.").expect("body");
        tickets::add_message(&app.ctx, &admin, number, MessageKind::Reply, reply, None)
            .await
            .expect("reply");
    }
    for id in [quick.id, slow.id] {
        app.sla_due_becomes(id, |_| true).await;
    }

    let today = frontdesk_core::platform::time::Timestamp::now().to_datetime().date().to_string();
    let report = report::report(&app.ctx, &admin, "", "", GroupBy::Policy).await.expect("report");
    assert_eq!(report.to, today, "the default period ends today");
    assert_eq!(report.rows.len(), 1);
    let first = &report.rows[0].metrics[0];
    assert_eq!((report.rows[0].group.as_str(), first.met, first.breached), ("Standard", 1, 1));
    let p90 = first.p90_ms.expect("a p90");
    assert!(
        (3 * HOUR_MS - 60_000..=3 * HOUR_MS + 60_000).contains(&p90),
        "the slow reply took about three hours: {p90}"
    );
    assert!(first.median_ms.expect("a median") < 60_000, "the quick reply took under a minute");
    let resolution = &report.rows[0].metrics[2];
    assert_eq!(
        (resolution.met, resolution.breached, resolution.open),
        (0, 0, 2),
        "both still open within a day"
    );

    // The CSV over HTTP (the last 30 days: the slow ticket may have started yesterday): admins
    // get it, agents do not, bad dates are explained.
    let client = app.client();
    client.sign_in("ada@example.com", frontdesk_tests::PASSWORD).await;
    let csv = client.get(&format!("/app/reports/sla.csv?from=&to={today}&group_by=policy")).await;
    assert_eq!(csv.status(), 200);
    assert!(
        csv.headers()["content-disposition"].to_str().expect("header").starts_with("attachment")
    );
    let text = csv.text().await.expect("body");
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines[0].starts_with("Policy,First response met,First response breached"), "{text}");
    assert!(lines[1].starts_with("Standard,1,1,0,50.0,"), "{text}");
    assert!(lines[2].starts_with("All,1,1,0,50.0,"), "{text}");
    let bad = client.get("/app/reports/sla.csv?from=yesterday&to=&group_by=policy").await;
    assert_eq!(bad.status(), 422);
    assert!(bad.text().await.expect("body").contains("from: Use a date like"));
    app.create_agent(&admin, "bo@example.com", "Bo", frontdesk_core::agents::Role::Agent).await;
    let agent = app.client();
    agent.sign_in("bo@example.com", frontdesk_tests::PASSWORD).await;
    assert_eq!(
        agent
            .get(&format!("/app/reports/sla.csv?from={today}&to={today}&group_by=team"))
            .await
            .status(),
        403
    );
    assert_eq!(
        app.client().get("/app/reports/sla.csv?from=&to=&group_by=team").await.status(),
        401
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_policy_form_sets_team_and_organization_conditions_and_a_breach_team_and_edits_in_place()
 {
    use frontdesk_core::agents::PersonName;
    let app = spawn_app().await;
    let admin = app.create_admin("ada@example.com", "Ada").await;
    let team = frontdesk_core::agents::teams::create(
        &app.ctx,
        &admin,
        &PersonName::parse("Tier 2").expect("name"),
    )
    .await
    .expect("team");
    let acme = frontdesk_core::customers::organizations::create(
        &app.ctx,
        &admin,
        &PersonName::parse("Acme").expect("name"),
        &[],
    )
    .await
    .expect("org");
    let client = app.client();
    client.sign_in("ada@example.com", frontdesk_tests::PASSWORD).await;
    let team_key = format!("teams[{}]", team.id);
    let team_id = team.id.to_string();
    let fields = |id: &str, name: &str, organizations: &str| -> Vec<(String, String)> {
        [
            ("id", id),
            ("name", name),
            ("calendar_id", ""),
            ("priorities[high]", "on"),
            (team_key.as_str(), "on"),
            ("tags", "VIP, billing"),
            ("organizations", organizations),
            ("targets[first_response_high]", "1.5"),
            ("warn_percent", "80"),
            ("breach_team_id", team_id.as_str()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
    };
    let call = async |pairs: Vec<(String, String)>| {
        let args: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let response = client.call("save_sla_policy", &args).await;
        (response.status(), response.text().await.unwrap_or_default())
    };

    let (status, body) = call(fields("", "VIP", "Nobody Inc")).await;
    assert_eq!(status, 422, "{body}");
    assert!(body.contains("No organization is called 'Nobody Inc'."), "{body}");
    let (status, body) = call(fields("", "VIP", "acme")).await;
    assert_eq!(status, 200, "{body}");
    let id: i64 = body.trim().parse().expect("the new policy's id");

    let saved = sla::list_policies(&app.ctx, &admin)
        .await
        .expect("list")
        .into_iter()
        .find(|p| p.id == id)
        .expect("saved");
    assert_eq!(saved.conditions.priorities, [Priority::High]);
    assert_eq!(saved.conditions.team_ids, [team.id]);
    assert_eq!(saved.conditions.organization_ids, [acme.id]);
    assert_eq!(saved.conditions.tags, ["vip", "billing"]);
    assert_eq!(saved.targets[2].first_response, Some(90 * 60_000));
    assert_eq!((saved.warn_percent, saved.breach_actions.team_id), (80, Some(team.id)));

    // Saving with its id changes it in place.
    let (status, body) = call(fields(&id.to_string(), "VIP customers", "Acme")).await;
    assert_eq!((status.as_u16(), body.trim()), (200, id.to_string().as_str()));
    let names: Vec<String> = sla::list_policies(&app.ctx, &admin)
        .await
        .expect("list")
        .into_iter()
        .map(|p| p.name)
        .collect();
    assert_eq!(names, ["VIP customers"]);
    let (status, _) = call(fields("999999", "Ghost", "")).await;
    assert_eq!(status, 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_queue_filters_by_sla_due_time_including_already_breached() {
    use frontdesk_core::platform::time::Timestamp;
    use frontdesk_core::tickets::{QueueFilter, QueueSort, QueueView};
    let app = spawn_app().await;
    let admin = app.create_admin("ada@example.com", "Ada").await;
    sla::save_policy(
        &app.ctx,
        &admin,
        &PolicyDef { breach_actions: BreachActions::default(), ..policy(4) },
    )
    .await
    .expect("policy");
    let fresh = app.create_ticket(&admin, "ivy@customer.example", "Fresh").await.ticket;
    let late = app.create_ticket(&admin, "jo@customer.example", "Late").await.ticket;
    let unmatched = app.create_ticket(&admin, "kai@customer.example", "Pending").await.ticket;
    for ticket in [&fresh, &late, &unmatched] {
        app.sla_due_becomes(ticket.id, |d| d.is_some()).await;
    }
    app.age_ticket(late.id, 5).await;
    let changes = TicketChanges {
        version: unmatched.version,
        status: Some(Status::Pending),
        ..TicketChanges::default()
    };
    tickets::update(&app.ctx, &admin, unmatched.number, changes).await.expect("pending");
    app.sla_due_becomes(unmatched.id, |d| d.is_none()).await;
    app.sla_due_becomes(late.id, |d| d.is_some_and(|d| d < Timestamp::now().unix_millis())).await;

    let numbers = async |within_ms: i64| -> Vec<i64> {
        let filter = QueueFilter {
            sla_due_before: Some(Timestamp::from_unix_millis(
                Timestamp::now().unix_millis() + within_ms,
            )),
            ..QueueFilter::default()
        };
        let page = tickets::queue(
            &app.ctx,
            &admin,
            QueueView::AllOpen,
            &filter,
            QueueSort::SlaDue,
            None,
            50,
        )
        .await
        .expect("queue");
        page.tickets.iter().map(|t| t.number).collect()
    };
    assert_eq!(numbers(0).await, [late.number], "already breached");
    assert_eq!(
        numbers(5 * HOUR_MS).await,
        [late.number, fresh.number],
        "due within five hours, soonest first"
    );
}
