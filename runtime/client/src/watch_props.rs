//! Property tests (fuzzing) of the watch-event decoder: a watch body is bytes
//! from the network, so whatever they are the decoder must not panic, must
//! not overflow the stack, must buffer at most one event, and every error
//! must be a decode error naming the request and the JSON path at fault.
//!
//! - arbitrary bytes, JSON-ish bytes and corrupted valid streams, split into
//!   random chunks: one result per non-blank line, identical however the
//!   body is chunked;
//! - valid events of every type with random content, separators and chunk
//!   boundaries: each decodes to what was sent, identically to the unsplit body;
//! - hostile lines: nesting up to 200k deep at every position of an event,
//!   numbers with thousands of digits or exponents, invalid UTF-8 and bad
//!   escapes, unknown or ill-typed event types, bad timestamps; each yields
//!   one result (an error with a path under the bad field, unless that field
//!   is free-form and the value fits), and the next line still decodes;
//! - a line longer than [`MAX_WATCH_EVENT_BYTES`]: one error, the rest of the
//!   body is not read.
//!
//! In-crate because `decode_stream` is crate-private (the public path needs an
//! HTTP server and cannot choose chunk boundaries). The case count is sized
//! for CI (`cargo test -p kubegen-runtime --lib watch_props` takes a few
//! seconds in debug); raise it for a longer local run:
//!
//! ```text
//! PROPTEST_CASES=20000 cargo test --release -p kubegen-runtime --lib watch_props
//! ```

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use bytes::Bytes;
use futures::StreamExt;
use futures::executor::block_on;
use proptest::prelude::*;
use proptest::sample::Index;
use serde_json::{Value, json};

use super::watch::{
    Framing, INITIAL_EVENTS_END_ANNOTATION, MAX_WATCH_EVENT_BYTES, WatchEvent, decode_stream,
};
use kubegen_core::dynamic::DynamicObject;
use kubegen_core::error::{Error, Result};

const REQ: &str = "GET /api/v1/configmaps?watch=true";

/// A valid event line that follows every hostile line: the stream must go on.
const NEXT: &str =
    r#"{"type":"ADDED","object":{"metadata":{"name":"next","resourceVersion":"9"}}}"#;

/// `PROPTEST_CASES` when set, else `default` (sized for a debug build in CI).
fn cases(default: u32) -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

type Decoded = Result<WatchEvent<DynamicObject>>;

fn decode(chunks: Vec<Bytes>) -> Vec<Decoded> {
    let body = futures::stream::iter(chunks.into_iter().map(Ok));
    block_on(decode_stream::<DynamicObject, _>(REQ.to_owned(), body, Framing::Lines).collect())
}

fn decode_whole(bytes: &[u8]) -> Vec<Decoded> {
    decode(vec![Bytes::copy_from_slice(bytes)])
}

/// `bytes` cut at the given points (empty chunks included).
fn split(bytes: &[u8], cuts: &[Index]) -> Vec<Bytes> {
    let whole = Bytes::copy_from_slice(bytes);
    let mut at: Vec<usize> = cuts.iter().map(|i| i.index(bytes.len() + 1)).collect();
    at.sort_unstable();
    let mut out = Vec::with_capacity(at.len() + 1);
    let mut prev = 0;
    for c in at {
        out.push(whole.slice(prev..c));
        prev = c;
    }
    out.push(whole.slice(prev..));
    out
}

/// Comparable form of a result (`Error` has no `PartialEq`).
fn show(r: &Decoded) -> String {
    match r {
        Ok(e) => format!("{e:?}"),
        Err(e) => format!("error: {e}"),
    }
}

/// Every error is a decode error for this request that says where and what.
fn check_errors(results: &[Decoded]) -> std::result::Result<(), TestCaseError> {
    for r in results {
        match r {
            Ok(_) => {}
            Err(Error::Decode {
                request,
                path,
                message,
            }) => {
                prop_assert_eq!(request, REQ);
                prop_assert!(!path.is_empty(), "empty path: {}", message);
                prop_assert!(!message.is_empty(), "empty message at {}", path);
            }
            Err(other) => prop_assert!(false, "not a decode error: {other:?}"),
        }
    }
    Ok(())
}

fn non_blank_lines(bytes: &[u8]) -> usize {
    bytes
        .split(|b| *b == b'\n')
        .filter(|l| !l.trim_ascii().is_empty())
        .count()
}

/// The path of a decode error; `None` for a decoded event.
fn error_path(r: &Decoded) -> Option<&str> {
    match r {
        Err(Error::Decode { path, .. }) => Some(path),
        _ => None,
    }
}

fn is_next(r: &Decoded) -> bool {
    matches!(r, Ok(WatchEvent::Added(o)) if o.metadata.name.as_deref() == Some("next"))
}

// ---- generators ----

fn arb_text() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z0-9.-]{0,12}",
        // Anything, control characters and newlines included: they are escaped in JSON.
        "(?s).{0,12}",
        prop::sample::select(vec![
            "", "\n", "\u{0}", "\u{2028}", "\"", "\\", "é😀", "\r\n"
        ])
        .prop_map(str::to_owned),
    ]
}

fn arb_extra() -> impl Strategy<Value = Value> {
    // No floats: serde_json parses them fast but not always exactly.
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        arb_text().prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 32, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map(arb_text(), inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// One generated event, with what it must decode to.
#[derive(Clone, Debug)]
enum Gen {
    Object {
        ty: &'static str,
        name: String,
        namespace: Option<String>,
        rv: String,
        labels: BTreeMap<String, String>,
        data: BTreeMap<String, String>,
        extra: Value,
    },
    Bookmark {
        rv: String,
        end: Option<bool>,
    },
    Error {
        code: i32,
        reason: String,
        message: String,
    },
}

fn arb_gen() -> impl Strategy<Value = Gen> {
    let object = (
        prop::sample::select(vec!["ADDED", "MODIFIED", "DELETED"]),
        arb_text(),
        prop::option::of(arb_text()),
        "[0-9]{1,12}",
        prop::collection::btree_map(arb_text(), arb_text(), 0..3),
        prop::collection::btree_map(arb_text(), arb_text(), 0..3),
        arb_extra(),
    )
        .prop_map(
            |(ty, name, namespace, rv, labels, data, extra)| Gen::Object {
                ty,
                name,
                namespace,
                rv,
                labels,
                data,
                extra,
            },
        );
    let bookmark = ("[0-9]{0,12}", prop::option::of(any::<bool>()))
        .prop_map(|(rv, end)| Gen::Bookmark { rv, end });
    let error =
        (any::<i32>(), arb_text(), arb_text()).prop_map(|(code, reason, message)| Gen::Error {
            code,
            reason,
            message,
        });
    prop_oneof![4 => object, 1 => bookmark, 1 => error]
}

impl Gen {
    fn line(&self) -> String {
        let v = match self {
            Gen::Object {
                ty,
                name,
                namespace,
                rv,
                labels,
                data,
                extra,
            } => {
                let mut meta = json!({"name": name, "resourceVersion": rv, "labels": labels});
                if let Some(ns) = namespace {
                    meta["namespace"] = json!(ns);
                }
                json!({"type": ty, "object": {
                    "apiVersion": "v1", "kind": "ConfigMap", "metadata": meta,
                    "data": data, "extra": extra,
                }})
            }
            Gen::Bookmark { rv, end } => {
                let mut meta = json!({ "resourceVersion": rv });
                if let Some(end) = end {
                    meta["annotations"] =
                        json!({ INITIAL_EVENTS_END_ANNOTATION: end.to_string(), "other": "x" });
                }
                json!({"type": "BOOKMARK", "object": {"kind": "ConfigMap", "apiVersion": "v1", "metadata": meta}})
            }
            Gen::Error {
                code,
                reason,
                message,
            } => json!({"type": "ERROR", "object": {
                "kind": "Status", "apiVersion": "v1", "status": "Failure",
                "code": code, "reason": reason, "message": message,
            }}),
        };
        v.to_string()
    }

    fn check(&self, got: &Decoded) -> std::result::Result<(), TestCaseError> {
        let Ok(ev) = got else {
            return Err(TestCaseError::fail(format!(
                "valid event failed: {}",
                show(got)
            )));
        };
        match (self, ev) {
            (
                Gen::Object {
                    ty,
                    name,
                    namespace,
                    rv,
                    labels,
                    data,
                    extra,
                },
                WatchEvent::Added(o) | WatchEvent::Modified(o) | WatchEvent::Deleted(o),
            ) => {
                let got_ty = match ev {
                    WatchEvent::Added(_) => "ADDED",
                    WatchEvent::Modified(_) => "MODIFIED",
                    _ => "DELETED",
                };
                prop_assert_eq!(*ty, got_ty);
                prop_assert_eq!(o.metadata.name.as_deref(), Some(name.as_str()));
                prop_assert_eq!(o.metadata.namespace.as_deref(), namespace.as_deref());
                prop_assert_eq!(o.metadata.resource_version.as_deref(), Some(rv.as_str()));
                prop_assert_eq!(
                    o.metadata.labels.clone().map(BTreeMap::from),
                    Some(labels.iter().map(|(k, v)| (k.into(), v.into())).collect())
                );
                prop_assert_eq!(o.kind.as_deref(), Some("ConfigMap"));
                prop_assert_eq!(&o.data["data"], &json!(data));
                prop_assert_eq!(&o.data["extra"], extra);
            }
            (Gen::Bookmark { rv, end }, WatchEvent::Bookmark(b)) => {
                prop_assert_eq!(&b.resource_version, rv);
                prop_assert_eq!(b.is_initial_events_end(), *end == Some(true));
                prop_assert_eq!(b.annotations.len(), if end.is_some() { 2 } else { 0 });
            }
            (
                Gen::Error {
                    code,
                    reason,
                    message,
                },
                WatchEvent::Error(s),
            ) => {
                prop_assert_eq!(s.code, Some(*code));
                prop_assert_eq!(s.reason.as_deref(), Some(reason.as_str()));
                prop_assert_eq!(s.message.as_deref(), Some(message.as_str()));
            }
            (want, got) => prop_assert!(false, "sent {want:?}, decoded {got:?}"),
        }
        Ok(())
    }
}

/// Events joined into a body with assorted line ends and blank lines; the
/// last line end is optional (the server closing mid-line is allowed).
fn arb_body() -> impl Strategy<Value = (Vec<Gen>, Vec<u8>)> {
    let sep = prop::sample::select(vec!["\n", "\r\n", "\n\n", " \n", "\t\r\n", "\n \n\t\n"]);
    let lead = prop::sample::select(vec!["", " ", "\t", "\r\n"]);
    (
        prop::collection::vec((arb_gen(), lead, sep), 0..6),
        any::<bool>(),
    )
        .prop_map(|(evs, trailing)| {
            let mut body = String::new();
            let n = evs.len();
            for (i, (g, lead, sep)) in evs.iter().enumerate() {
                body.push_str(lead);
                body.push_str(&g.line());
                if i + 1 < n || trailing {
                    body.push_str(sep);
                }
            }
            (
                evs.into_iter().map(|(g, _, _)| g).collect(),
                body.into_bytes(),
            )
        })
}

/// Bytes a hostile or broken server might send.
fn arb_bytes() -> impl Strategy<Value = Vec<u8>> {
    const JSONISH: &[u8] =
        b"{}[]\":,\n\r \t\\uADEMOTYPBKRabcdefjlnorstuy0123456789.-+eE\xff\xc3\x80\xed\xa0";
    let edit = (any::<Index>(), 0u8..3, any::<u8>());
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..1024),
        prop::collection::vec(prop::sample::select(JSONISH), 0..1024),
        // A valid stream with bytes inserted, deleted or replaced.
        (arb_body(), prop::collection::vec(edit, 1..8)).prop_map(|((_, mut body), edits)| {
            for (at, op, byte) in edits {
                let i = at.index(body.len() + 1);
                match op {
                    0 => body.insert(i, byte),
                    1 if i < body.len() => {
                        body.remove(i);
                    }
                    _ if i < body.len() => body[i] = byte,
                    _ => body.push(byte),
                }
            }
            body
        }),
    ]
}

/// Where in an event a hostile value goes.
#[derive(Clone, Copy, Debug)]
enum Place {
    /// The whole line.
    Line,
    /// The event's `type`.
    Type,
    /// The event's `object`.
    Object,
    /// A free-form field of the object (`spec`).
    Spec,
    /// A typed field of the object's metadata (`generation`, an i64).
    Generation,
    /// The `code` of an `ERROR` event's status (an i32).
    StatusCode,
    /// A field of the event that nothing reads.
    Unknown,
}

fn arb_place() -> impl Strategy<Value = Place> {
    prop::sample::select(vec![
        Place::Line,
        Place::Type,
        Place::Object,
        Place::Spec,
        Place::Generation,
        Place::StatusCode,
        Place::Unknown,
    ])
}

fn embed(place: Place, v: &str) -> String {
    match place {
        Place::Line => v.to_owned(),
        Place::Type => format!(r#"{{"type":{v},"object":{{}}}}"#),
        Place::Object => format!(r#"{{"type":"ADDED","object":{v}}}"#),
        Place::Spec => {
            format!(r#"{{"type":"MODIFIED","object":{{"metadata":{{"name":"x"}},"spec":{v}}}}}"#)
        }
        Place::Generation => {
            format!(r#"{{"type":"DELETED","object":{{"metadata":{{"generation":{v}}}}}}}"#)
        }
        Place::StatusCode => format!(r#"{{"type":"ERROR","object":{{"code":{v}}}}}"#),
        Place::Unknown => format!(r#"{{"type":"ADDED","x":{v},"object":{{}}}}"#),
    }
}

/// The error path for a bad value at `place`: a prefix it must start with.
fn path_prefix(place: Place) -> &'static str {
    match place {
        Place::Line | Place::Unknown => "",
        Place::Type => "type",
        Place::Object | Place::Spec | Place::Generation | Place::StatusCode => "object",
    }
}

/// Decode `line` then [`NEXT`]: exactly two results, the second `NEXT`, and
/// the first either OK (when `may_succeed`) or an error under `prefix`.
fn hostile(line: &str, prefix: &str, may_succeed: bool) -> std::result::Result<(), TestCaseError> {
    prop_assume!(!line.contains('\n'));
    let body = format!("{line}\n{NEXT}\n");
    let results = decode_whole(body.as_bytes());
    check_errors(&results)?;
    prop_assert_eq!(
        results.len(),
        2,
        "{:?}",
        results.iter().map(show).collect::<Vec<_>>()
    );
    prop_assert!(is_next(&results[1]), "{}", show(&results[1]));
    match error_path(&results[0]) {
        Some(path) => prop_assert!(
            path.starts_with(prefix),
            "path {:?} does not start with {:?}: {}",
            path,
            prefix,
            show(&results[0])
        ),
        None => prop_assert!(may_succeed, "accepted: {}", show(&results[0])),
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(256), ..ProptestConfig::default() })]

    #[test]
    fn any_bytes_any_chunks_never_panic_and_decode_alike(
        bytes in arb_bytes(),
        cuts in prop::collection::vec(any::<Index>(), 0..24),
    ) {
        let whole = decode_whole(&bytes);
        check_errors(&whole)?;
        prop_assert_eq!(whole.len(), non_blank_lines(&bytes));
        let split = decode(split(&bytes, &cuts));
        prop_assert_eq!(
            whole.iter().map(show).collect::<Vec<_>>(),
            split.iter().map(show).collect::<Vec<_>>()
        );
    }

    #[test]
    fn valid_events_decode_to_what_was_sent_at_any_chunk_boundaries(
        (events, body) in arb_body(),
        cuts in prop::collection::vec(any::<Index>(), 0..24),
        one_byte_chunks in prop::bool::weighted(0.1),
    ) {
        let whole = decode_whole(&body);
        prop_assert_eq!(whole.len(), events.len());
        for (g, got) in events.iter().zip(&whole) {
            g.check(got)?;
        }
        let chunks = if one_byte_chunks {
            body.iter().map(|b| Bytes::copy_from_slice(&[*b])).collect()
        } else {
            split(&body, &cuts)
        };
        let split = decode(chunks);
        prop_assert_eq!(
            whole.iter().map(show).collect::<Vec<_>>(),
            split.iter().map(show).collect::<Vec<_>>()
        );
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_stack_overflow(
        depth in prop_oneof![1usize..300, 300usize..200_000, Just(100_000usize)],
        open in prop::sample::select(vec![("[", "]"), (r#"{"a":"#, "}"), (r#"[{"a":"#, "}]")]),
        closed in any::<bool>(),
        place in arb_place(),
    ) {
        let mut v = open.0.repeat(depth);
        if closed {
            v.push_str("null");
            v.push_str(&open.1.repeat(depth));
        }
        // A closed, shallow enough value may be accepted where a free-form
        // value is allowed; beyond serde_json's 128 levels nothing is, except
        // in a field nothing reads (skipped without recursion, at any depth).
        let free_form = matches!(place, Place::Object | Place::Spec);
        let may_succeed =
            closed && (matches!(place, Place::Unknown) || (depth < 128 && free_form));
        hostile(&embed(place, &v), path_prefix(place), may_succeed)?;
    }

    #[test]
    fn huge_and_odd_numbers_are_errors_or_values_never_panics(
        digits in 1usize..20_000,
        form in 0u8..6,
        neg in any::<bool>(),
        place in arb_place(),
    ) {
        let body = "9".repeat(digits);
        let n = match form {
            0 => body,
            1 => format!("1e{body}"),
            2 => format!("1e-{body}"),
            3 => format!("0.{body}"),
            4 => format!("{body}.5e{digits}"),
            _ => format!("1{}", "0".repeat(digits)),
        };
        let n = if neg { format!("-{n}") } else { n };
        // Numbers are values only where the type says so: free-form fields
        // (as f64 when in range), or small integers in `code`/`generation`.
        let may_succeed = !matches!(place, Place::Line | Place::Type | Place::Object);
        hostile(&embed(place, &n), path_prefix(place), may_succeed)?;
    }

    #[test]
    fn bad_utf8_and_escapes_in_strings_are_errors_naming_the_field(
        junk in prop::collection::vec(
            prop::sample::select(vec![
                &b"\xff"[..], b"\xfe", b"\xc3", b"\x80", b"\xed\xa0\x80", b"\xf4\x90\x80\x80",
                b"\\ud800", b"\\udc00x", b"\\u12", b"\\x", b"\\", b"\x00", b"\x1f", b"\"",
            ]),
            1..4,
        ),
        at in any::<Index>(),
        in_type in any::<bool>(),
    ) {
        let junk: Vec<u8> = junk.concat();
        let (before, word, after): (&[u8], &[u8], &[u8]) = if in_type {
            (b"{\"type\":\"", b"ADDED", b"\",\"object\":{}}")
        } else {
            (b"{\"type\":\"ADDED\",\"object\":{\"metadata\":{\"name\":\"", b"web-0", b"\"}}}")
        };
        let i = at.index(word.len() + 1);
        let mut line = before.to_vec();
        line.extend_from_slice(&word[..i]);
        line.extend_from_slice(&junk);
        line.extend_from_slice(&word[i..]);
        line.extend_from_slice(after);
        line.push(b'\n');
        line.extend_from_slice(NEXT.as_bytes());
        let results = decode_whole(&line);
        check_errors(&results)?;
        prop_assert_eq!(results.len(), 2);
        prop_assert!(is_next(&results[1]), "{}", show(&results[1]));
        // A stray quote can close the string early: then the line is
        // malformed as a whole (or in `object`), which is also an error.
        // A backslash at the very end escapes the closing quote, with the same effect.
        let closes_early = junk.contains(&b'"') || (i == word.len() && junk.ends_with(b"\\"));
        let prefix = if in_type && !closes_early { "type" } else { "" };
        match error_path(&results[0]) {
            Some(path) => prop_assert!(path.starts_with(prefix), "{}", show(&results[0])),
            // Inserting into the name may still leave a valid string.
            None => prop_assert!(!in_type, "accepted: {}", show(&results[0])),
        }
    }

    #[test]
    fn unknown_or_ill_typed_event_types_are_errors_at_type(
        ty in prop_oneof![
            "(?s).{0,16}".prop_map(|s| json!(s)),
            prop::sample::select(vec!["added", "Added", " ADDED", "ADDED ", "BOOKMARKS", ""])
                .prop_map(|s| json!(s)),
            Just(json!(null)),
            any::<i64>().prop_map(|n| json!(n)),
            Just(json!(["ADDED"])),
            Just(json!({"ADDED": true})),
        ],
    ) {
        let known = ["ADDED", "MODIFIED", "DELETED", "BOOKMARK", "ERROR"];
        prop_assume!(!ty.as_str().is_some_and(|t| known.contains(&t)));
        let line = embed(Place::Type, &ty.to_string());
        hostile(&line, "type", false)?;
        let results = decode_whole(line.as_bytes());
        // (A type written with escapes is refused before the type check: only
        // plain strings are borrowed.)
        if let (Some(t), Err(Error::Decode { message, .. })) = (ty.as_str(), &results[0])
            && !ty.to_string().contains('\\')
        {
            prop_assert!(message.contains(&format!("{t:?}")), "{}", message);
        }
    }

    #[test]
    fn hostile_metadata_values_are_errors_under_object(
        field in prop::sample::select(vec![
            "creationTimestamp", "deletionTimestamp", "generation", "labels", "annotations",
            "finalizers", "ownerReferences", "managedFields", "resourceVersion", "uid",
        ]),
        value in prop_oneof![
            "[0-9TZ:.+-]{0,40}".prop_map(|s| json!(s)),
            "(?s).{0,24}".prop_map(|s| json!(s)),
            any::<i64>().prop_map(|n| json!(n)),
            any::<bool>().prop_map(|b| json!(b)),
            Just(json!([{"fieldsV1": "x", "time": "yesterday"}])),
            Just(json!({"k": 1})),
            Just(json!([null])),
        ],
    ) {
        let line = format!(
            r#"{{"type":"ADDED","object":{{"metadata":{{"name":"m","{field}":{value}}}}}}}"#
        );
        hostile(&line, "object", true)?;
    }
}

/// A line that never ends is refused at [`MAX_WATCH_EVENT_BYTES`]: one error,
/// and the body is not read (or buffered) any further.
#[test]
fn a_line_longer_than_the_cap_is_refused_without_reading_on() {
    const MIB: usize = 1 << 20;
    let chunk = Bytes::from(vec![b'x'; MIB]);
    let total = MAX_WATCH_EVENT_BYTES / MIB + 16;
    let pulled = Arc::new(AtomicUsize::new(0));
    let seen = pulled.clone();
    let body = futures::stream::iter((0..total).map(move |_| {
        seen.fetch_add(1, Ordering::Relaxed);
        Ok(chunk.clone())
    }))
    .chain(futures::stream::iter([Ok(Bytes::from(format!(
        "\n{NEXT}\n"
    )))]));
    let results: Vec<Decoded> =
        block_on(decode_stream::<DynamicObject, _>(REQ.to_owned(), body, Framing::Lines).collect());
    assert_eq!(
        results.len(),
        1,
        "{:?}",
        results.iter().map(show).collect::<Vec<_>>()
    );
    match &results[0] {
        Err(Error::Decode { message, .. }) => {
            assert!(message.contains("without a line end"), "{message}")
        }
        other => panic!("{}", show(other)),
    }
    let pulled = pulled.load(Ordering::Relaxed);
    assert!(
        pulled <= MAX_WATCH_EVENT_BYTES / MIB + 1,
        "read {pulled} MiB past a {MAX_WATCH_EVENT_BYTES}-byte cap"
    );
}
