//! `ObjectList<K>`: the body of a list response.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};

use rayon::prelude::*;

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
        let mut raw_items = Vec::new();
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
                    if raw_items.capacity() == 0 {
                        raw_items.reserve_exact(proto::occurrences(tag, wire, buf));
                    }
                    raw_items.push(proto::embedded(wire, &mut buf, "items")?);
                }
                _ => proto::skip(wire, tag, &mut buf)?,
            }
        }
        let items = decode_items(&raw_items, &codec)?;
        Ok(Self { metadata, items })
    }
}

/// Lists whose items take fewer bytes decode on the calling thread alone:
/// below this, handing work to other threads costs more than it saves.
const PARALLEL_BYTES: usize = 1 << 20;

/// Items a thread takes at a time when a list decodes in parallel.
const ITEMS_PER_TASK: usize = 32;

/// Decodes each item, on every core when the list is large (an unpaged list
/// of thousands of Pods decodes in a fraction of one core's time). rayon's
/// indexed collect writes each item into its place in the one `Vec`, so no
/// item is moved after decoding; a failed item's place holds the kind's
/// empty value until the error drops them all (a kind without one decodes
/// on one thread). The error is the first failing item's, with its index.
fn decode_items<K: Send>(
    raws: &[&[u8]],
    codec: &proto::Protobuf<K>,
) -> Result<Vec<K>, proto::DecodeError> {
    let at = |i: usize, e: proto::DecodeError| e.at_index(i).at("items");
    let bytes: usize = raws.iter().map(|r| r.len()).sum();
    let Some(empty) = codec
        .empty()
        .filter(|_| bytes >= PARALLEL_BYTES && rayon::current_num_threads() > 1)
    else {
        return raws
            .iter()
            .enumerate()
            .map(|(i, raw)| codec.decode(raw).map_err(|e| at(i, e)))
            .collect();
    };
    let failure = Mutex::new(None::<(usize, proto::DecodeError)>);
    let failed = AtomicBool::new(false);
    let mut items = Vec::with_capacity(raws.len());
    raws.par_iter()
        .enumerate()
        .with_min_len(ITEMS_PER_TASK)
        .map(|(i, raw)| {
            if failed.load(Relaxed) {
                return empty();
            }
            codec.decode(raw).unwrap_or_else(|e| {
                failed.store(true, Relaxed);
                let mut failure = failure.lock().unwrap_or_else(|e| e.into_inner());
                if failure.as_ref().is_none_or(|(first, _)| i < *first) {
                    *failure = Some((i, e));
                }
                empty()
            })
        })
        .collect_into_vec(&mut items);
    match failure.into_inner().unwrap_or_else(|e| e.into_inner()) {
        Some((i, e)) => Err(at(i, e)),
        None => Ok(items),
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
        let body = in_envelope;
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

    /// `raw`, a list's message bytes, in the `k8s\0` envelope: TypeMeta (1)
    /// { apiVersion "v1", kind "L" }, raw (2).
    fn in_envelope(raw: &[u8]) -> Vec<u8> {
        let mut body = b"k8s\0\x0a\x07\x0a\x02v1\x12\x01L".to_vec();
        proto::embedded_header(2, raw.len(), &mut body);
        body.extend_from_slice(raw);
        body
    }

    /// A protobuf list body of `items` (message bytes each), in the
    /// envelope.
    fn protobuf_list(items: &[Vec<u8>]) -> Vec<u8> {
        let mut raw = vec![0x0a, 0]; // metadata: an empty ListMeta
        for item in items {
            proto::embedded_header(2, item.len(), &mut raw);
            raw.extend_from_slice(item);
        }
        in_envelope(&raw)
    }

    #[test]
    fn protobuf_items_decode_in_order_on_one_thread_or_many() {
        use kubegen_core::metadata::PartialObjectMetadata;
        let item = |i: usize, note_bytes: usize| {
            let mut o = PartialObjectMetadata::default();
            o.metadata.name = Some(format!("item-{i}").into());
            o.metadata.annotations = Some(
                [("note".into(), "x".repeat(note_bytes).into())]
                    .into_iter()
                    .collect(),
            );
            o
        };
        // 10 small items decode on this thread; 2,000 of 2 KiB (4 MiB) on
        // every core there is.
        for (n, note_bytes) in [(10, 10), (2_000, 2048)] {
            let want: Vec<_> = (0..n).map(|i| item(i, note_bytes)).collect();
            let raws: Vec<_> = want.iter().map(proto::encode).collect();
            let list =
                ObjectList::<PartialObjectMetadata>::from_protobuf(&protobuf_list(&raws)).unwrap();
            assert_eq!(list.items, want, "{n} items");

            // Two broken items: the error names the first.
            let mut broken = raws.clone();
            for i in [n - 1, n / 2] {
                broken[i] = vec![0x0a, 0x05, 0x01]; // metadata: 5 bytes promised, 1 given
            }
            let err = ObjectList::<PartialObjectMetadata>::from_protobuf(&protobuf_list(&broken))
                .unwrap_err()
                .to_string();
            assert!(
                err.contains(&format!("items[{}]", n / 2)),
                "{n} items: {err}"
            );
        }
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
