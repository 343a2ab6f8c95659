//! SLAs end to end on a running frontdesk (SQLite or PostgreSQL): the worker keeps each ticket's
//! due time fresh from its history; pending pauses the clocks; a follow-up restarts next
//! response; changing a policy recomputes open tickets; warnings and breaches fire exactly once,
//! across a restart, including those that fell due while frontdesk was stopped.

use frontdesk_core::db::Db;
use frontdesk_core::sla::{self, BreachActions, Conditions, PolicyDef};
use frontdesk_core::sla_clock::{ClockStatus, Metric, Step};
use frontdesk_core::ticket::{MessageKind, MessageBody, Priority, Status};
use frontdesk_core::tickets::{self, TicketChanges};
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

/// Waits (up to 10 s) until the ticket's stored due time satisfies `ok`: the worker's freshness.
async fn due_becomes(app: &TestApp, id: i64, ok: impl Fn(Option<i64>) -> bool) -> Option<i64> {
    let mut due = None;
    for _ in 0..100 {
        due = scalar(app.ctx.db(), &format!("SELECT sla_due_at FROM tickets WHERE id = {id}")).await;
        let clean = scalar(app.ctx.db(), &format!("SELECT COUNT(*) FROM sla_dirty WHERE ticket_id = {id}")).await == Some(0);
        if clean && ok(due) {
            return due;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the SLA state of ticket {id} did not settle; last due time {due:?}");
}

async fn created_at(app: &TestApp, id: i64) -> i64 {
    scalar(app.ctx.db(), &format!("SELECT created_at FROM tickets WHERE id = {id}")).await.expect("created_at")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pending_pauses_the_clocks_and_a_follow_up_restarts_next_response() {
    let app = spawn_app().await;
    let admin = app.create_admin("ada@example.com", "Ada").await;
    sla::save_policy(&app.ctx, &admin, &policy(4)).await.expect("policy");
    let ticket = app.create_ticket(&admin, "carol@customer.example", "Printer on fire").await.ticket;
    let created = created_at(&app, ticket.id).await;

    let due = due_becomes(&app, ticket.id, |d| d.is_some()).await;
    assert_eq!(due, Some(created + 4 * HOUR_MS), "first response is due four hours after creation");

    let changes = TicketChanges { version: ticket.version, status: Some(Status::Pending), ..TicketChanges::default() };
    let pending = tickets::update(&app.ctx, &admin, ticket.number, changes).await.expect("pending").ticket;
    due_becomes(&app, ticket.id, |d| d.is_none()).await;
    let state = sla::for_ticket(&app.ctx, &admin, ticket.number).await.expect("sla");
    assert!(state.clocks.iter().all(|c| c.status == ClockStatus::Paused), "{state:?}");
    assert!(state.timeline.iter().any(|s| s.step == Step::Paused));

    let changes = TicketChanges { version: pending.version, status: Some(Status::Open), ..TicketChanges::default() };
    tickets::update(&app.ctx, &admin, ticket.number, changes).await.expect("open");
    let resumed = due_becomes(&app, ticket.id, |d| d.is_some()).await.expect("due again");
    assert!(resumed >= created + 4 * HOUR_MS, "the paused time is added back");

    let reply = MessageBody::parse("We are on it.").expect("body");
    tickets::add_message(&app.ctx, &admin, ticket.number, MessageKind::Reply, reply, None).await.expect("reply");
    frontdesk_core::portal::reply(&app.ctx, ticket.requester.id, ticket.number, MessageBody::parse("Still burning!").expect("body"))
        .await
        .expect("customer follow-up");
    due_becomes(&app, ticket.id, |d| d.is_some_and(|d| d >= created + 8 * HOUR_MS && d < created + 9 * HOUR_MS)).await;
    let state = sla::for_ticket(&app.ctx, &admin, ticket.number).await.expect("sla");
    let first = state.clocks.iter().find(|c| c.metric == Metric::FirstResponse).expect("first response");
    let next = state.clocks.iter().find(|c| c.metric == Metric::NextResponse).expect("next response");
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
    due_becomes(&app, ticket.id, |d| d == Some(created + 4 * HOUR_MS)).await;

    sla::save_policy(&app.ctx, &admin, &PolicyDef { targets: [sla::minutes(Some(60), None, None); 4], ..saved }).await.expect("changed");

    due_becomes(&app, ticket.id, |d| d == Some(created + HOUR_MS)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn warnings_and_breaches_fire_once_across_restarts_even_when_due_during_downtime() {
    let app = spawn_app().await;
    let admin = app.create_admin("ada@example.com", "Ada").await;
    sla::save_policy(&app.ctx, &admin, &policy(1)).await.expect("policy");
    let ticket = app.create_ticket(&admin, "erin@customer.example", "Cannot log in").await.ticket;
    due_becomes(&app, ticket.id, |d| d.is_some()).await;
    let id = ticket.id;

    // While frontdesk is down, two hours pass for this ticket: its warning (45 min) and its
    // breach (1 h) fall due with nobody running.
    let app = app
        .restart(async |db: &Db| {
            for sql in [
                format!("UPDATE tickets SET created_at = created_at - {}, updated_at = updated_at - {} WHERE id = {id}", 2 * HOUR_MS, 2 * HOUR_MS),
                format!("UPDATE ticket_events SET created_at = created_at - {} WHERE ticket_id = {id}", 2 * HOUR_MS),
                format!("UPDATE sla_alarms SET due_at = due_at - {}, started_at = started_at - {} WHERE ticket_id = {id}", 2 * HOUR_MS, 2 * HOUR_MS),
            ] {
                match db {
                    Db::Sqlite(pool) => sqlx::query(&sql).execute(pool).await.map(drop),
                    Db::Postgres(pool) => sqlx::query(&sql).execute(pool).await.map(drop),
                }
                .expect("time passes");
            }
        })
        .await;

    let count = async |app: &TestApp, kind: &str| {
        scalar(app.ctx.db(), &format!("SELECT COUNT(*) FROM ticket_events WHERE ticket_id = {id} AND kind = '{kind}'")).await.unwrap_or(0)
    };
    for _ in 0..100 {
        if count(&app, "sla_breached").await > 0 && count(&app, "sla_warning").await > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!((count(&app, "sla_warning").await, count(&app, "sla_breached").await), (1, 1), "both fired after the restart");
    let detail = tickets::get(&app.ctx, &admin, ticket.number).await.expect("ticket");
    assert_eq!(detail.ticket.priority, Priority::High, "the breach raised the priority");

    // Re-evaluating and restarting again fires nothing new.
    due_becomes(&app, id, |_| true).await;
    let app = app.restart(async |_: &Db| {}).await;
    sla::recompute(&app.ctx, id).await.expect("recompute");
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!((count(&app, "sla_warning").await, count(&app, "sla_breached").await), (1, 1), "nothing fired twice");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_admins_change_policies_and_bad_ones_are_refused_by_field() {
    let app = spawn_app().await;
    let admin = app.create_admin("ada@example.com", "Ada").await;
    let agent = app.create_agent(&admin, "bo@example.com", "Bo", frontdesk_core::agent::Role::Agent).await;
    assert!(matches!(sla::save_policy(&app.ctx, &agent, &policy(4)).await, Err(frontdesk_core::error::Error::Forbidden)));
    let field = |r: frontdesk_core::error::Result<PolicyDef>| match r {
        Err(frontdesk_core::error::Error::Invalid(errors)) => errors[0].field.clone(),
        other => panic!("expected a field error, got {other:?}"),
    };
    assert_eq!(field(sla::save_policy(&app.ctx, &admin, &PolicyDef { warn_percent: 120, ..policy(4) }).await), "warn_percent");
    assert_eq!(field(sla::save_policy(&app.ctx, &admin, &PolicyDef { pause_statuses: vec![Status::Solved], ..policy(4) }).await), "pause_statuses");
    assert_eq!(field(sla::save_policy(&app.ctx, &admin, &PolicyDef { calendar_id: Some(999), ..policy(4) }).await), "calendar_id");
}
