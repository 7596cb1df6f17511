//! Protobuf, as the API server speaks it for built-in kinds.
//!
//! Generated types implement [`Message`] from the `generated.proto` files of
//! the Kubernetes release (field numbers and wire types) into the same Rust
//! structs JSON decodes into: one type for users, two encodings. The wire
//! primitives (varints, keys, skipping) are prost's encoding module, with a
//! fast path for the one-byte keys and lengths that most fields have; what
//! is here is Kubernetes' side of it:
//!
//! - field forms ([`one`], [`opt`], [`list`], [`opt_list`], [`map`],
//!   [`opt_map`]) over [`Codec`]s that say how one value travels (a scalar, a
//!   message, a string kept as base64 text that protobuf carries as bytes, a
//!   string list wrapped in a message);
//! - presence as Go writes it: a non-pointer field is always written, even
//!   when zero, while JSON omits it, so a zero read from such a field is unset
//!   ([`opt::merge_nonzero`]), and a zero `Time` is an empty message;
//! - the envelope ([`decode_envelope`], [`encode_envelope`]): the magic
//!   `k8s\0` and a `runtime.Unknown` carrying apiVersion, kind and the bytes;
//! - the special types of apimachinery (Time, MicroTime, Quantity,
//!   IntOrString, RawExtension, FieldsV1, the meta types), in [`crate::meta`].
//!
//! Decoding builds each struct from its fields' values (no `Default` needed),
//! sizes lists and maps exactly ([`occurrences`]), shares a sub-object whose
//! bytes equal a recent one's without decoding it again (as JSON decoding
//! shares equal values), and reports a failure with the field path it
//! happened at.

use std::fmt;
use std::sync::Arc;

use compact_str::CompactString;
pub use prost::encoding::WireType;
use prost::encoding::{DecodeContext, decode_varint, encode_varint, encoded_len_varint};

use crate::sorted_map::SortedMap;

/// The bytes every protobuf-encoded object starts with.
pub const MAGIC: &[u8; 4] = b"k8s\0";
/// The media type of protobuf bodies.
pub const MEDIA_TYPE: &str = "application/vnd.kubernetes.protobuf";

/// How deep messages may nest before decoding gives up (prost's limit).
const MAX_DEPTH: u32 = 100;

/// A protobuf body that could not be decoded: what went wrong and where
/// (`items[3].spec.containers[0].name`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DecodeError {
    message: String,
    /// Path segments, innermost first (pushed while unwinding).
    path: Vec<PathSegment>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum PathSegment {
    Field(&'static str),
    Index(usize),
    Key(CompactString),
}

impl DecodeError {
    /// A failure described by `message`.
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            path: Vec::new(),
        }
    }

    /// The failure, inside field `name`.
    pub fn at(mut self, name: &'static str) -> Self {
        self.path.push(PathSegment::Field(name));
        self
    }

    /// The failure, inside item `i` of a list.
    pub fn at_index(mut self, i: usize) -> Self {
        self.path.push(PathSegment::Index(i));
        self
    }

    fn at_key(mut self, key: &str) -> Self {
        self.path.push(PathSegment::Key(key.into()));
        self
    }

    /// Where it failed, as a path from the top (`.` for the top itself).
    pub fn path(&self) -> String {
        let mut out = String::new();
        for seg in self.path.iter().rev() {
            match seg {
                PathSegment::Field(f) => {
                    if !out.is_empty() {
                        out.push('.');
                    }
                    out.push_str(f);
                }
                PathSegment::Index(i) => out.push_str(&format!("[{i}]")),
                PathSegment::Key(k) => out.push_str(&format!("[{k:?}]")),
            }
        }
        if out.is_empty() { ".".into() } else { out }
    }

    /// What went wrong, without the path.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (at {})", self.message, self.path())
    }
}

impl std::error::Error for DecodeError {}

impl From<prost::DecodeError> for DecodeError {
    fn from(e: prost::DecodeError) -> Self {
        Self::new(e.to_string())
    }
}

/// Result of decoding.
pub type Result<T, E = DecodeError> = std::result::Result<T, E>;

/// A protobuf message: a struct whose fields have numbers.
pub trait Message: Sized {
    /// Decodes the message's fields (the bytes inside its length prefix).
    /// `depth` counts the messages around it.
    fn decode_fields(buf: &[u8], depth: u32) -> Result<Self>;
    /// Appends the message's fields.
    fn encode_fields(&self, buf: &mut Vec<u8>);
    /// The length [`encode_fields`](Self::encode_fields) appends.
    fn fields_len(&self) -> usize;
    /// Whether the value means "unset" when it is the value of an optional
    /// field (Go's zero `Time`, written as an empty message).
    fn is_unset(&self) -> bool {
        false
    }
}

/// How a kind travels in protobuf, for code generic over kinds (the
/// client, the reflector): [`Object::PROTOBUF`](crate::Object::PROTOBUF).
pub struct Protobuf<K> {
    decode: fn(&[u8], u32) -> Result<K>,
    encode: fn(&K, &mut Vec<u8>),
    len: fn(&K) -> usize,
    set_type_meta: fn(&mut K, &str, &str),
    empty: Option<fn() -> K>,
}

impl<K> Clone for Protobuf<K> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<K> Copy for Protobuf<K> {}

impl<K: Message + Default> Protobuf<K> {
    /// The codec of a message type.
    pub const fn new() -> Self {
        Self {
            empty: Some(K::default),
            ..Self::without_empty()
        }
    }
}

impl<K: Message> Protobuf<K> {
    /// The codec of a message type that has no empty value (a required
    /// field without a zero, as events.k8s.io Event's `eventTime`): its large
    /// lists decode on one thread (see [`empty`](Self::empty)).
    pub const fn without_empty() -> Self {
        Self {
            decode: K::decode_fields,
            encode: K::encode_fields,
            len: K::fields_len,
            set_type_meta: |_, _, _| {},
            empty: None,
        }
    }

    /// With a setter of the object's `apiVersion` and `kind`, which
    /// protobuf carries in the envelope and JSON in the object.
    pub const fn with_type_meta(mut self, set: fn(&mut K, &str, &str)) -> Self {
        self.set_type_meta = set;
        self
    }
}

impl<K: Message + Default> Default for Protobuf<K> {
    fn default() -> Self {
        Self::new()
    }
}

impl<K> Protobuf<K> {
    /// Decodes an object from its message bytes (inside the envelope).
    pub fn decode(&self, raw: &[u8]) -> Result<K> {
        (self.decode)(raw, 0)
    }

    /// Decodes the object an envelope holds, with the envelope's apiVersion
    /// and kind, as a JSON read has them.
    pub fn decode_envelope(&self, env: &Envelope<'_>) -> Result<K> {
        let mut obj = (self.decode)(env.raw, 0)?;
        (self.set_type_meta)(&mut obj, env.api_version, env.kind);
        Ok(obj)
    }

    /// The object in the envelope, as a protobuf request body.
    pub fn encode_envelope(&self, api_version: &str, kind: &str, obj: &K) -> Vec<u8> {
        envelope(api_version, kind, (self.len)(obj), |buf| {
            (self.encode)(obj, buf)
        })
    }

    /// Appends the object's message bytes.
    pub fn encode(&self, obj: &K, buf: &mut Vec<u8>) {
        (self.encode)(obj, buf)
    }

    /// The kind's empty value, when it has one: what holds a failed item's
    /// place while a list's items decode in parallel, until the error drops
    /// the list.
    pub fn empty(&self) -> Option<fn() -> K> {
        self.empty
    }
}

/// Decodes a whole message from `buf` (no envelope, no length prefix).
pub fn decode<M: Message>(buf: &[u8]) -> Result<M> {
    M::decode_fields(buf, 0)
}

/// Encodes a whole message (no envelope, no length prefix).
pub fn encode<M: Message>(msg: &M) -> Vec<u8> {
    let mut buf = Vec::with_capacity(msg.fields_len());
    msg.encode_fields(&mut buf);
    buf
}

/// The next field's number and wire type.
#[inline]
pub fn key(buf: &mut &[u8]) -> Result<(u32, WireType)> {
    // Keys of fields numbered below 16 are one byte: read those here, the
    // rest (and every error) as prost does.
    if let Some((&b, rest)) = buf.split_first()
        && (8..0x80).contains(&b)
        && let Ok(wire) = WireType::try_from(u64::from(b & 7))
    {
        *buf = rest;
        return Ok((u32::from(b >> 3), wire));
    }
    Ok(prost::encoding::decode_key(buf)?)
}

/// Skips a field this type does not know (a newer server's field), or one
/// being counted.
#[inline]
pub fn skip(wire: WireType, tag: u32, buf: &mut &[u8]) -> Result<()> {
    match wire {
        WireType::Varint => {
            varint(buf)?;
            Ok(())
        }
        WireType::LengthDelimited => delimited(buf).map(|_| ()),
        _ => Ok(prost::encoding::skip_field(
            wire,
            tag,
            buf,
            DecodeContext::default(),
        )?),
    }
}

/// The fields of an embedded message: a Go embedded struct, whose fields
/// JSON writes inline and protobuf in a message of their own.
pub fn embedded<'a>(wire: WireType, buf: &mut &'a [u8], name: &'static str) -> Result<&'a [u8]> {
    check_wire(WireType::LengthDelimited, wire).map_err(|e| e.at(name))?;
    delimited(buf).map_err(|e| e.at(name))
}

/// Writes the key and length of an embedded message of `len` bytes; its
/// fields follow.
pub fn embedded_header(tag: u32, len: usize, buf: &mut Vec<u8>) {
    put_key(tag, WireType::LengthDelimited, buf);
    encode_varint(len as u64, buf);
}

/// What an embedded message of `len` bytes takes, key included.
pub fn embedded_len(tag: u32, len: usize) -> usize {
    key_len(tag) + delimited_len(len)
}

/// A required field that has no zero value to fall back on (a `Time`, a
/// struct with such fields) was absent.
pub fn required<T>(v: Option<T>, message: &'static str, field: &'static str) -> Result<T> {
    v.ok_or_else(|| DecodeError::new(format!("{message}: required field missing")).at(field))
}

/// How one value travels: its wire type and bytes.
pub trait Codec<T> {
    /// The wire type of one value.
    const WIRE: WireType;
    /// Whether repeated values may come packed into one length-delimited run.
    const PACKABLE: bool = false;
    /// Reads one value.
    fn decode(buf: &mut &[u8], depth: u32) -> Result<T>;
    /// Writes one value (with its length prefix when length-delimited).
    fn encode(v: &T, buf: &mut Vec<u8>);
    /// The length [`encode`](Self::encode) writes.
    fn len(v: &T) -> usize;
    /// Whether an optional field holding `v` is unset (see [`Message::is_unset`]).
    fn is_unset(_v: &T) -> bool {
        false
    }
}

#[inline]
fn check_wire(expected: WireType, actual: WireType) -> Result<()> {
    if expected == actual {
        Ok(())
    } else {
        Err(DecodeError::new(format!(
            "wire type {actual:?} where {expected:?} was expected"
        )))
    }
}

#[inline]
fn varint(buf: &mut &[u8]) -> Result<u64> {
    // Most varints (lengths, small numbers) are one byte.
    if let Some((&b, rest)) = buf.split_first()
        && b < 0x80
    {
        *buf = rest;
        return Ok(u64::from(b));
    }
    Ok(decode_varint(buf)?)
}

/// The bytes of a length-delimited value.
#[inline]
fn delimited<'a>(buf: &mut &'a [u8]) -> Result<&'a [u8]> {
    let len = varint(buf)?;
    let len = usize::try_from(len)
        .ok()
        .filter(|l| *l <= buf.len())
        .ok_or_else(|| DecodeError::new(format!("length {len} runs past the end of the buffer")))?;
    let (v, rest) = buf.split_at(len);
    *buf = rest;
    Ok(v)
}

#[inline]
fn delimited_len(len: usize) -> usize {
    encoded_len_varint(len as u64) + len
}

#[inline]
fn put_key(tag: u32, wire: WireType, buf: &mut Vec<u8>) {
    prost::encoding::encode_key(tag, wire, buf);
}

#[inline]
fn key_len(tag: u32) -> usize {
    prost::encoding::key_len(tag)
}

/// `bool`.
pub struct Bool;
/// `int32` (negative values sign-extended to ten bytes, as Go writes them).
pub struct Int32;
/// `int64`.
pub struct Int64;
/// `double`.
pub struct Double;
/// `string`.
pub struct Str;
/// `bytes` that the JSON model keeps as base64 text (`format: byte`).
pub struct Base64;
/// `bytes` that hold JSON text, for a field the model keeps as a JSON value.
pub struct JsonBytes;
/// A message.
pub struct Msg;
/// A message behind an `Arc`, shared with equal values decoded recently.
pub struct Shared;
/// An empty message, kept by the model as free-form JSON (`{}`).
pub struct Empty;
/// A string list wrapped in a message of one `repeated string items = 1`
/// (`Verbs`, `ExtraValue`): Go's named slice types.
pub struct Items;

impl Codec<bool> for Bool {
    const WIRE: WireType = WireType::Varint;
    const PACKABLE: bool = true;
    fn decode(buf: &mut &[u8], _: u32) -> Result<bool> {
        Ok(varint(buf)? != 0)
    }
    fn encode(v: &bool, buf: &mut Vec<u8>) {
        encode_varint(u64::from(*v), buf);
    }
    fn len(_: &bool) -> usize {
        1
    }
}

impl Codec<i32> for Int32 {
    const WIRE: WireType = WireType::Varint;
    const PACKABLE: bool = true;
    fn decode(buf: &mut &[u8], _: u32) -> Result<i32> {
        // Truncation is protobuf's rule for int32.
        Ok(varint(buf)? as i32)
    }
    fn encode(v: &i32, buf: &mut Vec<u8>) {
        encode_varint(i64::from(*v) as u64, buf);
    }
    fn len(v: &i32) -> usize {
        encoded_len_varint(i64::from(*v) as u64)
    }
}

impl Codec<i64> for Int64 {
    const WIRE: WireType = WireType::Varint;
    const PACKABLE: bool = true;
    fn decode(buf: &mut &[u8], _: u32) -> Result<i64> {
        Ok(varint(buf)? as i64)
    }
    fn encode(v: &i64, buf: &mut Vec<u8>) {
        encode_varint(*v as u64, buf);
    }
    fn len(v: &i64) -> usize {
        encoded_len_varint(*v as u64)
    }
}

impl Codec<f64> for Double {
    const WIRE: WireType = WireType::SixtyFourBit;
    const PACKABLE: bool = true;
    fn decode(buf: &mut &[u8], _: u32) -> Result<f64> {
        let (b, rest) = buf
            .split_first_chunk::<8>()
            .ok_or_else(|| DecodeError::new("a double runs past the end of the buffer"))?;
        *buf = rest;
        Ok(f64::from_le_bytes(*b))
    }
    fn encode(v: &f64, buf: &mut Vec<u8>) {
        buf.extend_from_slice(&v.to_le_bytes());
    }
    fn len(_: &f64) -> usize {
        8
    }
}

impl Codec<CompactString> for Str {
    const WIRE: WireType = WireType::LengthDelimited;
    #[inline]
    fn decode(buf: &mut &[u8], _: u32) -> Result<CompactString> {
        utf8(delimited(buf)?).map(CompactString::from)
    }
    fn encode(v: &CompactString, buf: &mut Vec<u8>) {
        encode_varint(v.len() as u64, buf);
        buf.extend_from_slice(v.as_bytes());
    }
    fn len(v: &CompactString) -> usize {
        delimited_len(v.len())
    }
}

impl Codec<CompactString> for Base64 {
    const WIRE: WireType = WireType::LengthDelimited;
    fn decode(buf: &mut &[u8], _: u32) -> Result<CompactString> {
        use base64::Engine as _;
        Ok(base64::engine::general_purpose::STANDARD
            .encode(delimited(buf)?)
            .into())
    }
    fn encode(v: &CompactString, buf: &mut Vec<u8>) {
        let raw = decode_base64(v);
        encode_varint(raw.len() as u64, buf);
        buf.extend_from_slice(&raw);
    }
    fn len(v: &CompactString) -> usize {
        delimited_len(decode_base64(v).len())
    }
}

/// The bytes base64 text stands for; text that is not base64 (a value the
/// server would reject) is sent as it is, for the server to name.
fn decode_base64(text: &str) -> Vec<u8> {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD
        .decode(text)
        .unwrap_or_else(|_| text.as_bytes().to_vec())
}

impl Codec<serde_json::Value> for JsonBytes {
    const WIRE: WireType = WireType::LengthDelimited;
    fn decode(buf: &mut &[u8], _: u32) -> Result<serde_json::Value> {
        serde_json::from_slice(delimited(buf)?)
            .map_err(|e| DecodeError::new(format!("embedded JSON does not parse: {e}")))
    }
    fn encode(v: &serde_json::Value, buf: &mut Vec<u8>) {
        let text = v.to_string();
        encode_varint(text.len() as u64, buf);
        buf.extend_from_slice(text.as_bytes());
    }
    fn len(v: &serde_json::Value) -> usize {
        delimited_len(v.to_string().len())
    }
}

impl<M: Message> Codec<M> for Msg {
    const WIRE: WireType = WireType::LengthDelimited;
    #[inline]
    fn decode(buf: &mut &[u8], depth: u32) -> Result<M> {
        if depth >= MAX_DEPTH {
            return Err(DecodeError::new("messages nest too deep"));
        }
        M::decode_fields(delimited(buf)?, depth + 1)
    }
    fn encode(v: &M, buf: &mut Vec<u8>) {
        encode_varint(v.fields_len() as u64, buf);
        v.encode_fields(buf);
    }
    fn len(v: &M) -> usize {
        delimited_len(v.fields_len())
    }
    fn is_unset(v: &M) -> bool {
        v.is_unset()
    }
}

impl<M: Message + PartialEq + Send + Sync + 'static> Codec<Arc<M>> for Shared {
    const WIRE: WireType = WireType::LengthDelimited;
    fn decode(buf: &mut &[u8], depth: u32) -> Result<Arc<M>> {
        if depth >= MAX_DEPTH {
            return Err(DecodeError::new("messages nest too deep"));
        }
        let bytes = delimited(buf)?;
        crate::shared_values::share_encoded(bytes, || M::decode_fields(bytes, depth + 1))
    }
    fn encode(v: &Arc<M>, buf: &mut Vec<u8>) {
        <Msg as Codec<M>>::encode(v, buf);
    }
    fn len(v: &Arc<M>) -> usize {
        <Msg as Codec<M>>::len(v)
    }
}

impl Codec<serde_json::Value> for Empty {
    const WIRE: WireType = WireType::LengthDelimited;
    fn decode(buf: &mut &[u8], _: u32) -> Result<serde_json::Value> {
        // Fields a newer server added are skipped, as for any message.
        let mut inner = delimited(buf)?;
        while !inner.is_empty() {
            let (tag, wire) = key(&mut inner)?;
            skip(wire, tag, &mut inner)?;
        }
        Ok(serde_json::Value::Object(serde_json::Map::new()))
    }
    fn encode(_: &serde_json::Value, buf: &mut Vec<u8>) {
        encode_varint(0, buf);
    }
    fn len(_: &serde_json::Value) -> usize {
        1
    }
}

impl Codec<Vec<CompactString>> for Items {
    const WIRE: WireType = WireType::LengthDelimited;
    fn decode(buf: &mut &[u8], depth: u32) -> Result<Vec<CompactString>> {
        let mut inner = delimited(buf)?;
        let mut items = Vec::new();
        while !inner.is_empty() {
            let (tag, wire) = key(&mut inner)?;
            match tag {
                1 => list::merge::<Str, _>(&mut items, 1, wire, &mut inner, depth, "items")?,
                _ => skip(wire, tag, &mut inner)?,
            }
        }
        items.shrink_to_fit();
        Ok(items)
    }
    fn encode(v: &Vec<CompactString>, buf: &mut Vec<u8>) {
        encode_varint(list::len::<Str, _>(v, 1) as u64, buf);
        list::encode::<Str, _>(v, 1, buf);
    }
    fn len(v: &Vec<CompactString>) -> usize {
        delimited_len(list::len::<Str, _>(v, 1))
    }
}

/// A field holding one value, always written (Go's non-pointer fields).
pub mod one {
    use super::*;

    /// Reads an occurrence of the field; the last one wins.
    #[inline]
    pub fn merge<C: Codec<T>, T>(
        slot: &mut T,
        wire: WireType,
        buf: &mut &[u8],
        depth: u32,
        name: &'static str,
    ) -> Result<()> {
        check_wire(C::WIRE, wire).map_err(|e| e.at(name))?;
        *slot = C::decode(buf, depth).map_err(|e| e.at(name))?;
        Ok(())
    }

    /// Writes the field.
    pub fn encode<C: Codec<T>, T>(v: &T, tag: u32, buf: &mut Vec<u8>) {
        put_key(tag, C::WIRE, buf);
        C::encode(v, buf);
    }

    /// What [`encode`] writes.
    pub fn len<C: Codec<T>, T>(v: &T, tag: u32) -> usize {
        key_len(tag) + C::len(v)
    }
}

/// An optional field: written when set.
pub mod opt {
    use super::*;

    /// Reads an occurrence of the field (an unset value, such as an empty
    /// `Time`, leaves it unset).
    #[inline]
    pub fn merge<C: Codec<T>, T>(
        slot: &mut Option<T>,
        wire: WireType,
        buf: &mut &[u8],
        depth: u32,
        name: &'static str,
    ) -> Result<()> {
        check_wire(C::WIRE, wire).map_err(|e| e.at(name))?;
        let v = C::decode(buf, depth).map_err(|e| e.at(name))?;
        *slot = (!C::is_unset(&v)).then_some(v);
        Ok(())
    }

    /// Reads an occurrence of a field Go writes even when zero and JSON omits
    /// then: zero means unset.
    #[inline]
    pub fn merge_nonzero<C: Codec<T>, T: Default + PartialEq>(
        slot: &mut Option<T>,
        wire: WireType,
        buf: &mut &[u8],
        depth: u32,
        name: &'static str,
    ) -> Result<()> {
        merge::<C, T>(slot, wire, buf, depth, name)?;
        if slot.as_ref().is_some_and(|v| *v == T::default()) {
            *slot = None;
        }
        Ok(())
    }

    /// Writes the field when set.
    pub fn encode<C: Codec<T>, T>(v: &Option<T>, tag: u32, buf: &mut Vec<u8>) {
        if let Some(v) = v {
            one::encode::<C, T>(v, tag, buf);
        }
    }

    /// What [`encode`] writes.
    pub fn len<C: Codec<T>, T>(v: &Option<T>, tag: u32) -> usize {
        v.as_ref().map_or(0, |v| one::len::<C, T>(v, tag))
    }

    /// Writes a field [`merge_nonzero`] reads: its zero when unset, as Go
    /// writes a non-pointer field (the same bytes as Go's).
    pub fn encode_nonzero<C: Codec<T>, T: Default>(v: &Option<T>, tag: u32, buf: &mut Vec<u8>) {
        match v {
            Some(v) => one::encode::<C, T>(v, tag, buf),
            None => one::encode::<C, T>(&T::default(), tag, buf),
        }
    }

    /// Writes a non-pointer message field of Go whose zero is an empty
    /// message (a `Time`): an empty message when unset, as Go does.
    pub fn encode_or_empty<C: Codec<T>, T>(v: &Option<T>, tag: u32, buf: &mut Vec<u8>) {
        match v {
            Some(v) => one::encode::<C, T>(v, tag, buf),
            None => {
                put_key(tag, WireType::LengthDelimited, buf);
                buf.push(0);
            }
        }
    }

    /// What [`encode_or_empty`] writes.
    pub fn len_or_empty<C: Codec<T>, T>(v: &Option<T>, tag: u32) -> usize {
        v.as_ref()
            .map_or(key_len(tag) + 1, |v| one::len::<C, T>(v, tag))
    }

    /// What [`encode_nonzero`] writes.
    pub fn len_nonzero<C: Codec<T>, T: Default>(v: &Option<T>, tag: u32) -> usize {
        match v {
            Some(v) => one::len::<C, T>(v, tag),
            None => one::len::<C, T>(&T::default(), tag),
        }
    }
}

/// How many values of field `tag` come in a row in `buf`, the rest of a
/// message positioned just after a key of that field (counted: 1). Go writes
/// a repeated field's values together, so this finds them all, reading only
/// their keys and lengths, and sizes a list or map exactly at its first
/// value: no growth, no trim. (Values written apart still decode; the list
/// then grows.)
pub fn occurrences(tag: u32, wire: WireType, buf: &[u8]) -> usize {
    let mut rest = buf;
    let mut n = 1;
    if skip(wire, tag, &mut rest).is_err() {
        return n;
    }
    // The end of the message is not read as a key: that fails, and a
    // failure allocates its error.
    while !rest.is_empty()
        && let Ok((t, w)) = key(&mut rest)
    {
        if t != tag || skip(w, t, &mut rest).is_err() {
            break;
        }
        n += 1;
    }
    n
}

/// A repeated field.
pub mod list {
    use super::*;

    /// Reads an occurrence of field `tag`: one value, or a packed run of
    /// scalars. The first sizes the list for all.
    #[inline]
    pub fn merge<C: Codec<T>, T>(
        items: &mut Vec<T>,
        tag: u32,
        wire: WireType,
        buf: &mut &[u8],
        depth: u32,
        name: &'static str,
    ) -> Result<()> {
        if items.capacity() == 0 && wire == C::WIRE {
            items.reserve_exact(occurrences(tag, wire, buf));
        }
        let at = |e: DecodeError, i: usize| e.at_index(i).at(name);
        if C::PACKABLE && wire == WireType::LengthDelimited {
            let mut run = delimited(buf).map_err(|e| e.at(name))?;
            while !run.is_empty() {
                let i = items.len();
                items.push(C::decode(&mut run, depth).map_err(|e| at(e, i))?);
            }
            return Ok(());
        }
        let i = items.len();
        check_wire(C::WIRE, wire).map_err(|e| at(e, i))?;
        items.push(C::decode(buf, depth).map_err(|e| at(e, i))?);
        Ok(())
    }

    /// Writes each value under the field's key (unpacked, as Go writes proto2).
    pub fn encode<C: Codec<T>, T>(items: &[T], tag: u32, buf: &mut Vec<u8>) {
        for v in items {
            one::encode::<C, T>(v, tag, buf);
        }
    }

    /// What [`encode`] writes.
    pub fn len<C: Codec<T>, T>(items: &[T], tag: u32) -> usize {
        items.iter().map(|v| one::len::<C, T>(v, tag)).sum()
    }
}

/// An optional repeated field: unset when it has no values.
pub mod opt_list {
    use super::*;

    /// Reads an occurrence.
    #[inline]
    pub fn merge<C: Codec<T>, T>(
        items: &mut Option<Vec<T>>,
        tag: u32,
        wire: WireType,
        buf: &mut &[u8],
        depth: u32,
        name: &'static str,
    ) -> Result<()> {
        list::merge::<C, T>(items.get_or_insert_default(), tag, wire, buf, depth, name)
    }

    /// Writes each value.
    pub fn encode<C: Codec<T>, T>(items: &Option<Vec<T>>, tag: u32, buf: &mut Vec<u8>) {
        if let Some(items) = items {
            list::encode::<C, T>(items, tag, buf);
        }
    }

    /// What [`encode`] writes.
    pub fn len<C: Codec<T>, T>(items: &Option<Vec<T>>, tag: u32) -> usize {
        items.as_deref().map_or(0, |v| list::len::<C, T>(v, tag))
    }
}

/// A `map<string, V>` field: repeated entries `{ key = 1; value = 2 }`.
pub mod map {
    use super::*;

    /// Reads one entry of field `tag`; the first sizes the map for all.
    pub fn merge<C: Codec<V>, V>(
        map: &mut SortedMap<CompactString, V>,
        tag: u32,
        wire: WireType,
        buf: &mut &[u8],
        depth: u32,
        name: &'static str,
    ) -> Result<()> {
        check_wire(WireType::LengthDelimited, wire).map_err(|e| e.at(name))?;
        if map.is_empty() {
            map.reserve_exact(occurrences(tag, wire, buf));
        }
        let mut entry = delimited(buf).map_err(|e| e.at(name))?;
        let mut k = CompactString::default();
        let mut v = None;
        while !entry.is_empty() {
            let (tag, wire) = key(&mut entry).map_err(|e| e.at(name))?;
            match tag {
                1 => one::merge::<Str, _>(&mut k, wire, &mut entry, depth, "key")
                    .map_err(|e| e.at(name))?,
                2 => {
                    check_wire(C::WIRE, wire).map_err(|e| e.at_key(&k).at(name))?;
                    v = Some(C::decode(&mut entry, depth).map_err(|e| e.at_key(&k).at(name))?);
                }
                _ => skip(wire, tag, &mut entry).map_err(|e| e.at(name))?,
            }
        }
        // An entry without a value holds the value's zero (its zero bytes).
        let v = match v {
            Some(v) => v,
            None => {
                let zero: &[u8] = if C::WIRE == WireType::SixtyFourBit {
                    &[0; 8]
                } else {
                    &[0]
                };
                C::decode(&mut &zero[..], depth).map_err(|e| e.at_key(&k).at(name))?
            }
        };
        map.insert(k, v);
        Ok(())
    }

    /// Writes each entry, in key order (as Go does).
    pub fn encode<C: Codec<V>, V>(map: &SortedMap<CompactString, V>, tag: u32, buf: &mut Vec<u8>) {
        for (k, v) in map {
            put_key(tag, WireType::LengthDelimited, buf);
            encode_varint(entry_len::<C, V>(k, v) as u64, buf);
            one::encode::<Str, _>(k, 1, buf);
            one::encode::<C, V>(v, 2, buf);
        }
    }

    fn entry_len<C: Codec<V>, V>(k: &CompactString, v: &V) -> usize {
        one::len::<Str, _>(k, 1) + one::len::<C, V>(v, 2)
    }

    /// What [`encode`] writes.
    pub fn len<C: Codec<V>, V>(map: &SortedMap<CompactString, V>, tag: u32) -> usize {
        map.iter()
            .map(|(k, v)| key_len(tag) + delimited_len(entry_len::<C, V>(k, v)))
            .sum()
    }
}

/// An optional map: unset when it has no entries.
pub mod opt_map {
    use super::*;

    /// Reads one entry.
    pub fn merge<C: Codec<V>, V>(
        map: &mut Option<SortedMap<CompactString, V>>,
        tag: u32,
        wire: WireType,
        buf: &mut &[u8],
        depth: u32,
        name: &'static str,
    ) -> Result<()> {
        map::merge::<C, V>(map.get_or_insert_default(), tag, wire, buf, depth, name)
    }

    /// Writes each entry.
    pub fn encode<C: Codec<V>, V>(
        map: &Option<SortedMap<CompactString, V>>,
        tag: u32,
        buf: &mut Vec<u8>,
    ) {
        if let Some(map) = map {
            map::encode::<C, V>(map, tag, buf);
        }
    }

    /// What [`encode`] writes.
    pub fn len<C: Codec<V>, V>(map: &Option<SortedMap<CompactString, V>>, tag: u32) -> usize {
        map.as_ref().map_or(0, |m| map::len::<C, V>(m, tag))
    }
}

/// Trims a decoded field to its length (lists and maps grow by doubling
/// while decoding; a cached object keeps exactly what it holds).
pub trait Trim {
    /// Drops spare capacity.
    fn trim(&mut self) {}
}

impl<T> Trim for Vec<T> {
    fn trim(&mut self) {
        self.shrink_to_fit();
    }
}

impl<T> Trim for Option<Vec<T>> {
    fn trim(&mut self) {
        if let Some(v) = self {
            v.shrink_to_fit();
        }
    }
}

impl<V> Trim for SortedMap<CompactString, V> {
    fn trim(&mut self) {
        self.shrink_to_fit();
    }
}

impl<V> Trim for Option<SortedMap<CompactString, V>> {
    fn trim(&mut self) {
        if let Some(m) = self {
            m.shrink_to_fit();
        }
    }
}

/// A decoded list or map, trimmed.
#[inline]
pub fn trimmed<T: Trim>(mut v: T) -> T {
    v.trim();
    v
}

/// `runtime.Unknown`: an object in the envelope the server wraps protobuf
/// bodies in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Envelope<'a> {
    /// `apiVersion` of the object.
    pub api_version: &'a str,
    /// `kind` of the object.
    pub kind: &'a str,
    /// The object's own protobuf bytes.
    pub raw: &'a [u8],
}

/// Reads the envelope: the magic, then a `runtime.Unknown`.
pub fn decode_envelope(body: &[u8]) -> Result<Envelope<'_>> {
    let Some(mut buf) = body.strip_prefix(MAGIC) else {
        return Err(DecodeError::new(
            "not a Kubernetes protobuf body (no k8s\\0 prefix)",
        ));
    };
    let mut env = Envelope {
        api_version: "",
        kind: "",
        raw: &[],
    };
    while !buf.is_empty() {
        let (tag, wire) = key(&mut buf)?;
        match (tag, wire) {
            (1, WireType::LengthDelimited) => {
                let mut meta = delimited(&mut buf)?;
                while !meta.is_empty() {
                    let (tag, wire) = key(&mut meta)?;
                    match (tag, wire) {
                        (1, WireType::LengthDelimited) => {
                            env.api_version =
                                utf8(delimited(&mut meta)?).map_err(|e| e.at("apiVersion"))?
                        }
                        (2, WireType::LengthDelimited) => {
                            env.kind = utf8(delimited(&mut meta)?).map_err(|e| e.at("kind"))?
                        }
                        _ => skip(wire, tag, &mut meta)?,
                    }
                }
            }
            (2, WireType::LengthDelimited) => env.raw = delimited(&mut buf)?,
            (3, WireType::LengthDelimited) => {
                let encoding = delimited(&mut buf)?;
                if !encoding.is_empty() {
                    return Err(DecodeError::new(format!(
                        "content encoding {:?} is not supported",
                        String::from_utf8_lossy(encoding)
                    )));
                }
            }
            _ => skip(wire, tag, &mut buf)?,
        }
    }
    Ok(env)
}

/// `b` as text; strings are checked as they come, with SIMD (the largest
/// single cost of decoding otherwise).
#[inline]
pub fn utf8(b: &[u8]) -> Result<&str> {
    simdutf8::basic::from_utf8(b).or_else(|_| {
        std::str::from_utf8(b).map_err(|e| DecodeError::new(format!("a string is not UTF-8: {e}")))
    })
}

/// The `Status` an envelope holds (an error, a delete's answer, a watch's
/// ERROR event), with the envelope's apiVersion and kind.
pub fn decode_status(env: &Envelope<'_>) -> Result<crate::meta::Status> {
    let mut status: crate::meta::Status = decode(env.raw)?;
    status.api_version = Some(env.api_version.into());
    status.kind = Some(env.kind.into());
    Ok(status)
}

/// Writes `msg` in the envelope, as the server expects a protobuf body.
pub fn encode_envelope<M: Message>(api_version: &str, kind: &str, msg: &M) -> Vec<u8> {
    envelope(api_version, kind, msg.fields_len(), |buf| {
        msg.encode_fields(buf)
    })
}

fn envelope(
    api_version: &str,
    kind: &str,
    raw_len: usize,
    write_raw: impl FnOnce(&mut Vec<u8>),
) -> Vec<u8> {
    let type_meta_len = delimited_len(api_version.len()) + 1 + delimited_len(kind.len()) + 1;
    let mut buf = Vec::with_capacity(MAGIC.len() + 2 * 10 + type_meta_len + raw_len);
    buf.extend_from_slice(MAGIC);
    put_key(1, WireType::LengthDelimited, &mut buf);
    encode_varint(type_meta_len as u64, &mut buf);
    for (tag, s) in [(1, api_version), (2, kind)] {
        put_key(tag, WireType::LengthDelimited, &mut buf);
        encode_varint(s.len() as u64, &mut buf);
        buf.extend_from_slice(s.as_bytes());
    }
    put_key(2, WireType::LengthDelimited, &mut buf);
    encode_varint(raw_len as u64, &mut buf);
    write_raw(&mut buf);
    buf
}

/// Implements [`Message`] for a struct from a table of its fields: number,
/// form, codec, Rust name and JSON name (for error paths). Forms: `one`
/// (always written), `required` (always written, no zero value to fall back
/// on), `opt`, `nonzero` (optional, and zero means unset: Go writes the field
/// even when zero), `empty` (a message Go writes even when zero, as an empty
/// message: a `Time`), `list`, `opt_list`, `map`, `opt_map`. Fields protobuf
/// does not carry (`apiVersion` and `kind`, which travel in the envelope)
/// are listed after `absent` and decode as unset.
#[macro_export]
macro_rules! proto_message {
    (
        $ty:ident $message:literal {
            $($tag:literal $form:ident<$codec:ident> $field:ident $json:literal,)*
        }
        $(absent { $($absent:ident),* $(,)? })?
    ) => {
        impl $crate::proto::Message for $ty {
            fn decode_fields(
                mut buf: &[u8],
                depth: u32,
            ) -> ::std::result::Result<Self, $crate::proto::DecodeError> {
                $(let mut $field = $crate::proto_message!(@init $form);)*
                while !buf.is_empty() {
                    let (tag, wire) = $crate::proto::key(&mut buf)?;
                    match tag {
                        $($tag => $crate::proto_message!(@merge $form $codec $field $json wire buf depth $tag),)*
                        _ => $crate::proto::skip(wire, tag, &mut buf)?,
                    }
                }
                Ok(Self {
                    $($field: $crate::proto_message!(@finish $form $field $message $json),)*
                    $($($absent: ::std::default::Default::default(),)*)?
                })
            }
            fn encode_fields(&self, buf: &mut ::std::vec::Vec<u8>) {
                $($crate::proto_message!(@encode $form $codec self.$field, $tag, buf);)*
            }
            fn fields_len(&self) -> usize {
                0 $(+ $crate::proto_message!(@len $form $codec self.$field, $tag))*
            }
        }
    };
    (@init required) => { ::std::option::Option::None };
    (@init $form:ident) => { ::std::default::Default::default() };
    (@merge one $c:ident $f:ident $j:literal $w:ident $b:ident $d:ident $t:literal) => {
        $crate::proto::one::merge::<$crate::proto::$c, _>(&mut $f, $w, &mut $b, $d, $j)?
    };
    (@merge required $c:ident $f:ident $j:literal $w:ident $b:ident $d:ident $t:literal) => {
        $crate::proto::opt::merge::<$crate::proto::$c, _>(&mut $f, $w, &mut $b, $d, $j)?
    };
    (@merge nonzero $c:ident $f:ident $j:literal $w:ident $b:ident $d:ident $t:literal) => {
        $crate::proto::opt::merge_nonzero::<$crate::proto::$c, _>(&mut $f, $w, &mut $b, $d, $j)?
    };
    (@merge opt $c:ident $f:ident $j:literal $w:ident $b:ident $d:ident $t:literal) => {
        $crate::proto::opt::merge::<$crate::proto::$c, _>(&mut $f, $w, &mut $b, $d, $j)?
    };
    (@merge empty $c:ident $f:ident $j:literal $w:ident $b:ident $d:ident $t:literal) => {
        $crate::proto::opt::merge::<$crate::proto::$c, _>(&mut $f, $w, &mut $b, $d, $j)?
    };
    (@merge $form:ident $c:ident $f:ident $j:literal $w:ident $b:ident $d:ident $t:literal) => {
        $crate::proto::$form::merge::<$crate::proto::$c, _>(&mut $f, $t, $w, &mut $b, $d, $j)?
    };
    (@finish one $f:ident $m:literal $j:literal) => { $f };
    (@finish opt $f:ident $m:literal $j:literal) => { $f };
    (@finish nonzero $f:ident $m:literal $j:literal) => { $f };
    (@finish empty $f:ident $m:literal $j:literal) => { $f };
    (@finish required $f:ident $m:literal $j:literal) => { $crate::proto::required($f, $m, $j)? };
    (@finish $form:ident $f:ident $m:literal $j:literal) => { $crate::proto::trimmed($f) };
    (@encode required $c:ident $v:expr, $t:literal, $b:ident) => {
        $crate::proto::one::encode::<$crate::proto::$c, _>(&$v, $t, $b)
    };
    (@encode empty $c:ident $v:expr, $t:literal, $b:ident) => {
        $crate::proto::opt::encode_or_empty::<$crate::proto::$c, _>(&$v, $t, $b)
    };
    (@encode nonzero $c:ident $v:expr, $t:literal, $b:ident) => {
        $crate::proto::opt::encode_nonzero::<$crate::proto::$c, _>(&$v, $t, $b)
    };
    (@encode $form:ident $c:ident $v:expr, $t:literal, $b:ident) => {
        $crate::proto::$form::encode::<$crate::proto::$c, _>(&$v, $t, $b)
    };
    (@len required $c:ident $v:expr, $t:literal) => {
        $crate::proto::one::len::<$crate::proto::$c, _>(&$v, $t)
    };
    (@len empty $c:ident $v:expr, $t:literal) => {
        $crate::proto::opt::len_or_empty::<$crate::proto::$c, _>(&$v, $t)
    };
    (@len nonzero $c:ident $v:expr, $t:literal) => {
        $crate::proto::opt::len_nonzero::<$crate::proto::$c, _>(&$v, $t)
    };
    (@len $form:ident $c:ident $v:expr, $t:literal) => {
        $crate::proto::$form::len::<$crate::proto::$c, _>(&$v, $t)
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, PartialEq)]
    struct Sample {
        name: Option<CompactString>,
        count: Option<i32>,
        tags: Option<Vec<CompactString>>,
        labels: Option<SortedMap<CompactString, CompactString>>,
        ratio: f64,
    }

    crate::proto_message! {
        Sample "test.Sample" {
            1 nonzero<Str> name "name",
            2 opt<Int32> count "count",
            3 opt_list<Str> tags "tags",
            4 opt_map<Str> labels "labels",
            5 one<Double> ratio "ratio",
        }
    }

    #[test]
    fn round_trips_and_keeps_presence() {
        let s = Sample {
            name: Some("web".into()),
            count: Some(-3),
            tags: Some(vec!["a".into(), "b".into()]),
            labels: Some([("app".into(), "web".into())].into()),
            ratio: 0.5,
        };
        let bytes = encode(&s);
        assert_eq!(bytes.len(), s.fields_len());
        assert_eq!(decode::<Sample>(&bytes).unwrap(), s);
        // A negative int32 takes ten bytes, as Go writes it.
        assert_eq!(Int32::len(&-3), 10);
        // Zero where zero means unset: absent, as JSON would have it.
        let zero = Sample {
            name: Some("".into()),
            count: Some(0),
            tags: None,
            labels: None,
            ratio: 0.0,
        };
        let back = decode::<Sample>(&encode(&zero)).unwrap();
        assert_eq!(back.name, None);
        assert_eq!(back.count, Some(0), "a pointer field keeps its zero");
    }

    #[test]
    fn packed_scalars_decode_too() {
        let mut buf = Vec::new();
        put_key(1, WireType::LengthDelimited, &mut buf);
        buf.extend_from_slice(&[3, 1, 2, 3]);
        let mut items: Vec<i64> = Vec::new();
        let mut b = &buf[..];
        let (tag, wire) = key(&mut b).unwrap();
        assert_eq!(tag, 1);
        list::merge::<Int64, _>(&mut items, 1, wire, &mut b, 0, "items").unwrap();
        assert_eq!(items, [1, 2, 3]);
    }

    #[test]
    fn errors_name_the_field_path() {
        let mut buf = Vec::new();
        put_key(3, WireType::LengthDelimited, &mut buf);
        buf.extend_from_slice(&[1, b'a']);
        put_key(3, WireType::LengthDelimited, &mut buf);
        buf.extend_from_slice(&[1, 0xff]);
        let err = decode::<Sample>(&buf).unwrap_err();
        assert_eq!(err.path(), "tags[1]");
        assert!(err.to_string().contains("UTF-8"), "{err}");
        // A length past the end is an error, not a panic.
        let err = decode::<Sample>(&[0x0a, 0x7f, b'a']).unwrap_err();
        assert!(err.to_string().contains("past the end"), "{err}");
    }

    #[test]
    fn envelope_round_trips() {
        let s = Sample {
            name: Some("x".into()),
            count: None,
            tags: None,
            labels: None,
            ratio: 1.0,
        };
        let body = encode_envelope("v1", "Sample", &s);
        let env = decode_envelope(&body).unwrap();
        assert_eq!((env.api_version, env.kind), ("v1", "Sample"));
        assert_eq!(decode::<Sample>(env.raw).unwrap(), s);
        assert!(decode_envelope(b"{}").is_err());
    }
}
