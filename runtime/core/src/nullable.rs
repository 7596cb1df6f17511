//! [`Nullable`]: a field a schema marks `nullable: true`, where an explicit
//! `null` and an absent field are different things to the server.

/// The value of an optional `nullable: true` field: absent, an explicit
/// `null`, or a value. An object read and written back keeps which of the
/// three it was, so a read-modify-write does not change what the server
/// stores (an `Option` would turn `null` into absent).
///
/// Generated types use it with `#[serde(default, skip_serializing_if =
/// "Nullable::is_absent")]`: a missing key decodes to `Absent` and is left
/// out again; `null` decodes to `Null` and is written as `null`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Nullable<T> {
    /// The field is not in the object.
    #[default]
    Absent,
    /// The field is there, as `null`.
    Null,
    /// The field holds a value.
    Value(T),
}

impl<T> Nullable<T> {
    /// Whether the field is left out (for `skip_serializing_if`).
    pub fn is_absent(&self) -> bool {
        matches!(self, Self::Absent)
    }

    /// Whether the field is an explicit `null`.
    pub fn is_null(&self) -> bool {
        matches!(self, Self::Null)
    }

    /// The value, if there is one (absent and `null` are both `None`).
    pub fn value(&self) -> Option<&T> {
        match self {
            Self::Value(v) => Some(v),
            Self::Absent | Self::Null => None,
        }
    }

    /// The value to change, if there is one.
    pub fn value_mut(&mut self) -> Option<&mut T> {
        match self {
            Self::Value(v) => Some(v),
            Self::Absent | Self::Null => None,
        }
    }

    /// The value through `Deref` (`Option<&str>` for a string), if there is one.
    pub fn as_deref(&self) -> Option<&T::Target>
    where
        T: std::ops::Deref,
    {
        self.value().map(|v| &**v)
    }

    /// The value, if there is one.
    pub fn into_value(self) -> Option<T> {
        match self {
            Self::Value(v) => Some(v),
            Self::Absent | Self::Null => None,
        }
    }
}

impl<T> From<T> for Nullable<T> {
    fn from(v: T) -> Self {
        Self::Value(v)
    }
}

impl<T: serde::Serialize> serde::Serialize for Nullable<T> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Self::Value(v) => s.serialize_some(v),
            // An absent field is skipped by its container; written on its
            // own (an item, a map value) it can only be `null`.
            Self::Absent | Self::Null => s.serialize_none(),
        }
    }
}

impl<'de, T: serde::Deserialize<'de>> serde::Deserialize<'de> for Nullable<T> {
    /// Only called for a key that is present: `null` is `Null`. A missing key
    /// is `Absent` through `#[serde(default)]`.
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(match Option::<T>::deserialize(d)? {
            Some(v) => Self::Value(v),
            None => Self::Null,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::Nullable;
    use serde_json::json;

    #[derive(serde::Serialize, serde::Deserialize, Debug, PartialEq)]
    struct S {
        #[serde(default, skip_serializing_if = "Nullable::is_absent")]
        n: Nullable<Vec<String>>,
    }

    #[test]
    fn absent_null_and_value_survive_a_round_trip() {
        for (json, want) in [
            (json!({}), Nullable::Absent),
            (json!({"n": null}), Nullable::Null),
            (json!({"n": []}), Nullable::Value(vec![])),
            (json!({"n": ["a"]}), Nullable::Value(vec!["a".to_owned()])),
        ] {
            let s: S = serde_json::from_value(json.clone()).unwrap();
            assert_eq!(s.n, want, "{json}");
            assert_eq!(serde_json::to_value(&s).unwrap(), json);
        }
        assert_eq!(Nullable::from(3).value(), Some(&3));
        assert_eq!(Nullable::<i32>::Null.value(), None);
        assert!(Nullable::<i32>::default().is_absent());
    }
}
