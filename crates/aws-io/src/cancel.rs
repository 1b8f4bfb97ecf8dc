//! Cancelled builds. CodeBuild stops a build with SIGTERM (and a developer with Ctrl-C): a
//! step that started something long-running in AWS (a StackSet operation, an experiment) must
//! get the chance to say what it leaves behind, or stop it, instead of dying mid-wait. A
//! second signal means "now": the waits that follow a cancel give up at once.

use std::time::Duration;

/// Tells the waits that the build was cancelled (SIGTERM or SIGINT), and how many times.
#[derive(Debug, Clone)]
pub struct Cancel(tokio::sync::watch::Receiver<u32>);

impl Cancel {
    /// A signal that can be raised by hand (tests): send the number of signals so far.
    pub fn manual() -> (tokio::sync::watch::Sender<u32>, Cancel) {
        let (tx, rx) = tokio::sync::watch::channel(0);
        (tx, Cancel(rx))
    }

    /// Raised by SIGTERM (how CodeBuild stops a build) or SIGINT. Installed before any
    /// operation starts, so a stop never kills the process between two calls.
    pub fn on_signals() -> Result<Cancel, crate::AwsError> {
        use tokio::signal::unix::{signal, SignalKind};
        let install = |kind| {
            signal(kind)
                .map_err(|e| crate::AwsError::Environment(format!("cannot handle signals: {e}")))
        };
        let mut term = install(SignalKind::terminate())?;
        let mut int = install(SignalKind::interrupt())?;
        let (tx, cancel) = Cancel::manual();
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = int.recv() => {}
                }
                tx.send_modify(|signals| *signals = signals.saturating_add(1));
            }
        });
        Ok(cancel)
    }

    pub fn is_cancelled(&self) -> bool {
        *self.0.borrow() >= 1
    }

    /// Whether a second signal came: the wait after a cancel must end now.
    pub fn is_forced(&self) -> bool {
        *self.0.borrow() >= 2
    }

    /// Sleeps, or returns early with `true` when the build is cancelled.
    pub async fn sleep(&mut self, duration: Duration) -> bool {
        self.sleep_until(duration, Cancel::is_cancelled).await
    }

    /// Sleeps after a cancel, or returns early with `true` on a second signal.
    pub async fn sleep_unless_forced(&mut self, duration: Duration) -> bool {
        self.sleep_until(duration, Cancel::is_forced).await
    }

    async fn sleep_until(&mut self, duration: Duration, done: fn(&Cancel) -> bool) -> bool {
        if done(self) {
            return true;
        }
        let sleep = tokio::time::sleep(duration);
        tokio::pin!(sleep);
        loop {
            tokio::select! {
                _ = &mut sleep => return done(self),
                changed = self.0.changed() => {
                    if changed.is_err() {
                        // Nobody can raise the signal any more (its sender is gone): just wait.
                        sleep.await;
                        return done(self);
                    }
                    if done(self) {
                        return true;
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn the_first_signal_cancels_and_the_second_forces() {
        let (tx, mut cancel) = Cancel::manual();
        assert!(!cancel.sleep(Duration::from_secs(1)).await);
        tx.send(1).unwrap();
        assert!(cancel.sleep(Duration::from_secs(60)).await);
        assert!(!cancel.sleep_unless_forced(Duration::from_secs(1)).await);
        let waiter = tokio::spawn(async move {
            let started = tokio::time::Instant::now();
            let forced = cancel.sleep_unless_forced(Duration::from_secs(3600)).await;
            (forced, started.elapsed())
        });
        tokio::time::sleep(Duration::from_secs(5)).await;
        tx.send(2).unwrap();
        let (forced, waited) = waiter.await.unwrap();
        assert!(forced);
        assert!(waited < Duration::from_secs(10), "{waited:?}");
    }
}
