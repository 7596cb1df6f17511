//! Scaling any resource with a `scale` subresource by its name, as
//! client-go's `scale` package: Deployments, StatefulSets, ReplicaSets and
//! custom resources alike, without a type for each (what `kubectl scale`
//! and the HorizontalPodAutoscaler use).
//!
//! The resource is named as users type it (`deployments.apps`, `deploy`,
//! `gizmos.example.com`) and found through discovery, which is asked again
//! when it does not know the name (a CRD installed since). Every scale
//! subresource speaks `autoscaling/v1` `Scale`.
//!
//! ```no_run
//! use kubegen_tools::scale::ScaleClient;
//! # async fn demo(rest: kubegen_client::RestClient) -> kubegen_core::Result<()> {
//! let scales = ScaleClient::new(rest);
//! let mut scale = scales.get("default", "deployments.apps", "web").await?;
//! scale.spec.get_or_insert_default().replicas = Some(3);
//! scales.update("default", "deployments.apps", &scale).await?;
//! # Ok(()) }
//! ```

use kubegen_client::discovery::Discovery;
use kubegen_client::{Client, Patch, RestClient};
use kubegen_core::error::{Error, Result};
use kubegen_core::{DynamicObject, PatchOptions, UpdateOptions};
use serde::Serialize;

/// The generated `autoscaling/v1` `Scale` every scale subresource speaks.
pub use kubegen_api::autoscaling::v1::Scale;

/// Reads and writes the scale subresource of resources named at run time.
#[derive(Clone, Debug)]
pub struct ScaleClient {
    rest: RestClient,
    discovery: Discovery,
}

impl ScaleClient {
    /// A scale client over `rest`, with its own discovery cache.
    pub fn new(rest: RestClient) -> Self {
        Self {
            discovery: Discovery::new(rest.clone()),
            rest,
        }
    }

    /// `GET .../{name}/scale` of `resource` in `namespace` (ignored for
    /// cluster-scoped resources).
    pub async fn get(&self, namespace: &str, resource: &str, name: &str) -> Result<Scale> {
        self.client(namespace, resource)
            .await?
            .get_subresource(name, "scale")
            .await
    }

    /// `PUT .../{name}/scale` with `scale` (named by its metadata; its
    /// resourceVersion, when set, guards against a concurrent change).
    pub async fn update(&self, namespace: &str, resource: &str, scale: &Scale) -> Result<Scale> {
        let name = scale.metadata.name.as_deref().ok_or_else(|| {
            Error::InvalidRequest(format!("scale of {resource}: metadata.name is not set"))
        })?;
        self.client(namespace, resource)
            .await?
            .replace_subresource(name, "scale", scale, &UpdateOptions::default())
            .await
    }

    /// `PATCH .../{name}/scale`, e.g. a merge patch of `spec.replicas`.
    pub async fn patch<B: Serialize>(
        &self,
        namespace: &str,
        resource: &str,
        name: &str,
        patch: &Patch<B>,
    ) -> Result<Scale> {
        self.client(namespace, resource)
            .await?
            .patch_subresource(name, "scale", patch, &PatchOptions::default())
            .await
    }

    /// A dynamic client of `resource`, which must have a scale subresource.
    async fn client(&self, namespace: &str, resource: &str) -> Result<Client<DynamicObject>> {
        let found = self.discovery.resolve(resource).await?;
        if !found.subresources.iter().any(|s| s == "scale") {
            return Err(Error::InvalidRequest(format!(
                "{resource} ({}) has no scale subresource",
                found.resource.plural
            )));
        }
        Ok(Client::new_with(
            self.rest.clone(),
            found.resource,
            Some(namespace.to_owned()),
        ))
    }
}
