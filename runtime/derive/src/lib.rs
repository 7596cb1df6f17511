//! kubegen-derive: `#[derive(CustomResource)]` and `#[schema]`, the compile-time
//! half of CRDs from Rust types. Use them through `kubegen-runtime` with its
//! `derive` feature (`kubegen_runtime::CustomResource`,
//! `kubegen_runtime::schema`); the run-time half (structural schemas, CRD
//! assembly) is `kubegen_runtime::crd`, which documents the whole design.
//!
//! ```
//! use kubegen_runtime::CustomResource;
//! use schemars::JsonSchema;
//! use serde::{Deserialize, Serialize};
//!
//! /// A Foo runs `replicas` copies of a deployment.
//! #[kubegen_runtime::schema]
//! #[derive(CustomResource, Clone, Debug, Serialize, Deserialize, JsonSchema)]
//! #[kubegen(group = "samplecontroller.k8s.io", version = "v1alpha1", kind = "Foo", namespaced)]
//! #[kubegen(status = "FooStatus", shortname = "fo")]
//! #[kubegen(printcolumn(name = "Replicas", type = "integer", json_path = ".spec.replicas"))]
//! #[kubegen(validation(rule = "self.replicas <= 10", message = "at most 10 replicas"))]
//! #[serde(rename_all = "camelCase")]
//! pub struct FooSpec {
//!     pub deployment_name: String,
//!     pub replicas: i32,
//!     #[kubegen(list_type = "map", list_map_keys = ["name"])]
//!     pub ports: Vec<Port>,
//! }
//!
//! #[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
//! pub struct Port {
//!     pub name: String,
//!     pub port: i32,
//! }
//!
//! #[derive(Clone, Debug, Default, Serialize, Deserialize, JsonSchema)]
//! #[serde(rename_all = "camelCase")]
//! pub struct FooStatus {
//!     pub available_replicas: i32,
//! }
//!
//! let crd = Foo::crd().unwrap();
//! assert_eq!(crd.metadata.name.as_deref(), Some("foos.samplecontroller.k8s.io"));
//! let yaml = kubegen_runtime::crd::to_yaml(&crd).unwrap();
//! assert!(yaml.contains("x-kubernetes-list-type: map"));
//! ```
//!
//! `CustomResource` keys (on the spec struct): `group`, `version`, `kind`
//! (required); `plural`, `singular` (default: lowercase kind, English plural);
//! `namespaced` (default cluster-scoped); `status = "Type"` (adds the status
//! field and subresource); `shortname`, `category`, `selectable_field`,
//! `printcolumn(name, type, json_path, description, priority, format)`,
//! `validation = "rule"` / `validation(rule, message, message_expression,
//! reason, field_path)` (repeatable; CEL rules on the spec);
//! `scale(spec_replicas_path, status_replicas_path, label_selector_path)`
//! (the Scale type is `kubegen_api::autoscaling::v1::Scale`); `served`,
//! `storage` (bools, default true), `deprecated`, `deprecation_warning`;
//! `derive = "PartialEq"` (extra derives on the kind struct).
//!
//! `schema` keys on fields: `list_type`, `list_map_keys = [..]`, `map_type`,
//! `validation`, `preserve_unknown_fields`, `embedded_resource`,
//! `default = <JSON literal>`; on types: `map_type`, `validation`,
//! `preserve_unknown_fields`, `embedded_resource`.
//!
//! Every error is a compile error on the offending tokens; nothing here panics.

mod attrs;
mod custom_resource;
mod schema_attr;

use proc_macro::TokenStream;

/// Generate a custom resource kind from its spec struct; see the crate docs.
///
/// The kind struct is named by `kind`, has `api_version`, `kind`, `metadata`,
/// `spec` and (with `status = "..."`) `status`, and implements
/// `kubegen_runtime::{Resource, Object}` and the verbs a CRD serves. `Foo::crd()`
/// returns the typed `kubegen_api::apiextensions::v1::CustomResourceDefinition`
/// (reached through `kubegen_runtime`, so the crate using the derive needs no
/// other dependency); `Foo::crd_json()` the same as JSON.
#[proc_macro_derive(CustomResource, attributes(kubegen))]
pub fn derive_custom_resource(input: TokenStream) -> TokenStream {
    let input = syn::parse_macro_input!(input as syn::DeriveInput);
    custom_resource::expand(input)
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}

/// Turn `#[kubegen(...)]` schema attributes on fields (and types) into
/// `#[schemars(extend(...))]`; place it above `#[derive(JsonSchema)]`.
#[proc_macro_attribute]
pub fn schema(args: TokenStream, item: TokenStream) -> TokenStream {
    let original: proc_macro2::TokenStream = item.clone().into();
    match schema_attr::expand(args.into(), item.into()) {
        Ok(out) => out.into(),
        // Keep the item (without our attributes) so one error does not
        // cascade into "type not found" and "unknown attribute" errors.
        Err(e) => {
            let err = e.into_compile_error();
            let item = schema_attr::strip(original);
            quote::quote!(#err #item).into()
        }
    }
}
