//! [`PartialObjectMetadata`]: an object's apiVersion, kind and metadata,
//! without its spec or status: what a controller that only needs names,
//! labels, owners or finalizers asks the server for (client-go's metadata
//! client and metadata informers).
//!
//! The server answers in this form when asked with
//! `Accept: ...;as=PartialObjectMetadata;g=meta.k8s.io;v=v1` (and
//! `PartialObjectMetadataList` for lists), in protobuf or JSON, for any
//! resource, custom ones included. `kubegen_client::Client<PartialObjectMetadata>`
//! sends that; a cache of these holds a fraction of what the full objects
//! would take.
//!
//! ```
//! use kubegen_core::PartialObjectMetadata;
//! let m: PartialObjectMetadata = serde_json::from_value(serde_json::json!({
//!     "apiVersion": "v1", "kind": "Pod",
//!     "metadata": {"name": "web", "namespace": "default"},
//!     "spec": {"containers": []}
//! })).unwrap();
//! assert_eq!(m.metadata.name.as_deref(), Some("web"));
//! ```

use compact_str::CompactString;
use serde::{Deserialize, Serialize};

use crate::meta::ObjectMeta;
use crate::resource::{Object, Resource, Scope};
use crate::verbs;

/// An object's type and metadata only (`meta.k8s.io/v1`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct PartialObjectMetadata {
    /// `group/version` of the object.
    #[serde(
        rename = "apiVersion",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub api_version: Option<CompactString>,
    /// Its kind.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<CompactString>,
    /// Standard metadata.
    #[serde(default)]
    pub metadata: ObjectMeta,
}

crate::proto_message! {
    PartialObjectMetadata "k8s.io.apimachinery.pkg.apis.meta.v1.PartialObjectMetadata" {
        1 one<Msg> metadata "metadata",
    }
    absent { api_version, kind }
}

impl Object for PartialObjectMetadata {
    const PROTOBUF: Option<crate::proto::Protobuf<Self>> = Some(
        crate::proto::Protobuf::new().with_type_meta(|o, api_version, kind| {
            o.api_version = Some(api_version.into());
            o.kind = Some(kind.into());
        }),
    );
    const METADATA_ONLY: bool = true;
    fn metadata(&self) -> &ObjectMeta {
        &self.metadata
    }
    fn metadata_mut(&mut self) -> &mut ObjectMeta {
        &mut self.metadata
    }
}

/// Empty: the resource is a run-time value, as for `DynamicObject`.
impl Resource for PartialObjectMetadata {
    const GROUP: &'static str = "";
    const VERSION: &'static str = "";
    const API_VERSION: &'static str = "";
    const KIND: &'static str = "";
    const PLURAL: &'static str = "";
    const SCOPE: Scope = Scope::Namespaced;
}

// The verbs of client-go's metadata client: reads, patches and deletes.
impl verbs::Get for PartialObjectMetadata {}
impl verbs::List for PartialObjectMetadata {}
impl verbs::Watch for PartialObjectMetadata {}
impl verbs::Patch for PartialObjectMetadata {}
impl verbs::Delete for PartialObjectMetadata {}
impl verbs::DeleteCollection for PartialObjectMetadata {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn protobuf_round_trips_with_the_envelopes_type() {
        let m = PartialObjectMetadata {
            api_version: None,
            kind: None,
            metadata: ObjectMeta {
                name: Some("web".into()),
                labels: Some([("app".into(), "web".into())].into()),
                ..Default::default()
            },
        };
        let codec = PartialObjectMetadata::PROTOBUF.unwrap();
        let body = codec.encode_envelope("meta.k8s.io/v1", "PartialObjectMetadata", &m);
        let env = crate::proto::decode_envelope(&body).unwrap();
        let back = codec.decode_envelope(&env).unwrap();
        assert_eq!(back.metadata, m.metadata);
        assert_eq!(back.kind.as_deref(), Some("PartialObjectMetadata"));
        assert_eq!(back.api_version.as_deref(), Some("meta.k8s.io/v1"));
    }
}
