use std::fmt;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::resourcelock::{LeaderElectionRecord, Lock};
use kubegen_core::error::{Error, Result, panic_message};
use kubegen_core::meta::MicroTime;

/// Extra random wait of the acquire loop, as a fraction of `retry_period`
/// (client-go's `JitterFactor`).
pub const JITTER_FACTOR: f64 = 1.2;

/// Timing and behaviour of an election (client-go's `LeaderElectionConfig`
/// minus the lock and callbacks, which [`LeaderElector::new`] takes).
#[derive(Clone, Debug)]
pub struct LeaderElectionConfig {
    /// How long candidates wait, after the last observed change of the record,
    /// before taking over. Default 15 s.
    pub lease_duration: Duration,
    /// How long the leader keeps retrying a renewal before it gives up. Default 10 s.
    pub renew_deadline: Duration,
    /// Pause between tries. Default 2 s.
    pub retry_period: Duration,
    /// Release the lock when `run` is cancelled, so the next candidate does not
    /// wait a full lease. Default false.
    pub release_on_cancel: bool,
    /// Name of the election, for logs.
    pub name: String,
}

impl Default for LeaderElectionConfig {
    fn default() -> Self {
        LeaderElectionConfig {
            lease_duration: Duration::from_secs(15),
            renew_deadline: Duration::from_secs(10),
            retry_period: Duration::from_secs(2),
            release_on_cancel: false,
            name: String::new(),
        }
    }
}

impl LeaderElectionConfig {
    /// Checks the relations client-go's `NewLeaderElector` requires.
    pub fn validate(&self) -> Result<()> {
        let invalid = |msg: &str| {
            Err(Error::InvalidRequest(format!(
                "leader election config: {msg}"
            )))
        };
        if self.lease_duration.is_zero() {
            return invalid("lease_duration must be greater than zero");
        }
        if self.renew_deadline.is_zero() {
            return invalid("renew_deadline must be greater than zero");
        }
        if self.retry_period.is_zero() {
            return invalid("retry_period must be greater than zero");
        }
        if self.lease_duration <= self.renew_deadline {
            return invalid("lease_duration must be greater than renew_deadline");
        }
        if self.renew_deadline.as_secs_f64() <= JITTER_FACTOR * self.retry_period.as_secs_f64() {
            return invalid(
                "renew_deadline must be greater than retry_period * 1.2 (the jitter factor)",
            );
        }
        if self.lease_duration.as_secs() < 1 || self.lease_duration.as_secs() > i32::MAX as u64 {
            return invalid(
                "lease_duration must be between 1 s and i32::MAX s (it is stored in whole seconds)",
            );
        }
        Ok(())
    }
}

type StartedFn =
    Box<dyn Fn(CancellationToken) -> Pin<Box<dyn Future<Output = ()> + Send>> + Send + Sync>;

type NewLeaderFn = Box<dyn Fn(&str) + Send + Sync>;

/// What the elector calls on transitions (client-go's `LeaderCallbacks`).
pub struct LeaderCallbacks {
    on_started_leading: StartedFn,
    on_stopped_leading: Box<dyn Fn() + Send + Sync>,
    on_new_leader: Option<NewLeaderFn>,
}

impl fmt::Debug for LeaderCallbacks {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LeaderCallbacks")
            .field("on_new_leader", &self.on_new_leader.is_some())
            .finish_non_exhaustive()
    }
}

impl LeaderCallbacks {
    /// `on_started_leading` runs as its own task when this candidate becomes
    /// leader; its token is cancelled when leadership ends, and it must then
    /// return promptly. `on_stopped_leading` is called when `run` ends, whether
    /// or not this candidate ever led (as in client-go).
    pub fn new<S, Fut, T>(on_started_leading: S, on_stopped_leading: T) -> Self
    where
        S: Fn(CancellationToken) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
        T: Fn() + Send + Sync + 'static,
    {
        LeaderCallbacks {
            on_started_leading: Box::new(move |token| Box::pin(on_started_leading(token))),
            on_stopped_leading: Box::new(on_stopped_leading),
            on_new_leader: None,
        }
    }

    /// Called with the holder's identity whenever the observed leader changes,
    /// including the first one observed and the empty identity after a release.
    pub fn with_on_new_leader(
        mut self,
        on_new_leader: impl Fn(&str) + Send + Sync + 'static,
    ) -> Self {
        self.on_new_leader = Some(Box::new(on_new_leader));
        self
    }
}

/// One candidate in an election.
///
/// Share it with an `Arc` to ask [`is_leader`](Self::is_leader) or
/// [`check`](Self::check) (health) while [`run`](Self::run) is going.
///
/// The election loop (client-go's `tools/leaderelection/leaderelection.go`).
///
/// # How it decides
///
/// Each try ([`LeaderElector`]'s internal `try_acquire_or_renew`) reads the
/// record from the [`Lock`]. When the record differs from the last one seen,
/// the candidate notes the **local monotonic time** of that observation. A
/// record held by someone else counts as live until `lease_duration_seconds`
/// (from the record) have passed on the local clock since the last observed
/// change; only then may the candidate write itself in as holder. The record's
/// own timestamps are written for humans and never compared with the local
/// clock, so the election tolerates any clock *offset* between machines (but
/// not clocks that run at very different *rates*; the ratio of
/// `lease_duration` to `renew_deadline` bounds the tolerated rate difference).
///
/// The leader renews every `retry_period`; a renewal retries every
/// `retry_period` until it succeeds or `renew_deadline` passes, after which the
/// leader stops leading. Because `renew_deadline < lease_duration`, a leader
/// that cannot renew gives up before others may take over. A leader first tries
/// a fast-path update of its own last record; if that fails (someone else
/// wrote), it falls back to read-then-write.
///
/// Like client-go's, this does not *fence*: a process that stalls longer than
/// the lease may briefly overlap with the next leader. Keep guarded work
/// responsive to the cancellation token.
///
/// # Differences from client-go, on purpose
///
/// - `run` waits for the `on_started_leading` future to return (after its token
///   is cancelled) before it releases the lock and calls `on_stopped_leading`,
///   so with `release_on_cancel` the next leader cannot start while the
///   previous one's guarded work is still running.
/// - Callbacks `on_new_leader` and `on_stopped_leading` are called inline and
///   must not block.
/// - A panicking callback does not crash the process (see below); client-go
///   crashes, and the lease then runs out after `lease_duration`.
///
/// # Panics in callbacks
///
/// - `on_started_leading` (building its future, or the future itself): if it
///   panics while this candidate leads, leadership ends at once — renewal
///   stops, the lease is **released** (whatever `release_on_cancel` says, so
///   the next candidate takes over within a retry period instead of a lease),
///   `on_stopped_leading` is called and `run` returns. A leader never keeps
///   renewing with its work dead. The panic is logged as an error. (Returning
///   normally, without a panic, does not end leadership, as in client-go.)
/// - `on_new_leader`: contained. The panic is logged, the election goes on;
///   the callback is called again on the next change of leader.
/// - `on_stopped_leading`: not caught; it runs last in `run`, after the lease
///   was released, so its panic reaches the caller of `run`.
pub struct LeaderElector<L> {
    config: LeaderElectionConfig,
    callbacks: LeaderCallbacks,
    lock: L,
    observed: Mutex<Observed>,
}

impl<L> fmt::Debug for LeaderElector<L> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let observed = self.observed.lock();
        f.debug_struct("LeaderElector")
            .field("config", &self.config)
            .field("leader", &observed.record.holder_identity)
            .finish_non_exhaustive()
    }
}

#[derive(Default)]
struct Observed {
    /// The last record read or written.
    record: LeaderElectionRecord,
    /// Local time `record` was last seen to change; `None` before the first look.
    time: Option<Instant>,
    /// The holder last reported to `on_new_leader`.
    reported_leader: Option<String>,
}

impl<L: Lock> LeaderElector<L> {
    /// A candidate using `lock`, after validating `config`.
    pub fn new(config: LeaderElectionConfig, lock: L, callbacks: LeaderCallbacks) -> Result<Self> {
        config.validate()?;
        Ok(LeaderElector {
            config,
            callbacks,
            lock,
            observed: Mutex::new(Observed::default()),
        })
    }

    /// Campaigns until leader, leads until the lease is lost, `cancel` fires
    /// or `on_started_leading` panics, then (with `release_on_cancel`, and
    /// always after a panic) releases the lock. Returns when leadership is
    /// over or `cancel` fired before it began; a candidate that wants to run
    /// again calls `run` again.
    pub async fn run(&self, cancel: CancellationToken) {
        struct StoppedGuard<'a>(&'a (dyn Fn() + Send + Sync));
        impl Drop for StoppedGuard<'_> {
            fn drop(&mut self) {
                (self.0)();
            }
        }
        let _stopped = StoppedGuard(&*self.callbacks.on_stopped_leading);

        if !self.acquire(&cancel).await {
            return;
        }
        let leading = cancel.child_token();
        let work = std::panic::catch_unwind(AssertUnwindSafe(|| {
            (self.callbacks.on_started_leading)(leading.clone())
        }));
        let panic = match work {
            Ok(work) => self.lead(tokio::spawn(work), &leading).await,
            Err(payload) => Some(panic_message(&*payload)),
        };
        leading.cancel();
        if let Some(message) = &panic {
            tracing::error!(lock = %self.lock.describe(),
                "on_started_leading panicked: {message}; giving up the lease");
        }
        if self.config.release_on_cancel || panic.is_some() {
            self.release().await;
        }
    }

    /// Renews while `work` (the `on_started_leading` task) runs, until the
    /// lease is lost, `leading` is cancelled or `work` panics; then cancels
    /// `leading` and waits for `work` to end. Returns the panic's message if
    /// `work` panicked.
    async fn lead(
        &self,
        mut work: tokio::task::JoinHandle<()>,
        leading: &CancellationToken,
    ) -> Option<String> {
        let mut ended = None;
        {
            let renew = self.renew(leading);
            tokio::pin!(renew);
            tokio::select! {
                () = &mut renew => {}
                joined = &mut work => {
                    let panicked = matches!(&joined, Err(e) if e.is_panic());
                    ended = Some(joined);
                    // Work that returned normally leaves leadership as it is.
                    if !panicked {
                        renew.await;
                    }
                }
            }
        }
        leading.cancel();
        let joined = match ended {
            Some(joined) => joined,
            None => work.await,
        };
        match joined {
            Ok(()) => None,
            Err(e) if e.is_panic() => Some(panic_message(&*e.into_panic())),
            Err(e) => {
                tracing::error!(lock = %self.lock.describe(), "on_started_leading task failed: {e}");
                None
            }
        }
    }

    /// The identity of the last observed leader; empty if none.
    pub fn get_leader(&self) -> String {
        self.observed.lock().record.holder_identity.clone()
    }

    /// Whether the last observed leader is this candidate.
    pub fn is_leader(&self) -> bool {
        self.observed.lock().record.holder_identity == self.lock.identity()
    }

    /// Health check for a leader: an error when it has failed to renew for
    /// longer than `lease_duration + max_tolerable_expired_lease` (a stuck
    /// leader). Non-leaders are always healthy.
    pub fn check(&self, max_tolerable_expired_lease: Duration) -> Result<()> {
        let observed = self.observed.lock();
        if observed.record.holder_identity != self.lock.identity() {
            return Ok(());
        }
        let since = observed.time.map_or(Duration::MAX, |t| t.elapsed());
        if since > self.config.lease_duration + max_tolerable_expired_lease {
            return Err(Error::LeaseNotRenewed {
                election: self.config.name.clone(),
                lock: self.lock.describe(),
                since,
            });
        }
        Ok(())
    }

    /// Tries every `retry_period` (plus jitter) until this candidate leads;
    /// false if `cancel` fired first.
    async fn acquire(&self, cancel: &CancellationToken) -> bool {
        tracing::info!(lock = %self.lock.describe(), "attempting to acquire leader lease");
        loop {
            let acquired = tokio::select! {
                () = cancel.cancelled() => return false,
                acquired = self.try_acquire_or_renew() => acquired,
            };
            self.maybe_report_transition();
            if acquired {
                tracing::info!(lock = %self.lock.describe(), "successfully acquired lease");
                return true;
            }
            let jitter = self
                .config
                .retry_period
                .mul_f64(JITTER_FACTOR * fastrand::f64());
            tokio::select! {
                () = cancel.cancelled() => return false,
                () = tokio::time::sleep(self.config.retry_period + jitter) => {}
            }
        }
    }

    /// Renews every `retry_period` until a renewal fails for `renew_deadline`
    /// or `cancel` fires.
    async fn renew(&self, cancel: &CancellationToken) {
        loop {
            let renewed = tokio::select! {
                () = cancel.cancelled() => return,
                renewed = tokio::time::timeout(self.config.renew_deadline, self.renew_until_success()) => renewed.is_ok(),
            };
            self.maybe_report_transition();
            if !renewed {
                tracing::info!(
                    lock = %self.lock.describe(),
                    "failed to renew lease within {:?}: stopped leading",
                    self.config.renew_deadline
                );
                return;
            }
            tokio::select! {
                () = cancel.cancelled() => return,
                () = tokio::time::sleep(self.config.retry_period) => {}
            }
        }
    }

    async fn renew_until_success(&self) {
        while !self.try_acquire_or_renew().await {
            tokio::time::sleep(self.config.retry_period).await;
        }
    }

    /// Gives the lock up if this candidate holds it: the holder is cleared and
    /// the lease shortened to 1 s so others take over at once.
    async fn release(&self) -> bool {
        let record = {
            let observed = self.observed.lock();
            if observed.record.holder_identity != self.lock.identity() {
                return true;
            }
            let now = MicroTime::now();
            LeaderElectionRecord {
                leader_transitions: observed.record.leader_transitions,
                lease_duration_seconds: 1,
                renew_time: Some(now),
                acquire_time: Some(now),
                ..LeaderElectionRecord::default()
            }
        };
        let deadline = self.config.renew_deadline;
        let mut result = tokio::time::timeout(deadline, self.lock.update(record.clone())).await;
        if let Ok(Err(e)) = &result
            && e.is_conflict()
        {
            // A renewal cut off by the cancellation may have been applied by
            // the server after all, leaving the lock's version stale: re-read,
            // and release only if the lease is still ours.
            match tokio::time::timeout(deadline, self.lock.get()).await {
                Ok(Ok(Some(current))) if current.holder_identity == self.lock.identity() => {
                    result = tokio::time::timeout(deadline, self.lock.update(record.clone())).await;
                }
                _ => {}
            }
        }
        match result {
            Ok(Ok(())) => {
                self.set_observed(record);
                self.maybe_report_transition();
                true
            }
            Ok(Err(e)) => {
                tracing::error!(lock = %self.lock.describe(), "failed to release lock: {e}");
                false
            }
            Err(_) => {
                tracing::error!(lock = %self.lock.describe(), "failed to release lock: timed out");
                false
            }
        }
    }

    fn set_observed(&self, record: LeaderElectionRecord) {
        let mut observed = self.observed.lock();
        observed.record = record;
        observed.time = Some(Instant::now());
    }

    /// Whether the observed record's lease is still running on the local clock.
    fn is_lease_valid(&self, now: Instant) -> bool {
        let observed = self.observed.lock();
        let lease =
            Duration::from_secs(u64::try_from(observed.record.lease_duration_seconds).unwrap_or(0));
        observed.time.is_some_and(|seen| seen + lease > now)
    }

    /// One try: acquire if free or expired, renew if held by us. True on success.
    pub(crate) async fn try_acquire_or_renew(&self) -> bool {
        let now = Instant::now();
        let wall_now = MicroTime::now();
        let lease_seconds = i32::try_from(self.config.lease_duration.as_secs()).unwrap_or(i32::MAX);
        let mut desired = LeaderElectionRecord {
            holder_identity: self.lock.identity().to_owned(),
            lease_duration_seconds: lease_seconds,
            acquire_time: Some(wall_now),
            renew_time: Some(wall_now),
            ..LeaderElectionRecord::default()
        };

        // 1. Fast path: the leader updates its own last record optimistically.
        if self.is_leader() && self.is_lease_valid(now) {
            {
                let observed = self.observed.lock();
                desired.acquire_time = observed.record.acquire_time;
                desired.leader_transitions = observed.record.leader_transitions;
            }
            match self.lock.update(desired.clone()).await {
                Ok(()) => {
                    self.set_observed(desired);
                    return true;
                }
                Err(e) => tracing::warn!(
                    lock = %self.lock.describe(),
                    "optimistic lease update failed, falling back to read-then-write: {e}"
                ),
            }
        }

        // 2. Read the record, or create it.
        let current = match self.lock.get().await {
            Ok(Some(current)) => current,
            Ok(None) => {
                if let Err(e) = self.lock.create(desired.clone()).await {
                    tracing::error!(lock = %self.lock.describe(), "error initially creating the leader election record: {e}");
                    return false;
                }
                self.set_observed(desired);
                return true;
            }
            Err(e) => {
                tracing::error!(lock = %self.lock.describe(), "error retrieving the lock: {e}");
                return false;
            }
        };

        // 3. A changed record restarts the lease on the local clock.
        {
            let mut observed = self.observed.lock();
            if observed.record != current {
                observed.record = current.clone();
                observed.time = Some(Instant::now());
            }
        }
        if !current.holder_identity.is_empty() && self.is_lease_valid(now) && !self.is_leader() {
            tracing::debug!(lock = %self.lock.describe(), holder = %current.holder_identity, "lock is held and has not yet expired");
            return false;
        }

        // 4. Take over (or renew through the slow path).
        if self.is_leader() {
            desired.acquire_time = current.acquire_time;
            desired.leader_transitions = current.leader_transitions;
        } else {
            desired.leader_transitions = current.leader_transitions.saturating_add(1);
        }
        if let Err(e) = self.lock.update(desired.clone()).await {
            tracing::error!(lock = %self.lock.describe(), "failed to update lock: {e}");
            return false;
        }
        self.set_observed(desired);
        true
    }

    /// Calls `on_new_leader` when the observed holder differs from the last reported one.
    pub(crate) fn maybe_report_transition(&self) {
        let leader = {
            let mut observed = self.observed.lock();
            let holder = observed.record.holder_identity.clone();
            if observed.reported_leader.as_ref() == Some(&holder) {
                return;
            }
            observed.reported_leader = Some(holder.clone());
            holder
        };
        if let Some(on_new_leader) = &self.callbacks.on_new_leader
            && let Err(payload) =
                std::panic::catch_unwind(AssertUnwindSafe(|| on_new_leader(&leader)))
        {
            tracing::error!(lock = %self.lock.describe(), leader = %leader,
                "on_new_leader panicked: {}", panic_message(&*payload));
        }
    }

    /// Test hook: start from a given observation, as client-go's tests do.
    #[cfg(test)]
    pub(crate) fn set_observed_for_test(
        &self,
        record: LeaderElectionRecord,
        time: Option<Instant>,
    ) {
        let mut observed = self.observed.lock();
        observed.record = record;
        observed.time = time;
    }

    /// Test hook: the observed record.
    #[cfg(test)]
    pub(crate) fn observed_record(&self) -> LeaderElectionRecord {
        self.observed.lock().record.clone()
    }
}

/// Runs an elector that is shared with others (for health checks).
impl<L: Lock> LeaderElector<L> {
    /// Like [`run`](Self::run) on a shared elector, as a `'static` future to spawn.
    pub async fn run_shared(self: Arc<Self>, cancel: CancellationToken) {
        self.run(cancel).await;
    }
}

#[cfg(test)]
mod tests {
    //! Behaviours from client-go's `leaderelection_test.go` (the fake clientset
    //! becomes [`FakeServer`], which also enforces resourceVersion conflicts):
    //! - `TestTryAcquireOrRenewLeases` cases, one test each:
    //!   "acquire from no object" -> `acquire_from_no_object_creates_it`;
    //!   "acquire from object without annotations", "acquire from unled object",
    //!   "acquire from empty led, acked object" -> `acquire_from_unheld_object`;
    //!   "acquire from led object with the lease duration seconds" ->
    //!   `acquire_from_led_object_after_its_lease_duration`;
    //!   "acquire from led, unacked object" -> `acquire_from_led_unacked_object`;
    //!   "don't acquire from led, acked object" -> `dont_acquire_from_led_acked_object`
    //!   (also shows the record's own times are ignored: clock-skew safety);
    //!   "renew already acquired object" -> `renew_already_acquired_object`
    //!   (fast path without a known version falls back to get + update).
    //! - `TestReleaseLeaseLeases` -> `release_clears_the_holder`,
    //!   `release_after_an_interrupted_renewal_still_releases`
    //! - `TestReleaseOnCancellation_Leases` -> `release_on_cancel_frees_the_lock`
    //! - `NewLeaderElector` validation -> `config_validation_matches_client_go`
    //!
    //! Beyond client-go's list: `lost_lease_stops_leading_within_renew_deadline`,
    //! `two_candidates_never_lead_at_once`, `check_reports_a_stuck_leader`,
    //! `cancel_before_leading_still_calls_on_stopped_leading`,
    //! `panicking_leader_work_gives_up_the_lease` (future and closure),
    //! `panicking_on_new_leader_is_contained`.
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::super::fake_lock::{FakeLock, FakeServer};
    use super::*;

    const SEC: Duration = Duration::from_secs(1);

    struct Recorded {
        leaders: Arc<Mutex<Vec<String>>>,
        started: Arc<AtomicUsize>,
        stopped: Arc<AtomicUsize>,
    }

    fn callbacks() -> (LeaderCallbacks, Recorded) {
        let leaders = Arc::new(Mutex::new(Vec::new()));
        let started = Arc::new(AtomicUsize::new(0));
        let stopped = Arc::new(AtomicUsize::new(0));
        let rec = Recorded {
            leaders: Arc::clone(&leaders),
            started: Arc::clone(&started),
            stopped: Arc::clone(&stopped),
        };
        let callbacks = LeaderCallbacks::new(
            move |token: CancellationToken| {
                let started = Arc::clone(&started);
                async move {
                    started.fetch_add(1, Ordering::SeqCst);
                    token.cancelled().await;
                }
            },
            move || {
                stopped.fetch_add(1, Ordering::SeqCst);
            },
        )
        .with_on_new_leader(move |leader| leaders.lock().push(leader.to_owned()));
        (callbacks, rec)
    }

    fn config() -> LeaderElectionConfig {
        LeaderElectionConfig {
            lease_duration: 10 * SEC,
            renew_deadline: 5 * SEC,
            retry_period: SEC,
            ..LeaderElectionConfig::default()
        }
    }

    fn elector(server: &FakeServer, identity: &str) -> (LeaderElector<FakeLock>, Recorded) {
        let (callbacks, rec) = callbacks();
        let elector = LeaderElector::new(config(), server.lock(identity), callbacks).unwrap();
        (elector, rec)
    }

    fn held_by(holder: &str, seconds: i32) -> LeaderElectionRecord {
        LeaderElectionRecord {
            holder_identity: holder.to_owned(),
            lease_duration_seconds: seconds,
            ..LeaderElectionRecord::default()
        }
    }

    #[tokio::test(start_paused = true)]
    async fn acquire_from_no_object_creates_it() {
        let server = FakeServer::default();
        let (le, rec) = elector(&server, "baz");
        assert!(le.try_acquire_or_renew().await);
        assert_eq!(server.actions(), ["get", "create"]);
        let record = le.observed_record();
        assert_eq!(record.holder_identity, "baz");
        assert_eq!(record.leader_transitions, 0);
        assert_eq!(record.lease_duration_seconds, 10);
        assert_eq!(server.record(), Some(record));
        le.maybe_report_transition();
        assert_eq!(*rec.leaders.lock(), ["baz"]);
    }

    #[tokio::test(start_paused = true)]
    async fn acquire_from_unheld_object() {
        // Unled (empty holder) objects are free whatever was observed when.
        for observed_time in [None, Some(Instant::now() + 1000 * 3600 * SEC)] {
            let server = FakeServer::default();
            server.put(LeaderElectionRecord::default());
            let (le, rec) = elector(&server, "baz");
            le.set_observed_for_test(LeaderElectionRecord::default(), observed_time);
            assert!(le.try_acquire_or_renew().await);
            assert_eq!(server.actions(), ["get", "update"]);
            assert_eq!(le.observed_record().holder_identity, "baz");
            assert_eq!(le.observed_record().leader_transitions, 1, "a transition");
            le.maybe_report_transition();
            assert_eq!(*rec.leaders.lock(), ["baz"]);
        }
    }

    #[tokio::test(start_paused = true)]
    async fn acquire_from_led_object_after_its_lease_duration() {
        let server = FakeServer::default();
        server.put(held_by("bing", 3));
        let (le, _) = elector(&server, "baz");
        assert!(
            !le.try_acquire_or_renew().await,
            "first sight starts the 3 s lease"
        );
        tokio::time::advance(3 * SEC).await;
        assert!(le.try_acquire_or_renew().await);
        assert_eq!(server.actions(), ["get", "get", "update"]);
        assert_eq!(le.observed_record().holder_identity, "baz");
        assert_eq!(le.observed_record().leader_transitions, 1);
    }

    #[tokio::test(start_paused = true)]
    async fn acquire_from_led_unacked_object() {
        let server = FakeServer::default();
        server.put(held_by("bing", 10));
        let (le, rec) = elector(&server, "baz");
        // Seen long ago and unchanged since: the holder stopped renewing.
        le.set_observed_for_test(held_by("bing", 10), Some(Instant::now()));
        tokio::time::advance(11 * SEC).await;
        assert!(le.try_acquire_or_renew().await);
        assert_eq!(server.actions(), ["get", "update"]);
        assert_eq!(le.observed_record().holder_identity, "baz");
        assert_eq!(le.observed_record().leader_transitions, 1);
        le.maybe_report_transition();
        assert_eq!(*rec.leaders.lock(), ["baz"]);
    }

    #[tokio::test(start_paused = true)]
    async fn dont_acquire_from_led_acked_object() {
        let server = FakeServer::default();
        // The holder's own clock says it renewed in 2000: irrelevant, only the
        // change we observe locally counts.
        let ancient = MicroTime("2000-01-01T00:00:00Z".parse().unwrap());
        server.put(LeaderElectionRecord {
            renew_time: Some(ancient),
            acquire_time: Some(ancient),
            ..held_by("bing", 10)
        });
        let (le, rec) = elector(&server, "baz");
        assert!(!le.try_acquire_or_renew().await);
        assert_eq!(server.actions(), ["get"]);
        assert_eq!(le.observed_record().holder_identity, "bing");
        assert_eq!(le.get_leader(), "bing");
        assert!(!le.is_leader());
        le.maybe_report_transition();
        assert_eq!(*rec.leaders.lock(), ["bing"]);
        // Still refused just before the lease runs out on the local clock.
        tokio::time::advance(10 * SEC - Duration::from_millis(1)).await;
        assert!(!le.try_acquire_or_renew().await);
    }

    #[tokio::test(start_paused = true)]
    async fn renew_already_acquired_object() {
        let server = FakeServer::default();
        server.put(held_by("baz", 10));
        let (le, _) = elector(&server, "baz");
        le.set_observed_for_test(held_by("baz", 10), Some(Instant::now()));
        assert!(le.try_acquire_or_renew().await);
        // The optimistic update had no version to send, so only get + update hit the server.
        assert_eq!(server.actions(), ["get", "update"]);
        assert_eq!(le.observed_record().holder_identity, "baz");
        assert_eq!(le.observed_record().leader_transitions, 0, "no transition");
        // Now the fast path works: one update, no get.
        assert!(le.try_acquire_or_renew().await);
        assert_eq!(server.actions(), ["get", "update", "update"]);
    }

    #[tokio::test(start_paused = true)]
    async fn release_clears_the_holder() {
        let server = FakeServer::default();
        let (le, rec) = elector(&server, "baz");
        assert!(le.try_acquire_or_renew().await);
        le.maybe_report_transition();
        assert!(le.release().await);
        assert_eq!(server.actions(), ["get", "create", "update"]);
        let record = server.record().unwrap();
        assert_eq!(record.holder_identity, "");
        assert_eq!(record.lease_duration_seconds, 1);
        assert_eq!(record.leader_transitions, 0);
        assert_eq!(*rec.leaders.lock(), ["baz", ""]);
        // Releasing what we do not hold is a no-op.
        assert!(le.release().await);
        assert_eq!(server.actions().len(), 3);
    }

    #[tokio::test(start_paused = true)]
    async fn release_after_an_interrupted_renewal_still_releases() {
        let server = FakeServer::default();
        let (le, _) = elector(&server, "baz");
        assert!(le.try_acquire_or_renew().await);
        // A renewal the server applied but whose answer never arrived: the
        // record is still ours, its version moved on.
        let mut ours = server.record().unwrap();
        ours.renew_time = Some(MicroTime::now());
        server.put(ours);
        assert!(le.release().await);
        assert_eq!(
            server.actions(),
            ["get", "create", "update", "get", "update"]
        );
        assert_eq!(server.record().unwrap().holder_identity, "");
        // But a lease someone else took meanwhile is left alone.
        assert!(le.try_acquire_or_renew().await);
        server.put(held_by("other", 10));
        assert!(!le.release().await);
        assert_eq!(server.record().unwrap().holder_identity, "other");
    }

    #[tokio::test(start_paused = true)]
    async fn release_on_cancel_frees_the_lock() {
        let server = FakeServer::default();
        let (callbacks, rec) = callbacks();
        let config = LeaderElectionConfig {
            lease_duration: 15 * SEC,
            renew_deadline: 2 * SEC,
            retry_period: SEC,
            release_on_cancel: true,
            name: "test".into(),
        };
        let le = Arc::new(LeaderElector::new(config, server.lock("baz"), callbacks).unwrap());
        let cancel = CancellationToken::new();
        let run = tokio::spawn(Arc::clone(&le).run_shared(cancel.clone()));
        // Lead and renew a few times.
        tokio::time::sleep(5 * SEC).await;
        assert!(le.is_leader());
        assert_eq!(rec.started.load(Ordering::SeqCst), 1);
        assert!(
            server.actions().iter().filter(|a| **a == "update").count() >= 2,
            "renewed"
        );
        cancel.cancel();
        run.await.unwrap();
        let record = server.record().unwrap();
        assert_eq!(record.holder_identity, "", "released");
        assert_eq!(record.lease_duration_seconds, 1);
        assert_eq!(rec.stopped.load(Ordering::SeqCst), 1);
        assert!(!le.is_leader());
    }

    #[tokio::test(start_paused = true)]
    async fn lost_lease_stops_leading_within_renew_deadline() {
        let server = FakeServer::default();
        let (le, rec) = elector(&server, "baz");
        let le = Arc::new(le);
        let run = tokio::spawn(Arc::clone(&le).run_shared(CancellationToken::new()));
        tokio::time::sleep(3 * SEC).await;
        assert!(le.is_leader());
        // Someone else takes the lock from under us (as a partition would let them).
        server.put(held_by("thief", 10));
        let stolen_at = Instant::now();
        run.await.unwrap();
        let stopped_after = stolen_at.elapsed();
        // Next renewal is at most one retry period away, then renew_deadline.
        assert!(
            stopped_after <= 5 * SEC + SEC,
            "stopped after {stopped_after:?}"
        );
        assert_eq!(rec.stopped.load(Ordering::SeqCst), 1);
        assert_eq!(*rec.leaders.lock(), ["baz", "thief"]);
        assert_eq!(
            server.record().unwrap().holder_identity,
            "thief",
            "no release of a lock we lost"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn two_candidates_never_lead_at_once() {
        let server = FakeServer::default();
        type Intervals = Vec<(&'static str, Instant, Option<Instant>)>;
        let intervals: Arc<Mutex<Intervals>> = Arc::default();
        let make = |name: &'static str| {
            let intervals = Arc::clone(&intervals);
            let callbacks = LeaderCallbacks::new(
                move |token: CancellationToken| {
                    let intervals = Arc::clone(&intervals);
                    async move {
                        let index = {
                            let mut list = intervals.lock();
                            list.push((name, Instant::now(), None));
                            list.len() - 1
                        };
                        token.cancelled().await;
                        intervals.lock()[index].2 = Some(Instant::now());
                    }
                },
                || {},
            );
            let config = LeaderElectionConfig {
                release_on_cancel: true,
                ..LeaderElectionConfig::default()
            };
            Arc::new(LeaderElector::new(config, server.lock(name), callbacks).unwrap())
        };
        let (a, b) = (make("a"), make("b"));
        let (cancel_a, cancel_b) = (CancellationToken::new(), CancellationToken::new());
        let run_a = tokio::spawn(Arc::clone(&a).run_shared(cancel_a.clone()));
        tokio::time::sleep(Duration::from_millis(100)).await;
        let run_b = tokio::spawn(Arc::clone(&b).run_shared(cancel_b.clone()));
        tokio::time::sleep(30 * SEC).await;
        assert!(a.is_leader() && !b.is_leader());
        assert_eq!(b.get_leader(), "a");
        let cancelled_at = Instant::now();
        cancel_a.cancel();
        run_a.await.unwrap();
        while !b.is_leader() {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert!(
            cancelled_at.elapsed() <= Duration::from_secs(15),
            "took over within the lease duration"
        );
        tokio::time::sleep(5 * SEC).await;
        cancel_b.cancel();
        run_b.await.unwrap();
        let list = intervals.lock().clone();
        assert_eq!(list.iter().map(|i| i.0).collect::<Vec<_>>(), ["a", "b"]);
        let a_end = list[0].2.unwrap();
        assert!(a_end <= list[1].1, "b started leading before a stopped");
    }

    #[tokio::test(start_paused = true)]
    async fn check_reports_a_stuck_leader() {
        let server = FakeServer::default();
        let (le, _) = elector(&server, "baz");
        assert!(le.check(Duration::ZERO).is_ok(), "a non-leader is healthy");
        assert!(le.try_acquire_or_renew().await);
        assert!(le.check(SEC).is_ok());
        tokio::time::advance(12 * SEC).await;
        let err = le
            .check(SEC)
            .expect_err("11 s past a 10 s lease without renewing");
        assert!(
            matches!(&err, Error::LeaseNotRenewed { since, .. } if *since >= 11 * SEC),
            "{err:?}"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn cancel_before_leading_still_calls_on_stopped_leading() {
        let server = FakeServer::default();
        server.put(held_by("other", 10));
        let server2 = server.clone();
        let (le, rec) = elector(&server2, "baz");
        let cancel = CancellationToken::new();
        let run = le.run(cancel.clone());
        tokio::pin!(run);
        tokio::select! {
            () = &mut run => panic!("cannot acquire a held lease"),
            () = tokio::time::sleep(3 * SEC) => {}
        }
        // Keep the holder's lease fresh so it never expires.
        server.put(held_by("other", 10));
        cancel.cancel();
        run.await;
        assert_eq!(rec.started.load(Ordering::SeqCst), 0);
        assert_eq!(rec.stopped.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn config_validation_matches_client_go() {
        assert!(LeaderElectionConfig::default().validate().is_ok());
        let bad = [
            (
                15,
                15,
                2,
                "lease_duration must be greater than renew_deadline",
            ),
            (
                15,
                10,
                9,
                "renew_deadline must be greater than retry_period",
            ),
            (0, 10, 2, "lease_duration must be greater than zero"),
            (15, 0, 2, "renew_deadline must be greater than zero"),
            (15, 10, 0, "retry_period must be greater than zero"),
        ];
        for (lease, renew, retry, message) in bad {
            let config = LeaderElectionConfig {
                lease_duration: lease * SEC,
                renew_deadline: renew * SEC,
                retry_period: retry * SEC,
                ..LeaderElectionConfig::default()
            };
            let err = config.validate().unwrap_err().to_string();
            assert!(err.contains(message), "{err} should say {message}");
        }
    }

    #[tokio::test(start_paused = true)]
    async fn unavailable_server_is_not_leadership() {
        let server = FakeServer::default();
        server.set_unavailable(true);
        let (le, _) = elector(&server, "baz");
        assert!(!le.try_acquire_or_renew().await);
        server.set_unavailable(false);
        assert!(le.try_acquire_or_renew().await);
    }

    /// Callbacks whose leader work panics: after `after` in the future, or
    /// at once when building it (`after == None`).
    fn panicking_work(after: Option<Duration>) -> (LeaderCallbacks, Recorded) {
        let leaders = Arc::new(Mutex::new(Vec::new()));
        let started = Arc::new(AtomicUsize::new(0));
        let stopped = Arc::new(AtomicUsize::new(0));
        let rec = Recorded {
            leaders: Arc::clone(&leaders),
            started: Arc::clone(&started),
            stopped: Arc::clone(&stopped),
        };
        let callbacks = LeaderCallbacks::new(
            move |_token: CancellationToken| {
                started.fetch_add(1, Ordering::SeqCst);
                let Some(after) = after else {
                    panic!("leader work cannot start");
                };
                async move {
                    tokio::time::sleep(after).await;
                    panic!("leader work failed");
                }
            },
            move || {
                stopped.fetch_add(1, Ordering::SeqCst);
            },
        )
        .with_on_new_leader(move |leader| leaders.lock().push(leader.to_owned()));
        (callbacks, rec)
    }

    #[tokio::test(start_paused = true)]
    async fn panicking_leader_work_gives_up_the_lease() {
        for after in [Some(3 * SEC), None] {
            let server = FakeServer::default();
            let (callbacks, rec) = panicking_work(after);
            // release_on_cancel is off: the panic releases all the same.
            let le = Arc::new(LeaderElector::new(config(), server.lock("baz"), callbacks).unwrap());
            let cancel = CancellationToken::new();
            let run = tokio::spawn(Arc::clone(&le).run_shared(cancel.clone()));
            // Without a cancel, only the panic can end leadership; the paused
            // clock makes this bound cost nothing.
            tokio::time::timeout(60 * SEC, run)
                .await
                .unwrap_or_else(|_| panic!("{after:?}: still leading after the work panicked"))
                .expect("run itself must not panic");
            assert_eq!(rec.started.load(Ordering::SeqCst), 1, "{after:?}");
            assert_eq!(rec.stopped.load(Ordering::SeqCst), 1, "{after:?}");
            let record = server.record().unwrap();
            assert_eq!(record.holder_identity, "", "{after:?}: released");
            assert_eq!(record.lease_duration_seconds, 1, "{after:?}");
            assert!(!le.is_leader(), "{after:?}");
            assert_eq!(*rec.leaders.lock(), ["baz", ""], "{after:?}");
            // And nobody renews it afterwards.
            let actions = server.actions().len();
            tokio::time::sleep(10 * SEC).await;
            assert_eq!(server.actions().len(), actions, "{after:?}");
        }
    }

    #[tokio::test(start_paused = true)]
    async fn panicking_on_new_leader_is_contained() {
        let server = FakeServer::default();
        let started = Arc::new(AtomicUsize::new(0));
        let calls = Arc::new(AtomicUsize::new(0));
        let (s2, c2) = (Arc::clone(&started), Arc::clone(&calls));
        let callbacks = LeaderCallbacks::new(
            move |token: CancellationToken| {
                let started = Arc::clone(&s2);
                async move {
                    started.fetch_add(1, Ordering::SeqCst);
                    token.cancelled().await;
                }
            },
            || {},
        )
        .with_on_new_leader(move |leader| {
            c2.fetch_add(1, Ordering::SeqCst);
            panic!("on_new_leader refuses {leader}");
        });
        let config = LeaderElectionConfig {
            release_on_cancel: true,
            ..config()
        };
        let le = Arc::new(LeaderElector::new(config, server.lock("baz"), callbacks).unwrap());
        let cancel = CancellationToken::new();
        let run = tokio::spawn(Arc::clone(&le).run_shared(cancel.clone()));
        tokio::time::sleep(5 * SEC).await;
        assert!(!run.is_finished(), "the election goes on");
        assert!(le.is_leader());
        assert_eq!(started.load(Ordering::SeqCst), 1);
        cancel.cancel();
        run.await.expect("run must not panic");
        // Called for "baz", then for the release's empty holder.
        assert_eq!(calls.load(Ordering::SeqCst), 2);
        assert_eq!(server.record().unwrap().holder_identity, "");
    }
}
