//! kubegen-tools: what controllers build on top of the typed API.
//!
//! A [`controller`] runtime with owner and finalizer helpers, a [`fake`]
//! API server to unit-test controllers on,
//! [`leaderelection`] on the generated `coordination.k8s.io/v1` `Lease`,
//! event recording on the generated `core/v1` `Event` ([`record`]) and
//! `events.k8s.io/v1` `Event` ([`events`]), a [`scale`] client for any
//! resource with a scale subresource, and,
//! with the `derive` feature, the run-time half of
//! `#[derive(CustomResource)]` ([`crd`]). These sit above `kubegen-api`
//! and use its types; they never carry copies of them.

#![deny(missing_docs)]

pub mod controller;
#[cfg(feature = "derive")]
pub mod crd;
pub mod events;
pub mod fake;
pub mod leaderelection;
pub mod record;
pub mod scale;
