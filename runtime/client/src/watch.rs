//! Watch events and the decoder that turns a chunked watch response into a
//! `Stream` of them.
//!
//! Framing: the API server writes one JSON object per event, each followed by
//! a newline, into a chunked response; in protobuf (built-in kinds), each
//! event is a `metav1.WatchEvent` message after its 4-byte big-endian length,
//! its object in the usual envelope; in CBOR (`application/cbor-seq`), each
//! event is one self-delimiting CBOR item. Chunk boundaries fall anywhere, so the
//! decoder buffers bytes and decodes only complete events. When the server
//! closes the response (its `timeoutSeconds`, or a restart) the stream ends
//! with `None`; a partial event left in the buffer at that point is reported
//! as a decode error first. A connection that breaks yields one transport
//! error and then ends. A line that does not decode yields an error naming the
//! request and the JSON path, and the stream goes on with the next line.
//!
//! `ERROR` events are not turned into `Err`: they arrive as
//! [`WatchEvent::Error`] with the server's `Status` (typically 410 Gone,
//! "too old resource version"), because a reflector reacts to them (relist)
//! rather than failing. Use [`WatchEvent::into_result`] to treat them as errors.

use std::collections::BTreeMap;
use std::pin::Pin;

use bytes::{Buf, Bytes, BytesMut};
use futures::{Stream, StreamExt};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::value::RawValue;

use kubegen_core::cbor;
use kubegen_core::error::{
    ApiError, Error, Result, decode_cbor, decode_json, decode_protobuf_error,
};
use kubegen_core::meta::{ObjectMeta, Status};
use kubegen_core::proto::{self, Protobuf};

/// Annotation on the bookmark that ends the initial events of a watch-list
/// (`sendInitialEvents=true`).
pub const INITIAL_EVENTS_END_ANNOTATION: &str = "k8s.io/initial-events-end";

/// One event of a watch.
// Real kinds are larger than `Status`; boxing would cost an allocation per event.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq)]
pub enum WatchEvent<K> {
    /// The object was created (or is part of the initial state).
    Added(K),
    /// The object changed.
    Modified(K),
    /// The object was deleted; this is its last state.
    Deleted(K),
    /// Progress notice: everything up to this resource version was sent.
    Bookmark(Bookmark),
    /// The server ended the watch with an error, e.g. 410 Gone.
    Error(Status),
}

/// The content of a `BOOKMARK` event: only a resource version and annotations,
/// never a full object (so it decodes for every kind).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Bookmark {
    /// Resume watching from here.
    pub resource_version: String,
    /// Annotations of the bookmark object, e.g. [`INITIAL_EVENTS_END_ANNOTATION`].
    pub annotations: BTreeMap<String, String>,
}

impl Bookmark {
    /// Whether this bookmark marks the end of the initial events.
    pub fn is_initial_events_end(&self) -> bool {
        self.annotations
            .get(INITIAL_EVENTS_END_ANNOTATION)
            .is_some_and(|v| v == "true")
    }
}

impl<K> WatchEvent<K> {
    /// `Err` for an `ERROR` event (the status as [`Error::Api`]), the event otherwise.
    pub fn into_result(self, request: &str) -> Result<Self> {
        match self {
            WatchEvent::Error(status) => {
                let code = status
                    .code
                    .and_then(|c| u16::try_from(c).ok())
                    .unwrap_or(500);
                Err(ApiError {
                    status,
                    code,
                    request: request.to_owned(),
                }
                .into())
            }
            other => Ok(other),
        }
    }
}

/// A boxed stream of watch events, as returned by `Client::watch`.
pub type WatchStream<K> = Pin<Box<dyn Stream<Item = Result<WatchEvent<K>>> + Send>>;

#[derive(Deserialize)]
struct RawEvent<'a> {
    #[serde(rename = "type")]
    type_: &'a str,
    #[serde(borrow)]
    object: &'a RawValue,
}

#[derive(Deserialize)]
struct BookmarkObject {
    #[serde(default)]
    metadata: BookmarkMeta,
}

#[derive(Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct BookmarkMeta {
    #[serde(default)]
    resource_version: String,
    #[serde(default)]
    annotations: Option<BTreeMap<String, String>>,
}

/// Decode one event line.
pub(crate) fn decode_event<K: DeserializeOwned>(
    request: &str,
    line: &[u8],
) -> Result<WatchEvent<K>> {
    let raw: RawEvent<'_> = decode_json(request, line)?;
    typed_event(
        request,
        raw.type_,
        raw.object.get().as_bytes(),
        ObjectEncoding::Json,
    )
}

/// Decode one CBOR event: a map `{object, type}`.
fn decode_cbor_event<K: DeserializeOwned>(request: &str, item: &[u8]) -> Result<WatchEvent<K>> {
    let entries = cbor::map_entries(item).map_err(|e| Error::Decode {
        request: request.to_owned(),
        path: ".".into(),
        message: e.to_string(),
    })?;
    let field = |name: &str| {
        entries
            .iter()
            .find(|(k, _)| k == name)
            .map_or(&[][..], |(_, v)| *v)
    };
    let type_: String = decode_cbor(request, field("type")).map_err(|e| prefix_path(e, "type"))?;
    typed_event(request, &type_, field("object"), ObjectEncoding::Cbor)
}

/// The event of `type_`, its `object` read as `decode` says.
fn typed_event<K: DeserializeOwned>(
    request: &str,
    type_: &str,
    object: &[u8],
    decode: ObjectEncoding,
) -> Result<WatchEvent<K>> {
    let event = match type_ {
        "ADDED" => WatchEvent::Added(decode.object(request, object)?),
        "MODIFIED" => WatchEvent::Modified(decode.object(request, object)?),
        "DELETED" => WatchEvent::Deleted(decode.object(request, object)?),
        "BOOKMARK" => {
            let b: BookmarkObject = decode.object(request, object)?;
            WatchEvent::Bookmark(Bookmark {
                resource_version: b.metadata.resource_version,
                annotations: b.metadata.annotations.unwrap_or_default(),
            })
        }
        "ERROR" => WatchEvent::Error(decode.object(request, object)?),
        other => {
            return Err(Error::Decode {
                request: request.to_owned(),
                path: "type".into(),
                message: format!("unknown watch event type {other:?}"),
            });
        }
    };
    Ok(event)
}

/// The encoding of a JSON or CBOR event's object.
#[derive(Clone, Copy)]
enum ObjectEncoding {
    Json,
    Cbor,
}

impl ObjectEncoding {
    fn object<T: DeserializeOwned>(self, request: &str, bytes: &[u8]) -> Result<T> {
        match self {
            ObjectEncoding::Json => decode_json(request, bytes),
            ObjectEncoding::Cbor => decode_cbor(request, bytes),
        }
        .map_err(|e| prefix_path(e, "object"))
    }
}

fn prefix_path(e: Error, prefix: &str) -> Error {
    match e {
        Error::Decode {
            request,
            path,
            message,
        } => {
            let path = if path == "." {
                prefix.to_owned()
            } else {
                format!("{prefix}.{path}")
            };
            Error::Decode {
                request,
                path,
                message,
            }
        }
        other => other,
    }
}

/// The largest watch event accepted, in bytes. The API server stores no object
/// near it (etcd's default request limit is 1.5 MiB); a longer line means a
/// broken or hostile stream, which is reported instead of filling memory.
pub const MAX_WATCH_EVENT_BYTES: usize = 64 << 20;

/// Decode one protobuf event (a frame without its length).
pub(crate) fn decode_proto_event<K>(
    request: &str,
    frame: &[u8],
    codec: &Protobuf<K>,
) -> Result<WatchEvent<K>> {
    let fail = |e| decode_protobuf_error(request, e);
    let mut buf = frame;
    let (mut type_, mut object): (&[u8], &[u8]) = (&[], &[]);
    while !buf.is_empty() {
        let (tag, wire) = proto::key(&mut buf).map_err(fail)?;
        match tag {
            1 => type_ = proto::embedded(wire, &mut buf, "type").map_err(fail)?,
            // RawExtension { raw = 1 }: the object in its envelope.
            2 => {
                let mut ext = proto::embedded(wire, &mut buf, "object").map_err(fail)?;
                while !ext.is_empty() {
                    let (tag, wire) = proto::key(&mut ext).map_err(fail)?;
                    match tag {
                        1 => object = proto::embedded(wire, &mut ext, "object").map_err(fail)?,
                        _ => proto::skip(wire, tag, &mut ext).map_err(fail)?,
                    }
                }
            }
            _ => proto::skip(wire, tag, &mut buf).map_err(fail)?,
        }
    }
    let at_object = |e: proto::DecodeError| fail(e.at("object"));
    let env = proto::decode_envelope(object).map_err(at_object)?;
    let obj = || codec.decode_envelope(&env).map_err(at_object);
    Ok(match type_ {
        b"ADDED" => WatchEvent::Added(obj()?),
        b"MODIFIED" => WatchEvent::Modified(obj()?),
        b"DELETED" => WatchEvent::Deleted(obj()?),
        b"BOOKMARK" => {
            // Field 1 of every kind is its metadata.
            let mut meta = ObjectMeta::default();
            let mut raw = env.raw;
            while !raw.is_empty() {
                let (tag, wire) = proto::key(&mut raw).map_err(at_object)?;
                match tag {
                    1 => {
                        proto::one::merge::<proto::Msg, _>(&mut meta, wire, &mut raw, 0, "metadata")
                            .map_err(at_object)?
                    }
                    _ => proto::skip(wire, tag, &mut raw).map_err(at_object)?,
                }
            }
            WatchEvent::Bookmark(Bookmark {
                resource_version: meta.resource_version.unwrap_or_default().into(),
                annotations: meta
                    .annotations
                    .unwrap_or_default()
                    .into_iter()
                    .map(|(k, v)| (k.into(), v.into()))
                    .collect(),
            })
        }
        b"ERROR" => WatchEvent::Error(proto::decode_status(&env).map_err(at_object)?),
        other => {
            return Err(Error::Decode {
                request: request.to_owned(),
                path: "type".into(),
                message: format!(
                    "unknown watch event type {:?}",
                    String::from_utf8_lossy(other)
                ),
            });
        }
    })
}

/// How a watch answer is framed, by its content type.
pub(crate) enum Framing<K> {
    /// JSON objects, a line each.
    Lines,
    /// Length-prefixed protobuf `WatchEvent`s, objects of the kind's codec.
    Protobuf(Protobuf<K>),
    /// A CBOR sequence of `WatchEvent`s.
    Cbor,
}

/// Turn a response body (a stream of byte chunks) into a stream of events,
/// framed as `framing` says.
pub(crate) fn decode_stream<K, S>(
    request: String,
    body: S,
    framing: Framing<K>,
) -> impl Stream<Item = Result<WatchEvent<K>>> + Send
where
    K: DeserializeOwned + Send + 'static,
    S: Stream<Item = Result<Bytes>> + Send + Unpin + 'static,
{
    decode_stream_limited(request, body, MAX_WATCH_EVENT_BYTES, framing)
}

/// What a buffer holds at its start.
// Moved once per event, as the event itself is: boxing would cost an allocation each.
#[allow(clippy::large_enum_variant)]
enum Next<K> {
    /// A decoded event (or its decode error); the stream goes on.
    Event(Result<WatchEvent<K>>),
    /// Not a whole event yet.
    Partial,
    /// Framing that cannot be trusted (an over-long or malformed frame):
    /// reported, then the stream ends.
    Broken(String),
}

fn decode_stream_limited<K, S>(
    request: String,
    body: S,
    max_event: usize,
    framing: Framing<K>,
) -> impl Stream<Item = Result<WatchEvent<K>>> + Send
where
    K: DeserializeOwned + Send + 'static,
    S: Stream<Item = Result<Bytes>> + Send + Unpin + 'static,
{
    struct State<S, K> {
        body: S,
        buf: BytesMut,
        /// Lines: `buf[..scanned]` holds no newline: each byte is searched once.
        scanned: usize,
        request: String,
        done: bool,
        framing: Framing<K>,
    }
    impl<S, K: DeserializeOwned> State<S, K> {
        fn next_event(&mut self, max_event: usize) -> Next<K> {
            let request = self.request.as_str();
            match &self.framing {
                Framing::Lines => loop {
                    let Some(pos) = self.buf[self.scanned..].iter().position(|b| *b == b'\n')
                    else {
                        self.scanned = self.buf.len();
                        if self.buf.len() > max_event {
                            return Next::Broken(format!(
                                "watch event longer than {max_event} bytes without a line end; stream abandoned"
                            ));
                        }
                        return Next::Partial;
                    };
                    let line = self.buf.split_to(self.scanned + pos + 1);
                    self.scanned = 0;
                    let line = trim_ascii(&line);
                    if !line.is_empty() {
                        return Next::Event(decode_event(request, line));
                    }
                },
                Framing::Protobuf(codec) => {
                    let Some(len) = self
                        .buf
                        .first_chunk::<4>()
                        .map(|b| u32::from_be_bytes(*b) as usize)
                    else {
                        return Next::Partial;
                    };
                    if len > max_event {
                        return Next::Broken(format!(
                            "watch event of {len} bytes is longer than {max_event}; stream abandoned"
                        ));
                    }
                    if self.buf.len() < 4 + len {
                        return Next::Partial;
                    }
                    let frame = self.buf.split_to(4 + len);
                    Next::Event(decode_proto_event(request, &frame[4..], codec))
                }
                Framing::Cbor => match cbor::item_len(&self.buf) {
                    Ok(Some(len)) => {
                        let item = self.buf.split_to(len);
                        Next::Event(decode_cbor_event(request, &item))
                    }
                    Ok(None) if self.buf.len() > max_event => Next::Broken(format!(
                        "watch event longer than {max_event} bytes; stream abandoned"
                    )),
                    Ok(None) => Next::Partial,
                    Err(e) => Next::Broken(format!("the watch stream is not CBOR: {e}")),
                },
            }
        }

        /// The server closed the stream with `buf` left over: a last line
        /// decodes (the server may omit its newline); a partial frame is an error.
        fn trailing(&mut self) -> Option<Result<WatchEvent<K>>> {
            let rest = self.buf.split();
            self.scanned = 0;
            match self.framing {
                Framing::Lines => match trim_ascii(&rest) {
                    [] => None,
                    line => Some(decode_event(&self.request, line)),
                },
                _ if rest.is_empty() => None,
                Framing::Protobuf(_) | Framing::Cbor => Some(Err(Error::Decode {
                    request: self.request.clone(),
                    path: ".".into(),
                    message: "the stream ended inside a watch event".into(),
                })),
            }
        }
    }
    let state = State {
        body,
        buf: BytesMut::new(),
        scanned: 0,
        request,
        done: false,
        framing,
    };
    futures::stream::unfold(state, move |mut st| async move {
        loop {
            match st.next_event(max_event) {
                Next::Event(ev) => return Some((ev, st)),
                Next::Broken(message) => {
                    st.done = true;
                    st.buf.clear();
                    st.scanned = 0;
                    let err = Error::Decode {
                        request: st.request.clone(),
                        path: ".".into(),
                        message,
                    };
                    return Some((Err(err), st));
                }
                Next::Partial if st.done => return st.trailing().map(|ev| (ev, st)),
                Next::Partial => {}
            }
            match st.body.next().await {
                Some(Ok(chunk)) => st.buf.extend_from_slice(chunk.chunk()),
                Some(Err(e)) => {
                    st.done = true;
                    st.buf.clear();
                    st.scanned = 0;
                    return Some((Err(e), st));
                }
                None => st.done = true,
            }
        }
    })
}

fn trim_ascii(b: &[u8]) -> &[u8] {
    b.trim_ascii()
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::executor::block_on;
    use futures::stream;

    #[derive(Debug, PartialEq, serde::Deserialize)]
    struct Cm {
        metadata: kubegen_core::meta::ObjectMeta,
        #[serde(default)]
        data: BTreeMap<String, String>,
    }

    fn chunks(parts: &[&str]) -> impl Stream<Item = Result<Bytes>> + Send + Unpin + 'static {
        let v: Vec<Result<Bytes>> = parts
            .iter()
            .map(|p| Ok(Bytes::copy_from_slice(p.as_bytes())))
            .collect();
        stream::iter(v)
    }

    fn collect(parts: &[&str]) -> Vec<Result<WatchEvent<Cm>>> {
        block_on(
            decode_stream::<Cm, _>(
                "GET /api/v1/configmaps?watch=true".into(),
                chunks(parts),
                Framing::Lines,
            )
            .collect(),
        )
    }

    const A: &str = r#"{"type":"ADDED","object":{"metadata":{"name":"a","resourceVersion":"1"},"data":{"k":"v"}}}"#;
    const B: &str = r#"{"type":"BOOKMARK","object":{"kind":"ConfigMap","metadata":{"resourceVersion":"5","annotations":{"k8s.io/initial-events-end":"true"}}}}"#;
    const E: &str = r#"{"type":"ERROR","object":{"kind":"Status","code":410,"reason":"Expired","message":"too old resource version"}}"#;

    #[test]
    fn events_split_across_chunks_at_every_byte_decode_the_same() {
        let whole = format!("{A}\n{B}\n");
        for cut in 1..whole.len() {
            let (x, y) = whole.split_at(cut);
            let evs = collect(&[x, y]);
            assert_eq!(evs.len(), 2, "cut at {cut}");
            assert!(
                matches!(&evs[0], Ok(WatchEvent::Added(c)) if c.metadata.name.as_deref() == Some("a"))
            );
            match &evs[1] {
                Ok(WatchEvent::Bookmark(b)) => {
                    assert_eq!(b.resource_version, "5");
                    assert!(b.is_initial_events_end());
                }
                other => panic!("cut at {cut}: {other:?}"),
            }
        }
    }

    #[test]
    fn server_close_ends_the_stream_cleanly() {
        let evs = collect(&[A, "\n"]);
        assert_eq!(evs.len(), 1);
        assert!(collect(&[]).is_empty());
    }

    #[test]
    fn last_event_without_newline_is_still_decoded() {
        let evs = collect(&[A]);
        assert!(matches!(&evs[..], [Ok(WatchEvent::Added(_))]));
    }

    #[test]
    fn truncated_last_event_is_a_decode_error_then_end() {
        let evs = collect(&[&A[..40]]);
        assert_eq!(evs.len(), 1);
        assert!(matches!(&evs[0], Err(Error::Decode { .. })), "{:?}", evs[0]);
    }

    #[test]
    fn error_event_carries_the_status_and_converts_to_gone() {
        let evs = collect(&[E, "\n"]);
        let Some(Ok(ev)) = evs.into_iter().next() else {
            panic!("no event")
        };
        let WatchEvent::Error(ref s) = ev else {
            panic!("{ev:?}")
        };
        assert_eq!(s.code, Some(410));
        let err = ev.into_result("GET x").unwrap_err();
        assert!(err.is_resource_expired());
    }

    #[test]
    fn bad_object_names_the_path_and_the_stream_continues() {
        let bad = r#"{"type":"MODIFIED","object":{"metadata":{"name":"b"},"data":{"k":7}}}"#;
        let evs = collect(&[bad, "\n", A, "\n"]);
        assert_eq!(evs.len(), 2);
        match &evs[0] {
            Err(Error::Decode { path, request, .. }) => {
                assert_eq!(path, "object.data.k");
                assert!(request.contains("configmaps"));
            }
            other => panic!("{other:?}"),
        }
        assert!(evs[1].is_ok());
    }

    #[test]
    fn broken_connection_yields_one_error_then_ends() {
        let body = stream::iter(vec![
            Ok(Bytes::from(format!("{A}\n{}", &A[..10]))),
            Err(Error::Transport {
                request: "GET x".into(),
                message: "connection reset".into(),
                source: None,
            }),
            Ok(Bytes::from_static(b"ignored\n")),
        ]);
        let evs: Vec<_> =
            block_on(decode_stream::<Cm, _>("GET x".into(), body, Framing::Lines).collect());
        assert_eq!(evs.len(), 2);
        assert!(evs[0].is_ok());
        assert!(matches!(&evs[1], Err(Error::Transport { .. })));
    }

    #[test]
    fn oversized_event_is_an_error_and_ends_the_stream() {
        // A line that never ends, fed in small chunks: the decoder stops at
        // the cap instead of buffering the whole stream.
        let endless = stream::iter((0..1000).map(|_| Ok(Bytes::from_static(&[b'x'; 100]))));
        let evs: Vec<Result<WatchEvent<Cm>>> = block_on(
            decode_stream_limited::<Cm, _>("GET x".into(), endless, 4096, Framing::Lines).collect(),
        );
        assert_eq!(evs.len(), 1, "{evs:?}");
        match &evs[0] {
            Err(Error::Decode { message, .. }) => assert!(message.contains("4096"), "{message}"),
            other => panic!("{other:?}"),
        }
        // An event of exactly the cap still decodes.
        let line = format!("{A}\n");
        let evs: Vec<Result<WatchEvent<Cm>>> = block_on(
            decode_stream_limited::<Cm, _>(
                "GET x".into(),
                chunks(&[&line, &line]),
                A.len() + 1,
                Framing::Lines,
            )
            .collect(),
        );
        assert!(evs.iter().all(|e| e.is_ok()) && evs.len() == 2, "{evs:?}");
    }

    #[test]
    fn many_small_chunks_of_one_event_decode_once() {
        // One byte per chunk: the splitter must still find the line end (and,
        // with its scan offset, look at each byte once).
        let whole = format!("{A}\n{B}\n");
        let parts: Vec<String> = whole.chars().map(String::from).collect();
        let parts: Vec<&str> = parts.iter().map(String::as_str).collect();
        let evs = collect(&parts);
        assert_eq!(evs.len(), 2);
        assert!(evs.iter().all(|e| e.is_ok()));
    }

    #[test]
    fn cbor_sequences_split_anywhere_decode() {
        let event = |t: &str, name: &str| {
            let object = serde_json::json!({"metadata": {"name": name, "resourceVersion": "7"}, "data": {"k": "v"}});
            cbor::to_vec(&serde_json::json!({"object": object, "type": t})).unwrap()
        };
        let whole = [event("ADDED", "a"), event("BOOKMARK", "")].concat();
        for size in [1, 3, whole.len()] {
            let parts: Vec<Result<Bytes>> = whole
                .chunks(size)
                .map(|c| Ok(Bytes::copy_from_slice(c)))
                .collect();
            let evs: Vec<_> = block_on(
                decode_stream::<Cm, _>("GET x".into(), stream::iter(parts), Framing::Cbor)
                    .collect(),
            );
            assert_eq!(evs.len(), 2, "{evs:?}");
            match &evs[0] {
                Ok(WatchEvent::Added(cm)) => {
                    assert_eq!(cm.metadata.name.as_deref(), Some("a"));
                    assert_eq!(cm.data["k"], "v");
                }
                other => panic!("{other:?}"),
            }
            assert!(matches!(&evs[1], Ok(WatchEvent::Bookmark(b)) if b.resource_version == "7"));
        }
        // A cut-off event, then a stream that is not CBOR at all.
        let cut = &whole[..whole.len() - 2];
        let evs: Vec<_> = block_on(
            decode_stream::<Cm, _>(
                "GET x".into(),
                stream::iter(vec![Ok(Bytes::copy_from_slice(cut))]),
                Framing::Cbor,
            )
            .collect(),
        );
        assert_eq!(evs.len(), 2);
        assert!(
            matches!(&evs[1], Err(Error::Decode { message, .. }) if message.contains("ended inside"))
        );
        let evs: Vec<_> = block_on(
            decode_stream::<Cm, _>(
                "GET x".into(),
                stream::iter(vec![Ok(Bytes::from_static(&[0x1c, 0x00]))]),
                Framing::Cbor,
            )
            .collect(),
        );
        assert_eq!(evs.len(), 1);
        assert!(
            matches!(&evs[0], Err(Error::Decode { message, .. }) if message.contains("not CBOR")),
            "{evs:?}"
        );
        // An object of the wrong shape names its path.
        let bad =
            cbor::to_vec(&serde_json::json!({"object": {"data": 3}, "type": "ADDED"})).unwrap();
        let evs: Vec<_> = block_on(
            decode_stream::<Cm, _>(
                "GET x".into(),
                stream::iter(vec![Ok(Bytes::from(bad))]),
                Framing::Cbor,
            )
            .collect(),
        );
        assert!(
            matches!(&evs[0], Err(Error::Decode { path, .. }) if path.starts_with("object")),
            "{evs:?}"
        );
    }

    #[test]
    fn unknown_event_type_is_an_error() {
        let evs = collect(&[r#"{"type":"WHAT","object":{}}"#, "\n"]);
        assert!(matches!(&evs[0], Err(Error::Decode { path, .. }) if path == "type"));
    }
}
