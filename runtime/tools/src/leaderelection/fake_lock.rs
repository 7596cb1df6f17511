//! An in-memory [`Lock`] with the API server's optimistic concurrency, for
//! unit tests (the role client-go's tests give the fake clientset).

use std::sync::Arc;

use parking_lot::Mutex;

use super::resourcelock::{LeaderElectionRecord, Lock};
use kubegen_core::error::{ApiError, Error, Result};

/// The "server" several fake locks share.
#[derive(Clone, Default)]
pub(crate) struct FakeServer {
    state: Arc<Mutex<ServerState>>,
}

#[derive(Default)]
struct ServerState {
    /// The stored record and its resource version.
    object: Option<(LeaderElectionRecord, u64)>,
    next_version: u64,
    /// Calls that reached the server, as `verb` strings.
    actions: Vec<&'static str>,
    /// While set, every call fails with 503.
    unavailable: bool,
}

fn api_error(code: u16, request: &str) -> Error {
    Error::Api(Box::new(ApiError::from_code(code, request, "")))
}

impl FakeServer {
    /// Stores `record` as if someone else wrote it.
    pub(crate) fn put(&self, record: LeaderElectionRecord) {
        let mut state = self.state.lock();
        state.next_version += 1;
        let version = state.next_version;
        state.object = Some((record, version));
    }

    pub(crate) fn record(&self) -> Option<LeaderElectionRecord> {
        self.state.lock().object.as_ref().map(|(r, _)| r.clone())
    }

    pub(crate) fn actions(&self) -> Vec<&'static str> {
        self.state.lock().actions.clone()
    }

    pub(crate) fn set_unavailable(&self, unavailable: bool) {
        self.state.lock().unavailable = unavailable;
    }

    pub(crate) fn lock(&self, identity: &str) -> FakeLock {
        FakeLock {
            identity: identity.to_owned(),
            server: self.clone(),
            seen_version: Mutex::new(None),
        }
    }
}

/// One candidate's view of the [`FakeServer`].
pub(crate) struct FakeLock {
    identity: String,
    server: FakeServer,
    /// Version of the object this lock last read or wrote.
    seen_version: Mutex<Option<u64>>,
}

impl Lock for FakeLock {
    async fn get(&self) -> Result<Option<LeaderElectionRecord>> {
        let mut state = self.server.state.lock();
        state.actions.push("get");
        if state.unavailable {
            return Err(api_error(503, "GET lease"));
        }
        match &state.object {
            Some((record, version)) => {
                *self.seen_version.lock() = Some(*version);
                Ok(Some(record.clone()))
            }
            None => {
                *self.seen_version.lock() = None;
                Ok(None)
            }
        }
    }

    async fn create(&self, record: LeaderElectionRecord) -> Result<()> {
        let mut state = self.server.state.lock();
        state.actions.push("create");
        if state.unavailable {
            return Err(api_error(503, "POST lease"));
        }
        if state.object.is_some() {
            return Err(api_error(409, "POST lease"));
        }
        state.next_version += 1;
        let version = state.next_version;
        state.object = Some((record, version));
        *self.seen_version.lock() = Some(version);
        Ok(())
    }

    async fn update(&self, record: LeaderElectionRecord) -> Result<()> {
        let Some(seen) = *self.seen_version.lock() else {
            // Like client-go's LeaseLock: no request without a prior get/create.
            return Err(Error::InvalidRequest(
                "lease not initialized, call get or create first".into(),
            ));
        };
        let mut state = self.server.state.lock();
        state.actions.push("update");
        if state.unavailable {
            return Err(api_error(503, "PUT lease"));
        }
        match &state.object {
            None => Err(api_error(404, "PUT lease")),
            Some((_, version)) if *version != seen => Err(api_error(409, "PUT lease")),
            Some(_) => {
                state.next_version += 1;
                let version = state.next_version;
                state.object = Some((record, version));
                *self.seen_version.lock() = Some(version);
                Ok(())
            }
        }
    }

    fn identity(&self) -> &str {
        &self.identity
    }

    fn describe(&self) -> String {
        "fake/lease".to_owned()
    }
}
