//! kubegen: OpenAPI specs and CRDs in, typed Rust Kubernetes clients out.
