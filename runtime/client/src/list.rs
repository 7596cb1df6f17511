//! `ObjectList<K>`: the body of a list response.

use serde::{Deserialize, Serialize};

use kubegen_core::meta::ListMeta;

/// A page of objects with the list's metadata (`resourceVersion` to watch
/// from, `continue` to fetch the next page).
///
/// `apiVersion` and `kind` of the list itself are accepted and ignored on
/// decode, and not written on encode: the typed client knows them.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(bound(
    deserialize = "K: serde::de::DeserializeOwned",
    serialize = "K: Serialize"
))]
pub struct ObjectList<K> {
    /// List metadata.
    #[serde(default)]
    pub metadata: ListMeta,
    /// The objects. The server sends `null` for an empty list of some kinds.
    #[serde(default, deserialize_with = "null_as_empty")]
    pub items: Vec<K>,
}

impl<K> ObjectList<K> {
    /// The resource version the list was served at.
    pub fn resource_version(&self) -> Option<&str> {
        self.metadata.resource_version.as_deref()
    }

    /// The continue token, when there are more pages.
    pub fn continue_token(&self) -> Option<&str> {
        self.metadata.continue_.as_deref().filter(|c| !c.is_empty())
    }
}

impl<K> IntoIterator for ObjectList<K> {
    type Item = K;
    type IntoIter = std::vec::IntoIter<K>;
    fn into_iter(self) -> Self::IntoIter {
        self.items.into_iter()
    }
}

fn null_as_empty<'de, D, K>(d: D) -> Result<Vec<K>, D::Error>
where
    D: serde::Deserializer<'de>,
    K: serde::de::DeserializeOwned,
{
    Ok(Option::<Vec<K>>::deserialize(d)?.unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn null_items_decode_as_empty() {
        let l: ObjectList<serde_json::Value> =
            serde_json::from_str(r#"{"kind":"PodList","apiVersion":"v1","metadata":{"resourceVersion":"9"},"items":null}"#)
                .unwrap();
        assert!(l.items.is_empty());
        assert_eq!(l.resource_version(), Some("9"));
        assert_eq!(l.continue_token(), None);
    }
}
