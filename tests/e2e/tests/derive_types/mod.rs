//! The derived kind the derive tests share: one of each field shape the
//! structural-schema transform handles (options, maps, a list with map keys,
//! int-or-string, enums, a tagged enum, nested structs, free-form JSON), a CEL
//! rule and a default declared in Rust.

use std::collections::BTreeMap;

use kubegen_runtime::meta::{IntOrString, ObjectMeta};
use kubegen_runtime::{CustomResource, SortedMap};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A Widget scales a set of ports up to a limit.
#[kubegen_runtime::schema]
#[derive(CustomResource, Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[kubegen(
    group = "e2e.kubegen.dev",
    version = "v1",
    kind = "Widget",
    namespaced,
    derive = "PartialEq"
)]
#[kubegen(status = "WidgetStatus", shortname = "wdg", category = "kubegen")]
#[kubegen(printcolumn(name = "Replicas", type = "integer", json_path = ".spec.replicas"))]
#[kubegen(scale(
    spec_replicas_path = ".spec.replicas",
    status_replicas_path = ".status.replicas"
))]
#[kubegen(validation(
    rule = "self.replicas <= self.maxReplicas",
    message = "replicas must not exceed maxReplicas"
))]
#[serde(rename_all = "camelCase")]
pub struct WidgetSpec {
    /// Desired copies.
    pub replicas: i32,
    /// Upper bound for `replicas`.
    pub max_replicas: i32,
    /// How to roll out; the server fills in `Fast` when it is left out.
    #[kubegen(default = "Fast")]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<Mode>,
    /// Ports, merged by name under server-side apply.
    #[kubegen(list_type = "map", list_map_keys = ["name"])]
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ports: Vec<Port>,
    /// A port number or name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<IntOrString>,
    /// Free labels.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    /// A health check.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub probe: Option<Probe>,
    /// Anything at all.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extra: Option<serde_json::Value>,
    /// An object the widget stamps out, carried whole with its own
    /// apiVersion, kind and metadata.
    #[kubegen(embedded_resource)]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template: Option<Template>,
}

/// An embedded resource (`x-kubernetes-embedded-resource`): a ConfigMap-like
/// object inside the spec.
#[kubegen_runtime::schema]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Template {
    /// The embedded object's apiVersion.
    pub api_version: String,
    /// The embedded object's kind.
    pub kind: String,
    /// The embedded object's metadata.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<ObjectMeta>,
    /// Payload.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub data: BTreeMap<String, String>,
}

/// One port.
#[kubegen_runtime::schema]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Port {
    /// Key of the list.
    pub name: String,
    /// The number.
    #[kubegen(validation(rule = "self > 0 && self < 65536", message = "port out of range"))]
    pub port: i32,
    /// TCP or UDP.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol: Option<Protocol>,
}

/// Transport protocol.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub enum Protocol {
    /// Streams.
    #[serde(rename = "TCP")]
    Tcp,
    /// Datagrams.
    #[serde(rename = "UDP")]
    Udp,
}

/// Rollout mode.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub enum Mode {
    /// All at once.
    Fast,
    /// One by one.
    Slow,
}

/// A health check, tagged by `type`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum Probe {
    /// GET a path.
    Http {
        /// URL path.
        path: String,
        /// Port number.
        port: i32,
    },
    /// Run a command.
    Exec {
        /// argv.
        command: Vec<String>,
    },
}

/// Observed state.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct WidgetStatus {
    /// Copies running.
    pub replicas: i32,
    /// Human summary.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// A spec using every field.
pub fn full_spec() -> WidgetSpec {
    WidgetSpec {
        replicas: 2,
        max_replicas: 5,
        mode: Some(Mode::Slow),
        ports: vec![
            Port {
                name: "http".into(),
                port: 80,
                protocol: Some(Protocol::Tcp),
            },
            Port {
                name: "dns".into(),
                port: 53,
                protocol: None,
            },
        ],
        target: Some(IntOrString::String("http".into())),
        labels: BTreeMap::from([("team".to_owned(), "a".to_owned())]),
        probe: Some(Probe::Http {
            path: "/healthz".into(),
            port: 8080,
        }),
        extra: Some(serde_json::json!({"anything": [1, "two", {"three": true}]})),
        template: Some(Template {
            api_version: "v1".into(),
            kind: "ConfigMap".into(),
            metadata: Some(ObjectMeta {
                name: Some("stamped".into()),
                labels: Some(SortedMap::from([("from".into(), "widget".into())])),
                ..Default::default()
            }),
            data: BTreeMap::from([("key".to_owned(), "value".to_owned())]),
        }),
    }
}
