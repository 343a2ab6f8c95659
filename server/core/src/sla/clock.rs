//! The SLA engine's arithmetic: from a ticket's history, a policy's targets and a calendar, the
//! state of each SLA clock and a timeline anyone can read ("started, paused, resumed, breached").
//!
//! It is a pure function of its inputs ([`evaluate`]), so changing a policy or a calendar and
//! evaluating again recomputes a ticket exactly; storage and scheduling live elsewhere.
//!
//! The clocks:
//! - **first response** starts when the ticket is created and is met by the first public reply
//!   of an agent;
//! - **next response** starts at each customer message that follows an agent's reply (or the
//!   first customer message after the first response) and is met by the next agent reply;
//! - **resolution** starts at creation and is met when the ticket is solved or closed; if it is
//!   reopened the clock runs on from where it stopped.
//!
//! Every running clock pauses while the ticket's status is one of the policy's pause statuses,
//! and only counts business time of the calendar. A clock is breached at the instant its
//! counted time reaches the target, whether or not it was met later.

use crate::sla::business_time::Calendar;
use crate::tickets::{Priority, Status};

/// One of the three promises.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Metric {
    /// Until the first public agent reply.
    FirstResponse,
    /// From a customer message to the next agent reply.
    NextResponse,
    /// Until solved.
    Resolution,
}

impl Metric {
    /// Every metric, in display order.
    pub const ALL: [Metric; 3] = [Metric::FirstResponse, Metric::NextResponse, Metric::Resolution];

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Metric::FirstResponse => "first_response",
            Metric::NextResponse => "next_response",
            Metric::Resolution => "resolution",
        }
    }

    /// The metric stored as `name`.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|m| m.as_str() == name)
    }

    /// The name people read.
    pub fn label(self) -> &'static str {
        match self {
            Metric::FirstResponse => "First response",
            Metric::NextResponse => "Next response",
            Metric::Resolution => "Resolution",
        }
    }
}

/// Targets of one priority, in milliseconds of business time; `None` means no promise.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Targets {
    /// First response.
    pub first_response: Option<i64>,
    /// Next response.
    pub next_response: Option<i64>,
    /// Resolution.
    pub resolution: Option<i64>,
}

impl Targets {
    /// The target of one metric.
    pub fn of(&self, metric: Metric) -> Option<i64> {
        match metric {
            Metric::FirstResponse => self.first_response,
            Metric::NextResponse => self.next_response,
            Metric::Resolution => self.resolution,
        }
    }
}

/// What the engine needs of a policy.
#[derive(Clone, Debug)]
pub struct ClockRules {
    /// Targets per priority, low to urgent.
    pub targets: [Targets; 4],
    /// Statuses during which every clock stands still.
    pub pause_statuses: Vec<Status>,
    /// Warn when this share of a target is used up (0 for no warning).
    pub warn_percent: u8,
}

impl ClockRules {
    fn targets_for(&self, priority: Priority) -> Targets {
        self.targets[match priority {
            Priority::Low => 0,
            Priority::Normal => 1,
            Priority::High => 2,
            Priority::Urgent => 3,
        }]
    }
}

/// One thing that happened to a ticket, as far as SLAs care. Times are unix milliseconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Happening {
    /// The ticket was created.
    Created {
        /// When.
        at: i64,
        /// Its status then.
        status: Status,
        /// Its priority then.
        priority: Priority,
    },
    /// The customer wrote.
    CustomerMessage {
        /// When.
        at: i64,
    },
    /// An agent replied publicly (internal notes do not count).
    AgentReply {
        /// When.
        at: i64,
    },
    /// The status changed.
    StatusChanged {
        /// When.
        at: i64,
        /// The new status.
        to: Status,
    },
    /// The priority changed: targets follow the current priority.
    PriorityChanged {
        /// When.
        at: i64,
        /// The new priority.
        to: Priority,
    },
}

impl Happening {
    fn at(&self) -> i64 {
        match *self {
            Happening::Created { at, .. }
            | Happening::CustomerMessage { at }
            | Happening::AgentReply { at }
            | Happening::StatusChanged { at, .. }
            | Happening::PriorityChanged { at, .. } => at,
        }
    }
}

/// What happened to a clock, for the SLA timeline.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Step {
    /// It started counting.
    Started,
    /// It stopped counting for a pause status.
    Paused,
    /// It counted again.
    Resumed,
    /// The promise was kept.
    Met,
    /// The counted time reached the target.
    Breached,
}

/// One entry of the SLA timeline.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct TimelineStep {
    /// Which clock.
    pub metric: Metric,
    /// What happened.
    pub step: Step,
    /// When (unix milliseconds).
    pub at: i64,
}

/// Where a clock stands now.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClockStatus {
    /// Counting; due at `due_at`.
    Running,
    /// Standing still in a pause status.
    Paused,
    /// Kept.
    Met,
    /// Missed (and maybe met late).
    Breached,
}

impl ClockStatus {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Running => "running",
            Self::Paused => "paused",
            Self::Met => "met",
            Self::Breached => "breached",
        }
    }
}

/// The state of one clock after the whole history.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Clock {
    /// Which clock.
    pub metric: Metric,
    /// When this run of the clock started (next response starts again at each follow-up).
    pub started_at: i64,
    /// Its state.
    pub status: ClockStatus,
    /// The target (business milliseconds).
    pub target: i64,
    /// Business time counted so far.
    pub counted: i64,
    /// When it comes due if it keeps running; for a clock still counting after its breach, the
    /// breach (it is overdue since). `None` while paused or once stopped.
    pub due_at: Option<i64>,
    /// When the warning fires if it keeps running (while running and before the warning).
    pub warn_at: Option<i64>,
    /// When it breached, if it did.
    pub breached_at: Option<i64>,
    /// When it stopped for good (the reply or the solve), if it did.
    pub stopped_at: Option<i64>,
}

/// The result of [`evaluate`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Evaluation {
    /// The current clock of each metric that has a target and has started.
    pub clocks: Vec<Clock>,
    /// Every run of every clock, in start order (next response runs once per follow-up): what
    /// compliance reports count.
    pub runs: Vec<Clock>,
    /// Everything that happened to the clocks, in time order.
    pub timeline: Vec<TimelineStep>,
}

impl Evaluation {
    /// The earliest due time of a counting clock (a breached one is due at its breach): what the
    /// queue sorts and filters by.
    pub fn next_due(&self) -> Option<i64> {
        self.clocks
            .iter()
            .filter(|c| matches!(c.status, ClockStatus::Running | ClockStatus::Breached))
            .filter_map(|c| c.due_at)
            .min()
    }
}

/// A clock being replayed.
#[derive(Clone, Copy, Debug)]
struct Running {
    metric: Metric,
    started_at: i64,
    counted: i64,
    /// Set while counting: since when.
    since: Option<i64>,
    breached_at: Option<i64>,
    /// Set once it stopped: when.
    done: Option<i64>,
}

/// Replays `history` (in time order) under `rules` and `calendar` up to `now`.
pub fn evaluate(
    rules: &ClockRules,
    calendar: &Calendar,
    history: &[Happening],
    now: i64,
) -> Evaluation {
    let Some(Happening::Created { at: created, status, priority }) = history.first().copied()
    else {
        return Evaluation::default();
    };
    let final_priority = history.iter().fold(priority, |p, h| match h {
        Happening::PriorityChanged { to, .. } => *to,
        _ => p,
    });
    let targets = rules.targets_for(final_priority);
    let mut replay = Replay {
        rules,
        calendar,
        targets,
        paused: rules.pause_statuses.contains(&status),
        clocks: Vec::new(),
        timeline: Vec::new(),
    };
    let mut status = status;
    let mut replied = false;
    let finished = |s: Status| matches!(s, Status::Solved | Status::Closed);
    replay.start(Metric::FirstResponse, created);
    if !finished(status) {
        replay.start(Metric::Resolution, created);
    }
    for happening in history.iter().skip(1).filter(|h| h.at() <= now) {
        let at = happening.at();
        match *happening {
            Happening::Created { .. } | Happening::PriorityChanged { .. } => {}
            Happening::CustomerMessage { .. } => {
                if replied && !replay.is_open(Metric::NextResponse) {
                    replay.start(Metric::NextResponse, at);
                }
            }
            Happening::AgentReply { .. } => {
                replied = true;
                replay.stop(Metric::FirstResponse, at);
                replay.stop(Metric::NextResponse, at);
            }
            Happening::StatusChanged { to, .. } => {
                if finished(to) && !finished(status) {
                    replay.stop(Metric::Resolution, at);
                } else if !finished(to) && finished(status) {
                    replay.reopen(Metric::Resolution, at);
                }
                let pause = rules.pause_statuses.contains(&to);
                if pause != replay.paused {
                    replay.set_paused(pause, at);
                }
                status = to;
            }
        }
    }
    replay.finish(now)
}

struct Replay<'a> {
    rules: &'a ClockRules,
    calendar: &'a Calendar,
    targets: Targets,
    paused: bool,
    clocks: Vec<Running>,
    timeline: Vec<TimelineStep>,
}

impl Replay<'_> {
    fn log(&mut self, metric: Metric, step: Step, at: i64) {
        self.timeline.push(TimelineStep { metric, step, at });
    }

    fn current(&mut self, metric: Metric) -> Option<&mut Running> {
        self.clocks.iter_mut().rev().find(|c| c.metric == metric)
    }

    fn is_open(&self, metric: Metric) -> bool {
        self.clocks.iter().rev().find(|c| c.metric == metric).is_some_and(|c| c.done.is_none())
    }

    fn start(&mut self, metric: Metric, at: i64) {
        if self.targets.of(metric).is_none() {
            return;
        }
        self.clocks.push(Running {
            metric,
            started_at: at,
            counted: 0,
            since: (!self.paused).then_some(at),
            breached_at: None,
            done: None,
        });
        self.log(metric, Step::Started, at);
    }

    /// Counts a running clock's time up to `at` and notes a breach on the way.
    fn count(&mut self, index: usize, at: i64) {
        let clock = self.clocks[index];
        let (Some(since), Some(target)) = (clock.since, self.targets.of(clock.metric)) else {
            return;
        };
        let counted = clock.counted + self.calendar.elapsed(since, at);
        let mut breach = None;
        if clock.breached_at.is_none() && counted >= target {
            breach = self.calendar.add(since, target - clock.counted);
        }
        let clock = &mut self.clocks[index];
        clock.counted = counted;
        clock.since = Some(at);
        if let Some(when) = breach {
            clock.breached_at = Some(when);
            let metric = clock.metric;
            self.log(metric, Step::Breached, when);
        }
    }

    fn stop(&mut self, metric: Metric, at: i64) {
        let Some(index) = self.clocks.iter().rposition(|c| c.metric == metric && c.done.is_none())
        else {
            return;
        };
        self.count(index, at);
        let clock = &mut self.clocks[index];
        clock.since = None;
        clock.done = Some(at);
        let met = clock.breached_at.is_none();
        if met {
            self.log(metric, Step::Met, at);
        }
    }

    fn reopen(&mut self, metric: Metric, at: i64) {
        let paused = self.paused;
        if let Some(clock) = self.current(metric).filter(|c| c.done.is_some()) {
            clock.done = None;
            clock.since = (!paused).then_some(at);
            self.log(metric, Step::Resumed, at);
        }
    }

    fn set_paused(&mut self, pause: bool, at: i64) {
        self.paused = pause;
        for index in 0..self.clocks.len() {
            if self.clocks[index].done.is_some() {
                continue;
            }
            let metric = self.clocks[index].metric;
            if pause {
                self.count(index, at);
                self.clocks[index].since = None;
                self.log(metric, Step::Paused, at);
            } else {
                self.clocks[index].since = Some(at);
                self.log(metric, Step::Resumed, at);
            }
        }
    }

    fn finish(mut self, now: i64) -> Evaluation {
        for index in 0..self.clocks.len() {
            if self.clocks[index].done.is_none() {
                self.count(index, now);
            }
        }
        self.timeline.sort_by_key(|s| s.at);
        let runs: Vec<Clock> =
            self.clocks.iter().filter_map(|clock| self.summarize(clock, now)).collect();
        let mut clocks: Vec<Clock> = Vec::new();
        for clock in runs.iter().rev() {
            if !clocks.iter().any(|c| c.metric == clock.metric) {
                clocks.push(*clock);
            }
        }
        clocks.sort_by_key(|c| Metric::ALL.iter().position(|m| *m == c.metric));
        Evaluation { clocks, runs, timeline: self.timeline }
    }

    /// One run as it stands at `now`.
    fn summarize(&self, clock: &Running, now: i64) -> Option<Clock> {
        let target = self.targets.of(clock.metric)?;
        let running = clock.done.is_none() && clock.since.is_some();
        let status = match (clock.breached_at, clock.done, running) {
            (Some(_), _, _) => ClockStatus::Breached,
            (None, Some(_), _) => ClockStatus::Met,
            (None, None, true) => ClockStatus::Running,
            (None, None, false) => ClockStatus::Paused,
        };
        let left = |share: i64| {
            (running && clock.breached_at.is_none())
                .then(|| share - clock.counted)
                .filter(|l| *l > 0)
        };
        let due_at = match clock.breached_at {
            // Still counting after its breach: overdue since then, so the queue puts it first.
            Some(at) if running => Some(at),
            Some(_) => None,
            None => left(target).and_then(|l| self.calendar.add(now, l)),
        };
        let warn_share = target * i64::from(self.rules.warn_percent) / 100;
        let warn_at = (self.rules.warn_percent > 0)
            .then(|| left(warn_share).and_then(|l| self.calendar.add(now, l)))
            .flatten();
        Some(Clock {
            metric: clock.metric,
            started_at: clock.started_at,
            status,
            target,
            counted: clock.counted,
            due_at,
            warn_at,
            breached_at: clock.breached_at,
            stopped_at: clock.done,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOUR: i64 = 3_600_000;

    fn rules() -> ClockRules {
        let normal = Targets {
            first_response: Some(4 * HOUR),
            next_response: Some(8 * HOUR),
            resolution: Some(24 * HOUR),
        };
        let urgent = Targets {
            first_response: Some(HOUR),
            next_response: Some(2 * HOUR),
            resolution: Some(4 * HOUR),
        };
        ClockRules {
            targets: [normal, normal, normal, urgent],
            pause_statuses: vec![Status::Pending, Status::OnHold],
            warn_percent: 75,
        }
    }

    fn created(at: i64) -> Happening {
        Happening::Created { at, status: Status::New, priority: Priority::Normal }
    }

    fn clock(evaluation: &Evaluation, metric: Metric) -> Clock {
        *evaluation.clocks.iter().find(|c| c.metric == metric).expect("the clock exists")
    }

    #[test]
    fn a_new_ticket_runs_first_response_and_resolution_with_warnings() {
        let e = evaluate(&rules(), &Calendar::always(), &[created(0)], HOUR);
        let first = clock(&e, Metric::FirstResponse);
        assert_eq!(
            (first.status, first.counted, first.due_at, first.warn_at),
            (ClockStatus::Running, HOUR, Some(4 * HOUR), Some(3 * HOUR))
        );
        assert_eq!(clock(&e, Metric::Resolution).due_at, Some(24 * HOUR));
        assert_eq!(e.next_due(), Some(4 * HOUR));
        assert!(
            e.clocks.iter().all(|c| c.metric != Metric::NextResponse),
            "no customer follow-up yet"
        );
    }

    #[test]
    fn an_agent_reply_meets_the_first_response_and_a_follow_up_starts_next_response() {
        let history = [
            created(0),
            Happening::AgentReply { at: 2 * HOUR },
            Happening::CustomerMessage { at: 3 * HOUR },
        ];
        let e = evaluate(&rules(), &Calendar::always(), &history, 5 * HOUR);
        assert_eq!(clock(&e, Metric::FirstResponse).status, ClockStatus::Met);
        let next = clock(&e, Metric::NextResponse);
        assert_eq!(
            (next.status, next.counted, next.due_at),
            (ClockStatus::Running, 2 * HOUR, Some(11 * HOUR))
        );
    }

    #[test]
    fn each_customer_message_after_a_reply_restarts_next_response() {
        let history = [
            created(0),
            Happening::AgentReply { at: HOUR },
            Happening::CustomerMessage { at: 2 * HOUR },
            Happening::CustomerMessage { at: 3 * HOUR },
            Happening::AgentReply { at: 4 * HOUR },
            Happening::CustomerMessage { at: 10 * HOUR },
        ];
        let e = evaluate(&rules(), &Calendar::always(), &history, 11 * HOUR);
        let next = clock(&e, Metric::NextResponse);
        assert_eq!(
            (next.counted, next.due_at),
            (HOUR, Some(18 * HOUR)),
            "counts from 10h, not from 2h"
        );
        let met: Vec<i64> = e
            .timeline
            .iter()
            .filter(|s| s.metric == Metric::NextResponse && s.step == Step::Met)
            .map(|s| s.at)
            .collect();
        assert_eq!(met, [4 * HOUR], "the second message did not start a second clock");
    }

    #[test]
    fn pending_pauses_every_running_clock_and_open_resumes_it() {
        let history = [
            created(0),
            Happening::StatusChanged { at: HOUR, to: Status::Pending },
            Happening::StatusChanged { at: 11 * HOUR, to: Status::Open },
        ];
        let paused = evaluate(&rules(), &Calendar::always(), &history[..2], 5 * HOUR);
        assert_eq!(clock(&paused, Metric::Resolution).status, ClockStatus::Paused);
        assert_eq!(clock(&paused, Metric::Resolution).due_at, None);
        assert_eq!(paused.next_due(), None);

        let resumed = evaluate(&rules(), &Calendar::always(), &history, 12 * HOUR);
        let resolution = clock(&resumed, Metric::Resolution);
        assert_eq!(
            (resolution.counted, resolution.due_at),
            (2 * HOUR, Some(34 * HOUR)),
            "ten paused hours do not count"
        );
        let steps: Vec<(Step, i64)> = resumed
            .timeline
            .iter()
            .filter(|s| s.metric == Metric::Resolution)
            .map(|s| (s.step, s.at))
            .collect();
        assert_eq!(steps, [(Step::Started, 0), (Step::Paused, HOUR), (Step::Resumed, 11 * HOUR)]);
    }

    #[test]
    fn a_breach_is_dated_when_the_target_ran_out_even_if_met_later() {
        let history = [created(0), Happening::AgentReply { at: 6 * HOUR }];
        let e = evaluate(&rules(), &Calendar::always(), &history, 7 * HOUR);
        let first = clock(&e, Metric::FirstResponse);
        assert_eq!((first.status, first.breached_at), (ClockStatus::Breached, Some(4 * HOUR)));
        assert!(
            !e.timeline.iter().any(|s| s.metric == Metric::FirstResponse && s.step == Step::Met)
        );
    }

    #[test]
    fn a_breached_clock_still_counting_is_due_at_its_breach_so_the_queue_puts_it_first() {
        let history = [created(0)];
        let e = evaluate(&rules(), &Calendar::always(), &history, 5 * HOUR);
        let first = clock(&e, Metric::FirstResponse);
        assert_eq!((first.status, first.due_at), (ClockStatus::Breached, Some(4 * HOUR)));
        assert_eq!(e.next_due(), Some(4 * HOUR), "before the resolution due at 24h");
        let answered = evaluate(
            &rules(),
            &Calendar::always(),
            &[created(0), Happening::AgentReply { at: 6 * HOUR }],
            7 * HOUR,
        );
        assert_eq!(
            clock(&answered, Metric::FirstResponse).due_at,
            None,
            "answered late: no longer due"
        );
        assert_eq!(answered.next_due(), Some(24 * HOUR));
    }

    #[test]
    fn solving_meets_resolution_and_reopening_runs_it_on() {
        let history = [
            created(0),
            Happening::AgentReply { at: HOUR },
            Happening::StatusChanged { at: 2 * HOUR, to: Status::Solved },
            Happening::StatusChanged { at: 10 * HOUR, to: Status::Open },
        ];
        let solved = evaluate(&rules(), &Calendar::always(), &history[..3], 5 * HOUR);
        assert_eq!(clock(&solved, Metric::Resolution).status, ClockStatus::Met);
        let reopened = evaluate(&rules(), &Calendar::always(), &history, 12 * HOUR);
        let resolution = clock(&reopened, Metric::Resolution);
        assert_eq!(
            (resolution.status, resolution.counted, resolution.due_at),
            (ClockStatus::Running, 4 * HOUR, Some(32 * HOUR))
        );
    }

    #[test]
    fn targets_follow_the_current_priority() {
        let history =
            [created(0), Happening::PriorityChanged { at: 30 * 60_000, to: Priority::Urgent }];
        let e = evaluate(&rules(), &Calendar::always(), &history, 2 * HOUR);
        let first = clock(&e, Metric::FirstResponse);
        assert_eq!((first.status, first.breached_at), (ClockStatus::Breached, Some(HOUR)));
    }

    #[test]
    fn clocks_count_business_hours_only() {
        let day = vec![(9 * 60, 17 * 60)];
        let week =
            [day.clone(), day.clone(), day.clone(), day.clone(), day, Vec::new(), Vec::new()];
        let office = Calendar::new("UTC", week, vec![]).expect("calendar");
        // Friday 2026-11-20 16:00 UTC; now Saturday noon.
        let friday_4pm = 1_795_190_400_000;
        let e = evaluate(&rules(), &office, &[created(friday_4pm)], friday_4pm + 20 * HOUR);
        let first = clock(&e, Metric::FirstResponse);
        assert_eq!(first.counted, HOUR, "only Friday 16-17 counted");
        assert_eq!(first.due_at, Some(friday_4pm + (2 * 24 + 20) * HOUR), "Monday 12:00");
    }

    #[test]
    fn a_ticket_created_solved_has_no_resolution_clock_and_policies_without_targets_have_none() {
        let history =
            [Happening::Created { at: 0, status: Status::Solved, priority: Priority::Low }];
        let e = evaluate(&rules(), &Calendar::always(), &history, HOUR);
        assert!(e.clocks.iter().all(|c| c.metric != Metric::Resolution));
        let none = ClockRules {
            targets: [Targets::default(); 4],
            pause_statuses: vec![],
            warn_percent: 0,
        };
        assert!(evaluate(&none, &Calendar::always(), &[created(0)], HOUR).clocks.is_empty());
    }
}
