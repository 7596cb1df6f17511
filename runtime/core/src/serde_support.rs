//! What generated `Serialize`/`Deserialize` impls call, kept here once
//! rather than copied into every generated crate.

/// Looks a JSON key up in a type's field names: `Some(index)`, or `None` for
/// a key the type does not know (skipped, as the server's own decoder does).
pub struct FieldSeed(pub &'static [&'static str]);

impl<'de> serde::de::DeserializeSeed<'de> for FieldSeed {
    type Value = Option<usize>;
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_identifier(self)
    }
}

impl<'de> serde::de::Visitor<'de> for FieldSeed {
    type Value = Option<usize>;
    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a field name")
    }
    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(self.0.iter().position(|f| *f == v))
    }
}

/// Used by `skip_serializing_if`: a value equal to its default is left out of
/// the JSON, as the server leaves it out.
pub fn is_default<T: Default + PartialEq>(v: &T) -> bool {
    *v == T::default()
}
