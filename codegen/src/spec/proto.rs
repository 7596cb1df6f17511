//! Loading the protobuf schema of built-in kinds: the `generated.proto`
//! files of k8s.io/api and k8s.io/apimachinery (parsed by `protox-parse`),
//! and `presence.tsv`, the fields Go writes to protobuf even when zero while
//! JSON omits them (listed by tests/cluster/cmd/protofacts from Go's
//! structs; the .proto files cannot say it).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use protox_parse::parse;

use crate::error::{Error, Result};

/// A field's protobuf type.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProtoType {
    /// `bool`, `int32`, `int64`, `double`, `string` or `bytes`.
    Scalar(&'static str),
    /// A message, by full name (`k8s.io.api.core.v1.PodSpec`).
    Message(String),
    /// `map<string, V>`.
    Map(Box<ProtoType>),
}

/// One field of a message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProtoField {
    /// Field number.
    pub number: u32,
    /// `repeated`.
    pub repeated: bool,
    /// Its type.
    pub ty: ProtoType,
}

/// Every message of the loaded files, by full name, with fields by name.
#[derive(Clone, Debug, Default)]
pub struct ProtoSchema {
    /// Message full name to its fields by name.
    pub messages: BTreeMap<String, BTreeMap<String, ProtoField>>,
    /// `(message, field)` pairs whose zero value read from protobuf means unset.
    pub zero_is_unset: BTreeSet<(String, String)>,
}

impl ProtoSchema {
    /// Whether `message` is Go's named string slice in protobuf form:
    /// `{ repeated string items = 1; }` (`Verbs`, `ExtraValue`).
    pub fn is_string_list(&self, message: &str) -> bool {
        self.messages.get(message).is_some_and(|fields| {
            fields.len() == 1
                && fields.get("items").is_some_and(|f| {
                    f.number == 1 && f.repeated && f.ty == ProtoType::Scalar("string")
                })
        })
    }

    /// Loads every `.proto` under `dir` and its `presence.tsv`.
    pub fn load(dir: &Path) -> Result<Self> {
        let mut schema = Self::default();
        let files = super::files_under(dir, &["proto"])?;
        if files.is_empty() {
            return Err(Error::Usage(format!(
                "--proto {}: no .proto files there",
                dir.display()
            )));
        }
        for path in files {
            let text = std::fs::read_to_string(&path).map_err(|e| Error::io(&path, e))?;
            let name = path
                .strip_prefix(dir)
                .unwrap_or(&path)
                .display()
                .to_string();
            let file = parse(&name, &text).map_err(|e| Error::Parse {
                path: path.clone(),
                document: None,
                format: "protobuf",
                message: e.to_string(),
            })?;
            let package = file.package.clone().unwrap_or_default();
            for m in &file.message_type {
                let full = format!("{package}.{}", m.name());
                // Map fields point at a nested `XEntry { key = 1; value = 2; }`.
                let entries: BTreeMap<&str, &prost_types::DescriptorProto> = m
                    .nested_type
                    .iter()
                    .filter(|n| n.options.as_ref().is_some_and(|o| o.map_entry()))
                    .map(|n| (n.name(), n))
                    .collect();
                let mut fields = BTreeMap::new();
                for f in &m.field {
                    let entry = f
                        .type_name
                        .as_deref()
                        .and_then(|t| entries.get(t.rsplit('.').next().unwrap_or(t)));
                    let ty = match entry {
                        Some(entry) => {
                            let value = entry.field.iter().find(|v| v.number() == 2);
                            let Some(value) = value.and_then(|v| field_type(v, &package)) else {
                                continue;
                            };
                            ProtoType::Map(Box::new(value))
                        }
                        None => match field_type(f, &package) {
                            Some(t) => t,
                            None => continue,
                        },
                    };
                    let repeated = entry.is_none()
                        && f.label() == prost_types::field_descriptor_proto::Label::Repeated;
                    fields.insert(
                        f.name().to_owned(),
                        ProtoField {
                            number: u32::try_from(f.number()).unwrap_or(0),
                            repeated,
                            ty,
                        },
                    );
                }
                schema.messages.insert(full, fields);
            }
        }
        let presence = dir.join("presence.tsv");
        let text = std::fs::read_to_string(&presence).map_err(|e| Error::io(&presence, e))?;
        for (i, line) in text.lines().enumerate() {
            let Some((message, field)) = line.split_once('\t') else {
                return Err(Error::Parse {
                    path: presence.clone(),
                    document: None,
                    format: "TSV",
                    message: format!("line {}: expected <message>\\t<field>", i + 1),
                });
            };
            schema
                .zero_is_unset
                .insert((message.to_owned(), field.to_owned()));
        }
        Ok(schema)
    }
}

/// A field's type; `None` for types Kubernetes never uses (enums, groups,
/// unsigned and fixed-width integers), which leave the message JSON-only.
fn field_type(f: &prost_types::FieldDescriptorProto, package: &str) -> Option<ProtoType> {
    use prost_types::field_descriptor_proto::Type;
    if let Some(name) = f.type_name.as_deref() {
        // go-to-protobuf writes other packages' messages fully qualified and
        // its own package's by bare name.
        let name = name.trim_start_matches('.');
        let full = if name.contains('.') {
            name.to_owned()
        } else {
            format!("{package}.{name}")
        };
        return match f.r#type {
            None | Some(11) => Some(ProtoType::Message(full)),
            _ => None,
        };
    }
    Some(ProtoType::Scalar(match f.r#type() {
        Type::Bool => "bool",
        Type::Int32 => "int32",
        Type::Int64 => "int64",
        Type::Double => "double",
        Type::String => "string",
        Type::Bytes => "bytes",
        _ => return None,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_fields_maps_and_presence() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("a.proto"),
            r#"syntax = "proto2";
package k8s.io.api.demo.v1;
import "k8s.io/apimachinery/pkg/apis/meta/v1/generated.proto";
message Thing {
  optional k8s.io.apimachinery.pkg.apis.meta.v1.ObjectMeta metadata = 1;
  optional ThingSpec spec = 2;
  map<string, string> labels = 3;
  repeated int64 ids = 4;
  optional bytes data = 5;
}
message ThingSpec { optional string name = 1; }
"#,
        )
        .unwrap();
        std::fs::write(
            dir.path().join("presence.tsv"),
            "k8s.io.api.demo.v1.ThingSpec\tname\n",
        )
        .unwrap();
        let s = ProtoSchema::load(dir.path()).unwrap();
        let thing = &s.messages["k8s.io.api.demo.v1.Thing"];
        assert_eq!(
            thing["metadata"].ty,
            ProtoType::Message("k8s.io.apimachinery.pkg.apis.meta.v1.ObjectMeta".into())
        );
        assert_eq!(
            thing["spec"].ty,
            ProtoType::Message("k8s.io.api.demo.v1.ThingSpec".into())
        );
        assert_eq!(
            thing["labels"].ty,
            ProtoType::Map(Box::new(ProtoType::Scalar("string")))
        );
        assert!(!thing["labels"].repeated);
        assert!(thing["ids"].repeated);
        assert_eq!(thing["data"].ty, ProtoType::Scalar("bytes"));
        assert!(
            s.zero_is_unset
                .contains(&("k8s.io.api.demo.v1.ThingSpec".into(), "name".into()))
        );
    }

    #[test]
    fn a_broken_file_is_an_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("bad.proto"), "message {").unwrap();
        let err = ProtoSchema::load(dir.path()).unwrap_err().to_string();
        assert!(err.contains("bad.proto"), "{err}");
    }
}
