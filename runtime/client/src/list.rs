//! `ObjectList<K>`: the body of a list response.

use serde::{Deserialize, Serialize};

use kubegen_core::meta::ListMeta;
use kubegen_core::proto;

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

impl<K: kubegen_core::Object> ObjectList<K> {
    /// Decodes a list the server answered in protobuf (the `k8s\0`
    /// envelope around `{ metadata = 1; repeated items = 2 }`), for a kind
    /// that speaks protobuf.
    pub fn from_protobuf(body: &[u8]) -> Result<Self, proto::DecodeError> {
        let codec =
            K::PROTOBUF.ok_or_else(|| proto::DecodeError::new("this kind has no protobuf form"))?;
        let mut buf = proto::decode_envelope(body)?.raw;
        let mut metadata = ListMeta::default();
        let mut items = Vec::new();
        while !buf.is_empty() {
            let (tag, wire) = proto::key(&mut buf)?;
            match tag {
                1 => proto::one::merge::<proto::Msg, _>(
                    &mut metadata,
                    wire,
                    &mut buf,
                    0,
                    "metadata",
                )?,
                2 => {
                    if items.capacity() == 0 {
                        items.reserve_exact(proto::occurrences(tag, wire, buf));
                    }
                    let raw = proto::embedded(wire, &mut buf, "items")?;
                    let item = codec
                        .decode(raw)
                        .map_err(|e| e.at_index(items.len()).at("items"))?;
                    items.push(item);
                }
                _ => proto::skip(wire, tag, &mut buf)?,
            }
        }
        Ok(Self { metadata, items })
    }
}

/// The continue token of a list answered in protobuf, read from its
/// `ListMeta` alone, which the server writes before the items: the pager
/// asks for the next page before it decodes this one. `None` when there is
/// no further page or the body does not parse (its decode says why).
pub(crate) fn protobuf_continue_token(body: &[u8]) -> Option<String> {
    let mut buf = proto::decode_envelope(body).ok()?.raw;
    while !buf.is_empty() {
        let (tag, wire) = proto::key(&mut buf).ok()?;
        if tag != 1 {
            proto::skip(wire, tag, &mut buf).ok()?;
            continue;
        }
        let mut metadata = ListMeta::default();
        proto::one::merge::<proto::Msg, _>(&mut metadata, wire, &mut buf, 0, "metadata").ok()?;
        return metadata.continue_.filter(|c| !c.is_empty()).map(Into::into);
    }
    None
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
    fn protobuf_continue_token_is_read_without_the_items() {
        // The `k8s\0` envelope: TypeMeta (1) { apiVersion "v1", kind "L" }, raw (2).
        let body = |raw: &[u8]| {
            let mut b = b"k8s\0\x0a\x07\x0a\x02v1\x12\x01L\x12".to_vec();
            b.push(raw.len() as u8);
            b.extend_from_slice(raw);
            b
        };
        let meta = [0x0a, 5, 0x1a, 3, b't', b'o', b'k']; // ListMeta { continue (3) = "tok" }
        let item = [0x12, 2, 0xde, 0xad]; // not decoded, so not checked
        let token = protobuf_continue_token;
        assert_eq!(
            token(&body(&[&meta[..], &item].concat())).as_deref(),
            Some("tok")
        );
        assert_eq!(
            token(&body(&[&item[..], &meta].concat())).as_deref(),
            Some("tok")
        );
        assert_eq!(token(&body(&[0x0a, 0, 0x12, 0])), None, "last page");
        assert_eq!(token(&body(&[0x0a, 9, 0x1a])), None, "truncated");
        assert_eq!(token(b"{}"), None, "no envelope");
    }

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
