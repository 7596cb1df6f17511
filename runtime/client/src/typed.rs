//! The verbs of typed kinds, each gated by its marker trait in [`verbs`](mod@kubegen_core::verbs).

use futures::{Stream, TryStreamExt};
use serde::Serialize;

use super::requests::name_of;
use super::{APPLY_PATCH, Client, DeleteResponse, ObjectList, Patch, STRATEGIC_MERGE, WatchStream};
use kubegen_core::error::Result;
use kubegen_core::options::{
    ApplyOptions, CreateOptions, DeleteOptions, GetOptions, ListOptions, PatchOptions,
    UpdateOptions,
};
use kubegen_core::resource::Object;
use kubegen_core::verbs;

/// Verbs of typed kinds, each gated by its marker trait.
impl<K: Object> Client<K> {
    /// `GET .../{name}`
    pub async fn get(&self, name: &str, opts: &GetOptions) -> Result<K>
    where
        K: verbs::Get,
    {
        self.do_get_object(name, opts.to_query()).await
    }

    /// `GET .../{name}`, `None` when it does not exist.
    pub async fn get_opt(&self, name: &str, opts: &GetOptions) -> Result<Option<K>>
    where
        K: verbs::Get,
    {
        match self.get(name, opts).await {
            Ok(o) => Ok(Some(o)),
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// `GET ...`: one page (all items unless `opts.limit` is set).
    pub async fn list(&self, opts: &ListOptions) -> Result<ObjectList<K>>
    where
        K: verbs::List,
    {
        self.do_list(opts).await
    }

    /// Pages of a list, following `continue` (page size `opts.limit`, default 500).
    /// Each next page is asked for as soon as its token is known, so the server
    /// serves it while the current page is decoded and consumed.
    pub fn list_pages(
        &self,
        opts: &ListOptions,
    ) -> impl Stream<Item = Result<ObjectList<K>>> + Send + use<K>
    where
        K: verbs::List,
    {
        self.do_list_pages(opts)
    }

    /// Every item of a list, streamed page by page (client-go's pager).
    pub fn list_all(&self, opts: &ListOptions) -> impl Stream<Item = Result<K>> + Send + use<K>
    where
        K: verbs::List,
    {
        self.do_list_pages(opts)
            .map_ok(|page| futures::stream::iter(page.items.into_iter().map(Ok)))
            .try_flatten()
    }

    /// `GET ...?watch=true`: a stream of events, ending when the server closes it.
    pub async fn watch(&self, opts: &ListOptions) -> Result<WatchStream<K>>
    where
        K: verbs::Watch,
    {
        self.do_watch(opts).await
    }

    /// `POST ...`
    pub async fn create(&self, obj: &K, opts: &CreateOptions) -> Result<K>
    where
        K: verbs::Create,
    {
        self.send_object(
            http::Method::POST,
            self.collection_path()?,
            &opts.to_query(),
            obj,
        )
        .await
    }

    /// `PUT .../{name}` (name from the object's metadata).
    pub async fn update(&self, obj: &K, opts: &UpdateOptions) -> Result<K>
    where
        K: verbs::Update,
    {
        let name = name_of(obj, &format!("update {}", self.resource.plural))?;
        self.send_object(
            http::Method::PUT,
            self.object_path(&name, None)?,
            &opts.to_query(),
            obj,
        )
        .await
    }

    /// `PATCH .../{name}` with a JSON or merge patch.
    pub async fn patch<B: Serialize>(
        &self,
        name: &str,
        patch: &Patch<B>,
        opts: &PatchOptions,
    ) -> Result<K>
    where
        K: verbs::Patch,
    {
        self.do_patch_object(name, patch.body(), patch.content_type(), opts)
            .await
    }

    /// `PATCH .../{name}` with a strategic merge patch (built-in kinds only).
    pub async fn patch_strategic<B: Serialize>(
        &self,
        name: &str,
        patch: &B,
        opts: &PatchOptions,
    ) -> Result<K>
    where
        K: verbs::Patch + verbs::StrategicMergePatch,
    {
        self.do_patch_object(name, patch, STRATEGIC_MERGE, opts)
            .await
    }

    /// Server-side apply of `config` (an apply configuration, or any object
    /// holding just the fields this manager owns) to `name`.
    pub async fn apply<B: Serialize>(
        &self,
        name: &str,
        config: &B,
        opts: &ApplyOptions,
    ) -> Result<K>
    where
        K: verbs::Patch,
    {
        self.do_patch_object(name, config, APPLY_PATCH, &opts.to_patch_options())
            .await
    }

    /// `DELETE .../{name}`
    pub async fn delete(&self, name: &str, opts: &DeleteOptions) -> Result<DeleteResponse<K>>
    where
        K: verbs::Delete,
    {
        self.do_delete(name, opts).await
    }

    /// `DELETE ...`: every object matching `list`'s selectors.
    pub async fn delete_collection(
        &self,
        opts: &DeleteOptions,
        list: &ListOptions,
    ) -> Result<DeleteResponse<ObjectList<K>>>
    where
        K: verbs::DeleteCollection,
    {
        self.do_delete_collection(opts, list).await
    }
}
