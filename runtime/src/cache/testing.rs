//! A tiny kind for the cache's unit tests, so they need no generated crate.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::meta::ObjectMeta;
use crate::resource::{Object, Resource, Scope};

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

/// Like [`obj`], with a resource version.
pub(crate) fn obj_rv(ns: &str, name: &str, value: i64, rv: &str) -> Arc<TestObj> {
    let mut o = Arc::unwrap_or_clone(obj(ns, name, value));
    o.metadata.resource_version = Some(rv.into());
    Arc::new(o)
}

/// Like [`obj`], with labels.
pub(crate) fn obj_labels(ns: &str, name: &str, labels: &[(&str, &str)]) -> Arc<TestObj> {
    let mut o = Arc::unwrap_or_clone(obj(ns, name, 0));
    o.metadata.labels = Some(
        labels
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect::<BTreeMap<_, _>>(),
    );
    Arc::new(o)
}

/// Sorted copy, for order-independent comparisons.
pub(crate) fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}
