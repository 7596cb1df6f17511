//! Helpers over the generated core/v1 `Event` types the recorder writes.

use kubegen_api::core::v1::{EventSource, ObjectReference};
use kubegen_core::resource::{Object, Resource};

/// Event type for expected, informational events.
pub const EVENT_TYPE_NORMAL: &str = "Normal";
/// Event type for something that may need attention.
pub const EVENT_TYPE_WARNING: &str = "Warning";

/// A reference to `obj` (client-go's `reference.GetReference`).
pub fn object_reference<K: Object + Resource>(obj: &K) -> ObjectReference {
    let meta = obj.metadata();
    ObjectReference {
        api_version: Some(K::API_VERSION.into()),
        kind: Some(K::KIND.into()),
        name: meta.name.clone(),
        namespace: meta.namespace.clone().filter(|ns| !ns.is_empty()),
        uid: meta.uid.clone(),
        resource_version: meta.resource_version.clone(),
        field_path: None,
    }
}

/// An event source naming `component` only.
pub fn event_source(component: impl Into<kubegen_core::CompactString>) -> EventSource {
    EventSource {
        component: Some(component.into()),
        host: None,
    }
}
