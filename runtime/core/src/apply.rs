//! Server-side apply configurations: the runtime half.
//!
//! An apply configuration says only the fields its manager owns: every field
//! is optional and an unset field is absent from the JSON (never `null`, never
//! a default), so applying it never claims or clears a field by accident. The
//! generator emits one `*ApplyConfiguration` type per API type with chained
//! `with_*` builders; this module holds the parts every kind shares — the
//! metadata configuration and the generic extract — because `ObjectMeta`
//! itself lives in the runtime.
//!
//! Builder semantics, the same for generated types:
//! - `with_x(value)` sets a scalar or struct field (a later call wins);
//! - maps merge per key (`with_labels([("a", "1")])` twice keeps both keys);
//! - associative and set lists append (`with_containers([a]).with_containers([b])`);
//! - atomic lists replace.

use std::collections::BTreeMap;

use serde::{Serialize, de::DeserializeOwned};

use crate::error::{Error, Result};

/// Apply configuration of [`ObjectMeta`](crate::meta::ObjectMeta): the fields
/// a client may set. Server-owned fields (uid, resourceVersion, timestamps,
/// managedFields) are not here.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ObjectMetaApplyConfiguration {
    /// Name of the object.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Namespace of the object.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// Name prefix for server-generated names.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generate_name: Option<String>,
    /// Labels this manager owns.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labels: Option<BTreeMap<String, String>>,
    /// Annotations this manager owns.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotations: Option<BTreeMap<String, String>>,
    /// Owner references this manager owns (an associative list keyed by uid).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner_references: Option<Vec<OwnerReferenceApplyConfiguration>>,
    /// Finalizers this manager owns (a set).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finalizers: Option<Vec<String>>,
}

impl ObjectMetaApplyConfiguration {
    /// An empty configuration.
    pub fn new() -> Self {
        Self::default()
    }

    /// Set the name.
    pub fn with_name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// Set the namespace.
    pub fn with_namespace(mut self, namespace: impl Into<String>) -> Self {
        self.namespace = Some(namespace.into());
        self
    }

    /// Set the name prefix for server-generated names.
    pub fn with_generate_name(mut self, prefix: impl Into<String>) -> Self {
        self.generate_name = Some(prefix.into());
        self
    }

    /// Add labels, overwriting earlier values of the same keys.
    pub fn with_labels<K: Into<String>, V: Into<String>>(
        mut self,
        entries: impl IntoIterator<Item = (K, V)>,
    ) -> Self {
        merge_map(&mut self.labels, entries);
        self
    }

    /// Add annotations, overwriting earlier values of the same keys.
    pub fn with_annotations<K: Into<String>, V: Into<String>>(
        mut self,
        entries: impl IntoIterator<Item = (K, V)>,
    ) -> Self {
        merge_map(&mut self.annotations, entries);
        self
    }

    /// Append owner references.
    pub fn with_owner_references(
        mut self,
        refs: impl IntoIterator<Item = OwnerReferenceApplyConfiguration>,
    ) -> Self {
        self.owner_references
            .get_or_insert_with(Vec::new)
            .extend(refs);
        self
    }

    /// Append finalizers.
    pub fn with_finalizers<S: Into<String>>(mut self, names: impl IntoIterator<Item = S>) -> Self {
        self.finalizers
            .get_or_insert_with(Vec::new)
            .extend(names.into_iter().map(Into::into));
        self
    }
}

/// Apply configuration of [`OwnerReference`](crate::meta::OwnerReference).
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OwnerReferenceApplyConfiguration {
    /// API version of the owner.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_version: Option<String>,
    /// Kind of the owner.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// Name of the owner.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// UID of the owner (the list key).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uid: Option<String>,
    /// Whether the owner is the managing controller.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub controller: Option<bool>,
    /// Whether the owner's deletion waits for this object (foreground deletion).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub block_owner_deletion: Option<bool>,
}

impl OwnerReferenceApplyConfiguration {
    /// An empty configuration.
    pub fn new() -> Self {
        Self::default()
    }

    /// Set the owner's API version.
    pub fn with_api_version(mut self, v: impl Into<String>) -> Self {
        self.api_version = Some(v.into());
        self
    }

    /// Set the owner's kind.
    pub fn with_kind(mut self, v: impl Into<String>) -> Self {
        self.kind = Some(v.into());
        self
    }

    /// Set the owner's name.
    pub fn with_name(mut self, v: impl Into<String>) -> Self {
        self.name = Some(v.into());
        self
    }

    /// Set the owner's UID.
    pub fn with_uid(mut self, v: impl Into<String>) -> Self {
        self.uid = Some(v.into());
        self
    }

    /// Mark the owner as the managing controller.
    pub fn with_controller(mut self, v: bool) -> Self {
        self.controller = Some(v);
        self
    }

    /// Make the owner's foreground deletion wait for this object.
    pub fn with_block_owner_deletion(mut self, v: bool) -> Self {
        self.block_owner_deletion = Some(v);
        self
    }
}

/// Merge entries into an optional map (the `x-kubernetes-map-type: granular`
/// builder semantics). Generated builders call it too.
pub fn merge_map<K: Into<String>, V: Into<T>, T>(
    map: &mut Option<BTreeMap<String, T>>,
    entries: impl IntoIterator<Item = (K, V)>,
) {
    let map = map.get_or_insert_with(BTreeMap::new);
    for (k, v) in entries {
        map.insert(k.into(), v.into());
    }
}

/// Build the apply configuration `A` holding exactly the fields `manager`
/// owns in `object` through apply on `subresource` (`""` for the main
/// resource, `"status"` for status) — client-go's `Extract<Kind>`.
pub fn extract<O: Serialize, A: DeserializeOwned>(
    object: &O,
    manager: &str,
    subresource: &str,
) -> Result<A> {
    let json = serde_json::to_value(object).map_err(|e| Error::Encode {
        request: format!("extract for manager {manager:?}"),
        source: e,
    })?;
    let owned = crate::managed_fields::extract(&json, manager, subresource)?;
    serde_path_to_error::deserialize(owned).map_err(|e| Error::Decode {
        request: format!("extract for manager {manager:?}"),
        path: e.path().to_string(),
        message: e.into_inner().to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn unset_fields_are_absent() {
        let m = ObjectMetaApplyConfiguration::new().with_name("a");
        assert_eq!(serde_json::to_value(&m).unwrap(), json!({"name": "a"}));
    }

    #[test]
    fn maps_merge_per_key_and_lists_append() {
        let m = ObjectMetaApplyConfiguration::new()
            .with_labels([("a", "1"), ("b", "1")])
            .with_labels([("b", "2")])
            .with_finalizers(["x"])
            .with_finalizers(["y"]);
        assert_eq!(
            serde_json::to_value(&m).unwrap(),
            json!({"labels": {"a": "1", "b": "2"}, "finalizers": ["x", "y"]})
        );
    }

    #[test]
    fn extract_returns_the_managers_fields_typed() {
        let object = json!({
            "apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "c", "namespace": "n", "labels": {"mine": "1", "theirs": "2"},
                "managedFields": [{"manager": "me", "operation": "Apply",
                    "fieldsType": "FieldsV1", "fieldsV1": {"f:metadata": {"f:labels": {"f:mine": {}}}}}]}
        });
        #[derive(serde::Deserialize, Debug, PartialEq)]
        struct Cfg {
            metadata: ObjectMetaApplyConfiguration,
        }
        let cfg: Cfg = extract(&object, "me", "").unwrap();
        let want = ObjectMetaApplyConfiguration::new()
            .with_name("c")
            .with_namespace("n")
            .with_labels([("mine", "1")]);
        assert_eq!(cfg.metadata, want);
    }
}
