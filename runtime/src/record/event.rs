//! The core/v1 `Event` kind and its parts, reduced to what the recorder writes
//! and reads back. Hand-written because the runtime cannot depend on the
//! generated crate; field names and JSON shapes are the API's.

use serde::{Deserialize, Serialize};

use crate::meta::{MicroTime, ObjectMeta, Time};
use crate::resource::{Object, Resource, Scope};
use crate::verbs;

/// Event type for expected, informational events.
pub const EVENT_TYPE_NORMAL: &str = "Normal";
/// Event type for something that may need attention.
pub const EVENT_TYPE_WARNING: &str = "Warning";

/// A pointer to the object an event is about (core/v1 `ObjectReference`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ObjectReference {
    /// API version of the referent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_version: Option<String>,
    /// A path into the referent, e.g. `spec.containers{web}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field_path: Option<String>,
    /// Kind of the referent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// Name of the referent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Namespace of the referent; absent for cluster-scoped objects.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// Resource version of the referent when the reference was taken.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_version: Option<String>,
    /// UID of the referent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uid: Option<String>,
}

impl ObjectReference {
    /// A reference to `obj` (client-go's `reference.GetReference`).
    pub fn from_object<K: Object + Resource>(obj: &K) -> Self {
        let meta = obj.metadata();
        ObjectReference {
            api_version: Some(K::API_VERSION.to_owned()),
            kind: Some(K::KIND.to_owned()),
            name: meta.name.clone(),
            namespace: meta.namespace.clone().filter(|ns| !ns.is_empty()),
            uid: meta.uid.clone(),
            resource_version: meta.resource_version.clone(),
            field_path: None,
        }
    }
}

/// Who reports an event (core/v1 `EventSource`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EventSource {
    /// The component reporting, e.g. `sample-controller`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub component: Option<String>,
    /// The node or instance, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
}

impl EventSource {
    /// A source naming `component` only.
    pub fn new(component: impl Into<String>) -> Self {
        EventSource {
            component: Some(component.into()),
            host: None,
        }
    }
}

/// A core/v1 Event, as the recorder writes it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Event {
    /// Always `v1`.
    #[serde(default)]
    pub api_version: String,
    /// Always `Event`.
    #[serde(default)]
    pub kind: String,
    /// Standard object metadata.
    #[serde(default)]
    pub metadata: ObjectMeta,
    /// What kind of action was taken or failed, if the event is about one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action: Option<String>,
    /// How many times this event occurred.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<i32>,
    /// When the event was first seen, for series written by the events API.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_time: Option<MicroTime>,
    /// When the event was first recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_timestamp: Option<Time>,
    /// The object the event is about.
    #[serde(default)]
    pub involved_object: ObjectReference,
    /// When the most recent occurrence was recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_timestamp: Option<Time>,
    /// Human-readable description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// Short, machine-readable reason in UpperCamelCase.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The controller that emitted the event.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reporting_component: Option<String>,
    /// The instance of that controller.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reporting_instance: Option<String>,
    /// The component reporting the event.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<EventSource>,
    /// `Normal` or `Warning`.
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub type_: Option<String>,
}

impl Resource for Event {
    const GROUP: &'static str = "";
    const VERSION: &'static str = "v1";
    const API_VERSION: &'static str = "v1";
    const KIND: &'static str = "Event";
    const PLURAL: &'static str = "events";
    const SCOPE: Scope = Scope::Namespaced;
}

impl Object for Event {
    fn metadata(&self) -> &ObjectMeta {
        &self.metadata
    }
    fn metadata_mut(&mut self) -> &mut ObjectMeta {
        &mut self.metadata
    }
}

impl verbs::Get for Event {}
impl verbs::List for Event {}
impl verbs::Watch for Event {}
impl verbs::Create for Event {}
impl verbs::Update for Event {}
impl verbs::Patch for Event {}
impl verbs::Delete for Event {}
impl verbs::DeleteCollection for Event {}
