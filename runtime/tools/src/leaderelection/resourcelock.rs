use std::fmt;
use std::future::Future;

use kubegen_api::coordination::v1::{Lease, LeaseSpec};
use kubegen_client::{Client, RestClient};
use kubegen_core::error::{Error, Result};
use kubegen_core::meta::{MicroTime, ObjectMeta};
use kubegen_core::options::{CreateOptions, GetOptions, UpdateOptions};
use parking_lot::Mutex;

/// What the elected leader writes into the lock (client-go's
/// `LeaderElectionRecord`). Candidates compare whole records to notice that
/// the leader renewed; they never compare its times with their own clock.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LeaderElectionRecord {
    /// The leader's identity; empty when nobody holds the lock.
    pub holder_identity: String,
    /// How long others must see no change before taking over.
    pub lease_duration_seconds: i32,
    /// When the current holder acquired the lock (its wall clock).
    pub acquire_time: Option<MicroTime>,
    /// When the current holder last renewed (its wall clock).
    pub renew_time: Option<MicroTime>,
    /// How many times the lock changed hands.
    pub leader_transitions: i32,
    /// The coordinated leader election strategy, if any.
    pub strategy: Option<String>,
    /// The holder a coordinated election would prefer, if any.
    pub preferred_holder: Option<String>,
}

/// Storage for the [`LeaderElectionRecord`] (client-go's `resourcelock.Interface`);
///.
///
/// The record candidates agree on, and the lock that stores it, as client-go's
/// `tools/leaderelection/resourcelock`.
///
/// A [`Lock`] reads and writes one [`LeaderElectionRecord`]. Its contract is
/// what makes the election safe:
///
/// - `get` returns the record as stored now (`None` when the object does not
///   exist) and remembers the object's version;
/// - `update` writes **only if the object has not changed since this lock last
///   read or wrote it** (optimistic concurrency: the API server's
///   `resourceVersion` check), otherwise it fails. `update` before any
///   successful `get` or `create` fails too.
/// - `create` fails if the object already exists.
///
/// So of two candidates that both saw an expired lease, only one update wins.
///
/// [`LeaseLock`] is the lock on a `coordination.k8s.io/v1` Lease, the only
/// kind client-go still supports. It talks to the API server through the
/// typed [`Client`](kubegen_client::Client) on the generated
/// [`Lease`](kubegen_api::coordination::v1::Lease).
pub trait Lock: Send + Sync + 'static {
    /// The stored record, or `None` if the lock object does not exist.
    fn get(&self) -> impl Future<Output = Result<Option<LeaderElectionRecord>>> + Send;
    /// Creates the lock object holding `record`; fails if it exists.
    fn create(&self, record: LeaderElectionRecord) -> impl Future<Output = Result<()>> + Send;
    /// Replaces the record, failing if the object changed since this lock last saw it.
    fn update(&self, record: LeaderElectionRecord) -> impl Future<Output = Result<()>> + Send;
    /// This candidate's identity, written as the holder when it leads.
    fn identity(&self) -> &str;
    /// A human-readable name of the lock for logs, e.g. `kube-system/my-controller`.
    fn describe(&self) -> String;
}

impl From<&LeaseSpec> for LeaderElectionRecord {
    /// client-go's `LeaseSpecToLeaderElectionRecord`: absent fields read as zero.
    fn from(spec: &LeaseSpec) -> Self {
        LeaderElectionRecord {
            holder_identity: spec
                .holder_identity
                .as_deref()
                .unwrap_or_default()
                .to_owned(),
            lease_duration_seconds: spec.lease_duration_seconds.unwrap_or_default(),
            acquire_time: spec.acquire_time,
            renew_time: spec.renew_time,
            leader_transitions: spec.lease_transitions.unwrap_or_default(),
            strategy: spec.strategy.as_deref().map(str::to_owned),
            preferred_holder: spec.preferred_holder.as_deref().map(str::to_owned),
        }
    }
}

impl From<&LeaderElectionRecord> for LeaseSpec {
    /// client-go's `LeaderElectionRecordToLeaseSpec`.
    fn from(record: &LeaderElectionRecord) -> Self {
        LeaseSpec {
            acquire_time: record.acquire_time,
            holder_identity: Some(record.holder_identity.as_str().into()),
            lease_duration_seconds: Some(record.lease_duration_seconds),
            lease_transitions: Some(record.leader_transitions),
            preferred_holder: record.preferred_holder.as_deref().map(Into::into),
            renew_time: record.renew_time,
            strategy: record.strategy.as_deref().map(Into::into),
        }
    }
}

/// A [`Lock`] on a `coordination.k8s.io/v1` Lease (client-go's `LeaseLock`).
///
/// Updates send the last Lease this lock read or wrote, resourceVersion and
/// all, so the API server rejects a write based on a stale read with 409
/// Conflict.
pub struct LeaseLock {
    client: Client<Lease>,
    namespace: String,
    name: String,
    identity: String,
    /// The Lease as last read or written; `update` builds on it.
    lease: Mutex<Option<Lease>>,
}

impl fmt::Debug for LeaseLock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LeaseLock")
            .field("lease", &self.describe())
            .field("identity", &self.identity)
            .finish_non_exhaustive()
    }
}

impl LeaseLock {
    /// A lock on the Lease `namespace/name`, held as `identity` (which must be
    /// unique among the candidates, e.g. the pod name plus a random suffix).
    pub fn new(rest: RestClient, namespace: &str, name: &str, identity: &str) -> Self {
        LeaseLock {
            client: Client::namespaced(rest, namespace),
            namespace: namespace.to_owned(),
            name: name.to_owned(),
            identity: identity.to_owned(),
            lease: Mutex::new(None),
        }
    }
}

impl Lock for LeaseLock {
    async fn get(&self) -> Result<Option<LeaderElectionRecord>> {
        let lease = self
            .client
            .get_opt(&self.name, &GetOptions::default())
            .await?;
        let record = lease.as_ref().map(|lease| {
            LeaderElectionRecord::from(lease.spec.as_ref().unwrap_or(&LeaseSpec::default()))
        });
        *self.lease.lock() = lease;
        Ok(record)
    }

    async fn create(&self, record: LeaderElectionRecord) -> Result<()> {
        let lease = Lease {
            metadata: ObjectMeta {
                name: Some(self.name.as_str().into()),
                namespace: Some(self.namespace.as_str().into()),
                ..ObjectMeta::default()
            },
            spec: Some(LeaseSpec::from(&record)),
            ..Lease::default()
        };
        let created = self
            .client
            .create(&lease, &CreateOptions::default())
            .await?;
        *self.lease.lock() = Some(created);
        Ok(())
    }

    async fn update(&self, record: LeaderElectionRecord) -> Result<()> {
        let Some(mut lease) = self.lease.lock().clone() else {
            return Err(Error::InvalidRequest(format!(
                "lease {} not initialized: call get or create first",
                self.describe()
            )));
        };
        lease.spec = Some(LeaseSpec::from(&record));
        let updated = self
            .client
            .update(&lease, &UpdateOptions::default())
            .await?;
        *self.lease.lock() = Some(updated);
        Ok(())
    }

    fn identity(&self) -> &str {
        &self.identity
    }

    fn describe(&self) -> String {
        format!("{}/{}", self.namespace, self.name)
    }
}

#[cfg(test)]
mod tests {
    //! Behaviours from client-go's `leaderelection_test.go`:
    //! - `TestLeaseSpecToLeaderElectionRecordRoundTrip` -> `lease_spec_and_record_round_trip`
    //!
    //! Beyond client-go's list: `lease_json_matches_the_api`.
    use super::*;

    #[test]
    fn lease_spec_and_record_round_trip() {
        let now = MicroTime::now();
        let spec = LeaseSpec {
            holder_identity: Some("foo".into()),
            lease_duration_seconds: Some(10),
            acquire_time: Some(now),
            renew_time: Some(now),
            lease_transitions: Some(1),
            ..LeaseSpec::default()
        };
        let record = LeaderElectionRecord::from(&spec);
        let back = LeaseSpec::from(&record);
        assert_eq!(spec, back);
        assert_eq!(record, LeaderElectionRecord::from(&back));
    }

    #[test]
    fn lease_json_matches_the_api() {
        let json = serde_json::json!({
            "apiVersion": "coordination.k8s.io/v1",
            "kind": "Lease",
            "metadata": {"name": "ctrl", "namespace": "kube-system", "resourceVersion": "42"},
            "spec": {
                "holderIdentity": "a",
                "leaseDurationSeconds": 15,
                "acquireTime": "2024-01-02T03:04:05.123456Z",
                "renewTime": "2024-01-02T03:04:06.000001Z",
                "leaseTransitions": 3
            }
        });
        let lease: Lease = serde_json::from_value(json.clone()).unwrap();
        let record = LeaderElectionRecord::from(lease.spec.as_ref().unwrap());
        assert_eq!(record.holder_identity, "a");
        assert_eq!(record.lease_duration_seconds, 15);
        assert_eq!(record.leader_transitions, 3);
        assert_eq!(serde_json::to_value(&lease).unwrap(), json);
    }
}
