//! The reflector's retry delay: client-go's exponential backoff manager as a
//! small, separately testable piece.
//!
//! Each [`next_backoff`](Backoff::next_backoff) returns the current step plus up to
//! `jitter × step` of random jitter, then doubles the step up to `max`. If no
//! backoff was asked for during `reset_after`, the step starts over at
//! `initial`, so a long healthy period forgets old failures. The reflector
//! uses 800 ms → 30 s, factor 2, jitter 1.0, reset after 2 minutes; it never
//! retries without waiting, so a failing server is never hot-looped.

use std::time::Duration;

use tokio::time::Instant;

/// Exponential backoff with jitter and reset.
#[derive(Debug, Clone)]
pub struct Backoff {
    initial: Duration,
    max: Duration,
    factor: f64,
    jitter: f64,
    reset_after: Duration,
    current: Duration,
    last: Option<Instant>,
}

impl Default for Backoff {
    /// The reflector's: 800 ms → 30 s, ×2, jitter 1.0, reset after 2 min.
    fn default() -> Self {
        Self::new(
            Duration::from_millis(800),
            Duration::from_secs(30),
            2.0,
            1.0,
            Duration::from_secs(120),
        )
    }
}

impl Backoff {
    /// A backoff starting at `initial`, multiplied by `factor` up to `max`, with
    /// `jitter` (0 = none, 1 = up to +100 %) and reset after `reset_after` of quiet.
    pub fn new(
        initial: Duration,
        max: Duration,
        factor: f64,
        jitter: f64,
        reset_after: Duration,
    ) -> Self {
        Self {
            initial,
            max,
            factor,
            jitter,
            reset_after,
            current: initial,
            last: None,
        }
    }

    /// The delay before the next attempt.
    pub fn next_backoff(&mut self) -> Duration {
        let now = Instant::now();
        if self
            .last
            .is_some_and(|l| now.duration_since(l) > self.reset_after)
        {
            self.current = self.initial;
        }
        self.last = Some(now);
        let step = self.current;
        self.current = self.current.mul_f64(self.factor).min(self.max);
        if self.jitter > 0.0 {
            step + step.mul_f64(self.jitter * fastrand::f64())
        } else {
            step
        }
    }

    /// Forget past failures.
    pub fn reset(&mut self) {
        self.current = self.initial;
        self.last = None;
    }
}

#[cfg(test)]
mod tests {
    //! The shape of client-go's backoff manager (wait/backoff_test.go):
    //! - `grows_exponentially_to_the_cap`: 800 ms doubling, capped at 30 s.
    //! - `jitter_stays_within_bounds`: step ≤ delay ≤ 2 × step with jitter 1.0.
    //! - `resets_after_quiet_period`: no backoff for `reset_after` → initial again.
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn grows_exponentially_to_the_cap() {
        let mut b = Backoff::new(
            Duration::from_millis(800),
            Duration::from_secs(30),
            2.0,
            0.0,
            Duration::from_secs(120),
        );
        let got: Vec<u128> = (0..8).map(|_| b.next_backoff().as_millis()).collect();
        assert_eq!(got, [800, 1600, 3200, 6400, 12800, 25600, 30000, 30000]);
    }

    #[tokio::test(start_paused = true)]
    async fn jitter_stays_within_bounds() {
        let mut b = Backoff::default();
        let mut step = Duration::from_millis(800);
        for _ in 0..10 {
            let d = b.next_backoff();
            assert!(d >= step && d <= step * 2, "{d:?} outside [{step:?}, 2×]");
            step = (step * 2).min(Duration::from_secs(30));
        }
    }

    #[tokio::test(start_paused = true)]
    async fn resets_after_quiet_period() {
        let mut b = Backoff::new(
            Duration::from_millis(800),
            Duration::from_secs(30),
            2.0,
            0.0,
            Duration::from_secs(120),
        );
        b.next_backoff();
        b.next_backoff();
        assert_eq!(b.next_backoff(), Duration::from_millis(3200));
        tokio::time::advance(Duration::from_secs(121)).await;
        assert_eq!(b.next_backoff(), Duration::from_millis(800));
    }
}
