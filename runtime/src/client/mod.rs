//! Clients: the untyped [`RestClient`] and the typed [`Client<K>`], with the
//! list and watch shapes they return.
//!
//! `Client<K>` is the one implementation of every verb for every kind; the
//! generated clientsets only construct it. A verb method exists only when `K`
//! implements the matching marker trait of [`verbs`](mod@crate::verbs), so the
//! compiler rejects verbs the API does not serve. [`DynamicObject`](crate::dynamic::DynamicObject)
//! implements every verb (only the server knows which apply), see [`crate::dynamic`].
//!
//! ```no_run
//! # async fn f<Pod: kubegen_runtime::Object + kubegen_runtime::verbs::Get>() -> kubegen_runtime::Result<()> {
//! use kubegen_runtime::{Client, Config, GetOptions, RestClient};
//! let rest = RestClient::new(Config::infer().await?)?;
//! let pods = Client::<Pod>::namespaced(rest, "default");
//! let web = pods.get("web-0", &GetOptions::default()).await?;
//! # Ok(()) }
//! ```

mod exec;
mod list;
mod portforward;
mod rest;
mod watch;
#[cfg(test)]
mod watch_props;
mod ws;

use std::marker::PhantomData;

use bytes::Bytes;
use futures::{Stream, TryStreamExt};
use http::Method;
use serde::Serialize;
use serde::de::DeserializeOwned;

pub use exec::{AttachedProcess, ExitStatus, TerminalSize};
pub use list::ObjectList;
pub use portforward::{PortStream, Portforwarder};
pub use rest::RestClient;
pub use watch::{
    Bookmark, INITIAL_EVENTS_END_ANNOTATION, MAX_WATCH_EVENT_BYTES, WatchEvent, WatchStream,
};
pub use ws::{V4_CHANNEL, V5_CHANNEL};

use crate::error::{Error, Result};
use crate::meta::Status;
use crate::options::{
    ApplyOptions, AttachParams, CreateOptions, DeleteOptions, GetOptions, ListOptions, LogOptions,
    PatchOptions, Query, UpdateOptions,
};
use crate::resource::{ApiResource, Object, Resource, Scope};
use crate::verbs;
use rest::{describe, empty_request, json_request};

const JSON: &str = "application/json";

/// A patch body and its type.
#[derive(Clone, Debug, PartialEq)]
pub enum Patch<T = serde_json::Value> {
    /// RFC 6902 JSON patch (`application/json-patch+json`): a list of operations.
    Json(T),
    /// RFC 7386 JSON merge patch (`application/merge-patch+json`).
    Merge(T),
}

impl<T: Serialize> Patch<T> {
    fn content_type(&self) -> &'static str {
        match self {
            Patch::Json(_) => "application/json-patch+json",
            Patch::Merge(_) => "application/merge-patch+json",
        }
    }
    fn body(&self) -> &T {
        match self {
            Patch::Json(b) | Patch::Merge(b) => b,
        }
    }
}

const STRATEGIC_MERGE: &str = "application/strategic-merge-patch+json";
const APPLY_PATCH: &str = "application/apply-patch+yaml";

/// What a delete returned: the object (still present with a
/// `deletionTimestamp` while finalizers run, or its last state), or a `Status`.
#[allow(clippy::large_enum_variant)] // as WatchEvent: kinds outweigh Status
#[derive(Clone, Debug, PartialEq)]
pub enum DeleteResponse<K> {
    /// The object as the server last had it.
    Object(K),
    /// A success `Status`.
    Status(Status),
}

/// The typed client of one resource, optionally bound to a namespace.
pub struct Client<K> {
    rest: RestClient,
    resource: ApiResource,
    namespace: Option<String>,
    _kind: PhantomData<fn() -> K>,
}

impl<K> Clone for Client<K> {
    fn clone(&self) -> Self {
        Self {
            rest: self.rest.clone(),
            resource: self.resource.clone(),
            namespace: self.namespace.clone(),
            _kind: PhantomData,
        }
    }
}

impl<K> std::fmt::Debug for Client<K> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("resource", &self.resource)
            .field("namespace", &self.namespace)
            .finish()
    }
}

impl<K: Object + Resource> Client<K> {
    /// Objects of `K` in `namespace`.
    pub fn namespaced(rest: RestClient, namespace: &str) -> Self {
        Self::new_with(rest, K::api_resource(), Some(namespace.to_owned()))
    }
    /// Objects of `K` in the config's default namespace.
    pub fn default_namespaced(rest: RestClient) -> Self {
        let ns = rest.default_namespace().to_owned();
        Self::new_with(rest, K::api_resource(), Some(ns))
    }
    /// Objects of `K` in all namespaces (list/watch across the cluster).
    pub fn all(rest: RestClient) -> Self {
        Self::new_with(rest, K::api_resource(), None)
    }
    /// Objects of a cluster-scoped `K`.
    pub fn cluster(rest: RestClient) -> Self {
        Self::new_with(rest, K::api_resource(), None)
    }
}

impl<K: Object> Client<K> {
    /// A client for `resource`, for kinds known only at run time. An empty
    /// namespace means all namespaces; a namespace is ignored for cluster-scoped kinds.
    pub fn new_with(rest: RestClient, resource: ApiResource, namespace: Option<String>) -> Self {
        let namespace = namespace.filter(|n| !n.is_empty() && resource.scope == Scope::Namespaced);
        Self {
            rest,
            resource,
            namespace,
            _kind: PhantomData,
        }
    }

    /// The same client in another namespace.
    pub fn within(&self, namespace: &str) -> Self {
        Self::new_with(
            self.rest.clone(),
            self.resource.clone(),
            Some(namespace.to_owned()),
        )
    }

    /// The resource this client talks to.
    pub fn resource(&self) -> &ApiResource {
        &self.resource
    }
    /// The namespace, when bound to one.
    pub fn namespace(&self) -> Option<&str> {
        self.namespace.as_deref()
    }
    /// The underlying untyped client.
    pub fn rest(&self) -> &RestClient {
        &self.rest
    }

    fn collection_path(&self) -> Result<String> {
        if self.resource.plural.is_empty() || self.resource.version.is_empty() {
            return Err(Error::InvalidRequest(format!(
                "client for kind {:?} has no resource (plural/version); build DynamicObject clients with \
                 `Client::new_with(rest, api_resource, namespace)`",
                self.resource.kind
            )));
        }
        let mut p = self.resource.group_version_path();
        if let Some(ns) = &self.namespace {
            p.push_str("/namespaces/");
            p.push_str(&path_segment(&self.resource.plural, "namespace", ns)?);
        }
        p.push('/');
        p.push_str(&self.resource.plural);
        Ok(p)
    }

    fn object_path(&self, name: &str, sub: Option<&str>) -> Result<String> {
        let name = path_segment(&self.resource.plural, "object name", name)?;
        if self.resource.scope == Scope::Namespaced && self.namespace.is_none() {
            return Err(Error::InvalidRequest(format!(
                "{} {name:?}: a namespaced object needs a namespace (build the client with `namespaced`)",
                self.resource.plural
            )));
        }
        let mut p = format!("{}/{}", self.collection_path()?, name);
        if let Some(s) = sub {
            p.push('/');
            p.push_str(s);
        }
        Ok(p)
    }

    // Verb implementations, ungated; the public wrappers below gate them.

    pub(crate) async fn do_get<T: DeserializeOwned>(
        &self,
        name: &str,
        sub: Option<&str>,
        q: Query,
    ) -> Result<T> {
        let req = empty_request(Method::GET, with_query(self.object_path(name, sub)?, &q))?;
        self.rest.request(req).await
    }

    pub(crate) async fn do_list(&self, opts: &ListOptions) -> Result<ObjectList<K>> {
        let req = empty_request(
            Method::GET,
            with_query(self.collection_path()?, &opts.to_list_query()),
        )?;
        self.rest.request(req).await
    }

    pub(crate) async fn do_watch(&self, opts: &ListOptions) -> Result<WatchStream<K>> {
        let req = empty_request(
            Method::GET,
            with_query(self.collection_path()?, &opts.to_watch_query()),
        )?;
        let what = describe(&req);
        let body = self.rest.request_stream(req).await?;
        Ok(Box::pin(watch::decode_stream::<K, _>(what, body)))
    }

    async fn send_body<B: Serialize + ?Sized, T: DeserializeOwned>(
        &self,
        method: Method,
        path: String,
        q: &Query,
        body: &B,
        content_type: &'static str,
    ) -> Result<T> {
        let uri = with_query(path, q);
        let bytes = serde_json::to_vec(body).map_err(|source| Error::Encode {
            request: format!("{method} {}", uri_path(&uri)),
            source,
        })?;
        self.rest
            .request(json_request(method, uri, bytes, content_type)?)
            .await
    }

    pub(crate) async fn do_create<B: Serialize + ?Sized, T: DeserializeOwned>(
        &self,
        sub: Option<(&str, &str)>,
        body: &B,
        opts: &CreateOptions,
    ) -> Result<T> {
        let path = match sub {
            None => self.collection_path()?,
            Some((name, s)) => self.object_path(name, Some(s))?,
        };
        self.send_body(Method::POST, path, &opts.to_query(), body, JSON)
            .await
    }

    pub(crate) async fn do_replace<B: Serialize + ?Sized, T: DeserializeOwned>(
        &self,
        name: &str,
        sub: Option<&str>,
        body: &B,
        opts: &UpdateOptions,
    ) -> Result<T> {
        self.send_body(
            Method::PUT,
            self.object_path(name, sub)?,
            &opts.to_query(),
            body,
            JSON,
        )
        .await
    }

    pub(crate) async fn do_patch<B: Serialize + ?Sized, T: DeserializeOwned>(
        &self,
        name: &str,
        sub: Option<&str>,
        body: &B,
        content_type: &'static str,
        opts: &PatchOptions,
    ) -> Result<T> {
        if content_type == APPLY_PATCH && opts.field_manager.as_deref().is_none_or(str::is_empty) {
            return Err(Error::InvalidRequest(
                "server-side apply needs a field manager".into(),
            ));
        }
        self.send_body(
            Method::PATCH,
            self.object_path(name, sub)?,
            &opts.to_query(),
            body,
            content_type,
        )
        .await
    }

    pub(crate) async fn do_delete(
        &self,
        name: &str,
        opts: &DeleteOptions,
    ) -> Result<DeleteResponse<K>> {
        let path = self.object_path(name, None)?;
        let v: serde_json::Value = self
            .send_body(Method::DELETE, path.clone(), &Query::new(), opts, JSON)
            .await?;
        object_or_status(&format!("DELETE {path}"), v)
    }

    pub(crate) async fn do_delete_collection(
        &self,
        opts: &DeleteOptions,
        list: &ListOptions,
    ) -> Result<DeleteResponse<ObjectList<K>>> {
        let path = self.collection_path()?;
        let v: serde_json::Value = self
            .send_body(
                Method::DELETE,
                path.clone(),
                &list.to_list_query(),
                opts,
                JSON,
            )
            .await?;
        object_or_status(&format!("DELETE {path}"), v)
    }

    /// Pages of a list, following `continue` tokens, each page at most
    /// `opts.limit` items (500 when unset, as client-go's pager). The first
    /// page's resource version applies to all (the server guarantees a
    /// consistent snapshot across continue tokens).
    ///
    /// If a continue token expires mid-way (410: etcd compacted the
    /// snapshot), the rest comes from one unpaged list with the original
    /// options, as client-go's pager falls back, minus the objects already
    /// returned (pages are in key order): every object comes once, the last
    /// page from a newer snapshot.
    pub(crate) fn do_list_pages(
        &self,
        opts: &ListOptions,
    ) -> impl Stream<Item = Result<ObjectList<K>>> + Send + use<K> {
        struct Next {
            opts: ListOptions,
            /// The (namespace, name) of the last object returned.
            last: Option<(String, String)>,
        }
        let original = opts.clone();
        let mut first = opts.clone();
        first.limit = Some(first.limit.unwrap_or(500));
        let this = self.clone();
        let start = Next {
            opts: first,
            last: None,
        };
        futures::stream::try_unfold(Some(start), move |next| {
            let this = this.clone();
            let original = original.clone();
            async move {
                let Some(Next { opts, last }) = next else {
                    return Ok(None);
                };
                let page = match this.do_list(&opts).await {
                    Err(e) if e.is_resource_expired() && opts.continue_.is_some() => {
                        tracing::debug!(error = %e, "continue token expired; listing the rest unpaged");
                        let mut full = original.clone();
                        full.limit = None;
                        full.continue_ = None;
                        let mut list = this.do_list(&full).await?;
                        if let Some(last) = &last {
                            list.items
                                .retain(|o| key_of(o).as_ref().is_some_and(|k| k > last));
                        }
                        return Ok(Some((list, None)));
                    }
                    other => other?,
                };
                let last = page.items.last().and_then(key_of).or(last);
                let next = page.continue_token().map(|c| {
                    let mut o = opts.clone();
                    o.continue_ = Some(c.to_owned());
                    // A continued list must not repeat the resourceVersion.
                    o.resource_version = None;
                    o.resource_version_match = None;
                    Next { opts: o, last }
                });
                Ok(Some((page, next)))
            }
        })
    }

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
}

fn name_of<K: Object>(obj: &K, what: &str) -> Result<String> {
    obj.metadata()
        .name
        .clone()
        .filter(|n| !n.is_empty())
        .ok_or_else(|| Error::InvalidRequest(format!("{what}: the object has no metadata.name")))
}

fn object_or_status<T: DeserializeOwned>(
    what: &str,
    v: serde_json::Value,
) -> Result<DeleteResponse<T>> {
    if v.get("kind").and_then(|k| k.as_str()) == Some("Status") {
        let s = serde_path_to_error::deserialize(v).map_err(|e| Error::decode(what, e))?;
        return Ok(DeleteResponse::Status(s));
    }
    let o = serde_path_to_error::deserialize(v).map_err(|e| Error::decode(what, e))?;
    Ok(DeleteResponse::Object(o))
}

/// Bytes escaped in a path segment: all but RFC 3986's unreserved characters,
/// so `?`, `#` and spaces in a name cannot reach the query or fragment.
const PATH_SEGMENT: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// A name or namespace as one escaped path segment. Rejects what the API
/// server's path validation rejects (empty, `.`, `..`, `/`, `%`), as
/// client-go's `Request.Name` does: such a value could only address another
/// object.
fn path_segment(plural: &str, what: &str, value: &str) -> Result<String> {
    if value.is_empty() || value == "." || value == ".." || value.contains(['/', '%']) {
        return Err(Error::InvalidRequest(format!(
            "{plural}: {what} {value:?} is not a valid path segment (empty, \".\", \"..\", or contains '/' or '%')"
        )));
    }
    Ok(percent_encoding::utf8_percent_encode(value, PATH_SEGMENT).to_string())
}

/// The order the server pages in: by namespace, then name.
fn key_of<K: Object>(o: &K) -> Option<(String, String)> {
    let m = o.metadata();
    Some((m.namespace.clone().unwrap_or_default(), m.name.clone()?))
}

fn with_query(path: String, q: &Query) -> String {
    if q.is_empty() {
        return path;
    }
    let mut ser = form_urlencoded::Serializer::new(String::new());
    for (k, v) in q {
        ser.append_pair(k, v);
    }
    format!("{path}?{}", ser.finish())
}

fn uri_path(uri: &str) -> &str {
    uri.split_once('?').map_or(uri, |(p, _)| p)
}

/// Verbs of typed kinds, each gated by its marker trait.
impl<K: Object> Client<K> {
    /// `GET .../{name}`
    pub async fn get(&self, name: &str, opts: &GetOptions) -> Result<K>
    where
        K: verbs::Get,
    {
        self.do_get(name, None, opts.to_query()).await
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
        self.do_create(None, obj, opts).await
    }

    /// `PUT .../{name}` (name from the object's metadata).
    pub async fn update(&self, obj: &K, opts: &UpdateOptions) -> Result<K>
    where
        K: verbs::Update,
    {
        let name = name_of(obj, &format!("update {}", self.resource.plural))?;
        self.do_replace(&name, None, obj, opts).await
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
        self.do_patch(name, None, patch.body(), patch.content_type(), opts)
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
        self.do_patch(name, None, patch, STRATEGIC_MERGE, opts)
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
        self.do_patch(name, None, config, APPLY_PATCH, &opts.to_patch_options())
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

    /// `GET .../{name}/status`
    pub async fn get_status(&self, name: &str) -> Result<K>
    where
        K: verbs::Status,
    {
        self.do_get(name, Some("status"), Query::new()).await
    }

    /// `PUT .../{name}/status`: only the status is changed; the spec in `obj` is ignored.
    pub async fn update_status(&self, obj: &K, opts: &UpdateOptions) -> Result<K>
    where
        K: verbs::Status,
    {
        let name = name_of(obj, &format!("update_status {}", self.resource.plural))?;
        self.do_replace(&name, Some("status"), obj, opts).await
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
        self.do_patch(
            name,
            Some("status"),
            patch.body(),
            patch.content_type(),
            opts,
        )
        .await
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
        self.do_get(name, Some("scale"), Query::new()).await
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
        self.do_replace(name, Some("scale"), scale, opts).await
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
        self.do_patch(
            name,
            Some("scale"),
            patch.body(),
            patch.content_type(),
            opts,
        )
        .await
    }

    /// `GET pods/{name}/log`, collected into a string.
    pub async fn logs(&self, name: &str, opts: &LogOptions) -> Result<String>
    where
        K: verbs::Log,
    {
        let req = empty_request(
            Method::GET,
            with_query(self.object_path(name, Some("log"))?, &opts.to_query()),
        )?;
        let bytes = self.rest.request_bytes(req).await?;
        Ok(String::from_utf8_lossy(&bytes).into_owned())
    }

    /// `GET pods/{name}/log` as a stream of chunks (`follow` keeps it open).
    pub async fn log_stream(
        &self,
        name: &str,
        opts: &LogOptions,
    ) -> Result<impl Stream<Item = Result<Bytes>> + Send + Unpin + 'static>
    where
        K: verbs::Log,
    {
        let req = empty_request(
            Method::GET,
            with_query(self.object_path(name, Some("log"))?, &opts.to_query()),
        )?;
        self.rest.request_stream(req).await
    }

    /// `pods/{name}/exec` over WebSocket: run `command` (program and
    /// arguments, no shell) in the pod's container. The handle gives the
    /// streams attached in `params` and the exit status; see
    /// [`AttachedProcess`]. Errors before the process starts (no such pod,
    /// forbidden, pod not yet on a node) are the server's typed [`Error::Api`].
    pub async fn exec<I, S>(
        &self,
        name: &str,
        command: I,
        params: &AttachParams,
    ) -> Result<AttachedProcess>
    where
        K: verbs::Exec,
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let path = self.object_path(name, Some("exec"))?;
        let mut q: Query = command.into_iter().map(|c| ("command", c.into())).collect();
        if q.is_empty() {
            return Err(Error::InvalidRequest(format!(
                "{path}: exec needs a command"
            )));
        }
        q.extend(params.to_query(&path)?);
        self.connect_process(with_query(path, &q), params).await
    }

    /// `pods/{name}/attach` over WebSocket: attach to the running process of
    /// the pod's container (as `kubectl attach`); see [`exec`](Self::exec).
    pub async fn attach(&self, name: &str, params: &AttachParams) -> Result<AttachedProcess>
    where
        K: verbs::Attach,
    {
        let path = self.object_path(name, Some("attach"))?;
        let q = params.to_query(&path)?;
        self.connect_process(with_query(path, &q), params).await
    }

    async fn connect_process(&self, uri: String, params: &AttachParams) -> Result<AttachedProcess> {
        let (ws, protocol) = ws::connect(&self.rest, &uri, exec::PROTOCOLS).await?;
        Ok(exec::start(
            ws,
            protocol,
            format!("GET {}", uri_path(&uri)),
            params.stdin,
            params.stdout,
            params.stderr,
            params.tty,
        ))
    }

    /// `pods/{name}/portforward` over WebSocket: one bidirectional stream per
    /// port of the pod (ports need not be declared in its spec); see
    /// [`Portforwarder`].
    pub async fn portforward(&self, name: &str, ports: &[u16]) -> Result<Portforwarder>
    where
        K: verbs::PortForward,
    {
        let path = self.object_path(name, Some("portforward"))?;
        // Two channels per port, numbered by one byte.
        if ports.is_empty() || ports.len() > 128 {
            return Err(Error::InvalidRequest(format!(
                "{path}: port-forward needs 1 to 128 ports, got {}",
                ports.len()
            )));
        }
        let mut seen = std::collections::HashSet::new();
        if let Some(p) = ports.iter().find(|p| **p == 0 || !seen.insert(**p)) {
            return Err(Error::InvalidRequest(format!(
                "{path}: port {p} is 0 or given twice"
            )));
        }
        let q: Query = ports.iter().map(|p| ("ports", p.to_string())).collect();
        let uri = with_query(path, &q);
        let (ws, _) = ws::connect(&self.rest, &uri, portforward::PROTOCOLS).await?;
        Ok(portforward::start(
            ws,
            ports,
            format!("GET {}", uri_path(&uri)),
        ))
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
        self.do_create(Some((name, "eviction")), eviction, opts)
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
        self.do_create(Some((name, "binding")), binding, opts).await
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
        self.do_create(Some((name, "token")), request, opts).await
    }

    /// `GET pods/{name}/ephemeralcontainers`
    pub async fn get_ephemeral_containers(&self, name: &str) -> Result<K>
    where
        K: verbs::EphemeralContainers,
    {
        self.do_get(name, Some("ephemeralcontainers"), Query::new())
            .await
    }

    /// `PUT pods/{name}/ephemeralcontainers`
    pub async fn update_ephemeral_containers(&self, obj: &K, opts: &UpdateOptions) -> Result<K>
    where
        K: verbs::EphemeralContainers,
    {
        let name = name_of(obj, "update_ephemeral_containers")?;
        self.do_replace(&name, Some("ephemeralcontainers"), obj, opts)
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
        self.do_patch(
            name,
            Some("ephemeralcontainers"),
            patch.body(),
            patch.content_type(),
            opts,
        )
        .await
    }

    /// `GET pods/{name}/resize`
    pub async fn get_resize(&self, name: &str) -> Result<K>
    where
        K: verbs::Resize,
    {
        self.do_get(name, Some("resize"), Query::new()).await
    }

    /// `PUT pods/{name}/resize`: change container resources in place.
    pub async fn update_resize(&self, obj: &K, opts: &UpdateOptions) -> Result<K>
    where
        K: verbs::Resize,
    {
        let name = name_of(obj, "update_resize")?;
        self.do_replace(&name, Some("resize"), obj, opts).await
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
        self.do_patch(
            name,
            Some("resize"),
            patch.body(),
            patch.content_type(),
            opts,
        )
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_is_url_encoded() {
        let q: Query = vec![
            ("labelSelector", "app in (a,b)".into()),
            ("limit", "5".into()),
        ];
        assert_eq!(
            with_query("/api/v1/pods".into(), &q),
            "/api/v1/pods?labelSelector=app+in+%28a%2Cb%29&limit=5"
        );
    }

    #[test]
    fn names_cannot_change_the_path_or_query() {
        let seg = |v: &str| path_segment("configmaps", "object name", v);
        assert_eq!(seg("victim#junk").unwrap(), "victim%23junk");
        assert_eq!(seg("x?dryRun=All").unwrap(), "x%3FdryRun%3DAll");
        assert_eq!(seg("a b").unwrap(), "a%20b");
        assert_eq!(seg("web-0.v1_x~y").unwrap(), "web-0.v1_x~y");
        for bad in ["", ".", "..", "a/b", "vic%74im", "../secrets"] {
            let err = seg(bad).unwrap_err();
            assert!(err.to_string().contains("configmaps"), "{err}");
        }
    }
}
