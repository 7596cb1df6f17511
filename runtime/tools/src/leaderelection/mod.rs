//! Leader election on `coordination.k8s.io/v1` Leases, as client-go's
//! `tools/leaderelection`.
//!
//! Several replicas of a controller run a [`LeaderElector`] against the same
//! Lease; one leads (its `on_started_leading` future runs with a cancellation
//! token), the others wait and take over when the leader stops renewing or
//! releases the lease. Timing follows client-go: lease duration 15 s, renew
//! deadline 10 s, retry period 2 s by default; decisions use only the local
//! monotonic clock, never the timestamps in the Lease (see
//! [`leader_elector`](self::LeaderElector) for the algorithm and its limits).
//!
//! The storage is a [`Lock`]; [`LeaseLock`] is the one on a real Lease.

mod leader_elector;
mod resourcelock;

#[cfg(test)]
mod fake_lock;

pub use leader_elector::{JITTER_FACTOR, LeaderCallbacks, LeaderElectionConfig, LeaderElector};
/// The token `on_started_leading` receives and `run` takes (tokio-util's).
pub use tokio_util::sync::CancellationToken;

pub use resourcelock::{LeaderElectionRecord, LeaseLock, Lock};
