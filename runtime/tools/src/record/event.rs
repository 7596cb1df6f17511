//! Helpers over the generated core/v1 `Event` types the recorder writes.

use kubegen_api::core::v1::{EventSource, ObjectReference};
use kubegen_core::resource::{Object, Resource};

/// Event type for expected, informational events.
pub const EVENT_TYPE_NORMAL: &str = "Normal";
/// Event type for something that may need attention.
pub const EVENT_TYPE_WARNING: &str = "Warning";

/// Whether `type_` is `Normal` or `Warning`; logs the event (by `reason`)
/// as dropped when it is not, as client-go does.
pub(crate) fn valid_event_type(type_: &str, reason: &str) -> bool {
    let valid = type_ == EVENT_TYPE_NORMAL || type_ == EVENT_TYPE_WARNING;
    if !valid {
        tracing::error!(
            r#type = type_,
            reason,
            "unsupported event type: event dropped"
        );
    }
    valid
}

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

/// A fresh event name for an event about the object `object_name`:
/// `<object_name>.<nanoseconds, hex>`, as client-go names them.
pub(crate) fn event_name(object_name: &str) -> kubegen_core::CompactString {
    kubegen_core::format_compact!("{object_name}.{:x}", jiff::Timestamp::now().as_nanosecond())
}

/// An event source naming `component` only.
pub fn event_source(component: impl Into<kubegen_core::CompactString>) -> EventSource {
    EventSource {
        component: Some(component.into()),
        host: None,
    }
}
