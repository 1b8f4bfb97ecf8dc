//! Cancelled builds. CodeBuild stops a build with SIGTERM (and a developer with Ctrl-C): a
//! step that started something long-running in AWS (a StackSet operation, an experiment) must
//! get the chance to say what it leaves behind, or stop it, instead of dying mid-wait.

use std::time::Duration;

/// Tells the waits that the build was cancelled (SIGTERM or SIGINT).
#[derive(Debug, Clone)]
pub struct Cancel(tokio::sync::watch::Receiver<bool>);

impl Cancel {
    /// A signal that can be raised by hand (tests), and the handle that raises it.
    pub fn manual() -> (tokio::sync::watch::Sender<bool>, Cancel) {
        let (tx, rx) = tokio::sync::watch::channel(false);
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
            tokio::select! {
                _ = term.recv() => {}
                _ = int.recv() => {}
            }
            let _ = tx.send(true);
        });
        Ok(cancel)
    }

    pub fn is_cancelled(&self) -> bool {
        *self.0.borrow()
    }

    /// Sleeps, or returns early with `true` when the build is cancelled.
    pub async fn sleep(&mut self, duration: Duration) -> bool {
        if self.is_cancelled() {
            return true;
        }
        let sleep = tokio::time::sleep(duration);
        tokio::pin!(sleep);
        tokio::select! {
            _ = &mut sleep => return self.is_cancelled(),
            changed = self.0.changed() => {
                if changed.is_ok() && self.is_cancelled() {
                    return true;
                }
            }
        }
        // Nobody can raise the signal any more (its sender is gone): just wait.
        sleep.await;
        self.is_cancelled()
    }
}
