//! The application's background work, owned in one place: every worker, writer, timer and open
//! socket runs as a task of one [`Tasks`] set, which has one shutdown signal. Shutting down sends
//! the signal, then waits (up to a grace period) until every task has finished its own way: a
//! worker stops between rounds, the chat writer commits and acks what it has accepted, a socket
//! says goodbye. Only then does the caller close the database.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use tokio::sync::{Notify, watch};

use crate::error::Result;

/// A set of tasks with one shutdown signal. Cheap to clone; clones share the set.
#[derive(Clone, Debug)]
pub struct Tasks {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    stop: watch::Sender<bool>,
    running: AtomicUsize,
    finished: Notify,
}

/// Held by a member of the set (a running task, or one about to run); the set counts it until it
/// is dropped.
#[derive(Debug)]
pub struct Member(Arc<Inner>);

impl Drop for Member {
    fn drop(&mut self) {
        if self.0.running.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.0.finished.notify_waiters();
        }
    }
}

impl Default for Tasks {
    fn default() -> Self {
        Self {
            inner: Arc::new(Inner {
                stop: watch::channel(false).0,
                running: AtomicUsize::new(0),
                finished: Notify::new(),
            }),
        }
    }
}

impl Tasks {
    /// Runs `task` on the runtime as a member of the set.
    pub fn spawn(&self, task: impl Future<Output = ()> + Send + 'static) {
        let member = self.join();
        tokio::spawn(async move {
            task.await;
            drop(member);
        });
    }

    /// Counts work that has not started yet as a member of the set until the returned handle is
    /// dropped: an accepted WebSocket handshake, say, from before its upgrade completes (so
    /// shutdown cannot slip between the handshake and the socket's task).
    pub fn join(&self) -> Member {
        self.inner.running.fetch_add(1, Ordering::AcqRel);
        Member(self.inner.clone())
    }

    /// Sends the shutdown signal without waiting: every member starts finishing its work.
    pub fn stop(&self) {
        self.inner.stop.send_replace(true);
    }

    /// Resolves once shutdown has begun (at once if it has).
    pub async fn stopping(&self) {
        let mut stop = self.inner.stop.subscribe();
        // An error means the sender is gone, which cannot happen while `self` holds it.
        let _ = stop.wait_for(|stopping| *stopping).await;
    }

    /// Whether shutdown has begun.
    pub fn is_stopping(&self) -> bool {
        *self.inner.stop.borrow()
    }

    /// How many tasks are running.
    pub fn running(&self) -> usize {
        self.inner.running.load(Ordering::Acquire)
    }

    /// Sends the shutdown signal and waits until every task has finished, for at most `grace`.
    /// Returns how many were still running when the grace period ran out (they are abandoned).
    pub async fn shut_down(&self, grace: Duration) -> usize {
        self.stop();
        let all_finished = async {
            loop {
                let finished = self.inner.finished.notified();
                if self.running() == 0 {
                    return;
                }
                finished.await;
            }
        };
        match tokio::time::timeout(grace, all_finished).await {
            Ok(()) => 0,
            Err(_) => self.running(),
        }
    }

    /// Runs a follower of a change log (or any repeated round of work) until shutdown: `round`
    /// returns how many entries it handled; the next round starts at once while there is work,
    /// after `idle` when there was none, and after a longer pause when it failed (logged with the
    /// follower's `name`). Shutdown is noticed between rounds, never in the middle of one.
    pub fn follow<F, R>(&self, name: &'static str, idle: Duration, mut round: F)
    where
        F: FnMut() -> R + Send + 'static,
        R: Future<Output = Result<usize>> + Send,
    {
        let tasks = self.clone();
        self.spawn(async move {
            while !tasks.is_stopping() {
                let rest = match round().await {
                    Ok(0) => idle,
                    Ok(_) => Duration::ZERO,
                    Err(e) => {
                        e.log();
                        tracing::warn!(follower = name, "a round failed; retrying");
                        idle.saturating_mul(10).max(Duration::from_secs(1))
                    }
                };
                if rest.is_zero() {
                    tokio::task::yield_now().await;
                } else {
                    tokio::select! {
                        () = tokio::time::sleep(rest) => {}
                        () = tasks.stopping() => {}
                    }
                }
            }
            tracing::debug!(follower = name, "stopped");
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn shutting_down_waits_for_tasks_to_finish_their_work() {
        let tasks = Tasks::default();
        let (done, mut finished) = tokio::sync::mpsc::unbounded_channel();
        let stopper = tasks.clone();
        tasks.spawn(async move {
            stopper.stopping().await;
            tokio::time::sleep(Duration::from_millis(50)).await;
            let _ = done.send("drained");
        });

        let abandoned = tasks.shut_down(Duration::from_secs(5)).await;

        assert_eq!(abandoned, 0);
        assert_eq!(finished.try_recv().ok(), Some("drained"));
    }

    #[tokio::test]
    async fn a_task_that_ignores_the_signal_is_abandoned_after_the_grace_period() {
        let tasks = Tasks::default();
        tasks.spawn(std::future::pending());

        let abandoned = tasks.shut_down(Duration::from_millis(50)).await;

        assert_eq!(abandoned, 1);
    }

    #[tokio::test]
    async fn a_follower_runs_rounds_until_shutdown() {
        let tasks = Tasks::default();
        let rounds = Arc::new(AtomicUsize::new(0));
        let counted = rounds.clone();
        tasks.follow("test", Duration::from_millis(5), move || {
            let counted = counted.clone();
            async move { Ok(usize::from(counted.fetch_add(1, Ordering::AcqRel) < 3)) }
        });
        tokio::time::sleep(Duration::from_millis(100)).await;

        let abandoned = tasks.shut_down(Duration::from_secs(5)).await;

        assert_eq!(abandoned, 0);
        assert!(rounds.load(Ordering::Acquire) > 4, "rounds go on while idle");
    }
}
