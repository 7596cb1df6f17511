//! A tiny kind for the cache's unit tests, so they need no generated crate.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use kubegen_core::meta::ObjectMeta;
use kubegen_core::resource::{Object, Resource, Scope, object_key};

/// A namespaced test object with one integer of payload.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct TestObj {
    pub metadata: ObjectMeta,
    #[serde(default)]
    pub value: i64,
}

impl Resource for TestObj {
    const GROUP: &'static str = "test.kubegen.io";
    const VERSION: &'static str = "v1";
    const API_VERSION: &'static str = "test.kubegen.io/v1";
    const KIND: &'static str = "TestObj";
    const PLURAL: &'static str = "testobjs";
    const SCOPE: Scope = Scope::Namespaced;
}

impl Object for TestObj {
    fn metadata(&self) -> &ObjectMeta {
        &self.metadata
    }
    fn metadata_mut(&mut self) -> &mut ObjectMeta {
        &mut self.metadata
    }
}

/// `ns/name` with a value; an empty namespace makes a cluster-scoped key.
pub(crate) fn obj(ns: &str, name: &str, value: i64) -> Arc<TestObj> {
    Arc::new(TestObj {
        metadata: ObjectMeta {
            name: Some(name.into()),
            namespace: (!ns.is_empty()).then(|| ns.into()),
            ..ObjectMeta::default()
        },
        value,
    })
}

/// Like [`obj`], with labels.
pub(crate) fn obj_labels(ns: &str, name: &str, labels: &[(&str, &str)]) -> Arc<TestObj> {
    let mut o = Arc::unwrap_or_clone(obj(ns, name, 0));
    o.metadata.labels = Some(
        labels
            .iter()
            .map(|(k, v)| ((*k).into(), (*v).into()))
            .collect(),
    );
    Arc::new(o)
}

/// Sorted copy, for order-independent comparisons.
pub(crate) fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

// ---------------------------------------------------------------------------
// An in-memory API server for one collection, for reflector and informer tests.
// It keeps real resourceVersion semantics (a counter), an event log that can be
// compacted (watches and lists from before it get 410), paging with continue
// tokens, watch-list streaming, and hooks to fail calls or drop watches.
// ---------------------------------------------------------------------------

use std::collections::VecDeque;

use futures::StreamExt;
use parking_lot::Mutex;
use tokio::sync::mpsc;

use kubegen_client::{
    Bookmark, INITIAL_EVENTS_END_ANNOTATION, ObjectList, WatchEvent, WatchStream,
};
use kubegen_core::error::{ApiError, Error, Result};
use kubegen_core::meta::{ListMeta, Status};
use kubegen_core::options::ListOptions;

type EventTx = mpsc::UnboundedSender<Result<WatchEvent<TestObj>>>;

#[derive(Default)]
pub(crate) struct ServerState {
    pub objects: BTreeMap<String, TestObj>,
    pub rv: u64,
    /// (resource version, event) of every change, oldest first.
    log: Vec<(u64, WatchEvent<TestObj>)>,
    /// Versions at or below this are gone.
    pub compacted: u64,
    watchers: Vec<EventTx>,
    /// Watches kept open that get no more events (a dead connection).
    stalled: Vec<EventTx>,
    pub supports_watch_list: bool,
    pub list_calls: Vec<ListOptions>,
    pub watch_calls: Vec<ListOptions>,
    /// Scripted answers of the next calls: `Some(err)` fails, `None` serves.
    pub fail_lists: VecDeque<Option<Error>>,
    pub fail_watches: VecDeque<Option<Error>>,
    /// This many next watches end at once without events.
    pub instant_close_watches: usize,
}

/// Cheap handle; clones share one server.
#[derive(Clone, Default)]
pub(crate) struct FakeServer {
    pub state: Arc<Mutex<ServerState>>,
}

pub(crate) fn api_error(code: u16, reason: &str) -> Error {
    ApiError {
        status: Status {
            code: Some(i32::from(code)),
            reason: Some(reason.into()),
            message: Some(format!("fake {reason}").into()),
            ..Status::default()
        },
        code,
        request: "fake".into(),
    }
    .into()
}

pub(crate) fn gone_status() -> Status {
    Status {
        status: Some("Failure".into()),
        code: Some(410),
        reason: Some("Expired".into()),
        message: Some("too old resource version".into()),
        ..Status::default()
    }
}

pub(crate) fn connection_refused() -> Error {
    Error::Transport {
        request: "GET fake".into(),
        message: "connection refused".into(),
        source: Some(Box::new(std::io::Error::from(
            std::io::ErrorKind::ConnectionRefused,
        ))),
    }
}

impl FakeServer {
    pub fn new() -> Self {
        let s = Self::default();
        s.state.lock().rv = 1;
        s
    }

    fn record(&self, st: &mut ServerState, ev: WatchEvent<TestObj>) {
        st.log.push((st.rv, ev.clone()));
        st.watchers.retain(|w| w.send(Ok(ev.clone())).is_ok());
    }

    /// Create or update `ns/name` with `value`; returns the new resource version.
    pub fn upsert(&self, ns: &str, name: &str, value: i64) -> u64 {
        let mut st = self.state.lock();
        st.rv += 1;
        let mut o = Arc::unwrap_or_clone(obj(ns, name, value));
        o.metadata.resource_version = Some(st.rv.to_string().into());
        let key = object_key(&o.metadata);
        let existed = st.objects.insert(key, o.clone()).is_some();
        let ev = if existed {
            WatchEvent::Modified(o)
        } else {
            WatchEvent::Added(o)
        };
        self.record(&mut st, ev);
        st.rv
    }

    /// Delete `ns/name` if it exists.
    pub fn delete(&self, ns: &str, name: &str) -> bool {
        let mut st = self.state.lock();
        let key = if ns.is_empty() {
            name.to_owned()
        } else {
            format!("{ns}/{name}")
        };
        let Some(mut o) = st.objects.remove(&key) else {
            return false;
        };
        st.rv += 1;
        o.metadata.resource_version = Some(st.rv.to_string().into());
        self.record(&mut st, WatchEvent::Deleted(o));
        true
    }

    /// Forget history up to now: older versions get 410.
    pub fn compact(&self) {
        let mut st = self.state.lock();
        st.compacted = st.rv;
        let cut = st.rv;
        st.log.retain(|(rv, _)| *rv > cut);
    }

    /// End every open watch as if the server closed it.
    pub fn close_watches(&self) {
        self.state.lock().watchers.clear();
    }

    /// Stop delivering to every open watch without closing it, as a
    /// connection that died without a reset.
    pub fn stall_watches(&self) {
        let mut st = self.state.lock();
        let open = std::mem::take(&mut st.watchers);
        st.stalled.extend(open);
    }

    /// Send an event to every open watch (e.g. an ERROR), then close them.
    pub fn error_watches(&self, status: Status) {
        let mut st = self.state.lock();
        for w in st.watchers.drain(..) {
            let _ = w.send(Ok(WatchEvent::Error(status.clone())));
        }
    }

    /// Send a bookmark at the current version to every open watch.
    pub fn bookmark(&self) {
        let st = self.state.lock();
        for w in &st.watchers {
            let _ = w.send(Ok(WatchEvent::Bookmark(Bookmark {
                resource_version: st.rv.to_string(),
                annotations: BTreeMap::new(),
            })));
        }
    }

    pub fn open_watches(&self) -> usize {
        let mut st = self.state.lock();
        st.watchers.retain(|w| !w.is_closed());
        st.watchers.len()
    }

    pub fn list_calls(&self) -> Vec<ListOptions> {
        self.state.lock().list_calls.clone()
    }

    pub fn watch_calls(&self) -> Vec<ListOptions> {
        self.state.lock().watch_calls.clone()
    }

    fn parse_rv(rv: Option<&str>) -> Option<u64> {
        rv.filter(|r| !r.is_empty() && *r != "0")
            .and_then(|r| r.parse().ok())
    }
}

fn stream_of(rx: mpsc::UnboundedReceiver<Result<WatchEvent<TestObj>>>) -> WatchStream<TestObj> {
    futures::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|x| (x, rx)) }).boxed()
}

impl crate::ListerWatcher<TestObj> for FakeServer {
    async fn list(&self, options: &ListOptions) -> Result<ObjectList<TestObj>> {
        let mut st = self.state.lock();
        st.list_calls.push(options.clone());
        if let Some(Some(e)) = st.fail_lists.pop_front() {
            return Err(e);
        }
        // Continue tokens are "<rv>:<offset>"; exact versions below compaction are gone.
        let (at_rv, offset) = match options.continue_.as_deref() {
            Some(token) => {
                let (rv, off) = token.split_once(':').unwrap_or(("0", "0"));
                (rv.parse().unwrap_or(0), off.parse().unwrap_or(0))
            }
            None => (
                Self::parse_rv(options.resource_version.as_deref()).unwrap_or(st.rv),
                0usize,
            ),
        };
        if at_rv < st.compacted {
            return Err(api_error(410, "Expired"));
        }
        let all: Vec<TestObj> = st.objects.values().cloned().collect();
        let limit = options
            .limit
            .filter(|l| *l > 0)
            .map_or(all.len(), |l| l as usize);
        let page: Vec<TestObj> = all.iter().skip(offset).take(limit).cloned().collect();
        let next = offset + page.len();
        Ok(ObjectList {
            metadata: ListMeta {
                resource_version: Some(st.rv.to_string().into()),
                continue_: (next < all.len()).then(|| format!("{}:{next}", st.rv).into()),
                ..ListMeta::default()
            },
            items: page,
        })
    }

    async fn watch(&self, options: &ListOptions) -> Result<WatchStream<TestObj>> {
        let mut st = self.state.lock();
        st.watch_calls.push(options.clone());
        if let Some(Some(e)) = st.fail_watches.pop_front() {
            return Err(e);
        }
        let (tx, rx) = mpsc::unbounded_channel();
        if st.instant_close_watches > 0 {
            st.instant_close_watches -= 1;
            return Ok(stream_of(rx));
        }
        if options.send_initial_events == Some(true) {
            if !st.supports_watch_list {
                return Err(api_error(422, "Invalid"));
            }
            for o in st.objects.values() {
                let _ = tx.send(Ok(WatchEvent::Added(o.clone())));
            }
            let _ = tx.send(Ok(WatchEvent::Bookmark(Bookmark {
                resource_version: st.rv.to_string(),
                annotations: BTreeMap::from([(
                    INITIAL_EVENTS_END_ANNOTATION.to_owned(),
                    "true".to_owned(),
                )]),
            })));
            st.watchers.push(tx);
            return Ok(stream_of(rx));
        }
        let from = Self::parse_rv(options.resource_version.as_deref()).unwrap_or(st.rv);
        if from < st.compacted {
            // The real server answers 200 and sends one ERROR event.
            let _ = tx.send(Ok(WatchEvent::Error(gone_status())));
            return Ok(stream_of(rx));
        }
        for (rv, ev) in &st.log {
            if *rv > from {
                let _ = tx.send(Ok(ev.clone()));
            }
        }
        st.watchers.push(tx);
        Ok(stream_of(rx))
    }
}
