//! Protobuf for the meta types (field numbers from apimachinery's
//! `pkg/apis/meta/v1/generated.proto`, presence from Go's structs: the
//! `nonzero` fields are non-pointer in Go, written even when empty).

use compact_str::CompactString;

use crate::meta::{
    FieldsV1, IntOrString, ListMeta, ManagedFieldsEntry, MicroTime, ObjectMeta, OwnerReference,
    Quantity, RawExtension, ShardInfo, Status, StatusCause, StatusDetails, Time,
};
use crate::proto::{DecodeError, Message, Result, key, one, skip};
use crate::proto_message;

proto_message! {
    ObjectMeta "k8s.io.apimachinery.pkg.apis.meta.v1.ObjectMeta" {
        1 nonzero<Str> name "name",
        2 nonzero<Str> generate_name "generateName",
        3 nonzero<Str> namespace "namespace",
        4 nonzero<Str> self_link "selfLink",
        5 nonzero<Str> uid "uid",
        6 nonzero<Str> resource_version "resourceVersion",
        7 nonzero<Int64> generation "generation",
        8 empty<Msg> creation_timestamp "creationTimestamp",
        9 opt<Msg> deletion_timestamp "deletionTimestamp",
        10 opt<Int64> deletion_grace_period_seconds "deletionGracePeriodSeconds",
        11 opt_map<Str> labels "labels",
        12 opt_map<Str> annotations "annotations",
        13 opt_list<Msg> owner_references "ownerReferences",
        14 opt_list<Str> finalizers "finalizers",
        17 opt_list<Msg> managed_fields "managedFields",
    }
}

proto_message! {
    ListMeta "k8s.io.apimachinery.pkg.apis.meta.v1.ListMeta" {
        1 nonzero<Str> self_link "selfLink",
        2 nonzero<Str> resource_version "resourceVersion",
        3 nonzero<Str> continue_ "continue",
        4 opt<Int64> remaining_item_count "remainingItemCount",
        5 opt<Msg> shard_info "shardInfo",
    }
}

proto_message! {
    ShardInfo "k8s.io.apimachinery.pkg.apis.meta.v1.ShardInfo" {
        1 one<Str> selector "selector",
    }
}

proto_message! {
    OwnerReference "k8s.io.apimachinery.pkg.apis.meta.v1.OwnerReference" {
        1 one<Str> kind "kind",
        3 one<Str> name "name",
        4 one<Str> uid "uid",
        5 one<Str> api_version "apiVersion",
        6 opt<Bool> controller "controller",
        7 opt<Bool> block_owner_deletion "blockOwnerDeletion",
    }
}

proto_message! {
    ManagedFieldsEntry "k8s.io.apimachinery.pkg.apis.meta.v1.ManagedFieldsEntry" {
        1 nonzero<Str> manager "manager",
        2 nonzero<Str> operation "operation",
        3 nonzero<Str> api_version "apiVersion",
        4 opt<Msg> time "time",
        6 nonzero<Str> fields_type "fieldsType",
        7 opt<Msg> fields_v1 "fieldsV1",
        8 nonzero<Str> subresource "subresource",
    }
}

proto_message! {
    Status "k8s.io.apimachinery.pkg.apis.meta.v1.Status" {
        1 opt<Msg> metadata "metadata",
        2 nonzero<Str> status "status",
        3 nonzero<Str> message "message",
        4 nonzero<Str> reason "reason",
        5 opt<Msg> details "details",
        6 nonzero<Int32> code "code",
    }
    absent { api_version, kind }
}

proto_message! {
    StatusDetails "k8s.io.apimachinery.pkg.apis.meta.v1.StatusDetails" {
        1 nonzero<Str> name "name",
        2 nonzero<Str> group "group",
        3 nonzero<Str> kind "kind",
        4 opt_list<Msg> causes "causes",
        5 nonzero<Int32> retry_after_seconds "retryAfterSeconds",
        6 nonzero<Str> uid "uid",
    }
}

proto_message! {
    StatusCause "k8s.io.apimachinery.pkg.apis.meta.v1.StatusCause" {
        1 nonzero<Str> reason "reason",
        2 nonzero<Str> message "message",
        3 nonzero<Str> field "field",
    }
}

/// `{ string = 1 }`: the quantity as written.
impl Message for Quantity {
    fn decode_fields(mut buf: &[u8], depth: u32) -> Result<Self> {
        let mut text = CompactString::default();
        while !buf.is_empty() {
            let (tag, wire) = key(&mut buf)?;
            match tag {
                1 => {
                    one::merge::<crate::proto::Str, _>(&mut text, wire, &mut buf, depth, "string")?
                }
                _ => skip(wire, tag, &mut buf)?,
            }
        }
        Ok(Quantity(text))
    }
    fn encode_fields(&self, buf: &mut Vec<u8>) {
        one::encode::<crate::proto::Str, _>(&self.0, 1, buf);
    }
    fn fields_len(&self) -> usize {
        one::len::<crate::proto::Str, _>(&self.0, 1)
    }
}

/// Go's zero `time.Time` (year 1), what an empty Time message stands for.
const GO_ZERO_SECONDS: i64 = -62_135_596_800;

/// Reads `{ seconds = 1; nanos = 2 }`; an empty message is Go's zero time.
fn decode_timestamp(mut buf: &[u8], depth: u32, keep_nanos: bool) -> Result<jiff::Timestamp> {
    if buf.is_empty() {
        return jiff::Timestamp::new(GO_ZERO_SECONDS, 0)
            .map_err(|e| DecodeError::new(e.to_string()));
    }
    let (mut seconds, mut nanos) = (0i64, 0i32);
    while !buf.is_empty() {
        let (tag, wire) = key(&mut buf)?;
        match tag {
            1 => one::merge::<crate::proto::Int64, _>(
                &mut seconds,
                wire,
                &mut buf,
                depth,
                "seconds",
            )?,
            2 => one::merge::<crate::proto::Int32, _>(&mut nanos, wire, &mut buf, depth, "nanos")?,
            _ => skip(wire, tag, &mut buf)?,
        }
    }
    // metav1.Time keeps seconds only, as its JSON form does.
    let nanos = if keep_nanos { nanos } else { 0 };
    jiff::Timestamp::new(seconds, nanos)
        .map_err(|e| DecodeError::new(format!("time out of range: {e}")))
}

fn timestamp_fields(t: &jiff::Timestamp) -> (i64, i32) {
    (t.as_second(), t.subsec_nanosecond())
}

fn is_go_zero(t: &jiff::Timestamp) -> bool {
    t.as_second() == GO_ZERO_SECONDS && t.subsec_nanosecond() == 0
}

/// Writes `{ seconds, nanos }`, or nothing for Go's zero time, as Go does.
fn encode_timestamp(t: &jiff::Timestamp, buf: &mut Vec<u8>) {
    if is_go_zero(t) {
        return;
    }
    let (s, n) = timestamp_fields(t);
    one::encode::<crate::proto::Int64, _>(&s, 1, buf);
    one::encode::<crate::proto::Int32, _>(&n, 2, buf);
}

fn timestamp_len(t: &jiff::Timestamp) -> usize {
    if is_go_zero(t) {
        return 0;
    }
    let (s, n) = timestamp_fields(t);
    one::len::<crate::proto::Int64, _>(&s, 1) + one::len::<crate::proto::Int32, _>(&n, 2)
}

impl Message for Time {
    fn decode_fields(buf: &[u8], depth: u32) -> Result<Self> {
        decode_timestamp(buf, depth, false).map(Time)
    }
    fn encode_fields(&self, buf: &mut Vec<u8>) {
        encode_timestamp(&self.0, buf);
    }
    fn fields_len(&self) -> usize {
        timestamp_len(&self.0)
    }
    fn is_unset(&self) -> bool {
        is_go_zero(&self.0)
    }
}

impl Message for MicroTime {
    fn decode_fields(buf: &[u8], depth: u32) -> Result<Self> {
        decode_timestamp(buf, depth, true).map(MicroTime)
    }
    fn encode_fields(&self, buf: &mut Vec<u8>) {
        encode_timestamp(&self.0, buf);
    }
    fn fields_len(&self) -> usize {
        timestamp_len(&self.0)
    }
    fn is_unset(&self) -> bool {
        is_go_zero(&self.0)
    }
}

/// `{ type = 1; intVal = 2; strVal = 3 }`, all three written as Go does.
impl Message for IntOrString {
    fn decode_fields(mut buf: &[u8], depth: u32) -> Result<Self> {
        let (mut ty, mut int, mut string) = (0i64, 0i32, CompactString::default());
        while !buf.is_empty() {
            let (tag, wire) = key(&mut buf)?;
            match tag {
                1 => one::merge::<crate::proto::Int64, _>(&mut ty, wire, &mut buf, depth, "type")?,
                2 => {
                    one::merge::<crate::proto::Int32, _>(&mut int, wire, &mut buf, depth, "intVal")?
                }
                3 => one::merge::<crate::proto::Str, _>(
                    &mut string,
                    wire,
                    &mut buf,
                    depth,
                    "strVal",
                )?,
                _ => skip(wire, tag, &mut buf)?,
            }
        }
        match ty {
            0 => Ok(IntOrString::Int(int)),
            1 => Ok(IntOrString::String(string)),
            other => Err(DecodeError::new(format!(
                "IntOrString type {other} is neither 0 (int) nor 1 (string)"
            ))
            .at("type")),
        }
    }
    fn encode_fields(&self, buf: &mut Vec<u8>) {
        let (ty, int, string) = self.parts();
        one::encode::<crate::proto::Int64, _>(&ty, 1, buf);
        one::encode::<crate::proto::Int32, _>(&int, 2, buf);
        one::encode::<crate::proto::Str, _>(string, 3, buf);
    }
    fn fields_len(&self) -> usize {
        let (ty, int, string) = self.parts();
        one::len::<crate::proto::Int64, _>(&ty, 1)
            + one::len::<crate::proto::Int32, _>(&int, 2)
            + one::len::<crate::proto::Str, _>(string, 3)
    }
}

impl IntOrString {
    fn parts(&self) -> (i64, i32, &CompactString) {
        static EMPTY: CompactString = CompactString::const_new("");
        match self {
            IntOrString::Int(i) => (0, *i, &EMPTY),
            IntOrString::String(s) => (1, 0, s),
        }
    }
}

/// `{ raw = 1 }`: the embedded object's JSON text.
impl Message for RawExtension {
    fn decode_fields(mut buf: &[u8], depth: u32) -> Result<Self> {
        let mut value = serde_json::Value::Null;
        while !buf.is_empty() {
            let (tag, wire) = key(&mut buf)?;
            match tag {
                1 => one::merge::<crate::proto::JsonBytes, _>(
                    &mut value, wire, &mut buf, depth, "raw",
                )?,
                _ => skip(wire, tag, &mut buf)?,
            }
        }
        Ok(RawExtension(value))
    }
    fn encode_fields(&self, buf: &mut Vec<u8>) {
        if !self.0.is_null() {
            one::encode::<crate::proto::JsonBytes, _>(&self.0, 1, buf);
        }
    }
    fn fields_len(&self) -> usize {
        if self.0.is_null() {
            0
        } else {
            one::len::<crate::proto::JsonBytes, _>(&self.0, 1)
        }
    }
}

/// `{ Raw = 1 }`: the field set's JSON text, shared with equal sets.
impl Message for FieldsV1 {
    fn decode_fields(mut buf: &[u8], depth: u32) -> Result<Self> {
        let _ = depth;
        let mut text = "";
        while !buf.is_empty() {
            let (tag, wire) = key(&mut buf)?;
            match tag {
                1 => {
                    let raw = crate::proto::embedded(wire, &mut buf, "Raw")?;
                    text = crate::proto::utf8(raw).map_err(|e| e.at("Raw"))?;
                }
                _ => skip(wire, tag, &mut buf)?,
            }
        }
        Ok(FieldsV1::from_text(text))
    }
    fn encode_fields(&self, buf: &mut Vec<u8>) {
        one::encode::<crate::proto::Str, _>(&CompactString::from(self.as_str()), 1, buf);
    }
    fn fields_len(&self) -> usize {
        one::len::<crate::proto::Str, _>(&CompactString::from(self.as_str()), 1)
    }
}
