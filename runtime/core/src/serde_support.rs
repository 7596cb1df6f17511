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

/// A decoded list without spare capacity: serde grows a `Vec` to at least
/// four slots on its first element, and a cached object would keep them for
/// its lifetime (a Pod's one container then costs four).
pub fn trimmed<T>(mut v: Vec<T>) -> Vec<T> {
    v.shrink_to_fit();
    v
}

/// `deserialize_with` for `Option<Vec<T>>` fields of hand-written types:
/// [`trimmed`], and `null` as `None`.
pub fn trimmed_list<'de, D, T>(d: D) -> Result<Option<Vec<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::Deserialize<'de>,
{
    Ok(<Option<Vec<T>> as serde::Deserialize>::deserialize(d)?.map(trimmed))
}

/// The next map value as a list, [`trimmed`]; `null` is `None`.
pub fn list<'de, A, T>(map: &mut A) -> Result<Option<Vec<T>>, A::Error>
where
    A: serde::de::MapAccess<'de>,
    T: serde::Deserialize<'de>,
{
    Ok(map.next_value::<Option<Vec<T>>>()?.map(trimmed))
}

/// The next map value in an `Arc`, shared with an equal value decoded
/// recently (see `shared_values`); `null` is `None`.
pub fn shared<'de, A, T>(map: &mut A) -> Result<Option<std::sync::Arc<T>>, A::Error>
where
    A: serde::de::MapAccess<'de>,
    T: serde::Deserialize<'de> + PartialEq + Send + Sync + 'static,
{
    Ok(map
        .next_value::<Option<T>>()?
        .map(crate::shared_values::share))
}

/// `serialize_with` for `number` fields: a whole value is written without a
/// fraction (`10`, not `10.0`), as Go's encoding/json writes a `float64`, so
/// an object read and written back is byte-for-byte what the server sent.
pub fn number<S: serde::Serializer>(v: &f64, s: S) -> Result<S::Ok, S::Error> {
    // Whole values of this size convert to i64 exactly.
    const EXACT: f64 = 9_007_199_254_740_992.0; // 2^53
    if v.fract() == 0.0 && v.abs() <= EXACT {
        s.serialize_i64(*v as i64)
    } else {
        s.serialize_f64(*v)
    }
}

/// [`number`] for optional fields.
pub fn optional_number<S: serde::Serializer>(v: &Option<f64>, s: S) -> Result<S::Ok, S::Error> {
    match v {
        Some(v) => number(v, s),
        None => s.serialize_none(),
    }
}

/// [`number`] for optional `nullable` fields.
pub fn nullable_number<S: serde::Serializer>(
    v: &crate::Nullable<f64>,
    s: S,
) -> Result<S::Ok, S::Error> {
    match v {
        crate::Nullable::Value(v) => number(v, s),
        crate::Nullable::Absent | crate::Nullable::Null => s.serialize_none(),
    }
}

#[cfg(test)]
mod tests {
    #[derive(serde::Serialize)]
    struct Numbers {
        #[serde(serialize_with = "super::number")]
        whole: f64,
        #[serde(serialize_with = "super::number")]
        fraction: f64,
        #[serde(serialize_with = "super::optional_number")]
        optional: Option<f64>,
        #[serde(serialize_with = "super::number")]
        huge: f64,
    }

    #[test]
    fn whole_numbers_are_written_as_go_writes_them() {
        let n = Numbers {
            whole: 10.0,
            fraction: 0.25,
            optional: Some(-3.0),
            huge: 1e300,
        };
        assert_eq!(
            serde_json::to_string(&n).unwrap(),
            r#"{"whole":10,"fraction":0.25,"optional":-3,"huge":1e+300}"#
        );
    }
}
