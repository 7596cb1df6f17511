//! The informer invariant the cache tests end with: the informer's store
//! equals a fresh list from the server (names, resourceVersions and data), and
//! a handler that rebuilt the collection from its notifications agrees.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use kubegen_runtime::cache::{DeltaObject, InformerFactory, ResourceEventHandler};
use kubegen_runtime::{Client, ListOptions, Object};

use crate::{ConfigMap, eventually};

/// Name -> (resourceVersion, data) of a collection of ConfigMaps.
pub type State = BTreeMap<String, (String, serde_json::Value)>;

/// The state of `objs`.
pub fn state_of<'a>(objs: impl IntoIterator<Item = &'a ConfigMap>) -> State {
    objs.into_iter()
        .map(|o| {
            (
                o.metadata.name.as_deref().unwrap_or_default().to_owned(),
                (
                    o.metadata
                        .resource_version
                        .as_deref()
                        .unwrap_or_default()
                        .to_owned(),
                    o.rest
                        .get("data")
                        .cloned()
                        .unwrap_or(serde_json::Value::Null),
                ),
            )
        })
        .collect()
}

/// What the server has now.
pub async fn fresh_list(client: &Client<ConfigMap>) -> State {
    let list = client
        .list(&ListOptions::default())
        .await
        .expect("list configmaps");
    state_of(&list.items)
}

/// What the factory's ConfigMap informer holds.
pub fn cached(factory: &InformerFactory) -> State {
    let informer = factory.informer_for::<ConfigMap>();
    let objs = informer.indexer().list();
    state_of(objs.iter().map(|o| o.as_ref()))
}

/// A handler that rebuilds the collection from its notifications.
#[derive(Clone, Default)]
pub struct Mirror {
    state: Arc<Mutex<HashMap<String, Arc<ConfigMap>>>>,
    /// Every delete notification: (name, delivered as a tombstone).
    pub deleted: Arc<Mutex<Vec<(String, bool)>>>,
}

impl ResourceEventHandler<ConfigMap> for Mirror {
    fn on_add(&self, obj: &Arc<ConfigMap>, _initial: bool) {
        let name = obj
            .metadata()
            .name
            .as_deref()
            .unwrap_or_default()
            .to_owned();
        self.state.lock().unwrap().insert(name, obj.clone());
    }
    fn on_update(&self, _old: &Arc<ConfigMap>, new: &Arc<ConfigMap>) {
        let name = new
            .metadata()
            .name
            .as_deref()
            .unwrap_or_default()
            .to_owned();
        self.state.lock().unwrap().insert(name, new.clone());
    }
    fn on_delete(&self, obj: &DeltaObject<ConfigMap>) {
        let name = obj
            .object()
            .metadata()
            .name
            .as_deref()
            .unwrap_or_default()
            .to_owned();
        self.state.lock().unwrap().remove(&name);
        self.deleted
            .lock()
            .unwrap()
            .push((name, obj.is_tombstone()));
    }
}

impl Mirror {
    /// The collection as the handler saw it.
    pub fn snapshot(&self) -> State {
        let m = self.state.lock().unwrap();
        state_of(m.values().map(|o| o.as_ref()))
    }
}

/// Wait until the cache and the mirror both equal a fresh list (nothing
/// lost, nothing extra), taking the list once the cache has caught up.
pub async fn assert_converged(
    factory: &InformerFactory,
    mirror: &Mirror,
    client: &Client<ConfigMap>,
    timeout: Duration,
) {
    let want = fresh_list(client).await;
    eventually(timeout, "cache equals a fresh list", || {
        let got = cached(factory);
        let want = want.clone();
        async move { got == want }
    })
    .await;
    eventually(timeout, "handler mirror equals the cache", || {
        let got = mirror.snapshot();
        let want = want.clone();
        async move { got == want }
    })
    .await;
}
