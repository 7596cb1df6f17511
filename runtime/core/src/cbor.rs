//! CBOR (RFC 8949), as the API server speaks it for custom resources and
//! dynamic objects (KEP-4222, the `CBORServingAndStorage` feature gate).
//!
//! The same serde types that JSON decodes into decode from CBOR: the server
//! writes Go strings and field names as CBOR *byte* strings (valid UTF-8, not
//! checked on its side), so a byte string reads as text wherever a string is
//! expected, and one tagged 22 ("expected base64", a Go `[]byte`) reads as
//! its base64 text, as JSON carries it. Other tags (55799, the self-described
//! prefix every answer starts with; 0, a date) are read through. Encoding
//! goes through `minicbor-serde`, headed by the self-described tag as the
//! server's own encoder writes it. The wire primitives are minicbor's.

use std::borrow::Cow;

use minicbor::data::Type;
use minicbor::decode::Decoder;
use serde::de::{self, IntoDeserializer, Visitor};

/// The media type of one CBOR data item.
pub const MEDIA_TYPE: &str = "application/cbor";
/// The media type of a watch: a CBOR sequence, one event after another.
pub const SEQ_MEDIA_TYPE: &str = "application/cbor-seq";

/// The head of tag 55799, "self-described CBOR": the server starts every
/// object it writes with it.
const SELF_DESCRIBED: [u8; 3] = [0xd9, 0xd9, 0xf7];
/// Tag 22: the byte string is base64 text when read as a string.
const TAG_EXPECTED_BASE64: u64 = 22;
/// The newtype name by which `serde_json::value::RawValue` asks a
/// deserializer for raw JSON text (serde_json's `raw::TOKEN`).
const RAW_VALUE: &str = "$serde_json::private::RawValue";
/// Nesting deeper than this is refused rather than recursed into (serde_json's limit too).
const MAX_DEPTH: usize = 128;

/// A CBOR decode or encode failure, at a byte offset when known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CborError {
    message: String,
    offset: Option<usize>,
}

impl CborError {
    fn at(message: impl Into<String>, offset: usize) -> Self {
        Self {
            message: message.into(),
            offset: Some(offset),
        }
    }

    /// The byte offset in the input where decoding stopped, when known.
    pub fn offset(&self) -> Option<usize> {
        self.offset
    }
}

impl std::fmt::Display for CborError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.offset {
            Some(at) => write!(f, "{} (CBOR byte {at})", self.message),
            None => f.write_str(&self.message),
        }
    }
}

impl std::error::Error for CborError {}

impl de::Error for CborError {
    fn custom<T: std::fmt::Display>(msg: T) -> Self {
        Self {
            message: msg.to_string(),
            offset: None,
        }
    }
}

impl From<minicbor::decode::Error> for CborError {
    fn from(e: minicbor::decode::Error) -> Self {
        Self {
            offset: e.position(),
            message: e.to_string(),
        }
    }
}

/// Encodes `value` as one self-described CBOR data item.
///
/// The value goes through JSON's data model first (`serde_json::Value`):
/// what the server takes is JSON's model in CBOR, and types serialize as
/// they do for JSON (text forms, raw JSON such as `FieldsV1`), which a
/// serializer that says it is not human-readable would change.
pub fn to_vec<T: serde::Serialize + ?Sized>(value: &T) -> Result<Vec<u8>, CborError> {
    let fail = |message: String| CborError {
        message,
        offset: None,
    };
    let value = serde_json::to_value(value).map_err(|e| fail(e.to_string()))?;
    let mut out = SELF_DESCRIBED.to_vec();
    let mut ser = minicbor_serde::Serializer::new(&mut out);
    // JSON's null is CBOR's null (minicbor-serde writes `()` as an empty array by default).
    ser.serialize_unit_as_null(true);
    serde::Serialize::serialize(&value, &mut ser).map_err(|e| fail(e.to_string()))?;
    Ok(out)
}

/// Decodes one CBOR data item, all of `bytes`, as `T`.
pub fn from_slice<'de, T: serde::Deserialize<'de>>(bytes: &'de [u8]) -> Result<T, CborError> {
    let mut de = Deserializer::new(bytes);
    let value = T::deserialize(&mut de).map_err(|e| de.locate(e))?;
    de.end()?;
    Ok(value)
}

/// The length of the first complete data item of `buf`, or `None` when
/// `buf` ends inside it: how a CBOR sequence (a watch) is framed.
pub fn item_len(buf: &[u8]) -> Result<Option<usize>, CborError> {
    let mut d = Decoder::new(buf);
    match d.skip() {
        Ok(()) => Ok(Some(d.position())),
        Err(e) if e.is_end_of_input() => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// The entries of a map item, each value still encoded: how a watch event
/// (`{object, type}`, in that order, as the server sorts keys) is read
/// before its `type` says what the object is.
pub fn map_entries(item: &[u8]) -> Result<Vec<(String, &[u8])>, CborError> {
    let mut de = Deserializer::new(item);
    let entries = de.map_entries().map_err(|e| de.locate(e))?;
    de.end()?;
    Ok(entries)
}

/// Whether `body` starts as the server's CBOR does.
pub fn is_self_described(body: &[u8]) -> bool {
    body.starts_with(&SELF_DESCRIBED)
}

/// A serde deserializer over one CBOR data item in a byte slice.
pub struct Deserializer<'de> {
    d: Decoder<'de>,
    depth: usize,
}

type Result<T, E = CborError> = std::result::Result<T, E>;

impl<'de> Deserializer<'de> {
    /// Reads from the start of `bytes`.
    pub fn new(bytes: &'de [u8]) -> Self {
        Self {
            d: Decoder::new(bytes),
            depth: 0,
        }
    }

    /// Fails unless the whole input was read.
    pub fn end(&self) -> Result<()> {
        let at = self.d.position();
        if at == self.d.input().len() {
            Ok(())
        } else {
            Err(CborError::at("trailing bytes after the data item", at))
        }
    }

    fn map_entries(&mut self) -> Result<Vec<(String, &'de [u8])>> {
        self.tags()?;
        let input = self.d.input();
        let mut entries = Items {
            left: self.d.map()?,
            de: self,
        };
        let mut out = Vec::new();
        while entries.has_next()? {
            let key: String = de::Deserialize::deserialize(&mut *entries.de)?;
            let start = entries.de.d.position();
            entries.de.d.skip()?;
            out.push((key, &input[start..entries.de.d.position()]));
        }
        Ok(out)
    }

    /// `e` with the current offset, if it has none.
    pub(crate) fn locate(&self, mut e: CborError) -> CborError {
        e.offset.get_or_insert(self.d.position());
        e
    }

    /// Reads the tags before the next item; returns the innermost.
    fn tags(&mut self) -> Result<Option<u64>> {
        let mut last = None;
        while self.d.datatype()? == Type::Tag {
            last = Some(u64::from(self.d.tag()?));
        }
        Ok(last)
    }

    /// A string's content: text as is, bytes as text (or base64 when tagged so).
    fn text<V: Visitor<'de>>(&mut self, tag: Option<u64>, visitor: V) -> Result<V::Value> {
        let at = self.d.position();
        match self.d.datatype()? {
            Type::String => visitor.visit_borrowed_str(self.d.str()?),
            Type::StringIndef => {
                let mut s = String::new();
                for part in self.d.str_iter()? {
                    s.push_str(part?);
                }
                visitor.visit_string(s)
            }
            kind @ (Type::Bytes | Type::BytesIndef) => {
                let bytes = if kind == Type::Bytes {
                    Cow::Borrowed(self.d.bytes()?)
                } else {
                    let mut b = Vec::new();
                    for part in self.d.bytes_iter()? {
                        b.extend_from_slice(part?);
                    }
                    Cow::Owned(b)
                };
                if tag == Some(TAG_EXPECTED_BASE64) {
                    return visitor.visit_string(base64_text(&bytes));
                }
                let not_text = |_| CborError::at("byte string is not UTF-8 text", at);
                match bytes {
                    Cow::Borrowed(b) => {
                        visitor.visit_borrowed_str(std::str::from_utf8(b).map_err(not_text)?)
                    }
                    Cow::Owned(b) => visitor
                        .visit_string(String::from_utf8(b).map_err(|e| not_text(e.utf8_error()))?),
                }
            }
            other => Err(CborError::at(
                format!("expected a string, found {other}"),
                at,
            )),
        }
    }

    fn nested<T>(&mut self, f: impl FnOnce(&mut Self) -> Result<T>) -> Result<T> {
        if self.depth == MAX_DEPTH {
            return Err(CborError::at(
                format!("nested deeper than {MAX_DEPTH} levels"),
                self.d.position(),
            ));
        }
        self.depth += 1;
        let r = f(self);
        self.depth -= 1;
        r
    }

    /// Whether an indefinite-length container ends here; consumes the break.
    fn at_break(&mut self) -> Result<bool> {
        if self.d.datatype()? == Type::Break {
            self.d.set_position(self.d.position() + 1);
            return Ok(true);
        }
        Ok(false)
    }
}

fn base64_text(b: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(b)
}

impl<'de> de::Deserializer<'de> for &mut Deserializer<'de> {
    type Error = CborError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        let tag = self.tags()?;
        let at = self.d.position();
        match self.d.datatype()? {
            Type::Bool => visitor.visit_bool(self.d.bool()?),
            Type::Null => {
                self.d.null()?;
                visitor.visit_unit()
            }
            Type::Undefined => {
                self.d.undefined()?;
                visitor.visit_unit()
            }
            Type::U8 | Type::U16 | Type::U32 | Type::U64 => visitor.visit_u64(self.d.u64()?),
            Type::I8 | Type::I16 | Type::I32 | Type::I64 => visitor.visit_i64(self.d.i64()?),
            Type::Int => visitor.visit_i128(i128::from(self.d.int()?)),
            Type::F16 | Type::F32 | Type::F64 => visitor.visit_f64(self.d.f64()?),
            Type::String | Type::StringIndef | Type::Bytes | Type::BytesIndef => {
                self.text(tag, visitor)
            }
            Type::Array | Type::ArrayIndef => {
                let left = self.d.array()?;
                self.nested(|de| visitor.visit_seq(Items { de, left }))
            }
            Type::Map | Type::MapIndef => {
                let left = self.d.map()?;
                self.nested(|de| visitor.visit_map(Items { de, left }))
            }
            other => Err(CborError::at(format!("unexpected CBOR {other}"), at)),
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        self.tags()?;
        match self.d.datatype()? {
            Type::Null => {
                self.d.null()?;
                visitor.visit_none()
            }
            Type::Undefined => {
                self.d.undefined()?;
                visitor.visit_none()
            }
            _ => visitor.visit_some(self),
        }
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value> {
        self.tags()?;
        match self.d.datatype()? {
            // A unit variant is its name; another variant a one-entry map.
            Type::Map | Type::MapIndef => {
                let left = self.d.map()?;
                self.nested(|de| {
                    visitor.visit_enum(de::value::MapAccessDeserializer::new(Items { de, left }))
                })
            }
            _ => {
                let name: String = de::Deserialize::deserialize(&mut *self)?;
                visitor.visit_enum(name.into_deserializer())
            }
        }
    }

    fn deserialize_bytes<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        self.tags()?;
        match self.d.datatype()? {
            Type::Bytes => visitor.visit_borrowed_bytes(self.d.bytes()?),
            Type::String => visitor.visit_borrowed_bytes(self.d.str()?.as_bytes()),
            _ => self.deserialize_any(visitor),
        }
    }

    fn deserialize_byte_buf<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        self.deserialize_bytes(visitor)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        visitor: V,
    ) -> Result<V::Value> {
        if name == RAW_VALUE {
            // `Box<serde_json::value::RawValue>` (e.g. `FieldsV1`): the
            // item as JSON text, handed over as serde_json's own
            // deserializer does, a one-entry map from the token.
            let value: serde_json::Value = de::Deserialize::deserialize(&mut *self)?;
            let entry = [(RAW_VALUE, value.to_string())];
            return visitor.visit_map(de::value::MapDeserializer::new(entry.into_iter()));
        }
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        self.d.skip()?;
        visitor.visit_unit()
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        unit unit_struct seq tuple tuple_struct map struct identifier
    }
}

/// The items of an array, or the entries of a map; `left` is `None` for an
/// indefinite length (ended by a break).
struct Items<'a, 'de> {
    de: &'a mut Deserializer<'de>,
    left: Option<u64>,
}

impl Items<'_, '_> {
    fn has_next(&mut self) -> Result<bool> {
        match &mut self.left {
            Some(0) => Ok(false),
            Some(n) => {
                *n -= 1;
                Ok(true)
            }
            None => Ok(!self.de.at_break()?),
        }
    }

    fn size_hint(&self) -> Option<usize> {
        // Serde caps what it preallocates from a hint, so a hostile length costs nothing.
        self.left.and_then(|n| usize::try_from(n).ok())
    }
}

impl<'de> de::SeqAccess<'de> for Items<'_, 'de> {
    type Error = CborError;

    fn next_element_seed<T: de::DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>> {
        if !self.has_next()? {
            return Ok(None);
        }
        seed.deserialize(&mut *self.de).map(Some)
    }

    fn size_hint(&self) -> Option<usize> {
        Items::size_hint(self)
    }
}

impl<'de> de::MapAccess<'de> for Items<'_, 'de> {
    type Error = CborError;

    fn next_key_seed<K: de::DeserializeSeed<'de>>(&mut self, seed: K) -> Result<Option<K::Value>> {
        if !self.has_next()? {
            return Ok(None);
        }
        seed.deserialize(&mut *self.de).map(Some)
    }

    fn next_value_seed<V: de::DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value> {
        seed.deserialize(&mut *self.de)
    }

    fn size_hint(&self) -> Option<usize> {
        Items::size_hint(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    #[test]
    fn reads_the_servers_byte_strings_as_text() {
        // 55799({h'6b696e64': h'466f6f', h'6e': 1.5 (f16), h'62': 22(h'0102')})
        let bytes = hex("d9d9f7a3446b696e6443466f6f416ef93e004162d6420102");
        let v: Value = from_slice(&bytes).unwrap();
        assert_eq!(v, json!({"kind": "Foo", "n": 1.5, "b": "AQI="}));
    }

    #[test]
    fn round_trips_json_values() {
        let v = json!({
            "apiVersion": "example.com/v1",
            "spec": {"n": 3, "neg": -7, "f": 0.25, "big": 1u64 << 63, "list": [true, null, "x"], "empty": {}},
        });
        let bytes = to_vec(&v).unwrap();
        assert!(is_self_described(&bytes));
        assert_eq!(from_slice::<Value>(&bytes).unwrap(), v);
        assert_eq!(item_len(&bytes).unwrap(), Some(bytes.len()));
        assert_eq!(item_len(&bytes[..bytes.len() - 1]).unwrap(), None);
        let entries = map_entries(&bytes).unwrap();
        assert_eq!(entries[0].0, "apiVersion");
        assert_eq!(from_slice::<Value>(entries[1].1).unwrap(), v["spec"]);
    }

    #[test]
    fn reads_indefinite_lengths() {
        // {_ "a": [_ 1, 2], "b": (_ h'6869', h'21')}
        let bytes = hex("bf61619f0102ff61625f4268694121ffff");
        let v: Value = from_slice(&bytes).unwrap();
        assert_eq!(v, json!({"a": [1, 2], "b": "hi!"}));
    }

    #[test]
    fn typed_structs_and_options() {
        #[derive(Debug, PartialEq, serde::Deserialize, serde::Serialize)]
        #[serde(rename_all = "camelCase")]
        struct Spec {
            replicas: Option<i32>,
            gone: Option<String>,
            mode: Mode,
        }
        #[derive(Debug, PartialEq, serde::Deserialize, serde::Serialize)]
        enum Mode {
            Fast,
        }
        let s = Spec {
            replicas: Some(2),
            gone: None,
            mode: Mode::Fast,
        };
        assert_eq!(from_slice::<Spec>(&to_vec(&s).unwrap()).unwrap(), s);
    }

    #[test]
    fn raw_json_fields_round_trip() {
        let meta: crate::meta::ManagedFieldsEntry = serde_json::from_value(json!({
            "manager": "m",
            "fieldsType": "FieldsV1",
            "fieldsV1": {"f:data": {"f:k": {}}},
        }))
        .unwrap();
        let bytes = to_vec(&meta).unwrap();
        let back: crate::meta::ManagedFieldsEntry = from_slice(&bytes).unwrap();
        assert_eq!(back, meta);
        assert_eq!(
            back.fields_v1.unwrap().to_value().unwrap(),
            json!({"f:data": {"f:k": {}}})
        );
    }

    #[test]
    fn bad_input_is_an_error_with_its_offset() {
        // A map that promises two entries and has one.
        let e = from_slice::<Value>(&hex("a26161")).unwrap_err();
        assert!(e.offset().is_some(), "{e}");
        // Trailing bytes.
        let e = from_slice::<Value>(&hex("0101")).unwrap_err();
        assert_eq!(e.offset(), Some(1));
        // A byte string that is not text.
        let e = from_slice::<String>(&hex("42ff00")).unwrap_err();
        assert!(e.to_string().contains("UTF-8"), "{e}");
        // Hostile nesting.
        let deep = [vec![0x81; 10_000], vec![0x00]].concat();
        let e = from_slice::<Value>(&deep).unwrap_err();
        assert!(e.to_string().contains("nested deeper"), "{e}");
        // A wrong type names what was expected.
        let e = from_slice::<u32>(&hex("6161")).unwrap_err();
        assert!(e.to_string().contains("u32"), "{e}");
    }
}
