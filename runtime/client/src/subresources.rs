//! Subresources: any by name (untyped), and the typed ones the API serves
//! (`status`, `scale`, `eviction`, `binding`, `token`, `ephemeralcontainers`,
//! `resize`), each gated by its marker trait.

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::requests::name_of;
use super::{APPLY_PATCH, Client, Patch};
use kubegen_core::error::Result;
use kubegen_core::meta::Status;
use kubegen_core::options::{ApplyOptions, CreateOptions, PatchOptions, Query, UpdateOptions};
use kubegen_core::resource::Object;
use kubegen_core::verbs;

impl<K: Object> Client<K> {
    /// Untyped GET of any subresource, e.g. `("web-0", "status")`.
    pub async fn get_subresource<T: DeserializeOwned>(
        &self,
        name: &str,
        subresource: &str,
    ) -> Result<T> {
        self.do_get(name, Some(subresource), Query::new()).await
    }
    /// Untyped POST to a subresource.
    pub async fn create_subresource<B: Serialize, T: DeserializeOwned>(
        &self,
        name: &str,
        subresource: &str,
        body: &B,
        opts: &CreateOptions,
    ) -> Result<T> {
        self.do_create(Some((name, subresource)), body, opts).await
    }
    /// Untyped PUT of a subresource.
    pub async fn replace_subresource<B: Serialize, T: DeserializeOwned>(
        &self,
        name: &str,
        subresource: &str,
        body: &B,
        opts: &UpdateOptions,
    ) -> Result<T> {
        self.do_replace(name, Some(subresource), body, opts).await
    }
    /// Untyped PATCH of a subresource.
    pub async fn patch_subresource<B: Serialize, T: DeserializeOwned>(
        &self,
        name: &str,
        subresource: &str,
        patch: &Patch<B>,
        opts: &PatchOptions,
    ) -> Result<T> {
        self.do_patch(
            name,
            Some(subresource),
            patch.body(),
            patch.content_type(),
            opts,
        )
        .await
    }

    /// `GET .../{name}/status`
    pub async fn get_status(&self, name: &str) -> Result<K>
    where
        K: verbs::Status,
    {
        self.get_subresource(name, "status").await
    }

    /// `PUT .../{name}/status`: only the status is changed; the spec in `obj` is ignored.
    pub async fn update_status(&self, obj: &K, opts: &UpdateOptions) -> Result<K>
    where
        K: verbs::Status,
    {
        let name = name_of(obj, &format!("update_status {}", self.resource.plural))?;
        self.replace_subresource(&name, "status", obj, opts).await
    }

    /// `PATCH .../{name}/status`
    pub async fn patch_status<B: Serialize>(
        &self,
        name: &str,
        patch: &Patch<B>,
        opts: &PatchOptions,
    ) -> Result<K>
    where
        K: verbs::Status,
    {
        self.patch_subresource(name, "status", patch, opts).await
    }

    /// Server-side apply of the status subresource.
    pub async fn apply_status<B: Serialize>(
        &self,
        name: &str,
        config: &B,
        opts: &ApplyOptions,
    ) -> Result<K>
    where
        K: verbs::Status,
    {
        self.do_patch(
            name,
            Some("status"),
            config,
            APPLY_PATCH,
            &opts.to_patch_options(),
        )
        .await
    }

    /// `GET .../{name}/scale`
    pub async fn get_scale(&self, name: &str) -> Result<K::Scale>
    where
        K: verbs::Scale,
    {
        self.get_subresource(name, "scale").await
    }

    /// `PUT .../{name}/scale`
    pub async fn update_scale(
        &self,
        name: &str,
        scale: &K::Scale,
        opts: &UpdateOptions,
    ) -> Result<K::Scale>
    where
        K: verbs::Scale,
    {
        self.replace_subresource(name, "scale", scale, opts).await
    }

    /// `PATCH .../{name}/scale`
    pub async fn patch_scale<B: Serialize>(
        &self,
        name: &str,
        patch: &Patch<B>,
        opts: &PatchOptions,
    ) -> Result<K::Scale>
    where
        K: verbs::Scale,
    {
        self.patch_subresource(name, "scale", patch, opts).await
    }

    /// Server-side apply of the scale subresource (client-go's
    /// `ApplyScale`): `config` is an `autoscaling/v1` `Scale` apply
    /// configuration, usually just `spec.replicas`.
    pub async fn apply_scale<B: Serialize>(
        &self,
        name: &str,
        config: &B,
        opts: &ApplyOptions,
    ) -> Result<K::Scale>
    where
        K: verbs::Scale,
    {
        self.do_patch(
            name,
            Some("scale"),
            config,
            APPLY_PATCH,
            &opts.to_patch_options(),
        )
        .await
    }

    /// `POST pods/{name}/eviction`: evict, honouring disruption budgets
    /// (a blocked eviction is a 429 `TooManyRequests` error).
    pub async fn evict(
        &self,
        name: &str,
        eviction: &K::Eviction,
        opts: &CreateOptions,
    ) -> Result<Status>
    where
        K: verbs::Eviction,
    {
        self.create_subresource(name, "eviction", eviction, opts)
            .await
    }

    /// `POST pods/{name}/binding`: bind a pod to a node.
    pub async fn bind(
        &self,
        name: &str,
        binding: &K::Binding,
        opts: &CreateOptions,
    ) -> Result<Status>
    where
        K: verbs::Binding,
    {
        self.create_subresource(name, "binding", binding, opts)
            .await
    }

    /// `POST serviceaccounts/{name}/token`: a token for the service account.
    pub async fn create_token(
        &self,
        name: &str,
        request: &K::TokenRequest,
        opts: &CreateOptions,
    ) -> Result<K::TokenRequest>
    where
        K: verbs::Token,
    {
        self.create_subresource(name, "token", request, opts).await
    }

    /// `GET pods/{name}/ephemeralcontainers`
    pub async fn get_ephemeral_containers(&self, name: &str) -> Result<K>
    where
        K: verbs::EphemeralContainers,
    {
        self.get_subresource(name, "ephemeralcontainers").await
    }

    /// `PUT pods/{name}/ephemeralcontainers`
    pub async fn update_ephemeral_containers(&self, obj: &K, opts: &UpdateOptions) -> Result<K>
    where
        K: verbs::EphemeralContainers,
    {
        let name = name_of(obj, "update_ephemeral_containers")?;
        self.replace_subresource(&name, "ephemeralcontainers", obj, opts)
            .await
    }

    /// `PATCH pods/{name}/ephemeralcontainers`
    pub async fn patch_ephemeral_containers<B: Serialize>(
        &self,
        name: &str,
        patch: &Patch<B>,
        opts: &PatchOptions,
    ) -> Result<K>
    where
        K: verbs::EphemeralContainers,
    {
        self.patch_subresource(name, "ephemeralcontainers", patch, opts)
            .await
    }

    /// `GET pods/{name}/resize`
    pub async fn get_resize(&self, name: &str) -> Result<K>
    where
        K: verbs::Resize,
    {
        self.get_subresource(name, "resize").await
    }

    /// `PUT pods/{name}/resize`: change container resources in place.
    pub async fn update_resize(&self, obj: &K, opts: &UpdateOptions) -> Result<K>
    where
        K: verbs::Resize,
    {
        let name = name_of(obj, "update_resize")?;
        self.replace_subresource(&name, "resize", obj, opts).await
    }

    /// `PATCH pods/{name}/resize`
    pub async fn patch_resize<B: Serialize>(
        &self,
        name: &str,
        patch: &Patch<B>,
        opts: &PatchOptions,
    ) -> Result<K>
    where
        K: verbs::Resize,
    {
        self.patch_subresource(name, "resize", patch, opts).await
    }
}
