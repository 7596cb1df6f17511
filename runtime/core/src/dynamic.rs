//! Untyped objects for kinds known only at run time (client-go's `dynamic`
//! package): [`DynamicObject`] = `apiVersion` + `kind` + [`ObjectMeta`] + the
//! rest of the JSON as a map.
//!
//! A dynamic client is the ordinary `kubegen_client::Client<DynamicObject>`,
//! built with `Client::new_with(rest, api_resource, namespace)` from an
//! [`ApiResource`] (usually found through `kubegen_client::discovery`).
//! `DynamicObject` implements every verb marker, since only the server knows
//! which verbs a resource serves; unsupported ones fail with `MethodNotAllowed`.
//!
//! Its [`Resource`] constants are empty: the typed constructors
//! (`namespaced`, `all`, `cluster`) therefore give a client whose every call
//! fails with a clear error; use `new_with`.
//!
//! ```
//! use kubegen_core::DynamicObject;
//! let d: DynamicObject = serde_json::from_value(serde_json::json!({
//!     "apiVersion": "apps/v1", "kind": "Deployment",
//!     "metadata": {"name": "web"}, "spec": {"replicas": 3},
//! })).unwrap();
//! assert_eq!(d.metadata.name.as_deref(), Some("web"));
//! assert_eq!(d.data["spec"]["replicas"], 3);
//! ```

use serde::{Deserialize, Serialize};

use crate::meta::ObjectMeta;
use crate::resource::{ApiResource, Object, Resource, Scope};
use crate::verbs;

/// An object of any kind.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct DynamicObject {
    /// `group/version` of the object.
    #[serde(
        rename = "apiVersion",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub api_version: Option<String>,
    /// Its kind.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// Standard metadata.
    #[serde(default)]
    pub metadata: ObjectMeta,
    /// Every other top-level field (`spec`, `status`, `data`, ...).
    #[serde(flatten)]
    pub data: serde_json::Value,
}

impl DynamicObject {
    /// An empty object of `resource`'s kind named `name`.
    pub fn new(name: &str, resource: &ApiResource) -> Self {
        Self {
            api_version: Some(resource.api_version()),
            kind: Some(resource.kind.clone()),
            metadata: ObjectMeta {
                name: Some(name.into()),
                ..ObjectMeta::default()
            },
            data: serde_json::Value::Object(serde_json::Map::new()),
        }
    }

    /// Set the namespace.
    pub fn within(mut self, namespace: &str) -> Self {
        self.metadata.namespace = Some(namespace.into());
        self
    }

    /// Set the non-metadata fields (must be a JSON object).
    pub fn data(mut self, data: serde_json::Value) -> Self {
        self.data = data;
        self
    }

    /// Convert into a typed object, naming the JSON path on failure.
    pub fn try_parse<K: serde::de::DeserializeOwned>(self) -> crate::Result<K> {
        let v = serde_json::to_value(&self).map_err(|source| crate::Error::Encode {
            request: format!("convert {:?} {:?}", self.kind, self.metadata.name),
            source,
        })?;
        serde_path_to_error::deserialize(v).map_err(|e| {
            crate::Error::decode(
                format!("convert {:?} {:?}", self.kind, self.metadata.name),
                e,
            )
        })
    }
}

impl Object for DynamicObject {
    fn metadata(&self) -> &ObjectMeta {
        &self.metadata
    }
    fn metadata_mut(&mut self) -> &mut ObjectMeta {
        &mut self.metadata
    }
}

/// Empty: a dynamic object's resource is a run-time value (see module docs).
impl Resource for DynamicObject {
    const GROUP: &'static str = "";
    const VERSION: &'static str = "";
    const API_VERSION: &'static str = "";
    const KIND: &'static str = "";
    const PLURAL: &'static str = "";
    const SCOPE: Scope = Scope::Namespaced;
}

macro_rules! all_verbs {
    ($($v:ident),*) => { $(impl verbs::$v for DynamicObject {})* };
}
all_verbs!(
    Get,
    List,
    Watch,
    Create,
    Update,
    Patch,
    Delete,
    DeleteCollection,
    StrategicMergePatch,
    Status,
    Log,
    EphemeralContainers,
    Resize,
    Exec,
    Attach,
    PortForward
);

impl verbs::Scale for DynamicObject {
    type Scale = DynamicObject;
}
impl verbs::Eviction for DynamicObject {
    type Eviction = DynamicObject;
}
impl verbs::Binding for DynamicObject {
    type Binding = DynamicObject;
}
impl verbs::Token for DynamicObject {
    type TokenRequest = DynamicObject;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_unknown_fields() {
        let text = r#"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"a","namespace":"d"},"data":{"k":"v"},"immutable":true}"#;
        let o: DynamicObject = serde_json::from_str(text).unwrap();
        assert_eq!(o.metadata.name.as_deref(), Some("a"));
        assert_eq!(o.data["data"]["k"], "v");
        let back: serde_json::Value = serde_json::to_value(&o).unwrap();
        assert_eq!(
            back,
            serde_json::from_str::<serde_json::Value>(text).unwrap()
        );
    }
}
