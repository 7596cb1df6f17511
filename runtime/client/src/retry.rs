//! Retrying an optimistic-concurrency update, as client-go's `util/retry`.
//!
//! A controller that reads an object, changes it and writes it back gets a
//! 409 Conflict when anyone else (often another controller) wrote in between.
//! The cure is to read again and redo the change; [`retry_on_conflict`] runs
//! such a read-modify-write closure until it succeeds, fails otherwise, or the
//! attempts run out.
//!
//! ```no_run
//! # async fn demo(deployments: kubegen_client::Client<kubegen_core::DynamicObject>) -> kubegen_core::Result<()> {
//! use kubegen_client::retry::{retry_on_conflict, DEFAULT_RETRY};
//! use kubegen_core::{GetOptions, UpdateOptions};
//! retry_on_conflict(DEFAULT_RETRY, || async {
//!     let mut d = deployments.get("web", &GetOptions::default()).await?;
//!     d.metadata.labels.get_or_insert_default().insert("tier".into(), "front".into());
//!     deployments.update(&d, &UpdateOptions::default()).await
//! })
//! .await?;
//! # Ok(()) }
//! ```

use std::future::Future;
use std::time::Duration;

use kubegen_core::error::{Error, Result};

/// How often and how patiently to retry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retry {
    /// Attempts in all, the first included (at least one is always made).
    pub attempts: u32,
    /// Wait before the second attempt; each later wait doubles it.
    pub delay: Duration,
    /// The longest single wait.
    pub max_delay: Duration,
}

/// client-go's `retry.DefaultRetry` in spirit: five quick attempts, for
/// conflicts that clear as soon as the other writer is done.
pub const DEFAULT_RETRY: Retry = Retry {
    attempts: 5,
    delay: Duration::from_millis(10),
    max_delay: Duration::from_millis(10),
};

/// client-go's `retry.DefaultBackoff`: more attempts, growing waits, for a
/// busy object (one a controller keeps writing).
pub const DEFAULT_BACKOFF: Retry = Retry {
    attempts: 8,
    delay: Duration::from_millis(10),
    max_delay: Duration::from_secs(1),
};

/// Runs `attempt` until it returns something other than a 409 Conflict, at most
/// `retry.attempts` times, waiting between attempts. The last conflict is
/// returned if every attempt conflicts.
pub async fn retry_on_conflict<T, F, Fut>(retry: Retry, attempt: F) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T>>,
{
    retry_on(retry, Error::is_conflict, attempt).await
}

/// As [`retry_on_conflict`], for any error `retriable` says yes to.
pub async fn retry_on<T, F, Fut>(
    retry: Retry,
    retriable: impl Fn(&Error) -> bool,
    mut attempt: F,
) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T>>,
{
    let mut delay = retry.delay;
    let mut left = retry.attempts.max(1);
    loop {
        left -= 1;
        match attempt().await {
            Err(e) if left > 0 && retriable(&e) => {
                tokio::time::sleep(delay.min(retry.max_delay)).await;
                delay = delay.saturating_mul(2);
            }
            done => return done,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;

    use super::*;
    use kubegen_core::error::ApiError;
    use kubegen_core::meta::Status;

    fn conflict() -> Error {
        Error::Api(Box::new(ApiError {
            status: Status {
                code: Some(409),
                reason: Some("Conflict".into()),
                ..Status::default()
            },
            code: 409,
            request: "PUT /api/v1/namespaces/n/configmaps/c".into(),
        }))
    }

    #[tokio::test(start_paused = true)]
    async fn retries_conflicts_until_success() {
        let calls = Cell::new(0);
        let got = retry_on_conflict(DEFAULT_RETRY, || async {
            calls.set(calls.get() + 1);
            if calls.get() < 3 {
                Err(conflict())
            } else {
                Ok(calls.get())
            }
        })
        .await
        .unwrap();
        assert_eq!(got, 3);
    }

    #[tokio::test(start_paused = true)]
    async fn gives_up_after_the_attempts_with_the_last_conflict() {
        let calls = Cell::new(0);
        let err = retry_on_conflict(DEFAULT_BACKOFF, || async {
            calls.set(calls.get() + 1);
            Err::<(), _>(conflict())
        })
        .await
        .unwrap_err();
        assert!(err.is_conflict());
        assert_eq!(calls.get(), DEFAULT_BACKOFF.attempts);
    }

    #[tokio::test(start_paused = true)]
    async fn other_errors_are_returned_at_once() {
        let calls = Cell::new(0);
        let err = retry_on_conflict(DEFAULT_RETRY, || async {
            calls.set(calls.get() + 1);
            Err::<(), _>(Error::Config("no".into()))
        })
        .await
        .unwrap_err();
        assert!(!err.is_conflict());
        assert_eq!(calls.get(), 1);
    }
}
