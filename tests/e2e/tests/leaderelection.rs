//! Leader election against the real kube-apiserver (a Lease in `default`).
//!
//! - `released_lease_is_taken_over_within_the_lease_duration`: two candidates
//!   in one process; one leads; cancelling it (release on cancel) hands over to
//!   the other within the lease duration; leadership intervals never overlap;
//!   the Lease on the server names the new holder and counts the transition.
//! - `unreleased_lease_is_taken_over_after_it_expires`: the leader stops
//!   without releasing (as if it crashed); the other waits for the lease to
//!   expire on its own clock, then leads, again without overlap.
//! - `candidate_without_rights_never_leads`: the `limited` user (no RBAC) is
//!   refused by the server (403) and never starts leading.
//!
//! The tests wait for the election's own steps (renewals, reads, refusals),
//! counted by a [`CountingLock`] around each candidate's Lease lock, rather
//! than sleeping for a while.
//!
//! Needs the test cluster: `make cluster-up`, then KUBEGEN_TEST_KUBECONFIG.

use std::sync::Arc;
use std::time::Duration;

use kubegen_api::coordination::v1::Lease;
use kubegen_e2e::leadership::Intervals;
use kubegen_runtime::leaderelection::{
    CancellationToken, LeaderElectionConfig, LeaderElectionRecord, LeaderElector, LeaseLock, Lock,
};
use kubegen_runtime::{Client, Config, DeleteOptions, GetOptions, RestClient};
use tokio::sync::watch;
use tokio::time::Instant;

/// A client for `context` of the test cluster's kubeconfig; panics (fails the
/// test) with the reason when the cluster is not there.
fn rest(context: &str) -> RestClient {
    let path = std::env::var("KUBEGEN_TEST_KUBECONFIG").unwrap_or_else(|_| {
        panic!("KUBEGEN_TEST_KUBECONFIG is not set: start the test cluster with `make cluster-up` and export it (make test does both)")
    });
    let config = Config::from_kubeconfig(&path, Some(context)).unwrap_or_else(|e| {
        panic!("cannot load context {context} from {path}: {e} (is the test cluster up? `make cluster-up`)")
    });
    RestClient::new(config).unwrap_or_else(|e| panic!("cannot build a client from {path}: {e}"))
}

fn unique(prefix: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    format!("{prefix}-{}-{nanos}", std::process::id())
}

fn config(release_on_cancel: bool) -> LeaderElectionConfig {
    LeaderElectionConfig {
        lease_duration: Duration::from_secs(6),
        renew_deadline: Duration::from_secs(4),
        retry_period: Duration::from_secs(1),
        release_on_cancel,
        name: "e2e".into(),
    }
}

/// How a candidate's lock calls ended.
#[derive(Clone, Copy, Debug, Default)]
struct Calls {
    /// Reads the server answered (the lease, or that there is none).
    gets: usize,
    /// Creates and updates the server accepted: acquisitions and renewals.
    writes: usize,
    /// Calls the server refused with 403 Forbidden.
    forbidden: usize,
    /// Any other failure (e.g. a 409 Conflict lost to the other candidate).
    failed: usize,
}

/// A candidate's [`LeaseLock`], counting how its calls ended, so a test can
/// wait for the election's steps.
struct CountingLock {
    inner: LeaseLock,
    calls: watch::Sender<Calls>,
}

impl CountingLock {
    fn new(inner: LeaseLock) -> (Self, watch::Receiver<Calls>) {
        let (calls, rx) = watch::channel(Calls::default());
        (Self { inner, calls }, rx)
    }

    fn count<T>(&self, result: &kubegen_runtime::Result<T>, ok: fn(&mut Calls)) {
        self.calls.send_modify(|c| match result {
            Ok(_) => ok(c),
            Err(e) if e.is_forbidden() => c.forbidden += 1,
            Err(_) => c.failed += 1,
        });
    }
}

impl Lock for CountingLock {
    async fn get(&self) -> kubegen_runtime::Result<Option<LeaderElectionRecord>> {
        let result = self.inner.get().await;
        self.count(&result, |c| c.gets += 1);
        result
    }
    async fn create(&self, record: LeaderElectionRecord) -> kubegen_runtime::Result<()> {
        let result = self.inner.create(record).await;
        self.count(&result, |c| c.writes += 1);
        result
    }
    async fn update(&self, record: LeaderElectionRecord) -> kubegen_runtime::Result<()> {
        let result = self.inner.update(record).await;
        self.count(&result, |c| c.writes += 1);
        result
    }
    fn identity(&self) -> &str {
        self.inner.identity()
    }
    fn describe(&self) -> String {
        self.inner.describe()
    }
}

/// Wait until the counted calls satisfy `done`; fails after `within`.
async fn wait_calls(
    calls: &mut watch::Receiver<Calls>,
    within: Duration,
    what: &str,
    done: impl FnMut(&Calls) -> bool,
) {
    let waited =
        tokio::time::timeout(within, async { calls.wait_for(done).await.map(|_| ()) }).await;
    match waited {
        Ok(Ok(())) => {}
        Ok(Err(_)) => panic!("the lock is gone before: {what}"),
        Err(_) => panic!("not within {within:?}: {what} ({:?})", *calls.borrow()),
    }
}

async fn wait_for_leader(
    electors: &[&Arc<LeaderElector<CountingLock>>],
    within: Duration,
) -> usize {
    let deadline = Instant::now() + within;
    loop {
        if let Some(i) = electors.iter().position(|e| e.is_leader()) {
            return i;
        }
        assert!(
            Instant::now() < deadline,
            "no candidate became leader within {within:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn hand_over(release_on_cancel: bool) {
    let rest = rest("admin");
    let lease_name = unique("kubegen-e2e-le");
    let intervals = Intervals::default();
    let make = |id: &str| {
        let (lock, calls) =
            CountingLock::new(LeaseLock::new(rest.clone(), "default", &lease_name, id));
        let elector =
            LeaderElector::new(config(release_on_cancel), lock, intervals.callbacks(id)).unwrap();
        (Arc::new(elector), calls)
    };
    let ((a, calls_a), (b, calls_b)) = (make("candidate-a"), make("candidate-b"));
    let (cancel_a, cancel_b) = (CancellationToken::new(), CancellationToken::new());
    let run_a = tokio::spawn(Arc::clone(&a).run_shared(cancel_a.clone()));
    let run_b = tokio::spawn(Arc::clone(&b).run_shared(cancel_b.clone()));

    let first = wait_for_leader(&[&a, &b], Duration::from_secs(10)).await;
    let (leader, follower, cancel_leader, run_leader, cancel_follower, run_follower) = if first == 0
    {
        (&a, &b, cancel_a, run_a, cancel_b, run_b)
    } else {
        (&b, &a, cancel_b, run_b, cancel_a, run_a)
    };
    let (mut leader_calls, mut follower_calls) = if first == 0 {
        (calls_a, calls_b)
    } else {
        (calls_b, calls_a)
    };
    // The steady state before the hand-over: the leader renews twice while
    // the other keeps trying (two more reads of the held lease), about two
    // retry periods.
    let renewed = leader_calls.borrow().writes + 2;
    wait_calls(
        &mut leader_calls,
        Duration::from_secs(10),
        "two renewals by the leader",
        |c| c.writes >= renewed,
    )
    .await;
    let looked = follower_calls.borrow().gets + 2;
    wait_calls(
        &mut follower_calls,
        Duration::from_secs(10),
        "two more tries by the follower",
        |c| c.gets >= looked,
    )
    .await;
    assert!(
        leader.is_leader() && !follower.is_leader(),
        "exactly one leads"
    );
    let leader_id = leader.get_leader();
    assert_eq!(
        follower.get_leader(),
        leader_id,
        "the follower sees the leader"
    );

    let leases: Client<Lease> = Client::namespaced(rest.clone(), "default");
    let before = leases
        .get(&lease_name, &GetOptions::default())
        .await
        .unwrap();
    assert_eq!(
        before.spec.as_ref().unwrap().holder_identity.as_deref(),
        Some(leader_id.as_str())
    );
    assert_eq!(
        before.spec.as_ref().unwrap().lease_duration_seconds,
        Some(6)
    );

    let stopped_at = Instant::now();
    cancel_leader.cancel();
    run_leader.await.unwrap();
    wait_for_leader(&[follower], Duration::from_secs(20)).await;
    let took = stopped_at.elapsed();
    eprintln!(
        "release_on_cancel={release_on_cancel}: the follower led {took:?} after the leader stopped"
    );
    let limit = if release_on_cancel {
        // Released: the follower's next try (retry period plus jitter) wins.
        Duration::from_secs(6)
    } else {
        // Not released: the follower sees the leader's last renewal on one of
        // its tries (up to 2.2 retry periods after the stop), waits the lease
        // duration on its own clock, and wins on the next try (up to 2.2 retry
        // periods later): 6 + 2.2 + 2.2 s, plus request time.
        Duration::from_secs(12)
    };
    assert!(took <= limit, "took over after {took:?}, limit {limit:?}");
    if !release_on_cancel {
        assert!(
            took >= Duration::from_secs(4),
            "took over after {took:?}, before the lease could expire"
        );
    }

    let after = leases
        .get(&lease_name, &GetOptions::default())
        .await
        .unwrap();
    assert_eq!(
        after.spec.as_ref().unwrap().holder_identity,
        Some(follower.get_leader().into())
    );
    assert_ne!(follower.get_leader(), leader_id);
    let transitions = |l: &Lease| {
        l.spec
            .as_ref()
            .and_then(|s| s.lease_transitions)
            .unwrap_or_default()
    };
    assert_eq!(
        transitions(&after),
        transitions(&before) + 1,
        "one transition"
    );

    // The new leader holds the lease: it renews it once before it stops.
    let renewed = follower_calls.borrow().writes + 1;
    wait_calls(
        &mut follower_calls,
        Duration::from_secs(10),
        "a renewal by the new leader",
        |c| c.writes >= renewed,
    )
    .await;
    cancel_follower.cancel();
    run_follower.await.unwrap();
    intervals.assert_never_two_leaders();
    let names: Vec<String> = intervals.snapshot().into_iter().map(|i| i.0).collect();
    assert_eq!(names.len(), 2, "each candidate led once: {names:?}");

    leases
        .delete(&lease_name, &DeleteOptions::default())
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn released_lease_is_taken_over_within_the_lease_duration() {
    hand_over(true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreleased_lease_is_taken_over_after_it_expires() {
    hand_over(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn candidate_without_rights_never_leads() {
    let lease_name = unique("kubegen-e2e-le-limited");
    let (lock, mut calls) = CountingLock::new(LeaseLock::new(
        rest("limited"),
        "default",
        &lease_name,
        "nobody",
    ));
    let intervals = Intervals::default();
    let elector =
        Arc::new(LeaderElector::new(config(true), lock, intervals.callbacks("nobody")).unwrap());
    let cancel = CancellationToken::new();
    let run = tokio::spawn(Arc::clone(&elector).run_shared(cancel.clone()));
    // Wait for the refusals themselves (a retry period apart) rather than
    // for a while: leading takes a write the server accepted, and the
    // counts below show there was none, over the candidate's whole run.
    wait_calls(
        &mut calls,
        Duration::from_secs(20),
        "three tries refused with 403",
        |c| c.forbidden >= 3,
    )
    .await;
    assert!(!elector.is_leader());
    cancel.cancel();
    run.await.unwrap();
    let calls = *calls.borrow();
    assert_eq!(calls.writes, 0, "the server accepted a write: {calls:?}");
    assert!(intervals.snapshot().is_empty(), "a forbidden candidate led");
    // And the server holds no such Lease.
    let leases: Client<Lease> = Client::namespaced(rest("admin"), "default");
    assert!(
        leases
            .get_opt(&lease_name, &GetOptions::default())
            .await
            .unwrap()
            .is_none()
    );
}
