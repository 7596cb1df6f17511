//! The apimachinery types every kind shares (`io.k8s.apimachinery.pkg.apis.meta.v1`
//! and friends), written by hand because the runtime itself reads and builds them.
//!
//! The generator maps the spec's definitions of these types onto this module
//! instead of emitting copies, so built-in kinds, CRD kinds and the runtime agree
//! on one `ObjectMeta`. Field names and JSON shapes follow the Kubernetes API
//! exactly: unset fields are absent from the JSON, maps serialize in key order
//! (as Go's encoding/json does).

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::{CompactString, SortedMap};

/// Standard object metadata that all persisted resources carry.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ObjectMeta {
    /// Unstructured key/value data set by external tools.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotations: Option<SortedMap<CompactString, CompactString>>,
    /// When the server created the object.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub creation_timestamp: Option<Time>,
    /// Seconds allowed for graceful termination before the object is removed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deletion_grace_period_seconds: Option<i64>,
    /// When the object will be (or was asked to be) deleted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deletion_timestamp: Option<Time>,
    /// Entries that must be removed before the object is deleted from the registry.
    #[serde(
        default,
        deserialize_with = "crate::serde_support::trimmed_list",
        skip_serializing_if = "Option::is_none"
    )]
    pub finalizers: Option<Vec<CompactString>>,
    /// Prefix the server uses to generate a unique name when `name` is unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generate_name: Option<CompactString>,
    /// Sequence number of the desired state, set by the server.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generation: Option<i64>,
    /// Key/value labels used to organize and select objects.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labels: Option<SortedMap<CompactString, CompactString>>,
    /// Which field manager owns which fields (server-side apply).
    #[serde(
        default,
        deserialize_with = "crate::serde_support::trimmed_list",
        skip_serializing_if = "Option::is_none"
    )]
    pub managed_fields: Option<Vec<ManagedFieldsEntry>>,
    /// Unique name within the namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<CompactString>,
    /// Namespace of the object; empty for cluster-scoped kinds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<CompactString>,
    /// Objects this object depends on, for garbage collection.
    #[serde(
        default,
        deserialize_with = "crate::serde_support::trimmed_list",
        skip_serializing_if = "Option::is_none"
    )]
    pub owner_references: Option<Vec<OwnerReference>>,
    /// Opaque version for optimistic concurrency and watches.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_version: Option<CompactString>,
    /// Deprecated; the server no longer sets it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub self_link: Option<CompactString>,
    /// Unique identity of this object over its lifetime.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uid: Option<CompactString>,
}

/// Metadata of list responses.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListMeta {
    /// Token to fetch the next page, when the list was limited.
    #[serde(default, rename = "continue", skip_serializing_if = "Option::is_none")]
    pub continue_: Option<CompactString>,
    /// Estimated number of items not yet returned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remaining_item_count: Option<i64>,
    /// Resource version the list was served at.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_version: Option<CompactString>,
    /// Deprecated; the server no longer sets it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub self_link: Option<CompactString>,
    /// Set when the list is one shard of the collection (alpha,
    /// `ShardedListAndWatch`): echoes the shard selector of the request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shard_info: Option<ShardInfo>,
}

/// The shard selector that produced a list response (a filtered subset).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ShardInfo {
    /// The shard selector from the request.
    pub selector: CompactString,
}

/// A reference to an owning object, in the same namespace or cluster-scoped.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OwnerReference {
    /// API version of the owner.
    pub api_version: CompactString,
    /// If true, the owner cannot be deleted from the key-value store until this
    /// reference is removed (foreground deletion).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub block_owner_deletion: Option<bool>,
    /// If true, this owner is the managing controller.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub controller: Option<bool>,
    /// Kind of the owner.
    pub kind: CompactString,
    /// Name of the owner.
    pub name: CompactString,
    /// UID of the owner.
    pub uid: CompactString,
}

/// One field manager's ownership record.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ManagedFieldsEntry {
    /// API version of the fields described.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_version: Option<CompactString>,
    /// Format of `fields_v1`; only `FieldsV1` exists.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fields_type: Option<CompactString>,
    /// The owned field set, in the `f:`/`k:`/`v:`/`i:` trie encoding.
    #[serde(default, rename = "fieldsV1", skip_serializing_if = "Option::is_none")]
    pub fields_v1: Option<FieldsV1>,
    /// Name of the manager.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manager: Option<CompactString>,
    /// `Apply` or `Update`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operation: Option<CompactString>,
    /// Subresource the fields were written through, empty for the main resource.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subresource: Option<CompactString>,
    /// When the entry last changed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time: Option<Time>,
}

/// A field set in the server's JSON trie encoding, kept as the raw JSON text
/// (as client-go keeps its bytes). Every object carries one per manager, and a
/// decoded `serde_json::Value` tree of it costs ~10x its text in heap (a map
/// node per level): ~22 KB of a ~5 KB Pod's ~50 KB. The text is shared: the
/// objects of one template carry equal sets, and decoding hands them one
/// allocation. Parse it on demand with [`to_value`](Self::to_value) or
/// [`FieldSet`](crate::managed_fields::FieldSet).
#[derive(Clone, Debug)]
pub struct FieldsV1(std::sync::Arc<str>);

impl FieldsV1 {
    /// The field set as JSON text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The field set parsed into a JSON value.
    pub fn to_value(&self) -> serde_json::Result<serde_json::Value> {
        serde_json::from_str(&self.0)
    }

    /// A field set from its JSON text, shared with equal sets.
    pub(crate) fn from_text(text: &str) -> Self {
        Self(crate::shared_text::shared(text))
    }

    /// A field set from a JSON value.
    pub fn from_value(value: &serde_json::Value) -> Self {
        Self(crate::shared_text::shared(&value.to_string()))
    }
}

impl Serialize for FieldsV1 {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        // Written as JSON, not as a string; the text was JSON when it came.
        let raw: &serde_json::value::RawValue =
            serde_json::from_str(&self.0).map_err(serde::ser::Error::custom)?;
        raw.serialize(s)
    }
}

impl<'de> Deserialize<'de> for FieldsV1 {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = Box::<serde_json::value::RawValue>::deserialize(d)?;
        Ok(Self(crate::shared_text::shared(raw.get())))
    }
}

impl Default for FieldsV1 {
    /// The empty set, `{}`.
    fn default() -> Self {
        Self(crate::shared_text::shared("{}"))
    }
}

impl From<serde_json::Value> for FieldsV1 {
    fn from(value: serde_json::Value) -> Self {
        Self::from_value(&value)
    }
}

impl PartialEq for FieldsV1 {
    /// Equal JSON values, whatever the whitespace or key order of the text.
    fn eq(&self, other: &Self) -> bool {
        self.as_str() == other.as_str()
            || matches!((self.to_value(), other.to_value()), (Ok(a), Ok(b)) if a == b)
    }
}

/// The server's answer for anything that is not an object: errors, deletes.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Status {
    /// Always `v1` when set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_version: Option<CompactString>,
    /// HTTP status code of this status.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<i32>,
    /// Extended data about the reason.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub details: Option<StatusDetails>,
    /// Always `Status` when set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<CompactString>,
    /// Human-readable description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<CompactString>,
    /// List metadata.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<ListMeta>,
    /// Machine-readable reason, e.g. `NotFound`, `Conflict`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<CompactString>,
    /// `Success` or `Failure`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<CompactString>,
}

/// Details attached to a [`Status`].
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StatusDetails {
    /// Individual causes, e.g. one per invalid field.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub causes: Option<Vec<StatusCause>>,
    /// Group of the resource the status is about.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<CompactString>,
    /// Kind (or resource) the status is about.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<CompactString>,
    /// Name of the object the status is about.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<CompactString>,
    /// Seconds the client should wait before retrying.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after_seconds: Option<i32>,
    /// UID of the object the status is about.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uid: Option<CompactString>,
}

/// One cause of an error, usually one field.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StatusCause {
    /// Field path, e.g. `spec.replicas`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<CompactString>,
    /// Human-readable description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<CompactString>,
    /// Machine-readable reason, e.g. `FieldValueRequired`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<CompactString>,
}

/// A timestamp with second precision, serialized as RFC 3339 in UTC
/// (`2024-01-02T03:04:05Z`), as `metav1.Time` is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Time(pub jiff::Timestamp);

/// A timestamp with microsecond precision, serialized as RFC 3339 in UTC with
/// exactly six fractional digits, as `metav1.MicroTime` is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct MicroTime(pub jiff::Timestamp);

impl Time {
    /// The current time, truncated to the second as the server stores it.
    pub fn now() -> Self {
        let now = jiff::Timestamp::now();
        Self(jiff::Timestamp::from_second(now.as_second()).unwrap_or(now))
    }
}

impl MicroTime {
    /// The current time, truncated to the microsecond as the server stores it.
    pub fn now() -> Self {
        let now = jiff::Timestamp::now();
        Self(jiff::Timestamp::from_microsecond(now.as_microsecond()).unwrap_or(now))
    }
}

impl fmt::Display for Time {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0.strftime("%Y-%m-%dT%H:%M:%SZ"))
    }
}

impl fmt::Display for MicroTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0.strftime("%Y-%m-%dT%H:%M:%S.%6fZ"))
    }
}

fn parse_rfc3339<'de, D: Deserializer<'de>>(d: D) -> Result<jiff::Timestamp, D::Error> {
    let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
    s.parse::<jiff::Timestamp>()
        .map_err(|e| serde::de::Error::custom(format_args!("invalid RFC 3339 time {s:?}: {e}")))
}

impl Serialize for Time {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Time {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        parse_rfc3339(d).map(Self)
    }
}

impl Serialize for MicroTime {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for MicroTime {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        parse_rfc3339(d).map(Self)
    }
}

/// A fixed-point number with a suffix (`500m`, `1Gi`), kept exactly as written.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Quantity(pub CompactString);

/// A value that is either an integer or a string (`x-kubernetes-int-or-string`),
/// e.g. a port number or name, or a count or percentage.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(untagged)]
pub enum IntOrString {
    /// An integer value.
    Int(i32),
    /// A string value.
    String(CompactString),
}

impl Default for IntOrString {
    fn default() -> Self {
        Self::Int(0)
    }
}

impl IntOrString {
    /// The value against `total`: an integer as it is, a percentage (`"25%"`)
    /// as that share of `total`, rounded up or down (apimachinery's
    /// `GetScaledValueFromIntOrPercent`, as for a Deployment's `maxSurge`
    /// and `maxUnavailable`). A string that is not a percentage is an error.
    ///
    /// ```
    /// use kubegen_core::meta::IntOrString;
    /// let surge = IntOrString::String("25%".into());
    /// assert_eq!(surge.scaled_value(10, true), Ok(3));
    /// assert_eq!(surge.scaled_value(10, false), Ok(2));
    /// assert_eq!(IntOrString::Int(4).scaled_value(10, true), Ok(4));
    /// assert!(IntOrString::String("25".into()).scaled_value(10, true).is_err());
    /// ```
    pub fn scaled_value(&self, total: i64, round_up: bool) -> Result<i64, String> {
        let percent = match self {
            Self::Int(value) => return Ok(i64::from(*value)),
            Self::String(s) => s
                .strip_suffix('%')
                .ok_or_else(|| format!("invalid value {s:?}: not an integer or a percentage"))?
                .parse::<i64>()
                .map_err(|e| format!("invalid percentage {s:?}: {e}"))?,
        };
        // Exact where Go's float arithmetic is (|percent * total| < 2^53).
        let share = i128::from(percent) * i128::from(total);
        let scaled = if round_up {
            -(-share).div_euclid(100)
        } else {
            share.div_euclid(100)
        };
        i64::try_from(scaled).map_err(|_| format!("{percent}% of {total} overflows"))
    }
}

/// Embedded JSON of any shape (`runtime.RawExtension`, free-form fields).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct RawExtension(pub serde_json::Value);

#[cfg(test)]
mod tests {
    use super::*;

    /// apimachinery's `TestGetIntOrPercentValue` and
    /// `TestGetScaledValueFromIntOrPercent` cases.
    #[test]
    fn int_or_string_scales_as_apimachinery_does() {
        let cases = [
            (IntOrString::Int(123), 0, false, Some(123)),
            (IntOrString::String("90%".into()), 100, true, Some(90)),
            (IntOrString::String("90%".into()), 95, true, Some(86)),
            (IntOrString::String("90%".into()), 95, false, Some(85)),
            (IntOrString::String("%".into()), 0, false, None),
            (IntOrString::String("#%".into()), 0, false, None),
            (IntOrString::String("90".into()), 100, false, None),
            (IntOrString::String("-10%".into()), 15, true, Some(-1)),
            (IntOrString::String("-10%".into()), 15, false, Some(-2)),
            (IntOrString::String("+50%".into()), 3, true, Some(2)),
        ];
        for (value, total, round_up, want) in cases {
            let got = value.scaled_value(total, round_up);
            assert_eq!(got.clone().ok(), want, "{value:?} of {total}: {got:?}");
        }
    }

    #[test]
    fn fields_v1_keeps_the_servers_text_and_compares_as_json() {
        let text = r#"{"f:metadata":{"f:labels":{".":{},"f:app":{}}},"f:spec":{}}"#;
        let entry: ManagedFieldsEntry =
            serde_json::from_str(&format!(r#"{{"manager":"m","fieldsV1":{text}}}"#)).unwrap();
        let fields = entry.fields_v1.clone().unwrap();
        assert_eq!(fields.as_str(), text);
        // Written back byte for byte.
        assert!(serde_json::to_string(&entry).unwrap().contains(text));
        let value = fields.to_value().unwrap();
        assert_eq!(
            value["f:metadata"]["f:labels"]["f:app"],
            serde_json::json!({})
        );
        // Other whitespace and key order: the same set.
        let spaced: FieldsV1 = serde_json::from_str(
            r#"{ "f:spec": {}, "f:metadata": {"f:labels": {"f:app": {}, ".": {}}} }"#,
        )
        .unwrap();
        assert_eq!(spaced, fields);
        assert_ne!(FieldsV1::default(), fields);
        assert_eq!(FieldsV1::from_value(&value), fields);
        assert_eq!(FieldsV1::default().as_str(), "{}");
    }

    #[test]
    fn time_serializes_as_rfc3339_seconds_in_utc() {
        let t: Time = serde_json::from_str(r#""2024-05-06T07:08:09+02:00""#).unwrap();
        assert_eq!(
            serde_json::to_string(&t).unwrap(),
            r#""2024-05-06T05:08:09Z""#
        );
    }

    #[test]
    fn micro_time_always_has_six_fraction_digits() {
        let t: MicroTime = serde_json::from_str(r#""2024-05-06T07:08:09.5Z""#).unwrap();
        assert_eq!(
            serde_json::to_string(&t).unwrap(),
            r#""2024-05-06T07:08:09.500000Z""#
        );
    }

    #[test]
    fn bad_time_is_an_error_naming_the_value() {
        let err = serde_json::from_str::<Time>(r#""yesterday""#).unwrap_err();
        assert!(err.to_string().contains("yesterday"), "{err}");
    }

    #[test]
    fn int_or_string_keeps_its_json_type() {
        let v: Vec<IntOrString> = serde_json::from_str(r#"[8080, "http", "25%"]"#).unwrap();
        assert_eq!(v[0], IntOrString::Int(8080));
        assert_eq!(v[1], IntOrString::String("http".into()));
        assert_eq!(serde_json::to_string(&v).unwrap(), r#"[8080,"http","25%"]"#);
    }

    #[test]
    fn unset_metadata_fields_are_absent_not_null() {
        let m = ObjectMeta {
            name: Some("a".into()),
            ..Default::default()
        };
        assert_eq!(serde_json::to_string(&m).unwrap(), r#"{"name":"a"}"#);
    }
}
