//! Print the CRD of sample-controller's `Foo`, derived from Rust types, as
//! YAML (what controller-gen users expect):
//!
//! ```text
//! cargo run -p kubegen-derive --example crdgen > foo-crd.yaml
//! kubectl apply -f foo-crd.yaml
//! ```
//!
//! The same kind can come the other way, from this YAML through
//! `kubegen generate --crd foo-crd.yaml`; the e2e test `derive_loop` checks that
//! both directions agree.

use std::process::ExitCode;

use kubegen_runtime::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// FooSpec is the spec for a Foo resource: run `replicas` copies of the
/// deployment `deploymentName`.
#[kubegen_runtime::schema]
#[derive(CustomResource, Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[kubegen(
    group = "samplecontroller.k8s.io",
    version = "v1alpha1",
    kind = "Foo",
    namespaced
)]
#[kubegen(status = "FooStatus", derive = "PartialEq")]
#[kubegen(printcolumn(
    name = "Deployment",
    type = "string",
    json_path = ".spec.deploymentName"
))]
#[kubegen(printcolumn(
    name = "Available",
    type = "integer",
    json_path = ".status.availableReplicas"
))]
#[serde(rename_all = "camelCase")]
pub struct FooSpec {
    /// Name of the Deployment the Foo owns.
    pub deployment_name: String,
    /// Desired replicas of the Deployment.
    #[kubegen(validation(
        rule = "self >= 1 && self <= 10",
        message = "replicas must be between 1 and 10"
    ))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replicas: Option<i32>,
}

/// FooStatus is the status for a Foo resource.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct FooStatus {
    /// Replicas of the Deployment that are available.
    pub available_replicas: i32,
}

fn main() -> ExitCode {
    match Foo::crd().and_then(|crd| kubegen_runtime::crd::to_yaml(&crd)) {
        Ok(yaml) => {
            print!("{yaml}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("crdgen: {e}");
            ExitCode::FAILURE
        }
    }
}
