//! Kubernetes' [sample-controller](https://github.com/kubernetes/sample-controller)
//! on kubegen: a `Foo` custom resource (`samplecontroller.k8s.io/v1alpha1`)
//! whose controller keeps one Deployment per Foo and writes the Foo's status.
//!
//! - [`controller`]: the controller (`controller.go`), on a rate-limited
//!   workqueue with two workers by default.
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
//! let kube_informers = kubegen_api::SharedInformerFactory::new(kube.clone(), Duration::from_secs(30));
//! let sample_informers = foo_api::SharedInformerFactory::new(sample.clone(), Duration::from_secs(30));
//! let controller = Controller::new(
//!     kube,
//!     sample,
//!     &kube_informers.apps().v1().deployments(),
//!     &sample_informers.samplecontroller().v1alpha1().foos(),
//! )?;
//! kube_informers.start();
//! sample_informers.start();
//! let cancel = CancellationToken::new();
//! Arc::new(controller).run(2, cancel).await?;
//! # Ok(()) }
//! ```

// `foo` is the name of this kind's objects here, not a placeholder.
#![allow(clippy::disallowed_names)]

pub mod controller;
pub mod derived;

pub use controller::{Controller, ObjectName, RunError, SyncError};
/// The generated Foo crate (`foo-api/`), re-exported for users of this one.
pub use sample_controller_foo_api as foo_api;
