//! Content negotiation for typed requests, as client-go's: a built-in kind
//! (its [`Object::PROTOBUF`] is set) accepts protobuf and sends it unless the
//! config forces JSON; an answer is decoded by its `Content-Type`, since an
//! aggregated API may answer JSON. Patches stay JSON (their media types are
//! JSON's); custom resources and dynamic objects speak JSON, or CBOR when
//! the config asks for it.

use bytes::Bytes;
use http::header::{ACCEPT, CONTENT_TYPE};
use http::{HeaderMap, HeaderValue, Request};

use super::{Client, DeleteResponse, ObjectList};
use kubegen_core::cbor;
use kubegen_core::error::{Error, Result, decode_cbor, decode_json, decode_protobuf_error};
use kubegen_core::proto::{self, Envelope, Protobuf};
use kubegen_core::resource::Object;

/// The encoding of an answer, by its `Content-Type`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Encoding {
    Json,
    Protobuf,
    /// One CBOR item, or a sequence of them (a watch).
    Cbor,
}

impl Encoding {
    pub(crate) fn of(headers: &HeaderMap) -> Self {
        let media = headers
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        if media.starts_with(proto::MEDIA_TYPE) {
            Encoding::Protobuf
        } else if media.starts_with(cbor::MEDIA_TYPE) {
            // `application/cbor` and `application/cbor-seq`.
            Encoding::Cbor
        } else {
            Encoding::Json
        }
    }
}

/// What a request that can take either sends in `Accept`.
pub(crate) const ACCEPT_PROTOBUF: &str = "application/vnd.kubernetes.protobuf, application/json";
/// CBOR preferred, JSON still taken (from an aggregated API, say): client-go's.
const ACCEPT_CBOR: &str = "application/cbor, application/json;q=0.9";
// Metadata only, as client-go's metadata client asks (a server that cannot
// transform answers with whole objects in JSON, which decode all the same).
const METADATA_PROTOBUF: &str = "application/vnd.kubernetes.protobuf;as=PartialObjectMetadata;g=meta.k8s.io;v=v1, application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1, application/json";
const METADATA_LIST_PROTOBUF: &str = "application/vnd.kubernetes.protobuf;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1, application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1, application/json";
const METADATA_JSON: &str =
    "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1, application/json";
const METADATA_LIST_JSON: &str =
    "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1, application/json";

impl<K: Object> Client<K> {
    /// The kind's protobuf codec, when requests for it speak protobuf.
    pub(crate) fn protobuf(&self) -> Option<Protobuf<K>> {
        K::PROTOBUF.filter(|_| self.rest.protobuf())
    }

    /// Whether requests for `K` speak CBOR: a kind without protobuf, when
    /// the config asks for it and the server has not refused it.
    pub(crate) fn cbor(&self) -> bool {
        !K::METADATA_ONLY && self.protobuf().is_none() && self.rest.cbor()
    }

    /// Adds `Accept` for an answer holding `K`, or its list when `list`
    /// (or a Status): protobuf first when the kind speaks it, CBOR first
    /// when it speaks that, and for a metadata-only kind the
    /// `as=PartialObjectMetadata` form of both.
    pub(crate) fn accept_object(&self, req: &mut Request<Bytes>, list: bool) {
        let accept = match (K::METADATA_ONLY, self.protobuf().is_some(), list) {
            (false, false, _) if self.cbor() => ACCEPT_CBOR,
            (false, false, _) => return,
            (false, true, _) => ACCEPT_PROTOBUF,
            (true, true, false) => METADATA_PROTOBUF,
            (true, true, true) => METADATA_LIST_PROTOBUF,
            (true, false, false) => METADATA_JSON,
            (true, false, true) => METADATA_LIST_JSON,
        };
        req.headers_mut()
            .insert(ACCEPT, HeaderValue::from_static(accept));
    }

    /// The body of a create or replace of `obj`: protobuf in its envelope
    /// when the kind speaks it, CBOR when it speaks that, else JSON.
    /// Returns the bytes and their type.
    pub(crate) fn object_body(&self, what: &str, obj: &K) -> Result<(Vec<u8>, &'static str)> {
        if let Some(codec) = self.protobuf() {
            let body =
                codec.encode_envelope(&self.resource.api_version(), &self.resource.kind, obj);
            return Ok((body, proto::MEDIA_TYPE));
        }
        if self.cbor() {
            let body = cbor::to_vec(obj).map_err(|e| Error::Encode {
                request: what.to_owned(),
                source: serde::ser::Error::custom(e),
            })?;
            return Ok((body, cbor::MEDIA_TYPE));
        }
        super::requests::json_body(what, obj).map(|b| (b, super::JSON))
    }
}

fn envelope<'a>(what: &str, body: &'a [u8]) -> Result<Envelope<'a>> {
    proto::decode_envelope(body).map_err(|e| decode_protobuf_error(what, e))
}

/// The codec of a protobuf answer (only requests that accept protobuf get one).
pub(crate) fn codec<K: Object>(what: &str) -> Result<Protobuf<K>> {
    K::PROTOBUF.ok_or_else(|| Error::Decode {
        request: what.to_owned(),
        path: ".".into(),
        message: "the server answered protobuf for a kind that has no protobuf form".into(),
    })
}

/// An object from an answer body in `encoding`.
pub(crate) fn decode_object<K: Object>(what: &str, body: &[u8], encoding: Encoding) -> Result<K> {
    match encoding {
        Encoding::Json => decode_json(what, body),
        Encoding::Cbor => decode_cbor(what, body),
        Encoding::Protobuf => {
            let env = envelope(what, body)?;
            codec::<K>(what)?
                .decode_envelope(&env)
                .map_err(|e| decode_protobuf_error(what, e))
        }
    }
}

/// A list from an answer body in `encoding`.
pub(crate) fn decode_list<K: Object>(
    what: &str,
    body: &[u8],
    encoding: Encoding,
) -> Result<ObjectList<K>> {
    match encoding {
        Encoding::Json => decode_json(what, body),
        Encoding::Cbor => decode_cbor(what, body),
        Encoding::Protobuf => {
            ObjectList::from_protobuf(body).map_err(|e| decode_protobuf_error(what, e))
        }
    }
}

/// What a delete answered: the object, or a Status.
pub(crate) fn decode_object_or_status<T: Object>(
    what: &str,
    body: &[u8],
    encoding: Encoding,
) -> Result<DeleteResponse<T>> {
    let v: serde_json::Value = match encoding {
        Encoding::Json => decode_json(what, body)?,
        Encoding::Cbor => decode_cbor(what, body)?,
        Encoding::Protobuf => return decode_protobuf_object_or_status(what, body),
    };
    super::requests::object_or_status(what, v)
}

fn decode_protobuf_object_or_status<T: Object>(
    what: &str,
    body: &[u8],
) -> Result<DeleteResponse<T>> {
    let env = envelope(what, body)?;
    if env.kind == "Status" {
        return proto::decode_status(&env)
            .map(DeleteResponse::Status)
            .map_err(|e| decode_protobuf_error(what, e));
    }
    codec::<T>(what)?
        .decode_envelope(&env)
        .map(DeleteResponse::Object)
        .map_err(|e| decode_protobuf_error(what, e))
}
