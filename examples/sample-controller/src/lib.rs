//! Kubernetes' [sample-controller](https://github.com/kubernetes/sample-controller)
//! on kubegen: a `Foo` custom resource (`samplecontroller.k8s.io/v1alpha1`)
//! whose controller keeps one Deployment per Foo and writes the Foo's status.
//!
//! - [`controller`]: the controller (`controller.go`), on kubegen's
//!   controller runtime with two workers by default.
//! - [`derived`]: `Foo` as Rust types with `#[derive(CustomResource)]`; the
//!   source of `foo-crd.yaml` (`sample-controller --print-crd`).
//! - [`foo_api`]: the crate `kubegen generate --crd foo-crd.yaml` made (typed
//!   client, informer and lister of Foo), which the controller runs on.
//!
//! In-process use (what `main.rs` and the end-to-end test do):
//!
//! ```no_run
//! use std::sync::Arc;
//! use std::time::Duration;
//! use sample_controller::{Controller, foo_api};
//! use tokio_util::sync::CancellationToken;
//!
//! # async fn demo(config: kubegen_runtime::Config) -> Result<(), Box<dyn std::error::Error>> {
//! let rest = kubegen_runtime::RestClient::new(config)?;
//! let kube = kubegen_api::Clientset::from_rest(rest.clone());
//! let sample = foo_api::Clientset::from_rest(rest);
//! let informers = kubegen_runtime::cache::InformerFactory::new(kube.rest().clone(), Duration::from_secs(30));
//! let controller = Controller::new(kube, sample, &informers)?;
//! informers.start();
//! let cancel = CancellationToken::new();
//! controller.run(2, cancel).await?;
//! # Ok(()) }
//! ```

// `foo` is the name of this kind's objects here, not a placeholder.
#![allow(clippy::disallowed_names)]

pub mod controller;
pub mod derived;

pub use controller::{Controller, RunError, SyncError};
/// The generated Foo crate (`foo-api/`), re-exported for users of this one.
pub use sample_controller_foo_api as foo_api;
