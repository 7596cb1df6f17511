//! Foo defined the other way: Rust types first, CRD from them, as
//! controller-gen users (or kube-rs's `#[derive(CustomResource)]`) work.
//!
//! [`crd()`] (`Foo::crd()` plus the approval annotation of `*.k8s.io`
//! groups) is what `sample-controller --print-crd` prints and what is
//! checked in as `foo-crd.yaml`; the controller itself runs on the crate the
//! generator makes from that YAML (`foo-api/`), as a Go user of
//! code-generator would. `tests/foo_definitions.rs` keeps the three in step:
//! the YAML is what this derive emits, `foo-api/` is what the generator emits
//! from the YAML, and both `Foo` types serialize every object identically.
//!
//! The schema matches sample-controller's `artifacts/examples/crd-status-subresource.yaml`:
//! `spec.deploymentName`, `spec.replicas` (1 to 10, written here as a CEL rule),
//! `status.availableReplicas`, and the status subresource.

use kubegen_api::apiextensions::v1::CustomResourceDefinition;
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

/// The annotation the API server requires on CRDs in the protected
/// `*.k8s.io` groups; the value is the one sample-controller's own CRD carries.
pub const API_APPROVED_ANNOTATION: (&str, &str) = (
    "api-approved.kubernetes.io",
    "unapproved, experimental-only; please get an approval from Kubernetes API reviewers \
     if you're trying to develop a CRD in the *.k8s.io or *.kubernetes.io groups",
);

/// The Foo CRD: `Foo::crd()` plus the approval annotation (without it the
/// server refuses a CRD in `samplecontroller.k8s.io`).
pub fn crd() -> Result<CustomResourceDefinition, kubegen_runtime::crd::CrdError> {
    let mut crd = Foo::crd()?;
    let (key, value) = API_APPROVED_ANNOTATION;
    crd.metadata
        .annotations
        .get_or_insert_with(Default::default)
        .insert(key.into(), value.into());
    Ok(crd)
}

/// The Foo CRD as YAML: what `--print-crd` prints and `foo-crd.yaml` holds.
pub fn crd_yaml() -> Result<String, kubegen_runtime::crd::CrdError> {
    crd().and_then(|crd| kubegen_runtime::crd::to_yaml(&crd))
}
